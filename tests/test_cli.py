import errno
import importlib.metadata
import os
import pty
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import abcodec
from abcodec import cli, console, container

FAST = ["--inpainter", "diffusion"]
"""Files that ask for the fast decode: these tests are not about the generative decoder."""


def script(name: str) -> str:
    """The installed console script beside this interpreter (pip install puts it there)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed; run pip install -e ."
    return str(path)


def run(command: str, *args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([script(f"abc-{command}"), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          **kwargs)


def run_binary(command: str, *args: str, cwd: Path, stdin=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([script(f"abc-{command}"), *args], cwd=cwd, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=120)


def python(code: str, *args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, text=True, **kwargs)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(data.astronaut()[::4, ::4]).save(path)
    return path


@pytest.fixture
def encoded(sample, tmp_path) -> Path:
    path = tmp_path / "x.abc"
    assert cli.encode_cli([str(sample), str(path), *FAST]) == 0
    return path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def error_line(result: subprocess.CompletedProcess) -> str:
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
    assert result.returncode != 0
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# Encoding and decoding


def test_encode_then_decode_through_the_console_scripts(sample, tmp_path):
    encoded = run("encode", str(sample), "out.abc", "--bpp", "0.5", "--verbose", *FAST, cwd=tmp_path)
    assert encoded.returncode == 0, encoded.stderr
    size = (tmp_path / "out.abc").stat().st_size
    assert 8 * size / (128 * 128) <= 0.5
    for chunk in ("HEAD", "BASE", "AEND"):
        assert chunk in encoded.stderr
    assert "bpp" in encoded.stderr and f"{sample}: encoded 128x128" in encoded.stderr
    decoded = run("decode", "out.abc", "rec.png", "--verbose", cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert "out.abc: decoded 128x128 RGB" in decoded.stderr
    assert Image.open(tmp_path / "rec.png").size == (128, 128)
    assert listing(tmp_path) == ["in.png", "out.abc", "rec.png"]


def test_output_format_follows_the_extension_or_format(encoded, tmp_path):
    assert cli.decode_cli([str(encoded), str(tmp_path / "x.bmp")]) == 0
    assert Image.open(tmp_path / "x.bmp").format == "BMP"
    assert cli.decode_cli([str(encoded), str(tmp_path / "x.img"), "--format", "tiff"]) == 0
    assert Image.open(tmp_path / "x.img").format == "TIFF"


def test_main_functions_return_exit_codes(sample, tmp_path):
    assert cli.encode_cli([str(sample), str(tmp_path / "a.abc"), "--keep", "0.3", "--scheme", "centre", *FAST]) == 0
    assert cli.decode_cli([str(tmp_path / "a.abc"), str(tmp_path / "a.png"), "--device", "cpu"]) == 0
    assert cli.decode_cli([str(tmp_path / "missing.abc"), str(tmp_path / "b.png")]) == console.EXIT_INPUT
    assert cli.decode_cli(["--no-such-flag"]) == console.EXIT_USAGE
    assert os.path.exists(tmp_path / "a.png")


# Version, help, python -m abcodec


def test_version_on_both_commands(capsys, tmp_path):
    version = importlib.metadata.version("abcodec")
    assert abcodec.__version__ == version
    for main, prog in ((cli.encode_cli, "abc-encode"), (cli.decode_cli, "abc-decode")):
        assert main(["--version"]) == 0
        line = capsys.readouterr().out.strip()
        assert line.startswith(f"{prog} {version} (format {container.VERSION}; Pillow ")
        assert "libavif " in line
    result = run("decode", "--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(f"abc-decode {version} (format ")


def test_version_falls_back_to_the_constant_without_metadata(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert abcodec._installed_version() == abcodec._VERSION


def test_python_m_abcodec_says_what_the_package_offers(tmp_path):
    result = subprocess.run([sys.executable, "-m", "abcodec"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    for part in ("abc-encode", "abc-decode", "abcodec.encode(", "abcodec.decode(", "abcodec.EncodeOptions(",
                 "abcodec.DecodeOptions(", "register_abc_opener", "Documentation:", abcodec.__version__):
        assert part in result.stdout


def test_help_has_examples_and_readable_metavars(capsys):
    assert cli.encode_cli(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:\n  abc-encode photo.png photo.abc" in text
    assert "block layer (with --no-base" in text
    for flag in ("--block-seed S", "--keep F", "--block N", "--q-luma Q", "--bpp B", "--frame N", "-o DIR, --output-dir DIR"):
        assert flag in text
    assert cli.decode_cli(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:\n  abc-decode photo.abc photo.png" in text and "--format NAME" in text


# stdin and stdout


def test_stdin_and_stdout_give_the_same_files(sample, encoded, tmp_path):
    with open(sample, "rb") as stdin:
        from_stdin = run_binary("encode", "-", "s.abc", *FAST, cwd=tmp_path, stdin=stdin)
    assert from_stdin.returncode == 0, from_stdin.stderr
    to_stdout = run_binary("encode", str(sample), "-", *FAST, cwd=tmp_path)
    assert to_stdout.returncode == 0, to_stdout.stderr
    piped = subprocess.run(f"cat in.png | {script('abc-encode')} - p.abc --inpainter diffusion", shell=True,
                           cwd=tmp_path, capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert (tmp_path / "s.abc").read_bytes() == to_stdout.stdout == (tmp_path / "p.abc").read_bytes() \
        == encoded.read_bytes()

    assert cli.decode_cli([str(encoded), str(tmp_path / "file.png")]) == 0
    with open(encoded, "rb") as stdin:
        assert run_binary("decode", "-", "s.png", cwd=tmp_path, stdin=stdin).returncode == 0
    png = run_binary("decode", str(encoded), "-", cwd=tmp_path)
    bmp = run_binary("decode", str(encoded), "-", "--format", "BMP", cwd=tmp_path)
    assert png.stdout == (tmp_path / "file.png").read_bytes() == (tmp_path / "s.png").read_bytes()
    assert bmp.stdout.startswith(b"BM")


def test_stdout_gets_nothing_on_error(encoded, tmp_path):
    damaged = bytearray(encoded.read_bytes())
    damaged[-20] ^= 0xFF
    (tmp_path / "bad.abc").write_bytes(bytes(damaged))
    result = run_binary("decode", "bad.abc", "-", cwd=tmp_path)
    assert "CRC-32 mismatch" in error_line(result)
    assert result.stdout == b""


def test_image_data_is_not_written_to_a_terminal(sample, tmp_path):
    controller, terminal = pty.openpty()
    try:
        result = run_binary("encode", str(sample), "-", cwd=tmp_path, stdout=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert "<stdout> is a terminal" in error_line(result)


def test_a_full_stdout_is_one_line(encoded, tmp_path):
    with open("/dev/full", "wb") as full:
        result = run_binary("decode", str(encoded), "-", cwd=tmp_path, stdout=full)
    assert error_line(result) == "abc-decode: error: <stdout>: cannot write (No space left on device)"


def test_devices_are_written_to_not_replaced(sample, tmp_path):
    assert run("encode", str(sample), "/dev/null", *FAST, cwd=tmp_path).returncode == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# Several inputs


@pytest.fixture
def three_images(tmp_path) -> list[Path]:
    paths = []
    for i, (name, crop) in enumerate((("a.png", np.s_[::4, ::4]), ("b.jpg", np.s_[100:300, 50:250]),
                                      ("c.png", np.s_[::8, ::8]))):
        paths.append(tmp_path / name)
        Image.fromarray(data.astronaut()[crop]).save(paths[-1], **({"quality": 95} if i == 1 else {}))
    return paths


def test_several_inputs_go_to_a_directory_and_failures_are_one_line_each(three_images, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    inputs = [str(p) for p in three_images]
    sequential = run("encode", *inputs, "missing.png", "-o", "one", *FAST, cwd=tmp_path)
    pooled = run("encode", "missing.png", *inputs, "notes.png", "-o", "two", "-j", "2", *FAST, cwd=tmp_path)
    assert sequential.returncode == pooled.returncode == console.EXIT_INPUT
    assert sequential.stderr.strip() == "abc-encode: error: missing.png: No such file or directory"
    assert pooled.stderr.strip().splitlines() == ["abc-encode: error: missing.png: No such file or directory",
                                                  "abc-encode: error: notes.png: No such file or directory"]
    assert listing(tmp_path / "one") == listing(tmp_path / "two") == ["a.abc", "b.abc", "c.abc"]
    for name in ("a.abc", "b.abc", "c.abc"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()

    decoded = run("decode", "one/a.abc", "one/b.abc", "one/c.abc", "-o", "two", "--format", "webp", "-j", "3",
                  cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert [Image.open(tmp_path / "two" / f"{n}.webp").format for n in "abc"] == ["WEBP"] * 3
    assert cli.decode_cli([str(tmp_path / "one" / "a.abc"), "-o", str(tmp_path / "one")]) == 0
    assert Image.open(tmp_path / "one" / "a.png").format == "PNG"


def test_a_second_image_name_is_not_taken_for_the_output(sample, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "second.png")
    before = (tmp_path / "second.png").read_bytes()
    line = error_line(run("encode", str(sample), "second.png", cwd=tmp_path))
    assert line == ("abc-encode: error: second.png: abc-encode writes .abc files, and .png names a PNG image; "
                    "to encode several images, give -o DIR")
    assert (tmp_path / "second.png").read_bytes() == before
    assert "give -o DIR" in error_line(run("decode", "x.abc", "y.abc", cwd=tmp_path))


@pytest.mark.parametrize(("arguments", "message"), [
    (["in.png"], "no output: give IN OUT, or several inputs with -o DIR"),
    (["in.png", "a.abc", "b.abc"], "3 paths: give IN OUT"),
    (["in.png", "-o", "in.png"], "in.png: not a directory"),
    (["in.png", "-o", "missing/new"], "missing/new: cannot create it: missing does not exist (-o creates DIR, not"),
    (["in.png", "sub/in.jpg", "-o", "."], "in.png and sub/in.jpg would both be written to ./in.abc"),
    (["-", "-o", "."], "- (stdin) has no name"),
])
def test_bad_command_lines_are_one_line(sample, tmp_path, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    assert cli.encode_cli(arguments) == console.EXIT_INPUT
    error = capsys.readouterr().err
    assert error.startswith(f"abc-encode: error: {message}") and error.count("\n") == 1


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_o_creates_a_missing_directory_and_says_so(sample, encoded, tmp_path, command):
    source, output = (sample, "in.abc") if command == "encode" else (encoded, "x.png")
    made = run(command, str(source), "-o", "new/", *FAST, cwd=tmp_path)
    assert made.returncode == 0 and made.stderr == "note: new/: created the output directory\n"
    assert listing(tmp_path / "new") == [output]
    again = run(command, str(source), "-o", "new", *FAST, cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == ""
    assert "missing/new: cannot create it" in error_line(run(command, str(source), "-o", "missing/new", cwd=tmp_path))
    assert not (tmp_path / "missing").exists()


# Errors name the file


def test_missing_input_is_one_line(tmp_path):
    assert error_line(run("encode", "nope.png", "o.abc", cwd=tmp_path)) == \
        "abc-encode: error: nope.png: No such file or directory"
    assert not (tmp_path / "o.abc").exists()


def test_an_image_given_to_abc_decode_is_named(sample, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    assert error_line(run("decode", "photo.png", "out.png", cwd=tmp_path)) == \
        "abc-decode: error: photo.png: not an .abc file: signature missing or damaged"


def test_corrupt_abc_is_one_line_and_keeps_the_existing_output(encoded, tmp_path):
    damaged = bytearray(encoded.read_bytes())
    damaged[-20] ^= 0xFF
    (tmp_path / "bad.abc").write_bytes(bytes(damaged))
    (tmp_path / "rec.png").write_bytes(b"keep me")
    line = error_line(run("decode", "bad.abc", "rec.png", cwd=tmp_path))
    assert line.startswith("abc-decode: error: bad.abc: ") and "CRC-32 mismatch" in line
    assert (tmp_path / "rec.png").read_bytes() == b"keep me"
    assert listing(tmp_path) == ["bad.abc", "in.png", "rec.png", "x.abc"]


@pytest.mark.parametrize("cut", [0, 5, 30, 110, -1])
def test_truncated_abc_is_one_line(encoded, tmp_path, cut):
    (tmp_path / "cut.abc").write_bytes(encoded.read_bytes()[:cut])
    assert error_line(run("decode", "cut.abc", "rec.png", cwd=tmp_path)).startswith("abc-decode: error: cut.abc: ")
    assert not (tmp_path / "rec.png").exists()


def test_not_an_image_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert error_line(run("encode", "notes.txt", "o.abc", cwd=tmp_path)) == \
        "abc-encode: error: notes.txt: not an image Pillow reads"
    assert "notes.txt: not an .abc file: signature" in error_line(run("decode", "notes.txt", "o.png", cwd=tmp_path))


def test_bad_options_are_one_line(sample, tmp_path):
    assert "block size 65" in error_line(run("encode", str(sample), "o.abc", "--no-base", "--block", "65", cwd=tmp_path))
    assert "even block size" in error_line(run("encode", str(sample), "o.abc", "--no-base", "--block", "5", cwd=tmp_path))
    assert "--block set the block layer: add --no-base" in error_line(
        run("encode", str(sample), "o.abc", "--block", "8", cwd=tmp_path))
    assert "keep" in error_line(run("encode", str(sample), "o.abc", "--keep", "1.5", cwd=tmp_path))
    assert "--format xyz: not a format Pillow writes" in error_line(run("decode", "x.abc", "o.png", "--format", "xyz",
                                                                        cwd=tmp_path))
    assert not (tmp_path / "o.abc").exists()


def test_threads_is_a_positive_count(sample, tmp_path, capsys):
    assert cli.encode_cli([str(sample), str(tmp_path / "t.abc"), "--threads", "2", *FAST]) == 0
    assert cli.encode_cli([str(sample), str(tmp_path / "t.abc"), "--threads", "0"]) == console.EXIT_USAGE
    assert "--threads: 0 is not a positive integer" in capsys.readouterr().err


def test_decode_threads_reach_the_generative_decoder(sample, tmp_path, monkeypatch, capsys):
    from abcodec.generative import onnx_generator

    assert cli.encode_cli([str(sample), str(tmp_path / "g.abc"), "--bpp", "0.25", "--inpainter", "ppgn"]) == 0  # a file for G
    seen, session = [], onnx_generator._session
    monkeypatch.setattr(onnx_generator, "_session", lambda stem, threads: seen.append(threads) or session(stem, threads))
    for count in ("1", "2"):
        assert cli.decode_cli([str(tmp_path / "g.abc"), str(tmp_path / f"{count}.png"), "--threads", count]) == 0
    assert seen == [1, 2]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "1.png")), np.asarray(Image.open(tmp_path / "2.png")))
    assert cli.decode_cli([str(tmp_path / "g.abc"), str(tmp_path / "0.png"), "--threads", "0"]) == console.EXIT_USAGE
    assert "--threads: 0 is not a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "0.png").exists()


def test_max_pixels_refuses_above_its_value_and_decodes_at_it(encoded, tmp_path, capsys):
    pixels = 128 * 128
    assert cli.decode_cli([str(encoded), str(tmp_path / "over.png"), "--max-pixels", str(pixels - 1)]) == console.EXIT_INPUT
    assert capsys.readouterr().err == (f"abc-decode: error: {encoded}: HEAD: 128x128 is {pixels} pixels, over the "
                                       f"decoder's limit (max_pixels) of {pixels - 1}\n")
    assert not (tmp_path / "over.png").exists()
    assert cli.decode_cli([str(encoded), str(tmp_path / "at.png"), "--max-pixels", str(pixels)]) == 0
    assert Image.open(tmp_path / "at.png").size == (128, 128)


@pytest.mark.parametrize(("flags", "expected"), [
    ([], {}),
    (["--inpainter", "auto"], {}),
    (["--inpainter", "diffusion"], {"inpainter": "diffusion"}),
    (["--device", "cpu"], {"device": "cpu"}),
    (["--threads", "3"], {"threads": 3}),
    (["--max-pixels", "0"], {"max_pixels": None}),
    (["--max-pixels", "500"], {"max_pixels": 500}),
    (["--inpainter", "ppgn", "--device", "cuda", "--threads", "2", "--max-pixels", "0"],
     {"inpainter": "ppgn", "device": "cuda", "threads": 2, "max_pixels": None}),
])
def test_decode_flags_are_the_decode_options(encoded, tmp_path, monkeypatch, flags, expected):
    from abcodec import decoder
    from abcodec.decode_options import DecodeOptions

    given = []
    monkeypatch.setattr(decoder, "decode", lambda data, *, options, progress: given.append(options) or Image.new("RGB", (2, 2)))
    assert cli.decode_cli([str(encoded), str(tmp_path / "out.png"), *flags]) == 0
    assert given == [DecodeOptions(**expected)]


def test_a_bad_decode_option_is_one_line_before_any_file(encoded, tmp_path, capsys):
    assert cli.decode_cli([str(encoded), str(tmp_path / "out.png"), "--max-pixels", "-3"]) == console.EXIT_INPUT
    assert capsys.readouterr().err == "abc-decode: error: max_pixels must be a positive integer or None, got -3\n"
    assert not (tmp_path / "out.png").exists()


@pytest.fixture(scope="module")
def descent_file(tmp_path_factory) -> Path:
    """A file that asks for 2 descent steps: what abc-decode shows a progress bar for."""
    path = tmp_path_factory.mktemp("descent") / "d.abc"
    path.write_bytes(abcodec.encode(data.astronaut()[::8, ::8], options=abcodec.EncodeOptions(steps=2)))
    return path


def test_the_progress_bar_shows_on_a_terminal_unless_quiet(descent_file, tmp_path, monkeypatch, capsys):
    """README: while the descent runs, abc-decode shows a progress bar on stderr, not when stderr
    is not a terminal, nor with -q."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([script("abc-decode"), str(descent_file), "tty.png"], cwd=tmp_path, stderr=terminal)
        assert process.wait(timeout=120) == 0
    finally:
        os.close(terminal)
    shown = b""
    while True:
        try:
            part = os.read(controller, 4096)
        except OSError:  # EIO: the terminal's other end is closed and everything was read
            break
        if not part:
            break
        shown += part
    os.close(controller)
    assert b"decoding [###############...............] 1/2" in shown and b"2/2" in shown
    assert cli.decode_cli([str(descent_file), str(tmp_path / "pipe.png")]) == 0  # capsys: not a terminal
    assert "decoding [" not in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.decode_cli([str(descent_file), str(tmp_path / "quiet.png"), "-q"]) == 0
    assert "decoding [" not in capsys.readouterr().err
    assert cli.decode_cli([str(descent_file), str(tmp_path / "shown.png")]) == 0  # the same "terminal" without -q
    assert "decoding [" in capsys.readouterr().err


