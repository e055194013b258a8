"""The base layer (abcodec/base.py, format_spec/abc.md §10) and how the codec uses it."""

import io
import struct

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import base, container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.options import header_for
from abcodec.reconstruct import canvas_of
from abcodec.container import AbcError
from abcodec.demo import jpeg_at_most

ASTRONAUT = np.asarray(Image.fromarray(data.astronaut()).resize((192, 128)))


def payload_for(image: np.ndarray, params: base.BaseParams) -> bytes:
    planes = base.image_planes(image)
    coarse = [base.least_squares_coarse(p, t) for p, t in zip(planes, params.plane_strides(len(planes)))]
    return base.pack_base([base.transform(c) for c in coarse], params, [base.DEADZONE] * len(coarse))


def params(stride: int = 8, chroma_stride: int = 16, step: float = 8.0) -> base.BaseParams:
    """Strides in quarter pixels, as the format stores them."""
    return base.BaseParams(stride, chroma_stride, step, 1.5 * step, base.SLOPE)


def spec_line_upsample(line: np.ndarray, m: int, r: int) -> np.ndarray:
    """§10 step 4 for one line, written out sample by sample from the spec's words."""
    def keys(d: float) -> float:
        d = abs(d)
        return 1.5 * d**3 - 2.5 * d**2 + 1 if d <= 1 else -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2 if d < 2 else 0.0

    out = np.zeros(m)
    for i in range(m):
        x = (4 * i + 2) / r - 0.5
        for j in range(int(np.floor(x)) - 1, int(np.floor(x)) + 3):
            out[i] += keys(x - j) * line[min(max(j, 0), len(line) - 1)]
    return out


