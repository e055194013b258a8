"""The generative decoder's default work, G(E(x)) with no descent, on ONNX Runtime: no torch.

A file for inpainter 1 without descent steps (the reference encoder's default, format_spec/abc.md
§8 step 8) needs only one forward pass of E's first stages and G over the fast decode. That pass
is exported from the torch networks to the ``.onnx`` beside each shipped generator's weights
(settings.GENERATORS) by export.py (``python -m abcodec.generative.train`` writes both), and runs
here on ONNX Runtime: importing it takes 0.3 s where torch takes 1–2.5 s, and the package installs
without torch. The ONNX model records the SHA-256 of the torch weights it was made from, which is
the generator's identity in every file's HEAD; a conditioned generator's model has a second input,
``conditions``.

Large images are cut into tiles (tiles.py), as the torch descent's are.
"""

from __future__ import annotations

import functools
import time
from importlib import resources

import numpy as np

from ..container import AbcError
from ..onnx_session import cpu_session
from .settings import Progress, ShippedGenerator, newest_generator
from .tiles import as_planes, blend_tiles, check_fill, composite, to_output

ONNX_HASH_KEY = "generator_sha256"
"""Metadata key of the ONNX model holding the SHA-256 of the torch weights it was exported from."""


def generate(fill: np.ndarray, known: np.ndarray, *, generator: ShippedGenerator | None = None,
             conditions: np.ndarray | None = None, threads: int | None = None,
             progress: Progress | None = None) -> np.ndarray:
    """G(E(fill)) composited onto the kept pixels, on ONNX Runtime; uint8 of the fill's shape.

    ``generator`` is the shipped one the file names (settings.generator_of; None: the newest),
    ``conditions`` what a conditioned one reads of the file (settings.conditions_of), given to it
    and only to it. Its model must have been exported from its torch weights. ``threads`` is ONNX
    Runtime's thread count (None: its default); the pixels do not depend on it. ``progress(done, total, seconds_left)`` is called
    after each tile of an image that needs more than one (12 MP: 20 tiles, a few seconds). Each
    tile is composited onto its own kept pixels, as the descent's are (descent.py).
    """
    generator = generator or newest_generator()
    generator.check_conditions(conditions)
    fill, known = check_fill(fill, known)
    if known.all():
        return to_output(as_planes(fill), fill, known)
    session = _session(generator.stem, threads)
    made_from = session.get_modelmeta().custom_metadata_map.get(ONNX_HASH_KEY, "")
    if made_from != generator.sha256().hex():
        msg = (f"the packaged ONNX generator {generator.stem}.onnx was exported from weights {made_from[:16] or 'unknown'}…, "
               f"not the packaged {generator.sha256().hex()[:16]}… (reinstall abcodec)")
        raise AbcError(msg)
    extra = {} if conditions is None else {"conditions": np.asarray(conditions, np.float32).reshape(1, -1)}

    def run(window: tuple[slice, slice], index: int, whole: bool) -> np.ndarray:
        tile = as_planes(fill[window])
        return composite(session.run(None, {"fill": tile[None], **extra})[0][0], tile, known[window])

    started = time.perf_counter()

    def done(count: int, total: int) -> None:
        if progress is not None:
            progress(count, total, (time.perf_counter() - started) / count * (total - count))

    return blend_tiles(fill, known, run, done)


@functools.lru_cache(maxsize=4)
def _session(stem: str, threads: int | None):
    """A packaged generator's ONNX Runtime session, made once per process, generator and thread count."""
    model = resources.files("abcodec").joinpath(stem + ".onnx").read_bytes()
    return cpu_session(model, threads, "the generative decoder needs ONNX Runtime: pip install onnxruntime "
                                       "(or decode with inpainter 'diffusion')")
