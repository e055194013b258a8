"""encode() and decode(): the public API that the command line and the Pillow plugin call.

The encoder resolves what it was given (the image's samples, its metadata, an importance map),
then spends the rate on one layer: by default the coarse base layer (base.py), otherwise the
source paper's kept blocks, the largest nested mask (mask.py) whose file fits the rate, coded
by maskcode.py and pixels.py. decode() is decoder.py's, offered here beside encode(): it lives
in a module of its own, which the command line, abc-batch and the plugin import, so that a
decode loads only what its file needs (no numpy for a file that is only its AV1 frame).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from . import base as base_layer
from . import container, effort, limits
from .alpha import fill_hidden, pack_alpha
from .container import AbcError, AbcFile, AbcWarning, Header
from .decode_options import DecodeOptions
from .decoder import bounded_descent, decode, reduced_size
from .generative import assist as assist_stats
from .images import image_to_array
from .importance import ImportanceSource, block_weights, emphasis, resolve_importance
from .mask import block_order, mask_from_order
from .maskcode import encode_mask
from .metadata import chunks_from_info, usable_info
from .options import BlockLayer, EncodeOptions, header_for
from .pixels import pack_blocks
from .reconstruct import pixel_params

__all__ = ["BlockLayer", "DecodeOptions", "EncodeOptions", "decode", "encode", "reduced_size"]


def encode(
    image: Image.Image | np.ndarray, /, *, options: EncodeOptions | None = None,
    importance: ImportanceSource | None = None, roi: Iterable[str | Sequence[int]] = (),
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """Compress an image (PIL image or uint8 array) to .abc bytes.

    ``importance`` (a picture, a path, an array or ``"auto"``) and ``roi`` (``"x,y,w,h"``
    strings or (x, y, w, h) tuples) say where to keep detail at the same rate
    (:func:`abcodec.importance.resolve_importance`). ``metadata`` holds ``icc_profile``, ``exif``,
    ``xmp`` and ``dpi`` for the ancillary chunks (default: the PIL image's ``info``), of which
    ``options.metadata`` names those to carry. A conversion of the
    input, and a file that default decoders would refuse, are reported as :class:`AbcWarning`.
    """
    options = options or EncodeOptions()
    array, alpha, note = image_to_array(image)
    if note:
        warnings.warn(note, AbcWarning, stacklevel=2)
    if alpha is not None:
        array = fill_hidden(array, alpha)
    info = metadata if metadata is not None else usable_info(getattr(image, "info", {}), options.metadata)
    ancillary = chunks_from_info(info, options.metadata)
    ancillary |= assist_stats.measure_chunks(array, options.assist)
    packed_alpha = None if alpha is None else pack_alpha(alpha)
    emphasised = emphasis(resolve_importance(array, importance, roi), options.ablation)
    height, width = array.shape[:2]
    mode = container.MODE_RGB if array.ndim == 3 else container.MODE_L
    header = header_for(options, width=width, height=height, mode=mode, has_importance=emphasised is not None)
    if options.blocks is None:
        abc = _encode_base(array, header, ancillary, options, emphasised, packed_alpha)
    else:
        weights = None if emphasised is None else block_weights(emphasised, options.ablation)
        abc = _encode_blocks(array, header, ancillary, options, weights, packed_alpha)
    _warn_if_refused_by_default(abc)
    return container.write_file(abc)


def _assemble(header: Header, mask: np.ndarray, image: np.ndarray, ancillary: dict[bytes, bytes],
              base: bytes | None = None, alpha: bytes | None = None) -> AbcFile:
    return AbcFile(header, encode_mask(mask), pack_blocks(image, mask, pixel_params(header)), ancillary, base, alpha)


def _encode_base(
    array: np.ndarray, header: Header, ancillary: dict[bytes, bytes], options: EncodeOptions,
    emphasised: np.ndarray | None, alpha: bytes | None,
) -> AbcFile:
    """A file whose rate all goes to the base layer (§12), without the block layer. Its header is made
    once the payload is coded: with ``quality`` the rate, which picks the decoder it names, is known
    only then, and from ``effort`` 1 the encoder runs G on the payload before naming it (effort.py)."""
    overhead = len(container.write_file(AbcFile(header, None, None, ancillary, b"", alpha)))
    quality = options.base_quality
    budget = None if quality is not None else max(options.byte_budget(header.width, header.height) - overhead, 1)

    def coded_at(speed: int) -> bytes:
        if quality is not None:
            return base_layer.encode_at_quality(array, quality, speed=speed, emphasis=emphasised)
        return base_layer.encode_base(array, budget, speed=speed, emphasis=emphasised)

    def file_for(payload: bytes, decoder: str | None = None) -> AbcFile:
        bpp = None if quality is None else 8 * (overhead + len(payload)) / (header.width * header.height)
        named = header_for(options, width=header.width, height=header.height, mode=header.mode,
                           has_importance=emphasised is not None, bpp=bpp, decoder=decoder)
        return AbcFile(named, None, None, ancillary, payload, alpha)

    abc = file_for(effort.best_payload(array, coded_at, options.speed, options.effort, budget, file_for))
    if (abc.header.inpainter == container.INPAINTER_PPGN
            and effort.measures_generator(options.effort, options.inpainter, options.steps)
            and not effort.generator_pays(array, abc)):
        return file_for(abc.base, "diffusion")
    return abc


def _encode_blocks(
    array: np.ndarray, header: Header, ancillary: dict[bytes, bytes], options: EncodeOptions,
    importance: np.ndarray | None, alpha: bytes | None,
) -> AbcFile:
    """The source paper's layout: the largest nested mask whose file fits the rate, or ``keep``."""
    blocks = options.blocks
    order = block_order(array, blocks.scheme, blocks.block, seed=blocks.seed, random_share=blocks.random_share,
                        importance=importance)
    grid = header.grid_shape
    n_blocks = grid[0] * grid[1]

    def file_for(count: int) -> AbcFile:
        return _assemble(header, mask_from_order(order, grid, count / n_blocks), array, ancillary, alpha=alpha)

    if blocks.keep is not None:
        return file_for(round(blocks.keep * n_blocks))
    sizes: dict[int, int] = {}

    def size_of(count: int) -> int:
        if count not in sizes:
            sizes[count] = len(container.write_file(file_for(count)))
        return sizes[count]

    return file_for(_largest_fitting(size_of, n_blocks, options.byte_budget(header.width, header.height)))


def _largest_fitting(size_of, n_blocks: int, budget: int) -> int:
    """Largest kept-block count whose file fits the byte budget, by bisection on nested masks.

    File size grows with the count only on average (mask bits are not monotone), so this finds
    a count at the budget's edge, not the global maximum; with nested masks that is within a
    few blocks of it.
    """
    low, high = 0, n_blocks
    if size_of(high) <= budget:
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if size_of(middle) <= budget:
            low = middle
        else:
            high = middle
    return low


def _warn_if_refused_by_default(abc: AbcFile) -> None:
    """A file default decoders would refuse (spec §5) is written as asked for, with a warning now
    rather than a surprise at decode time: a large, nearly flat or empty image can come out so
    small that decoders take it for a decompression bomb, and descent steps can ask for more work
    than the file's bytes pay for. The encoder does not change the rate or the steps it was given
    to pass the limits, which guard against untrusted files; lifting them decodes one's own."""
    try:
        limits.check_decode_limits(abc)
        if abc.header.inpainter == container.INPAINTER_PPGN:
            bounded_descent(abc)
    except AbcError as e:
        change = ", or encode with fewer steps or at a higher bpp" if abc.header.steps else ""
        warnings.warn(f"default decoders will refuse the .abc file ({e}); decode it with max_pixels=None "
                      f"(abc-decode --max-pixels 0){change}", AbcWarning, stacklevel=3)
