"""decoder.py: a file that is only its AV1 frame decodes as that frame, bit for bit what the fast
decode (reconstruct.py) makes of it, without importing numpy; every other file takes the fast
decode or G, as before."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import abcodec
from abcodec import container, decoder, reconstruct
from abcodec.codec import EncodeOptions, encode
from abcodec.metadata import info_from_chunks

VECTORS = Path(__file__).resolve().parent.parent / "format_spec" / "vectors"
BARE_VECTORS = ("grey-16x9-av1.abc", "rgb-128x64-av1-roi.abc", "rgb-24x20-av1-assist.abc")
"""The committed vectors that are only their frame (§12 step 3, no MASK, PIXL or ALPH); the last
names G and its descent, so it decodes as its frame only when the fast decode is asked for."""

FULL_WAY_VECTORS = {
    "rgb-24x20-av1-blocks.abc": "kept blocks on an AV1 base",
    "rgb-33x20-av1-shrunk.abc": "a frame smaller than the image",
    "rgba-24x20-av1-alpha.abc": "an alpha plane",
    "rgb-16x12-blocks.abc": "kept blocks, no base",
    "grey-16x9-base.abc": "a version 2 DCT base",
}

HEAVY = ("numpy", "scipy", "onnxruntime", "torch")
CLI_DECODE = ("import sys; from abcodec.cli import decode_cli; status = decode_cli(sys.argv[1:]); "
              f"print(status, *sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
PILLOW_DECODE = ("import sys; from PIL import Image; import abcodec; Image.open(sys.argv[1]).load(); "
                 f"print(0, *sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
PILLOW_THUMBNAIL = PILLOW_DECODE.replace(".load()", ".thumbnail((8, 8))")
"""What a fresh ``abc-decode IN OUT`` (the console script calls decode_cli), a fresh Pillow
open-and-load and a fresh thumbnail (draft(), then a reduced decode) do, followed by the heavy
packages they imported."""


def fresh_file(size: tuple[int, int], mode: str, inpainter: str = "diffusion", **metadata) -> bytes:
    """A file that names ``inpainter``, coded at a quality: one quantizer, the frame at the image's size."""
    source = data.astronaut() if mode == "RGB" else data.camera()
    image = Image.fromarray(source).resize(size, Image.Resampling.LANCZOS)
    return encode(image, options=EncodeOptions(quality=60, inpainter=inpainter), metadata=metadata)


@pytest.fixture(scope="module")
def g_file(tmp_path_factory) -> Path:
    """A bare frame that names G (G alone, no descent)."""
    path = tmp_path_factory.mktemp("g") / "g.abc"
    path.write_bytes(fresh_file((64, 48), "RGB", "ppgn"))
    abc = container.read_file(path.read_bytes())
    assert abc.header.inpainter == container.INPAINTER_PPGN and decoder.is_bare_frame(abc)
    return path


def fast_decode_image(abc: container.AbcFile) -> Image.Image:
    """What decode() made of every file before it had the bare frame's path: the fast decode."""
    image = Image.fromarray(reconstruct.fast_decode(abc)[0])
    image.info.update(info_from_chunks(abc.ancillary))
    return image


def refuse_fast_decode(abc):
    msg = "the fast decode was called"
    raise RuntimeError(msg)


def assert_same_image(decoded: Image.Image, expected: Image.Image) -> None:
    assert (decoded.mode, decoded.size, decoded.info) == (expected.mode, expected.size, expected.info)
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(expected))


def bare_cases():
    for name in BARE_VECTORS:
        yield pytest.param(lambda name=name: (VECTORS / name).read_bytes(), id=name)
    for size in ((33, 20), (128, 96), (301, 157)):
        for mode in ("L", "RGB"):
            yield pytest.param(lambda size=size, mode=mode: fresh_file(size, mode), id=f"{mode}-{size[0]}x{size[1]}")


@pytest.mark.parametrize("make", bare_cases())
def test_a_bare_frame_decodes_without_the_fast_decode_to_what_it_gives(make, monkeypatch):
    encoded = make()
    abc = container.read_file(encoded)
    assert decoder.is_bare_frame(abc)
    expected = fast_decode_image(abc)
    monkeypatch.setattr(reconstruct, "fast_decode", refuse_fast_decode)
    assert_same_image(decoder.decode(encoded, inpainter="diffusion"), expected)
    assert_same_image(decoder.decode(encoded, reduced=True), expected)  # the frame is the image's size