def test_upsample_follows_the_spec_formula():
    coarse = np.random.default_rng(0).uniform(0, 255, (5, 7))
    for quarters in (5, 6, 8, 12, 20):
        size = (5 * quarters // 4 - 1, 7 * quarters // 4 + 1)
        columns = np.stack([spec_line_upsample(coarse[:, c], size[0], quarters) for c in range(7)], axis=1)
        expected = np.stack([spec_line_upsample(row, size[1], quarters) for row in columns])
        assert np.allclose(base.upsample(coarse, size, quarters), expected, atol=1e-9)


def test_upsample_keeps_constants_and_reproduces_ramps_away_from_the_border():
    assert np.allclose(base.upsample(np.full((4, 5), 77.0), (12, 15), 12), 77.0)
    ramp = np.add.outer(np.arange(10.0), 2 * np.arange(10.0))
    for quarters in (16, 10):
        up = base.upsample(ramp, (24, 24), quarters)
        y, x = np.mgrid[0:24, 0:24]
        expected = ((4 * y + 2) / quarters - 0.5) + 2 * ((4 * x + 2) / quarters - 0.5)
        assert np.allclose(up[6:-6, 6:-6], expected[6:-6, 6:-6])
    coarse = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(base.upsample(coarse, (2, 3), 4), coarse[:2, :3])


def test_least_squares_samples_upsample_closer_than_box_means():
    plane = base.image_planes(ASTRONAUT)[0]
    for stride in (2, 3, 4):
        rows, cols = base.coarse_shape(plane.shape, 4 * stride)
        padded = np.pad(plane, ((0, rows * stride - plane.shape[0]), (0, cols * stride - plane.shape[1])), mode="edge")
        box = padded.reshape(rows, stride, cols, stride).mean(axis=(1, 3))
        least_squares = base.least_squares_coarse(plane, 4 * stride)
        error_box = np.sqrt(np.mean((base.upsample(box, plane.shape, 4 * stride) - plane) ** 2))
        error_ls = np.sqrt(np.mean((base.upsample(least_squares, plane.shape, 4 * stride) - plane) ** 2))
        assert error_ls < 0.95 * error_box


def test_dc_band_is_coded_as_differences_left_then_above():
    indices = np.zeros((2, 2, 8, 8), np.int64)
    indices[..., 0, 0] = [[5, 3], [7, 7]]
    indices[0, 1, 2, 1] = -4
    values = base._plane_values(indices)
    assert list(values[:, 0]) == [5, -2, 2, 0]
    assert values[1, 17] == -4
    assert np.array_equal(base._plane_indices(values, (2, 2)), indices)


@pytest.mark.parametrize("quarters", [6, 8])
@pytest.mark.parametrize(("height", "width", "channels"), [(1, 1, 3), (1, 1, 1), (17, 9, 3), (9, 40, 1), (128, 192, 3)])
def test_payload_round_trip_matches_what_the_encoder_predicts(height, width, channels, quarters):
    image = np.asarray(Image.fromarray(data.astronaut()).resize((width, height)))
    image = image if channels == 3 else image[..., 0]
    chosen = params(stride=quarters, chroma_stride=2 * quarters if channels == 3 else 0)
    planes = base.unpack_base(payload_for(image, chosen), channels, (height, width))
    assert len(planes) == channels and all(p.shape == (height, width) for p in planes)
    expected = []
    for plane, t, q in zip(base.image_planes(image), chosen.plane_strides(channels), chosen.plane_steps(channels)):
        indices = base.quantise(base.transform(base.least_squares_coarse(plane, t)), q, chosen.slope, base.DEADZONE)
        expected.append(base.upsample(base.reconstruct(indices, q, chosen.slope, base.coarse_shape((height, width), t)), (height, width), t))
    assert all(np.allclose(a, b) for a, b in zip(planes, expected))


def test_finest_step_at_stride_1_is_nearly_lossless():
    image = ASTRONAUT[:40, :48]
    planes = base.unpack_base(payload_for(image, base.BaseParams(4, 4, 0.5, 0.5, 0.0)), 3, image.shape[:2])
    assert np.abs(base.planes_to_image(planes).astype(int) - image).max() <= 2


def test_fields_are_validated():
    good = payload_for(ASTRONAUT, params())
    fields = base._FIELDS.unpack_from(good)
    for index, value, message in [
        (0, 0, "stride 0 outside 4..64"), (0, 65, "stride 65"), (1, 3, "chroma stride 3"),
        (2, float("nan"), "step luma nan"), (2, 0.25, "step luma 0.25"), (3, 2000.0, "step chroma 2000"),
        (4, -1.0, "slope -1"), (4, float("inf"), "slope inf"),
    ]:
        changed = list(fields)
        changed[index] = value
        with pytest.raises(AbcError, match=f"BASE: {message}"):
            base.unpack_base(base._FIELDS.pack(*changed) + good[base.FIELDS_SIZE:], 3, (128, 192))


def test_bad_payloads_are_refused_by_name():
    good = payload_for(ASTRONAUT, params())
    size = (128, 192)
    with pytest.raises(AbcError, match="shorter than its 14 bytes"):
        base.unpack_base(good[:10], 3, size)
    with pytest.raises(AbcError, match="chroma stride 16 does not suit a 1-channel image"):
        base.unpack_base(good, 1, size)
    with pytest.raises(AbcError, match="BASE: coefficient data"):
        base.unpack_base(good + bytes(4), 3, size)
    with pytest.raises(AbcError, match="BASE: coefficient data does not end"):
        base.unpack_base(good, 3, (64, 96))


def test_corrupt_coefficients_never_crash():
    """ANS decodes any words to some values; the container's CRC is what detects corruption."""
    good = payload_for(ASTRONAUT, params())
    rng = np.random.default_rng(1)
    for _ in range(30):
        bad = bytearray(good)
        bad[rng.integers(base.FIELDS_SIZE, len(bad))] ^= 1 << int(rng.integers(0, 8))
        try:
            planes = base.unpack_base(bytes(bad), 3, (128, 192))
        except AbcError:
            continue
        assert base.planes_to_image(planes).shape == (128, 192, 3)


@pytest.mark.parametrize("bpp", [0.1, 0.3, 0.8])
def test_encode_base_fits_the_budget_closely(bpp):
    budget = int(bpp * 128 * 192 / 8)
    payload = base.encode_base(ASTRONAUT, budget)
    assert (1 - base.RATE_TOLERANCE) * budget - 40 <= len(payload) <= budget
    assert base.unpack_fields(payload).stride_quarters == 4 * base.stride_for(8 * budget / (128 * 192))


def test_tiny_budget_gives_the_coarsest_step_not_an_error():
    payload = base.encode_base(ASTRONAUT, 1)
    assert base.unpack_fields(payload).step_luma == pytest.approx(base.STEP_RANGE[1])


def test_stride_grows_as_the_rate_falls():
    strides = [base.stride_for(bpp) for bpp in (2.0, 0.5, 0.2, 0.1, 0.04, 0.01)]
    assert strides == sorted(strides) and strides[0] == 1 and strides[-1] > 3


def test_default_encode_is_base_only_and_hits_the_rate():
    image = np.asarray(Image.fromarray(data.astronaut()).resize((384, 256)))
    for bpp in (0.1, 0.25, 0.5):
        encoded = encode(image, options=EncodeOptions(bpp=bpp))
        abc = container.read_file(encoded)
        assert abc.base is not None and not canvas_of(abc)[1].any()
        assert abs(8 * len(encoded) / (384 * 256) - bpp) <= 0.05 * bpp


def test_base_beats_jpeg_at_equal_bytes_on_a_photograph():
    """The point of the layer: at 0.2 bpp JPEG cannot even reach the rate (quality 1 spends more)."""
    image = np.asarray(Image.fromarray(data.astronaut()).resize((384, 256)))
    encoded = encode(image, options=EncodeOptions(bpp=0.3))
    ours = structural_similarity(image, np.asarray(decode(encoded)), channel_axis=2, data_range=255)
    _, jpeg = jpeg_at_most(image, len(encoded))
    theirs = structural_similarity(image, np.asarray(Image.open(io.BytesIO(jpeg))), channel_axis=2, data_range=255)
    assert ours > theirs + 0.02


def test_options_for_the_layers_are_checked():
    assert EncodeOptions().blocks is None and EncodeOptions(blocks=True).blocks == BlockLayer()
    assert EncodeOptions(blocks={"keep": 0.3}).blocks == BlockLayer(keep=0.3)
    with pytest.raises(AbcError, match="blocks must be a BlockLayer"):
        EncodeOptions(blocks="yes")
    for stride in (17, 0.5, 2.3):
        with pytest.raises(AbcError, match=f"base stride {stride} must be a multiple of 0.25 from 1 to 16"):
            EncodeOptions(base_stride=stride)
    with pytest.raises(AbcError, match="base_stride must be a number"):
        EncodeOptions(base_stride="2")
    no_base = container.read_file(encode(ASTRONAUT, options=EncodeOptions(bpp=0.5, blocks=BlockLayer())))
    assert no_base.base is None and canvas_of(no_base)[1].any()
    for stride in (5, 1.5):
        encoded = encode(ASTRONAUT, options=EncodeOptions(base_stride=stride))
        assert base.unpack_fields(container.read_file(encoded).base).stride_quarters == 4 * stride


def blocks_on_base(image: np.ndarray) -> bytes:
    """A base layer with a sparse grid of 4×4 blocks (every 4th row and column) kept exactly (q = 1)."""
    from abcodec.codec import _assemble

    options = EncodeOptions(inpainter="diffusion", blocks=BlockLayer(q_luma=1, q_chroma=1, chroma_shift=0))
    header = header_for(options, width=image.shape[1], height=image.shape[0], mode=container.MODE_RGB)
    mask = np.zeros(header.grid_shape, bool)
    mask[1::4, 1::4] = True
    return container.write_file(_assemble(header, mask, image, {}, base.encode_base(image, 800, stride=4)))


def test_kept_blocks_are_exact_on_a_base_and_fade_out_within_a_block():
    encoded = blocks_on_base(ASTRONAUT)
    abc = container.read_file(encoded)
    canvas, mask = canvas_of(abc)
    decoded = np.asarray(decode(abc)).astype(int)
    base_only = base.planes_to_image(base.unpack_base(abc.base, 3, ASTRONAUT.shape[:2])).astype(int)
    kept = canvas.luma_known
    assert np.abs(decoded[kept] - ASTRONAUT[kept]).max() <= 2   # YCbCr rounding only
    near = np.kron(ndimage.binary_dilation(mask, np.ones((3, 3), bool)), np.ones((4, 4), bool))
    far = ~near[: ASTRONAUT.shape[0], : ASTRONAUT.shape[1]]
    assert far.any() and np.array_equal(decoded[far], base_only[far])
    pasted = base_only.copy()
    pasted[kept] = ASTRONAUT[kept]
    rows, cols = np.nonzero(mask[:, :-1] & ~mask[:, 1:])
    edge_x = 4 * cols + 4
    seam = [np.abs(image[4 * r : 4 * r + 4, x] - image[4 * r : 4 * r + 4, x - 1]).mean()
            for image in (decoded, pasted) for r, x in zip(rows, edge_x)]
    blended, naive = np.mean(seam[: len(rows)]), np.mean(seam[len(rows):])
    assert blended < 0.8 * naive


def test_base_file_round_trips_through_pillow(tmp_path):
    path = tmp_path / "a.abc"
    Image.fromarray(ASTRONAUT).save(path, bpp=0.4, base_stride=3)
    with Image.open(path) as im:
        assert im.size == (192, 128)
        im.load()
    assert base.unpack_fields(container.read_file(path.read_bytes()).base).stride_quarters == 12


def test_base_field_table_in_the_spec_matches_the_code():
    from pathlib import Path

    spec = (Path(__file__).resolve().parent.parent / "format_spec" / "abc.md").read_text()
    section = spec.split("## §10 BASE chunk")[1]
    rows = [line.split("|")[1:4] for line in section.splitlines() if line.startswith("| ") and line[2].isdigit()]
    offsets = [(int(offset), int(size)) for offset, size, _ in rows[:5]]
    assert offsets == [(0, 1), (1, 1), (2, 4), (6, 4), (10, 4)]
    assert struct.calcsize(base._FIELDS.format) == base.FIELDS_SIZE == 14
    assert f"4 .. {base.MAX_QUARTERS}" in section and f"{base.STEP_RANGE[0]:g} .. {base.STEP_RANGE[1]:g}" in section


def test_importance_widens_the_dead_zone_of_unimportant_blocks_only():
    importance = np.zeros((64, 64), np.float32)
    importance[:32] = 1.0
    zones = base.deadzones_for(importance, 4)            # stride 1: 8×8-pixel blocks, an 8×8 grid
    assert np.allclose(zones[:4], base.DEADZONE)
    assert np.allclose(zones[4:], base.DEADZONE + base.IMPORTANCE_DEADZONE)
    assert np.allclose(base.deadzones_for(np.full((64, 64), 0.4, np.float32), 8), base.DEADZONE)
    coefficients = np.full((1, 2, 8, 8), 10.0)
    indices = base.quantise(coefficients, 8.0, 0.0, np.array([[0.1, 1.2]]))
    assert indices[0, 0, 0, 1] == 1 and indices[0, 1, 0, 1] == 0 and indices[0, 1, 0, 0] == 1
