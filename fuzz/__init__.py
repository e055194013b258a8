"""Fuzzing abcodec's decoder and Pillow plugin with hostile bytes (issue 6).

``python -m fuzz.run --target decode|pillow --runs N`` runs the coverage-guided harness (atheris,
from the ``fuzz`` extra: ``pip install -e ".[fuzz]"``) and prints executions, time and distinct
failures as JSON. Every input must decode to an image or be refused as the API promises
(``targets``); the first input of each distinct failure is saved as ``crashers/crash-<sha1>.abc``,
and ``tests/test_hostile.py`` replays every file there forever. ``seeds/`` is the starting corpus
(``python -m fuzz.seeds --write`` makes it); ``mutate`` changes files in ways that get past the
chunk CRCs, so that the mask, pixel and inpainting code are fuzzed, not just the container;
``av1_streams`` writes AV1 headers from the spec, for the AV1 base's mutations and hostile tests.
"""
