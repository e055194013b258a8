"""One AV1 intra frame as a bare OBU stream, coded and decoded through Pillow's AVIF support
(format_spec/abc.md §12): the driver of libavif's encoder and decoder.

This module and the three it drives know bytes and pixels of AV1, nothing of the rest of the
codec. :func:`encode` lets Pillow's AVIF encoder (libavif + libaom) code a grey or RGB image as a
still picture and keeps only the AV1 bitstream of the primary item, the OBUs that the AVIF
file's ``mdat`` holds (:func:`abcodec.avif_boxes.primary_item_data`), without the ~275 bytes of
HEIF boxes around it. :func:`decode` checks the stream's sequence header first (its size against
the caller's bound, 8-bit, still picture, 4:2:0 or 4:0:0, the number of channels) and its frame
header (one shown key frame of the sequence header's size: dav1d decodes the size the frame
header codes), both parsed by :mod:`abcodec.av1_headers` from the OBUs :mod:`abcodec.obu` frames,
so nothing large is allocated for a hostile stream, then rebuilds the minimal AVIF file that
libavif itself writes (:func:`abcodec.avif_boxes.avif_file`) and lets Pillow (libavif + dav1d)
decode it.

Pixels are the same as from Pillow's own file: the rebuilt boxes carry the same properties, and
colour comes from the ``colr`` box, which is always written (§12), never from the sequence
header. Every problem raises :class:`~abcodec.container.AbcError`, its message starting
``BASE:``.

numpy is imported by the functions that take or return arrays, not with the module:
:func:`decode_image` hands back a PIL image, and a file that is nothing but its frame decodes
through it without numpy's import (:mod:`abcodec.decoder`).
"""

from __future__ import annotations

import contextlib
import io
import numbers
import os
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

from PIL import Image

from .av1_headers import parse_headers
from .avif_boxes import avif_file, primary_item_data
from .container import AbcEncoderError, AbcError
from .obu import TEMPORAL_DELIMITER

if TYPE_CHECKING:
    import numpy as np

# ---------------------------------------------------------------------------------------------
# Encoder settings

QUANTIZER_RANGE = (0, 63)
"""§12. libaom's quantizer scale (AOME_SET_CQ_LEVEL): 64 steps, each ~6-7 % in bytes; 0 codes
the 4:2:0 / 4:0:0 samples losslessly. Pillow's 0..100 quality has no more outputs than these."""

SPEED_RANGE = (0, 10)
"""§12. libavif's speed scale; libavif maps it onto libaom's cpu-used 0..9, so 10 codes as 9."""

DEFAULT_SPEED = 6
"""§12. libavif's own default speed; the owner will measure speed against size and set it."""

MAX_THREADS = 64
"""libaom refuses more worker threads than this (MAX_NUM_THREADS); libavif clamps to it."""

AUTOTILING = False
"""§12. One tile where AV1 allows it (a tile is at most 4096 pixels wide). libavif's automatic
tiling splits a Kodak image into 2 tile columns, which costs about 1 % of the bytes (kodim23,
quantizer 40, speed 6: 14110 against 13962 bytes) for a faster multi-threaded decode that a
small base layer does not need."""

RATE_GUIDE_BLOCK = 16
"""libaom's rate guide (its options ``enable-rate-guide-deltaq`` and ``rate-distribution-info``,
with ``deltaq-mode`` 3) reads a desired rate for every 16×16 block of the frame, ⌈H/16⌉ rows of
⌈W/16⌉ numbers in raster order, from a text file, and gives each superblock a quantizer offset
(within ±39 of base_q_idx) from the ratio of the rates asked for there to its own estimate
(av1/encoder/allintra_vis.c). It is how an importance map reaches the bitstream (base.py): the
offsets are coded in the frame (the AV1 spec's delta_q_params and delta_qindex), so any decoder
reads them."""

QINDEX_FOR_QUANTIZER = tuple(4 * q for q in range(62)) + (249, 255)
"""§12. libaom's quantizer_to_qindex (av1/encoder/av1_quantize.c): the base_q_idx (AV1 spec
§5.9.12) that each quantizer codes as in the frame header. :func:`encode` checks it, so that a
libavif or libaom that maps quality to quantizer differently fails loudly instead of changing
the rate silently."""

QUALITY_FOR_QUANTIZER_IQ = (
    100, 99, 98, 96, 95, 94, 92, 91, 90, 88, 87, 86, 84, 83, 82, 80,
    79, 78, 76, 75, 74, 72, 71, 70, 68, 67, 66, 64, 63, 62, 60, 59,
    58, 56, 55, 54, 52, 50, 49, 47, 45, 44, 42, 40, 39, 37, 35, 34,
    32, 30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 3, 0,
)
"""§12. The lowest Pillow quality for each quantizer (the index) when libavif ≥ 1.4.0 drives
libaom ≥ 3.13 in all-intra mode (Pillow's wheels from 12.2): libavif then tunes for image
quality (tune=iq) and maps quality through its piecewise table (``tuneIqQualityToQuantizer`` in
libavif's src/codec_aom.c), not linearly."""

