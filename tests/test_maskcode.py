import hashlib

import numpy as np
import pytest

from abcodec.container import AbcError
from abcodec import maskcode
from abcodec.maskcode import decode_mask, encode_mask, max_payload_size

GOLDEN_8X8_HEX = "08d2862e45a751bf47640000"
"""The format's test vector (format_spec/abc.md §6, "mask vector"): the MASK payload of _golden_mask();
tests/test_conformance.py decodes it with a decoder written from the spec."""

GOLDEN_24X40_SHA256 = "3da074e794e369048893653e97f7a20450334889b8789d14c454c27bb2e14cf6"
"""SHA-256 of the MASK payload of _multi_chunk_mask() (passes of 16, 32, 64 and 128 blocks): a
snapshot of this encoder's output, not a spec vector, so a change here is noticed; whether such
payloads are right is tests/test_conformance.py's check (the spec's decoder reads them)."""


def _random_mask(shape, density, seed=0):
    return np.random.default_rng(seed).random(shape) < density


def _centre_square(shape):
    mask = np.zeros(shape, bool)
    rows, cols = shape
    mask[rows // 4:rows - rows // 4, cols // 4:cols - cols // 4] = True
    return mask


def _rings(shape):
    """Thick rings: clustered like edge masks, with curved borders at every angle."""
    i, j = np.mgrid[:shape[0], :shape[1]]
    radius = np.hypot(i - shape[0] / 3, j - shape[1] / 2)
    return (radius % 40 < 6) | (np.abs(i - j) < 3)


def _entropy_bits(mask):
    f = mask.mean()
    return -mask.size * (f * np.log2(f) + (1 - f) * np.log2(1 - f))


def _golden_mask():
    i, j = np.mgrid[:8, :8]
    return ((i - 3.5) ** 2 + (j - 2.5) ** 2 < 6) | (i == 7 - j) | ((i == 0) & (j >= 5))


def _multi_chunk_mask():
    return _rings((24, 40)) ^ _random_mask((24, 40), 0.1, seed=7)


def _round_trip(mask):
    payload = encode_mask(mask)
    assert len(payload) % 4 == 0
    decoded = decode_mask(payload, mask.shape)
    assert decoded.dtype == bool
    np.testing.assert_array_equal(decoded, mask)
    return payload


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (2, 2), (1, 37), (41, 1), (3, 5), (7, 13),
                                   (16, 16), (17, 33), (64, 96), (65, 1)])
@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 0.5, 0.9, 1.0])
def test_round_trip_random(shape, density):
    _round_trip(_random_mask(shape, density, seed=shape[0] * 1000 + shape[1]))


@pytest.mark.parametrize("shape", [(4, 4), (7, 13), (64, 96), (200, 300)])
def test_round_trip_structured(shape):
    _round_trip(_centre_square(shape))
    _round_trip(_rings(shape))
    tiled = np.tile(_golden_mask(), (shape[0] // 8 + 1, shape[1] // 8 + 1))
    _round_trip(tiled[:shape[0], :shape[1]])


def test_round_trip_non_contiguous_input():
    mask = _random_mask((40, 60), 0.2)
    assert encode_mask(mask.T) == encode_mask(np.ascontiguousarray(mask.T))
    assert encode_mask(mask[::2, 1::3]) == encode_mask(mask[::2, 1::3].copy())
    _round_trip(mask.T)


def test_golden_payload():
    # Format test vectors: a change here is a format change, never a reason to edit the hex.
    assert encode_mask(_golden_mask()).hex() == GOLDEN_8X8_HEX
    np.testing.assert_array_equal(decode_mask(bytes.fromhex(GOLDEN_8X8_HEX), (8, 8)), _golden_mask())


def test_golden_payload_digest_multi_chunk():
    mask = _multi_chunk_mask()
    payload = encode_mask(mask)
    assert hashlib.sha256(payload).hexdigest() == GOLDEN_24X40_SHA256
    np.testing.assert_array_equal(decode_mask(payload, (24, 40)), mask)



def test_deterministic():
    mask = _random_mask((50, 70), 0.15, seed=3)
    assert encode_mask(mask) == encode_mask(mask.copy())


def test_all_zero_mask_is_the_empty_payload():
    # ANS starts from state 0, where coding "not kept" costs no output: an all-zero mask of any
    # size is the empty payload, so the empty payload is valid for every shape.
    for shape in [(1, 1), (7, 13), (300, 200)]:
        assert encode_mask(np.zeros(shape, bool)) == b""
        assert not decode_mask(b"", shape).any()


@pytest.mark.parametrize("density", [0.02, 0.1, 0.3])
def test_random_mask_costs_its_entropy(density):
    mask = _random_mask((256, 256), density, seed=11)
    bits = 8 * len(encode_mask(mask))
    assert _entropy_bits(mask) <= bits < 1.1 * _entropy_bits(mask)


def test_clustered_masks_cost_far_below_entropy():
    square = _centre_square((512, 768))
    assert 8 * len(encode_mask(square)) < 1500
    rings = _rings((256, 256))
    assert 8 * len(encode_mask(rings)) < 0.25 * _entropy_bits(rings)


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7])
def test_length_not_multiple_of_four_rejected(cut):
    payload = encode_mask(_random_mask((30, 30), 0.3))
    with pytest.raises(AbcError, match="not a multiple of 4"):
        decode_mask(payload[:-cut], (30, 30))
    with pytest.raises(AbcError, match="not a multiple of 4"):
        decode_mask(payload + bytes(cut), (30, 30))


