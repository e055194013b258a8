"""Kept pixel blocks <-> the PIXL chunk payload (format_spec/abc.md §7, normative there).

The mask says which B×B blocks of the image are kept; this module codes their pixels as tightly
as the quality settings allow (YCbCr, chroma at half resolution inside a block, uniform levels,
LOCO-I's median prediction, zstd), and rebuilds the decoder's canvas from them. Encoder and
decoder share :func:`quantised_blocks`' levels and :func:`_canvas`, so they condition on identical
values. A decoder refuses (:class:`AbcError`) a frame whose declared size is absent or differs from
:func:`expected_size`, trailing data, and any byte ≥ L of its plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import zstdframe
from .colour import ycbcr_last_axis
from .checks import check_integer_range
from .container import MAX_BLOCK, AbcError, grid_shape

ZSTD_LEVEL = 17
"""Encoder's zstd level (not part of the format). On BSDS500 streams of 18–240 KB (7–70 KB
compressed) levels 16–17 are 0.3–1.4 % smaller than 19 and 2× faster, 19–22 are identical, and
levels ≤ 12 are 4–14 % larger; the encoder compresses once per rate-search step, so speed counts."""

@dataclass(frozen=True)
class PixelParams:
    """How kept pixels are coded: the HEAD fields block, q_luma, q_chroma and chroma_shift."""

    block: int
    q_luma: int
    q_chroma: int
    chroma_shift: int

    def __post_init__(self) -> None:
        for name, low, high in (("block", 1, MAX_BLOCK), ("q_luma", 1, 255), ("q_chroma", 1, 255),
                                ("chroma_shift", 0, 1)):
            check_integer_range("PIXL", name, getattr(self, name), low, high)
        if self.chroma_shift and self.block % 2:
            msg = f"PIXL: chroma shift 1 needs an even block size, got {self.block}"
            raise AbcError(msg)

    @property
    def chroma_block(self) -> int:
        return self.block >> self.chroma_shift


@dataclass
class Canvas:
    """What the decoder knows: dequantised kept samples (unknown ones 0) and where they are."""

    luma: np.ndarray
    luma_known: np.ndarray
    chroma: np.ndarray | None
    chroma_known: np.ndarray | None


def levels(q: int) -> int:
    """Number of quantiser levels L for step q: round(255 / q) + 1, rounded half up in integers."""
    return (510 + q) // (2 * q) + 1


def dequantise(indices: np.ndarray, q: int) -> np.ndarray:
    """Level index -> sample value; the top level is clamped so that 255 stays reachable."""
    return np.minimum(indices.astype(np.float32) * q, np.float32(255))


def quantise(values: np.ndarray, q: int) -> np.ndarray:
    """Nearest level (ties upward); searching the midpoints also handles the clamped top level."""
    table = dequantise(np.arange(levels(q)), q)
    return np.searchsorted((table[:-1] + table[1:]) / 2, values, side="right").astype(np.int64)


def expected_size(mask: np.ndarray, channels: int, params: PixelParams) -> int:
    """Bytes of the decompressed PIXL stream: one per kept sample of every plane.

    The decoder compares this with the zstd frame header before decompressing, because
    zstandard allocates whatever size a frame claims.
    """
    _check_channels(channels)
    per_block = params.block**2 + (channels == 3) * 2 * params.chroma_block**2
    return int(np.count_nonzero(mask)) * per_block


def _check_channels(channels: int) -> None:
    if channels not in (1, 3):
        msg = f"PIXL: {channels} channels, expected 1 (L) or 3 (RGB)"
        raise AbcError(msg)


def _check_mask(mask: np.ndarray, size: tuple[int, int], block: int) -> None:
    grid = grid_shape(size[0], size[1], block)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != grid:
        shape = getattr(mask, "shape", None)
        msg = f"PIXL: mask must be bool {grid} for a {size[1]}x{size[0]} image and block {block}, got {shape}"
        raise AbcError(msg)


def _check_image(image: np.ndarray) -> None:
    dtype, shape = getattr(image, "dtype", None), getattr(image, "shape", ())
    if dtype != np.uint8 or len(shape) not in (2, 3) or shape[2:] not in ((), (3,)) or 0 in shape:
        msg = f"PIXL: image must be uint8 (H, W) or (H, W, 3), got {dtype} {shape}"
        raise AbcError(msg)


def _kept_blocks(image: np.ndarray, mask: np.ndarray, block: int) -> np.ndarray:
    """(n, B, B, C) float32 pixels of the kept blocks in raster order, edges padded by replication."""
    grid_h, grid_w = mask.shape
    pixels = image.reshape(image.shape[0], image.shape[1], -1)
    pad = ((0, grid_h * block - image.shape[0]), (0, grid_w * block - image.shape[1]), (0, 0))
    padded = np.pad(pixels, pad, mode="edge")
    tiles = padded.reshape(grid_h, block, grid_w, block, -1).transpose(0, 2, 1, 3, 4)
    return tiles[mask].astype(np.float32)


def _box2(planes: np.ndarray) -> np.ndarray:
    """2×2 box average inside each block: (n, B, B) -> (n, B/2, B/2)."""
    return (planes[:, 0::2, 0::2] + planes[:, 1::2, 0::2] + planes[:, 0::2, 1::2] + planes[:, 1::2, 1::2]) * 0.25


def _plane_steps(channels: int, params: PixelParams) -> list[int]:
    return [params.q_luma] + [params.q_chroma] * (channels - 1)


def _plane_blocks(channels: int, params: PixelParams) -> list[int]:
    return [params.block] + [params.chroma_block] * (channels - 1)


def quantised_blocks(image: np.ndarray, mask: np.ndarray, params: PixelParams) -> list[np.ndarray]:
    """Level indices of the kept blocks, one int64 (n, b, b) array per plane (steps 1–4)."""
    _check_image(image)
    _check_mask(mask, image.shape[:2], params.block)
    blocks = _kept_blocks(image, mask, params.block)
    planes = [blocks[..., 0]] if image.ndim == 2 else ycbcr_last_axis(blocks)
    if params.chroma_shift:
        planes[1:] = [_box2(p) for p in planes[1:]]
    return [quantise(p, q) for p, q in zip(planes, _plane_steps(len(planes), params))]


def _med(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """LOCO-I median edge detector: follows an edge through c, else the plane through a, b, c."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.where(c >= high, low, np.where(c <= low, high, a + b - c))


