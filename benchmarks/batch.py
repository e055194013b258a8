"""Archive throughput: abc-batch on a local Ray cluster against abc-encode / abc-decode -j on one folder.

    python -m benchmarks.batch [FOLDER] [--limit N] [--size WxH] [--workers 2] [--bpp 0.25]
                               [--json out.json] [--markdown out.md]

The images of FOLDER (default Kodak, else skimage.data; ``--size`` resizes them with Lanczos, to
stand for camera photos) are written as PNG to a scratch folder, then converted four ways, each a
fresh process, timed from start to exit: ``abc-encode *.png -o DIR -j N``, ``abc-batch encode
SRC DST --workers N`` (which starts its own single-node cluster), and the same two for the default
decode of what they wrote. The per-core rates come from abc-batch's report (each file's time in
its worker), so they leave out the start-up that a long archive job pays once; the overhead is
abc-batch's wall time less the -j run's on the same files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from PIL import Image

from .common import (
    add_image_arguments, add_output_arguments, image_source, images_or_none, load_average, machine, progress, publish,
)

ARCHIVE_PHOTOS = 100_000_000
ARCHIVE_PIXELS = 4000 * 3000
"""The archive costed on paper from the measured per-core rates: 100 million 12-megapixel photos."""

ENTRY_POINTS = {"abc-encode": ("abcodec.cli", "encode_cli"), "abc-decode": ("abcodec.cli", "decode_cli"),
                "abc-batch": ("abcodec.batch", "main")}


def command(name: str, *args: str) -> list[str]:
    """A console script run by this interpreter, so that the benchmark needs no installed scripts."""
    module, function = ENTRY_POINTS[name]
    return [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())", *args]


def timed(argv: list[str]) -> float:
    """Wall seconds of one fresh process, which must succeed."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        msg = f"{argv[2]} exited {result.returncode}: {result.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    return seconds


def write_inputs(images: list, folder: Path, size: tuple[int, int] | None) -> list[Path]:
    paths = []
    for name, rgb in images:
        image = Image.fromarray(rgb)
        if size is not None:
            image = image.resize(size, Image.LANCZOS)
        path = folder / (Path(name).stem + ".png")
        image.save(path)
        paths.append(path)
    return paths


def run_pair(kind: str, inputs: list[Path], source: Path, scratch: Path, workers: int, extra: list[str]) -> dict:
    """One conversion by ``abc-<kind> -j`` and by abc-batch, into fresh folders: both timings and the report."""
    single = scratch / f"{kind}-j"
    single.mkdir()
    jobs = timed(command(f"abc-{kind}", *map(str, inputs), "-o", str(single), "-j", str(workers), *extra))
    report_path = scratch / f"{kind}-report.json"
    ray = timed(command("abc-batch", kind, str(source), str(scratch / f"{kind}-batch"), "--workers", str(workers),
                        "--report", str(report_path), "--quiet", *extra))
    report = json.loads(report_path.read_text())
    summary = report["summary"]
    if summary["written"] != len(inputs):
        msg = f"abc-batch {kind} wrote {summary['written']} of {len(inputs)} files: {report['files']}"
        raise RuntimeError(msg)
    megapixels = summary["pixels"] / 1e6
    return {"kind": kind, "files": len(inputs), "megapixels": megapixels, "jobs_s": jobs, "batch_s": ray,
            "worker_s": summary["worker_seconds"], "bytes_out": summary["bytes_out"], "bpp": summary["bpp"],
            "images_per_s": len(inputs) / ray, "megapixels_per_core_s": megapixels / summary["worker_seconds"]}


def archive_core_hours(row: dict) -> float:
    """Core-hours for the archive at the measured per-core rate (no start-up, no I/O waits)."""
    return ARCHIVE_PHOTOS * ARCHIVE_PIXELS / 1e6 / row["megapixels_per_core_s"] / 3600


def table(rows: list[dict], header: str) -> str:
    lines = [header, "", "| operation | files | megapixels | `-j` wall s | abc-batch wall s | Ray overhead s | "
             "abc-batch images/s | megapixels/s per worker core | 100 M × 12 MP photos, core-hours |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['kind']} | {row['files']} | {row['megapixels']:.1f} | {row['jobs_s']:.1f} | "
                     f"{row['batch_s']:.1f} | {row['batch_s'] - row['jobs_s']:+.1f} | {row['images_per_s']:.2f} | "
                     f"{row['megapixels_per_core_s']:.2f} | {archive_core_hours(row):,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--size", help="resize every image to WxH first (e.g. 4000x3000)")
    parser.add_argument("--workers", type=int, default=2, help="-j and --workers (default %(default)s)")
    parser.add_argument("--bpp", default="0.25", help="the encoder's rate (default %(default)s)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    images = images_or_none(args.folder, args.limit)
    if images is None:
        return 1
    size = tuple(int(side) for side in args.size.split("x")) if args.size else None
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="abc-batch-bench-") as scratch_name:
        scratch = Path(scratch_name)
        source = scratch / "photos"
        source.mkdir()
        inputs = write_inputs(images, source, size)
        progress(f"{len(inputs)} images written to {source}")
        rows = [run_pair("encode", inputs, source, scratch, args.workers, ["--bpp", args.bpp])]
        progress(f"encode: -j {rows[0]['jobs_s']:.1f} s, abc-batch {rows[0]['batch_s']:.1f} s")
        encoded = sorted((scratch / "encode-batch").rglob("*.abc"))
        rows.append(run_pair("decode", encoded, scratch / "encode-batch", scratch, args.workers, []))
        progress(f"decode: -j {rows[1]['jobs_s']:.1f} s, abc-batch {rows[1]['batch_s']:.1f} s")
    what = f"{image_source(args.folder)}, {len(images)} images" + (f" resized to {args.size}" if size else "")
    header = (f"{what}; encoded at {args.bpp} bpp, decoded by default (G on ONNX Runtime); {args.workers} workers "
              f"(`-j {args.workers}` / `--workers {args.workers}`); {machine()}; load {load} → {load_average()}; "
              f"{date.today()}")
    publish({"rows": rows, "header": header}, table(rows, header), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
