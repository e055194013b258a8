"""The process atheris takes over: ``python -m fuzz.libfuzzer TARGET CRASH_DIR [libFuzzer args]``.

:mod:`fuzz.run` starts it and reads its output. abcodec (and, for the Pillow target, PIL) is
imported under ``atheris.instrument_imports`` so that libFuzzer sees Python line coverage; the
custom mutator is :func:`fuzz.mutate.mutate` with libFuzzer's own byte mutator inside, so that
most mutations keep the chunk CRCs right. Each new distinct failure is printed as one line,
``FAILURE<TAB>key<TAB>path``, and fuzzing goes on, so that one run counts them all.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import atheris

INSTRUMENTED = {"decode": ["abcodec"], "pillow": ["abcodec", "PIL"]}
"""Packages whose line coverage guides each target."""


def main() -> None:
    target, crash_dir, libfuzzer_args = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    with atheris.instrument_imports(include=INSTRUMENTED[target]):
        from fuzz import mutate, targets
        from fuzz.seeds import SEED_DIR
    donors = [path.read_bytes() for path in sorted(SEED_DIR.glob("*.abc"))]

    def report(key: str, path: Path) -> None:
        print(f"FAILURE\t{key}\t{path}", flush=True)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        def libfuzzer_bytes(chunk: bytes) -> bytes:
            return atheris.Mutate(chunk, len(chunk) + 64)

        return mutate.mutate(data, random.Random(seed), libfuzzer_bytes, donors)[:max_size]

    recorder = targets.Recorder(targets.TARGETS[target], crash_dir, report)
    recorder.warm_up(donors)
    atheris.Setup([sys.argv[0], *libfuzzer_args], recorder, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
