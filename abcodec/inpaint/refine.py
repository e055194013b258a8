"""The generative decoder's default work, G(E(x)) with no descent, on ONNX Runtime: no torch.

A file for inpainter 1 without descent steps (the reference encoder's default, format_spec/abc.md
§8 step 8) needs only one forward pass of E's first stages and G over the fast decode. That pass
is exported from the torch networks to ``weights/generator.onnx`` by ``python -m abcodec.train``
(which writes both), and runs here on ONNX Runtime: importing it takes 0.3 s where torch takes
1–2.5 s, and the package installs without torch. The ONNX model records the SHA-256 of the torch
weights it was made from, which is the generator's identity in every file's HEAD.

This module also holds what the torch descent (ppgn.py) shares with it: the tiles that bound the
memory of a large image, their blend, and the composite that keeps kept pixels exact.
"""

from __future__ import annotations

import functools
import math
import time
from importlib import resources

import numpy as np

from ..container import AbcError
from . import diffusion
from .descent import Progress, packaged_generator_hash

TILE = 1024
"""Largest tile side (pixels): a 1024² tile's descent needs about 1.5 GB, its forward pass alone
about 0.4 GB; a Kodak image is one tile."""

OVERLAP = 64
"""Pixels two neighbouring tiles share at least; the blend ramps across them. E and G together
see about 40 pixels around a pixel, so the ramp hides where a tile's border changed the result."""

ONNX_FILE = "weights/generator.onnx"
"""E's first stages and G as one ONNX graph (input ``fill``, output ``image``, dynamic size)."""

ONNX_HASH_KEY = "generator_sha256"
"""Metadata key of the ONNX model holding the SHA-256 of the torch weights it was exported from."""


def tile_starts(length: int) -> list[int]:
    """Tile origins along one axis: as few tiles as TILE allows, of equal size, overlapping by at
    least OVERLAP, so that a large image costs per pixel nearly what a small one does."""
    if length <= TILE:
        return [0]
    count = math.ceil((length - OVERLAP) / (TILE - OVERLAP))
    size = tile_size(length)
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


def tile_size(length: int) -> int:
    """Side of the tiles along an axis of this length (the whole axis when one tile covers it)."""
    if length <= TILE:
        return length
    count = math.ceil((length - OVERLAP) / (TILE - OVERLAP))
    return math.ceil((length + (count - 1) * OVERLAP) / count)


