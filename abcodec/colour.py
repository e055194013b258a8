"""Colour conversion shared by every stage: JFIF full-range BT.601 YCbCr (format_spec/abc.md §7 step 1, §8 step 6).

The kept blocks, the base layer, the mask chooser's edges and the losses all measure luma the
same way, so one module holds the formulas and every stage imports it.
"""

from __future__ import annotations

import numpy as np

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)
"""§7 step 1: JFIF / BT.601 luma, also what the mask chooser measures edges on."""

CB_WEIGHTS = np.array([-0.168736, -0.331264, 0.5], np.float32)
CR_WEIGHTS = np.array([0.5, -0.418688, -0.081312], np.float32)
CHROMA_OFFSET = np.float32(128.0)
"""§7 step 1: Cb = 128 − 0.168736R − 0.331264G + 0.5B, Cr = 128 + 0.5R − 0.418688G − 0.081312B."""


def ycbcr_last_axis(rgb: np.ndarray) -> list[np.ndarray]:
    """Y, Cb, Cr of float32 samples whose last axis is R, G, B (one formula for every caller)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return [
        LUMA_WEIGHTS[0] * r + LUMA_WEIGHTS[1] * g + LUMA_WEIGHTS[2] * b,
        CHROMA_OFFSET + CB_WEIGHTS[0] * r + CB_WEIGHTS[1] * g + CB_WEIGHTS[2] * b,
        CHROMA_OFFSET + CR_WEIGHTS[0] * r + CR_WEIGHTS[1] * g + CR_WEIGHTS[2] * b,
    ]


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (3, H, W), JFIF full-range BT.601 with chroma offset 128."""
    return np.stack(ycbcr_last_axis(rgb.astype(np.float32)))


def ycbcr_to_rgb(planes: np.ndarray) -> np.ndarray:
    """float (3, H, W) -> uint8 (H, W, 3), the exact JFIF inverse (§8 step 6), rounded and clipped."""
    y, cb, cr = (np.asarray(p, np.float32) for p in planes)
    cb, cr = cb - CHROMA_OFFSET, cr - CHROMA_OFFSET
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    """Float32 BT.601 luma in 0..255 of a uint8 (H, W) or (H, W, 3) image; a grey image is its own luma."""
    if image.ndim == 2:
        return image.astype(np.float32)
    return image.astype(np.float32) @ LUMA_WEIGHTS
