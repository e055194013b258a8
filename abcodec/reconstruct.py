"""The fast decode, format_spec/abc.md §8 steps 2–7: the canvas of kept pixels, then the diffusion
fill, or the upsampled base (an AV1 frame in version 3, §12; a DCT grid in version 2, §10) with
the kept blocks blended in.

This is what every file decodes to before the generative decoder (inpainter 1) refines it, and
what a file asking for inpainter 0 is. The kept pixels it returns beside the image are those the
file holds exactly, which the generative decoder leaves as they are.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import base as base_layer
from . import dctbase, diffusion
from .colour import rgb_to_ycbcr, ycbcr_to_rgb
from .container import AbcFile, Header
from .maskcode import decode_mask
from .pixels import Canvas, PixelParams, empty_canvas, unpack_blocks


def pixel_params(header: Header) -> PixelParams:
    """The HEAD fields that say how kept pixels are coded (§3, §7): one reading for both sides."""
    return PixelParams(header.block, header.q_luma, header.q_chroma, header.chroma_shift)


def fast_decode(abc: AbcFile) -> tuple[np.ndarray, np.ndarray]:
    """§8 steps 2–7 of a parsed file: uint8 (H, W) or (H, W, 3), and the bool (H, W) map of the
    pixels the file holds exactly (kept luma whose chroma sample was kept too)."""
    canvas, mask = canvas_of(abc)
    header = abc.header
    size = (header.height, header.width)
    if abc.base is None:
        image = _fill_canvas(canvas, header)
    elif header.version >= 3 and mask.any():
        rgb = base_layer.decode_base(abc.base, header.channels, size)
        planes = [rgb] if rgb.ndim == 2 else list(rgb_to_ycbcr(rgb))
        image = dctbase.planes_to_image(_blend_blocks(planes, canvas, header))
    elif header.version >= 3:
        image = base_layer.decode_base_pixels(abc.base, header.channels, size)
    else:
        planes = dctbase.unpack_base(abc.base, header.channels, size)
        image = dctbase.planes_to_image(_blend_blocks(planes, canvas, header) if mask.any() else planes)
    return image, exact_pixels(canvas)


def reduced_decode(abc: AbcFile) -> Image.Image:
    """The AV1 frame of a version 3 base-only file as decoded, at its own size (§12 steps 1–2);
    any other file's fast decode (its size: :func:`abcodec.decoder.reduced_size`)."""
    if abc.base is None or abc.header.version < 3 or abc.mask is not None:
        return Image.fromarray(fast_decode(abc)[0])
    return base_layer.decode_frame_image(abc.base, abc.header.channels, (abc.header.height, abc.header.width))


def canvas_of(abc: AbcFile) -> tuple[Canvas, np.ndarray]:
    """§8 steps 2–3: the kept pixels a file holds, and its block mask (empty without MASK)."""
    header = abc.header
    size = (header.height, header.width)
    if abc.mask is None:
        return empty_canvas(header.channels, size, pixel_params(header)), np.zeros(header.grid_shape, bool)
    mask = decode_mask(abc.mask, header.grid_shape)
    canvas = unpack_blocks(abc.pixels, mask, header.channels, size, pixel_params(header))
    return canvas, mask


def upsample_chroma(chroma: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """§8 step 5: bilinear ×2 with sample centres at the 2×2 box centres the encoder averaged over."""
    _, rows, cols = chroma.shape
    y = np.clip((np.arange(shape[0]) + 0.5) / 2 - 0.5, 0, rows - 1)
    x = np.clip((np.arange(shape[1]) + 0.5) / 2 - 0.5, 0, cols - 1)
    y0, x0 = np.floor(y).astype(np.intp), np.floor(x).astype(np.intp)
    y1, x1 = np.minimum(y0 + 1, rows - 1), np.minimum(x0 + 1, cols - 1)
    wy, wx = (y - y0).astype(np.float32)[:, None], (x - x0).astype(np.float32)[None, :]
    top = chroma[:, y0][:, :, x0] * (1 - wx) + chroma[:, y0][:, :, x1] * wx
    bottom = chroma[:, y1][:, :, x0] * (1 - wx) + chroma[:, y1][:, :, x1] * wx
    return top * (1 - wy) + bottom * wy


def _fill_canvas(canvas: Canvas, header: Header) -> np.ndarray:
    """§8 steps 4–6, the diffusion decoder: fill each plane's holes, then to uint8."""
    luma = diffusion.fill(canvas.luma[None], canvas.luma_known)
    if canvas.chroma is None:
        return np.clip(np.rint(luma[0]), 0, 255).astype(np.uint8)
    chroma = diffusion.fill(canvas.chroma, canvas.chroma_known)
    if header.chroma_shift:
        chroma = upsample_chroma(chroma, (header.height, header.width))
    return ycbcr_to_rgb(np.concatenate([luma, chroma]))


def exact_pixels(canvas: Canvas) -> np.ndarray:
    """Pixels the file holds exactly: kept luma whose chroma sample was kept too."""
    known = canvas.luma_known
    if canvas.chroma_known is not None and canvas.chroma_known.shape != known.shape:
        chroma = canvas.chroma_known.repeat(2, axis=0).repeat(2, axis=1)[: known.shape[0], : known.shape[1]]
        known = known & chroma
    return known


def _blend_blocks(planes: list[np.ndarray], canvas: Canvas, header: Header) -> list[np.ndarray]:
    """§8 step 7: the base planes with the kept blocks put in exactly and no seam around them.

    The difference between a kept sample and the base is diffused into a band one block wide
    around the kept blocks and is zero beyond it, so the correction fades out smoothly.
    """
    luma = planes[0] + _faded_difference(canvas.luma, canvas.luma_known, planes[0], header.block)
    if canvas.chroma is None:
        return [luma]
    shift = header.chroma_shift
    chroma_base = np.stack([_box_average(p, shift, canvas.chroma.shape[1:]) for p in planes[1:]])
    difference = _faded_difference(canvas.chroma, canvas.chroma_known, chroma_base, header.block >> shift)
    if shift:
        difference = upsample_chroma(difference, (header.height, header.width))
    return [luma, *(p + d for p, d in zip(planes[1:], difference))]


def _faded_difference(values: np.ndarray, known: np.ndarray, base: np.ndarray, width: int) -> np.ndarray:
    """Harmonic fill of (kept − base) with zero fixed at ``width`` samples from every kept one."""
    from scipy import ndimage  # 0.25 s to import, paid only by files that keep blocks on a base

    far = ~ndimage.maximum_filter(known, size=2 * width + 1)
    difference = np.where(known, values - base, 0.0).astype(np.float32)
    stacked = difference if difference.ndim == 3 else difference[None]
    filled = diffusion.fill(stacked, known | far)
    return filled if difference.ndim == 3 else filled[0]


def _box_average(plane: np.ndarray, shift: int, shape: tuple[int, int]) -> np.ndarray:
    """The base plane at the chroma canvas's resolution: 2×2 means when chroma is halved (§8 step 7)."""
    if not shift:
        return plane
    padded = np.pad(plane, ((0, 2 * shape[0] - plane.shape[0]), (0, 2 * shape[1] - plane.shape[1])), mode="edge")
    return padded.reshape(shape[0], 2, shape[1], 2).mean(axis=(1, 3))
