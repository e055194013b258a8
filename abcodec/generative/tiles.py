"""What the two generative decoders share (onnx_generator.py on ONNX Runtime, descent.py on torch): the tiles
that bound the memory of a large image and their blend, the planes the networks run on, the
composite that keeps kept pixels exact, and the rounding to the output image.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import diffusion

TILE = 1024
"""Largest tile side (pixels): a 1024² tile's descent needs about 1.5 GB, its forward pass alone
about 0.4 GB; a Kodak image is one tile."""

OVERLAP = 64
"""Pixels two neighbouring tiles share at least; the blend ramps across them. E and G together
see about 40 pixels around a pixel, so the ramp hides where a tile's border changed the result."""

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
    """(h, w) blend weights of a tile: rising linearly across each edge that is not the image's."""

    def axis(span: slice, extent: int) -> np.ndarray:
        length = span.stop - span.start if span.stop <= extent else extent - span.start
        position = np.arange(length, dtype=np.float32) + 0.5
        rise = np.minimum(position / OVERLAP, 1) if span.start > 0 else np.ones(length, np.float32)
        fall = np.minimum((length - position) / OVERLAP, 1) if span.start + length < extent else np.ones(length, np.float32)
        return rise * fall

    return axis(window[0], shape[0])[:, None] * axis(window[1], shape[1])[None, :]


def blend_tiles(fill: np.ndarray, known: np.ndarray, run: Callable[[tuple[slice, slice], int, bool], np.ndarray],
                done: Callable[[int, int], None] | None = None) -> np.ndarray:
    """``run(window, index, whole)``, a float32 (3, h, w) result for each tile of the image, blended
    over the overlaps and made the output: uint8 of the fill's shape, kept pixels the fill's.
    ``done(tiles done, tiles in all)`` is called after each tile of a large image.

    ``run`` returns a new array, which the blend may overwrite. The blend holds one row of tiles
    in float32 and rounds each band of rows once no later tile reaches it: a whole 12 MP image in
    float32 is 144 MB a copy, and fresh memory costs as much as the arithmetic.
    """
    shape = known.shape
    windows = tiles(shape)
    if len(windows) == 1:
        return to_output(run(windows[0], 0, True), fill, known)
    tops, height, columns = tile_starts(shape[0]), tile_size(shape[0]), len(tile_starts(shape[1]))
    result = np.empty(np.shape(fill), np.uint8)
    band = np.zeros((3, height, shape[1]), np.float32)
    band_weight = np.zeros((height, shape[1]), np.float32)
    for row, top in enumerate(tops):
        if row:
            _shift_up(band, top - tops[row - 1])
            _shift_up(band_weight, top - tops[row - 1])
        for index in range(row * columns, (row + 1) * columns):
            window = windows[index]
            weight = ramp(window, shape)
            made = run(window, index, False)
            made *= weight
            band[:, :, window[1]] += made
            band_weight[:, window[1]] += weight
            if done is not None:
                done(index + 1, len(windows))
        final = (tops[row + 1] if row + 1 < len(tops) else shape[0]) - top
        rows = np.s_[top : top + final]
        result[rows] = to_output(band[:, :final] / band_weight[:final], fill[rows], known[rows])
    return result


def _shift_up(band: np.ndarray, rows: int) -> None:
    """Move a band's rows ``rows`` up along its row axis (the last but one), zeros coming in below."""
    band[..., : band.shape[-2] - rows, :] = band[..., rows:, :]
    band[..., band.shape[-2] - rows :, :] = 0


def composite(made: np.ndarray, fill: np.ndarray, known: np.ndarray) -> np.ndarray:
    """made − D(made − fill on kept pixels), planes (C, H, W): the correction made to vanish on the
    kept pixels by subtracting its harmonic interpolant there, so they are the fill's and nothing
    jumps at the borders of kept blocks."""
    if not known.any():
        return made
    mismatch = np.where(known, made - fill, 0)
    return made - diffusion.fill(mismatch, known)


def as_planes(fill: np.ndarray) -> np.ndarray:
    """A fast decode or a tile of one (uint8 or float, (h, w, 3) or (h, w)) as float32 planes
    (3, h, w); grey is repeated."""
    if fill.ndim == 2:
        return np.repeat(fill[None].astype(np.float32), 3, axis=0)
    return np.ascontiguousarray(fill.transpose(2, 0, 1), dtype=np.float32)


def check_fill(fill: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fill as an array and ``known`` as bool, checked to be (H, W, 3) or (H, W), and (H, W)."""
    fill, known = np.asarray(fill), np.asarray(known, dtype=bool)
    if fill.ndim not in (2, 3) or fill.ndim == 3 and fill.shape[2] != 3 or known.shape != fill.shape[:2]:
        msg = f"fill {fill.shape} and known {known.shape} must be (H, W, 3) or (H, W), and (H, W)"
        raise ValueError(msg)
    return fill, known


def to_output(out: np.ndarray, fill: np.ndarray, known: np.ndarray) -> np.ndarray:
    """uint8 of the fill's shape (grey: the mean of the three planes), kept pixels the fill's.

    ``out`` (3, h, w) float32 is rounded in place."""
    samples = out.mean(axis=0) if fill.ndim == 2 else out
    np.rint(samples, out=samples)
    np.clip(samples, 0, 255, out=samples)
    result = samples.astype(np.uint8)
    if fill.ndim == 3:
        result = np.ascontiguousarray(result.transpose(1, 2, 0))
    if known.any():
        result[known] = np.clip(np.rint(fill[known]), 0, 255).astype(np.uint8)
    return result