QUALITY_FOR_QUANTIZER_LINEAR = (
    100, 98, 97, 95, 93, 92, 90, 89, 87, 85, 84, 82, 81, 79, 77, 76,
    74, 73, 71, 70, 68, 66, 65, 63, 62, 60, 58, 57, 55, 54, 52, 51,
    49, 47, 46, 44, 43, 41, 39, 38, 36, 35, 33, 31, 30, 28, 27, 25,
    24, 22, 20, 19, 17, 16, 14, 12, 11, 9, 8, 6, 4, 3, 1, 0,
)
"""§12. The lowest Pillow quality for each quantizer with older libavif or libaom (Pillow's
wheels 11.3 to 12.1 have libavif 1.3.0), which map quality q to quantizer
((100 - q) × 63 + 50) // 100."""

TUNE_IQ_LIBAVIF = (1, 4, 0)
TUNE_IQ_LIBAOM = (3, 13, 0)
"""First libavif and libaom versions that code still images with tune=iq (libavif's codec_aom.c)."""

MIN_LIBAVIF = (1, 3, 0)
"""Pillow decodes a 4:0:0 AVIF as mode L only when built with libavif 1.3.0 or later (src/_avif.c);
earlier builds hand back RGB."""

# ---------------------------------------------------------------------------------------------
# Limits

MAX_SIDE = 32768
"""§12. Largest frame width or height: libavif's default decoder limit (imageDimensionLimit), so a
larger stream could not be decoded by Pillow anyway; AV1 itself allows 65536."""

MAX_PIXELS = 16384 * 16384
"""§12. Largest width × height: libavif's default decoder limit (imageSizeLimit)."""


# ---------------------------------------------------------------------------------------------
# Pillow's AVIF support


def require_avif(*, encoder: bool = True, decoder: bool = True) -> None:
    """Refuse early, in one sentence, when this Pillow cannot code AV1 the way this module does.

    ``encoder`` needs libaom, ``decoder`` dav1d; both need libavif 1.3 or later (grey decodes as
    mode L). Pillow's own wheels, 11.3 and later, have all three.
    """
    from PIL import features

    hint = "install Pillow 11.3 or later from its PyPI wheels, which bundle libavif with aom and dav1d"
    if not features.check("avif"):
        msg = f"BASE: this Pillow has no AVIF support; {hint}"
        raise AbcError(msg)
    from PIL import _avif

    version = _version_tuple(_avif.libavif_version)
    if version < MIN_LIBAVIF:
        msg = f"BASE: this Pillow's libavif is {_avif.libavif_version}, older than 1.3.0; {hint}"
        raise AbcError(msg)
    if encoder and not _avif.encoder_codec_available("aom"):
        msg = f"BASE: this Pillow's libavif has no aom encoder ({_avif.codec_versions()}); {hint}"
        raise AbcError(msg)
    if decoder and not _avif.decoder_codec_available("dav1d"):
        msg = f"BASE: this Pillow's libavif has no dav1d decoder ({_avif.codec_versions()}); {hint}"
        raise AbcError(msg)


def _version_tuple(text: str) -> tuple[int, ...]:
    """'3.14.1' or '1.5.3-0-gb546257' -> (3, 14, 1); unreadable parts count as 0."""
    parts = []
    for part in text.split("-")[0].split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def quality_table() -> tuple[int, ...]:
    """The Pillow quality for each quantizer with the libavif and libaom that Pillow loaded."""
    from PIL import AvifImagePlugin, _avif

    aom = AvifImagePlugin.get_codec_version("aom") or "0"
    if _version_tuple(_avif.libavif_version) >= TUNE_IQ_LIBAVIF and _version_tuple(aom) >= TUNE_IQ_LIBAOM:
        return QUALITY_FOR_QUANTIZER_IQ
    return QUALITY_FOR_QUANTIZER_LINEAR


# ---------------------------------------------------------------------------------------------
# Encoder


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"BASE: {name} must be an integer in {low}..{high}, got {value!r}"
        raise AbcError(msg)
    if not low <= value <= high:
        msg = f"BASE: {name} {value} outside {low}..{high}"
        raise AbcError(msg)
    return int(value)


