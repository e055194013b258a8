"""AV1 OBU framing (AV1 spec §5.3): the bit reader of §4.10, every OBU's header and size, and the
order of OBUs a base layer may hold (format_spec/abc.md §12).

:func:`split_obus` checks that the OBUs tile the buffer exactly and :func:`check_obu_order` that
they are [temporal delimiter], one sequence header and one frame; :mod:`abcodec.av1_headers`
parses the headers inside them with :class:`BitReader`. Nothing here allocates more than the
stream's own size, so a hostile stream is refused before anything is decoded. Every problem
raises :class:`~abcodec.container.AbcError`, its message starting ``BASE:``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .container import AbcError

# ---------------------------------------------------------------------------------------------
# Limits

MAX_OBUS = 64
"""§12. Most OBUs in a stream. libaom writes 3 for a still picture (temporal delimiter, sequence
header, frame); the bound keeps a stream of tiny padding OBUs from making the parser spin."""

MAX_LEB128_BYTES = 8
"""AV1 spec §4.10.5: leb128() reads at most 8 bytes."""

MAX_OBU_SIZE = (1 << 32) - 1
"""AV1 spec §4.10.5: a leb128 value (obu_size) is at most 2³² − 1."""

# ---------------------------------------------------------------------------------------------
# OBU types (AV1 spec §6.2.2 obu_type)

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
"""The 2-byte temporal delimiter OBU libaom starts every temporal unit with.
:func:`abcodec.av1.encode` drops it: it carries nothing, and libavif + dav1d decode the item
without it."""

# ---------------------------------------------------------------------------------------------
# Reading OBUs: the bit reader (AV1 spec §4.10) and OBU framing (§5.3)


class BitReader:
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


def as_bytes(obus: object) -> bytes:
    """``obus`` as bytes, or AbcError: a caller's wrong type is named, not a TypeError from deep inside."""
    if not isinstance(obus, (bytes, bytearray, memoryview)):
        msg = f"BASE: AV1 stream must be bytes, got {type(obus).__name__}"
        raise AbcError(msg)
    return bytes(obus)


@dataclass(frozen=True)
class Obu:
    """Where one OBU's payload lies in the stream, found by :func:`split_obus`."""

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


def split_obus(data: bytes) -> list[Obu]:
    """§5.3.1-5.3.3: every OBU's header and size, each inside the buffer, nothing left over."""
    obus: list[Obu] = []
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
        obus.append(Obu(obu_type, payload, payload + size, layers >> 5, layers >> 3 & 3))
        offset = payload + size
    return obus


def check_obu_order(obus: list[Obu]) -> tuple[Obu, list[Obu]]:
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
    frame_headers: list[Obu] = []
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

