"""decode(): the decoder of the public API, which ``abc-decode``, ``abc-batch decode`` and the
Pillow plugin's ``load()`` call (format_spec/abc.md §8).

It parses and bounds the file (container.py, limits.py) before any work. A file that is nothing
but its AV1 frame (version 3, a BASE whose frame has the image's size, no kept blocks, no alpha
plane, decoded fast because the file names the fast decode or the caller asks for it) is that
frame (§12 step 3), which Pillow's AVIF decoder hands back as a PIL image (av1.py, after the same
header checks as every decode). For it nothing here imports numpy, whose import alone takes
longer than such a decode of a Kodak-sized image (benchmarks/RESULTS.md, "Cold decodes without
numpy"). Every other file takes the fast decode (reconstruct.py), imported on first use, and the
generative decoder where it is asked for; torch only for the descent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PIL import Image

from . import av1, container, limits
from .av1_headers import parse_headers, parse_sequence_header
from .container import AbcError, AbcFile
from .decode_options import AVAILABLE_INPAINTERS, DecodeOptions
from .metadata import info_from_chunks

if TYPE_CHECKING:
    import numpy as np

    from .generative.assist import Statistics
    from .generative.settings import Params, Progress


def decode(
    data: bytes | AbcFile, /, *, options: DecodeOptions | None = None, progress: Progress | None = None,
    reduced: bool = False, **fields: Any,
) -> Image.Image:
    """Decompress .abc bytes (or a file already parsed) to a PIL image, mode L or RGB (LA or RGBA
    when the file stores alpha, §13), with the ICC profile, EXIF, XMP and dpi in ``info``.

    How to decode is ``options`` (:class:`DecodeOptions`: inpainter, device, threads,
    max_pixels) or its fields as keywords, ``decode(data, inpainter="diffusion")`` being
    ``decode(data, options=DecodeOptions(inpainter="diffusion"))``; not both. What to do with the
    result, ``progress`` and ``reduced``, is no option of the decoder's, as an importance map is
    none of the encoder's.

    ``reduced`` returns the base layer's AV1 frame as it is, at its own size (the image's or
    smaller), without the generator or the upsampling: what a thumbnail needs, in a fraction of
    the time. A file without an AV1 base, or with kept blocks, gives its fast decode then.

    Untrusted input is safe with the default ``max_pixels``: it and the pixels-per-byte bomb
    check (``limits.check_decode_limits``) are applied before any work; ``None`` trusts the
    file (only the format's limits). ``progress(done, total, seconds_left)`` is called after each
    step of the generative decoder's descent, or, without steps, after each tile of a large image.
    """
    options = _options_of(options, fields)
    abc = data if isinstance(data, AbcFile) else container.read_file(data)
    limits.check_decode_limits(abc, options.max_pixels)
    wanted = options.inpainter or container.INPAINTERS[abc.header.inpainter]
    if wanted not in AVAILABLE_INPAINTERS:
        msg = f"inpainter {wanted!r} is not available in this version; decode with inpainter 'diffusion'"
        raise AbcError(msg)
    if (reduced or wanted == "diffusion") and is_bare_frame(abc):
        image = av1.decode_image(bytes(abc.base), abc.header.channels, (abc.header.width, abc.header.height))
    else:
        image = _decode_layers(abc, wanted, options, progress, reduced)
    image.info.update(info_from_chunks(abc.ancillary))
    return image


def is_bare_frame(abc: AbcFile) -> bool:
    """Whether the image is the AV1 frame as decoded, and nothing else (§8 step 7 with no kept
    block, §12 step 3 with (w, h) = (W, H), no ALPH): what the encoder writes at all but the
    lowest rates. The headers are read by the parser every decode of BASE runs first, so a broken
    stream fails here with the message it would give there."""
    header = abc.header
    if header.version < 3 or abc.base is None or abc.mask is not None or abc.alpha is not None:
        return False
    _, frame = parse_headers(bytes(abc.base))
    return (frame.width, frame.height) == (header.width, header.height)


def reduced_size(abc: AbcFile) -> tuple[int, int]:
    """(width, height) of ``decode(reduced=True)``'s image (reconstruct.reduced_decode), from the AV1
    sequence header alone: what the Pillow plugin's ``draft()`` asks before a thumbnail."""
    if abc.base is None or abc.header.version < 3 or abc.mask is not None:
        return abc.header.width, abc.header.height
    header = parse_sequence_header(bytes(abc.base))
    return header.width, header.height


def _decode_layers(abc: AbcFile, wanted: str, options: DecodeOptions, progress: Progress | None,
                   reduced: bool) -> Image.Image:
    """Every file that is more than its frame: the fast decode (kept blocks, a smaller frame
    upsampled, a version 2 base, the diffusion fill), G where it is wanted, and the alpha plane."""
    from .alpha import unpack_alpha
    from .reconstruct import fast_decode, reduced_decode

    if reduced:
        image = reduced_decode(abc)
    elif wanted == "diffusion":
        image = Image.fromarray(fast_decode(abc)[0])
    else:
        image = Image.fromarray(_generative_decode(abc, options, progress))
    if abc.alpha is not None:
        image = with_alpha(image, unpack_alpha(abc.alpha, (abc.header.height, abc.header.width)))
    return image


def _options_of(options: DecodeOptions | None, fields: dict[str, Any]) -> DecodeOptions:
    """:func:`decode`'s options, given whole or as keywords."""
    if options is None:
        return DecodeOptions(**fields)
    if fields:
        msg = f"give options or its fields as keywords, not both (got options and {', '.join(sorted(fields))})"
        raise AbcError(msg)
    if not isinstance(options, DecodeOptions):
        msg = f"options must be a DecodeOptions, got {options!r}"
        raise AbcError(msg)
    return options


def with_alpha(image: Image.Image, alpha: np.ndarray) -> Image.Image:
    """``image`` (L or RGB) with its alpha plane (§13): LA or RGBA; a reduced decode's smaller
    frame gets the plane resized to it."""
    plane = Image.fromarray(alpha)
    if plane.size != image.size:
        plane = plane.resize(image.size, Image.Resampling.BOX)
    image.putalpha(plane)
    return image


def bounded_descent(abc: AbcFile, max_pixels: int | None = limits.DEFAULT_MAX_PIXELS) -> tuple[Params, Statistics]:
    """The descent a file asks of the generative decoder and the statistics it reads, once its
    work (G on every tile, the steps, the classifier) is known to be within the limit its bytes
    pay for (§5; ``max_pixels=None`` trusts the file). The encoder checks its own file with it."""
    from .generative import assist
    from .generative.settings import descent_of, work_units

    descent = descent_of(abc.header)
    stats = assist.statistics_from_chunks(abc.ancillary)
    classes = stats.classes is not None and descent.classification > 0
    what = f"{descent.steps} descent steps" + (" with the classifier" if classes else "") if descent.steps else "G"
    limits.check_generative_work(abc, work_units(abc.header, descent.steps, classes), what, max_pixels)
    return descent, stats


def _generative_decode(abc: AbcFile, options: DecodeOptions, progress: Progress | None) -> np.ndarray:
    """§8 step 8: the fast decode refined by the generator the file names, its work bounded first;
    a conditioned generator also reads the AV1 frame's quantizer and scale (settings.generator_inputs).

    G alone (no descent steps, on the CPU) runs on ONNX Runtime; the descent, and CUDA, need torch.
    """
    from .generative.settings import generator_inputs
    from .reconstruct import fast_decode

    params, stats = bounded_descent(abc, options.max_pixels)
    generator, conditions = generator_inputs(abc)
    image, exact = fast_decode(abc)
    if not params.steps and options.device != "cuda":
        from .generative import onnx_generator

        return onnx_generator.generate(image, exact, generator=generator, conditions=conditions,
                                       threads=options.threads, progress=progress)
    try:
        from .generative import descent
    except ImportError as e:
        reason = f"{params.steps} descent steps" if params.steps else "device cuda"
        msg = f"this file asks for {reason}, which need torch: pip install 'abcodec[torch]'"
        raise AbcError(msg) from e
    return descent.inpaint(image, exact, params, stats, generator=generator, conditions=conditions,
                           device=options.device, progress=progress, threads=options.threads)
