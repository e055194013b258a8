"""The decoder's upsampler, shared by both base layers: Keys cubic interpolation (format_spec/abc.md
§10 step 4, §12 step 3).

A line of n coarse samples becomes m output samples; output i reads the coarse line at
x = (2i + 1) · a / (2b) − ½ for the ratio a / b of coarse to output samples (one float64 division of
integers, so every decoder computes the same positions): format 2 gives it as 4 / r for the stride
r in quarter pixels, format 3 as n / m, the AV1 frame's size against the image's.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

CUBIC_A = -0.5
"""§10 step 4: the Keys cubic's a, the value that reproduces quadratics."""


def keys_cubic(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    a = CUBIC_A
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def upsample_matrix(n_coarse: int, n_full: int, ratio: tuple[int, int]) -> sparse.csr_matrix:
    """The line upsampler as an (n_full, n_coarse) sparse matrix: four clamped taps per output."""
    x = (2 * np.arange(n_full, dtype=np.int64) + 1) * ratio[0] / (2 * ratio[1]) - 0.5
    first = np.floor(x).astype(np.int64) - 1
    taps = first[:, None] + np.arange(4)
    weights = keys_cubic(x[:, None] - taps)
    rows = np.repeat(np.arange(n_full), 4)
    return sparse.csr_matrix((weights.ravel(), (rows, np.clip(taps, 0, n_coarse - 1).ravel())),
                             shape=(n_full, n_coarse))


def upsample_plane(coarse: np.ndarray, size: tuple[int, int], ratio: tuple[int, int] | None = None) -> np.ndarray:
    """A (rows, cols) float plane upsampled to size (H, W): down the columns, then along the rows.

    ``ratio`` (coarse : output, the same on both axes) is format 2's; None takes each axis's own
    n / m, as format 3 does. Sparse products with four weights per row: 15× faster than gathering.
    """
    rows = upsample_matrix(coarse.shape[0], size[0], ratio or (coarse.shape[0], size[0]))
    cols = upsample_matrix(coarse.shape[1], size[1], ratio or (coarse.shape[1], size[1]))
    return (cols @ (rows @ coarse).T).T
