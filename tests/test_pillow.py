import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from skimage import data as samples

import abcodec
from abcodec import base, codec, container, decoder, pillow
from abcodec.pillow import AbcImageFile, register_abc_opener

ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def rgb_image() -> Image.Image:
    return Image.fromarray(samples.astronaut()[32:128, 160:288])


@pytest.fixture(scope="module")
def gray_image() -> Image.Image:
    return Image.fromarray(samples.camera()[64:144, 200:296])


@pytest.fixture(scope="module")
def rgb_bytes(rgb_image) -> bytes:
    out = io.BytesIO()
    rgb_image.save(out, format="ABC", blocks={"keep": 0.3}, inpainter="diffusion")
    return out.getvalue()


@pytest.fixture
def rgb_path(tmp_path, rgb_bytes):
    path = tmp_path / "astronaut.abc"
    path.write_bytes(rgb_bytes)
    return path


def fail_decode(*args, **kwargs):
    msg = "decode called"
    raise RuntimeError(msg)


def test_open_reads_the_header_and_decodes_nothing(rgb_path, monkeypatch):
    monkeypatch.setattr(decoder, "decode", fail_decode)
    with Image.open(rgb_path) as im:
        assert isinstance(im, AbcImageFile)
        assert (im.format, im.format_description) == ("ABC", "Ablative Image Compression")
        assert (im.mode, im.size) == ("RGB", (128, 96))
        assert im.get_format_mimetype() == "image/x-abc"
        assert (im.n_frames, im.is_animated) == (1, False)
        with pytest.raises(RuntimeError, match="decode called"):
            im.load()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_load_decodes_once_and_matches_codec_decode(tmp_path, rgb_image, gray_image, monkeypatch, mode):
    source = rgb_image if mode == "RGB" else gray_image
    path = tmp_path / f"{mode}.abc"
    source.save(path, blocks={"keep": 0.25}, inpainter="diffusion")
    expected = np.asarray(codec.decode(path.read_bytes()))
    calls = []
    real_decode = decoder.decode
    monkeypatch.setattr(decoder, "decode", lambda abc, **kw: calls.append(1) or real_decode(abc, **kw))

    with Image.open(path) as im:
        assert (im.mode, im.size) == (mode, source.size)
        assert im.load() is not None
        assert im.load() is not None
        assert len(calls) == 1
        np.testing.assert_array_equal(np.asarray(im), expected)
        np.testing.assert_array_equal(np.asarray(im.copy()), expected)
        assert im.convert("RGB").size == source.size
        im.save(tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as png:
        assert png.format == "PNG"
        np.testing.assert_array_equal(np.asarray(png), expected)


def test_incremental_parser_decodes_what_open_and_load_decode(rgb_path):
    """ImageFile.Parser feeds bytes to the registered decoder instead of calling load()."""
    parser = ImageFile.Parser()
    data = rgb_path.read_bytes()
    for start in range(0, len(data), 1000):
        parser.feed(data[start : start + 1000])
    fed = parser.close()
    with Image.open(rgb_path) as im:
        np.testing.assert_array_equal(np.asarray(fed), np.asarray(im))


def test_thumbnail_and_seek(rgb_path):
    with Image.open(rgb_path) as im:
        with pytest.raises(EOFError):
            im.seek(1)
        im.thumbnail((32, 32))
        assert max(im.size) == 32


def test_draft_gives_the_av1_frame_without_the_generator(tmp_path, rgb_image, monkeypatch):
    path = tmp_path / "base.abc"
    rgb_image.save(path, bpp=0.5)
    with Image.open(path) as im:
        assert im.draft("L", (32, 32)) is None  # another mode: not offered
        assert im.draft(None, (4000, 4000)) is None  # larger than the frame: the full decode
        assert im.draft(None, (32, 32)) == ("RGB", (0, 0, *rgb_image.size))
        monkeypatch.setattr(decoder, "_generative_decode", fail_decode)
        im.load()
        frame = container.read_file(path.read_bytes()).base
        expected = base.decode_frame(frame, 3, rgb_image.size[::-1])
        np.testing.assert_array_equal(np.asarray(im), expected)
    shrunk = tmp_path / "shrunk.abc"
    rgb_image.save(shrunk, bpp=0.01)
    with Image.open(shrunk) as im:
        drafted = im.draft(None, (4, 4))
        assert drafted is not None and drafted[1][2] < rgb_image.size[0] and im.size == drafted[1][2:]
        im.thumbnail((4, 4))
        assert max(im.size) == 4
    rgb_image.save(tmp_path / "blocks.abc", blocks=True)
    with Image.open(tmp_path / "blocks.abc") as im:  # no AV1 base: the fast decode at full size
        assert im.draft(None, (16, 16)) == ("RGB", (0, 0, *rgb_image.size))
        assert im.load() is not None


@pytest.fixture(scope="module")
def rgba_file(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A 192×128 RGBA photo at 0.1 bpp, whose AV1 frame is smaller than the image, and its alpha."""
    rgb = np.asarray(Image.fromarray(samples.astronaut()).resize((192, 128)))
    y, x = np.mgrid[0:128, 0:192]
    alpha = np.clip(x * 2 - y, 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("rgba") / "a.abc"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path, bpp=0.1)
    return path, alpha


def test_draft_keeps_the_alpha_plane_box_reduced_to_the_frame(rgba_file):
    """A thumbnail of an RGBA file is RGBA: the AV1 frame with the lossless alpha plane (§13)
    reduced to the frame's size by a box filter, as decode(reduced=True) gives it."""
    path, alpha = rgba_file
    with Image.open(path) as im:
        drafted = im.draft(None, (32, 32))
        assert drafted is not None and drafted[0] == "RGBA"
        frame = drafted[1][2:]
        assert 32 <= frame[0] < 192 and 32 <= frame[1] < 128
        im.load()
        assert (im.mode, im.size) == ("RGBA", frame)
        expected = np.asarray(Image.fromarray(alpha).resize(frame, Image.Resampling.BOX))
        np.testing.assert_array_equal(np.asarray(im)[..., 3], expected)
    with Image.open(path) as im:
        im.thumbnail((48, 48))
        assert im.mode == "RGBA" and max(im.size) == 48
    np.testing.assert_array_equal(np.asarray(codec.decode(path.read_bytes()))[..., 3], alpha)


def test_an_rgba_file_goes_to_jpeg_only_without_its_alpha(rgba_file, tmp_path):
    """JPEG holds no alpha: Pillow refuses an RGBA image as it refuses any (an OSError), and
    convert("RGB") is how a caller drops the plane."""
    path, _ = rgba_file
    with Image.open(path) as im:
        with pytest.raises(OSError, match="cannot write mode RGBA as JPEG"):
            im.save(tmp_path / "a.jpg")
        im.convert("RGB").save(tmp_path / "a.jpg")
    with Image.open(tmp_path / "a.jpg") as jpeg:
        assert (jpeg.mode, jpeg.size) == ("RGB", (192, 128))


def test_save_bpp_is_the_encoders_rate(tmp_path, rgb_image):
    """save(bpp=) writes what encode() writes at that rate, whose budget tests/test_codec.py checks."""
    path = tmp_path / "rate.abc"
    rgb_image.save(path, bpp=0.3)
    assert path.read_bytes() == codec.encode(rgb_image, options=codec.EncodeOptions(bpp=0.3))
    assert path.read_bytes() != codec.encode(rgb_image)  # the default rate is another file


def test_keep_sets_how_much_is_stored(rgb_image):
    sizes = []
    for keep in (0.0, 0.2, 0.6):
        out = io.BytesIO()
        rgb_image.save(out, format="ABC", blocks=dict(keep=keep, seed=3, scheme="edge+random"))
        sizes.append(len(out.getvalue()))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_save_to_a_stream_and_reopen(rgb_image, rgb_bytes):
    out = io.BytesIO()
    rgb_image.save(out, format="abc", blocks={"keep": 0.3}, inpainter="diffusion")
    assert out.getvalue() == rgb_bytes
    with Image.open(io.BytesIO(rgb_bytes)) as im:
        assert (im.format, im.size) == ("ABC", rgb_image.size)
        im.load()


@pytest.mark.parametrize(
    "options",
    [
        {"bpp": -1},
        {"bpp": 0.2, "blocks": {"keep": 0.2}},
        {"blocks": {"keep": 1.5}},
        {"blocks": {"scheme": "nope"}},
        {"blocks": {"block": 0}},
        {"blocks": {"q_luma": 0}},
        {"blocks": {"chroma_shift": 3}},
        {"blocks": {"random_share": 2}},
        {"blocks": {"keeep": 0.2}},
        {"blocks": "yes"},
        {"keep": 0.2},
        {"inpainter": "magic"},
        {"bpp": "high"},
        {"icc_profile": 12},
        {"exif": "orientation"},
        {"append_images": [Image.new("RGB", (4, 4))]},
    ],
)
def test_bad_option_values_raise_value_error(rgb_image, options):
    out = io.BytesIO()
    with pytest.raises(ValueError):
        rgb_image.save(out, format="ABC", **options)


def test_unknown_option_is_named(rgb_image, tmp_path):
    path = tmp_path / "x.abc"
    with pytest.raises(ValueError, match=r"unknown ABC save option qualty;.*valid: bpp, quality, speed"):
        rgb_image.save(path, qualty=90)
    assert not path.exists()


def test_the_keywords_generic_code_passes_are_taken(rgb_image, tmp_path):
    """quality= as every Pillow plugin takes it, dpi, xmp and exif carried, optimize ignored."""
    sizes = []
    for quality in (20, 80):
        out = io.BytesIO()
        rgb_image.save(out, format="ABC", quality=quality, optimize=True, dpi=(300, 300), xmp=b"<x/>")
        sizes.append(len(out.getvalue()))
        with Image.open(out) as im:
            assert im.info["dpi"] == (300.0, 300.0) and im.info["xmp"] == b"<x/>"
    assert sizes[0] < sizes[1]
    with pytest.raises(ValueError, match="give quality or bpp"):
        rgb_image.save(io.BytesIO(), format="ABC", quality=50, bpp=0.2)


def test_tolerates_pillow_keywords_when_empty(rgb_image):
    out = io.BytesIO()
    rgb_image.save(out, format="ABC", blocks={"keep": 0.1}, append_images=[], append=False)
    assert out.getvalue().startswith(container.SIGNATURE)


def test_save_all_is_one_frame_only(rgb_image, rgb_bytes, tmp_path):
    out = io.BytesIO()
    rgb_image.save(out, format="ABC", save_all=True, blocks={"keep": 0.3}, inpainter="diffusion")
    assert out.getvalue() == rgb_bytes
    frames = [Image.new("L", (8, 8), shade) for shade in (0, 255)]
    frames[0].save(tmp_path / "two.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "two.gif") as gif, pytest.raises(ValueError, match="2 frames"):
        gif.save(io.BytesIO(), format="ABC", save_all=True)
    with pytest.raises(ValueError, match="single image"):
        rgb_image.save(io.BytesIO(), format="ABC", save_all=True, append_images=frames)


def test_save_options_cover_the_encoder_options():
    fields = set(codec.EncodeOptions.__dataclass_fields__)
    assert set(pillow.encoder_options()) == fields
    assert "importance" in pillow.IMPORTANCE_OPTIONS


def test_other_formats_are_not_misidentified(tmp_path, rgb_image):
    for name, fmt in (("a.png", "PNG"), ("a.jpg", "JPEG"), ("a.qoi", "QOI")):
        rgb_image.save(tmp_path / name)
        with Image.open(tmp_path / name) as im:
            assert im.format == fmt


def test_no_other_plugin_claims_an_abc_file(rgb_path):
    Image.init()
    assert Image.OPEN["ABC"][0] is AbcImageFile
    others = [f for f in Image.ID if f != "ABC"]
    with pytest.raises(UnidentifiedImageError):
        Image.open(rgb_path, formats=others)
    with Image.open(rgb_path) as im:
        assert im.format == "ABC"


def test_non_image_is_unidentified(tmp_path):
    path = tmp_path / "notes.abc"
    path.write_bytes(b"these are not the pixels you are looking for\n" * 4)
    with pytest.raises(UnidentifiedImageError):
        Image.open(path)


def open_and_load(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


@pytest.mark.parametrize("cut", [8, 12, 20, container.HEADER_PREFIX_SIZE - 1, container.HEADER_PREFIX_SIZE,
                                 container.HEADER_PREFIX_SIZE + 20, -30, -13, -1])
def test_truncated_file_raises_os_error(rgb_bytes, cut):
    with pytest.raises(OSError) as caught:
        open_and_load(rgb_bytes[:cut])
    assert not isinstance(caught.value, UnidentifiedImageError)


@pytest.mark.parametrize("cut", [0, 3, 7])
def test_file_cut_inside_the_signature_is_unidentified(rgb_bytes, cut):
    with pytest.raises(UnidentifiedImageError):
        open_and_load(rgb_bytes[:cut])


@pytest.mark.parametrize("where", [0.05, 0.2, 0.4, 0.6, 0.8, 0.95])
def test_corrupted_byte_raises_os_error(rgb_bytes, where):
    data = bytearray(rgb_bytes)
    data[max(8, int(where * len(data)))] ^= 0x10
    with pytest.raises(OSError, match="CRC|chunk|truncated|HEAD"):
        open_and_load(bytes(data))


@pytest.mark.parametrize("part", ["mask", "pixels"])
def test_bad_payload_with_good_crc_fails_in_load(rgb_bytes, part):
    abc = container.read_file(rgb_bytes)
    setattr(abc, part, getattr(abc, part)[: len(getattr(abc, part)) // 2])
    with Image.open(io.BytesIO(container.write_file(abc))) as im:
        assert im.size == (128, 96)
        with pytest.raises(OSError):
            im.load()


@pytest.mark.parametrize("given", ["keywords", "info"])
def test_icc_profile_and_exif_survive(tmp_path, rgb_image, given):
    """Given to save() as keywords, or inherited from the image's info (the default)."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    path = tmp_path / "meta.abc"
    source, keywords = rgb_image.copy(), dict(icc_profile=b"fake icc profile", exif=exif)
    if given == "info":
        source.info.update(icc_profile=keywords.pop("icc_profile"), exif=keywords.pop("exif").tobytes())
    source.save(path, blocks={"keep": 0.1}, inpainter="diffusion", **keywords)

    stored = container.read_file(path.read_bytes()).ancillary
    assert stored[container.CHUNK_EXIF].startswith((b"II*\x00", b"MM\x00*"))  # §4: raw TIFF
    with Image.open(path) as im:
        assert im.info["icc_profile"] == b"fake icc profile"
        assert im.getexif()[ORIENTATION] == 6
        upright = ImageOps.exif_transpose(im)
        assert upright.size == (96, 128)
        assert ORIENTATION not in upright.getexif()
        im.save(tmp_path / "meta.jpg", exif=im.info["exif"], icc_profile=im.info["icc_profile"])
    with Image.open(tmp_path / "meta.jpg") as jpeg:
        assert jpeg.getexif()[ORIENTATION] == 6
        assert jpeg.info["icc_profile"] == b"fake icc profile"


def test_metadata_in_info_can_be_dropped_at_save(rgb_image):
    source = rgb_image.copy()
    exif = Image.Exif()
    exif[ORIENTATION] = 3
    source.info.update(icc_profile=b"icc", exif=exif.tobytes())
    dropped = io.BytesIO()
    source.save(dropped, format="ABC", blocks={"keep": 0.1}, icc_profile=None, exif=b"")
    with Image.open(dropped) as im:
        assert "icc_profile" not in im.info and "exif" not in im.info


@pytest.mark.parametrize("mode", ["I;16", "F"])
def test_unsupported_mode_names_the_mode(rgb_image, mode):
    im = rgb_image.convert("RGBA").convert(mode) if mode != "I;16" else Image.new("I;16", (16, 16))
    with pytest.raises(OSError, match=f"cannot write this image as ABC: mode {mode} "):
        im.save(io.BytesIO(), format="ABC")


def test_palette_image_is_saved_as_rgb(rgb_image):
    out = io.BytesIO()
    with pytest.warns(abcodec.AbcWarning, match="converted mode P to RGB"):
        rgb_image.quantize(16).save(out, format="ABC", blocks={"keep": 0.2}, inpainter="diffusion")
    with Image.open(out) as im:
        assert (im.mode, im.size) == ("RGB", rgb_image.size)
        im.load()


def test_decompression_bomb_is_refused_before_decoding(rgb_path, rgb_image, monkeypatch):
    monkeypatch.setattr(decoder, "decode", fail_decode)
    pixels = rgb_image.width * rgb_image.height
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixels // 3)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(rgb_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixels - 1)
    with pytest.warns(Image.DecompressionBombWarning), Image.open(rgb_path):
        pass


def test_small_file_claiming_huge_dimensions_is_refused_by_open(rgb_bytes, monkeypatch):
    abc = container.read_file(rgb_bytes)
    header = container.Header(**{**abc.header.__dict__, "width": 8000, "height": 8000})
    bomb = container.write_file(container.AbcFile(header, abc.mask, abc.pixels))
    assert len(bomb) < 10_000
    monkeypatch.setattr(decoder, "decode", fail_decode)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000_000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))


def test_imageio_reads_through_the_plugin(rgb_path):
    iio = pytest.importorskip("imageio.v3")
    expected = np.asarray(codec.decode(rgb_path.read_bytes()))
    np.testing.assert_array_equal(iio.imread(rgb_path), expected)
    np.testing.assert_array_equal(iio.imread(rgb_path, plugin="pillow"), expected)


def test_registration_is_idempotent():
    register_abc_opener()
    register_abc_opener()
    abcodec.register_abc_opener()
    assert Image.ID.count("ABC") == 1
    assert Image.registered_extensions()[".abc"] == "ABC"
    assert Image.MIME["ABC"] == "image/x-abc"
    assert Image.SAVE["ABC"] is pillow._save
    assert Image.DECODERS["abc"] is pillow.AbcDecoder


def test_import_open_and_opener_options_do_not_import_numpy_or_torch(rgb_path):
    script = (
        "import sys, abcodec; from PIL import Image; "
        "abcodec.register_abc_opener(inpainter='diffusion', threads=2); "
        f"im = Image.open({str(rgb_path)!r}); assert im.format == 'ABC'; "
        "heavy = [name for name in ('numpy', 'torch') if name in sys.modules]; assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=Path(abcodec.__file__).parent.parent)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def opener_defaults():
    """register_abc_opener() changes module-level defaults: put them back after the test."""
    yield
    register_abc_opener()


def record_decode(monkeypatch):
    """decoder.decode replaced by one that records the options it is given and returns a blank image."""
    calls = []

    def decode(abc, *, options, reduced=False):
        calls.append(options)
        return Image.new(abc.header.mode_name, (abc.header.width, abc.header.height))

    monkeypatch.setattr(decoder, "decode", decode)
    return calls


def test_opener_options_set_how_load_decodes(rgb_path, monkeypatch, opener_defaults):
    calls = record_decode(monkeypatch)
    with Image.open(rgb_path) as im:
        im.load()
    register_abc_opener(inpainter="diffusion", device="cpu", threads=np.int64(2))
    with Image.open(rgb_path) as im:
        im.load()
    register_abc_opener(inpainter="ppgn", device=None)  # each call sets all three; None is auto
    with Image.open(rgb_path) as im:
        im.load()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # trusts every file: the codec's limits go too
    with Image.open(rgb_path) as im:
        im.load()
    limit = container.MAX_PIXELS
    assert [dataclasses.astuple(options) for options in calls] == [
        (None, "auto", None, limit), ("diffusion", "cpu", 2, limit), ("ppgn", "auto", None, limit),
        ("ppgn", "auto", None, None)]
    assert type(calls[1].threads) is int
    assert Image.ID.count("ABC") == 1


def test_opener_takes_the_decode_options_but_max_pixels(opener_defaults):
    assert pillow.opener_options() == ("inpainter", "device", "threads")  # the README's list
    for name in ("max_pixels", "inpainters"):
        with pytest.raises(TypeError, match=f"not {name}"):
            register_abc_opener(**{name: None})


@pytest.fixture(scope="module")
def ppgn_bytes(rgb_image) -> bytes:
    out = io.BytesIO()
    rgb_image.save(out, format="ABC", blocks={"keep": 0.3}, inpainter="ppgn")
    return out.getvalue()


def test_opener_threads_reach_the_generative_decoder(ppgn_bytes, monkeypatch, opener_defaults):
    """Through the real decode: the count arrives where ONNX Runtime runs G; the pixels do not change."""
    from abcodec.generative import onnx_generator

    seen, generate = [], onnx_generator.generate
    monkeypatch.setattr(onnx_generator, "generate", lambda *args, **kw: seen.append(kw.get("threads")) or generate(*args, **kw))
    decoded = []
    for threads in (3, None):
        register_abc_opener(threads=threads)
        with Image.open(io.BytesIO(ppgn_bytes)) as im:
            decoded.append(np.asarray(im))
    assert seen == [3, None]
    np.testing.assert_array_equal(decoded[0], decoded[1])


def test_opener_inpainter_overrides_what_the_file_asks(ppgn_bytes, opener_defaults):
    data = ppgn_bytes
    assert container.read_file(data).header.inpainter == container.INPAINTER_PPGN
    fast, refined = (np.asarray(codec.decode(data, inpainter=name)) for name in ("diffusion", "ppgn"))
    assert not np.array_equal(fast, refined)  # so the pixels tell which decoder ran
    register_abc_opener(inpainter="diffusion")
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(np.asarray(im), fast)
    register_abc_opener()
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(np.asarray(im), refined)


@pytest.mark.parametrize("options", [{"inpainter": "magic"}, {"inpainter": "auto"}, {"device": "gpu"},
                                     {"threads": 0}, {"threads": -2}, {"threads": 1.5}, {"threads": True},
                                     {"threads": "4"}])
def test_opener_options_are_validated(options, opener_defaults):
    register_abc_opener(inpainter="diffusion")
    with pytest.raises(ValueError, match=next(iter(options))):
        register_abc_opener(**options)
    assert pillow._opener_options == {"inpainter": "diffusion"}  # a refused call changes nothing


def test_save_of_an_animation_writes_its_current_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), (shade, 40, 200 - shade)) for shade in (0, 100, 200)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "anim.png") as anim:
        anim.seek(2)
        anim.save(tmp_path / "frame.abc", blocks={"keep": 1.0, "q_luma": 1, "q_chroma": 1, "chroma_shift": 0},
                  inpainter="diffusion")
    decoded = codec.decode((tmp_path / "frame.abc").read_bytes())
    assert np.abs(np.asarray(decoded, dtype=int) - np.asarray(frames[2], dtype=int)).max() <= 2


# The exceptions Pillow users catch (README, "Python"): what PNG, JPEG and AVIF raise


@pytest.mark.parametrize("size", [(0, 0), (0, 16), (16, 0)])
@pytest.mark.parametrize("extension", [".abc", ".png"])
def test_an_empty_image_is_a_value_error(tmp_path, size, extension):
    with pytest.raises(ValueError, match="cannot write empty image"):
        Image.new("RGB", size).save(tmp_path / f"x{extension}")
    assert not (tmp_path / f"x{extension}").exists()


@pytest.mark.parametrize(("where", "failure"), [
    ("AVIF encoder", OSError("encoding error")),
    ("AVIF encoder", MemoryError()),
    ("codec", MemoryError()),
])
def test_a_failure_to_write_is_an_os_error_from_save(rgb_image, tmp_path, monkeypatch, where, failure):
    def fail(*args, **kwargs):
        raise failure

    if where == "AVIF encoder":
        Image.init()  # registers Pillow's AVIF writer now, not over the failing one
        monkeypatch.setitem(Image.SAVE, "AVIF", fail)
    else:
        monkeypatch.setattr(codec, "encode", fail)
    with pytest.raises(OSError, match="^cannot write ABC: "):
        rgb_image.save(tmp_path / "x.abc")
    assert not (tmp_path / "x.abc").exists()
    if where == "AVIF encoder":  # the API's own error stays AbcError
        with pytest.raises(abcodec.AbcError, match="AVIF encoder failed"):
            abcodec.encode(rgb_image)


def test_a_bad_exif_is_refused_at_save_and_an_inherited_one_left_out(rgb_image, tmp_path):
    with pytest.raises(ValueError, match="exif is not EXIF data Pillow can read"):
        rgb_image.save(tmp_path / "x.abc", exif=b"invalid")
    assert not (tmp_path / "x.abc").exists()
    with pytest.raises(abcodec.AbcError, match="exif is not EXIF data"):
        abcodec.encode(rgb_image, metadata={"exif": b"invalid"})
    source = rgb_image.copy()
    source.info["exif"] = b"invalid"  # as a damaged photo brings it
    with pytest.warns(abcodec.AbcWarning, match="the image's EXIF is left out"):
        source.save(tmp_path / "y.abc", inpainter="diffusion")
    with Image.open(tmp_path / "y.abc") as im:
        assert "exif" not in im.info
        assert ImageOps.exif_transpose(im).size == im.size  # raised "not a TIFF file" when it was carried
