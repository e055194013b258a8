"""Format 2's DCT base layer (abcodec/dctbase.py, format_spec/abc.md §10), which version 2 files carry;
the payloads the decoder reads here come from the writer in tests/v2_encoder.py."""

import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from abcodec import container
from abcodec import dctbase as base
from abcodec.codec import decode
from abcodec.container import AbcError
from tests import v2_encoder

ASTRONAUT = np.asarray(Image.fromarray(data.astronaut()).resize((192, 128)))


DEADZONE = 0.1
SLOPE = 0.2
"""What abcodec 0.3's encoder used; any values make a valid payload."""

VECTORS = Path(__file__).resolve().parent.parent / "format_spec" / "vectors"


def coarse_of(plane: np.ndarray, quarters: int) -> np.ndarray:
    """Any coarse grid of the right shape will do for the decoder's tests: a bilinear shrink."""
    rows, cols = base.coarse_shape(plane.shape, quarters)
    return np.asarray(Image.fromarray(plane.astype(np.float32), "F").resize((cols, rows), Image.Resampling.BILINEAR),
                      dtype=np.float64)


def payload_for(image: np.ndarray, params: base.BaseParams) -> bytes:
    planes = v2_encoder.image_planes(image)
    coarse = [coarse_of(p, t) for p, t in zip(planes, params.plane_strides(len(planes)))]
    return v2_encoder.pack_base([v2_encoder.transform(c) for c in coarse], params, [DEADZONE] * len(coarse))


def params(stride: int = 8, chroma_stride: int = 16, step: float = 8.0) -> base.BaseParams:
    """Strides in quarter pixels, as the format stores them."""
    return base.BaseParams(stride, chroma_stride, step, 1.5 * step, SLOPE)


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


def test_dc_band_is_coded_as_differences_left_then_above():
    indices = np.zeros((2, 2, 8, 8), np.int64)
    indices[..., 0, 0] = [[5, 3], [7, 7]]
    indices[0, 1, 2, 1] = -4
    values = v2_encoder.plane_values(indices)
    assert list(values[:, 0]) == [5, -2, 2, 0]
    assert values[1, 17] == -4
    assert np.array_equal(base._plane_indices(values, (2, 2)), indices)


@pytest.mark.parametrize("quarters", [6, 8])
@pytest.mark.parametrize(("height", "width", "channels"), [(1, 1, 3), (1, 1, 1), (17, 9, 3), (9, 40, 1), (128, 192, 3)])
def test_payload_round_trip_matches_what_the_writer_predicts(height, width, channels, quarters):
    image = np.asarray(Image.fromarray(data.astronaut()).resize((width, height)))
    image = image if channels == 3 else image[..., 0]
    chosen = params(stride=quarters, chroma_stride=2 * quarters if channels == 3 else 0)
    planes = base.unpack_base(payload_for(image, chosen), channels, (height, width))
    assert len(planes) == channels and all(p.shape == (height, width) for p in planes)
    expected = []
    for plane, t, q in zip(v2_encoder.image_planes(image), chosen.plane_strides(channels), chosen.plane_steps(channels)):
        indices = v2_encoder.quantise(v2_encoder.transform(coarse_of(plane, t)), q, chosen.slope, DEADZONE)
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
        base.unpack_base(good, 3, (32, 48))


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


def test_base_field_table_in_the_spec_matches_the_code():
    spec = (Path(__file__).resolve().parent.parent / "format_spec" / "abc.md").read_text()
    section = spec.split("## §10 BASE chunk")[1].split("## §10.1")[0]
    rows = [line.split("|")[1:4] for line in section.splitlines() if line.startswith("| ") and line[2].isdigit()]
    offsets = [(int(offset), int(size)) for offset, size, _ in rows[:5]]
    assert offsets == [(0, 1), (1, 1), (2, 4), (6, 4), (10, 4)]
    assert struct.calcsize(base._FIELDS.format) == base.FIELDS_SIZE == 14
    assert f"4 .. {base.MAX_QUARTERS}" in section and f"{base.STEP_RANGE[0]:g} .. {base.STEP_RANGE[1]:g}" in section




def test_version_2_files_made_by_abcodec_0_3_still_decode():
    abc = container.read_file((VECTORS / "rgb-24x20-base-blocks.abc").read_bytes())
    assert abc.header.version == 2 and abc.mask is not None
    image = np.asarray(decode(abc, inpainter="diffusion"))
    expected = np.asarray(Image.open(VECTORS / "rgb-24x20-base-blocks.png"))
    assert np.abs(image.astype(int) - expected).max() <= 2
