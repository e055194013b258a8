"""The ISO BMFF boxes of an AVIF file (HEIF, AV1-ISOBMFF): the one reader and the one writer the
AV1 base layer needs (format_spec/abc.md §12).

:func:`primary_item_data` takes the primary item's bytes, the AV1 OBUs, out of the file Pillow's
AVIF encoder (libavif) writes; :func:`avif_file` writes the minimal file libavif itself writes
around such a stream, so that Pillow (libavif + dav1d) decodes a base layer stored without the
~275 bytes of boxes. Both know only the forms libavif writes; anything else raises
:class:`~abcodec.container.AbcError`, its message starting ``BASE:``.
"""

from __future__ import annotations

import struct

from .av1_headers import CP_BT_709, MC_BT_601, TC_SRGB, SequenceHeader
from .container import AbcError
from .obu import MAX_OBU_SIZE

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

