"""Format 2's base layer, an 8×8 DCT of a coarse grid <-> the BASE chunk of a version 2 file (format_spec/abc.md §10).

Version 3 codes the base layer with AV1 (base.py), which beat this coder by about 0.045 SSIM at
equal bytes on Kodak (benchmarks/RESULTS.md); files made by abcodec 0.3 still carry this one, so the
decoder reads it. The writer half of the pair lives with the tests that need it
(tests/v2_encoder.py); the encoder's choices (least-squares samples, rate search) went with the
format. The payload's layout is normative in §10 (fields, quantiser, DC differences, the
Keys-cubic upsampler; §10.1 the coefficient coder); the functions below cite its steps. A decoder
refuses (:class:`AbcError`) fields out of range and coefficient data that is not exactly used up.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from . import coefcode
from .colour import ycbcr_to_rgb
from .checks import check_integer_range
from .container import AbcError
from .resample import upsample_plane

TRANSFORM_SIZE = 8
"""§10 step 1: the DCT block side."""

QUARTERS = 4
"""§10 table, stride: strides are stored in quarter pixels. 1.5 and 2.5 beat every whole stride in
part of the rate range (1.5 by ~0.01 SSIM at 0.6–0.8 bpp on six Kodak images)."""

MAX_STRIDE = 16
"""§10 table, stride r ≤ 64 quarter pixels: coarser grids keep too little of any image."""
MAX_QUARTERS = MAX_STRIDE * QUARTERS

STEP_RANGE = (0.5, 1024.0)
"""§10 table, luma and chroma step: below 0.5 an index could leave the coder's range (§10.1)."""

MAX_SLOPE = 16.0
"""§10 table, slope: the step of band (7, 7) is at most 225 times the DC step."""

_FIELDS = struct.Struct(">BBfff")
FIELDS_SIZE = _FIELDS.size
"""§10 table: stride, chroma stride, luma step, chroma step, slope (14 bytes)."""

_FREQUENCY = np.add.outer(np.arange(TRANSFORM_SIZE), np.arange(TRANSFORM_SIZE))



@dataclass(frozen=True)
class BaseParams:
    """The BASE fields (§10 table): grid strides (in quarter pixels) and quantiser steps."""

    stride_quarters: int
    chroma_stride_quarters: int
    step_luma: float
    step_chroma: float
    slope: float

    def __post_init__(self) -> None:
        as_float32 = struct.unpack(">fff", struct.pack(">fff", self.step_luma, self.step_chroma, self.slope))
        for name, value in zip(("step_luma", "step_chroma", "slope"), as_float32):
            object.__setattr__(self, name, value)
        check_integer_range("BASE", "stride", self.stride_quarters, QUARTERS, MAX_QUARTERS)
        if self.chroma_stride_quarters:
            check_integer_range("BASE", "chroma stride", self.chroma_stride_quarters, QUARTERS, MAX_QUARTERS)
        for name in ("step_luma", "step_chroma"):
            value = getattr(self, name)
            if not (math.isfinite(value) and STEP_RANGE[0] <= value <= STEP_RANGE[1]):
                msg = f"BASE: {name.replace('_', ' ')} {value} outside {STEP_RANGE[0]:g}..{STEP_RANGE[1]:g}"
                raise AbcError(msg)
        if not (math.isfinite(self.slope) and 0.0 <= self.slope <= MAX_SLOPE):
            msg = f"BASE: slope {self.slope} outside 0..{MAX_SLOPE:g}"
            raise AbcError(msg)

    def plane_strides(self, channels: int) -> list[int]:
        """Each plane's stride in quarter pixels."""
        return [self.stride_quarters] + [self.chroma_stride_quarters] * (channels - 1)

    def plane_steps(self, channels: int) -> list[float]:
        return [self.step_luma] + [self.step_chroma] * (channels - 1)


def _check_channels(params: BaseParams, channels: int) -> None:
    """Mode L has no chroma stride, mode RGB needs one: a mismatch is a corrupt or foreign file."""
    if (channels == 1) != (params.chroma_stride_quarters == 0):
        msg = f"BASE: chroma stride {params.chroma_stride_quarters} does not suit a {channels}-channel image"
        raise AbcError(msg)