def _prediction(x: np.ndarray, n_levels: int) -> np.ndarray:
    """Step 5's predictor for every sample at once; only the encoder can see all of x."""
    pred = np.empty_like(x)
    pred[:, 0, 0] = np.concatenate([[n_levels // 2], x[:-1, 0, 0]])
    pred[:, 0, 1:] = x[:, 0, :-1]
    pred[:, 1:, 0] = x[:, :-1, 0]
    pred[:, 1:, 1:] = _med(x[:, 1:, :-1], x[:, :-1, 1:], x[:, :-1, :-1])
    return pred


def _residual_bytes(x: np.ndarray, n_levels: int) -> bytes:
    """Zigzag of the signed residual, so that small errors of either sign become small bytes."""
    r = (x - _prediction(x, n_levels)) % n_levels
    signed = np.where(r > (n_levels - 1) // 2, r - n_levels, r)
    return np.where(signed >= 0, 2 * signed, -2 * signed - 1).astype(np.uint8).tobytes()


def _reconstruct(zigzag: np.ndarray, n_levels: int) -> np.ndarray:
    """Invert step 5: cumulative sums along the block chain, row 0 and column 0; the
    median-predicted interior by anti-diagonals (2b − 3 vectorised steps over all blocks), since
    each diagonal depends only on the ones before it."""
    signed = np.where(zigzag & 1, -((zigzag + 1) >> 1), zigzag >> 1)
    x = signed.copy()
    x[:, 0, 0] = np.cumsum(np.concatenate([[n_levels // 2], signed[:, 0, 0]]))[1:] % n_levels
    x[:, 0, :] = np.cumsum(x[:, 0, :], axis=1) % n_levels
    x[:, :, 0] = np.cumsum(x[:, :, 0], axis=1) % n_levels
    size = x.shape[1]
    for diagonal in range(2, 2 * size - 1):
        i = np.arange(max(1, diagonal - size + 1), min(diagonal, size))
        j = diagonal - i
        pred = _med(x[:, i, j - 1], x[:, i - 1, j], x[:, i - 1, j - 1])
        x[:, i, j] = (pred + signed[:, i, j]) % n_levels
    return x


def _scatter(blocks: np.ndarray, mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Place (n, b, b) blocks on a (gh·b, gw·b) grid in raster order, cropped to size."""
    grid_h, grid_w = mask.shape
    b = blocks.shape[1]
    plane = np.zeros((grid_h, b, grid_w, b), blocks.dtype)
    plane.transpose(0, 2, 1, 3)[mask] = blocks
    return np.ascontiguousarray(plane.reshape(grid_h * b, grid_w * b)[: size[0], : size[1]])


def _canvas(indices: list[np.ndarray], mask: np.ndarray, size: tuple[int, int], params: PixelParams) -> Canvas:
    """Dequantise and place the kept samples: the one path shared by encoder and decoder."""
    values = [dequantise(x, q) for x, q in zip(indices, _plane_steps(len(indices), params))]
    known = np.ones((len(values[0]), 1, 1), bool)
    luma = _scatter(values[0], mask, size)
    luma_known = _scatter(np.broadcast_to(known, values[0].shape), mask, size)
    if len(values) == 1:
        return Canvas(luma, luma_known, None, None)
    shift = params.chroma_shift
    chroma_size = (-(-size[0] // (1 << shift)), -(-size[1] // (1 << shift)))
    chroma = np.stack([_scatter(v, mask, chroma_size) for v in values[1:]])
    chroma_known = _scatter(np.broadcast_to(known, values[1].shape), mask, chroma_size)
    return Canvas(luma, luma_known, chroma, chroma_known)


def empty_canvas(channels: int, size: tuple[int, int], params: PixelParams) -> Canvas:
    """The canvas of a file without the block layer (version 3): nothing kept."""
    grid = grid_shape(size[0], size[1], params.block)
    sides = _plane_blocks(channels, params)
    return _canvas([np.zeros((0, b, b), np.int64) for b in sides], np.zeros(grid, bool), size, params)


def pack_blocks(image: np.ndarray, mask: np.ndarray, params: PixelParams) -> bytes:
    """The PIXL payload for the kept blocks of a uint8 (H, W) or (H, W, 3) image."""
    indices = quantised_blocks(image, mask, params)
    steps = _plane_steps(len(indices), params)
    stream = b"".join(_residual_bytes(x, levels(q)) for x, q in zip(indices, steps))
    return zstdframe.compress(stream, ZSTD_LEVEL)


def unpack_blocks(
    payload: bytes, mask: np.ndarray, channels: int, size: tuple[int, int], params: PixelParams
) -> Canvas:
    """The decoder's canvas from a PIXL payload; size is (H, W). Any bad payload is an AbcError."""
    _check_channels(channels)
    _check_mask(mask, size, params.block)
    expected = expected_size(mask, channels, params)
    stream = np.frombuffer(zstdframe.decompress_exact(bytes(payload), expected, "PIXL",
                                                      f"the header and mask imply {expected}"), np.uint8)
    n = int(np.count_nonzero(mask))
    indices, start = [], 0
    for plane, (q, b) in enumerate(zip(_plane_steps(channels, params), _plane_blocks(channels, params))):
        zigzag = stream[start : start + n * b * b].astype(np.int64).reshape(n, b, b)
        start += n * b * b
        if zigzag.size and zigzag.max() >= levels(q):
            msg = f"PIXL: plane {plane} holds residual byte {zigzag.max()}, its quantiser has only {levels(q)} levels"
            raise AbcError(msg)
        indices.append(_reconstruct(zigzag, levels(q)))
    return _canvas(indices, mask, size, params)
