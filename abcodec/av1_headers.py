"""The AV1 sequence header (AV1 spec §5.5) and frame header (§5.9.2) of a base layer, parsed and
checked before dav1d sees the stream (format_spec/abc.md §12).

:func:`parse_headers` reads the sequence header whole and the frame header as far as
base_q_idx, and refuses what a base layer may not hold: not 8-bit, not 4:2:0 or 4:0:0, not a
still picture, a frame that is not one shown key frame of the sequence header's size. With the
sequence header's size checked against the image (:func:`abcodec.av1.decode_image`), that bounds
what dav1d decodes. The parsing functions follow the spec's syntax tables line by line, each
field read under its spec name, so that an error names the field. Every problem raises
:class:`~abcodec.container.AbcError`, its message starting ``BASE:``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .container import AbcError
from .obu import OBU_REDUNDANT_FRAME_HEADER, BitReader, Obu, as_bytes, check_obu_order, split_obus

# ---------------------------------------------------------------------------------------------
# AV1 syntax (AV1 spec §6.4 colour, §6.8.2 frame type, §5.9.15 tiles)

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
# The sequence header (§5.5)


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

    Refuses (AbcError naming the field) what :func:`abcodec.av1.decode` does not decode: a stream
    that is not [temporal delimiter], one sequence header and one frame; a video (still_picture 0);
    bit depth other than 8; 4:4:4 or 4:2:2; and a sequence header that is truncated or has extra
    bits.
    """
    data = as_bytes(obus)
    sequence, _ = check_obu_order(split_obus(data))
    return _sequence_header(data, sequence)


def _sequence_header(data: bytes, obu: Obu) -> SequenceHeader:
    bits = BitReader(data, obu.payload, obu.end, "sequence header")
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


def _inter_tools(bits: BitReader) -> dict:
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


def _operating_points(bits: BitReader) -> dict:
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


def _color_config(bits: BitReader, seq_profile: int) -> dict:
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


# ---------------------------------------------------------------------------------------------
# The frame header (§5.9.2)


@dataclass(frozen=True)
class FrameHeader:
    """What this module reads of the frame's uncompressed header (AV1 spec §5.9.2), which it
    parses as far as quantization_params(): a shown key frame of the sequence header's size."""

    frame_size_override: bool
    width: int
    """FrameWidth, which is also UpscaledWidth and RenderWidth: §12 allows no other."""
    height: int
    base_q_idx: int
    """§5.9.12: what :func:`abcodec.av1.encode` checks the quantizer against."""


def parse_headers(obus: bytes) -> tuple[SequenceHeader, FrameHeader]:
    """Check the OBU framing and order of ``obus``, parse its sequence header (§5.5) and its
    frame header (§5.9.2), and any redundant copies of the latter, each as far as base_q_idx.

    Refuses (AbcError naming the field and its value) what :func:`parse_sequence_header` refuses
    and a frame that is not one shown key frame of exactly the sequence header's size (§12): a
    frame size of its own (frame_size_override_flag), superres, a render size that differs.
    With the sequence header's size checked against the image, this bounds what dav1d decodes.
    """
    data = as_bytes(obus)
    sequence, frames = check_obu_order(split_obus(data))
    header = _sequence_header(data, sequence)
    frame_headers = [_frame_header(data, obu, header) for obu in frames]  # a redundant copy may lie too
    return header, frame_headers[0]


def base_q_idx(obus: bytes, header: SequenceHeader) -> int:
    """The base_q_idx (§5.9.12) of the frame in ``obus``, whose sequence header parses to
    ``header``: which quantizer coded it, what tests of the quality tables read back."""
    data = as_bytes(obus)
    _, frames = check_obu_order(split_obus(data))
    return _frame_header(data, frames[0], header).base_q_idx


def _frame_header(data: bytes, obu: Obu, header: SequenceHeader) -> FrameHeader:
    """uncompressed_header() (§5.9.2) of a shown key frame, as far as base_q_idx (§5.9.12)."""
    what = "AV1 redundant frame header" if obu.obu_type == OBU_REDUNDANT_FRAME_HEADER else "AV1 frame header"
    bits = BitReader(data, obu.payload, obu.end, what)
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


def _frame_kind(bits: BitReader, header: SequenceHeader, what: str) -> None:
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


def _buffer_removal_times(bits: BitReader, header: SequenceHeader, obu: Obu) -> None:
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


def _tile_info(bits: BitReader, header: SequenceHeader) -> None:
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