def test_strip_and_metadata_choose_the_chunks_written(tmp_path, capsys):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(data.astronaut()[::8, ::8]).save(tmp_path / "m.jpg", icc_profile=b"icc", exif=exif,
                                                      dpi=(300, 300), xmp=b"<x:xmpmeta/>")
    metadata = {"iccp", "exif", "xmpd", "phys"}
    for flags, chunks in (("", metadata), ("--strip", set()), ("--metadata icc,exif", {"iccp", "exif"}),
                          ("--metadata xmp,dpi", {"xmpd", "phys"})):
        assert cli.encode_cli([str(tmp_path / "m.jpg"), str(tmp_path / "m.abc"), *flags.split(), *FAST]) == 0
        written = {name for name, _ in container.chunk_sizes((tmp_path / "m.abc").read_bytes())}
        assert written & metadata == chunks, flags
    assert cli.encode_cli([str(tmp_path / "m.jpg"), str(tmp_path / "x.abc"), "--metadata", "icc,gps"]) != 0
    assert "gps" in capsys.readouterr().err and not (tmp_path / "x.abc").exists()


def test_an_rgba_file_to_jpeg_is_one_line_and_to_png_keeps_its_alpha(tmp_path):
    """JPEG holds no alpha and abc-decode does not drop it silently: one line naming the output,
    nothing written; PNG keeps the plane."""
    y, x = np.mgrid[0:32, 0:48]
    rgba = np.dstack([x * 5, y * 7, np.full_like(x, 90), np.clip(x * 8 - y, 0, 255)]).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert run("encode", "a.png", "a.abc", *FAST, cwd=tmp_path).returncode == 0
    assert error_line(run("decode", "a.abc", "a.jpg", cwd=tmp_path)) == \
        "abc-decode: error: a.jpg: cannot write mode RGBA as JPEG"
    assert not (tmp_path / "a.jpg").exists()
    assert run("decode", "a.abc", "out.png", cwd=tmp_path).returncode == 0
    with Image.open(tmp_path / "out.png") as png:
        assert png.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(png)[..., 3], rgba[..., 3])


