"""The base layer's coefficient coder (abcodec/coefcode.py, format_spec/abc.md §10.1), written by
tests/v2_encoder.py and read by the package."""

import re
from pathlib import Path

import numpy as np
import pytest
import zstandard

from abcodec import coefcode
from abcodec.container import AbcError
from tests.v2_encoder import encode_planes

SPEC = Path(__file__).resolve().parent.parent / "format_spec" / "abc.md"


def laplacian_values(n: int, seed: int = 0) -> np.ndarray:
    """(n, 64) values shrinking with frequency, like quantised DCT coefficients."""
    rng = np.random.default_rng(seed)
    u, v = np.divmod(np.arange(64), 8)
    scale = 6.0 * np.exp(-0.45 * (u + v))
    values = np.rint(rng.laplace(0.0, scale, (n, 64))).astype(np.int64)
    values[:, 0] = rng.integers(-40, 41, n)
    return values


@pytest.mark.parametrize("counts", [[1], [63], [64, 65], [3000, 1, 700]])
def test_round_trip_is_exact(counts):
    planes = [laplacian_values(n, seed=n) for n in counts]
    decoded = coefcode.decode_planes(encode_planes(planes), counts)
    assert all(np.array_equal(a, b) for a, b in zip(planes, decoded))


def test_extreme_values_round_trip():
    values = np.zeros((3, 64), np.int64)
    values[0, 0], values[1, 63], values[2, 5] = coefcode.MAX_VALUE, -coefcode.MAX_VALUE, 4000
    assert np.array_equal(coefcode.decode_planes(encode_planes([values]), [3])[0], values)
    values[0, 1] = coefcode.MAX_VALUE + 1
    with pytest.raises(AbcError, match="exceeds the coder's range"):
        encode_planes([values])


def test_band_order_is_by_frequency_then_row():
    assert [divmod(int(i), 8) for i in coefcode.BAND_ORDER[:6]] == [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0)]


def test_chunks_grow_with_the_plane_but_stay_few():
    assert list(coefcode.chunk_bounds(1)) == [0, 1]
    assert list(coefcode.chunk_bounds(64)) == [0, 64]
    assert list(coefcode.chunk_bounds(65)) == [0, 32, 65]
    bounds = coefcode.chunk_bounds(10**6)
    assert len(bounds) == coefcode.MAX_BAND_CHUNKS + 1 and bounds[-1] == 10**6 and np.all(np.diff(bounds) > 0)


def test_context_class_counts_the_edges_below_the_neighbours_mean():
    values = np.zeros((4, 64), np.int64)
    values[:, 1] = [0, 1, 0, 6]   # (0, 1): left neighbour of (0, 2), upper of (1, 1)
    values[:, 8] = [0, 0, 3, 6]   # (1, 0): left neighbour of (1, 1)
    assert list(coefcode._classes(values, 2)) == [0, 2, 0, 5]     # means 0, 1, 0, 6
    assert list(coefcode._classes(values, 9)) == [0, 1, 3, 5]     # means 0, 0.5, 1.5, 6
    assert list(coefcode._classes(values, 0)) == [0, 0, 0, 0]


def test_beats_zstd_on_coefficient_like_data():
    """Why the coder exists: the same values as zstd's bytes (low then high) cost more."""
    values = laplacian_values(2000)
    z = np.where(values >= 0, 2 * values, -2 * values - 1).astype(np.uint16).T.ravel()
    zstd_size = len(zstandard.ZstdCompressor(level=17).compress(((z & 255).astype(np.uint8)).tobytes() + (z >> 8).astype(np.uint8).tobytes()))
    assert len(encode_planes([values])) < 0.85 * zstd_size


def test_deterministic_bytes():
    values = laplacian_values(300)
    assert encode_planes([values]) == encode_planes([values.copy()])


def test_bad_data_is_refused_by_name():
    data = encode_planes([laplacian_values(100)])
    with pytest.raises(AbcError, match="not a whole number of 32-bit words"):
        coefcode.decode_planes(data[:-1], [100])
    with pytest.raises(AbcError, match="not an ANS stream"):
        coefcode.decode_planes(data + bytes(4), [100])
    with pytest.raises(AbcError, match="does not end where the last coefficient does"):
        coefcode.decode_planes(data, [10])


def test_spec_test_vector():
    """§10.1's vector: one plane of two blocks; the words the spec lists, little-endian."""
    values = np.zeros((2, 64), np.int64)
    values[0, 0], values[0, 1], values[0, 8], values[1, 0], values[1, 9] = 5, -1, 2, -3, 1
    text = SPEC.read_text().split("<!-- coefcode vector -->")[1]
    expected = bytes.fromhex(re.search(r"`([0-9a-f ]+)`", text).group(1))
    assert encode_planes([values]) == expected
    assert np.array_equal(coefcode.decode_planes(expected, [2])[0], values)
