"""The coarse base layer <-> the BASE chunk payload (format_spec/abc.md §10).

A regular grid of samples carries most of an image's SSIM for very few bytes: the encoder keeps
the image at 1/s of its resolution (s, the ``stride``, in quarter pixels from 1 to 16), codes that small image with an 8×8 DCT, a
frequency-sloped uniform quantiser and an adaptive ANS coder (coefcode.py), and the decoder rebuilds the full-size image with
bicubic interpolation. Planning measurements (benchmarks/RESULTS.md) showed a plain grid beating JPEG
below ~0.3 bpp; transform coding the grid instead of predicting its pixels halves its bytes, so
the same idea now wins up to ~0.5 bpp and beyond (benchmarks/RESULTS.md). What the grid cannot hold (detail
finer than s pixels) is what the block layer (MASK + PIXL) and the inpainters add on top.

The payload's layout is normative in §10 (fields, quantiser, DC differences, the Keys-cubic
upsampler; §10.1 the coefficient coder); the functions below cite its steps. A decoder refuses
(:class:`AbcError`) fields out of range and coefficient data that is not exactly used up.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
from scipy import fft, sparse
from scipy.sparse import linalg

from . import coefcode
from .container import AbcError
from .colour import rgb_to_ycbcr, ycbcr_to_rgb

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

CUBIC_A = -0.5
"""§10 step 4: the Keys cubic's a, the value that reproduces quadratics."""

COARSE_RANGE = (-32.0, 287.0)
"""The encoder's least-squares samples may overshoot 0..255 to sharpen edges after upsampling;
clipping here bounds every index within the coder's range (coefcode.MAX_VALUE) at a negligible cost."""


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
        _check_range("stride", self.stride_quarters, QUARTERS, MAX_QUARTERS)
        if self.chroma_stride_quarters:
            _check_range("chroma stride", self.chroma_stride_quarters, QUARTERS, MAX_QUARTERS)
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


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        msg = f"BASE: {name} {value!r} outside {low}..{high}"
        raise AbcError(msg)


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


