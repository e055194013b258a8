"""Assistant statistics and their byte formats (abcodec/generative/assist.py)."""

import numpy as np
import pytest

from abcodec.generative import assist
from abcodec.container import AbcError


def test_class_code_round_trips_in_one_plus_two_k_bytes():
    payload = assist.pack_class_code(np.array([285, 281, 3]))
    assert payload == bytes([3, 0x01, 0x1D, 0x01, 0x19, 0x00, 0x03])
    assert assist.unpack_class_code(payload).tolist() == [285, 281, 3]


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x02\x00\x01", b"\x01\x03\xe8", b"\x02\x00\x05\x00\x05", bytes([9]) + bytes(18),
     b"\x01\x00\x01\x00"],
    ids=["empty", "k0", "short", "class1000", "repeated", "k9", "trailing"],
)
def test_class_code_rejects_malformed_payloads(payload):
    with pytest.raises(AbcError, match="class code"):
        assist.unpack_class_code(payload)


def test_class_code_writer_refuses_what_the_reader_would():
    for classes in ([], [1000], [4, 4], list(range(9))):
        with pytest.raises(AbcError):
            assist.pack_class_code(np.array(classes, dtype=np.int64))


def random_gram(channels: int, seed: int = 0) -> np.ndarray:
    features = np.random.default_rng(seed).normal(size=(channels, 50)) * np.arange(1, channels + 1)[:, None]
    return features @ features.T / 50


def test_gram_round_trips_within_its_quantisation():
    gram = random_gram(24)
    payload = assist.pack_gram(gram)
    assert len(payload) == assist.gram_payload_size(24) == 325
    back = assist.unpack_gram(payload)
    scales = np.sqrt(np.diag(gram))
    assert np.allclose(np.diag(back), np.diag(gram), rtol=2e-3)
    assert np.abs(back - gram).max() <= (0.5 / assist.CORRELATION_LEVELS + 2e-3) * (scales.max() ** 2)
    assert np.array_equal(back, back.T)
    assert assist.pack_gram(back) == payload


@pytest.mark.parametrize("cut", [0, 1, 2, 48, 324])
def test_gram_rejects_truncated_payloads(cut):
    with pytest.raises(AbcError, match="Gram"):
        assist.unpack_gram(assist.pack_gram(random_gram(24))[:cut])


@pytest.mark.parametrize(
    ("offset", "value"), [(0, 0), (0, 65), (0, 25), (1, 0xBC), (2, 0xFF), (1, 0x7C), (100, 0x80)],
    ids=["c0", "c65", "c-mismatch", "negative-scale", "nan-scale", "inf-scale", "byte-128"],
)
def test_gram_rejects_corrupt_fields(offset, value):
    payload = bytearray(assist.pack_gram(random_gram(24)))
    payload[offset] = value
    if offset == 2 and value == 0xFF:
        payload[1] = 0x7E  # 0x7EFF: a NaN half
    if offset == 1 and value == 0x7C:
        payload[2] = 0x00  # 0x7C00: +inf
    with pytest.raises(AbcError, match="Gram"):
        assist.unpack_gram(bytes(payload))


def test_gram_writer_refuses_what_the_reader_would():
    for bad in (np.zeros((2, 3)), np.zeros((65, 65)), np.full((2, 2), np.nan), np.zeros((0, 0))):
        with pytest.raises(AbcError):
            assist.pack_gram(bad)
