"""abc-batch on a real single-node Ray cluster (two CPUs, one for the whole module).

The cluster tests need the ``[batch]`` extra (Ray Data, pyarrow) and are skipped, saying so,
without it; the tests of what needs no cluster (the missing-Ray line, the import cost) always run.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from abcodec import batch, cli, console, locations
from abcodec.options import EncodeOptions
from fuzz import hostile

HAVE_RAY = all(importlib.util.find_spec(name) is not None for name in ("ray", "pyarrow"))
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason='Ray Data is not installed: pip install "abcodec[batch]"')

FAST = ["--inpainter", "diffusion"]
"""Files that ask for the fast decode: these tests are not about the generative decoder."""

QUIET = ["--quiet"]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")  # Ray's own, on copying its context


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module; abc-batch joins it instead of starting its own."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A folder tree of small images, nested two deep, with a hidden file that is no input."""
    root = tmp_path_factory.mktemp("photos")
    (root / "sub" / "deeper").mkdir(parents=True)
    astronaut = data.astronaut()
    Image.fromarray(astronaut[::6, ::6]).save(root / "a.png")
    Image.fromarray(data.camera()[::8, ::8]).save(root / "sub" / "b.png")
    Image.fromarray(astronaut[100:180, 150:260]).save(root / "sub" / "deeper" / "c.jpg", quality=90)
    (root / ".hidden.png").write_text("not an input")
    return root


GOOD = ["a", "sub/b", "sub/deeper/c"]


def reference(photos: Path, out: Path, command, names: list[str], source_ext: dict[str, str], *flags: str) -> Path:
    """What abc-encode / abc-decode -o write for the same files, one folder at a time."""
    for name in names:
        folder = out / Path(name).parent
        folder.mkdir(parents=True, exist_ok=True)
        assert command([str(photos / (name + source_ext[name])), "-o", str(folder), *flags]) == 0
    return out


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------------------------------------
# Without a cluster


def test_a_missing_ray_is_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    assert batch.main(["encode", str(tmp_path), str(tmp_path / "out")]) == console.EXIT_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert 'pip install "abcodec[batch]"' in error