def test_truncation_at_every_word_rejected():
    mask = _rings((40, 40))
    payload = encode_mask(mask)
    assert len(payload) >= 12
    # Cutting to nothing is the one exception: b"" is the all-zero mask's payload (see above).
    for words in range(1, len(payload) // 4):
        with pytest.raises(AbcError, match="MASK chunk"):
            decode_mask(payload[:4 * words], mask.shape)


@pytest.mark.parametrize("extra", [bytes(4), b"\x01\x00\x00\x00", b"\xff\xff\xff\xff", bytes(8)])
def test_appended_words_rejected(extra):
    mask = _random_mask((20, 30), 0.2)
    with pytest.raises(AbcError, match="MASK chunk"):
        decode_mask(encode_mask(mask) + extra, mask.shape)


def test_wrong_shape_rejected():
    payload = encode_mask(_rings((40, 40)))
    with pytest.raises(AbcError, match="left after decoding 1599 blocks"):
        decode_mask(payload, (39, 41))


def test_accepted_payloads_are_canonical():
    # decode_mask accepts a payload only if re-encoding what it decodes gives the same bytes.
    rng = np.random.default_rng(5)
    for _ in range(300):
        shape = (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
        payload = rng.integers(0, 1 << 32, int(rng.integers(0, 3)), dtype=np.uint32).astype("<u4").tobytes()
        try:
            mask = decode_mask(payload, shape)
        except AbcError:
            continue
        assert encode_mask(mask) == payload


@pytest.mark.parametrize("bad", [np.zeros((3, 3), np.uint8), np.zeros(9, bool), np.zeros((0, 4), bool)])
def test_encode_rejects_bad_masks(bad):
    with pytest.raises(AbcError, match="MASK: mask must be"):
        encode_mask(bad)


def _costliest_mask(shape):
    """Every chunk's blocks chosen against the probabilities they are coded with (§6.2): as
    expensive a mask as the adaptive model lets one build."""
    grid = np.zeros(shape, np.uint8)
    counts = maskcode._Counts()
    for context, bits in maskcode._passes(grid):
        for start, stop in maskcode._chunk_bounds(len(context)):
            bits[start:stop] = counts.probabilities()[context[start:stop]] < 0.5
            counts.update(context[start:stop], bits[start:stop])
    return grid.astype(bool)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (3, 5), (64, 64), (100, 37), (1, 4000), (300, 300)])
def test_payload_bound_holds_for_the_costliest_masks(shape):
    for mask in (_costliest_mask(shape), _random_mask(shape, 0.5)):
        assert len(_round_trip(mask)) <= max_payload_size(shape)


def test_payload_longer_than_any_mask_needs_is_refused_before_decoding():
    assert max_payload_size((2, 2)) == 20
    with pytest.raises(AbcError, match="length 24 is more than a 2x2 grid can need"):
        decode_mask(bytes(24), (2, 2))