def _check_image(image: object) -> bool:
    """True for grey (H, W), False for RGB (H, W, 3); sizes checked by division (§12 limits)."""
    import numpy as np

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        msg = f"BASE: image must be a uint8 numpy array, got {kind}"
        raise AbcError(msg)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        msg = f"BASE: image shape {image.shape} is neither (H, W) grey nor (H, W, 3) RGB"
        raise AbcError(msg)
    height, width = image.shape[:2]
    _check_int("image width", width, 1, MAX_SIDE)
    _check_int("image height", height, 1, MAX_SIDE)
    if height > MAX_PIXELS // width:
        msg = f"BASE: image {width}x{height} exceeds the {MAX_PIXELS} pixel limit"
        raise AbcError(msg)
    return image.ndim == 2


def encode(image: np.ndarray, quantizer: int, speed: int = DEFAULT_SPEED, threads: int = 1,
           rate_guide: np.ndarray | None = None) -> bytes:
    """Code ``image`` (uint8, (H, W) grey or (H, W, 3) RGB) as one AV1 intra frame; return its OBUs.

    Grey is coded 4:0:0, RGB as BT.601 YCbCr 4:2:0, both full range, 8-bit. The stream is what
    :func:`decode` accepts, checked here: a libavif that changes its defaults fails now, not at
    decode time. ``threads`` changes the bytes (libaom codes differently with 1 and with 2 or more
    threads; every count from 2 to 8 gave the same bytes), so pick one value for reproducible files.
    ``rate_guide`` (see ``RATE_GUIDE_BLOCK``) lets the quantizer vary around ``quantizer`` by region.
    """
    import numpy as np

    with rate_guide_options(rate_guide, np.shape(image)[:2]) as advanced:
        obus = primary_item_data(encode_avif(image, quantizer, speed, threads, advanced))
    if obus.startswith(TEMPORAL_DELIMITER):
        obus = obus[len(TEMPORAL_DELIMITER):]
    header, frame = parse_headers(obus)
    height, width = image.shape[:2]
    grey = image.ndim == 2
    if (header.width, header.height) != (width, height) or header.monochrome != grey:
        msg = (f"BASE: libavif coded a {width}x{height} {'grey' if grey else 'RGB'} image as a "
               f"{header.width}x{header.height} {'monochrome' if header.monochrome else 'colour'} frame")
        raise AbcError(msg)
    if frame.base_q_idx != QINDEX_FOR_QUANTIZER[quantizer]:
        from PIL import _avif

        msg = (f"BASE: quantizer {quantizer} was coded as base_q_idx {frame.base_q_idx}, expected "
               f"{QINDEX_FOR_QUANTIZER[quantizer]}: this libavif {_avif.libavif_version} "
               f"({_avif.codec_versions()}) maps quality to quantizer in a way this module does not know")
        raise AbcError(msg)
    return obus


def encode_avif(image: np.ndarray, quantizer: int, speed: int = DEFAULT_SPEED, threads: int = 1,
                advanced: dict[str, str] | None = None) -> bytes:
    """The whole AVIF file Pillow writes for these settings, which :func:`encode` takes its OBUs
    from; public so that tests and size reports can compare with it. ``advanced`` are libaom
    options passed through Pillow (``tune``, ``deltaq-mode``, ...): :func:`encode` passes the rate
    guide's, benchmarks.av1_options others to compare encoder settings."""
    require_avif(decoder=False)
    quantizer = _check_int("quantizer", quantizer, *QUANTIZER_RANGE)
    speed = _check_int("speed", speed, *SPEED_RANGE)
    threads = _check_int("threads", threads, 1, MAX_THREADS)
    grey = _check_image(image)
    import numpy as np

    picture = Image.fromarray(np.ascontiguousarray(image))
    buffer = io.BytesIO()
    try:
        picture.save(
            buffer, "AVIF", quality=quality_table()[quantizer], speed=speed, max_threads=threads,
            codec="aom", subsampling="4:0:0" if grey else "4:2:0", range="full",
            autotiling=AUTOTILING, tile_rows=0, tile_cols=0, advanced=advanced or None,
        )
    except (OSError, ValueError, RuntimeError, MemoryError) as e:
        msg = f"BASE: the AVIF encoder failed ({type(e).__name__}: {e})"
        raise AbcEncoderError(msg) from e
    return buffer.getvalue()


