"""Importance maps: where the encoder should spend its bytes (``abc-encode --importance``, ``--roi``).

A map is a float32 (H, W) array in [0, 1] at the image's size: white (1) asks for detail, black
(0) marks what may be ablated first. Only its ranks count (:func:`emphasis`): a soft map and a
binary one of the same shape ask for the same thing, so a fixation density whose values are
mostly near 0 is read as it is meant. With a base layer (the default) the emphasis sets the
quantizer of each region of the AV1 frame (base.py); without one it reorders the blocks the
encoder keeps (``mask.block_order``). Either way the rate is unchanged and the file is an
ordinary .abc file that every decoder reads.

A map comes from a picture (a path or PIL image of any mode and size, resized to the image), from
rectangles of interest ("x,y,w,h"), from both (the rectangles painted white onto the picture), or
from ``auto``: the saliency model's prediction of where people look (saliency.py, ONNX Runtime).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from .container import AbcError

AUTO = "auto"
"""The ``importance`` value that asks for the saliency model's map instead of a picture."""

BACKGROUND_IMPORTANCE = 0.25
"""Importance painted outside the rectangles when only rectangles are given (any value below 1
reads the same, ranks being what counts), and the floor of the block layout's weights
(:func:`block_weights`): there a block of weight w is taken where a block of weight 1 would be at
1/w times its place in the scheme's order, so the background keeps its strongest edges and random
anchors (benchmarks/RESULTS.md, "How the background importance was chosen")."""

IMPORTANT_AREA = 0.3
"""The share of the image, taken in the map's order, that the emphasis raises; the rest is lowered
as its rank falls, to the full ablation at twice this share. Chosen in trials on training photos
of the fixation set, where 0.2 and 0.45 did about as well: the rank is what matters, not the share."""

DEFAULT_ABLATION = 3.0
"""How strongly a map moves bytes (``EncodeOptions.ablation``): the most important blocks ask for
2^3 = 8 times the rate a uniform coding would give them and the least for 1/8 (base.py); libaom
caps the quantizer offsets it turns this into, so stronger settings move little more
(benchmarks/RESULTS.md, "Ablation where people look")."""

RANK_PIXELS = 1 << 20
"""Ranks are read on a copy of the map of at most about this many pixels (area-averaged): the base
layer asks for rate per 16×16 block and the block layout reorders blocks, so a finer ranking buys
nothing, and sorting a 12-megapixel map took 2.7 s on the reference CPU."""

MAX_ABLATION = 8.0
"""2^8: far past where libaom's offsets saturate; a larger value would only overflow the guide."""

SAMPLE_MAX = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1}
"""Full-scale sample value of the modes that are not 8-bit (16-bit PNGs open as I;16 or I); every
other mode is converted to L and divided by 255."""

ImportanceSource = Union[str, "os.PathLike[str]", Image.Image, np.ndarray]
Rectangle = tuple[int, int, int, int]


def resolve_importance(
    image: np.ndarray, source: ImportanceSource | None = None, rois: Iterable[str | Sequence[int]] = (),
) -> np.ndarray | None:
    """The map for an encode of ``image`` (uint8 (H, W) or (H, W, 3)), or None when nothing is asked.

    ``source`` is a path, a PIL image, an array (see :func:`as_importance`) or ``"auto"``;
    ``rois`` are "x,y,w,h" strings or (x, y, w, h) tuples (one alone needs no list), painted
    white onto the source's map, or onto ``BACKGROUND_IMPORTANCE`` when there is no source. The
    CLI and the Pillow plugin call this.
    """
    shape = image.shape[:2]
    if isinstance(rois, str) or is_rectangle(rois):
        rois = [rois]
    rectangles = [parse_roi(roi) for roi in rois]
    if source is None and not rectangles:
        return None
    if source is None:
        base = np.full(shape, BACKGROUND_IMPORTANCE, dtype=np.float32)
    else:
        base = importance_from_source(image, source)
    return paint_rectangles(base, rectangles)


def importance_from_source(image: np.ndarray, source: ImportanceSource) -> np.ndarray:
    """The map a path, picture, array or ``"auto"`` stands for, at the image's size."""
    if isinstance(source, str) and source == AUTO:
        from .saliency import fixation_density

        density = fixation_density(image)
        return as_importance(density / max(float(density.max()), np.finfo(np.float32).tiny))
    if isinstance(source, (str, os.PathLike)):
        return resize_importance(load_importance(source), image.shape[:2])
    return resize_importance(as_importance(source), image.shape[:2])