def tiles(shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """The windows that cover an (H, W) image."""
    height, width = shape
    return [np.s_[top : top + tile_size(height), left : left + tile_size(width)]
            for top in tile_starts(height) for left in tile_starts(width)]


def ramp(window: tuple[slice, slice], shape: tuple[int, int]) -> np.ndarray:
    """(h, w, 1) blend weights of a tile: rising linearly across each edge that is not the image's."""

    def axis(span: slice, extent: int) -> np.ndarray:
        length = span.stop - span.start if span.stop <= extent else extent - span.start
        position = np.arange(length, dtype=np.float32) + 0.5
        rise = np.minimum(position / OVERLAP, 1) if span.start > 0 else np.ones(length, np.float32)
        fall = np.minimum((length - position) / OVERLAP, 1) if span.start + length < extent else np.ones(length, np.float32)
        return rise * fall

    return (axis(window[0], shape[0])[:, None] * axis(window[1], shape[1])[None, :])[..., None]


def blend_tiles(fill: np.ndarray, run, done=None) -> np.ndarray:
    """``run(tile, index, whole)`` on each tile of a float32 (H, W, 3) image, blended over the
    overlaps; ``done(tiles done, tiles in all)`` after each tile of a large image."""
    shape = fill.shape[:2]
    windows = tiles(shape)
    if len(windows) == 1:
        return run(fill, 0, True)
    out = np.zeros_like(fill)
    weight_sum = np.zeros((*shape, 1), np.float32)
    for index, window in enumerate(windows):
        weight = ramp(window, shape)
        out[window] += run(fill[window], index, False) * weight
        weight_sum[window] += weight
        if done is not None:
            done(index + 1, len(windows))
    return out / weight_sum


def composite(made: np.ndarray, fill: np.ndarray, known: np.ndarray) -> np.ndarray:
    """made − D(made − fill on kept pixels): the correction made to vanish on the kept pixels by
    subtracting its harmonic interpolant there, so they are the fill's and nothing jumps at the
    borders of kept blocks."""
    if not known.any():
        return made
    mismatch = np.where(known[..., None], made - fill, 0).transpose(2, 0, 1)
    return made - diffusion.fill(mismatch, known).transpose(1, 2, 0)


def as_rgb(fill: np.ndarray, known: np.ndarray) -> np.ndarray:
    """A fast decode (uint8 or float, (H, W, 3) or (H, W)) as float32 (H, W, 3); grey is repeated."""
    fill = np.asarray(fill)
    rgb = np.repeat(fill[..., None], 3, axis=2) if fill.ndim == 2 else fill
    if rgb.ndim != 3 or rgb.shape[2] != 3 or known.shape != rgb.shape[:2]:
        msg = f"fill {fill.shape} and known {known.shape} must be (H, W, 3) or (H, W), and (H, W)"
        raise ValueError(msg)
    return rgb.astype(np.float32)


def to_output(out: np.ndarray, fill: np.ndarray, known: np.ndarray) -> np.ndarray:
    """uint8 of the fill's shape (grey: the mean of the three channels), kept pixels the fill's."""
    fill = np.asarray(fill)
    result = np.clip(np.rint(out.mean(axis=2) if fill.ndim == 2 else out), 0, 255).astype(np.uint8)
    exact = np.clip(np.rint(fill), 0, 255).astype(np.uint8)
    result[known] = exact[known]
    return result


def generate(fill: np.ndarray, known: np.ndarray, *, threads: int | None = None,
             progress: Progress | None = None) -> np.ndarray:
    """G(E(fill)) composited onto the kept pixels, on ONNX Runtime; uint8 of the fill's shape.

    The packaged model must have been exported from the packaged torch weights, whose hash the
    caller has checked against the file's. ``threads`` is ONNX Runtime's thread count (None: its
    default); the pixels do not depend on it. ``progress(done, total, seconds_left)`` is called
    after each tile of an image that needs more than one (12 MP: about 12 tiles, several seconds).
    """
    known = np.asarray(known, dtype=bool)
    rgb = as_rgb(fill, known)
    session = _session(threads)
    made_from = session.get_modelmeta().custom_metadata_map.get(ONNX_HASH_KEY, "")
    if made_from != packaged_generator_hash().hex():
        msg = (f"the packaged ONNX generator was exported from weights {made_from[:16] or 'unknown'}…, not the "
               f"packaged {packaged_generator_hash().hex()[:16]}… (reinstall abcodec)")
        raise AbcError(msg)

    def run(tile: np.ndarray, index: int, whole: bool) -> np.ndarray:
        batch = np.ascontiguousarray(tile.transpose(2, 0, 1)[None])
        return session.run(None, {"fill": batch})[0][0].transpose(1, 2, 0)

    started = time.perf_counter()

    def done(count: int, total: int) -> None:
        if progress is not None:
            progress(count, total, (time.perf_counter() - started) / count * (total - count))

    out = rgb if known.all() else composite(blend_tiles(rgb, run, done), rgb, known)
    return to_output(out, fill, known)


@functools.lru_cache(maxsize=4)
def _session(threads: int | None):
    """The packaged model's ONNX Runtime session, made once per process and thread count."""
    try:
        import onnxruntime
    except ImportError as e:
        msg = "the generative decoder needs ONNX Runtime: pip install onnxruntime (or decode with inpainter 'diffusion')"
        raise AbcError(msg) from e
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    model = resources.files("abcodec").joinpath(ONNX_FILE).read_bytes()
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