def test_the_rest_of_the_package_does_not_import_ray(tmp_path):
    code = ("import sys, abcodec, abcodec.cli, abcodec.codec, abcodec.batch; "
            "abcodec.batch.parser().parse_args(['encode', 'a', 'b']); "
            "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_encoder_flags_are_abc_encodes():
    """abc-batch encode's flags are abc-encode's, but for -o, -j, -v and the paths."""
    def flags(parser):
        return {option for action in parser._actions for option in action.option_strings}

    encode_parser = batch.parser()._subparsers._group_actions[0].choices["encode"]
    decode_parser = batch.parser()._subparsers._group_actions[0].choices["decode"]
    common = {"-o", "--output-dir", "-j", "--jobs", "-v", "--verbose", "--version"}
    mine = {"--workers", "--address", "--overwrite", "--report", "--quiet"}
    assert flags(encode_parser) - mine == flags(cli.encode_parser()) - common
    assert flags(decode_parser) == flags(cli.decode_parser()) - common | mine  # -q/--quiet are abc-decode's too


@pytest.mark.parametrize(("flags", "expected"), [
    ([], {"threads": 1}),  # a worker reserves one CPU (--threads' default here) and its decoder uses it
    (["--inpainter", "auto", "--max-pixels", "500"], {"threads": 1, "max_pixels": 500}),
    (["--inpainter", "diffusion", "--device", "cpu", "--threads", "2", "--max-pixels", "0"],
     {"inpainter": "diffusion", "device": "cpu", "threads": 2, "max_pixels": None}),
    (["--device", "cuda"], {"device": "cuda", "threads": 1}),
])
def test_decode_flags_reach_each_workers_decode(tmp_path, monkeypatch, flags, expected):
    """abc-batch decode's flags, through the job every worker is told to the worker's decode (no cluster)."""
    from abcodec import codec, decoder
    from abcodec.decode_options import DecodeOptions

    source = tmp_path / "a.abc"
    source.write_bytes(codec.encode(data.astronaut()[::16, ::16], options=EncodeOptions(inpainter="diffusion")))
    given = []
    monkeypatch.setattr(decoder, "decode", lambda data, *, options: given.append(options) or Image.new("RGB", (32, 32)))
    job = batch._job_from(batch.parser().parse_args(["decode", str(tmp_path), str(tmp_path / "out"), *flags]))
    assert job.gpus == (expected.get("device") == "cuda")
    destination = locations.locate(str(tmp_path / "out"), destination=True)
    transcoder = batch.Transcoder(locations.locate(str(tmp_path)), destination, job)
    assert transcoder.convert(str(source), source.read_bytes())["status"] == "written"
    assert given == [DecodeOptions(**expected)]


@pytest.mark.parametrize(("glob", "matches", "misses"), [
    ("*.png", ["a.png"], ["sub/a.png", "a.jpg"]),
    ("**/*.png", ["a.png", "x/y/a.png"], ["a.jpg"]),
    ("s/[ab]?.jpg", ["s/a1.jpg"], ["s/c1.jpg"]),
    ("[!a]*", ["b"], ["a", "x/b"]),
    ("x/**/y", ["x/y", "x/a/b/y"], ["xy"]),
])
def test_globs_match_like_a_shell(glob, matches, misses):
    pattern = locations.glob_pattern(glob)
    assert all(pattern.fullmatch(path) for path in matches)
    assert not any(pattern.fullmatch(path) for path in misses)


@needs_ray
def test_the_plan_skips_hidden_names_and_the_destination_and_refuses_shared_names(tmp_path):
    (tmp_path / "in" / "out").mkdir(parents=True)
    for name in ("x.png", "x.jpg", "y.png", ".z.png", "out/old.abc"):
        (tmp_path / "in" / name).write_bytes(b"")
    source, destination = locations.locate(str(tmp_path / "in")), locations.locate(str(tmp_path / "in" / "out"), destination=True)
    work = batch.plan("encode", source, destination, ".abc")
    assert work.todo == {"y.png": "y.abc"}
    assert {r["input"].rsplit("/", 1)[1]: r["status"] for r in work.done} == {"x.png": "failed", "x.jpg": "failed"}
    assert all("would be written to" in r["error"] for r in work.done)
    glob = locations.locate(str(tmp_path / "in" / "*.png"))
    assert set(batch.plan("encode", glob, locations.locate(str(tmp_path / "o"), destination=True), ".abc").todo) == {"x.png", "y.png"}  # x.jpg is no input now


# ---------------------------------------------------------------------------------------------
# On the cluster


@pytest.fixture(scope="module")
def mixed(photos, tmp_path_factory) -> Path:
    """The photos, a text file named .png and a zero-byte .jpg: two inputs that must fail."""
    root = tmp_path_factory.mktemp("mixed")
    for name in [*GOOD, ".hidden"]:
        for found in photos.glob(name + ".*"):
            target = root / found.relative_to(photos)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(found.read_bytes())
    (root / "sub" / "notes.png").write_text("this is not an image\n")
    (root / "empty.jpg").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def encoded(cluster, mixed, tmp_path_factory) -> tuple[Path, dict, int]:
    out = tmp_path_factory.mktemp("encoded") / "new"  # a destination that does not exist yet
    report = out.parent / "report.json"
    status = batch.main(["encode", str(mixed), str(out), *FAST, "--workers", "2", "--report", str(report), *QUIET])
    return out, json.loads(report.read_text()), status


SOURCE_EXT = {"a": ".png", "sub/b": ".png", "sub/deeper/c": ".jpg"}


@needs_ray
def test_encode_writes_what_abc_encode_writes_paths_kept(encoded, mixed, tmp_path):
    out, _, status = encoded
    assert status == console.EXIT_INPUT  # two inputs failed
    expected = reference(mixed, tmp_path / "ref", cli.encode_cli, GOOD, SOURCE_EXT, *FAST)
    assert files_under(out) == {name + ".abc" for name in GOOD}  # no partial output, no .part file
    for name in GOOD:
        assert (out / (name + ".abc")).read_bytes() == (expected / (name + ".abc")).read_bytes(), name


@needs_ray
def test_failures_are_reported_with_their_reason_and_skipped(encoded, mixed):
    _, report, _ = encoded
    failed = {Path(r["input"]).name: r for r in report["files"] if r["status"] == "failed"}
    assert set(failed) == {"notes.png", "empty.jpg"}
    assert failed["notes.png"]["error"] == f"{mixed}/sub/notes.png: not an image Pillow reads"
    assert failed["empty.jpg"]["error"] == f"{mixed}/empty.jpg: empty"
    assert all(r["output"].endswith(".abc") and r["bytes_out"] is None for r in failed.values())


@needs_ray
def test_the_report_has_every_file_and_the_summary(encoded, mixed):
    out, report, _ = encoded
    assert report["command"] == "encode" and report["source"] == str(mixed) and report["destination"] == str(out)
    assert [r["input"] for r in report["files"]] == sorted(r["input"] for r in report["files"])
    assert len(report["files"]) == 5  # the hidden file is no input
    for r in report["files"]:
        assert set(r) == {"input", "output", "status", "error", "bytes_in", "bytes_out", "width", "height", "bpp",
                          "seconds", "notes"}
    written = [r for r in report["files"] if r["status"] == "written"]
    assert len(written) == 3
    for r in written:
        relative = r["input"][len(str(mixed)) + 1:]
        assert r["bytes_in"] == (mixed / relative).stat().st_size
        assert r["bytes_out"] == Path(r["output"]).stat().st_size
        assert r["bpp"] == round(8 * r["bytes_out"] / (r["width"] * r["height"]), 5)
        assert r["error"] is None and r["seconds"] > 0
    width, height = Image.open(mixed / "a.png").size
    assert next(r for r in written if r["input"].endswith("/a.png"))[("width")] == width
    summary = report["summary"]
    assert (summary["files"], summary["written"], summary["skipped"], summary["failed"]) == (5, 3, 0, 2)
    assert summary["bytes_out"] == sum(r["bytes_out"] for r in written)
    assert summary["pixels"] == sum(r["width"] * r["height"] for r in written)


@needs_ray
def test_a_second_run_skips_what_exists_and_overwrite_redoes_it(encoded, mixed, capsys):
    out, _, _ = encoded
    inodes = {name: (out / (name + ".abc")).stat().st_ino for name in GOOD}
    (out / "sub" / "b.abc").unlink()  # as an interrupted run leaves it: one output missing
    assert batch.main(["encode", str(mixed), str(out), *FAST, *QUIET]) == console.EXIT_INPUT
    line = capsys.readouterr().err.strip()
    assert "5 files: 1 written, 2 skipped (output exists), 2 failed" in line, line
    assert (out / "a.abc").stat().st_ino == inodes["a"]
    assert (out / "sub" / "b.abc").exists()
    assert batch.main(["encode", str(mixed / "*.png"), str(out), *FAST, *QUIET]) == 0
    assert "1 files: 0 written, 1 skipped" in capsys.readouterr().err  # nothing to do: Ray is not even asked
    assert batch.main(["encode", str(mixed / "**" / "*.png"), str(out), *FAST, "--overwrite", *QUIET]) == console.EXIT_INPUT
    assert "3 files: 2 written, 0 skipped (output exists), 1 failed" in capsys.readouterr().err
    assert (out / "a.abc").stat().st_ino != inodes["a"]  # replaced, atomically
    assert (out / "sub" / "deeper" / "c.abc").stat().st_ino == inodes["sub/deeper/c"]  # not matched by *.png
    assert files_under(out) == {name + ".abc" for name in GOOD}


@needs_ray
def test_decode_from_a_file_uri_fails_damaged_and_hostile_files_alone(encoded, tmp_path):
    out, _, _ = encoded
    source = tmp_path / "abc"
    for name in GOOD:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / (name + ".abc")).write_bytes((out / (name + ".abc")).read_bytes())
    damaged = bytearray((out / "a.abc").read_bytes())
    damaged[len(damaged) // 2] ^= 0x40
    (source / "sub" / "damaged.abc").write_bytes(bytes(damaged))
    (source / "bomb.abc").write_bytes(hostile.hostile_file(8192, 8192, block=64))
    decoded = tmp_path / "decoded"
    report = tmp_path / "report.json"
    status = batch.main(["decode", source.as_uri(), decoded.as_uri(), *FAST, "--report", str(report), *QUIET])
    assert status == console.EXIT_INPUT
    expected = reference(source, tmp_path / "ref", cli.decode_cli, GOOD, dict.fromkeys(GOOD, ".abc"), *FAST)
    assert files_under(decoded) == {name + ".png" for name in GOOD}
    for name in GOOD:
        mine, theirs = Image.open(decoded / (name + ".png")), Image.open(expected / (name + ".png"))
        assert mine.mode == theirs.mode and np.array_equal(np.asarray(mine), np.asarray(theirs)), name
    files = json.loads(report.read_text())["files"]
    errors = {r["input"].rsplit("/", 1)[1]: r["error"] for r in files if r["status"] == "failed"}
    assert set(errors) == {"damaged.abc", "bomb.abc"}
    assert errors["damaged.abc"].startswith(f"{source.as_uri()}/sub/damaged.abc: ") and "CRC" in errors["damaged.abc"]
    assert "over the decoder's limit" in errors["bomb.abc"], errors["bomb.abc"]
    written = [r for r in files if r["status"] == "written"]
    assert all(r["output"].startswith(decoded.as_uri() + "/") for r in written)
    assert all(r["bpp"] == round(8 * r["bytes_in"] / (r["width"] * r["height"]), 5) for r in written)


@needs_ray
def test_a_worker_with_another_codec_converts_nothing(cluster, photos, tmp_path):
    """Outputs depend on abcodec, Pillow and libavif: a node with other versions writes nothing."""
    source = locations.locate(str(photos / "a.png"))
    work = batch.plan("encode", source, locations.locate(str(tmp_path / "out"), destination=True), ".abc")
    settings = cli.EncodeSettings(EncodeOptions(), None, (), None, None, verbose=False)
    job = batch.Job("encode", settings, ".abc", None, 1, made_by="abc-batch 0.0.1 (format 3; Pillow 1.0, libavif 0.1)")
    [entry] = batch.run(work, job, quiet=True)
    assert entry["status"] == "failed" and entry["error"].endswith("install the same on every node")
    assert not (tmp_path / "out").exists()


@needs_ray
def test_decode_on_cuda_asks_the_cluster_for_a_gpu_and_says_when_it_has_none(cluster, encoded, tmp_path, capsys):
    """Decode actors for --device cuda reserve a GPU each (Ray shows an actor no other); a
    cluster without one is one line, not a run that waits for ever."""
    out, _, _ = encoded
    status = batch.main(["decode", str(out), str(tmp_path / "png"), "--device", "cuda", *QUIET])
    assert status == console.EXIT_INPUT
    error = capsys.readouterr().err.strip()
    assert error.splitlines() == [f"{batch.BATCH}: error: --device cuda: the Ray cluster has no GPU "
                                  "(decode on the CPU with --device cpu)"]
    assert not (tmp_path / "png").exists()
