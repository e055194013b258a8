"""AV1 OBU streams written from the AV1 specification (2019, with errata), independently of
abcodec's parser (``abcodec.obu``, ``abcodec.av1_headers``), which they exist to test: the hostile
streams of tests/test_av1.py and tests/test_hostile.py, the frame-header mutations of
:mod:`fuzz.mutate` and the bad vector ``bad-av1-frame-larger-than-head`` of format_spec/vectors.

:func:`still_picture` takes a stream that libaom wrote (a reduced still picture header and one
frame OBU, as Pillow's AVIF encoder makes it) and writes the same picture behind a full sequence
header, where the frame header carries the fields a reduced header leaves implicit: the frame
type, ``frame_size_override_flag`` with a frame size of the caller's choice, superres, a render
size, frame ids, a decoder model. The tile data is kept bit for bit; the header's new length is
made a whole number of bytes longer than libaom's with ``order_hint`` (which a key frame carries
but does not use), so that the tiles after the frame header's byte alignment stay aligned.

Bits are strings of '0' and '1': slow, but every field reads as a row of the spec's syntax tables.
"""

from __future__ import annotations

from dataclasses import dataclass

OBU_SEQUENCE_HEADER = 1
OBU_FRAME_HEADER = 3
OBU_TILE_GROUP = 4
OBU_FRAME = 6
OBU_REDUNDANT_FRAME_HEADER = 7
"""AV1 spec §6.2.2 obu_type."""

KEY_FRAME, INTER_FRAME, INTRA_ONLY_FRAME, SWITCH_FRAME = range(4)
"""AV1 spec §6.8.2 frame_type."""

SUPERRES_DENOM_MIN = 9
"""AV1 spec §3: coded_denom + 9 is the superres denominator."""


def field(value: int, n: int) -> str:
    """f(n) (§4.10.2) holding ``value``."""
    return format(value, f"0{n}b") if n else ""


def uvlc(value: int) -> str:
    """uvlc() (§4.10.3) holding ``value``."""
    leading = (value + 1).bit_length() - 1
    return "0" * leading + "1" + field(value + 1 - (1 << leading), leading)


def bits_of(payload: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in payload)


def without_trailing(bits: str) -> str:
    """Drop trailing_bits() (§5.3.4): the last 1 and the zeros after it."""
    return bits[: bits.rindex("1")]


def payload_of(bits: str) -> bytes:
    """Append trailing_bits() (a 1, zeros to a byte boundary) and pack."""
    bits += "1"
    return packed(bits)


