"""One AV1 intra frame as a bare OBU stream, coded and decoded through Pillow's AVIF support
(format_spec/abc.md §12).

This module knows bytes and pixels of AV1, nothing of the rest of the codec. :func:`encode` lets
Pillow's AVIF encoder (libavif + libaom) code a grey or RGB image as a still picture and keeps
only the AV1 bitstream of the primary item, the OBUs that the AVIF file's ``mdat`` holds, without
the ~275 bytes of HEIF boxes around it. :func:`decode` checks the stream's sequence header first
(its size against the caller's bound, 8-bit, still picture, 4:2:0 or 4:0:0, the number of
channels) and its frame header (one shown key frame of the sequence header's size: dav1d decodes
the size the frame header codes), so nothing large is allocated for a hostile stream, then
rebuilds the minimal AVIF file that libavif itself writes (:func:`avif_file`) and lets Pillow
(libavif + dav1d) decode it.

Pixels are the same as from Pillow's own file: the rebuilt boxes carry the same properties, and
colour comes from the ``colr`` box, which this module always writes (§12), never from the
sequence header. Every problem raises :class:`~abcodec.container.AbcError`, its message starting
``BASE:``.
"""

from __future__ import annotations

import contextlib
import io
import numbers
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .container import AbcEncoderError, AbcError

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

MAX_OBUS = 64
"""§12. Most OBUs in a stream. libaom writes 3 for a still picture (temporal delimiter, sequence
header, frame); the bound keeps a stream of tiny padding OBUs from making the parser spin."""

MAX_LEB128_BYTES = 8
"""AV1 spec §4.10.5: leb128() reads at most 8 bytes."""

MAX_OBU_SIZE = (1 << 32) - 1
"""AV1 spec §4.10.5: a leb128 value (obu_size) is at most 2³² − 1."""

# ---------------------------------------------------------------------------------------------
# AV1 syntax (AV1 spec §6.2.2 obu_type, §6.4 colour, §5.9.15 tiles)

OBU_SEQUENCE_HEADER = 1
OBU_TEMPORAL_DELIMITER = 2
OBU_FRAME_HEADER = 3
OBU_TILE_GROUP = 4
OBU_METADATA = 5
OBU_FRAME = 6
OBU_REDUNDANT_FRAME_HEADER = 7
OBU_TILE_LIST = 8
OBU_PADDING = 15

OBU_NAMES = {
    OBU_SEQUENCE_HEADER: "sequence header", OBU_TEMPORAL_DELIMITER: "temporal delimiter",
    OBU_FRAME_HEADER: "frame header", OBU_TILE_GROUP: "tile group", OBU_METADATA: "metadata",
    OBU_FRAME: "frame", OBU_REDUNDANT_FRAME_HEADER: "redundant frame header",
    OBU_TILE_LIST: "tile list", OBU_PADDING: "padding",
}
"""AV1 spec §6.2.2; types 0 and 9..14 are reserved and refused."""

OBUS_AFTER_SEQUENCE_HEADER = (OBU_FRAME_HEADER, OBU_TILE_GROUP, OBU_METADATA, OBU_FRAME,
                              OBU_REDUNDANT_FRAME_HEADER, OBU_PADDING)
"""§12. What may follow the sequence header. A temporal delimiter there starts a second temporal
unit; a tile list belongs to large-scale-tile decoding, which no image decoder does."""

TEMPORAL_DELIMITER = bytes([OBU_TEMPORAL_DELIMITER << 3 | 0x02, 0])
"""The 2-byte temporal delimiter OBU libaom starts every temporal unit with. :func:`encode`
drops it: it carries nothing, and libavif + dav1d decode the item without it."""

CP_BT_709 = 1
TC_SRGB = 13
MC_BT_601 = 6
MC_IDENTITY = 0
"""AV1 spec §6.4.2 colour codes (the same as ISO/IEC 23091-4 CICP)."""

FRAME_TYPES = ("KEY_FRAME", "INTER_FRAME", "INTRA_ONLY_FRAME", "SWITCH_FRAME")
"""AV1 spec §6.8.2 frame_type, by value; a base layer is one KEY_FRAME (0)."""

SELECT_SCREEN_CONTENT_TOOLS = 2
SELECT_INTEGER_MV = 2
"""AV1 spec §3: the sequence header leaves screen content tools, and integer motion vectors, to
each frame header (what a reduced still picture header implies)."""

MAX_TILE_WIDTH = 4096
MAX_TILE_AREA = 4096 * 2304
MAX_TILE_COLS = 64
MAX_TILE_ROWS = 64
"""AV1 spec §3 constants used by tile_info() (§5.9.15)."""

# ---------------------------------------------------------------------------------------------
# The rebuilt AVIF file (libavif 1.4's src/write.c layout, AV1-ISOBMFF, HEIF)

NCLX_PRIMARIES = CP_BT_709
NCLX_TRANSFER = TC_SRGB
NCLX_MATRIX = MC_BT_601
NCLX_FULL_RANGE = 1
"""§12. The colour every base layer is decoded with, as Pillow writes it: sRGB primaries and
transfer, BT.601 matrix, full range (the ``colr`` box libavif writes for Pillow, grey included).
libavif takes colour from this box, so the sequence header's colour fields are never used."""

AV1C_MARKER_VERSION = 0x81
"""AV1-ISOBMFF §2.3.3: marker bit 1 and version 1 in the av1C box's first byte."""

ITEM_ID = 1
ITEM_NAME = b"Color\x00"
"""The primary item's id and name, as libavif writes them."""

