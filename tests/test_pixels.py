"""Kept pixel blocks <-> PIXL payload: exactness, edge geometry, hostile payloads, the test vector."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import skimage.data
import zstandard

from abcodec import pixels
from abcodec.colour import rgb_to_ycbcr, ycbcr_to_rgb
from abcodec.container import AbcError
from abcodec.pixels import (
    Canvas,
    PixelParams,
    expected_size,
    levels,
    pack_blocks,
    unpack_blocks,
)

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def grid(size: tuple[int, int], block: int) -> tuple[int, int]:
    return -(-size[0] // block), -(-size[1] // block)


def random_mask(size: tuple[int, int], block: int, keep: float = 0.5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(grid(size, block)) < keep


def block_pixels(mask: np.ndarray, block: int, size: tuple[int, int]) -> np.ndarray:
    """The pixels a mask keeps, computed without the module."""
    return np.kron(mask, np.ones((block, block), bool))[: size[0], : size[1]]


def nearest_level(values: np.ndarray, q: int) -> np.ndarray:
    """Step 3 by brute force: the nearest of the levels min(k·q, 255), ties to the upper one."""
    table = np.minimum(np.arange(levels(q)) * q, 255).astype(np.float64)
    distance = np.abs(values.astype(np.float64)[..., None] - table)
    return table[len(table) - 1 - np.argmin(distance[..., ::-1], axis=-1)]


def round_trip(image: np.ndarray, mask: np.ndarray, params: PixelParams) -> Canvas:
    """Decode the payload, and check on the way that the encoder's canvas is the decoder's."""
    canvas = unpack_blocks(pack_blocks(image, mask, params), mask, 1 if image.ndim == 2 else 3,
                           image.shape[:2], params)
    mirror = pixels._canvas(pixels.quantised_blocks(image, mask, params), mask, image.shape[:2], params)
    for name in ("luma", "luma_known", "chroma", "chroma_known"):
        ours, theirs = getattr(canvas, name), getattr(mirror, name)
        assert (ours is None and theirs is None) or np.array_equal(ours, theirs), name
    return canvas


def test_levels_follow_round_half_up():
    assert [levels(q) for q in (1, 2, 4, 6, 8, 10, 255)] == [256, 129, 65, 44, 33, 27, 2]


def test_mode_l_q1_is_lossless_on_kept_pixels():
    image = skimage.data.camera()[:100, :150]
    mask = random_mask(image.shape, 8)
    canvas = round_trip(image, mask, PixelParams(8, 1, 1, 0))
    known = block_pixels(mask, 8, image.shape)
    assert np.array_equal(canvas.luma_known, known)
    assert np.array_equal(canvas.luma[known], image[known])
    assert not canvas.luma[~known].any()
    assert canvas.chroma is None and canvas.chroma_known is None


@pytest.mark.parametrize("q", [3, 6, 7, 40, 255])
def test_mode_l_values_are_the_dequantised_originals(q):
    image = skimage.data.camera()[200:264, 100:180]
    image[:4, :4] = 255
    mask = random_mask(image.shape, 4, keep=0.7)
    mask[0, 0] = True
    canvas = round_trip(image, mask, PixelParams(4, q, q, 0))
    known = block_pixels(mask, 4, image.shape)
    assert np.array_equal(canvas.luma[known], nearest_level(image[known], q))


def test_rgb_q1_without_subsampling_is_within_one():
    image = skimage.data.astronaut()[100:228, 150:278]
    mask = random_mask(image.shape[:2], 8)
    canvas = round_trip(image, mask, PixelParams(8, 1, 1, 0))
    known = block_pixels(mask, 8, image.shape[:2])
    assert np.array_equal(canvas.chroma_known, known)
    rgb = ycbcr_to_rgb(np.concatenate([canvas.luma[None], canvas.chroma]))
    assert np.abs(rgb[known].astype(int) - image[known]).max() <= 1


def test_chroma_shift_keeps_box_averages():
    image = skimage.data.chelsea()[:61, :77]
    mask = random_mask(image.shape[:2], 6, keep=0.6)
    canvas = round_trip(image, mask, PixelParams(6, 1, 1, 1))
    padded = np.pad(image, ((0, 5), (0, 1), (0, 0)), mode="edge")
    boxes = rgb_to_ycbcr(padded)[1:].reshape(2, 33, 2, 39, 2).mean(axis=(2, 4))[:, :31, :39]
    known = block_pixels(mask, 3, (31, 39))
    assert canvas.chroma.shape == (2, 31, 39)
    assert np.array_equal(canvas.chroma_known, known)
    assert np.abs(canvas.chroma[:, known] - boxes[:, known]).max() <= 0.5 + 1e-4


@pytest.mark.parametrize("size", [(1, 1), (7, 13), (300, 5)])
@pytest.mark.parametrize(("block", "shift"), [(1, 0), (4, 1), (8, 0), (64, 1)])
@pytest.mark.parametrize("channels", [1, 3])
def test_odd_sizes_and_overhanging_blocks(size, block, shift, channels):
    rng = np.random.default_rng(sum(size) + block)
    image = rng.integers(0, 256, size + ((3,) if channels == 3 else ()), dtype=np.uint8)
    mask = random_mask(size, block, keep=0.6, seed=block)
    mask[-1, -1] = True
    canvas = round_trip(image, mask, PixelParams(block, 1, 5, shift))
    known = block_pixels(mask, block, size)
    assert canvas.luma.shape == size and canvas.luma.dtype == np.float32
    assert np.array_equal(canvas.luma_known, known)
    if channels == 1:
        assert np.array_equal(canvas.luma[known], image[known])
    else:
        chroma_size = (-(-size[0] >> shift), -(-size[1] >> shift))
        assert canvas.chroma.shape == (2, *chroma_size) and canvas.chroma.dtype == np.float32
        assert np.array_equal(canvas.chroma_known, block_pixels(mask, block >> shift, chroma_size))


def test_block_one_random_pixels():
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    mask = rng.random((40, 50)) < 0.3
    canvas = round_trip(image, mask, PixelParams(1, 1, 1, 0))
    rgb = ycbcr_to_rgb(np.concatenate([canvas.luma[None], canvas.chroma]))
    assert np.abs(rgb[mask].astype(int) - image[mask]).max() <= 1
    with pytest.raises(AbcError, match="even block"):
        PixelParams(1, 1, 1, 1)


def test_zero_kept_blocks():
    image = skimage.data.chelsea()[:20, :30]
    mask = np.zeros(grid((20, 30), 8), bool)
    params = PixelParams(8, 4, 8, 1)
    payload = pack_blocks(image, mask, params)
    assert expected_size(mask, 3, params) == 0
    assert zstandard.frame_content_size(payload) == 0
    canvas = round_trip(image, mask, params)
    assert not canvas.luma_known.any() and not canvas.luma.any()
    assert not canvas.chroma_known.any() and canvas.chroma.shape == (2, 10, 15)


def test_all_kept():
    image = skimage.data.astronaut()[:45, :70]
    mask = np.ones(grid((45, 70), 8), bool)
    canvas = round_trip(image, mask, PixelParams(8, 6, 10, 1))
    assert canvas.luma_known.all() and canvas.chroma_known.all()


@pytest.mark.parametrize(
    ("fields", "match"),
    [((3, 4, 8, 1), "even block"), ((0, 4, 8, 0), "block"), ((65, 4, 8, 0), "block"),
     ((8, 0, 8, 0), "q_luma"), ((8, 4, 256, 0), "q_chroma"), ((8, 4, 8, 2), "chroma_shift")],
)
def test_params_are_validated(fields, match):
    with pytest.raises(AbcError, match=match):
        PixelParams(*fields)


@pytest.mark.parametrize(("channels", "shift"), [(1, 0), (3, 0), (3, 1)])
def test_expected_size_is_the_stream_length(channels, shift):
    image = skimage.data.astronaut()[:50, :60]
    image = image if channels == 3 else image[..., 0]
    mask = random_mask((50, 60), 8, seed=3)
    params = PixelParams(8, 6, 10, shift)
    stream = zstandard.ZstdDecompressor().decompress(pack_blocks(image, mask, params))
    assert len(stream) == expected_size(mask, channels, params)
    assert expected_size(mask, channels, params) == mask.sum() * (64 + (channels == 3) * 2 * (64 >> 2 * shift))


def test_bad_encoder_input_is_refused():
    params = PixelParams(4, 4, 4, 0)
    with pytest.raises(AbcError, match="mask"):
        pack_blocks(np.zeros((8, 8), np.uint8), np.ones((3, 2), bool), params)
    with pytest.raises(AbcError, match="uint8"):
        pack_blocks(np.zeros((8, 8), np.float32), np.ones((2, 2), bool), params)
    with pytest.raises(AbcError, match="uint8"):
        pack_blocks(np.zeros((8, 8, 4), np.uint8), np.ones((2, 2), bool), params)


# Hostile payloads: a 30×40 RGB image, block 8, so the mask grid is 4×5.
HOSTILE_PARAMS = PixelParams(8, 6, 10, 1)
HOSTILE_MASK = random_mask((30, 40), 8, keep=0.5, seed=11)
HOSTILE_SIZE = expected_size(HOSTILE_MASK, 3, HOSTILE_PARAMS)


def unpack_hostile(payload: bytes) -> Canvas:
    return unpack_blocks(payload, HOSTILE_MASK, 3, (30, 40), HOSTILE_PARAMS)


def good_payload() -> bytes:
    return pack_blocks(skimage.data.chelsea()[:30, :40], HOSTILE_MASK, HOSTILE_PARAMS)


def test_frame_claiming_a_huge_size_is_refused_before_decompressing():
    # Single-segment frame header with an 8-byte content size of 1 TiB, then one RLE block.
    # Without the check, zstandard would try to allocate the terabyte.
    header = ZSTD_MAGIC + bytes([0xE0]) + struct.pack("<Q", 1 << 40)
    block = (1 | (1 << 1) | (HOSTILE_SIZE << 3)).to_bytes(3, "little") + b"\x00"
    with pytest.raises(AbcError, match="declares 1099511627776 bytes"):
        unpack_hostile(header + block)


@pytest.mark.parametrize(("content_size", "size", "message"), [
    (True, HOSTILE_SIZE + 1, "declares"),  # one byte too long
    (False, HOSTILE_SIZE, "no content size"),
])
def test_frame_of_another_or_no_declared_size_is_refused(content_size, size, message):
    payload = zstandard.ZstdCompressor(write_content_size=content_size).compress(bytes(size))
    with pytest.raises(AbcError, match=message):
        unpack_hostile(payload)


@pytest.mark.parametrize("tail", [b"\x00", b"garbage", "second frame"])
def test_trailing_data_is_refused(tail):
    payload = good_payload()
    tail = payload if tail == "second frame" else tail
    with pytest.raises(AbcError):
        unpack_hostile(payload + tail)


@pytest.mark.parametrize("plane", [0, 1, 2])
def test_residual_bytes_beyond_the_levels_are_refused(plane):
    luma = int(HOSTILE_MASK.sum()) * 64
    start = [0, luma, luma + (HOSTILE_SIZE - luma) // 2][plane]
    stream = bytearray(HOSTILE_SIZE)
    stream[start] = levels(HOSTILE_PARAMS.q_luma if plane == 0 else HOSTILE_PARAMS.q_chroma)
    payload = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(stream))
    with pytest.raises(AbcError, match=f"plane {plane}"):
        unpack_hostile(payload)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_refused(seed):
    noise = np.random.default_rng(seed).integers(0, 256, 200, dtype=np.uint8).tobytes()
    with pytest.raises(AbcError):
        unpack_hostile(noise)
    with pytest.raises(AbcError):
        unpack_hostile(ZSTD_MAGIC + noise)


def test_empty_payload_is_refused():
    with pytest.raises(AbcError):
        unpack_hostile(b"")


def test_every_truncation_is_refused():
    payload = good_payload()
    for cut in range(len(payload)):
        with pytest.raises(AbcError):
            unpack_hostile(payload[:cut])


def test_byte_flips_give_an_abc_error_or_a_canvas():
    # Without a zstd checksum a flip may decode to other samples; the chunk CRC catches those.
    payload = good_payload()
    for offset in range(len(payload)):
        damaged = bytearray(payload)
        damaged[offset] ^= 0x5A
        try:
            canvas = unpack_hostile(bytes(damaged))
        except AbcError:
            continue
        assert canvas.luma.shape == (30, 40) and canvas.chroma.shape == (2, 15, 20)


def test_mask_that_does_not_fit_the_size_is_refused():
    with pytest.raises(AbcError, match="mask"):
        unpack_blocks(good_payload(), HOSTILE_MASK[:, :4], 3, (30, 40), HOSTILE_PARAMS)
    with pytest.raises(AbcError, match="channels"):
        unpack_blocks(good_payload(), HOSTILE_MASK, 2, (30, 40), HOSTILE_PARAMS)


def test_deterministic_and_thread_safe():
    image = skimage.data.astronaut()[:96, :96]
    masks = [random_mask((96, 96), 8, seed=s) for s in range(8)]
    params = PixelParams(8, 6, 10, 1)
    serial = [pack_blocks(image, m, params) for m in masks]
    assert serial == [pack_blocks(image, m, params) for m in masks]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda m: pack_blocks(image, m, params), masks)) == serial


def test_colour_transform():
    corners = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], np.uint8)
    expected = [[0, 255, 76.245, 29.07], [128, 128, 84.972, 255.5], [128, 128, 255.5, 107.265]]
    np.testing.assert_allclose(rgb_to_ycbcr(corners)[:, 0], expected, atol=1e-3)
    pixels = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(ycbcr_to_rgb(rgb_to_ycbcr(pixels)), pixels)


def test_golden_payload():
    # Format test vector (format_spec/abc.md §7, "pixl vector", which tests/test_conformance.py
    # checks both ways by the spec): 4×4 RGB, block 2, mask [[1, 0], [0, 1]],
    # q_luma 4 (65 levels), q_chroma 8 (33 levels), chroma shift 1. The stream is normative; the
    # frame around it is what libzstd (zstandard 0.25.0) writes for a stream this short.
    image = ((np.arange(48).reshape(4, 4, 3) * 37 + 11) % 256).astype(np.uint8)
    mask = np.array([[True, False], [False, True]])
    params = PixelParams(2, 4, 8, 1)
    payload = pack_blocks(image, mask, params)
    stream = zstandard.ZstdDecompressor().decompress(payload)
    # Y levels [[10, 38], [50, 21]] then [[32, 52], [15, 43]]; Cb 15, 15; Cr 14, 14.
    assert stream.hex() == "2b3831392c282110" "0100" "0300"
    assert payload.hex() == "28b52ffd200c6100002b3831392c28211001000300"
    canvas = unpack_blocks(payload, mask, 3, (4, 4), params)
    assert canvas.luma[:2, :2].tolist() == [[40, 152], [200, 84]]
    assert canvas.chroma[:, 0, 0].tolist() == [120, 112]
