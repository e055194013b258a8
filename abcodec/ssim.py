"""SSIM as scikit-image's ``structural_similarity`` computes it with its defaults, in numpy and scipy.

The paper's metric, and the one benchmarks/RESULTS.md reports, is scikit-image's SSIM on RGB; this
copy of it lets ``python -m abcodec.demo`` run without scikit-image installed, and
tests/test_ssim.py holds it to scikit-image's own figures. The recipe (Wang et al. 2004 with
scikit-image's choices): a 7×7 uniform window, local means, sample (co)variances (N/(N−1)),
K1 = 0.01 and K2 = 0.03 on 8-bit data, each channel on its own, then the mean over channels.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

WINDOW = 7
"""scikit-image's default: a 7×7 uniform window."""

DATA_RANGE = 255
"""8-bit images: the ``data_range`` the demo and the benchmarks pass."""

C1 = (0.01 * DATA_RANGE) ** 2
C2 = (0.03 * DATA_RANGE) ** 2
"""(K1·L)² and (K2·L)² with scikit-image's K1 = 0.01, K2 = 0.03 and data range L = 255."""

BORDER = WINDOW // 2
"""The strip along each edge whose window reaches past the image: the mean SSIM leaves it out,
as scikit-image does (the map there comes from reflected pixels)."""


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two single-channel images (float64), the border from reflected pixels."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    samples = WINDOW**2
    covariance_scale = samples / (samples - 1)
    mean_x, mean_y = uniform_filter(x, size=WINDOW), uniform_filter(y, size=WINDOW)
    var_x = covariance_scale * (uniform_filter(x * x, size=WINDOW) - mean_x * mean_x)
    var_y = covariance_scale * (uniform_filter(y * y, size=WINDOW) - mean_y * mean_y)
    cov = covariance_scale * (uniform_filter(x * y, size=WINDOW) - mean_x * mean_y)
    numerator = (2 * mean_x * mean_y + C1) * (2 * cov + C2)
    denominator = (mean_x**2 + mean_y**2 + C1) * (var_x + var_y + C2)
    return numerator / denominator


def ssim(a: np.ndarray, b: np.ndarray, region: np.ndarray | None = None) -> float:
    """SSIM of two 8-bit images, L (H, W) or RGB (H, W, 3); with ``region`` (a bool (H, W) mask),
    the channel-mean map's mean over those pixels instead of over the image less its border."""
    if a.shape != b.shape or a.ndim not in (2, 3) or min(a.shape[:2]) < WINDOW:
        msg = f"SSIM needs two images of one shape, at least {WINDOW}×{WINDOW}: got {a.shape} and {b.shape}"
        raise ValueError(msg)
    planes = [(a, b)] if a.ndim == 2 else [(a[..., channel], b[..., channel]) for channel in range(a.shape[2])]
    maps = [ssim_map(x, y) for x, y in planes]
    if region is None:
        return float(np.mean([plane[BORDER:-BORDER, BORDER:-BORDER].mean() for plane in maps]))
    return float(np.stack(maps, axis=-1).mean(axis=-1)[region].mean())