ESSENTIAL = 0x80
"""ipma association flag: a reader must understand the property (libavif marks av1C so)."""

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


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
    from PIL import Image

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
# ISO BMFF boxes: the one reader (of libavif's output) and the one writer (of the rebuilt file)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end], bounds checked."""
    boxes = []
    offset = start
    while offset < end:
        if end - offset < 8:
            msg = f"BASE: {end - offset} bytes at offset {offset} are too few for a box"
            raise AbcError(msg)
        size, box_type = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if end - offset < 16:
                msg = f"BASE: box {box_type!r} at offset {offset} is truncated"
                raise AbcError(msg)
            (size,) = _U64.unpack_from(data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if not header <= size <= end - offset:
            msg = f"BASE: box {box_type!r} at offset {offset} has size {size}, {end - offset} bytes remain"
            raise AbcError(msg)
        boxes.append((box_type, offset + header, offset + size))
        offset += size
    return boxes


def _only(boxes: list[tuple[bytes, int, int]], box_type: bytes, where: str) -> tuple[int, int]:
    found = [(start, end) for kind, start, end in boxes if kind == box_type]
    if len(found) != 1:
        msg = f"BASE: {len(found)} {box_type.decode()} boxes in {where}, expected 1"
        raise AbcError(msg)
    return found[0]


class _Reader:
    """Big-endian fields of one box payload; running past its end is an AbcError."""

    def __init__(self, data: bytes, start: int, end: int, box: str) -> None:
        self.data, self.offset, self.end, self.box = data, start, end, box

    def uint(self, size: int) -> int:
        if size == 0:
            return 0
        if self.end - self.offset < size:
            msg = f"BASE: {self.box} box is truncated"
            raise AbcError(msg)
        value = int.from_bytes(self.data[self.offset : self.offset + size], "big")
        self.offset += size
        return value

    def take(self, size: int) -> bytes:
        start = self.offset
        self.uint(size)
        return self.data[start : self.offset]


def primary_item_data(avif: bytes) -> bytes:
    """The primary item's bytes in an AVIF file (HEIF: pitm, iinf, iloc), checked to be 'av01'.

    Read for libavif's own output, so it handles the ISO BMFF forms libavif writes (iloc versions
    0-2, construction method 0, extents in an mdat of this file) and refuses anything else.
    """
    top = _boxes(avif, 0, len(avif))
    if not top or top[0][0] != b"ftyp" or avif[top[0][1] : top[0][1] + 4] != b"avif":
        msg = "BASE: the AVIF encoder's output does not start with an ftyp box of brand 'avif'"
        raise AbcError(msg)
    meta_start, meta_end = _only(top, b"meta", "the file")
    meta = _boxes(avif, meta_start + 4, meta_end)  # meta is a FullBox: version and flags first
    reader = _Reader(avif, *_only(meta, b"pitm", "meta"), "pitm")
    version = reader.uint(4) >> 24
    primary = reader.uint(2 if version == 0 else 4)
    if _item_type(avif, *_only(meta, b"iinf", "meta"), primary) != b"av01":
        msg = f"BASE: the AVIF encoder's primary item {primary} is not an AV1 image item ('av01')"
        raise AbcError(msg)
    extents = _item_extents(avif, *_only(meta, b"iloc", "meta"), primary)
    mdats = [(start, end) for kind, start, end in top if kind == b"mdat"]
    for offset, length in extents:
        if not any(start <= offset and offset + length <= end for start, end in mdats):
            msg = f"BASE: primary item extent {offset}+{length} is not inside an mdat box"
            raise AbcError(msg)
    return b"".join(avif[offset : offset + length] for offset, length in extents)


def _item_type(data: bytes, start: int, end: int, item_id: int) -> bytes:
    """iinf (ISO/IEC 14496-12 §8.11.6): the item_type of the item's infe (version 2 or 3)."""
    reader = _Reader(data, start, end, "iinf")
    version = reader.uint(4) >> 24
    count = reader.uint(2 if version == 0 else 4)
    entries = _boxes(data, reader.offset, end)
    if len(entries) != count:
        msg = f"BASE: iinf box lists {count} items but holds {len(entries)} boxes"
        raise AbcError(msg)
    for kind, entry_start, entry_end in entries:
        entry = _Reader(data, entry_start, entry_end, "infe")
        entry_version = entry.uint(4) >> 24
        if kind != b"infe" or entry_version not in (2, 3):
            continue
        entry_id = entry.uint(2 if entry_version == 2 else 4)
        entry.uint(2)  # item_protection_index
        item_type = entry.take(4)
        if entry_id == item_id:
            return item_type
    msg = f"BASE: the AVIF encoder's output has no item info for item {item_id}"
    raise AbcError(msg)


def _item_extents(data: bytes, start: int, end: int, item_id: int) -> list[tuple[int, int]]:
    """iloc (ISO/IEC 14496-12 §8.11.3): the item's (file offset, length) extents."""
    reader = _Reader(data, start, end, "iloc")
    version = reader.uint(4) >> 24
    sizes = reader.uint(2)
    offset_size, length_size, base_offset_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version in (1, 2) else 0
    field_sizes = (offset_size, length_size, base_offset_size, index_size)
    if version > 2 or any(size not in (0, 4, 8) for size in field_sizes):
        msg = f"BASE: iloc box version {version} or field sizes {sizes:#06x} are not valid"
        raise AbcError(msg)
    count = reader.uint(4 if version == 2 else 2)
    for _ in range(count):
        current = reader.uint(4 if version == 2 else 2)
        method = reader.uint(2) & 15 if version in (1, 2) else 0
        reference = reader.uint(2)
        base = reader.uint(base_offset_size)
        extents = []
        for _ in range(reader.uint(2)):
            reader.uint(index_size)
            offset = base + reader.uint(offset_size)
            length = reader.uint(length_size)
            extents.append((offset, length))
        if current == item_id:
            if method != 0 or reference != 0 or not extents or any(length == 0 for _, length in extents):
                msg = (f"BASE: iloc stores item {item_id} with construction method {method}, data "
                       f"reference {reference} and extents {extents}; expected file offsets in this file")
                raise AbcError(msg)
            return extents
    msg = f"BASE: iloc has no location for item {item_id}"
    raise AbcError(msg)


def _box(box_type: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return _U32.pack(8 + len(body)) + box_type + body


def _full_box(box_type: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(box_type, _U32.pack(version << 24 | flags), *payload)


def av1c(header: SequenceHeader) -> bytes:
    """The 4-byte AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3) of ``header``, no configOBUs,
    no initial_presentation_delay: what libavif writes."""
    return bytes((
        AV1C_MARKER_VERSION,
        header.seq_profile << 5 | header.seq_level_idx_0,
        header.seq_tier_0 << 7 | header.high_bitdepth << 6 | header.twelve_bit << 5 | header.monochrome << 4
        | header.subsampling_x << 3 | header.subsampling_y << 2 | header.chroma_sample_position,
        0,
    ))


def avif_file(obus: bytes, header: SequenceHeader) -> bytes:
    """The minimal AVIF file around ``obus`` whose parsed sequence header is ``header``.

    Box for box what libavif 1.4 writes for a Pillow still image (src/write.c): ftyp, meta (hdlr
    'pict', pitm, iloc, iinf with one 'av01' infe, iprp with ispe, pixi, av1C, colr nclx and ipma
    marking av1C essential), mdat. Fed the OBUs with their temporal delimiter it gives libavif's
    file byte for byte; the tests check that.
    """
    if len(obus) > MAX_OBU_SIZE:
        msg = f"BASE: {len(obus)} bytes of OBUs do not fit a 32-bit iloc extent"
        raise AbcError(msg)
    brands = [b"avif", b"mif1", b"miaf"]
    if not header.monochrome and (header.subsampling_x, header.subsampling_y) == (1, 1):
        brands.append(b"MA1B")  # AVIF baseline profile: 8- or 10-bit 4:2:0 (libavif's condition)
    ftyp = _box(b"ftyp", b"avif", _U32.pack(0), *brands)
    channels = 1 if header.monochrome else 3
    properties = _box(
        b"ipco",
        _full_box(b"ispe", 0, 0, _U32.pack(header.width), _U32.pack(header.height)),
        _full_box(b"pixi", 0, 0, bytes([channels] + [header.bit_depth] * channels)),
        _box(b"av1C", av1c(header)),
        _box(b"colr", b"nclx", _U16.pack(NCLX_PRIMARIES), _U16.pack(NCLX_TRANSFER), _U16.pack(NCLX_MATRIX),
             bytes([NCLX_FULL_RANGE << 7])),
    )
    # Property indices are 1-based in ipco order: ispe, pixi, av1C (essential), colr.
    ipma = _full_box(b"ipma", 0, 0, _U32.pack(1), _U16.pack(ITEM_ID), bytes((4, 1, 2, ESSENTIAL | 3, 4)))

    def meta(mdat_offset: int) -> bytes:
        return _full_box(
            b"meta", 0, 0,
            _full_box(b"hdlr", 0, 0, _U32.pack(0), b"pict", bytes(12), b"\x00"),
            _full_box(b"pitm", 0, 0, _U16.pack(ITEM_ID)),
            _full_box(b"iloc", 0, 0, bytes((0x44, 0x00)), _U16.pack(1), _U16.pack(ITEM_ID), _U16.pack(0),
                      _U16.pack(1), _U32.pack(mdat_offset), _U32.pack(len(obus))),
            _full_box(b"iinf", 0, 0, _U16.pack(1),
                      _full_box(b"infe", 2, 0, _U16.pack(ITEM_ID), _U16.pack(0), b"av01", ITEM_NAME)),
            _box(b"iprp", properties, ipma),
        )

    offset = len(ftyp) + len(meta(0)) + 8  # meta's size does not depend on the offset's value
    return ftyp + meta(offset) + _box(b"mdat", obus)


# ---------------------------------------------------------------------------------------------
# AV1 bitstream: OBU framing (AV1 spec §5.3) and the sequence header (§5.5)


class _Bits:
    """AV1's f(n), uvlc() and ns(n) (spec §4.10) over bytes [start, end) of one OBU payload.

    Reading past the end raises AbcError naming the field: a truncated or lying header.
    """

    def __init__(self, data: bytes, start: int, end: int, what: str) -> None:
        self.data, self.position, self.end, self.what = data, 8 * start, 8 * end, what

    def f(self, n: int, field: str) -> int:
        if self.position + n > self.end:
            msg = f"BASE: {self.what} ends inside {field}"
            raise AbcError(msg)
        value = 0
        for _ in range(n):
            byte = self.data[self.position >> 3]
            value = value << 1 | (byte >> (7 - (self.position & 7))) & 1
            self.position += 1
        return value

    def uvlc(self, field: str) -> int:
        leading_zeros = 0
        while not self.f(1, field):
            leading_zeros += 1
            if leading_zeros >= 32:  # uvlc() would give 2³² − 1, more than the field may hold
                msg = f"BASE: {self.what} field {field} has 32 or more leading zeros"
                raise AbcError(msg)
        return self.f(leading_zeros, field) + (1 << leading_zeros) - 1

    def ns(self, n: int, field: str) -> int:
        w = n.bit_length()
        m = (1 << w) - n
        v = self.f(w - 1, field)
        if v < m:
            return v
        return (v << 1) - m + self.f(1, field)

    def trailing_bits(self) -> None:
        """trailing_bits() (§5.3.4): a 1 bit, then zero bits up to the end of the OBU."""
        if not self.f(1, "trailing_one_bit"):
            msg = f"BASE: {self.what} has extra data or a damaged end (trailing_one_bit is 0)"
            raise AbcError(msg)
        rest = self.position & 7
        byte = self.position >> 3
        if (rest and self.data[byte] & (0xFF >> rest)) or any(self.data[byte + bool(rest) : self.end >> 3]):
            msg = f"BASE: {self.what} has non-zero bits after its trailing one bit"
            raise AbcError(msg)


def _as_bytes(obus: object) -> bytes:
    if not isinstance(obus, (bytes, bytearray, memoryview)):
        msg = f"BASE: AV1 stream must be bytes, got {type(obus).__name__}"
        raise AbcError(msg)
    return bytes(obus)


@dataclass(frozen=True)
class _Obu:
    obu_type: int
    payload: int  # offset of the payload's first byte
    end: int
    temporal_id: int = 0  # from the extension header (§5.3.3), 0 without one
    spatial_id: int = 0


def _leb128(data: bytes, offset: int, index: int) -> tuple[int, int]:
    """§4.10.5: (value, offset after it); at most MAX_LEB128_BYTES bytes, value ≤ MAX_OBU_SIZE."""
    value = 0
    for i in range(MAX_LEB128_BYTES):
        if offset + i >= len(data):
            msg = f"BASE: OBU {index} ends inside its obu_size field"
            raise AbcError(msg)
        byte = data[offset + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if value > MAX_OBU_SIZE:
                msg = f"BASE: OBU {index} obu_size {value} exceeds {MAX_OBU_SIZE}"
                raise AbcError(msg)
            return value, offset + i + 1
    msg = f"BASE: OBU {index} obu_size is longer than {MAX_LEB128_BYTES} bytes"
    raise AbcError(msg)


def _split_obus(data: bytes) -> list[_Obu]:
    """§5.3.1-5.3.3: every OBU's header and size, each inside the buffer, nothing left over."""
    obus: list[_Obu] = []
    offset = 0
    while offset < len(data):
        index = len(obus)
        if index == MAX_OBUS:
            msg = f"BASE: more than {MAX_OBUS} OBUs"
            raise AbcError(msg)
        header = data[offset]
        obu_type = header >> 3 & 15
        if header & 0x80:
            msg = f"BASE: OBU {index} at byte {offset}: obu_forbidden_bit is 1"
            raise AbcError(msg)
        if obu_type not in OBU_NAMES:
            msg = f"BASE: OBU {index} at byte {offset}: obu_type {obu_type} is reserved"
            raise AbcError(msg)
        if not header & 0x02:
            msg = f"BASE: OBU {index} at byte {offset}: obu_has_size_field is 0, expected 1"
            raise AbcError(msg)
        extension = header >> 2 & 1  # obu_extension_flag: temporal_id (3 bits), spatial_id (2), reserved (3)
        size_at = offset + 1 + extension
        if size_at > len(data):
            msg = f"BASE: OBU {index} ends inside its extension header"
            raise AbcError(msg)
        layers = data[offset + 1] if extension else 0
        size, payload = _leb128(data, size_at, index)
        if size > len(data) - payload:
            msg = (f"BASE: OBU {index} ({OBU_NAMES[obu_type]}) obu_size {size} runs past the end "
                   f"({len(data) - payload} bytes remain)")
            raise AbcError(msg)
        obus.append(_Obu(obu_type, payload, payload + size, layers >> 5, layers >> 3 & 3))
        offset = payload + size
    return obus


def _check_obu_order(obus: list[_Obu]) -> tuple[_Obu, list[_Obu]]:
    """§12: [temporal delimiter], one sequence header, then one frame; returns the sequence header
    and the OBUs that hold a frame header: the frame's own, then any redundant copies of it."""
    if not obus:
        msg = "BASE: AV1 stream is empty"
        raise AbcError(msg)
    first = 1 if obus[0].obu_type == OBU_TEMPORAL_DELIMITER else 0
    if first and obus[0].end != obus[0].payload:
        msg = f"BASE: temporal delimiter carries {obus[0].end - obus[0].payload} bytes, expected none"
        raise AbcError(msg)
    if len(obus) == first or obus[first].obu_type != OBU_SEQUENCE_HEADER:
        found = f"a {OBU_NAMES[obus[first].obu_type]}" if len(obus) > first else "missing"
        msg = f"BASE: OBU {first} is {found}, expected the sequence header"
        raise AbcError(msg)
    frame_headers: list[_Obu] = []
    tiles = False  # the frame's tiles have started
    for index in range(first + 1, len(obus)):
        obu_type = obus[index].obu_type
        if obu_type not in OBUS_AFTER_SEQUENCE_HEADER:
            msg = f"BASE: OBU {index} is a {OBU_NAMES[obu_type]}, not allowed after the sequence header"
            raise AbcError(msg)
        if obu_type in (OBU_FRAME, OBU_FRAME_HEADER):
            if frame_headers:
                msg = f"BASE: OBU {index} starts a second frame in a still picture"
                raise AbcError(msg)
            tiles = obu_type == OBU_FRAME
            frame_headers.append(obus[index])
        elif obu_type == OBU_REDUNDANT_FRAME_HEADER:
            if not frame_headers:  # AV1 §6.8.1: it repeats an earlier one; dav1d would take it for the first
                msg = f"BASE: OBU {index} is a redundant frame header before the frame header it repeats"
                raise AbcError(msg)
            frame_headers.append(obus[index])
        elif obu_type == OBU_TILE_GROUP:
            if not frame_headers:
                msg = f"BASE: OBU {index} is a tile group before any frame header"
                raise AbcError(msg)
            tiles = True
    if not tiles:
        msg = ("BASE: AV1 stream has no frame (no frame OBU, or frame header and tile group) "
               "after the sequence header")
        raise AbcError(msg)
    return obus[first], frame_headers


@dataclass(frozen=True)
class SequenceHeader:
    """What a still-picture decoder needs from the AV1 sequence header OBU (spec §5.5, §6.4).

    ``width`` and ``height`` are max_frame_width_minus_1 + 1 and max_frame_height_minus_1 + 1;
    the level and tier are those of operating point 0, as av1C records them. The fields after
    ``film_grain_params_present`` are those the frame header's syntax depends on (§5.9.2).
    """

    seq_profile: int
    still_picture: bool
    reduced_still_picture_header: bool
    seq_level_idx_0: int
    seq_tier_0: int
    width: int
    height: int
    use_128x128_superblock: bool
    enable_superres: bool
    bit_depth: int
    high_bitdepth: bool
    twelve_bit: bool
    monochrome: bool
    color_primaries: int
    transfer_characteristics: int
    matrix_coefficients: int
    color_range: int
    subsampling_x: int
    subsampling_y: int
    chroma_sample_position: int
    film_grain_params_present: bool
    frame_width_bits: int
    frame_height_bits: int
    frame_id_length: int
    """idLen, the bits of current_frame_id; 0 without frame_id_numbers_present_flag."""
    seq_force_screen_content_tools: int
    seq_force_integer_mv: int
    order_hint_bits: int
    """OrderHintBits; 0 without enable_order_hint."""
    frame_presentation_time_length: int
    """Bits of temporal_point_info() in a shown frame's header; 0 where there is none."""
    buffer_removal_time_length: int
    """0 without a decoder model (decoder_model_info_present_flag 0)."""
    decoder_model_operating_points: tuple[tuple[int, int], ...]
    """(opNum, operating_point_idc) of each operating point with decoder_model_present_for_this_op."""


def parse_sequence_header(obus: bytes) -> SequenceHeader:
    """Check the OBU framing and order of ``obus`` and parse its sequence header (§5.5).

    Refuses (AbcError naming the field) what :func:`decode` does not decode: a stream that is not
    [temporal delimiter], one sequence header and one frame; a video (still_picture 0); bit depth
    other than 8; 4:4:4 or 4:2:2; and a sequence header that is truncated or has extra bits.
    """
    data = _as_bytes(obus)
    sequence, _ = _check_obu_order(_split_obus(data))
    return _sequence_header(data, sequence)


def _sequence_header(data: bytes, obu: _Obu) -> SequenceHeader:
    bits = _Bits(data, obu.payload, obu.end, "sequence header")
    seq_profile = bits.f(3, "seq_profile")
    if seq_profile > 2:
        msg = f"BASE: sequence header seq_profile {seq_profile} is reserved (0..2)"
        raise AbcError(msg)
    still_picture = bits.f(1, "still_picture")
    reduced = bits.f(1, "reduced_still_picture_header")
    if not still_picture:
        msg = "BASE: sequence header still_picture is 0 (a video), expected 1"
        raise AbcError(msg)
    if reduced:
        points = dict(seq_level_idx_0=bits.f(5, "seq_level_idx[0]"), seq_tier_0=0, frame_presentation_time_length=0,
                      buffer_removal_time_length=0, decoder_model_operating_points=())
    else:
        points = _operating_points(bits)
    width_bits = bits.f(4, "frame_width_bits_minus_1") + 1
    height_bits = bits.f(4, "frame_height_bits_minus_1") + 1
    width = bits.f(width_bits, "max_frame_width_minus_1") + 1
    height = bits.f(height_bits, "max_frame_height_minus_1") + 1
    frame_id_length = 0
    if not reduced and bits.f(1, "frame_id_numbers_present_flag"):
        frame_id_length = bits.f(4, "delta_frame_id_length_minus_2") + 2
        frame_id_length += bits.f(3, "additional_frame_id_length_minus_1") + 1
    use_128x128_superblock = bits.f(1, "use_128x128_superblock")
    bits.f(1, "enable_filter_intra")
    bits.f(1, "enable_intra_edge_filter")
    tools = dict(seq_force_screen_content_tools=SELECT_SCREEN_CONTENT_TOOLS, seq_force_integer_mv=SELECT_INTEGER_MV,
                 order_hint_bits=0)  # what a reduced header implies
    if not reduced:
        tools = _inter_tools(bits)
    enable_superres = bits.f(1, "enable_superres")
    bits.f(1, "enable_cdef")
    bits.f(1, "enable_restoration")
    colour = _color_config(bits, seq_profile)
    film_grain_params_present = bits.f(1, "film_grain_params_present")
    bits.trailing_bits()
    header = SequenceHeader(
        seq_profile=seq_profile, still_picture=bool(still_picture),
        reduced_still_picture_header=bool(reduced), width=width, height=height,
        use_128x128_superblock=bool(use_128x128_superblock), enable_superres=bool(enable_superres),
        film_grain_params_present=bool(film_grain_params_present), frame_width_bits=width_bits,
        frame_height_bits=height_bits, frame_id_length=frame_id_length, **points, **tools, **colour,
    )
    _check_decodable(header)
    return header


def _inter_tools(bits: _Bits) -> dict:
    """The fields of a full sequence header between enable_intra_edge_filter and enable_superres
    (§5.5.1), as SequenceHeader fields: screen content tools, integer MVs, the order hint."""
    for field in ("enable_interintra_compound", "enable_masked_compound", "enable_warped_motion",
                  "enable_dual_filter"):
        bits.f(1, field)
    enable_order_hint = bits.f(1, "enable_order_hint")
    if enable_order_hint:
        bits.f(1, "enable_jnt_comp")
        bits.f(1, "enable_ref_frame_mvs")
    if bits.f(1, "seq_choose_screen_content_tools"):
        seq_force_screen_content_tools = SELECT_SCREEN_CONTENT_TOOLS
    else:
        seq_force_screen_content_tools = bits.f(1, "seq_force_screen_content_tools")
    seq_force_integer_mv = SELECT_INTEGER_MV
    if seq_force_screen_content_tools > 0 and not bits.f(1, "seq_choose_integer_mv"):
        seq_force_integer_mv = bits.f(1, "seq_force_integer_mv")
    order_hint_bits = bits.f(3, "order_hint_bits_minus_1") + 1 if enable_order_hint else 0
    return dict(seq_force_screen_content_tools=seq_force_screen_content_tools,
                seq_force_integer_mv=seq_force_integer_mv, order_hint_bits=order_hint_bits)


def _operating_points(bits: _Bits) -> dict:
    """timing_info, decoder_model_info and operating points of a full sequence header (§5.5.1),
    as SequenceHeader fields: operating point 0's level and tier, and what the decoder model
    adds to the frame header."""
    decoder_model_info_present = 0
    buffer_delay_length = buffer_removal_time_length = frame_presentation_time_length = 0
    if bits.f(1, "timing_info_present_flag"):
        if not bits.f(32, "num_units_in_display_tick") or not bits.f(32, "time_scale"):
            msg = "BASE: sequence header num_units_in_display_tick or time_scale is 0"
            raise AbcError(msg)
        equal_picture_interval = bits.f(1, "equal_picture_interval")
        if equal_picture_interval:
            bits.uvlc("num_ticks_per_picture_minus_1")
        decoder_model_info_present = bits.f(1, "decoder_model_info_present_flag")
        if decoder_model_info_present:
            buffer_delay_length = bits.f(5, "buffer_delay_length_minus_1") + 1
            if not bits.f(32, "num_units_in_decoding_tick"):
                msg = "BASE: sequence header num_units_in_decoding_tick is 0"
                raise AbcError(msg)
            buffer_removal_time_length = bits.f(5, "buffer_removal_time_length_minus_1") + 1
            frame_presentation_time_length = bits.f(5, "frame_presentation_time_length_minus_1") + 1
            if equal_picture_interval:  # temporal_point_info() is only there without it
                frame_presentation_time_length = 0
    initial_display_delay_present = bits.f(1, "initial_display_delay_present_flag")
    level_0 = tier_0 = 0
    with_model = []
    for i in range(bits.f(5, "operating_points_cnt_minus_1") + 1):
        idc = bits.f(12, f"operating_point_idc[{i}]")
        if idc and (not idc & 0xFF or not idc & 0xF00):  # §6.4.1: both a temporal and a spatial layer
            msg = (f"BASE: sequence header operating_point_idc[{i}] {idc:#05x} "
                   "names no temporal or no spatial layer")
            raise AbcError(msg)
        level = bits.f(5, f"seq_level_idx[{i}]")
        tier = bits.f(1, f"seq_tier[{i}]") if level > 7 else 0
        if decoder_model_info_present and bits.f(1, f"decoder_model_present_for_this_op[{i}]"):
            with_model.append((i, idc))
            bits.f(buffer_delay_length, f"decoder_buffer_delay[{i}]")
            bits.f(buffer_delay_length, f"encoder_buffer_delay[{i}]")
            bits.f(1, f"low_delay_mode_flag[{i}]")
        if initial_display_delay_present and bits.f(1, f"initial_display_delay_present_for_this_op[{i}]"):
            bits.f(4, f"initial_display_delay_minus_1[{i}]")
        if i == 0:
            level_0, tier_0 = level, tier
    return dict(seq_level_idx_0=level_0, seq_tier_0=tier_0, frame_presentation_time_length=frame_presentation_time_length,
                buffer_removal_time_length=buffer_removal_time_length, decoder_model_operating_points=tuple(with_model))


def _color_config(bits: _Bits, seq_profile: int) -> dict:
    """color_config() (§5.5.2) as SequenceHeader fields."""
    high_bitdepth = bits.f(1, "high_bitdepth")
    twelve_bit = bits.f(1, "twelve_bit") if seq_profile == 2 and high_bitdepth else 0
    bit_depth = 12 if twelve_bit else 10 if high_bitdepth else 8
    monochrome = bits.f(1, "mono_chrome") if seq_profile != 1 else 0
    primaries, transfer, matrix = 2, 2, 2  # CP_UNSPECIFIED, TC_UNSPECIFIED, MC_UNSPECIFIED
    if bits.f(1, "color_description_present_flag"):
        primaries = bits.f(8, "color_primaries")
        transfer = bits.f(8, "transfer_characteristics")
        matrix = bits.f(8, "matrix_coefficients")
    chroma_sample_position = 0  # CSP_UNKNOWN
    if monochrome:
        color_range = bits.f(1, "color_range")
        subsampling_x = subsampling_y = 1
    elif (primaries, transfer, matrix) == (CP_BT_709, TC_SRGB, MC_IDENTITY):
        color_range, subsampling_x, subsampling_y = 1, 0, 0
    else:
        color_range = bits.f(1, "color_range")
        if seq_profile == 0:
            subsampling_x = subsampling_y = 1
        elif seq_profile == 1:
            subsampling_x = subsampling_y = 0
        elif bit_depth == 12:
            subsampling_x = bits.f(1, "subsampling_x")
            subsampling_y = bits.f(1, "subsampling_y") if subsampling_x else 0
        else:
            subsampling_x, subsampling_y = 1, 0
        if subsampling_x and subsampling_y:
            chroma_sample_position = bits.f(2, "chroma_sample_position")
    if not monochrome:
        bits.f(1, "separate_uv_delta_q")
    return dict(
        bit_depth=bit_depth, high_bitdepth=bool(high_bitdepth), twelve_bit=bool(twelve_bit),
        monochrome=bool(monochrome), color_primaries=primaries, transfer_characteristics=transfer,
        matrix_coefficients=matrix, color_range=color_range, subsampling_x=subsampling_x,
        subsampling_y=subsampling_y, chroma_sample_position=chroma_sample_position,
    )


def _check_decodable(header: SequenceHeader) -> None:
    """§12: an 8-bit 4:2:0 or 4:0:0 still picture, the only streams a base layer may hold."""
    if header.bit_depth != 8:
        msg = f"BASE: sequence header bit depth is {header.bit_depth}, expected 8"
        raise AbcError(msg)
    if not header.monochrome and (header.subsampling_x, header.subsampling_y) != (1, 1):
        layout = "4:4:4" if not header.subsampling_x else "4:2:2" if not header.subsampling_y else "4:4:0"
        msg = f"BASE: sequence header subsampling is {layout}, expected 4:2:0 (or 4:0:0 monochrome)"
        raise AbcError(msg)
    if header.matrix_coefficients == MC_IDENTITY:
        # §6.4.2: MC_IDENTITY requires 4:4:4, which is refused above for colour.
        msg = "BASE: sequence header matrix_coefficients is 0 (identity), which AV1 allows only for 4:4:4"
        raise AbcError(msg)


@dataclass(frozen=True)
class FrameHeader:
    """What this module reads of the frame's uncompressed header (AV1 spec §5.9.2), which it
    parses as far as quantization_params(): a shown key frame of the sequence header's size."""

    frame_size_override: bool
    width: int
    """FrameWidth, which is also UpscaledWidth and RenderWidth: §12 allows no other."""
    height: int
    base_q_idx: int
    """§5.9.12: what :func:`encode` checks the quantizer against."""


def parse_headers(obus: bytes) -> tuple[SequenceHeader, FrameHeader]:
    """Check the OBU framing and order of ``obus``, parse its sequence header (§5.5) and its
    frame header (§5.9.2), and any redundant copies of the latter, each as far as base_q_idx.

    Refuses (AbcError naming the field and its value) what :func:`parse_sequence_header` refuses
    and a frame that is not one shown key frame of exactly the sequence header's size (§12): a
    frame size of its own (frame_size_override_flag), superres, a render size that differs.
    With the sequence header's size checked against the image, this bounds what dav1d decodes.
    """
    data = _as_bytes(obus)
    sequence, frames = _check_obu_order(_split_obus(data))
    header = _sequence_header(data, sequence)
    frame_headers = [_frame_header(data, obu, header) for obu in frames]  # a redundant copy may lie too
    return header, frame_headers[0]


def base_q_idx(obus: bytes, header: SequenceHeader) -> int:
    """The base_q_idx (§5.9.12) of the frame in ``obus``, whose sequence header parses to
    ``header``: which quantizer coded it, what tests of the quality tables read back."""
    data = _as_bytes(obus)
    _, frames = _check_obu_order(_split_obus(data))
    return _frame_header(data, frames[0], header).base_q_idx


def _frame_header(data: bytes, obu: _Obu, header: SequenceHeader) -> FrameHeader:
    """uncompressed_header() (§5.9.2) of a shown key frame, as far as base_q_idx (§5.9.12)."""
    what = "AV1 redundant frame header" if obu.obu_type == OBU_REDUNDANT_FRAME_HEADER else "AV1 frame header"
    bits = _Bits(data, obu.payload, obu.end, what)
    if not header.reduced_still_picture_header:
        _frame_kind(bits, header, what)
    disable_cdf_update = bits.f(1, "disable_cdf_update")
    allow_screen_content_tools = header.seq_force_screen_content_tools
    if allow_screen_content_tools == SELECT_SCREEN_CONTENT_TOOLS:
        allow_screen_content_tools = bits.f(1, "allow_screen_content_tools")
    if allow_screen_content_tools and header.seq_force_integer_mv == SELECT_INTEGER_MV:
        bits.f(1, "force_integer_mv")
    bits.f(header.frame_id_length, "current_frame_id")
    override = 0 if header.reduced_still_picture_header else bits.f(1, "frame_size_override_flag")
    bits.f(header.order_hint_bits, "order_hint")
    _buffer_removal_times(bits, header, obu)
    width, height = header.width, header.height
    if override:  # frame_size()
        width = bits.f(header.frame_width_bits, "frame_width_minus_1") + 1
        height = bits.f(header.frame_height_bits, "frame_height_minus_1") + 1
        if (width, height) != (header.width, header.height):
            msg = (f"BASE: {what} codes a {width}x{height} frame (frame_size_override_flag 1, "
                   f"frame_width_minus_1 {width - 1}, frame_height_minus_1 {height - 1}), but its sequence "
                   f"header declares {header.width}x{header.height}")
            raise AbcError(msg)
    if header.enable_superres and bits.f(1, "use_superres"):  # superres_params()
        msg = (f"BASE: {what} use_superres is 1 (a frame coded narrower and upscaled), which a base layer "
               "may not use: a smaller frame is declared by its sequence header")
        raise AbcError(msg)
    if bits.f(1, "render_and_frame_size_different"):  # render_size()
        render = (bits.f(16, "render_width_minus_1") + 1, bits.f(16, "render_height_minus_1") + 1)
        if render != (width, height):
            msg = (f"BASE: {what} render size {render[0]}x{render[1]} (render_and_frame_size_different 1) "
                   f"differs from its frame size, {width}x{height}")
            raise AbcError(msg)
    if allow_screen_content_tools:  # UpscaledWidth == FrameWidth: no superres
        bits.f(1, "allow_intrabc")
    if not (header.reduced_still_picture_header or disable_cdf_update):
        bits.f(1, "disable_frame_end_update_cdf")
    _tile_info(bits, header)
    return FrameHeader(frame_size_override=bool(override), width=width, height=height,
                       base_q_idx=bits.f(8, "base_q_idx"))


def _frame_kind(bits: _Bits, header: SequenceHeader, what: str) -> None:
    """The fields of a full header before disable_cdf_update (§5.9.2): one shown key frame, or
    AbcError. A still picture has nothing for show_existing_frame to show or an inter frame to
    predict from, and AVIF makes an image item's data a sync sample, whose frame AV1-ISOBMFF
    makes a key frame with show_frame 1."""
    if bits.f(1, "show_existing_frame"):
        msg = f"BASE: {what} show_existing_frame is 1, but a still picture has no earlier frame to show"
        raise AbcError(msg)
    frame_type = bits.f(2, "frame_type")
    if frame_type != 0:
        msg = f"BASE: {what} frame_type is {frame_type} ({FRAME_TYPES[frame_type]}), expected 0 (KEY_FRAME)"
        raise AbcError(msg)
    if not bits.f(1, "show_frame"):
        msg = f"BASE: {what} show_frame is 0 (a hidden frame), expected 1"
        raise AbcError(msg)
    bits.f(header.frame_presentation_time_length, "frame_presentation_time")  # temporal_point_info()
    # A shown key frame: showable_frame 0 and error_resilient_mode 1, neither coded.


def _buffer_removal_times(bits: _Bits, header: SequenceHeader, obu: _Obu) -> None:
    """The decoder model's buffer_removal_time of each operating point that holds the frame's
    layer (§5.9.2), read only to step over them."""
    if not header.buffer_removal_time_length or not bits.f(1, "buffer_removal_time_present_flag"):
        return
    for number, idc in header.decoder_model_operating_points:
        in_temporal_layer = idc >> obu.temporal_id & 1
        in_spatial_layer = idc >> (obu.spatial_id + 8) & 1
        if idc == 0 or (in_temporal_layer and in_spatial_layer):
            bits.f(header.buffer_removal_time_length, f"buffer_removal_time[{number}]")


def _tile_log2(block: int, target: int) -> int:
    k = 0
    while (block << k) < target:
        k += 1
    return k


def _tile_info(bits: _Bits, header: SequenceHeader) -> None:
    """tile_info() (§5.9.15) of a frame of the sequence header's size, read only to step over it."""
    mi_cols = 2 * ((header.width + 7) >> 3)
    mi_rows = 2 * ((header.height + 7) >> 3)
    sb_shift = 5 if header.use_128x128_superblock else 4
    sb_cols = (mi_cols + (1 << sb_shift) - 1) >> sb_shift
    sb_rows = (mi_rows + (1 << sb_shift) - 1) >> sb_shift
    sb_size = sb_shift + 2
    max_tile_width_sb = MAX_TILE_WIDTH >> sb_size
    max_tile_area_sb = MAX_TILE_AREA >> (2 * sb_size)
    min_log2_tile_cols = _tile_log2(max_tile_width_sb, sb_cols)
    max_log2_tile_cols = _tile_log2(1, min(sb_cols, MAX_TILE_COLS))
    max_log2_tile_rows = _tile_log2(1, min(sb_rows, MAX_TILE_ROWS))
    min_log2_tiles = max(min_log2_tile_cols, _tile_log2(max_tile_area_sb, sb_rows * sb_cols))
    if bits.f(1, "uniform_tile_spacing_flag"):
        tile_cols_log2 = min_log2_tile_cols
        while tile_cols_log2 < max_log2_tile_cols and bits.f(1, "increment_tile_cols_log2"):
            tile_cols_log2 += 1
        tile_rows_log2 = max(min_log2_tiles - tile_cols_log2, 0)
        while tile_rows_log2 < max_log2_tile_rows and bits.f(1, "increment_tile_rows_log2"):
            tile_rows_log2 += 1
    else:
        widest, start, tile_cols = 0, 0, 0
        while start < sb_cols:
            size = bits.ns(min(sb_cols - start, max_tile_width_sb), "width_in_sbs_minus_1") + 1
            widest, start, tile_cols = max(widest, size), start + size, tile_cols + 1
        tile_cols_log2 = _tile_log2(1, tile_cols)
        area = (sb_rows * sb_cols) >> (min_log2_tiles + 1) if min_log2_tiles > 0 else sb_rows * sb_cols
        max_tile_height_sb = max(area // widest, 1)
        start, tile_rows = 0, 0
        while start < sb_rows:
            start += bits.ns(min(sb_rows - start, max_tile_height_sb), "height_in_sbs_minus_1") + 1
            tile_rows += 1
        tile_rows_log2 = _tile_log2(1, tile_rows)
    if tile_cols_log2 or tile_rows_log2:
        bits.f(tile_rows_log2 + tile_cols_log2, "context_update_tile_id")
        bits.f(2, "tile_size_bytes_minus_1")


# ---------------------------------------------------------------------------------------------
# Decoder


def decode(obus: bytes, channels: int, max_size: tuple[int, int]) -> np.ndarray:
    """Decode a stream from :func:`encode`: uint8 (h, w) for ``channels`` 1, (h, w, 3) for 3."""
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