def test_deep_input_is_refused_naming_the_file_and_palette_converted(tmp_path):
    Image.new("RGBA", (8, 8)).save(tmp_path / "a.png")
    assert run("encode", "a.png", "a.abc", *FAST, cwd=tmp_path).returncode == 0  # alpha: the ALPH chunk
    deep = tmp_path / "deep.tif"
    Image.new("I;16", (4, 4), 40000).save(deep)
    assert error_line(run("encode", "deep.tif", "d.abc", cwd=tmp_path)).startswith(
        "abc-encode: error: deep.tif: mode I;16 has more than 8 bits per sample")
    Image.fromarray(data.astronaut()[::16, ::16]).convert("P").save(tmp_path / "p.png")
    converted = run("encode", "p.png", "p.abc", *FAST, cwd=tmp_path)
    assert converted.returncode == 0
    assert "note: p.png: converted mode P to RGB" in converted.stderr


def test_a_16_bit_rgb_png_is_refused(tmp_path):
    from tests.test_images import png

    png(tmp_path / "deep.png", 4, 3, depth=16)
    assert error_line(run("encode", "deep.png", "d.abc", cwd=tmp_path)) == (
        "abc-encode: error: deep.png: 16 bits per sample, and .abc stores 8: reduce the image to 8 bits first "
        "(Pillow alone would silently drop the rest)")


