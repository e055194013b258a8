"""The alpha plane <-> the ALPH chunk (format_spec/abc.md §13): lossless, beside the colour layers.

Transparency is a mask, not a picture: a viewer composites with it exactly, so an error shows as
a halo or a hole where a lossy coder would blur it. It is coded losslessly, as each sample's
difference from its left neighbour (mod 256) in one zstd frame: flat areas and the runs along a
mask's rows become zeros, which zstd codes in almost nothing, and decoding is one cumulative sum
per row. What the alpha hides is the encoder's to choose: :func:`fill_hidden` replaces the colour
under fully transparent pixels by a smooth continuation of the visible ones, which the base layer
codes for next to nothing.
"""

from __future__ import annotations

import numpy as np

from . import diffusion, zstdframe
from .container import AbcError

METHOD_LEFT_DELTA = 0
"""§13: the only method, the payload's first byte: left differences mod 256, one zstd frame."""

ZSTD_LEVEL = 19
"""Encoder's zstd level (not part of the format): an alpha plane is coded once per file."""


def pack_alpha(alpha: np.ndarray) -> bytes:
    """The ALPH payload of a uint8 (H, W) alpha plane."""
    if not isinstance(alpha, np.ndarray) or alpha.dtype != np.uint8 or alpha.ndim != 2 or 0 in alpha.shape:
        msg = f"alpha must be a uint8 (H, W) array, got {getattr(alpha, 'dtype', type(alpha).__name__)} {getattr(alpha, 'shape', '')}"
        raise AbcError(msg)
    residuals = np.diff(alpha, axis=1, prepend=np.zeros((alpha.shape[0], 1), np.uint8))
    return bytes([METHOD_LEFT_DELTA]) + zstdframe.compress(residuals.tobytes(), ZSTD_LEVEL)


def unpack_alpha(payload: bytes, size: tuple[int, int]) -> np.ndarray:
    """The uint8 (H, W) alpha plane of an ALPH payload for an image of size (H, W); any bad payload
    is an AbcError. The zstd frame must declare exactly H × W bytes before it is decompressed."""
    height, width = size
    if len(payload) < 1 or payload[0] != METHOD_LEFT_DELTA:
        method = payload[0] if payload else "missing"
        msg = f"ALPH: method {method} is not {METHOD_LEFT_DELTA} (left differences, zstd)"
        raise AbcError(msg)
    stream = zstdframe.decompress_exact(bytes(payload[1:]), height * width, "ALPH",
                                        f"a {width}x{height} alpha plane is {height * width}")
    residuals = np.frombuffer(stream, np.uint8).reshape(height, width)
    return np.cumsum(residuals, axis=1, dtype=np.uint8)


def fill_hidden(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``image`` with the colour under fully transparent pixels replaced by the harmonic fill of the
    visible ones (the encoder's choice, §13): nothing a viewer sees changes, and the base layer
    spends its bytes on what it shows. An image with nothing hidden, or nothing visible, is kept."""
    hidden = alpha == 0
    if not hidden.any() or hidden.all():
        return image
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    filled = diffusion.fill(planes.astype(np.float32), ~hidden)
    filled = np.clip(np.rint(filled), 0, 255).astype(np.uint8)
    return filled[0] if image.ndim == 2 else np.ascontiguousarray(filled.transpose(1, 2, 0))
