import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from abcodec import cli


def script(name: str) -> str:
    """The installed console script beside this interpreter (pip install puts it there)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed; run pip install -e ."
    return str(path)


def run(command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([script(f"abc-{command}"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(data.astronaut()[::4, ::4]).save(path)
    return path


def test_encode_then_decode_through_the_console_scripts(sample, tmp_path):
    encoded = run("encode", str(sample), "out.abc", "--bpp", "0.5", "--verbose", cwd=tmp_path)
    assert encoded.returncode == 0, encoded.stderr
    size = (tmp_path / "out.abc").stat().st_size
    assert 8 * size / (128 * 128) <= 0.5
    for chunk in ("HEAD", "MASK", "PIXL", "AEND"):
        assert chunk in encoded.stderr
    assert "bpp" in encoded.stderr and "encoded 128x128" in encoded.stderr
    decoded = run("decode", "out.abc", "rec.png", "--verbose", cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert Image.open(tmp_path / "rec.png").size == (128, 128)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.abc", "rec.png"]


def test_output_format_follows_the_extension(sample, tmp_path):
    assert cli.encode_cli([str(sample), str(tmp_path / "x.abc")]) == 0
    assert cli.decode_cli([str(tmp_path / "x.abc"), str(tmp_path / "x.bmp")]) == 0
    assert Image.open(tmp_path / "x.bmp").format == "BMP"


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_input_is_one_line(tmp_path):
    assert "nope.png" in error_line(run("encode", "nope.png", "o.abc", cwd=tmp_path))
    assert not (tmp_path / "o.abc").exists()


def test_corrupt_abc_is_one_line_and_keeps_the_existing_output(sample, tmp_path):
    assert cli.encode_cli([str(sample), str(tmp_path / "good.abc")]) == 0
    damaged = bytearray((tmp_path / "good.abc").read_bytes())
    damaged[40] ^= 0xFF
    (tmp_path / "bad.abc").write_bytes(bytes(damaged))
    (tmp_path / "rec.png").write_bytes(b"keep me")
    line = error_line(run("decode", "bad.abc", "rec.png", cwd=tmp_path))
    assert "CRC-32 mismatch" in line
    assert (tmp_path / "rec.png").read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.abc", "good.abc", "in.png", "rec.png"]


@pytest.mark.parametrize("cut", [0, 5, 30, 110, -1])
def test_truncated_abc_is_one_line(sample, tmp_path, cut):
    assert cli.encode_cli([str(sample), str(tmp_path / "good.abc")]) == 0
    (tmp_path / "cut.abc").write_bytes((tmp_path / "good.abc").read_bytes()[:cut])
    error_line(run("decode", "cut.abc", "rec.png", cwd=tmp_path))
    assert not (tmp_path / "rec.png").exists()


def test_not_an_image_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert "notes.txt" in error_line(run("encode", "notes.txt", "o.abc", cwd=tmp_path))
    assert "signature" in error_line(run("decode", "notes.txt", "o.png", cwd=tmp_path))


def test_bad_options_are_one_line(sample, tmp_path):
    assert "block size 65" in error_line(run("encode", str(sample), "o.abc", "--no-base", "--block", "65", cwd=tmp_path))
    assert "even block size" in error_line(run("encode", str(sample), "o.abc", "--no-base", "--block", "5", cwd=tmp_path))
    assert "--block set the block layer: add --no-base" in error_line(
        run("encode", str(sample), "o.abc", "--block", "8", cwd=tmp_path))
    assert "keep" in error_line(run("encode", str(sample), "o.abc", "--keep", "1.5", cwd=tmp_path))
    assert not (tmp_path / "o.abc").exists()


def test_alpha_input_is_refused_and_palette_converted_with_a_note(tmp_path):
    Image.new("RGBA", (8, 8)).save(tmp_path / "a.png")
    assert "alpha" in error_line(run("encode", "a.png", "a.abc", cwd=tmp_path))
    Image.fromarray(data.astronaut()[::16, ::16]).convert("P").save(tmp_path / "p.png")
    converted = run("encode", "p.png", "p.abc", cwd=tmp_path)
    assert converted.returncode == 0
    assert "converted mode P to RGB" in converted.stderr


def test_unknown_output_extension_and_directory_output(sample, tmp_path):
    assert cli.encode_cli([str(sample), str(tmp_path / "x.abc")]) == 0
    assert "extension" in error_line(run("decode", "x.abc", "x.unknown", cwd=tmp_path))
    (tmp_path / "folder").mkdir()
    assert "is a directory" in error_line(run("encode", str(sample), "folder", cwd=tmp_path))


def test_never_overwrites_its_input(sample, tmp_path):
    before = sample.read_bytes()
    assert "overwrite the input" in error_line(run("encode", str(sample), str(sample), cwd=tmp_path))
    assert sample.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_never_overwrites_its_input_through_a_link(sample, tmp_path, link, capsys):
    assert cli.encode_cli([str(sample), str(tmp_path / "x.abc")]) == 0
    made = {"symlink": os.symlink, "hardlink": os.link}[link]
    made(tmp_path / "x.abc", tmp_path / "alias.abc")
    made(sample, tmp_path / "alias.png")
    before = (tmp_path / "x.abc").read_bytes(), sample.read_bytes()
    for main, source, target in ((cli.encode_cli, sample, "alias.png"), (cli.decode_cli, "x.abc", "alias.abc"),
                                 (cli.encode_cli, "alias.png", sample)):
        assert main([str(tmp_path / source), str(tmp_path / target)]) == cli.EXIT_INPUT
        assert "output would overwrite the input" in capsys.readouterr().err
    assert ((tmp_path / "x.abc").read_bytes(), sample.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.abc", "alias.png", "in.png", "x.abc"]


def test_sigterm_removes_the_temporary_file_and_keeps_the_old_output(sample, tmp_path):
    assert cli.encode_cli([str(sample), str(tmp_path / "x.abc")]) == 0
    (tmp_path / "out.png").write_bytes(b"keep me")
    # Killed while the output is half written: the temporary file exists at that moment.
    code = (
        "import os, signal, sys\n"
        "from PIL import Image\n"
        "from abcodec import cli\n"
        "def save(self, fp, *args, **kwargs):\n"
        "    open(fp, 'wb').write(b'half an image')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "Image.Image.save = save\n"
        "sys.exit(cli.decode_cli(sys.argv[1:]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, "x.abc", "out.png"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == cli.EXIT_TERMINATED, done.stderr
    assert done.stderr.strip() == "-c: terminated"
    assert (tmp_path / "out.png").read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png", "x.abc"]


def test_sigterm_handler_is_restored_after_a_run(sample, tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    assert cli.encode_cli([str(sample), str(tmp_path / "x.abc")]) == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_ctrl_c_leaves_no_partial_file(tmp_path):
    big = tmp_path / "big.png"
    Image.fromarray(np.asarray(Image.fromarray(data.astronaut()).resize((3000, 3000)))).save(big)
    process = subprocess.Popen([script("abc-encode"), "big.png", "big.abc"], cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("encode finished before the interrupt")
    assert process.returncode == cli.EXIT_INTERRUPTED
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png"]


def test_main_functions_return_exit_codes(sample, tmp_path):
    assert cli.encode_cli([str(sample), str(tmp_path / "a.abc"), "--keep", "0.3", "--scheme", "centre"]) == 0
    assert cli.decode_cli([str(tmp_path / "a.abc"), str(tmp_path / "a.png"), "--inpainter", "diffusion",
                           "--device", "cpu"]) == 0
    assert cli.decode_cli([str(tmp_path / "missing.abc"), str(tmp_path / "b.png")]) == cli.EXIT_INPUT
    assert os.path.exists(tmp_path / "a.png")


def test_encoder_warns_when_its_file_would_be_refused_by_default(tmp_path):
    Image.new("RGB", (2000, 1500), (40, 90, 160)).save(tmp_path / "flat.png")
    encoded = run("encode", "flat.png", "flat.abc", "--no-base", cwd=tmp_path)
    assert encoded.returncode == 0
    assert "note: flat.png: default decoders will refuse the .abc file" in encoded.stderr
    assert run("decode", "flat.abc", "flat-out.png", cwd=tmp_path).returncode != 0
    assert run("decode", "flat.abc", "flat-out.png", "--max-pixels", "0", cwd=tmp_path).returncode == 0
    Image.fromarray(data.astronaut()).save(tmp_path / "photo.png")
    ordinary = run("encode", "photo.png", "photo.abc", cwd=tmp_path)
    assert ordinary.returncode == 0 and "refuse" not in ordinary.stderr
