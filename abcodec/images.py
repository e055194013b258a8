"""What the encoder takes as an image: a PIL image or a uint8 array, as the L or RGB samples .abc
stores, and an alpha plane beside them where there is one.

Conversions that lose nothing .abc could have stored are made and named (the caller reports
them). Nothing is silently reduced: more than 8 bits per sample, more than one frame and a size
over the format's limits (§5) are refused with a message that says which, and
:func:`check_image` says so before any pixel is decoded.

Pillow itself narrows some inputs while decoding them: a 16-bit RGB or RGBA PNG or TIFF opens
as mode RGB or RGBA and keeps the high byte of each sample, and a PPM whose maxval is over 255
is scaled to 8 bits, with nothing in the mode or ``info`` to tell. Only the image's tile (how
Pillow will decode the file, ``rawmode`` ``"RGB;16B"`` for a 16-bit PNG) says so, and only
until the image is loaded, so the depth check needs an image as ``Image.open`` returns it.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from .container import MAX_PIXELS, MAX_SIDE, AbcImageError

CONVERTIBLE_MODES = {"1": "L", "P": "RGB", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "CMYK": "RGB", "YCbCr": "RGB",
                     "LAB": "RGB", "HSV": "RGB"}
"""Modes that convert to L or RGB (with alpha: LA or RGBA) without losing anything .abc could have
stored; a palette with transparency counts as PA, premultiplied alpha is unpremultiplied."""

STORED_MODES = ("L", "RGB", "LA", "RGBA")
"""Modes the samples are stored as: the colour layers, and the ALPH chunk for the alpha (§13)."""

WIDE_RAWMODE = re.compile(r";16[BLN]$")
"""Pillow raw modes of 16 bits per sample (``RGB;16B``, ``RGBA;16L``, ``LA;16B``, ``I;16N``, ...).
The endianness letter tells them from ``RGB;16`` and ``BGR;16``, 5-6-5 pixels of 16 bits in all."""

MAX_SAMPLE_VALUE = 255
"""The largest sample .abc stores (8 bits); a PPM's maxval above it means deeper samples."""

SINGLE_IMAGE_FORMATS = ("MPO",)
"""Multi-frame formats whose first frame is the image and the others auxiliary: an MPO (the JPEG
of many cameras and phones) adds previews, a gain map or a second view to the primary image."""


def check_image(image: Image.Image, *, one_frame: bool = False) -> None:
    """Refuse, from the header alone, what .abc cannot store as it is: an empty image or one
    over the format's size limits, an animation (unless ``one_frame``: the caller has chosen
    the current frame), more than 8 bits per sample or an unknown mode.

    Nothing is decoded; call it before ``load()``, while the depth is still visible."""
    width, height = image.size
    if not width or not height:
        msg = f"the image is empty ({width}x{height})"
        raise AbcImageError(msg)
    if width > MAX_SIDE or height > MAX_SIDE or height > MAX_PIXELS // width:
        msg = (f"{width}x{height} is more than .abc stores: at most {MAX_SIDE} pixels a side and "
               f"{MAX_PIXELS} pixels in all (spec §5)")
        raise AbcImageError(msg)
    frames = getattr(image, "n_frames", 1)
    if frames > 1 and not one_frame and image.format not in SINGLE_IMAGE_FORMATS:
        msg = (f"{frames} frames (an animation or pages), and .abc stores one image: choose one "
               f"(abc-encode --frame N, 0..{frames - 1}; in Python, seek() to it and pass a copy())")
        raise AbcImageError(msg)
    if bits := sample_bits(image):
        msg = (f"{bits} bits per sample, and .abc stores 8: reduce the image to 8 bits first "
               "(Pillow alone would silently drop the rest)")
        raise AbcImageError(msg)
    target_mode(image)


def sample_bits(image: Image.Image) -> int | None:
    """Bits per sample of the file when there are more than 8, from the tile Pillow will decode
    (16 for a 16-bit PNG, 12 for a PPM of maxval 4095); None for 8 or fewer, or once loaded."""
    for tile in getattr(image, "tile", None) or ():
        args = tile.args
        if tile.codec_name in ("ppm", "ppm_plain") and isinstance(args, tuple) and len(args) > 1:
            maxval = args[1]
            if isinstance(maxval, int) and maxval > MAX_SAMPLE_VALUE:
                return maxval.bit_length()
        rawmode = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None
        if isinstance(rawmode, str) and WIDE_RAWMODE.search(rawmode):
            return 16
    return None


def target_mode(image: Image.Image) -> tuple[str, str | None]:
    """The mode the samples are stored as (one of STORED_MODES), and a note when converting to it."""
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        mode = "PA"
    if mode in STORED_MODES:
        return mode, None
    if mode in CONVERTIBLE_MODES:
        target = CONVERTIBLE_MODES[mode]
        return target, f"converted mode {mode} to {target}"
    msg = f"mode {mode} has more than 8 bits per sample or an unsupported layout; .abc stores L, RGB, LA or RGBA"
    raise AbcImageError(msg)


def image_to_array(image: Image.Image | np.ndarray) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """uint8 colour samples (H, W) or (H, W, 3), the uint8 (H, W) alpha plane or None, and a note
    when the input had to be converted. Arrays may be (H, W, 2) for LA and (H, W, 4) for RGBA.

    A PIL image is checked (:func:`check_image`) before it is decoded."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or not (image.ndim == 2 or image.ndim == 3 and image.shape[2] in (2, 3, 4)):
            msg = f"array input must be uint8 (H, W), (H, W, 2), (H, W, 3) or (H, W, 4), got {image.dtype} {image.shape}"
            raise AbcImageError(msg)
        return (*_split(np.ascontiguousarray(image)), None)
    if not isinstance(image, Image.Image):
        msg = f"image must be a PIL image or a numpy array, got {type(image).__name__}"
        raise AbcImageError(msg)
    check_image(image)
    target, note = target_mode(image)
    samples = np.asarray(image if note is None else image.convert(target))
    return (*_split(samples), note)


def _split(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour, alpha) of L, LA, RGB or RGBA samples."""
    if samples.ndim == 3 and samples.shape[2] in (2, 4):
        colour = samples[..., 0] if samples.shape[2] == 2 else samples[..., :3]
        return np.ascontiguousarray(colour), np.ascontiguousarray(samples[..., -1])
    return samples, None
