"""What the encoder takes as an image: a PIL image or a uint8 array, as the L or RGB samples .abc stores.

Conversions that lose nothing .abc could have stored are made and named (the caller reports
them); alpha and more than 8 bits per sample are refused rather than silently dropped.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .container import AbcImageError

CONVERTIBLE_MODES = {"1": "L", "P": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}
"""Modes that convert to L or RGB without losing anything .abc could have stored."""


def image_to_array(image: Image.Image | np.ndarray) -> tuple[np.ndarray, str | None]:
    """uint8 (H, W) or (H, W, 3), plus a note when the input had to be converted."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or not (image.ndim == 2 or image.ndim == 3 and image.shape[2] == 3):
            msg = f"array input must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}"
            raise AbcImageError(msg)
        return np.ascontiguousarray(image), None
    if not isinstance(image, Image.Image):
        msg = f"image must be a PIL image or a numpy array, got {type(image).__name__}"
        raise AbcImageError(msg)
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        mode = "PA"
    if mode in ("L", "RGB"):
        return np.asarray(image), None
    if mode in CONVERTIBLE_MODES:
        target = CONVERTIBLE_MODES[mode]
        return np.asarray(image.convert(target)), f"converted mode {mode} to {target}"
    if "A" in mode or mode in ("PA", "La", "RGBa"):
        msg = f"mode {mode} has an alpha channel, which .abc cannot store; convert to RGB first"
        raise AbcImageError(msg)
    msg = f"mode {mode} has more than 8 bits per sample or an unsupported layout; .abc stores L or RGB"
    raise AbcImageError(msg)