def packed(bits: str) -> bytes:
    """Bits to bytes, the last byte padded with zeros."""
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def leb128(value: int) -> bytes:
    """leb128() (§4.10.5) in as few bytes as hold ``value``."""
    out = bytearray()
    while True:
        out.append(value & 0x7F | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def obu(obu_type: int, payload: bytes, extension: tuple[int, int] | None = None) -> bytes:
    """One OBU with obu_has_size_field 1 (§5.3.1), with an extension header (temporal_id,
    spatial_id) when given."""
    if extension is None:
        return bytes([obu_type << 3 | 0x02]) + leb128(len(payload)) + payload
    temporal_id, spatial_id = extension
    return bytes([obu_type << 3 | 0x06, temporal_id << 5 | spatial_id << 3]) + leb128(len(payload)) + payload


def split(stream: bytes) -> list[tuple[int, bytes]]:
    """(obu_type, payload) of each OBU of a well-formed stream (extension headers skipped)."""
    out, i = [], 0
    while i < len(stream):
        header = stream[i]
        i += 1 + (header >> 2 & 1)
        size = shift = 0
        while True:
            byte = stream[i]
            i += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        out.append((header >> 3 & 15, stream[i : i + size]))
        i += size
    return out


def join(obus: list[tuple[int, bytes]]) -> bytes:
    return b"".join(obu(t, p) for t, p in obus)


@dataclass(frozen=True)
class Reduced:
    """libaom's still picture cut into the syntax elements a full header rewrites: its reduced
    sequence header (§5.5.1) and the frame OBU's uncompressed header (§5.9.2) up to tile_info()."""

    seq_profile: str
    seq_level_idx: int
    width: int
    height: int
    tools: str
    """use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter, enable_superres,
    enable_cdef, enable_restoration."""
    colour: str
    """color_config() and film_grain_params_present."""
    disable_cdf_update: str
    screen_content: str
    """allow_screen_content_tools, and force_integer_mv when it is 1."""
    allow_intrabc: str
    frame_header_bits: int
    """The bits of the frame header before tile_info()."""
    rest: str
    """tile_info() onwards: the rest of the header, its byte alignment and the tile data."""


def reduced(stream: bytes) -> Reduced:
    """Cut a stream of libaom's form (a sequence header OBU with reduced_still_picture_header 1,
    one frame OBU of a frame without superres) into its fields."""
    (sequence_type, sequence), (frame_type, frame) = [o for o in split(stream) if o[0] != 2]  # no temporal delimiter
    if (sequence_type, frame_type) != (OBU_SEQUENCE_HEADER, OBU_FRAME):
        msg = f"expected a sequence header and a frame OBU, got types {sequence_type} and {frame_type}"
        raise ValueError(msg)
    bits = without_trailing(bits_of(sequence))
    if bits[3:5] != "11":
        msg = "not a reduced still picture header"
        raise ValueError(msg)
    width_bits, height_bits = int(bits[10:14], 2) + 1, int(bits[14:18], 2) + 1
    tools_at = 18 + width_bits + height_bits
    width = int(bits[18 : 18 + width_bits], 2) + 1
    height = int(bits[18 + width_bits : tools_at], 2) + 1
    tools = bits[tools_at : tools_at + 6]
    header = bits_of(frame)
    screen_content = header[1:3] if header[1] == "1" else header[1]
    at = 1 + len(screen_content)
    if tools[3] == "1":  # enable_superres: use_superres follows
        if header[at] != "0":
            msg = "the frame uses superres"
            raise ValueError(msg)
        at += 1
    at += 1 + 32 * int(header[at])  # render_and_frame_size_different and the render size
    allow_intrabc = header[at] if screen_content[0] == "1" else ""
    at += len(allow_intrabc)
    return Reduced(seq_profile=bits[:3], seq_level_idx=int(bits[5:10], 2), width=width, height=height, tools=tools,
                   colour=bits[tools_at + 6 :], disable_cdf_update=header[0], screen_content=screen_content,
                   allow_intrabc=allow_intrabc, frame_header_bits=at, rest=header[at:])


@dataclass(frozen=True)
class DecoderModel:
    """timing_info() and decoder_model_info() (§5.5.3, §5.5.4) with equal_picture_interval 0, so
    that every shown frame carries temporal_point_info(), and operating points that all have a
    decoder model: the frame header holds a buffer_removal_time for each whose layers hold the
    frame."""

    buffer_removal_time_length: int = 10
    frame_presentation_time_length: int = 7
    operating_points: tuple[int, ...] = (0,)
    """operating_point_idc of each: bits 0-7 its temporal layers, 8-11 its spatial layers."""

    def holds(self, idc: int, layers: tuple[int, int]) -> bool:
        """Whether an operating point holds a frame of (temporal_id, spatial_id) (§5.9.2)."""
        return idc == 0 or bool(idc >> layers[0] & 1 and idc >> (layers[1] + 8) & 1)


def sequence_header(picture: Reduced, *, max_size: tuple[int, int], size_bits: tuple[int, int], order_hint_bits: int,
                    frame_id_length: int = 0, decoder_model: DecoderModel | None = None,
                    enable_superres: bool | None = None) -> bytes:
    """A full sequence_header_obu() (§5.5.1) for ``picture``'s frame: still_picture 1, one
    operating point at its level, screen content tools and integer MVs left to each frame
    (SELECT, as a reduced header implies), the order hint of ``order_hint_bits`` (1..8)."""
    bits = picture.seq_profile + "1" + "0" + field(decoder_model is not None, 1)
    if decoder_model:
        bits += field(1, 32) + field(25, 32) + "0" + "1"  # display tick, time_scale, no equal interval; model
        bits += field(9, 5) + field(1, 32)  # buffer_delay_length_minus_1, num_units_in_decoding_tick
        bits += field(decoder_model.buffer_removal_time_length - 1, 5)
        bits += field(decoder_model.frame_presentation_time_length - 1, 5)
    points = decoder_model.operating_points if decoder_model else (0,)
    bits += "0" + field(len(points) - 1, 5)  # no initial_display_delay_present_flag
    for idc in points:
        bits += field(idc, 12) + field(picture.seq_level_idx, 5) + ("0" if picture.seq_level_idx > 7 else "")
        if decoder_model:  # decoder_model_present_for_this_op, its buffer delays, low_delay_mode_flag
            bits += "1" + field(100, 10) + field(100, 10) + "0"
    bits += field(size_bits[0] - 1, 4) + field(size_bits[1] - 1, 4)
    bits += field(max_size[0] - 1, size_bits[0]) + field(max_size[1] - 1, size_bits[1])
    bits += field(bool(frame_id_length), 1)
    if frame_id_length:
        delta = max(0, frame_id_length - 3 - 7)  # idLen = additional_minus_1 + delta_minus_2 + 3
        bits += field(delta, 4) + field(frame_id_length - 3 - delta, 3)
    bits += picture.tools[:3] + "0000"  # no inter tools
    bits += "1" + "0" + "0"  # enable_order_hint, no enable_jnt_comp, no enable_ref_frame_mvs
    bits += "1" + "1"  # seq_choose_screen_content_tools, seq_choose_integer_mv
    bits += field(order_hint_bits - 1, 3)
    superres = picture.tools[3] if enable_superres is None else field(enable_superres, 1)
    bits += superres + picture.tools[4:] + picture.colour
    return payload_of(bits)


def still_picture(stream: bytes, *, max_size: tuple[int, int] | None = None, frame_size: tuple[int, int] | None = None,
                  size_bits: tuple[int, int] = (16, 16), superres_denom: int | None = None,
                  render_size: tuple[int, int] | None = None, show_existing_frame: int = 0,
                  frame_type: int = KEY_FRAME, show_frame: int = 1, frame_id_length: int = 0,
                  decoder_model: DecoderModel | None = None, extension: tuple[int, int] | None = None) -> bytes:
    """libaom's ``stream`` rewritten behind a full sequence header declaring ``max_size`` (by
    default the frame's own), its frame header (§5.9.2) coding the given fields: ``frame_size``
    sets frame_size_override_flag and codes that size in ``size_bits``; ``superres_denom``
    (9..16) sets use_superres; ``render_size`` sets render_and_frame_size_different;
    ``extension`` gives the frame OBU an extension header (temporal_id, spatial_id).

    Intra frames (key or intra-only, shown or hidden) are written as the spec has them. What a
    still picture cannot hold is written as far as the field that rules it out, then as a shown
    key frame: show_existing_frame 1 (followed by the key frame's fields, inside a frame OBU)
    and inter frames (their fields after error_resilient_mode)."""
    picture = reduced(stream)
    intra = frame_type in (KEY_FRAME, INTRA_ONLY_FRAME)
    shown_key = frame_type == KEY_FRAME and show_frame and not show_existing_frame
    head = field(show_existing_frame, 1)
    head += field(0, 3) if show_existing_frame else field(frame_type, 2) + field(show_frame, 1)
    if decoder_model and (show_frame or show_existing_frame):
        head += field(0, decoder_model.frame_presentation_time_length)  # temporal_point_info()
    if not show_frame and not show_existing_frame:
        head += "0"  # showable_frame
    if not shown_key and frame_type != SWITCH_FRAME and not show_existing_frame:
        head += "0"  # error_resilient_mode
    head += picture.disable_cdf_update + picture.screen_content
    head += field(0, frame_id_length)  # current_frame_id
    head += field(frame_size is not None, 1)  # frame_size_override_flag
    tail = ""  # the fields after order_hint
    if decoder_model:
        tail += "1"  # buffer_removal_time_present_flag
        for idc in decoder_model.operating_points:
            if decoder_model.holds(idc, extension or (0, 0)):
                tail += field(0, decoder_model.buffer_removal_time_length)
    if intra and not shown_key:
        tail += field(0xFF if frame_type == KEY_FRAME else 0x01, 8)  # refresh_frame_flags
    if frame_size:
        tail += field(frame_size[0] - 1, size_bits[0]) + field(frame_size[1] - 1, size_bits[1])
    if superres_denom or picture.tools[3] == "1":  # use_superres is there when enable_superres is
        tail += field(superres_denom is not None, 1) + (field(superres_denom - SUPERRES_DENOM_MIN, 3)
                                                        if superres_denom else "")
    tail += field(render_size is not None, 1)
    if render_size:
        tail += field(render_size[0] - 1, 16) + field(render_size[1] - 1, 16)
    if picture.screen_content[0] == "1" and not superres_denom:  # UpscaledWidth == FrameWidth
        tail += picture.allow_intrabc
    tail += "" if picture.disable_cdf_update == "1" else "1"  # disable_frame_end_update_cdf
    order_hint_bits = (picture.frame_header_bits - len(head) - len(tail) - 1) % 8 + 1
    header = head + field(0, order_hint_bits) + tail + picture.rest
    sequence = sequence_header(picture, max_size=max_size or (picture.width, picture.height), size_bits=size_bits,
                               order_hint_bits=order_hint_bits, frame_id_length=frame_id_length,
                               decoder_model=decoder_model, enable_superres=True if superres_denom else None)
    return obu(OBU_SEQUENCE_HEADER, sequence) + obu(OBU_FRAME, packed(header), extension)
