"""Importance maps: where the encoder should spend its bytes (``abc-encode --importance``, ``--roi``).

A map is a float32 (H, W) array in [0, 1] at the image's size: white (1) asks for detail, black
(0) marks what may be ablated first. With a base layer (the default) the map sets how coarsely
each region of the base is quantised (``base.deadzones_for``); without one it reorders the
blocks the encoder keeps (``mask.block_order``). Either way the rate is unchanged and the file is
an ordinary .abc file that every decoder reads.

A map comes from a picture (a path or PIL image of any mode and size, resized to the image), from
rectangles of interest ("x,y,w,h"), from both (the rectangles painted white onto the picture), or
from ``auto``: a Grad-CAM saliency map of the classifier C for its predicted class, so the object
the image is about keeps its detail. Only ``auto`` imports torch.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from .container import AbcError

if TYPE_CHECKING:
    from .nets import EfficientNetLite0

AUTO = "auto"
"""The ``importance`` value that asks for the classifier's saliency map instead of a picture."""

BACKGROUND_IMPORTANCE = 0.25
"""Importance of what nobody pointed at: outside the rectangles when only rectangles are given,
and the floor of the ``auto`` map. Not 0: a block of importance w is taken where a block of
importance 1 would be at 1/w times its place in the scheme's order, so at 0.25 the region gets
its blocks about four times sooner while the background keeps its strongest edges and random
anchors instead of being left to one smooth fill; with a base layer the background's dead zone
grows by 1.2 · 0.75² ≈ 0.68 of a step (``base.IMPORTANCE_DEADZONE``). Chosen from the sweep over 0, 0.1, 0.25 and
0.5 in benchmarks/RESULTS.md ("How the background importance was chosen"); pass ``background``
or a map for another balance."""

SALIENCY_SIDE = 384
"""Longer side, in pixels, of the copy of the image C looks at: near the 224-pixel ImageNet scale
the classifier was trained at, so the predicted class is the image's subject, and ~0.05 s on one
CPU core; the class-activation map (1/32 of it, 12×8 for a Kodak image) is coarse anyway."""

SALIENCY_MIN_SIDE = 32
"""C's output stride: a shorter side below it would leave no activation map."""

SAMPLE_MAX = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1}
"""Full-scale sample value of the modes that are not 8-bit (16-bit PNGs open as I;16 or I); every
other mode is converted to L and divided by 255."""

ImportanceSource = Union[str, "os.PathLike[str]", Image.Image, np.ndarray]
Rectangle = tuple[int, int, int, int]


def resolve_importance(
    image: np.ndarray, source: ImportanceSource | None = None, rois: Iterable[str | Sequence[int]] = (), *,
    background: float = BACKGROUND_IMPORTANCE,
) -> np.ndarray | None:
    """The map for an encode of ``image`` (uint8 (H, W) or (H, W, 3)), or None when nothing is asked.

    ``source`` is a path, a PIL image, an array (see :func:`as_importance`) or ``"auto"``;
    ``rois`` are "x,y,w,h" strings or (x, y, w, h) tuples (one alone needs no list), painted
    white onto the source's map, or onto ``background`` when there is no source (``background``
    is also the floor of ``"auto"``'s map). The CLI and the Pillow plugin call this.
    """
    shape = image.shape[:2]
    if isinstance(rois, str) or is_rectangle(rois):
        rois = [rois]
    rectangles = [parse_roi(roi) for roi in rois]
    if source is None and not rectangles:
        return None
    if source is None:
        base = np.full(shape, _check_background(background), dtype=np.float32)
    else:
        base = importance_from_source(image, source, background)
    return paint_rectangles(base, rectangles)


def importance_from_source(image: np.ndarray, source: ImportanceSource, background: float) -> np.ndarray:
    """The map a path, picture, array or ``"auto"`` (floored at ``background``) stands for, at the image's size."""
    if isinstance(source, str) and source == AUTO:
        return saliency_map(image, background)
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
    picture = Image.fromarray(np.ascontiguousarray(importance, dtype=np.float32), mode="F")
    resized = np.asarray(picture.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), dtype=np.float32)
    return np.clip(resized, 0, 1)


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


def saliency_map(image: np.ndarray, background: float = BACKGROUND_IMPORTANCE) -> np.ndarray:
    """``auto``: the classifier's activation map, lifted to ``background`` so the background is
    ablated first but not emptied."""
    return with_floor(class_activation_map(image), background)


def with_floor(values: np.ndarray, floor: float) -> np.ndarray:
    """A map in [0, 1] rescaled to [floor, 1], read-only."""
    floor = _check_background(floor)
    lifted = (floor + (1 - floor) * values).astype(np.float32)
    lifted.flags.writeable = False
    return lifted


def class_activation_map(image: np.ndarray) -> np.ndarray:
    """Where C looks when it names the image's class: (H, W) in [0, 1], maximum 1.

    Grad-CAM (Selvaraju et al. 2017) of C's predicted class on its last convolution, the maps
    its pooling and classifier read: each map is weighted by the mean gradient of the class
    logit over it, and the weighted sum is rectified, scaled to a maximum of 1 and resized to
    the image (uniform where nothing is positive). C sees a copy of at most ``SALIENCY_SIDE``
    pixels a side, so the map takes well under a second on a CPU (benchmarks/RESULTS.md).
    """
    import torch
    from torch.nn import functional as F

    net = classifier()
    rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
    pixels = torch.from_numpy(np.array(saliency_input(rgb), dtype=np.float32)).permute(2, 0, 1)[None]
    captured: list[torch.Tensor] = []
    hook = net._conv_head.register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        with torch.enable_grad():
            logits = net(pixels.requires_grad_(True))
            (gradients,) = torch.autograd.grad(logits[0, logits[0].argmax()], captured[0])
    finally:
        hook.remove()
    with torch.no_grad():
        weights = gradients.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * captured[0]).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=image.shape[:2], mode="bilinear", align_corners=False)[0, 0]
        cam = cam / cam.max() if cam.max() > 0 else torch.ones_like(cam)
    return cam.clamp(0, 1).numpy().astype(np.float32)


def _check_background(background: float) -> float:
    if isinstance(background, bool) or not isinstance(background, (int, float, np.floating)) or not 0 <= background <= 1:
        msg = f"background importance {background!r} must be a number in [0, 1]"
        raise AbcError(msg)
    return float(background)


def saliency_input(rgb: np.ndarray) -> Image.Image:
    """The copy of the image C classifies: longer side ``SALIENCY_SIDE``, shorter at least ``SALIENCY_MIN_SIDE``."""
    height, width = rgb.shape[:2]
    scale = SALIENCY_SIDE / max(height, width)
    size = (max(SALIENCY_MIN_SIDE, round(width * scale)), max(SALIENCY_MIN_SIDE, round(height * scale)))
    return Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR)


@functools.cache
def classifier() -> EfficientNetLite0:
    """C, loaded once per process: the weights take ~0.1 s to read, torch's import ~1 s more."""
    from .nets import load_efficientnet

    return load_efficientnet()
