"""AV1 intra frames as bare OBU streams (abcodec/av1.py, with obu.py, av1_headers.py and avif_boxes.py;
format_spec/abc.md §12)."""

import io
import warnings

import numpy as np
import pytest
from PIL import AvifImagePlugin, Image, features
from PIL import _avif
from skimage import data

from abcodec import av1, av1_headers, avif_boxes, obu
from abcodec.container import AbcError
from fuzz import av1_streams
from fuzz.av1_streams import bits_of, field, join, payload_of, split, uvlc, without_trailing


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Gradients, waves and noise: every quantizer changes something."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    grey = 40 + 120 * x / max(width, 1) + 50 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 20, (height, width))
    return grey.clip(0, 255).astype(np.uint8)


def colour(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.stack([textured(height, width, seed), textured(height, width, seed + 1)[::-1],
                     textured(height, width, seed + 2)[:, ::-1]], axis=-1)


LARGE = colour(512, 768)
CHELSEA = data.chelsea()  # 451 x 300, a natural picture with odd width
SMALL_RGB = colour(20, 33)
SMALL_GREY = textured(20, 33)
STREAM_RGB = av1.encode(SMALL_RGB, 30, speed=9)
STREAM_GREY = av1.encode(SMALL_GREY, 30, speed=9)


def pillow_decode(avif: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(avif)) as picture:
        picture.load()
        return np.array(picture)


# --- bit strings, to edit sequence headers field by field (fuzz.av1_streams writes them) ---------


def reduced_parts(stream: bytes) -> dict:
    """The reduced sequence header of a real stream cut into its syntax elements (AV1 §5.5)."""
    bits = without_trailing(bits_of(split(stream)[0][1]))
    assert bits[3:5] == "11"  # still_picture, reduced_still_picture_header
    width_bits = int(bits[10:14], 2) + 1
    height_bits = int(bits[14:18], 2) + 1
    tools_at = 18 + width_bits + height_bits
    header = av1_headers.parse_sequence_header(stream)
    return dict(profile=bits[:3], level=bits[5:10], tools=bits[tools_at : tools_at + 6],
                separate_uv_delta_q=bits[-2] if not header.monochrome else "", film_grain=bits[-1], header=header)


def color_config(profile: int, *, high_bitdepth: int = 0, twelve_bit: int = 0, mono: int = 0,
                 cicp: tuple[int, int, int] | None = (1, 13, 6), color_range: int = 1, ssx: int = 1, ssy: int = 1,
                 csp: int = 0, separate_uv_delta_q: str = "0") -> str:
    """color_config() (AV1 §5.5.2) written from its fields."""
    bits = field(high_bitdepth, 1)
    if profile == 2 and high_bitdepth:
        bits += field(twelve_bit, 1)
    if profile != 1:
        bits += field(mono, 1)
    bits += field(cicp is not None, 1)
    if cicp is not None:
        bits += "".join(field(c, 8) for c in cicp)
    if mono:
        return bits + field(color_range, 1)
    if cicp != (1, 13, 0):
        bits += field(color_range, 1)
        if profile == 2 and twelve_bit:
            bits += field(ssx, 1) + (field(ssy, 1) if ssx else "")
        if ssx and ssy:
            bits += field(csp, 2)
    return bits + separate_uv_delta_q


def edited(stream: bytes, *, width: int | None = None, height: int | None = None, profile: int | None = None,
           still: int = 1, reduced: int = 1, **colour_fields) -> bytes:
    """``stream`` with its reduced sequence header rewritten: other sizes, profile or colour."""
    parts = reduced_parts(stream)
    header = parts["header"]
    profile_value = int(parts["profile"], 2) if profile is None else profile
    colour = dict(mono=int(header.monochrome), separate_uv_delta_q=parts["separate_uv_delta_q"] or "0")
    colour.update(colour_fields)
    if colour["mono"]:
        colour["separate_uv_delta_q"] = ""
    bits = field(profile_value, 3) + field(still, 1) + field(reduced, 1) + parts["level"]
    bits += "1111" + "1111" + field((width or header.width) - 1, 16) + field((height or header.height) - 1, 16)
    bits += parts["tools"] + color_config(profile_value, **colour) + parts["film_grain"]
    obus = split(stream)
    obus[0] = (obu.OBU_SEQUENCE_HEADER, payload_of(bits))
    return join(obus)


def animation_first_frame() -> tuple[bytes, np.ndarray]:
    """The first temporal unit of a libavif image sequence, whose sequence header is a full
    (not reduced) one with still_picture 0, and the pixels Pillow decodes for that frame."""
    frames = [Image.fromarray(colour(24, 40, seed)) for seed in (3, 4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "AVIF", save_all=True, append_images=frames[1:], quality=60, speed=9, max_threads=1)
    avif = buffer.getvalue()
    # libavif also stores the first frame as the primary image item: read it with the module's reader.
    stream = avif_boxes.primary_item_data(avif.replace(b"ftypavis", b"ftypavif", 1))
    with Image.open(io.BytesIO(avif)) as picture:
        picture.load()
        return stream, np.array(picture.convert("RGB"))


def full_header(stream: bytes, prefix: str) -> bytes:
    """Replace everything before frame_width_bits_minus_1 in a full sequence header (profile,
    flags, timing, decoder model and operating points) by ``prefix``; the rest is kept."""
    obus = split(stream)
    index = next(i for i, (t, _) in enumerate(obus) if t == obu.OBU_SEQUENCE_HEADER)
    bits = without_trailing(bits_of(obus[index][1]))
    assert bits[4:7] == "000"  # reduced, timing_info_present, initial_display_delay_present
    assert bits[7:12] == "00000" and bits[12:24] == "0" * 12  # one operating point, idc 0
    level = int(bits[24:29], 2)
    rest = bits[29 + (level > 7) :]
    obus[index] = (obu.OBU_SEQUENCE_HEADER, payload_of(prefix + rest))
    return join(obus)


# --- Pillow's AVIF support --------------------------------------------------------------------


def test_require_avif_passes_here():
    av1.require_avif()
    av1.require_avif(encoder=False)
    av1.require_avif(decoder=False)


@pytest.mark.parametrize("missing", ["avif", "aom", "dav1d"])
def test_require_avif_names_what_to_install_and_runs_first(monkeypatch, missing):
    if missing == "avif":
        monkeypatch.setattr(features, "check", lambda name: False)
    elif missing == "aom":
        monkeypatch.setattr(_avif, "encoder_codec_available", lambda name: False)
    else:
        monkeypatch.setattr(_avif, "decoder_codec_available", lambda name: False)
    with pytest.raises(AbcError, match=r"^BASE: .*install Pillow"):
        av1.require_avif()
    if missing != "dav1d":  # encode needs no decoder; the check comes before its bad quantizer
        with pytest.raises(AbcError, match="install Pillow"):
            av1.encode(SMALL_RGB, 999)
    if missing != "aom":  # and decode needs no encoder; the check comes before its bad arguments
        with pytest.raises(AbcError, match="install Pillow"):
            av1.decode(b"", 7, (0, 0))


def test_old_libavif_is_refused(monkeypatch):
    monkeypatch.setattr(_avif, "libavif_version", "1.2.1")
    with pytest.raises(AbcError, match="1.2.1, older than 1.3.0"):
        av1.require_avif()


# --- round trips ------------------------------------------------------------------------------

ROUND_TRIP_IMAGES = {
    "1x1": colour(1, 1),
    "33x20": SMALL_RGB,
    "17x9": colour(9, 17, 5),
    "1x40": colour(40, 1, 6),
    "chelsea": CHELSEA,
    "768x512": LARGE,
}


@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
@pytest.mark.parametrize("name", list(ROUND_TRIP_IMAGES))
def test_round_trip_decodes_what_pillow_decodes(name, grey):
    image = ROUND_TRIP_IMAGES[name]
    if grey:
        image = np.ascontiguousarray(image[..., 1])
    quantizer, speed = (20, 8) if image.size > 100_000 else (33, 6)
    stream = av1.encode(image, quantizer, speed)
    decoded = av1.decode(stream, 1 if grey else 3, (image.shape[1], image.shape[0]))
    assert decoded.dtype == np.uint8 and decoded.shape == image.shape
    expected = pillow_decode(av1.encode_avif(image, quantizer, speed))
    assert np.array_equal(decoded, expected)  # rebuilding the container changes nothing
    assert np.abs(decoded.astype(int) - image).mean() < 20


def test_quantizer_0_is_lossless_for_grey():
    image = textured(96, 128)
    assert np.array_equal(av1.decode(av1.encode(image, 0, speed=8), 1, (128, 96)), image)


def test_round_trip_is_close_at_a_fine_quantizer():
    stream = av1.encode(CHELSEA, 4, speed=8)
    mse = np.mean((av1.decode(stream, 3, (451, 300)).astype(float) - CHELSEA) ** 2)
    assert 10 * np.log10(255**2 / mse) > 40  # 43.5 dB measured; 4:2:0 and YCbCr rounding bound it


def test_wide_frame_needs_two_tile_columns_and_still_round_trips():
    # AV1 tiles are at most 4096 pixels wide, so this frame's header carries tile_info fields.
    image = colour(16, 4200)
    stream = av1.encode(image, 30, speed=9)
    expected = pillow_decode(av1.encode_avif(image, 30, 9))
    assert np.array_equal(av1.decode(stream, 3, (4200, 16)), expected)


@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
def test_rebuilt_file_is_libavifs_file_byte_for_byte(grey):
    image = SMALL_GREY if grey else CHELSEA
    avif = av1.encode_avif(image, 25, 9)
    stream = av1.encode(image, 25, speed=9)
    header = av1_headers.parse_sequence_header(stream)
    assert avif_boxes.avif_file(obu.TEMPORAL_DELIMITER + stream, header) == avif
    assert len(avif_boxes.avif_file(stream, header)) == len(avif) - len(obu.TEMPORAL_DELIMITER)


def test_stream_is_the_item_without_its_temporal_delimiter():
    avif = av1.encode_avif(SMALL_RGB, 30, 9)
    item = avif_boxes.primary_item_data(avif)
    assert item[:2] == obu.TEMPORAL_DELIMITER
    assert STREAM_RGB == item[2:]
    assert [t for t, _ in split(STREAM_RGB)] == [obu.OBU_SEQUENCE_HEADER, obu.OBU_FRAME]


def test_the_stored_stream_saves_the_container():
    avif = av1.encode_avif(LARGE, 40, 9)
    stream = av1.encode(LARGE, 40, speed=9)
    assert 250 < len(avif) - len(stream) < 300


def test_decode_ignores_pillows_decompression_bomb_limit(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert av1.decode(STREAM_RGB, 3, (33, 20)).shape == (20, 33, 3)


# --- quantizer and speed ----------------------------------------------------------------------


def tune_iq_quantizer(quality: int) -> int:
    """libavif 1.4's tune=iq quality -> quantizer, from the piecewise formula in src/codec_aom.c."""
    if quality == 100:
        return 0
    if quality <= 6:
        return 63 - quality // 3
    if quality <= 28:
        return 61 - (quality - 7 + 1) // 2  # round half up
    if quality <= 53:
        return 50 - ((quality - 29) * 6 + 5) // 10
    return 35 - ((quality - 54) * 6 + 4) // 8


def linear_quantizer(quality: int) -> int:
    return ((100 - quality) * 63 + 50) // 100


@pytest.mark.parametrize("table, mapping", [(av1.QUALITY_FOR_QUANTIZER_IQ, tune_iq_quantizer),
                                            (av1.QUALITY_FOR_QUANTIZER_LINEAR, linear_quantizer)])
def test_quality_tables_invert_libavifs_mappings(table, mapping):
    assert [mapping(quality) for quality in table] == list(range(64))
    assert list(table) == [min(q for q in range(101) if mapping(q) == k) for k in range(64)]
    assert {mapping(q) for q in range(101)} == set(range(64))


def test_pillow_qualities_group_as_the_selected_mapping_says():
    """Qualities give identical bytes exactly when the mapping gives them the same quantizer."""
    mapping = tune_iq_quantizer if av1.quality_table() is av1.QUALITY_FOR_QUANTIZER_IQ else linear_quantizer
    picture = Image.fromarray(colour(16, 16, 9))
    groups: dict[bytes, set[int]] = {}
    for quality in range(101):
        buffer = io.BytesIO()
        picture.save(buffer, "AVIF", quality=quality, speed=9, max_threads=1)
        groups.setdefault(buffer.getvalue(), set()).add(quality)
    expected: dict[int, set[int]] = {}
    for quality in range(101):
        expected.setdefault(mapping(quality), set()).add(quality)
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, expected.values()))


def test_libavif_14_with_libaom_313_uses_the_tune_iq_table():
    aom = av1._version_tuple(AvifImagePlugin.get_codec_version("aom") or "0")
    iq = av1._version_tuple(_avif.libavif_version) >= (1, 4, 0) and aom >= (3, 13, 0)
    assert (av1.quality_table() is av1.QUALITY_FOR_QUANTIZER_IQ) == iq


LIBAOM_QUANTIZER_TO_QINDEX = (
    0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96, 100,
    104, 108, 112, 116, 120, 124, 128, 132, 136, 140, 144, 148, 152, 156, 160, 164, 168, 172, 176, 180, 184, 188,
    192, 196, 200, 204, 208, 212, 216, 220, 224, 228, 232, 236, 240, 244, 249, 255,
)
"""quantizer_to_qindex in libaom's av1/encoder/av1_quantize.c."""


@pytest.mark.parametrize("quantizer", range(64))
def test_every_quantizer_codes_as_libaoms_qindex(quantizer):
    stream = av1.encode(colour(8, 8, 7), quantizer, speed=9)  # encode checks this too
    header, frame = av1_headers.parse_headers(stream)
    expected = LIBAOM_QUANTIZER_TO_QINDEX[quantizer]
    assert frame.base_q_idx == av1_headers.base_q_idx(stream, header) == av1.QINDEX_FOR_QUANTIZER[quantizer] == expected


def test_a_different_quality_mapping_fails_loudly(monkeypatch):
    """Pretend libavif maps quality the other way: encode notices it in the frame header."""
    active = av1.quality_table()
    mapping = tune_iq_quantizer if active is av1.QUALITY_FOR_QUANTIZER_IQ else linear_quantizer
    other = av1.QUALITY_FOR_QUANTIZER_LINEAR if active is av1.QUALITY_FOR_QUANTIZER_IQ else av1.QUALITY_FOR_QUANTIZER_IQ
    monkeypatch.setattr(av1, "quality_table", lambda: other)
    wrong = next(q for q in range(64) if mapping(other[q]) != q)
    with pytest.raises(AbcError, match=f"quantizer {wrong} was coded as base_q_idx"):
        av1.encode(SMALL_RGB, wrong, speed=9)


@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
def test_finer_quantizers_spend_more_bytes(grey):
    image = textured(96, 128) if grey else colour(96, 128)
    # A spread, not neighbours: libaom's grey output grew from quantizer 62 to 63 (135 -> 140 bytes).
    sizes = [len(av1.encode(image, quantizer, speed=9)) for quantizer in range(0, 64, 9)]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > 20 * sizes[-1]


def test_speed_10_codes_as_speed_9():
    assert av1.encode(SMALL_RGB, 30, speed=10) == av1.encode(SMALL_RGB, 30, speed=9)


@pytest.mark.parametrize("settings, message", [
    (dict(quantizer=64), "quantizer 64 outside 0..63"),
    (dict(quantizer=-1), "quantizer -1 outside 0..63"),
    (dict(quantizer=30.0), "quantizer must be an integer"),
    (dict(quantizer=True), "quantizer must be an integer"),
    (dict(speed=11), "speed 11 outside 0..10"),
    (dict(speed=-1), "speed -1 outside 0..10"),
    (dict(threads=0), "threads 0 outside 1..64"),
    (dict(threads=65), "threads 65 outside 1..64"),
])
def test_settings_out_of_range_are_refused(settings, message):
    arguments = dict(quantizer=30, speed=9, threads=1) | settings
    with pytest.raises(AbcError, match=f"^BASE: {message}"):
        av1.encode(SMALL_RGB, **arguments)


@pytest.mark.parametrize("image, message", [
    (SMALL_RGB.astype(np.uint16), "uint8 numpy array, got uint16"),
    (SMALL_RGB.tolist(), "uint8 numpy array, got list"),
    (np.zeros((4, 4, 4), np.uint8), r"shape \(4, 4, 4\)"),
    (np.zeros((4,), np.uint8), r"shape \(4,\)"),
    (np.zeros((0, 4), np.uint8), "image height 0 outside"),
    (np.zeros((4, av1.MAX_SIDE + 1), np.uint8), "image width 32769 outside"),
])
def test_bad_images_are_refused(image, message):
    with pytest.raises(AbcError, match=message):
        av1.encode(image, 30)


def test_non_contiguous_images_are_coded():
    view = LARGE[::5, ::7]
    assert av1.encode(view, 30, speed=9) == av1.encode(np.ascontiguousarray(view), 30, speed=9)


# --- the sequence header ----------------------------------------------------------------------


@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
def test_sequence_header_of_a_real_stream(grey):
    header = av1_headers.parse_sequence_header(av1.encode(LARGE[..., 0].copy() if grey else LARGE, 40, speed=9))
    assert (header.width, header.height, header.bit_depth) == (768, 512, 8)
    assert header.still_picture and header.reduced_still_picture_header
    assert header.monochrome == grey
    assert (header.seq_profile, header.seq_tier_0, header.subsampling_x, header.subsampling_y) == (0, 0, 1, 1)
    assert header.seq_level_idx_0 == 4  # level 3.0 covers 768 x 512 (AV1 Annex A)
    assert (header.color_primaries, header.transfer_characteristics, header.matrix_coefficients) == (1, 13, 6)
    assert header.color_range == 1
    assert avif_boxes.av1c(header) == bytes.fromhex("81041c00" if grey else "81040c00")


def test_av1c_is_the_one_libavif_writes():
    avif = av1.encode_avif(SMALL_GREY, 30, 9)
    at = avif.index(b"av1C")
    assert avif[at - 4 : at] == b"\x00\x00\x00\x0c"
    assert avif_boxes.av1c(av1_headers.parse_sequence_header(STREAM_GREY)) == avif[at + 4 : at + 8]


def test_full_sequence_header_with_timing_and_operating_points_is_parsed_and_decoded():
    stream, expected = animation_first_frame()
    with pytest.raises(AbcError, match="still_picture is 0"):
        av1_headers.parse_sequence_header(stream)
    # still_picture 1; timing info with equal_picture_interval; no decoder model (which would add
    # frame header fields); display delays; two operating points, the first at level 5.1 high tier.
    prefix = ("000" "1" "0" "1" + field(1001, 32) + field(30000, 32) + "1" + uvlc(0) + "0" "1" + field(1, 5)
              + field(0, 12) + field(13, 5) + "1" + "1" + field(3, 4)
              + field(0x103, 12) + field(8, 5) + "0" + "0")
    rebuilt = full_header(stream, prefix)
    header = av1_headers.parse_sequence_header(rebuilt)
    assert (header.width, header.height, header.seq_level_idx_0, header.seq_tier_0) == (40, 24, 13, 1)
    assert header.still_picture and not header.reduced_still_picture_header
    assert avif_boxes.av1c(header)[1:3] == bytes([13, 0x80 | 0x0C])
    assert np.array_equal(av1.decode(rebuilt, 3, (40, 24)), expected)
    plain = "000" "1" "0" "0" "0" + field(0, 5) + field(0, 12) + field(4, 5)  # the original, still_picture 1
    assert np.array_equal(av1.decode(full_header(stream, plain), 3, (40, 24)), expected)


def test_full_sequence_header_with_a_decoder_model_is_parsed():
    stream, _ = animation_first_frame()
    prefix = ("000" "1" "0" "1" + field(1, 32) + field(25, 32) + "0"  # timing, no equal_picture_interval
              + "1" + field(9, 5) + field(90000, 32) + field(23, 5) + field(7, 5)  # decoder_model_info
              + "0" + field(0, 5)  # no display delays, one operating point
              + field(0, 12) + field(9, 5) + "0" + "1" + field(123, 10) + field(456, 10) + "1")
    header = av1_headers.parse_sequence_header(full_header(stream, prefix))
    assert (header.width, header.height, header.seq_level_idx_0, header.seq_tier_0) == (40, 24, 9, 0)


@pytest.mark.parametrize("prefix, message", [
    ("000" "1" "0" "1" + field(0, 32) + field(25, 32) + "0" "0" "0" + field(0, 5) + field(0, 12) + field(4, 5),
     "num_units_in_display_tick or time_scale is 0"),
    ("000" "1" "0" "1" + field(1, 32) + field(25, 32) + "1" + "0" * 32 + "1",
     "num_ticks_per_picture_minus_1 has 32 or more leading zeros"),
    ("000" "1" "0" "0" "0" + field(0, 5) + field(0x100, 12) + field(4, 5), r"operating_point_idc\[0\] 0x100"),
    ("000" "0" "0" "0" "0" + field(0, 5) + field(0, 12) + field(4, 5), "still_picture is 0"),
    ("011" "1" "0" "0" "0" + field(0, 5) + field(0, 12) + field(4, 5), "seq_profile 3 is reserved"),
])
def test_bad_full_sequence_headers_are_refused(prefix, message):
    stream, _ = animation_first_frame()
    with pytest.raises(AbcError, match=message):
        av1.decode(full_header(stream, prefix), 3, (40, 24))


# --- the frame header -------------------------------------------------------------------------

LAYERED = av1_streams.DecoderModel(buffer_removal_time_length=13, frame_presentation_time_length=20,
                                   operating_points=(0x303, 0x101, 0x202))
"""Three operating points with a decoder model; a frame of temporal and spatial layer 1 is in the
first and the third, so its header holds two buffer_removal_time fields, not three."""

KEY_FRAMES = {
    "full header": {},
    "override repeating the size": dict(frame_size=(33, 20)),
    "override in 6- and 5-bit fields": dict(frame_size=(33, 20), size_bits=(6, 5)),
    "render size equal to the frame's": dict(render_size=(33, 20)),
    "frame ids": dict(frame_id_length=15, frame_size=(33, 20)),
    "decoder model": dict(decoder_model=av1_streams.DecoderModel(), render_size=(33, 20)),
    "decoder model, layered": dict(decoder_model=LAYERED, extension=(1, 1), frame_size=(33, 20), frame_id_length=4),
}


@pytest.mark.parametrize("fields", KEY_FRAMES.values(), ids=KEY_FRAMES.keys())
@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
def test_a_shown_key_frame_behind_a_full_header_is_parsed_and_decoded_as_libaoms(fields, grey):
    """The writer follows the AV1 spec, not this parser: base_q_idx comes after every field the
    frame header may hold, so reading it right means every field was stepped over right."""
    original = STREAM_GREY if grey else STREAM_RGB
    stream = av1_streams.still_picture(original, **fields)
    header, frame = av1_headers.parse_headers(stream)
    assert not header.reduced_still_picture_header
    assert (frame.width, frame.height, frame.frame_size_override) == (33, 20, "frame_size" in fields)
    assert frame.base_q_idx == av1.QINDEX_FOR_QUANTIZER[30]
    channels = 1 if grey else 3
    assert np.array_equal(av1.decode(stream, channels, (33, 20)), av1.decode(original, channels, (33, 20)))


@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
@pytest.mark.parametrize("image", [LARGE, CHELSEA, colour(1, 1), colour(40, 1, 6)], ids=["768x512", "chelsea", "1x1", "1x40"])
def test_every_frame_the_encoder_writes_is_one_key_frame_of_its_sequence_headers_size(image, grey):
    if grey:
        image = np.ascontiguousarray(image[..., 1])
    header, frame = av1_headers.parse_headers(av1.encode(image, 40, speed=9))
    assert header.reduced_still_picture_header and not header.enable_superres
    assert (frame.width, frame.height, frame.frame_size_override) == (image.shape[1], image.shape[0], False)


LIES = {
    "larger frame": (dict(max_size=(16, 10), frame_size=(33, 20)),
                     r"codes a 33x20 frame \(frame_size_override_flag 1, frame_width_minus_1 32, frame_height_minus_1 19\), "
                     "but its sequence header declares 16x10$"),
    "16384 x 16384": (dict(frame_size=(16384, 16384)), "codes a 16384x16384 frame .* declares 33x20$"),
    "smaller frame": (dict(max_size=(40, 30), frame_size=(33, 20)), "codes a 33x20 frame .* declares 40x30$"),
    "one column more": (dict(max_size=(32, 20), frame_size=(33, 20)), "codes a 33x20 frame .* declares 32x20$"),
    "one row more": (dict(max_size=(33, 19), frame_size=(33, 20)), "codes a 33x20 frame .* declares 33x19$"),
    "larger, behind frame ids and a layered decoder model": (
        dict(max_size=(16, 10), frame_size=(33, 20), size_bits=(7, 9), frame_id_length=9, decoder_model=LAYERED,
             extension=(1, 1)), "codes a 33x20 frame .* declares 16x10$"),
    "superres": (dict(superres_denom=16), "use_superres is 1"),
    "render size": (dict(render_size=(66, 40)), r"render size 66x40 \(render_and_frame_size_different 1\) differs "
                                                 "from its frame size, 33x20$"),
    "render size, one row less": (dict(render_size=(33, 19)), "render size 33x19"),
    "show_existing_frame": (dict(show_existing_frame=1), "show_existing_frame is 1"),
    "inter frame": (dict(frame_type=av1_streams.INTER_FRAME), r"frame_type is 1 \(INTER_FRAME\), expected 0 \(KEY_FRAME\)"),
    "intra-only frame": (dict(frame_type=av1_streams.INTRA_ONLY_FRAME), r"frame_type is 2 \(INTRA_ONLY_FRAME\)"),
    "switch frame": (dict(frame_type=av1_streams.SWITCH_FRAME), r"frame_type is 3 \(SWITCH_FRAME\)"),
    "hidden key frame": (dict(show_frame=0), r"show_frame is 0 \(a hidden frame\), expected 1"),
}


@pytest.mark.parametrize("fields, message", LIES.values(), ids=LIES.keys())
def test_a_frame_that_is_not_one_key_frame_of_the_sequence_headers_size_is_refused_before_decoding(
        no_pixel_decoding, fields, message):
    with pytest.raises(AbcError, match=f"^BASE: AV1 frame header {message}"):
        av1.decode(av1_streams.still_picture(STREAM_RGB, **fields), 3, (64, 64))


def test_the_issues_frame_the_sequence_header_hides_is_refused_with_real_tiles_and_decoded_before(monkeypatch):
    """A flat 512 x 512 frame behind a 64 x 48 sequence header: dav1d decodes it whole and
    libavif hands back its 64 x 48 corner, so only the frame header tells the lie."""
    flat = np.full((512, 512), 90, np.uint8)
    lie = av1_streams.still_picture(av1.encode(flat, 63, speed=10), max_size=(64, 48), frame_size=(512, 512))
    with pytest.raises(AbcError, match="codes a 512x512 frame"):
        av1.decode(lie, 1, (64, 48))
    monkeypatch.setattr(av1_headers, "_frame_header", lambda *args: None)  # the decoder before the frame header was read
    assert av1.decode(lie, 1, (64, 48)).shape == (48, 64)


def test_a_redundant_frame_header_is_held_to_the_same_rules(no_pixel_decoding):
    sequence, frame = split(av1_streams.still_picture(STREAM_RGB, frame_size=(33, 20)))
    lying_sequence, lying = split(av1_streams.still_picture(STREAM_RGB, frame_size=(66, 40)))
    assert lying_sequence == sequence  # the same sequence header: only the frame headers differ
    copy = (obu.OBU_REDUNDANT_FRAME_HEADER, frame[1])
    assert av1_headers.parse_headers(join([sequence, frame, copy]))[1].width == 33
    with pytest.raises(AbcError, match="^BASE: AV1 redundant frame header codes a 66x40 frame"):
        av1.decode(join([sequence, frame, (obu.OBU_REDUNDANT_FRAME_HEADER, lying[1])]), 3, (64, 64))
    with pytest.raises(AbcError, match="^BASE: OBU 1 is a redundant frame header before the frame header"):
        av1.decode(join([sequence, copy, frame]), 3, (64, 64))


@pytest.mark.parametrize("cut", range(12))
def test_every_truncation_of_a_full_frame_header_is_refused_by_the_parser(no_pixel_decoding, cut):
    sequence, frame = split(av1_streams.still_picture(STREAM_RGB, frame_size=(33, 20), decoder_model=LAYERED,
                                                      extension=(1, 1), frame_id_length=16))
    with pytest.raises(AbcError, match="^BASE: AV1 frame header ends inside "):
        av1_headers.parse_headers(join([sequence, (obu.OBU_FRAME, frame[1][:cut])]))


# --- damaged and hostile streams --------------------------------------------------------------


def cut_points(length: int) -> list[int]:
    return sorted(set(range(0, 24)) | set(range(24, length, max(1, length // 40))))


@pytest.mark.parametrize("cut", cut_points(len(STREAM_RGB)))
def test_every_truncation_is_an_abc_error(cut):
    with pytest.raises(AbcError):
        av1.decode(STREAM_RGB[:cut], 3, (33, 20))


@pytest.mark.parametrize("cut", cut_points(len(STREAM_GREY)))
def test_every_truncation_of_grey_is_an_abc_error(cut):
    with pytest.raises(AbcError):
        av1_headers.parse_sequence_header(STREAM_GREY[:cut])
    with pytest.raises(AbcError):
        av1.decode(STREAM_GREY[:cut], 1, (33, 20))


@pytest.mark.parametrize("seed", range(300))
def test_random_byte_flips_give_an_abc_error_or_an_image(seed):
    rng = np.random.default_rng(seed)
    stream = bytearray(STREAM_GREY if seed % 3 == 0 else STREAM_RGB)
    channels = 1 if seed % 3 == 0 else 3
    for _ in range(1 + seed % 3):
        # Half the flips in the first 16 bytes (OBU headers and sequence header), half anywhere.
        position = int(rng.integers(0, 16 if rng.random() < 0.5 else len(stream)))
        stream[position] ^= int(rng.integers(1, 256))
    try:
        decoded = av1.decode(bytes(stream), channels, (33, 20))
    except AbcError:
        return
    assert decoded.dtype == np.uint8
    assert decoded.shape[:2][::-1] == (av1_headers.parse_sequence_header(bytes(stream)).width,
                                       av1_headers.parse_sequence_header(bytes(stream)).height)
    assert decoded.shape[2:] == ((3,) if channels == 3 else ())


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    def refuse(avif):
        raise AssertionError("the stream reached the pixel decoder")

    monkeypatch.setattr(av1, "_pillow_decode", refuse)


@pytest.mark.parametrize("size, max_size", [((34, 20), (33, 20)), ((33, 21), (33, 20)), ((60000, 60000), (33, 20)),
                                            ((40000, 8), (50000, 50000)), ((20000, 20000), (20000, 20000))])
def test_frame_larger_than_allowed_is_refused_before_decoding(no_pixel_decoding, size, max_size):
    with pytest.raises(AbcError, match="larger than the image|exceeds the limits"):
        av1.decode(edited(STREAM_RGB, width=size[0], height=size[1]), 3, max_size)


def test_edited_header_that_changes_nothing_decodes_the_same():
    same = edited(STREAM_RGB)
    assert same != STREAM_RGB  # 16-bit size fields instead of libaom's shortest
    assert np.array_equal(av1.decode(same, 3, (33, 20)), av1.decode(STREAM_RGB, 3, (33, 20)))
    grey = edited(STREAM_GREY, cicp=None)  # no colour description: colr decides colour anyway
    assert np.array_equal(av1.decode(grey, 1, (33, 20)), av1.decode(STREAM_GREY, 1, (33, 20)))


@pytest.mark.parametrize("stream, message", [
    (edited(STREAM_RGB, high_bitdepth=1), "bit depth is 10, expected 8"),
    (edited(STREAM_GREY, high_bitdepth=1), "bit depth is 10, expected 8"),
    (edited(STREAM_RGB, profile=2, high_bitdepth=1, twelve_bit=1), "bit depth is 12, expected 8"),
    (edited(STREAM_RGB, profile=1, ssx=0, ssy=0), "subsampling is 4:4:4"),
    (edited(STREAM_RGB, profile=2, ssx=1, ssy=0), "subsampling is 4:2:2"),
    (edited(STREAM_RGB, cicp=(1, 13, 0)), "subsampling is 4:4:4"),
    (edited(STREAM_RGB, profile=1, cicp=(1, 13, 0)), "subsampling is 4:4:4"),
    (edited(STREAM_RGB, cicp=(2, 2, 0)), "identity"),
    (edited(STREAM_RGB, still=0), "still_picture is 0"),
    (edited(STREAM_RGB, profile=5), "seq_profile 5 is reserved"),
])
def test_undecodable_sequence_headers_are_refused(no_pixel_decoding, stream, message):
    with pytest.raises(AbcError, match=message):
        av1.decode(stream, 3, (33, 20))


def test_channel_mismatch_is_refused(no_pixel_decoding):
    with pytest.raises(AbcError, match=r"monochrome \(4:0:0\), but 3 channels expected"):
        av1.decode(STREAM_GREY, 3, (33, 20))
    with pytest.raises(AbcError, match=r"colour \(4:2:0\), but 1 channel expected"):
        av1.decode(STREAM_RGB, 1, (33, 20))


SEQUENCE, FRAME = split(STREAM_RGB)
TD = (obu.OBU_TEMPORAL_DELIMITER, b"")


@pytest.mark.parametrize("stream, message", [
    (b"", "empty"),
    (join([FRAME]), "OBU 0 is a frame, expected the sequence header"),
    (join([TD, FRAME]), "OBU 1 is a frame, expected the sequence header"),
    (join([TD]), "OBU 1 is missing, expected the sequence header"),
    (join([SEQUENCE]), "no frame"),
    (join([SEQUENCE, SEQUENCE, FRAME]), "OBU 1 is a sequence header, not allowed"),
    (join([SEQUENCE, FRAME, SEQUENCE]), "OBU 2 is a sequence header, not allowed"),
    (join([TD, TD, SEQUENCE, FRAME]), "OBU 1 is a temporal delimiter, expected the sequence header"),
    (join([SEQUENCE, TD, FRAME]), "OBU 1 is a temporal delimiter, not allowed"),
    (join([(obu.OBU_TEMPORAL_DELIMITER, b"\x00"), SEQUENCE, FRAME]), "temporal delimiter carries 1 bytes"),
    (join([SEQUENCE, FRAME, FRAME]), "OBU 2 starts a second frame"),
    (join([SEQUENCE, (obu.OBU_TILE_GROUP, FRAME[1])]), "OBU 1 is a tile group before any frame header"),
    (join([SEQUENCE, (obu.OBU_FRAME_HEADER, FRAME[1][:4])]), "no frame"),
    (join([SEQUENCE, (obu.OBU_TILE_LIST, b"")]), "tile list, not allowed"),
    (join([SEQUENCE, (0, b""), FRAME]), "obu_type 0 is reserved"),
    (join([SEQUENCE, (12, b""), FRAME]), "obu_type 12 is reserved"),
    (STREAM_RGB + b"\x00", "obu_type 0 is reserved"),
    (STREAM_RGB + b"\x12", "ends inside its obu_size"),
    (STREAM_RGB + b"\x78\x00", "obu_has_size_field is 0"),
    (STREAM_RGB + b"\x92\x00", "obu_forbidden_bit is 1"),
    (STREAM_RGB + b"\x16", "ends inside its extension header"),
    (STREAM_RGB + b"\x7a\x05\x00", "runs past the end"),
    (b"\x0a" + b"\x80" * 8 + b"\x00", "obu_size is longer than 8 bytes"),
    (b"\x0a\xff\xff\xff\xff\x10", "exceeds 4294967295"),
    (join([(obu.OBU_SEQUENCE_HEADER, SEQUENCE[1][:5]), FRAME]), "sequence header ends inside"),
    (join([(obu.OBU_SEQUENCE_HEADER, SEQUENCE[1] + b"\x01"), FRAME]), "non-zero bits after its trailing one bit"),
    (join([(obu.OBU_SEQUENCE_HEADER, SEQUENCE[1][:-1] + bytes([SEQUENCE[1][-1] | 1])), FRAME]), "trailing"),
    (join([(obu.OBU_SEQUENCE_HEADER, SEQUENCE[1][:-1] + b"\x00"), FRAME]), "trailing"),
])
def test_malformed_obu_streams_are_refused(no_pixel_decoding, stream, message):
    with pytest.raises(AbcError, match=f"^BASE: .*{message}"):
        av1.decode(stream, 3, (33, 20))


def test_known_obus_that_carry_nothing_are_accepted():
    padded = join([TD, SEQUENCE, (obu.OBU_PADDING, b"\x00\x00"), FRAME, (obu.OBU_PADDING, b"")])
    zero_padded_header = join([(obu.OBU_SEQUENCE_HEADER, SEQUENCE[1] + b"\x00\x00"), FRAME])  # AV1 §5.3.4 allows it
    assert np.array_equal(av1.decode(zero_padded_header, 3, (33, 20)), av1.decode(STREAM_RGB, 3, (33, 20)))
    assert np.array_equal(av1.decode(padded, 3, (33, 20)), av1.decode(STREAM_RGB, 3, (33, 20)))


def test_too_many_obus_are_refused(no_pixel_decoding):
    padding = [(obu.OBU_PADDING, b"")] * obu.MAX_OBUS
    with pytest.raises(AbcError, match=f"more than {obu.MAX_OBUS} OBUs"):
        av1.decode(join([SEQUENCE, FRAME, *padding]), 3, (33, 20))


def test_a_frame_that_dav1d_rejects_is_an_abc_error():
    headers_only = join([SEQUENCE, (obu.OBU_FRAME, FRAME[1][:4])])  # the frame header, no tiles
    av1_headers.parse_headers(headers_only)
    with pytest.raises(AbcError, match=r"^BASE: AV1 stream could not be decoded \("):
        av1.decode(headers_only, 3, (33, 20))


@pytest.mark.parametrize("channels, max_size, message", [
    (2, (33, 20), "channels 2 is not 1"),
    (True, (33, 20), "channels True is not 1"),
    (3, [33, 20], "is not a"),
    (3, (33,), "is not a"),
    (3, (0, 20), "max_size width 0 outside"),
    (3, (33, 2.5), "max_size height must be an integer"),
])
def test_bad_decode_arguments_are_refused(channels, max_size, message):
    with pytest.raises(AbcError, match=message):
        av1.decode(STREAM_RGB, channels, max_size)


# --- the AVIF reader (of libavif's output) ----------------------------------------------------


@pytest.mark.parametrize("cut", [0, 7, 8, 31, 40, 100, 200, 280])
def test_truncated_avif_is_refused_by_the_item_reader(cut):
    with pytest.raises(AbcError, match="^BASE: "):
        avif_boxes.primary_item_data(av1.encode_avif(SMALL_RGB, 30, 9)[:cut])


def test_item_reader_refuses_an_item_that_is_not_av1():
    avif = av1.encode_avif(SMALL_RGB, 30, 9)
    assert avif.count(b"av01Color") == 1
    with pytest.raises(AbcError, match="not an AV1 image item"):
        avif_boxes.primary_item_data(avif.replace(b"av01Color", b"gridColor"))