def test_a_bare_frame_keeps_its_metadata(monkeypatch):
    metadata = {"icc_profile": b"\x00" * 128, "dpi": (300, 300), "xmp": b"<x:xmpmeta/>"}
    encoded = fresh_file((64, 48), "RGB", **metadata)
    expected = fast_decode_image(container.read_file(encoded))
    assert set(metadata) <= set(expected.info)
    monkeypatch.setattr(reconstruct, "fast_decode", refuse_fast_decode)
    assert_same_image(decoder.decode(encoded), expected)


@pytest.mark.parametrize("name", sorted(FULL_WAY_VECTORS))
def test_a_file_that_is_more_than_its_frame_takes_the_fast_decode(name, monkeypatch):
    encoded = (VECTORS / name).read_bytes()
    assert not decoder.is_bare_frame(container.read_file(encoded))
    calls, fast_decode = [], reconstruct.fast_decode
    monkeypatch.setattr(reconstruct, "fast_decode", lambda abc: calls.append(1) or fast_decode(abc))
    decoder.decode(encoded, inpainter="diffusion")
    assert calls == [1]


def test_a_bare_frame_that_names_g_gets_g(g_file, monkeypatch):
    """G refines the fast decode it is given: a bare frame is no reason to skip it."""
    encoded = g_file.read_bytes()
    fast = np.asarray(decoder.decode(encoded, inpainter="diffusion"), dtype=int)
    calls, fast_decode = [], reconstruct.fast_decode
    monkeypatch.setattr(reconstruct, "fast_decode", lambda abc: calls.append(1) or fast_decode(abc))
    refined = np.asarray(decoder.decode(encoded), dtype=int)
    assert calls == [1] and np.abs(refined - fast).max() > 0


def test_a_broken_frame_fails_as_it_did():
    """The bare frame's test reads the headers with the parser every BASE decode runs first."""
    encoded = (VECTORS / "bad-av1-frame-larger-than-head.abc").read_bytes()
    with pytest.raises(container.AbcError, match="^BASE: AV1 frame header codes a 64x36 frame"):
        decoder.decode(encoded)


def cold_imports(code: str, source: Path, tmp_path: Path) -> list[str]:
    """The heavy packages a fresh process imported to decode ``source``."""
    argv = [str(source), str(tmp_path / "out.png")] if code == CLI_DECODE else [str(source)]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300,
                          cwd=Path(abcodec.__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    status, *imported = done.stdout.split()
    assert status == "0", done.stderr
    return imported


@pytest.fixture(scope="module")
def default_file(tmp_path_factory) -> Path:
    """A file as abc-encode writes it by default, which names the fast decode and is its frame."""
    path = tmp_path_factory.mktemp("default") / "astronaut.abc"
    path.write_bytes(encode(data.astronaut()[::4, ::4]))
    abc = container.read_file(path.read_bytes())
    assert abc.header.inpainter == container.INPAINTER_DIFFUSION and decoder.is_bare_frame(abc)
    return path


@pytest.mark.parametrize("code", [CLI_DECODE, PILLOW_DECODE, PILLOW_THUMBNAIL], ids=["abc-decode", "pillow", "thumbnail"])
@pytest.mark.parametrize("name", [pytest.param(None, id="default-encode"), "grey-16x9-av1.abc", "rgb-128x64-av1-roi.abc"])
def test_a_cold_decode_of_a_bare_frame_imports_no_numpy(code, name, default_file, tmp_path):
    source = default_file if name is None else VECTORS / name
    assert cold_imports(code, source, tmp_path) == []


@pytest.mark.parametrize("name", [pytest.param(None, id="names-g"), "rgb-24x20-av1-blocks.abc",
                                  "rgb-33x20-av1-shrunk.abc", "rgba-24x20-av1-alpha.abc"])
def test_a_cold_decode_of_a_file_that_needs_more_goes_the_full_way(name, g_file, tmp_path):
    """Blocks, a smaller frame, alpha: numpy; G (a bare frame that names it): numpy and ONNX Runtime."""
    imported = cold_imports(CLI_DECODE, g_file if name is None else VECTORS / name, tmp_path)
    assert "numpy" in imported
    assert ("onnxruntime" in imported) == (name is None)