def rate_guide_shape(size: tuple[int, int]) -> tuple[int, int]:
    """(rows, columns) of the rate guide of a frame of size (H, W): one value per 16×16 block."""
    return (-(-size[0] // RATE_GUIDE_BLOCK), -(-size[1] // RATE_GUIDE_BLOCK))


@contextlib.contextmanager
def rate_guide_options(guide: np.ndarray | None, size: tuple[int, int]) -> Iterator[dict[str, str] | None]:
    """The libaom options that hand it ``guide`` (a file it reads while coding, removed after), or
    None for no guide. A guide of the wrong shape or with a value that is not positive and finite
    is refused: libaom would silently code the whole frame at its coarsest offset."""
    if guide is None:
        yield None
        return
    import numpy as np

    guide = np.asarray(guide, dtype=np.float64)
    if guide.shape != rate_guide_shape(size) or not np.isfinite(guide).all() or guide.min() <= 0:
        msg = (f"BASE: a rate guide for a {size[1]}x{size[0]} frame must be {rate_guide_shape(size)} positive "
               f"numbers, got shape {guide.shape}")
        raise AbcError(msg)
    descriptor, path = tempfile.mkstemp(prefix="abcodec-rate-", suffix=".txt")
    try:
        with os.fdopen(descriptor, "w") as stream:
            stream.write(" ".join(f"{value:.6g}" for value in guide.ravel()))
        yield {"deltaq-mode": "3", "enable-rate-guide-deltaq": "1", "rate-distribution-info": path}
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# ---------------------------------------------------------------------------------------------
# Decoder


def decode(obus: bytes, channels: int, max_size: tuple[int, int]) -> np.ndarray:
    """Decode a stream from :func:`encode`: uint8 (h, w) for ``channels`` 1, (h, w, 3) for 3."""
    import numpy as np

    return np.array(decode_image(obus, channels, max_size))


def decode_image(obus: bytes, channels: int, max_size: tuple[int, int]) -> Image.Image:
    """Decode a stream from :func:`encode` to a PIL image, L for ``channels`` 1, RGB for 3: what a
    thumbnail takes as it is, without a copy through numpy (0.08 s at 12 MP).

    ``max_size`` is the (width, height) the frame may not exceed. The sequence header is checked
    against it, the module's limits and ``channels``, and the frame header against the sequence
    header (:func:`parse_headers`), before anything is decoded; Pillow's decompression-bomb limit
    is not consulted, since the caller has bounded the size already.
    """
    require_avif(encoder=False)
    if isinstance(channels, bool) or channels not in (1, 3):
        msg = f"BASE: channels {channels!r} is not 1 (grey) or 3 (RGB)"
        raise AbcError(msg)
    if not (isinstance(max_size, tuple) and len(max_size) == 2):
        msg = f"BASE: max_size {max_size!r} is not a (width, height) tuple"
        raise AbcError(msg)
    max_width = _check_int("max_size width", max_size[0], 1, 1 << 31)
    max_height = _check_int("max_size height", max_size[1], 1, 1 << 31)
    header, _ = parse_headers(obus)
    size = f"{header.width}x{header.height}"
    if header.width > max_width or header.height > max_height:
        msg = f"BASE: AV1 frame {size} is larger than the image, {max_width}x{max_height}"
        raise AbcError(msg)
    if header.width > MAX_SIDE or header.height > MAX_SIDE or header.height > MAX_PIXELS // header.width:
        msg = f"BASE: AV1 frame {size} exceeds the limits ({MAX_SIDE} a side, {MAX_PIXELS} pixels)"
        raise AbcError(msg)
    if header.monochrome != (channels == 1):
        found = "monochrome (4:0:0)" if header.monochrome else "colour (4:2:0)"
        msg = f"BASE: AV1 stream is {found}, but {channels} channel{'s' if channels > 1 else ''} expected"
        raise AbcError(msg)
    mode = "L" if channels == 1 else "RGB"
    picture = _pillow_decode(avif_file(obus, header))
    # libavif sizes the image by the rebuilt file's ispe, whatever the size of the frame dav1d
    # decoded (a larger frame is cropped, a smaller one read at the wrong stride): checking the
    # frame header above is what bounds the frame; this checks what Pillow hands back.
    if (picture.mode, picture.size) != (mode, (header.width, header.height)):
        msg = (f"BASE: AV1 stream decoded to {picture.mode} {picture.size[0]}x{picture.size[1]}, "
               f"expected {mode} {size} from its headers")
        raise AbcError(msg)
    return picture


def _pillow_decode(avif: bytes) -> Image.Image:
    """Decode with Pillow's AVIF plugin class directly: no format sniffing, and no
    decompression-bomb warning or error (that check lives in Image.open only)."""
    from PIL import AvifImagePlugin

    try:
        with AvifImagePlugin.AvifImageFile(io.BytesIO(avif)) as picture:
            picture.load()
            image = picture._new(picture.im)  # a plain Image on the same pixels: not "AVIF", no copy
            image.info = {}  # libavif's timing fields describe the rebuilt AVIF file, not the image
            return image
    except Exception as e:  # libavif and dav1d report damage as OSError, ValueError, SyntaxError, ...
        msg = f"BASE: AV1 stream could not be decoded ({type(e).__name__}: {e})"
        raise AbcError(msg) from e