def _blocks(plane: np.ndarray) -> np.ndarray:
    """(rows, cols) with both multiples of 8 -> (rows/8, cols/8, 8, 8)."""
    n = TRANSFORM_SIZE
    return plane.reshape(plane.shape[0] // n, n, plane.shape[1] // n, n).swapaxes(1, 2)


def _unblocks(blocks: np.ndarray) -> np.ndarray:
    grid_h, grid_w, n, _ = blocks.shape
    return blocks.swapaxes(1, 2).reshape(grid_h * n, grid_w * n)


def _dc_differences(dc: np.ndarray) -> np.ndarray:
    difference = dc.copy()
    difference[:, 1:] -= dc[:, :-1]
    difference[1:, 0] -= dc[:-1, 0]
    return difference


def _dc_from_differences(difference: np.ndarray) -> np.ndarray:
    dc = difference.copy()
    dc[:, 0] = np.cumsum(dc[:, 0])
    return np.cumsum(dc, axis=1)


def _plane_values(indices: np.ndarray) -> np.ndarray:
    """(gh, gw, 8, 8) indices -> (n, 64) values in row-major bands, the DC band as differences."""
    values = indices.reshape(-1, TRANSFORM_SIZE * TRANSFORM_SIZE).copy()
    values[:, 0] = _dc_differences(indices[:, :, 0, 0]).ravel()
    return values


def _plane_indices(values: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Invert :func:`_plane_values`."""
    values = values.copy()
    values[:, 0] = _dc_from_differences(values[:, 0].reshape(grid)).ravel()
    return values.reshape(grid[0], grid[1], TRANSFORM_SIZE, TRANSFORM_SIZE)


def _keys_cubic(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    a = CUBIC_A
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _taps(n_coarse: int, n_full: int, quarters: int) -> tuple[np.ndarray, np.ndarray]:
    """§10 step 4: (n_full, 4) clamped source indices and Keys weights."""
    x = (QUARTERS * np.arange(n_full) + QUARTERS / 2) / quarters - 0.5
    first = np.floor(x).astype(np.int64) - 1
    j = first[:, None] + np.arange(4)
    return np.clip(j, 0, n_coarse - 1), _keys_cubic(x[:, None] - j)


def upsample_matrix(n_coarse: int, n_full: int, quarters: int) -> sparse.csr_matrix:
    """The line upsampler as an (n_full, n_coarse) sparse matrix: the encoder's model of step 5."""
    index, weight = _taps(n_coarse, n_full, quarters)
    rows = np.repeat(np.arange(n_full), 4)
    return sparse.csr_matrix((weight.ravel(), (rows, index.ravel())), shape=(n_full, n_coarse))


def upsample(coarse: np.ndarray, size: tuple[int, int], quarters: int) -> np.ndarray:
    """§10 step 4 on a (rows, cols) plane; stride 1 returns the plane cropped to size.

    Sparse products with four weights per row: 15× faster than gathering the taps in numpy.
    """
    if quarters == QUARTERS:
        return coarse[: size[0], : size[1]]
    down = upsample_matrix(coarse.shape[0], size[0], quarters) @ coarse
    return (upsample_matrix(coarse.shape[1], size[1], quarters) @ down.T).T


def least_squares_coarse(plane: np.ndarray, quarters: int) -> np.ndarray:
    """The coarse plane whose upsampling is closest to ``plane`` in L2 (encoder only).

    Box averages blur twice (once down, once up); solving for the samples the decoder's
    upsampler needs instead sharpens edges back. The normal equations are banded, one
    sparse solve per axis, so this is O(pixels) at any size.
    """
    if quarters == QUARTERS:
        return plane.astype(np.float64)
    rows, cols = coarse_shape(plane.shape, quarters)
    up_y = upsample_matrix(rows, plane.shape[0], quarters)
    up_x = upsample_matrix(cols, plane.shape[1], quarters)
    solve_y = linalg.factorized((up_y.T @ up_y).tocsc())
    solve_x = linalg.factorized((up_x.T @ up_x).tocsc())
    along_y = solve_y(up_y.T @ plane.astype(np.float64))
    coarse = solve_x(up_x.T @ along_y.T).T
    return np.clip(coarse, *COARSE_RANGE)


def _pad(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.pad(plane, ((0, shape[0] - plane.shape[0]), (0, shape[1] - plane.shape[1])), mode="edge")


def transform(coarse: np.ndarray) -> np.ndarray:
    """DCT coefficients (gh, gw, 8, 8) of a coarse plane, padded by edge replication."""
    padded = _pad(coarse, (-(-coarse.shape[0] // 8) * 8, -(-coarse.shape[1] // 8) * 8))
    return fft.dctn(_blocks(padded - 128.0), axes=(2, 3), norm="ortho")


def quantise(coefficients: np.ndarray, step: float, slope: float, deadzone: float | np.ndarray) -> np.ndarray:
    """Indices of the coefficients; ``deadzone`` (one value, or one per block) widens the zero bin.

    Rounding towards zero by ``deadzone`` of a step drops coefficients that cost more bits
    than they buy (the encoder's choice: any decoder reads the result); the DC coefficient is
    rounded plainly, its error would show as a flat offset.
    """
    q = _quantiser(step, slope)
    zone = np.asarray(deadzone, dtype=np.float64)[..., None, None] if np.ndim(deadzone) else deadzone
    indices = np.sign(coefficients) * np.floor(np.maximum(np.abs(coefficients) / q + 0.5 - zone, 0.0))
    indices[..., 0, 0] = np.rint(coefficients[..., 0, 0] / q[0, 0])
    return indices.astype(np.int64)


def reconstruct(indices: np.ndarray, step: float, slope: float, coarse: tuple[int, int]) -> np.ndarray:
    """§10 step 2: the coarse plane a decoder sees, cropped to its unpadded size."""
    samples = fft.idctn(indices * _quantiser(step, slope), axes=(2, 3), norm="ortho")
    return _unblocks(samples)[: coarse[0], : coarse[1]] + 128.0


def image_planes(image: np.ndarray) -> list[np.ndarray]:
    """Y (mode L) or Y, Cb, Cr float planes of a uint8 image, as §7 step 1 defines them."""
    if image.ndim == 2:
        return [image.astype(np.float64)]
    return list(rgb_to_ycbcr(image).astype(np.float64))


def planes_to_image(planes: list[np.ndarray]) -> np.ndarray:
    if len(planes) == 1:
        return np.clip(np.rint(planes[0]), 0, 255).astype(np.uint8)
    return ycbcr_to_rgb(np.stack(planes).astype(np.float32))


def pack_base(transformed: list[np.ndarray], params: BaseParams, deadzones: list[float | np.ndarray]) -> bytes:
    """The BASE payload from each plane's coefficients (:func:`transform`) and dead zone(s)."""
    _check_channels(params, len(transformed))
    steps = params.plane_steps(len(transformed))
    values = [
        _plane_values(quantise(c, step, params.slope, zone)) for c, step, zone in zip(transformed, steps, deadzones)
    ]
    fields = _FIELDS.pack(params.stride_quarters, params.chroma_stride_quarters, params.step_luma, params.step_chroma, params.slope)
    return fields + coefcode.encode_planes(values)


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


SLOPE = 0.2
DEADZONE = 0.1
CHROMA_STEP_RATIO = 1.5
CHROMA_STRIDE_FACTOR = 2
"""Encoder choices, not format. Picked by one-at-a-time sweeps on six Kodak images while the
layer was designed: slopes 0.1–0.35, dead zones 0.1–0.3 and chroma ratios 1–2 all moved SSIM at
equal rate by under 0.005, the dead zone of 0.1 most; chroma at twice the luma stride was best."""

MAX_EVALUATIONS = 10
RATE_TOLERANCE = 0.02
"""The rate search stops at a payload within 2 % under the budget (most images: 3–5 trial encodes)."""


@dataclass
class _Candidate:
    """One stride's coefficients, computed once and requantised at every bisection step."""

    quarters: int
    chroma_quarters: int
    transformed: list[np.ndarray]
    deadzones: list[float | np.ndarray]

    def params(self, step: float) -> BaseParams:
        chroma_step = min(step * CHROMA_STEP_RATIO, STEP_RANGE[1])
        return BaseParams(self.quarters, self.chroma_quarters, step, chroma_step, SLOPE)

    def payload(self, step: float) -> bytes:
        return pack_base(self.transformed, self.params(step), self.deadzones)


def _candidate(planes: list[np.ndarray], quarters: int, importance: np.ndarray | None) -> _Candidate:
    chroma_quarters = min(quarters * CHROMA_STRIDE_FACTOR, MAX_QUARTERS) if len(planes) == 3 else 0
    strides = [quarters] + [chroma_quarters] * (len(planes) - 1)
    transformed = [transform(least_squares_coarse(p, t)) for p, t in zip(planes, strides)]
    deadzones = [DEADZONE if importance is None else deadzones_for(importance, t) for t in strides]
    return _Candidate(quarters, chroma_quarters, transformed, deadzones)


IMPORTANCE_DEADZONE = 1.2
"""Extra dead zone of a block of importance 0: DEADZONE + 1.2 · (1 − w)² at importance w (of the
map scaled to a maximum of 1, so a uniform map changes nothing). Small coefficients of
unimportant blocks are dropped and the rate search gives the bytes to the rest; unlike a coarser
step, the indices that stay keep their alphabet, which the coefficient coder codes cheaply.
Chosen by a comparison on four Kodak images at 0.3 bpp (a scratch script, not kept) against
linear penalties and against rounding to multiples of a coarser step, which spreads the indices
over values the coder pays for; benchmarks/RESULTS.md has what it gives on all 24."""


def deadzones_for(importance: np.ndarray, quarters: int) -> np.ndarray:
    """Per 8×8 coarse block of a plane at this stride, from the block's mean importance.

    A block covers 2·quarters full-size pixels a side (8 samples at quarters / 4 pixels each).
    """
    side = 2 * quarters
    grid = _block_grid(importance.shape, quarters)
    rows = np.arange(importance.shape[0]) // side
    cols = np.arange(importance.shape[1]) // side
    labels = (rows[:, None] * grid[1] + cols[None, :]).ravel()
    sums = np.bincount(labels, weights=importance.ravel().astype(np.float64), minlength=grid[0] * grid[1])
    counts = np.bincount(labels, minlength=grid[0] * grid[1])
    mean = np.divide(sums, counts, out=np.ones_like(sums), where=counts > 0)
    scaled = mean / max(float(importance.max()), np.finfo(np.float64).tiny)
    return (DEADZONE + IMPORTANCE_DEADZONE * (1.0 - np.minimum(scaled, 1.0)) ** 2).reshape(grid)


def _fitting_step(candidate: _Candidate, budget: int) -> float:
    """A step whose payload fits the budget within RATE_TOLERANCE (the coarsest step when none fits).

    log(bytes) is close to linear in log(step), so a secant search kept inside the bracket of
    steps already known to be too fine or coarse enough needs few trial encodes.
    """
    bounds = [math.log(STEP_RANGE[0]), math.log(STEP_RANGE[1])]
    fits: float | None = None
    points: list[tuple[float, float]] = []
    x = math.log(16.0)
    for _ in range(MAX_EVALUATIONS):
        error = math.log(max(len(candidate.payload(math.exp(x))), 1) / budget)
        points.append((x, error))
        if error <= 0:
            fits, bounds[1] = x, x
            if error > math.log(1 - RATE_TOLERANCE):
                break
        else:
            bounds[0] = x
        x = _next_guess(points, bounds)
        if bounds[1] - bounds[0] < 1e-4:
            break
    return math.exp(fits if fits is not None else bounds[1])


def _next_guess(points: list[tuple[float, float]], bounds: list[float]) -> float:
    """Secant through the last two trials (slope −1 after the first), kept strictly inside the bracket."""
    x, error = points[-1]
    slope = -1.0
    if len(points) > 1 and points[-2][0] != x:
        slope = min((error - points[-2][1]) / (x - points[-2][0]), -0.1)
    guess = x - error / slope
    margin = 0.1 * (bounds[1] - bounds[0])
    return min(max(guess, bounds[0] + margin), bounds[1] - margin)


STRIDE_BY_RATE = ((0.9, 1.0), (0.7, 1.25), (0.25, 1.5), (0.14, 2.0), (0.1, 2.5), (0.05, 3.0), (0.025, 4.0),
                  (0.0, 6.0))
"""(lowest bpp, stride in pixels): the stride with the best mean SSIM at that rate on six Kodak
images (benchmarks/RESULTS.md, "Stride by rate"), switching halfway between the measured rates.
Finer grids need finer steps than the rate allows, coarser ones lose detail no step brings back."""


def stride_for(bpp: float) -> float:
    return next(stride for lowest, stride in STRIDE_BY_RATE if bpp >= lowest)


def stride_quarters(stride: float) -> int:
    """A stride in pixels as the format stores it; the encoder's options refuse other values."""
    quarters = stride * QUARTERS
    if not (QUARTERS <= quarters <= MAX_QUARTERS and quarters == int(quarters)):
        msg = f"base stride {stride} must be a multiple of 0.25 from 1 to {MAX_STRIDE}"
        raise AbcError(msg)
    return int(quarters)


def encode_base(
    image: np.ndarray, budget: int, stride: float | None = None, importance: np.ndarray | None = None
) -> bytes:
    """The BASE payload of a uint8 image that fits ``budget`` bytes (stride in pixels; None: by rate).

    With an ``importance`` map (H, W) in [0, 1], less important blocks lose more small
    coefficients (:func:`deadzones_for`), so the rate search finds a finer step for the rest.
    """
    planes = image_planes(image)
    chosen = stride or stride_for(8 * budget / (image.shape[0] * image.shape[1]))
    candidate = _candidate(planes, stride_quarters(chosen), importance)
    return candidate.payload(_fitting_step(candidate, budget))
