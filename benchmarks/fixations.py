"""Recorded eye fixations as benchmarks use them: the held-out photos, the fixation maps and
densities at any size, and the MIT/Tübingen saliency benchmark's metrics (AUC-Judd, NSS, CC).

The photos and the split come from abcodec.train_saliency (every ``HELD_OUT_EVERY``-th photo is
never trained on), so a benchmark reports on exactly the photos the model did not see.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from abcodec.train_saliency import Photo, load_fixations, read_photo, split

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fixations"

DENSITY_SIGMA = 0.03
"""The fixation density is the fixations blurred by a Gaussian of 3 % of the longer side, about one
degree of view: the usual ground truth for CC and for quality "where people look"."""


def held_out(folder: str | Path, min_side: int = 0) -> list[Photo]:
    """The held-out photos whose longer side is at least ``min_side``."""
    return [photo for photo in split(load_fixations(folder))[1] if max(photo.width, photo.height) >= min_side]


def shrunk(folder: str | Path, photo: Photo, max_side: int) -> tuple[np.ndarray, float]:
    """The photo as uint8 RGB shrunk (Lanczos, never enlarged) to a longer side of at most
    ``max_side``, and the scale applied to its fixations."""
    rgb = read_photo(folder, photo)
    scale = min(1.0, max_side / max(photo.width, photo.height))
    if scale < 1:
        size = (round(photo.width * scale), round(photo.height * scale))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))
    return rgb, scale


def fixation_map(photo: Photo, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Fixation counts per pixel of an (H, W) copy of the photo scaled by ``scale``."""
    height, width = shape
    counts = np.zeros(shape, dtype=np.float64)
    rows = np.clip(np.round(photo.fixations[:, 0] * scale).astype(int), 0, height - 1)
    columns = np.clip(np.round(photo.fixations[:, 1] * scale).astype(int), 0, width - 1)
    np.add.at(counts, (rows, columns), 1)
    return counts


def fixation_density(counts: np.ndarray) -> np.ndarray:
    """The fixation map blurred by ``DENSITY_SIGMA`` of the longer side, summing to 1."""
    from scipy import ndimage

    density = ndimage.gaussian_filter(counts, DENSITY_SIGMA * max(counts.shape))
    return density / density.sum()


def auc_judd(saliency: np.ndarray, counts: np.ndarray) -> float:
    """AUC-Judd: the ROC curve of the saliency map as a classifier of fixated pixels, each fixated
    pixel's value a threshold; true positives are fixated pixels above it, false positives the
    others (Judd et al. 2009, as the MIT saliency benchmark computes it)."""
    values = saliency.ravel().astype(np.float64)
    fixated = counts.ravel() > 0
    thresholds = np.sort(values[fixated])[::-1]
    n_fixated, n_pixels = len(thresholds), values.size
    above = n_pixels - np.searchsorted(np.sort(values), thresholds, side="left")
    hits = np.arange(1, n_fixated + 1)
    true_positive = np.concatenate([[0], hits / n_fixated, [1]])
    false_positive = np.concatenate([[0], (above - hits) / (n_pixels - n_fixated), [1]])
    return float(np.trapezoid(true_positive, false_positive))


def nss(saliency: np.ndarray, counts: np.ndarray) -> float:
    """Normalised scanpath saliency: the standardised map's mean over the fixated pixels."""
    standard = (saliency - saliency.mean()) / saliency.std()
    return float(standard[counts > 0].mean())


def cc(saliency: np.ndarray, density: np.ndarray) -> float:
    """Pearson's correlation between the map and the fixation density."""
    return float(np.corrcoef(saliency.ravel(), density.ravel())[0, 1])


def centre_bias(shape: tuple[int, int], sigma: float = 0.3) -> np.ndarray:
    """The centre baseline: a Gaussian centred on the image, σ a share of each side."""
    height, width = shape
    rows = (np.arange(height) - (height - 1) / 2) / (sigma * height)
    columns = (np.arange(width) - (width - 1) / 2) / (sigma * width)
    return np.exp(-0.5 * (rows[:, None] ** 2 + columns[None, :] ** 2))