def test_an_animation_needs_a_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), (shade, 90, 255 - shade)) for shade in (0, 120, 240)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    assert "anim.png: 3 frames (an animation or pages)" in error_line(run("encode", "anim.png", "a.abc", cwd=tmp_path))
    assert error_line(run("encode", "anim.png", "a.abc", "--frame", "3", cwd=tmp_path)) == \
        "abc-encode: error: anim.png: no frame 3: the image has 3 (0..2)"
    lossless = ["--no-base", "--keep", "1", "--q-luma", "1", "--q-chroma", "1", "--chroma-shift", "0", *FAST]
    assert cli.encode_cli([str(tmp_path / "anim.png"), str(tmp_path / "a.abc"), "--frame", "2", *lossless]) == 0
    decoded = np.asarray(abcodec.decode((tmp_path / "a.abc").read_bytes()), dtype=int)
    assert np.abs(decoded - np.asarray(frames[2], dtype=int)).max() <= 2
    assert not (tmp_path / "b.abc").exists()


@pytest.mark.parametrize(("width", "height"), [(10000, 10000), (20000, 20000)])
def test_a_decompression_bomb_png_is_one_line(tmp_path, width, height):
    from tests.test_images import png

    png(tmp_path / "bomb.png", width, height, rows=b"")
    line = error_line(run("encode", "bomb.png", "b.abc", cwd=tmp_path))
    assert line == (f"abc-encode: error: bomb.png: {width * height} pixels, over Pillow's limit of "
                    f"{Image.MAX_IMAGE_PIXELS} (a likely decompression bomb)")


