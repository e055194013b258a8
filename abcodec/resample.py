"""The decoder's upsampler, shared by both base layers: Keys cubic interpolation (format_spec/abc.md
§10 step 4, §12 step 3).

A line of n coarse samples becomes m output samples; output i reads the coarse line at
x = (2i + 1) · a / (2b) − ½ for the ratio a / b of coarse to output samples (one float64 division of
integers, so every decoder computes the same positions): format 2 gives it as 4 / r for the stride
r in quarter pixels, format 3 as n / m, the AV1 frame's size against the image's. Each axis is four
weighted gathers of whole rows or columns, numpy alone: a decode does not import scipy (0.2 s).
"""

from __future__ import annotations

import numpy as np

CUBIC_A = -0.5
"""§10 step 4: the Keys cubic's a, the value that reproduces quadratics."""

TAPS = 4
"""§10 step 4: samples j = ⌊x⌋ − 1 … ⌊x⌋ + 2 contribute to an output at x."""


def keys_cubic(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    a = CUBIC_A
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def line_taps(n_coarse: int, n_full: int, ratio: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(n_full, 4) clamped source indices and Keys weights of the line upsampler."""
    x = (2 * np.arange(n_full, dtype=np.int64) + 1) * ratio[0] / (2 * ratio[1]) - 0.5
    first = np.floor(x).astype(np.int64) - 1
    taps = first[:, None] + np.arange(TAPS)
    return np.clip(taps, 0, n_coarse - 1), keys_cubic(x[:, None] - taps)


def upsample_plane(coarse: np.ndarray, size: tuple[int, int], ratio: tuple[int, int] | None = None) -> np.ndarray:
    """A (rows, cols) float plane upsampled to size (H, W): down the columns, then along the rows.

    ``ratio`` (coarse : output, the same on both axes) is format 2's; None takes each axis's own
    n / m, as format 3 does.
    """
    down = _gather_rows(np.asarray(coarse, dtype=np.float32), size[0], ratio)
    return _gather_rows(np.ascontiguousarray(down.T), size[1], ratio).T


def _gather_rows(plane: np.ndarray, n_full: int, ratio: tuple[int, int] | None) -> np.ndarray:
    """The plane upsampled along its first axis: four weighted gathers of whole rows (contiguous)."""
    rows, weights = line_taps(plane.shape[0], n_full, ratio or (plane.shape[0], n_full))
    weights = weights.astype(np.float32)
    out = weights[:, 0, None] * plane[rows[:, 0]]
    for k in range(1, TAPS):
        out += weights[:, k, None] * plane[rows[:, k]]
    return out
