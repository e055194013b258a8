"""The alpha plane (abcodec/alpha.py, format_spec/abc.md §13): lossless beside the colour layers."""

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

import abcodec
from abcodec import alpha, container
from abcodec.container import AbcError

RGB = data.astronaut()[::4, ::4]


def soft_alpha(shape=(128, 128)) -> np.ndarray:
    y, x = np.mgrid[: shape[0], : shape[1]]
    plane = np.clip(255 - 3 * np.hypot(y - shape[0] / 2, x - shape[1] / 2), 0, 255).astype(np.uint8)
    plane[: shape[0] // 4] = 0
    return plane


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (29, 1), (128, 128), (33, 65)])
def test_alpha_round_trips_exactly(shape):
    plane = np.random.default_rng(sum(shape)).integers(0, 256, shape, np.uint8)
    assert np.array_equal(alpha.unpack_alpha(alpha.pack_alpha(plane), shape), plane)
    assert np.array_equal(alpha.unpack_alpha(alpha.pack_alpha(soft_alpha(shape)), shape), soft_alpha(shape))


def test_a_mask_costs_little():
    plane = soft_alpha((512, 512))
    assert len(alpha.pack_alpha(plane)) < 0.05 * plane.size


@pytest.mark.parametrize(("mode", "channels"), [("RGBA", 3), ("LA", 1)])
def test_images_with_alpha_round_trip_through_the_codec_and_pillow(mode, channels):
    plane = soft_alpha()
    colour = RGB if channels == 3 else RGB[..., 0]
    image = Image.fromarray(np.dstack([colour, plane]), mode)
    encoded = abcodec.encode(image, options=abcodec.EncodeOptions(bpp=0.5))
    assert container.read_file(encoded).alpha is not None
    decoded = abcodec.decode(encoded)
    assert decoded.mode == mode and np.array_equal(np.asarray(decoded)[..., -1], plane)
    with Image.open(io.BytesIO(encoded)) as im:
        assert im.mode == mode
        np.testing.assert_array_equal(np.asarray(im), np.asarray(decoded))


def test_the_colour_under_transparent_pixels_is_the_encoders_to_choose():
    plane = soft_alpha()
    noisy = RGB.copy()
    noisy[plane == 0] = np.random.default_rng(0).integers(0, 256, (int((plane == 0).sum()), 3))
    filled = alpha.fill_hidden(noisy, plane)
    visible = plane > 0
    assert np.array_equal(filled[visible], noisy[visible])
    assert np.abs(np.diff(filled[: 20].astype(int), axis=1)).mean() < 3
    options = abcodec.EncodeOptions(quality=60)
    plain = abcodec.encode(Image.fromarray(np.dstack([noisy, plane]), "RGBA"), options=options)
    unfilled = abcodec.encode(noisy, options=options)
    assert len(plain) - len(container.read_file(plain).alpha) < len(unfilled)


def test_palette_with_transparency_and_arrays_with_alpha_are_taken():
    palette = Image.fromarray(RGB).convert("P")
    palette.info["transparency"] = 0
    with pytest.warns(abcodec.AbcWarning, match="converted mode PA to RGBA"):
        assert abcodec.decode(abcodec.encode(palette)).mode == "RGBA"
    array = np.dstack([RGB, soft_alpha()])
    assert abcodec.decode(abcodec.encode(array)).mode == "RGBA"


@pytest.mark.parametrize(("payload", "message"), [
    (b"", "method missing"),
    (b"\x01" + alpha.pack_alpha(np.zeros((4, 4), np.uint8))[1:], "method 1"),
    (b"\x00not zstd", "not a zstd frame"),
    (alpha.pack_alpha(np.zeros((4, 5), np.uint8)), "zstd frame declares 20 bytes, a 4x4 alpha plane is 16"),
    (alpha.pack_alpha(np.zeros((4, 4), np.uint8)) + b"x", "corrupt zstd frame"),
])
def test_bad_alpha_payloads_are_refused_by_name(payload, message):
    with pytest.raises(AbcError, match=f"ALPH: {message}"):
        alpha.unpack_alpha(payload, (4, 4))


def test_alpha_needs_version_3():
    encoded = abcodec.encode(np.dstack([RGB, soft_alpha()]), options=abcodec.EncodeOptions(blocks=True))
    abc = container.read_file(encoded)
    old = container.Header(**{**abc.header.__dict__, "version": 2, "generator": b""})
    with pytest.raises(AbcError, match="ALPH chunk needs format version 3"):
        container.read_file(container.write_file(container.AbcFile(old, abc.mask, abc.pixels, {}, None, abc.alpha)))
