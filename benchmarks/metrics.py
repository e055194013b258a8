"""Quality metrics and Bjøntegaard deltas shared by the benchmark scripts.

SSIM on RGB is the paper's metric (``abcodec.ssim.ssim``, scikit-image's); MS-SSIM and PSNR are here so that our
curves can be read beside the learned-compression literature, which reports MS-SSIM, and beside
codec papers, which report PSNR and BD-rate. SSIMULACRA 2, libjxl's perceptual metric, which
recent still-image codec comparisons report, comes from the ``ssimulacra2`` package: a
numpy/scipy port of libjxl's tools/ssimulacra2.cc, not the C++ tool. It is optional and costs
about 0.6 s per Kodak (768×512) pair, so it is computed only where asked.
"""

from __future__ import annotations

import importlib.metadata
import io

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from abcodec.ssim import ssim

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Wang, Simoncelli & Bovik 2003, the per-scale exponents, finest scale first."""

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K = (0.01, 0.03)
DATA_RANGE = 255.0


SSIMULACRA2_PACKAGE = "ssimulacra2"
SSIMULACRA2_MIN_SIDE = 8
"""The port, like libjxl, scores only the scales at least 8 pixels a side; a smaller image has no
scale left and would score a meaningless 100."""


def quality(original: np.ndarray, decoded: np.ndarray, *, with_ssimulacra2: bool = False) -> dict[str, float]:
    """Every metric the benchmarks report, for one decoded image; SSIMULACRA 2 only when asked."""
    scores = {
        "ssim": ssim(original, decoded),
        "ms_ssim": ms_ssim(original, decoded),
        "psnr": float(peak_signal_noise_ratio(original, decoded, data_range=DATA_RANGE)),
    }
    if with_ssimulacra2:
        scores["ssimulacra2"] = ssimulacra2(original, decoded)
    return scores


def ssimulacra2_version() -> str | None:
    """The installed ``ssimulacra2`` port's version, or None: the metric is optional."""
    try:
        return importlib.metadata.version(SSIMULACRA2_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def ssimulacra2(a: np.ndarray, b: np.ndarray) -> float:
    """SSIMULACRA 2 of ``b`` against the original ``a`` (uint8 RGB or L): 100 is identical, higher is
    better, and very strong distortion goes below 0.

    The ``ssimulacra2`` package's port of libjxl's metric (XYB, 6 scales, SSIM and edge maps, the
    tuned weights), which reads files only: both images go to it as in-memory PPM, lossless and
    quick to write. A port, not libjxl's binary: its blur is scipy's Gaussian where libjxl's is a
    recursive approximation, so its scores may differ a little from the C++ tool's.
    """
    from ssimulacra2 import compute_ssimulacra2

    if a.shape != b.shape:
        msg = f"shapes differ: {a.shape} and {b.shape}"
        raise ValueError(msg)
    if min(a.shape[:2]) < SSIMULACRA2_MIN_SIDE:
        msg = f"SSIMULACRA 2 needs at least {SSIMULACRA2_MIN_SIDE} pixels a side, got {a.shape[:2]}"
        raise ValueError(msg)
    return float(compute_ssimulacra2(_ppm(a), _ppm(b)))


def _ppm(pixels: np.ndarray) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PPM")
    buffer.seek(0)
    return buffer


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Multi-scale SSIM (Wang et al. 2003), 5 scales, on each RGB channel, then the channel mean.

    As in Wang's reference code and ``tf.image.ssim_multiscale``: an 11-tap Gaussian window
    (σ 1.5) over the valid region only, 2×2 averaging between scales, contrast–structure terms at
    every scale and luminance at the coarsest, negative terms clipped to 0 before the powers. The
    window shrinks to the image where a coarse scale is smaller than 11 pixels (as TensorFlow's
    does), so small test images work; images of 176×176 and up never need that.
    """
    if a.shape != b.shape:
        msg = f"shapes differ: {a.shape} and {b.shape}"
        raise ValueError(msg)
    planes = zip(np.atleast_3d(a).transpose(2, 0, 1), np.atleast_3d(b).transpose(2, 0, 1))
    return float(np.mean([_ms_ssim_plane(x.astype(np.float64), y.astype(np.float64)) for x, y in planes]))


def _ms_ssim_plane(x: np.ndarray, y: np.ndarray) -> float:
    if min(x.shape) < 2 ** (len(MS_SSIM_WEIGHTS) - 1):
        msg = f"MS-SSIM needs at least {2 ** (len(MS_SSIM_WEIGHTS) - 1)} pixels a side, got {x.shape}"
        raise ValueError(msg)
    result = 1.0
    for scale, weight in enumerate(MS_SSIM_WEIGHTS):
        luminance, contrast_structure = _ssim_terms(x, y)
        last = scale == len(MS_SSIM_WEIGHTS) - 1
        term = luminance * contrast_structure if last else contrast_structure
        result *= max(term, 0.0) ** weight
        x, y = _halve(x), _halve(y)
    return result


def _ssim_terms(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean luminance and mean contrast–structure terms of SSIM at one scale."""
    c1, c2 = ((k * DATA_RANGE) ** 2 for k in SSIM_K)
    mu_x, mu_y = _window_mean(x), _window_mean(y)
    var_x = _window_mean(x * x) - mu_x**2
    var_y = _window_mean(y * y) - mu_y**2
    covariance = _window_mean(x * y) - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    contrast_structure = (2 * covariance + c2) / (var_x + var_y + c2)
    return float(np.mean(luminance)), float(np.mean(contrast_structure))


def _window_mean(plane: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local means over the valid region (no padding), separable."""
    for axis in (0, 1):
        taps = min(SSIM_WINDOW, plane.shape[axis])
        offsets = np.arange(taps) - (taps - 1) / 2
        kernel = np.exp(-(offsets**2) / (2 * SSIM_SIGMA**2))
        windows = np.lib.stride_tricks.sliding_window_view(plane, taps, axis=axis)
        plane = windows @ (kernel / kernel.sum())
    return plane


def _halve(plane: np.ndarray) -> np.ndarray:
    """2×2 box average and subsample, dropping an odd last row or column."""
    rows, cols = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    plane = plane[:rows, :cols]
    return (plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2]) / 4


BD_DEGREE = 3
"""Bjøntegaard's cubic; a curve needs at least BD_DEGREE + 1 points."""


def bd_rate(anchor: tuple[list[float], list[float]], test: tuple[list[float], list[float]]) -> float | None:
    """Bjøntegaard delta rate in %: how many more bits ``test`` needs than ``anchor`` at equal quality.

    Each curve is (rates, qualities). log-rate is fitted as a cubic in quality for each curve,
    both fits are integrated over the quality interval the two curves share, and the mean
    log-rate difference is turned into a percentage: −50 means half the bits. None when the
    curves share no quality interval (the delta would be an extrapolation, not a measurement).
    Rate is the function of quality here, so the metric's direction does not matter: SSIM and
    SSIMULACRA 2 (higher is better) and a lower-is-better distance give the same kind of delta.
    """
    integrals = []
    low = max(min(anchor[1]), min(test[1]))
    high = min(max(anchor[1]), max(test[1]))
    if low >= high:
        return None
    for rates, qualities in (anchor, test):
        if len(rates) != len(qualities) or len(rates) <= BD_DEGREE:
            msg = f"a BD curve needs {BD_DEGREE + 1} or more (rate, quality) points, got {len(rates)}"
            raise ValueError(msg)
        antiderivative = np.polyint(np.polyfit(qualities, np.log(rates), BD_DEGREE))
        integrals.append(np.polyval(antiderivative, high) - np.polyval(antiderivative, low))
    mean_log_ratio = (integrals[1] - integrals[0]) / (high - low)
    return float((np.exp(mean_log_ratio) - 1) * 100)
