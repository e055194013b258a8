"""images.py: what the encoder accepts, and that nothing is silently reduced."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from abcodec import codec, container, images
from abcodec.container import AbcImageError


def png(path, width, height, *, depth=8, colour=2, rows=None):
    """A PNG written chunk by chunk, so that its header can claim any depth and size."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    if rows is None:
        row = bytes(width * channels * depth // 8)
        rows = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize(("colour", "mode"), [(2, "RGB"), (6, "RGBA"), (0, "I;16"), (4, "RGBA")])
def test_16_bit_png_is_refused(tmp_path, colour, mode):
    path = png(tmp_path / "deep.png", 4, 3, depth=16, colour=colour)
    with Image.open(path) as im:
        assert im.mode == mode  # Pillow 13 opens 16-bit RGB as RGB: the mode does not tell
        assert images.sample_bits(im) == 16
        with pytest.raises(AbcImageError, match="16 bits per sample, and .abc stores 8"):
            images.check_image(im)
        with pytest.raises(AbcImageError, match="16 bits per sample"):
            codec.encode(im)


def test_depth_shows_only_until_the_image_is_loaded(tmp_path):
    """Pillow keeps the top byte of each sample while loading, and then nothing says it did."""
    rows = b"".join(b"\x00" + bytes([0x12, 0x34] * 3 * 4) for _ in range(3))
    with Image.open(png(tmp_path / "deep.png", 4, 3, depth=16, rows=rows)) as im:
        im.load()
        assert images.sample_bits(im) is None
        assert np.asarray(im)[0, 0].tolist() == [0x12, 0x12, 0x12]


def test_8_bit_png_passes(tmp_path):
    for colour in (0, 2):
        with Image.open(png(tmp_path / f"plain{colour}.png", 4, 3, colour=colour)) as im:
            assert images.sample_bits(im) is None
            images.check_image(im)


@pytest.mark.parametrize(("maxval", "bits"), [(65535, 16), (4095, 12), (256, 9)])
def test_deep_ppm_is_refused(tmp_path, maxval, bits):
    path = tmp_path / "deep.ppm"
    path.write_bytes(b"P6 4 3 %d\n" % maxval + bytes(4 * 3 * 6))
    with Image.open(path) as im:
        assert im.mode == "RGB"  # scaled to 8 bits on load
        with pytest.raises(AbcImageError, match=f"{bits} bits per sample"):
            images.check_image(im)


def test_8_bit_ppm_with_a_small_maxval_passes(tmp_path):
    path = tmp_path / "a.ppm"
    path.write_bytes(b"P6 4 3 200\n" + bytes(4 * 3 * 3))
    with Image.open(path) as im:
        images.check_image(im)


def test_16_bit_5_6_5_bmp_is_not_taken_for_deep_samples(tmp_path):
    """``BGR;16`` is 16 bits a pixel, 5-6-5: fewer than 8 per sample."""
    width, height = 4, 2
    pixels = struct.pack("<H", 0xF800) * width * height  # red
    masks = struct.pack("<III", 0xF800, 0x07E0, 0x001F)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 16, 3, len(pixels), 2835, 2835, 0, 0)
    offset = 14 + len(info) + len(masks)
    path = tmp_path / "565.bmp"
    path.write_bytes(b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + masks + pixels)
    with Image.open(path) as im:
        assert im.mode == "RGB"
        images.check_image(im)
        assert np.asarray(im)[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("extension", ["gif", "png", "webp", "tif"])
def test_animation_is_refused_with_its_frame_count(tmp_path, extension):
    frames = [Image.new("RGB", (8, 8), (80 * i, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / f"anim.{extension}", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / f"anim.{extension}") as im:
        assert im.n_frames == 3
        with pytest.raises(AbcImageError, match=r"3 frames .*--frame N, 0\.\.2"):
            images.check_image(im)
        im.seek(1)
        images.check_image(im, one_frame=True)
        im.load()
        array, _, _ = images.image_to_array(im.copy())
        assert array.shape[:2] == (8, 8)


def test_mpo_is_its_primary_image(tmp_path):
    """A stereo pair (MPO) is not refused as an animation, and the image stored is the first one."""
    frames = [Image.new("RGB", (8, 8), (200, 40 + 120 * i, 0)) for i in range(2)]
    frames[0].save(tmp_path / "camera.mpo", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "camera.mpo") as im:
        assert (im.format, im.n_frames) == ("MPO", 2)
        images.check_image(im)
        array, _, _ = images.image_to_array(im)
        lossless = codec.BlockLayer(keep=1.0, q_luma=1, q_chroma=1, chroma_shift=0)
        decoded = np.asarray(codec.decode(codec.encode(im, options=codec.EncodeOptions(blocks=lossless))), dtype=int)
        first = np.asarray(im.convert("RGB"), dtype=int)
        im.seek(1)
        assert np.abs(np.asarray(im.convert("RGB"), dtype=int) - first).max() > 100  # the views differ
    np.testing.assert_array_equal(array, first)
    assert np.abs(decoded - first).max() <= 1  # through YCbCr and back


def test_size_is_checked_from_the_header_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    for width, height in ((container.MAX_SIDE + 1, 1), (9000, 8000)):
        with Image.open(png(tmp_path / "huge.png", width, height, rows=b"")) as im:  # its IDAT is empty
            with pytest.raises(AbcImageError, match="more than .abc stores"):
                images.check_image(im)
            with pytest.raises(AbcImageError, match="more than .abc stores"):
                codec.encode(im)


def test_empty_image_is_refused():
    with pytest.raises(AbcImageError, match="empty"):
        images.image_to_array(Image.new("RGB", (0, 5)))


@pytest.mark.parametrize(("mode", "message"), [("I;16", "more than 8 bits"), ("F", "more than 8 bits"),
                                               ("I", "more than 8 bits")])
def test_modes_that_abc_cannot_store_are_refused(mode, message):
    with pytest.raises(AbcImageError, match=message):
        images.check_image(Image.new(mode, (4, 4)))


def test_palette_with_transparency_has_alpha():
    im = Image.new("P", (4, 4))
    im.info["transparency"] = 0
    colour, alpha, note = images.image_to_array(im)
    assert note == "converted mode PA to RGBA" and colour.shape == (4, 4, 3) and alpha.shape == (4, 4)


@pytest.mark.parametrize(("mode", "channels"), [("RGBA", 3), ("LA", 1)])
def test_alpha_is_split_from_the_colour(mode, channels):
    colour, alpha, note = images.image_to_array(Image.new(mode, (5, 3), (10,) * len(mode)))
    assert note is None and colour.shape == ((3, 5, 3) if channels == 3 else (3, 5)) and alpha.shape == (3, 5)


@pytest.mark.parametrize(("mode", "target"), [("1", "L"), ("P", "RGB"), ("CMYK", "RGB"), ("YCbCr", "RGB")])
def test_lossless_conversions_are_named(mode, target):
    array, alpha, note = images.image_to_array(Image.new(mode, (5, 3)))
    assert note == f"converted mode {mode} to {target}" and alpha is None
    assert array.dtype == np.uint8 and array.shape[:2] == (3, 5)


def test_arrays_pass_as_they_are():
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out, alpha, note = images.image_to_array(array)
    assert note is None and alpha is None and np.array_equal(out, array)
    colour, alpha, _ = images.image_to_array(np.dstack([array, array]))
    assert np.array_equal(colour, array) and np.array_equal(alpha, array)
    with pytest.raises(AbcImageError, match="uint8"):
        images.image_to_array(array.astype(np.uint16))