def test_unknown_output_extension_and_directory_output(encoded, sample, tmp_path):
    assert "extension" in error_line(run("decode", "x.abc", "x.unknown", cwd=tmp_path))
    (tmp_path / "folder").mkdir()
    assert "folder: is a directory" in error_line(run("encode", str(sample), "folder", cwd=tmp_path))


# Bounded reads


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_dev_zero_and_a_fifo_without_writer_are_one_line_at_once(tmp_path, command):
    os.mkfifo(tmp_path / "fifo")
    out = {"encode": "out.abc", "decode": "out.png"}[command]
    started = time.monotonic()
    assert "/dev/zero: is a character device" in error_line(run(command, "/dev/zero", out, cwd=tmp_path))
    with open("/dev/zero", "rb") as zeros:
        assert "<stdin>: is a character device" in error_line(run_binary(command, "-", out, cwd=tmp_path,
                                                                           stdin=zeros))
    assert error_line(run(command, "fifo", out, cwd=tmp_path)) == f"abc-{command}: error: fifo: empty"
    assert time.monotonic() - started < 60
    assert listing(tmp_path) == ["fifo"]


def test_an_endless_pipe_and_a_huge_file_are_refused_after_a_few_bytes(encoded, tmp_path):
    process = subprocess.Popen([script("abc-decode"), "-", "out.png"], cwd=tmp_path, stdin=subprocess.PIPE,
                               stderr=subprocess.PIPE)

    def feed():
        try:
            while True:
                process.stdin.write(bytes(1 << 16))
        except (BrokenPipeError, ValueError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    _, stderr = process.communicate(timeout=60)
    assert "<stdin>: not an .abc file" in error_line(subprocess.CompletedProcess([], process.returncode, b"", stderr))

    huge = tmp_path / "huge.abc"
    huge.write_bytes(encoded.read_bytes())
    os.truncate(huge, 8 << 30)  # sparse: 8 GiB on paper
    line = error_line(run("decode", "huge.abc", "out.png", cwd=tmp_path))
    assert line.startswith("abc-decode: error: huge.abc: longer than any .abc file of a 128x128 image")
    with open(tmp_path / "huge.png", "wb") as huge_image:
        huge_image.truncate(8 << 30)
    assert error_line(run("encode", "huge.png", "out.abc", cwd=tmp_path)) == \
        "abc-encode: error: huge.png: not an image Pillow reads"


# Careful output


def test_never_overwrites_its_input(encoded, sample, tmp_path):
    before = sample.read_bytes(), encoded.read_bytes()
    assert "in.png: abc-encode writes .abc files" in error_line(run("encode", "in.png", "in.png", cwd=tmp_path))
    assert "x.abc: abc-decode writes images" in error_line(run("decode", "x.abc", "x.abc", cwd=tmp_path))
    (tmp_path / "copy").write_bytes(encoded.read_bytes())
    assert "copy: output would overwrite the input" in error_line(
        run("decode", "copy", "copy", "--format", "png", cwd=tmp_path))
    assert (sample.read_bytes(), encoded.read_bytes()) == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_never_overwrites_its_input_through_a_link(encoded, sample, tmp_path, link, capsys):
    made = {"symlink": os.symlink, "hardlink": os.link}[link]
    made(encoded, tmp_path / "alias.png")  # an image name that is the .abc input
    made(sample, tmp_path / "alias")  # an output name that is the image input
    before = encoded.read_bytes(), sample.read_bytes()
    for main, source, target in ((cli.encode_cli, sample, "alias"), (cli.decode_cli, encoded, "alias.png")):
        assert main([str(source), str(tmp_path / target)]) == console.EXIT_INPUT
        assert "output would overwrite the input" in capsys.readouterr().err
    assert (encoded.read_bytes(), sample.read_bytes()) == before
    assert listing(tmp_path) == ["alias", "alias.png", "in.png", "x.abc"]


SLOW_SAVE = (
    "import os, signal, sys, time\n"
    "from PIL import Image\n"
    "from abcodec import cli\n"
    "def save(self, fp, *args, **kwargs):\n"
    "    fp.write(b'half an image')\n"
    "    fp.flush()\n"
    "    {then}\n"
    "Image.Image.save = save\n"
    "sys.exit(cli.decode_cli(sys.argv[1:]))\n"
)


def supports_unnamed_files(folder: Path) -> bool:
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except (AttributeError, OSError):
        return False
    return True


def test_sigterm_removes_the_temporary_file_and_keeps_the_old_output(encoded, tmp_path, monkeypatch):
    (tmp_path / "out.png").write_bytes(b"keep me")
    # Killed while the output is half written: the temporary file exists at that moment.
    code = SLOW_SAVE.format(then="os.kill(os.getpid(), signal.SIGTERM)")
    for unnamed in (True, False):
        # Without O_TMPFILE the temporary file has a name, which the unwinding must remove.
        run_code = code if unnamed else "import os; del os.O_TMPFILE\n" + code
        process = python(run_code, "x.abc", "out.png", cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == console.EXIT_TERMINATED, stderr
        assert stderr.strip() == "abc-decode: terminated"
        assert (tmp_path / "out.png").read_bytes() == b"keep me"
        assert listing(tmp_path) == ["in.png", "out.png", "x.abc"]


@pytest.mark.parametrize("existing", [True, False])
def test_sigkill_while_writing_leaves_the_directory_as_it_was(encoded, tmp_path, existing):
    if not supports_unnamed_files(tmp_path):
        pytest.skip("no O_TMPFILE here: a named temporary file is what SIGKILL leaves behind")
    if existing:
        (tmp_path / "out.png").write_bytes(b"keep me")
    before = listing(tmp_path)
    code = SLOW_SAVE.format(then="print('writing', flush=True); time.sleep(60)")
    process = python(code, "x.abc", "out.png", cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline() == "writing\n"
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert listing(tmp_path) == before
    if existing:
        assert (tmp_path / "out.png").read_bytes() == b"keep me"


@pytest.fixture(params=["unnamed", "named"])
def temporary_files(request, monkeypatch):
    """Both ways of writing an output: an O_TMPFILE, and the named file used where there is none."""
    if request.param == "named":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    return request.param


def test_new_outputs_follow_the_umask_and_old_ones_keep_their_mode(encoded, sample, tmp_path, temporary_files):
    previous = os.umask(0o027)
    try:
        assert cli.encode_cli([str(sample), str(tmp_path / "new.abc"), *FAST]) == 0
        assert cli.decode_cli([str(encoded), str(tmp_path / "new.png")]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.abc").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "new.png").stat().st_mode) == 0o640
    (tmp_path / "old.abc").write_bytes(b"old")
    os.chmod(tmp_path / "old.abc", 0o604)
    assert cli.encode_cli([str(sample), str(tmp_path / "old.abc"), *FAST]) == 0
    assert stat.S_IMODE((tmp_path / "old.abc").stat().st_mode) == 0o604
    assert (tmp_path / "old.abc").read_bytes() == (tmp_path / "new.abc").read_bytes()
    assert listing(tmp_path) == ["in.png", "new.abc", "new.png", "old.abc", "x.abc"]


def test_a_full_disk_names_the_file_and_keeps_the_old_one(encoded, tmp_path, temporary_files, monkeypatch, capsys):
    (tmp_path / "out.png").write_bytes(b"keep me")

    def full(self, fp, *args, **kwargs):
        fp.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Image.Image, "save", full)
    assert cli.decode_cli([str(encoded), str(tmp_path / "out.png")]) == console.EXIT_INPUT
    assert capsys.readouterr().err == f"abc-decode: error: {tmp_path / 'out.png'}: cannot write (No space left on device)\n"
    assert (tmp_path / "out.png").read_bytes() == b"keep me"
    assert listing(tmp_path) == ["in.png", "out.png", "x.abc"]


# Ctrl-C


def import_seconds(cwd: Path) -> float:
    """How long the interpreter's start-up and ``import abcodec.cli`` (Pillow with it) take here:
    what runs before the entry point installs its handler, where Ctrl-C is still Python's own
    KeyboardInterrupt and no code of ours can catch it (cli.py's docstring)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import abcodec.cli"], cwd=cwd, check=True, timeout=60)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def big_image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.png"
    Image.fromarray(data.astronaut()).resize((1500, 1500)).save(path)
    return path


def test_ctrl_c_at_any_moment_is_one_line_and_leaves_nothing(big_image, tmp_path):
    """SIGINT while the codec is imported, the image read, encoded and written: from 0.05 s after
    the entry point can run (twice the measured start-up, for a margin) to 1 s after."""
    start_up = 2 * import_seconds(tmp_path)
    outcomes = []
    for delay in (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0):
        process = subprocess.Popen([script("abc-encode"), str(big_image), "big.abc"], cwd=tmp_path,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(start_up + delay)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        outcomes.append(process.returncode)
        assert "Traceback" not in stderr
        if process.returncode == 0:
            (tmp_path / "big.abc").unlink()
        else:
            assert process.returncode == console.EXIT_INTERRUPTED, stderr
            assert stderr == "abc-encode: interrupted\n"
        assert listing(tmp_path) == []
    assert console.EXIT_INTERRUPTED in outcomes


def live_processes(group: int) -> list[int]:
    """The processes of a process group that are not zombies (/proc/PID/stat: state, then pgrp)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_ctrl_c_stops_the_workers_too(big_image, tmp_path):
    """Ctrl-C reaches every process of the terminal's group: the workers ignore it, the main
    process stops them and says so once. It comes once both workers run, a second into encodes
    at AV1 speed 0, each of which takes over 10 s on a 2.25 MP image: it always interrupts them.
    At 0.25 bpp: a worker ends once its AV1 encode returns, and the rate search's encodes are short
    (one encode at the default quality took 49 s at speed 0 here)."""
    inputs = []
    for name in ("a", "b", "c"):
        os.symlink(big_image, tmp_path / f"{name}.png")
        inputs.append(f"{name}.png")
    (tmp_path / "out").mkdir()
    process = subprocess.Popen([script("abc-encode"), *inputs, "-o", "out", "-j", "2", "--speed", "0",
                                "--bpp", "0.25", *FAST],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(live_processes(process.pid)) < 3 and time.monotonic() < deadline:  # the main process and 2 workers
        time.sleep(0.1)
    time.sleep(1)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == console.EXIT_INTERRUPTED, stderr
    assert stderr == "abc-encode: interrupted\n"
    deadline = time.monotonic() + 10
    while live_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_processes(process.pid) == []  # no worker is left
    for path in (tmp_path / "out").iterdir():
        container.read_file(path.read_bytes())  # whatever was written is whole


def test_sigterm_handler_is_restored_after_a_run(sample, tmp_path):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert cli.encode_cli([str(sample), str(tmp_path / "x.abc"), *FAST]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_encoder_warns_when_its_file_would_be_refused_by_default(tmp_path):
    Image.new("RGB", (2000, 1500), (40, 90, 160)).save(tmp_path / "flat.png")
    encoded = run("encode", "flat.png", "flat.abc", "--no-base", *FAST, cwd=tmp_path)
    assert encoded.returncode == 0
    assert "note: flat.png: default decoders will refuse the .abc file" in encoded.stderr
    assert run("decode", "flat.abc", "flat-out.png", cwd=tmp_path).returncode != 0
    assert run("decode", "flat.abc", "flat-out.png", "--max-pixels", "0", cwd=tmp_path).returncode == 0
    Image.fromarray(data.astronaut()).save(tmp_path / "photo.png")
    ordinary = run("encode", "photo.png", "photo.abc", *FAST, cwd=tmp_path)
    assert ordinary.returncode == 0 and "refuse" not in ordinary.stderr


# Metadata into the decoded image's format

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
EXIF_TAGS = {0x0112: 6, 0x010F: "abcodec test camera"}
"""Orientation (rotate 90) and Make: what a photo's EXIF says at least."""


@pytest.fixture(scope="module")
def with_metadata(tmp_path_factory) -> tuple[Path, dict]:
    from PIL import ImageCms

    exif = Image.Exif()
    exif.update(EXIF_TAGS)
    metadata = {"icc_profile": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
                "exif": exif.tobytes(), "xmp": XMP, "dpi": (300, 150)}
    path = tmp_path_factory.mktemp("metadata") / "photo.abc"
    image = Image.fromarray(data.astronaut()[::8, ::8])
    path.write_bytes(abcodec.encode(image, options=abcodec.EncodeOptions(inpainter="diffusion"), metadata=metadata))
    return path, metadata


def decode_with_abc_batch(source: Path, target: Path, fmt: str) -> None:
    """abc-batch decode's work on one file (its Ray actor's), without starting a cluster."""
    from abcodec import batch, locations
    from abcodec.decode_options import DecodeOptions

    settings = cli.DecodeSettings(DecodeOptions(inpainter="diffusion", max_pixels=None), verbose=False, progress=False)
    job = batch.Job("decode", settings, target.suffix, fmt, cpus=1)
    transcoder = batch.Transcoder(locations.locate(str(source)), locations.locate(str(target.parent), destination=True), job)
    outcome = transcoder.convert(str(source), source.read_bytes())
    assert outcome["status"] == "written" and outcome["output"] == str(target), outcome


@pytest.mark.parametrize("face", ["abc-decode", "abc-batch"])
@pytest.mark.parametrize(("extension", "fmt", "kept"), [
    (".png", "PNG", {"icc_profile", "exif", "xmp", "dpi"}),
    (".jpg", "JPEG", {"icc_profile", "exif", "xmp", "dpi"}),
    (".webp", "WEBP", {"icc_profile", "exif", "xmp"}),  # Pillow writes no dpi to WebP
    (".tiff", "TIFF", {"icc_profile", "exif", "xmp", "dpi"}),
])
def test_decoding_keeps_the_metadata_pillow_can_write(with_metadata, tmp_path, face, extension, fmt, kept):
    source, metadata = with_metadata
    target = tmp_path / ("photo" + extension)
    if face == "abc-decode":
        assert cli.decode_cli([str(source), str(target)]) == 0
    else:
        decode_with_abc_batch(source, target, fmt)
    with Image.open(target) as out:  # EXIF read before load(): Pillow's TIFF reader applies the orientation then
        assert out.format == fmt
        exif = out.getexif()
        found = {
            "icc_profile": out.info.get("icc_profile") == metadata["icc_profile"],
            "exif": {tag: exif.get(tag) for tag in EXIF_TAGS} == EXIF_TAGS,
            "xmp": out.info.get("xmp") == XMP,
            # PNG stores whole pixels per metre: a dpi within half of 0.0254
            "dpi": out.info.get("dpi") == pytest.approx(metadata["dpi"], abs=0.0127),
        }
    assert {key for key, there in found.items() if there} == kept


@pytest.mark.parametrize(("exif", "problem"), [
    (b"XX*\x00\x00\x00\x00\x08", "SyntaxError: not a TIFF file"),
    # Orientation as a SLONG of 196608: read, but not written again as the SHORT it is
    (bytes.fromhex("4d4d002a00000008000101120009000000010003000000000000"), "error: 'H' format requires"),
])
def test_a_damaged_exif_is_left_out_of_a_tiff_with_a_note(tmp_path, exif, problem):
    abc = container.read_file((Path(__file__).parents[1] / "format_spec/vectors/rgb-33x20-centre-metadata.abc").read_bytes())
    abc.ancillary[container.CHUNK_EXIF] = exif
    (tmp_path / "damaged.abc").write_bytes(container.write_file(abc))
    decoded = run("decode", "damaged.abc", "out.tiff", *FAST, cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stderr.startswith(f"note: damaged.abc: the output gets no EXIF: exif is not EXIF data Pillow can "
                                     f"read ({problem}") and decoded.stderr.count("\n") == 1
    with Image.open(tmp_path / "out.tiff") as out:
        assert out.info["xmp"] == b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>' and 0x0112 not in out.getexif()


def test_exif_layout_tags_do_not_replace_the_tiffs_own(tmp_path):
    exif = Image.Exif()
    exif.update({256: 9999, 257: 5, 259: 5, 273: 10, 277: 1, 0x010F: "abcodec test camera"})  # sizes, LZW, strips
    image = Image.fromarray(data.astronaut()[::8, ::8])
    (tmp_path / "x.abc").write_bytes(abcodec.encode(image, options=abcodec.EncodeOptions(inpainter="diffusion"),
                                                    metadata={"exif": exif}))
    assert cli.decode_cli([str(tmp_path / "x.abc"), str(tmp_path / "x.tiff")]) == 0
    assert cli.decode_cli([str(tmp_path / "x.abc"), str(tmp_path / "x.png")]) == 0
    with Image.open(tmp_path / "x.tiff") as tiff, Image.open(tmp_path / "x.png") as png:
        assert tiff.getexif()[0x010F] == "abcodec test camera"
        assert np.array_equal(np.asarray(tiff), np.asarray(png))


def test_a_full_disk_under_jobs_is_one_line_per_file_and_the_others_go_on(tmp_path):
    # A file size limit one byte short of the large output fails writes as a full disk does
    # (EFBIG for ENOSPC), at the last flush, so that bytes are still buffered when the file is
    # closed: the case where close() used to raise again, a traceback that stopped the other jobs.
    # The workers inherit the limit, and SIGXFSZ ignored.
    import resource

    large = Image.fromarray(data.astronaut()[:200, :200])
    small = Image.fromarray(data.astronaut()[:40, :40])
    names = ["0-large.abc", "1-small.abc", "2-large.abc", "3-small.abc"]
    for name in names:
        image = large if "large" in name else small
        (tmp_path / name).write_bytes(abcodec.encode(image, options=abcodec.EncodeOptions(inpainter="diffusion")))
    assert cli.decode_cli([str(tmp_path / names[0]), str(tmp_path / "large.png")]) == 0
    limit = (tmp_path / "large.png").stat().st_size - 1

    def files_up_to_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    (tmp_path / "out").mkdir()
    decoded = subprocess.run([script("abc-decode"), *names, "-o", "out", "-j", "2"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, preexec_fn=files_up_to_limit,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert decoded.returncode == console.EXIT_INPUT
    too_large = os.strerror(errno.EFBIG)
    assert decoded.stderr.splitlines() == [f"abc-decode: error: out/{name[:-4]}.png: cannot write ({too_large})"
                                           for name in names if "large" in name]
    assert listing(tmp_path / "out") == ["1-small.png", "3-small.png"]
    for name in listing(tmp_path / "out"):
        with Image.open(tmp_path / "out" / name) as out:
            out.load()
            assert out.size == (40, 40)


@pytest.mark.parametrize(("error", "line"), [
    (TypeError("a bug"), "unexpected TypeError: a bug (please report it)"),
    (OSError(errno.EIO, os.strerror(errno.EIO)), os.strerror(errno.EIO)),
])
def test_any_failure_of_one_file_is_its_line_and_the_others_go_on(encoded, tmp_path, monkeypatch, capsys, error, line):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.abc").write_bytes(encoded.read_bytes())
    decode_file = cli.decode_file

    def failing_for_b(job, settings, lines):
        if job.source.endswith("b.abc"):
            raise error
        decode_file(job, settings, lines)

    monkeypatch.setattr(cli, "decode_file", failing_for_b)
    (tmp_path / "out").mkdir()
    sources = [str(tmp_path / f"{name}.abc") for name in ("a", "b", "c")]
    assert cli.decode_cli([*sources, "-o", str(tmp_path / "out")]) == console.EXIT_INPUT
    assert capsys.readouterr().err == f"abc-decode: error: {sources[1]}: {line}\n"
    assert listing(tmp_path / "out") == ["a.png", "c.png"]
