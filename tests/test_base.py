"""The base layer of version 3 (abcodec/base.py, format_spec/abc.md §12) and how the codec uses it."""

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import av1, av1_headers, base, container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.container import AbcError
from abcodec.demo import jpeg_at_most
from abcodec.options import header_for
from abcodec.reconstruct import canvas_of

ASTRONAUT = np.asarray(Image.fromarray(data.astronaut()).resize((192, 128)))


@pytest.mark.parametrize(("height", "width", "channels"), [(1, 1, 3), (1, 1, 1), (17, 9, 3), (9, 40, 1), (128, 192, 3)])
def test_payload_round_trip_keeps_the_shape_and_the_picture(height, width, channels):
    image = np.asarray(Image.fromarray(data.astronaut()).resize((width, height)))
    image = image if channels == 3 else image[..., 0]
    payload = base.encode_base(image, max(40, height * width // 4))
    decoded = base.decode_base(payload, channels, (height, width))
    assert decoded.shape == image.shape and decoded.dtype == np.float32
    if height * width > 1000:
        assert np.abs(decoded - image).mean() < 12


def test_low_rates_shrink_the_frame_and_the_decoder_upsamples_it():
    payload = base.encode_base(ASTRONAUT, 60)
    header = av1_headers.parse_sequence_header(payload)
    assert header.width < 192 and header.height < 128 and len(payload) <= 60
    assert base.decode_base(payload, 3, (128, 192)).shape == (128, 192, 3)
    assert base.frame_size((192, 128), 1000) == (12, 8)
    assert base.frame_size((192, 128), 0.5) == (192, 128)
    assert [base.scale_for(bpp) for bpp in (1.0, 0.1, 0.05, 0.02, 0.001)] == sorted(
        base.scale_for(bpp) for bpp in (1.0, 0.1, 0.05, 0.02, 0.001))


def test_a_frame_outside_the_images_bounds_is_refused_before_decoding(monkeypatch):
    payload = av1.encode(ASTRONAUT, 40)
    monkeypatch.setattr(av1, "decode", lambda *args: pytest.fail("decoded"))
    with pytest.raises(AbcError, match="BASE: AV1 frame of 192x128 for a 191x128 image"):
        base.decode_base(payload, 3, (128, 191))
    tiny = av1.encode(ASTRONAUT[:4, :8], 40)
    with pytest.raises(AbcError, match="it must lie within 12x8"):
        base.decode_base(tiny, 3, (128, 192))


def test_the_rate_guide_is_a_rate_proxy_per_16_pixel_block_times_2_to_the_emphasis():
    flat_left = np.random.default_rng(3).integers(0, 256, (128, 192, 3), dtype=np.uint8)
    flat_left[:, :96] = 120
    zero = np.zeros((128, 192), np.float32)
    guide = base.rate_guide(flat_left, zero)
    assert guide.shape == (8, 12) and guide.min() > 0
    # a flat block asks for the floor, a textured one for more
    assert guide[:, :5] == pytest.approx(base.RATE_PROXY_FLOOR) and (guide[:, 7:] > 10 * base.RATE_PROXY_FLOOR).all()
    emphasis = zero.copy()
    emphasis[:64, :] = 2.0                               # whole blocks: rows 0..3 of the guide
    np.testing.assert_allclose(base.rate_guide(flat_left, emphasis)[:4], 4 * guide[:4])
    np.testing.assert_allclose(base.rate_guide(flat_left, emphasis)[4:], guide[4:])
    # a partial edge block is averaged over its part inside the image
    assert base.rate_guide(ASTRONAUT[:, :100], zero[:, :100]).shape == (8, 7)


def test_a_rate_guide_moves_the_bytes_to_the_blocks_it_favours():
    """libaom's own delta-q does the work: at one quantizer, the favoured half is coded finer than
    when the other half is favoured."""
    left = np.full((128, 192), -3.0, np.float32)
    left[:, :96] = 3.0
    errors = {}
    for name, emphasis in (("left", left), ("right", -left)):
        decoded = av1.decode(av1.encode(ASTRONAUT, 45, 6, 2, base.rate_guide(ASTRONAUT, emphasis)), 3, (192, 128))
        difference = np.abs(decoded.astype(float) - ASTRONAUT)
        errors[name] = (difference[:, :96].mean(), difference[:, 96:].mean())
    assert errors["left"][0] < 0.9 * errors["right"][0]
    assert errors["right"][1] < 0.9 * errors["left"][1]


@pytest.mark.parametrize("guide", [np.ones((8, 11)), np.zeros((8, 12)), np.full((8, 12), np.inf)])
def test_a_rate_guide_libaom_would_misread_is_refused(guide):
    with pytest.raises(AbcError, match="rate guide for a 192x128 frame must be"):
        av1.encode(ASTRONAUT, 45, 9, 2, guide)


def test_the_rate_guide_file_is_written_whole_and_removed():
    with av1.rate_guide_options(np.arange(1, 7, dtype=float).reshape(2, 3), (20, 40)) as options:
        path = options["rate-distribution-info"]
        assert open(path).read().split() == ["1", "2", "3", "4", "5", "6"]
        assert options["deltaq-mode"] == "3" and options["enable-rate-guide-deltaq"] == "1"
    assert not os.path.exists(path)
    with av1.rate_guide_options(None, (20, 40)) as options:
        assert options is None


def test_default_encode_is_base_only():
    """The rate it meets is tests/test_codec.py's test_bpp_target_is_met_from_below."""
    abc = container.read_file(encode(np.asarray(Image.fromarray(data.astronaut()).resize((384, 256)))))
    assert abc.base is not None and abc.mask is None and abc.pixels is None
    assert abc.header.version == 3


def test_base_beats_jpeg_at_equal_bytes_on_a_photograph():
    """The point of the layer: at 0.3 bpp the fast decode alone is far above JPEG of no more bytes."""
    image = np.asarray(Image.fromarray(data.astronaut()).resize((384, 256)))
    encoded = encode(image, options=EncodeOptions(bpp=0.3))
    ours = structural_similarity(image, np.asarray(decode(encoded, inpainter="diffusion")), channel_axis=2,
                                 data_range=255)
    _, jpeg = jpeg_at_most(image, len(encoded))
    theirs = structural_similarity(image, np.asarray(Image.open(io.BytesIO(jpeg))), channel_axis=2, data_range=255)
    assert ours > theirs + 0.05


def test_options_for_the_layers_are_checked():
    assert EncodeOptions().blocks is None and EncodeOptions(blocks=True).blocks == BlockLayer()
    assert EncodeOptions(blocks={"keep": 0.3}).blocks == BlockLayer(keep=0.3)
    with pytest.raises(AbcError, match="blocks must be a BlockLayer"):
        EncodeOptions(blocks="yes")
    for speed, message in ((11, "speed 11 outside 0..10"), (-1, "speed -1"), (2.5, "speed must be an integer")):
        with pytest.raises(AbcError, match=message):
            EncodeOptions(speed=speed)
    no_base = container.read_file(encode(ASTRONAUT, options=EncodeOptions(bpp=0.5, blocks=BlockLayer())))
    assert no_base.base is None and canvas_of(no_base)[1].any()
    fast = encode(ASTRONAUT, options=EncodeOptions(bpp=0.5, speed=9))
    assert fast != encode(ASTRONAUT, options=EncodeOptions(bpp=0.5)) and len(fast) <= 0.5 * 192 * 128 / 8


def blocks_on_base(image: np.ndarray) -> bytes:
    """An AV1 base with a sparse grid of 4×4 blocks (every 4th row and column) kept exactly (q = 1)."""
    from abcodec.codec import _assemble

    options = EncodeOptions(inpainter="diffusion", blocks=BlockLayer(q_luma=1, q_chroma=1, chroma_shift=0))
    header = header_for(options, width=image.shape[1], height=image.shape[0], mode=container.MODE_RGB)
    mask = np.zeros(header.grid_shape, bool)
    mask[1::4, 1::4] = True
    return container.write_file(_assemble(header, mask, image, {}, base.encode_base(image, 800)))


def test_kept_blocks_are_exact_on_a_base_and_fade_out_within_a_block():
    encoded = blocks_on_base(ASTRONAUT)
    abc = container.read_file(encoded)
    canvas, mask = canvas_of(abc)
    decoded = np.asarray(decode(abc)).astype(int)
    base_only = np.clip(np.rint(base.decode_base(abc.base, 3, ASTRONAUT.shape[:2])), 0, 255).astype(int)
    kept = canvas.luma_known
    assert np.abs(decoded[kept] - ASTRONAUT[kept]).max() <= 2   # YCbCr rounding only
    near = np.kron(ndimage.binary_dilation(mask, np.ones((3, 3), bool)), np.ones((4, 4), bool))
    far = ~near[: ASTRONAUT.shape[0], : ASTRONAUT.shape[1]]
    assert far.any() and np.abs(decoded[far] - base_only[far]).max() <= 1  # through YCbCr and back
    pasted = base_only.copy()
    pasted[kept] = ASTRONAUT[kept]
    rows, cols = np.nonzero(mask[:, :-1] & ~mask[:, 1:])
    edge_x = 4 * cols + 4
    seam = [np.abs(image[4 * r : 4 * r + 4, x] - image[4 * r : 4 * r + 4, x - 1]).mean()
            for image in (decoded, pasted) for r, x in zip(rows, edge_x)]
    blended, naive = np.mean(seam[: len(rows)]), np.mean(seam[len(rows):])
    assert blended < 0.8 * naive


RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "RESULTS.md"


def calibrated_quantizers() -> tuple[int, ...]:
    """The quality scale as benchmarks.quality measured and printed it (RESULTS.md, "The quality
    scale"): the expected values come from the measurement, not from base.py."""
    section = RESULTS.read_text().split("## The quality scale")[1]
    return tuple(int(q) for q in re.search(r"QUANTIZER_FOR_QUALITY = \(([0-9, ]+)\)", section).group(1).split(","))


def libaom_qindex(quantizer: int) -> int:
    """libaom's quantizer_to_qindex (av1/encoder/av1_quantize.c): 4 q, then 249 and 255 for 62 and 63."""
    return {62: 249, 63: 255}.get(quantizer, 4 * quantizer)


@pytest.mark.parametrize("quality", [0, 10, 50, 75, 90, 100])
def test_a_quality_codes_the_quantizer_its_calibration_chose(quality):
    """Which quantizer a quality names is read back from the AV1 frame header (base_q_idx, AV1
    §5.9.12), against the table RESULTS.md records."""
    table = calibrated_quantizers()
    assert len(table) == 101 and list(table) == sorted(table, reverse=True)
    payload = container.read_file(encode(ASTRONAUT[:48, :64], options=EncodeOptions(quality=quality))).base
    assert av1_headers.base_q_idx(payload, av1_headers.parse_sequence_header(payload)) == libaom_qindex(table[quality])


def test_base_file_round_trips_through_pillow(tmp_path):
    path = tmp_path / "a.abc"
    Image.fromarray(ASTRONAUT).save(path, bpp=0.4, speed=8)
    with Image.open(path) as im:
        assert im.size == (192, 128)
        np.testing.assert_array_equal(np.asarray(im), np.asarray(decode(path.read_bytes())))
        assert structural_similarity(ASTRONAUT, np.asarray(im), channel_axis=2, data_range=255) > 0.75  # 0.80 measured; blank: 0.18
    assert container.read_file(path.read_bytes()).base is not None