def load_importance(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a map from an image file, at the file's own size."""
    try:
        with Image.open(Path(path)) as picture:
            picture.load()
            return as_importance(picture)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        msg = f"importance map {os.fspath(path)!r} cannot be read ({reason})"
        raise AbcError(msg) from e


def as_importance(value: Image.Image | np.ndarray) -> np.ndarray:
    """A picture or array as a read-only float32 map in [0, 1], at its own size.

    Pictures of any mode become grey (alpha is ignored) and are scaled by their full-scale value.
    Arrays must be 2-D: uint8 is read as grey levels 0..255, bool as 0/1, floats must already lie
    in [0, 1]; other types are refused rather than guessed at.
    """
    if isinstance(value, Image.Image):
        values = _grey_levels(value)
    elif isinstance(value, np.ndarray):
        values = _array_levels(value)
    else:
        msg = (f"importance must be a PIL image or a numpy array (or, through resolve_importance, a path or "
               f"'{AUTO}'), got {type(value).__name__}")
        raise AbcError(msg)
    if values.ndim != 2 or values.size == 0:
        msg = f"importance map of shape {values.shape} must be a non-empty (H, W) array"
        raise AbcError(msg)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        msg = f"importance values must lie in [0, 1], got {values.min()} .. {values.max()}"
        raise AbcError(msg)
    values = values.astype(np.float32)
    values.flags.writeable = False
    return values


def _grey_levels(picture: Image.Image) -> np.ndarray:
    if picture.width == 0 or picture.height == 0:
        msg = f"importance map of size {picture.width}x{picture.height} is empty"
        raise AbcError(msg)
    if picture.mode in SAMPLE_MAX:
        return np.asarray(picture, dtype=np.float64) / SAMPLE_MAX[picture.mode]
    return np.asarray(picture.convert("L"), dtype=np.float64) / 255


def _array_levels(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array / 255
    if array.dtype == bool or np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float64)
    msg = f"importance array of dtype {array.dtype} must be uint8 (0..255), bool, or float in [0, 1]"
    raise AbcError(msg)


def resize_importance(importance: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The map at ``shape`` (H, W): bilinear, area-averaged when shrinking (Pillow's resize)."""
    if importance.shape == tuple(shape):
        return importance
    return np.clip(_resized(importance, (shape[1], shape[0])), 0, 1)


def parse_roi(roi: str | Sequence[int]) -> Rectangle:
    """A rectangle (x, y, width, height) in pixels from "x,y,w,h" or a 4-sequence of integers.

    x and y may be negative and the rectangle may overhang the image (it is clipped later); its
    width and height must be at least 1.
    """
    malformed = f"ROI {roi!r} must be x,y,w,h: four integers, e.g. 10,20,200,100"
    parts = roi.split(",") if isinstance(roi, str) else roi
    try:
        values = tuple(_roi_integer(part) for part in parts)
    except (TypeError, ValueError) as e:
        raise AbcError(malformed) from e
    if len(values) != 4:
        raise AbcError(malformed)
    if values[2] < 1 or values[3] < 1:
        msg = f"ROI {roi!r} has width {values[2]} and height {values[3]}; both must be at least 1"
        raise AbcError(msg)
    return values


def is_rectangle(value: object) -> bool:
    """True for one (x, y, w, h) tuple of integers, as opposed to a list of rectangles."""
    return isinstance(value, Sequence) and len(value) == 4 and all(
        isinstance(part, (int, np.integer)) and not isinstance(part, bool) for part in value
    )


def _roi_integer(part: object) -> int:
    if isinstance(part, str):
        return int(part.strip())
    if isinstance(part, bool) or not isinstance(part, (int, np.integer)):
        raise TypeError(part)
    return int(part)


def paint_rectangles(importance: np.ndarray, rectangles: Sequence[Rectangle]) -> np.ndarray:
    """A copy of the map with every rectangle set to 1, clipped to the image.

    A rectangle entirely outside the image is an error: it would silently change nothing.
    """
    painted = np.array(importance, dtype=np.float32)
    height, width = painted.shape
    for x, y, w, h in rectangles:
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            msg = f"ROI {x},{y},{w},{h} lies outside the {width}x{height} image"
            raise AbcError(msg)
        painted[max(y, 0) : y + h, max(x, 0) : x + w] = 1
    painted.flags.writeable = False
    return painted


def ranks(importance: np.ndarray) -> np.ndarray:
    """Each pixel's rank as the share of the image more important than it, float32 (H, W) in [0, 1].

    Pixels of equal importance share the middle of their ranks, except the most important level,
    which ranks 0, and the least, which ranks 1: a rectangle painted white is all first and the
    background it leaves all last, whatever their sizes.
    """
    flat = importance.ravel()
    _, inverse, counts = np.unique(-flat, return_inverse=True, return_counts=True)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    middle = (starts + counts / 2) / flat.size
    middle[-1], middle[0] = 1.0, 0.0
    return middle[inverse].reshape(importance.shape).astype(np.float32)


def emphasis(importance: np.ndarray | None, strength: float = DEFAULT_ABLATION) -> np.ndarray | None:
    """How much more rate each pixel asks for, as a power of 2, from the map's ranks: ``strength``
    for the first ``IMPORTANT_AREA`` of the image, falling linearly with the rank to ``-strength``
    at twice that share and below. None where nothing is asked: no map, a uniform one, or strength 0.
    """
    if importance is None or not strength or float(importance.min()) == float(importance.max()):
        return None
    height, width = importance.shape
    scale = min(1.0, (RANK_PIXELS / importance.size) ** 0.5)
    read = importance if scale == 1 else _resized(importance, (max(1, round(width * scale)), max(1, round(height * scale))))
    position = (IMPORTANT_AREA - ranks(read)) / IMPORTANT_AREA
    emphasised = (strength * np.clip(position, -1.0, 1.0)).astype(np.float32)
    return emphasised if scale == 1 else _resized(emphasised, (width, height))


def _resized(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float map at size (width, height): bilinear, area-averaged when shrinking (Pillow's resize)."""
    picture = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    return np.asarray(picture.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def block_weights(emphasis_map: np.ndarray, strength: float) -> np.ndarray:
    """The block layout's weights in [BACKGROUND_IMPORTANCE, 1] (mask.block_order): 1 where the
    emphasis is full, halving with each step below it; a rectangle keeps 1 and its background the floor."""
    return np.maximum(2.0 ** (emphasis_map - strength), BACKGROUND_IMPORTANCE).astype(np.float32)


def check_ablation(strength: object) -> float:
    """``ablation`` as a number in [0, MAX_ABLATION]."""
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.integer, np.floating)) \
            or not 0 <= strength <= MAX_ABLATION:
        msg = f"ablation {strength!r} must be a number in [0, {MAX_ABLATION:g}]"
        raise AbcError(msg)
    return float(strength)