def coarse_shape(size: tuple[int, int], quarters: int) -> tuple[int, int]:
    """⌈H / t⌉ × ⌈W / t⌉ for the stride t = quarters / 4, in integers."""
    return -(-size[0] * QUARTERS // quarters), -(-size[1] * QUARTERS // quarters)


def _block_grid(size: tuple[int, int], quarters: int) -> tuple[int, int]:
    """8×8 blocks of the coarse plane, the last row and column padded (§10 step 1)."""
    rows, cols = coarse_shape(size, quarters)
    return -(-rows // TRANSFORM_SIZE), -(-cols // TRANSFORM_SIZE)


def _quantiser(step: float, slope: float) -> np.ndarray:
    return (step * (1.0 + slope * _FREQUENCY)).astype(np.float64)


def _unblocks(blocks: np.ndarray) -> np.ndarray:
    grid_h, grid_w, n, _ = blocks.shape
    return blocks.swapaxes(1, 2).reshape(grid_h * n, grid_w * n)


def _dc_from_differences(difference: np.ndarray) -> np.ndarray:
    dc = difference.copy()
    dc[:, 0] = np.cumsum(dc[:, 0])
    return np.cumsum(dc, axis=1)


def _plane_indices(values: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(n, 64) values in row-major bands, the DC band as differences (§10 step 3) -> (gh, gw, 8, 8) indices."""
    values = values.copy()
    values[:, 0] = _dc_from_differences(values[:, 0].reshape(grid)).ravel()
    return values.reshape(grid[0], grid[1], TRANSFORM_SIZE, TRANSFORM_SIZE)


def upsample(coarse: np.ndarray, size: tuple[int, int], quarters: int) -> np.ndarray:
    """§10 step 4 on a (rows, cols) plane: x = (4i + 2) / r − ½; stride 1 returns the plane cropped."""
    if quarters == QUARTERS:
        return coarse[: size[0], : size[1]]
    return upsample_plane(coarse, size, (QUARTERS, quarters))


def reconstruct(indices: np.ndarray, step: float, slope: float, coarse: tuple[int, int]) -> np.ndarray:
    """§10 step 2: the coarse plane a decoder sees, cropped to its unpadded size."""
    from scipy import fft  # 0.2 s to import: only version 2 files pay it

    samples = fft.idctn(indices * _quantiser(step, slope), axes=(2, 3), norm="ortho")
    return _unblocks(samples)[: coarse[0], : coarse[1]] + 128.0


def planes_to_image(planes: list[np.ndarray]) -> np.ndarray:
    if len(planes) == 1:
        return np.clip(np.rint(planes[0]), 0, 255).astype(np.uint8)
    return ycbcr_to_rgb(np.stack(planes).astype(np.float32))


def unpack_fields(payload: bytes) -> BaseParams:
    if len(payload) < FIELDS_SIZE:
        msg = f"BASE: payload of {len(payload)} bytes is shorter than its {FIELDS_SIZE} bytes of fields"
        raise AbcError(msg)
    return BaseParams(*_FIELDS.unpack_from(payload))


def unpack_base(payload: bytes, channels: int, size: tuple[int, int]) -> list[np.ndarray]:
    """The decoded base as full-size float planes (Y or Y, Cb, Cr); any bad payload is an AbcError."""
    params = unpack_fields(payload)
    _check_channels(params, channels)
    grids = [_block_grid(size, quarters) for quarters in params.plane_strides(channels)]
    values = coefcode.decode_planes(bytes(payload[FIELDS_SIZE:]), [rows * cols for rows, cols in grids])
    planes = []
    for quarters, step, grid, plane_values in zip(params.plane_strides(channels), params.plane_steps(channels), grids, values):
        indices = _plane_indices(plane_values, grid)
        coarse = reconstruct(indices, step, params.slope, coarse_shape(size, quarters))
        planes.append(upsample(coarse, size, quarters))
    return planes
