"""Encode and decode wall time and peak memory of abc, per image size, inpainter and device.

    python -m benchmarks.speed [FOLDER] [--sizes 256x256 768x512 2048x1536] [--bpp 0.25] [--steps 0 10]
        [--repeats 3] [--json out.json] [--markdown out.md]
    python -m benchmarks.speed [FOLDER] --cold [--sizes …] [--bpp 0.25] [--inpainter ppgn|diffusion] [--repeats 3]

The test image is the first image of FOLDER (default ../shared/data/kodak, else skimage.data)
resized with Lanczos to each size; it is encoded at ``--bpp`` (rate search included, as
``abc-encode --bpp`` does), and the file is decoded by every inpainter in
``abcodec.options.AVAILABLE_INPAINTERS`` on the CPU, and on CUDA where torch sees a device; the
generative decoder once per ``--steps`` count (the file asks for G and that many descent steps, as
``abc-encode --inpainter ppgn --steps`` writes). The AV1 base does not depend on the inpainter or the
steps (only the header names them), so the encoder is measured once per size, with the default
options: at or below 0.3 bpp they include running G to decide which decoder to name (abcodec/effort.py).

Every measurement runs in a fresh Python process, so the memory figures belong to one
operation: the process imports abcodec, reads its input, runs the operation once on a 16×16
image (first-call costs), notes its peak RSS (VmHWM), runs the operation once, timed,
notes the peak RSS again, then runs it once more under tracemalloc for the peak of traced
allocations (Python objects and numpy buffers). Figures are medians over ``--repeats`` processes.
abcodec's bytecode is compiled first, as pip compiles an installed wheel's
(:func:`compile_package_bytecode`).

With ``--cold``, each size's file is the encoder's own (it names the decoder its measurement
chose) unless ``--inpainter`` names one, so that G's cold decode can be timed at a size and rate
where the encoder would not name it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

from abcodec import container
from abcodec.codec import EncodeOptions, decode, encode
from abcodec.options import AVAILABLE_INPAINTERS

from .common import (
    DESCENT_STEPS, add_output_arguments, image_source, images_or_none, load_average, machine, progress, publish,
)

DEFAULT_SIZES = ("256x256", "768x512", "2048x1536")
DEFAULT_BPP = 0.25
REPEATS = 3
REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_size(text: str) -> tuple[int, int]:
    """'768x512' → (768, 512): width, then height, as image sizes are written."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        msg = f"size {text!r} is not WIDTHxHEIGHT"
        raise argparse.ArgumentTypeError(msg) from None
    return width, height


def devices() -> list[str]:
    """CPU always; CUDA only where torch sees a device (importing torch costs ~1 s, so only here)."""
    try:
        import torch
    except ImportError:
        return ["cpu"]
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def operation(kind: str, path: Path, bpp: float, inpainter: str, device: str):
    """The function a child process times: encode a PNG or decode an .abc, nothing else."""
    if kind == "encode":
        pixels = np.asarray(Image.open(path).convert("RGB"))
        options = EncodeOptions(bpp=bpp)
        return lambda: encode(pixels, options=options)
    data = path.read_bytes()
    return lambda: decode(data, inpainter=inpainter, device=device)


def peak_rss_kib() -> int:
    """This process's peak resident set so far, in KiB.

    VmHWM where Linux has it: ``ru_maxrss`` survives exec on Linux, so a child would report
    the peak of the parent it was forked from. Elsewhere ``ru_maxrss`` is the best there is.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(kind: str, path: Path, bpp: float, inpainter: str, device: str) -> dict:
    """One measurement in this (fresh) process; see the module docstring for the order of steps."""
    warm_up = np.zeros((16, 16, 3), dtype=np.uint8)
    decode(encode(warm_up, options=EncodeOptions(bpp=8)), inpainter=inpainter, device=device)
    run = operation(kind, path, bpp, inpainter, device)
    rss_before = peak_rss_kib()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    rss_peak = peak_rss_kib()
    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "rss_before_kib": rss_before, "rss_peak_kib": rss_peak, "traced_peak_bytes": traced_peak}


def measure(kind: str, path: Path, bpp: float, inpainter: str, device: str, repeats: int) -> dict:
    """Medians over ``repeats`` fresh processes, each running ``child``."""
    command = [sys.executable, "-m", "benchmarks.speed", "--child", kind, str(path), str(bpp), inpainter, device]
    runs = [json.loads(subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout)
            for _ in range(repeats)]
    return {
        "seconds": float(np.median([r["seconds"] for r in runs])),
        "peak_rss_mib": float(np.median([r["rss_peak_kib"] for r in runs])) / 1024,
        "rss_growth_mib": float(np.median([r["rss_peak_kib"] - r["rss_before_kib"] for r in runs])) / 1024,
        "traced_peak_mib": float(np.median([r["traced_peak_bytes"] for r in runs])) / 2**20,
        "runs": runs,
    }


def prepare(
    original: np.ndarray, size: tuple[int, int], bpp: float, steps: list[int], folder: Path
) -> tuple[Path, dict[int, Path]]:
    """The PNG an encode child reads, and per step count the .abc a decode child reads, at one size."""
    image = Image.fromarray(original).resize(size, Image.Resampling.LANCZOS)
    png = folder / f"{size[0]}x{size[1]}.png"
    image.save(png)
    files = {}
    for count in steps:
        files[count] = folder / f"{size[0]}x{size[1]}-{count}.abc"
        files[count].write_bytes(encode(np.asarray(image), options=EncodeOptions(bpp=bpp, steps=count, inpainter="ppgn")))
    return png, files


def decode_jobs(files: dict[int, Path], devices: list[str]) -> list[tuple]:
    """(kind, file, inpainter, device, label): the fast decode once, the generative one per step count."""
    jobs = []
    for inpainter in AVAILABLE_INPAINTERS:
        counts = sorted(files) if inpainter == "ppgn" else [min(files)]
        for count in counts:
            label = f"ppgn, {count} steps" if inpainter == "ppgn" else inpainter
            jobs += [("decode", files[count], inpainter, device, label) for device in devices]
    return jobs


def measure_all(args: argparse.Namespace, original: np.ndarray, folder: Path) -> list[dict]:
    """One row per size and operation: encode once, decode per inpainter, step count and device."""
    compile_package_bytecode()
    rows = []
    for size in args.sizes:
        png, files = prepare(original, size, args.bpp, args.steps, folder)
        jobs = [("encode", png, AVAILABLE_INPAINTERS[0], "cpu", "any"), *decode_jobs(files, args.devices)]
        for kind, path, inpainter, device, label in jobs:
            result = measure(kind, path, args.bpp, inpainter, device, args.repeats)
            rows.append({"operation": kind, "inpainter": label, "device": device, "size": f"{size[0]}x{size[1]}",
                         "bytes": files[min(files)].stat().st_size, **result})
            progress(f"{kind} {size[0]}x{size[1]} {label} {device}: {result['seconds']:.2f} s, "
                     f"peak RSS {result['peak_rss_mib']:.0f} MiB (load {load_average()})")
    return rows


COLD_DECODE = """\
import json, re, sys
from pathlib import Path
from PIL import Image
if sys.argv[1].endswith(".abc"):
    import abcodec
with Image.open(sys.argv[1]) as image:
    image.load()
status = Path("/proc/self/status").read_text()
print(json.dumps({"rss_kib": int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)), "torch": "torch" in sys.modules}))
"""
"""What a user's fresh process does to open and decode a file through Pillow: interpreter start,
imports (abcodec registers its plugin; AVIF is Pillow's own) and the decode, nothing else."""

THUMBNAIL = (256, 256)
THUMBNAIL_REPEATS = 9
"""Thumbnails per codec, taken in turns with the peer's (they are 0.1 s, where a busy machine's
noise is as large as the difference)."""


def compile_package_bytecode() -> None:
    """Compile abcodec's modules, as pip does when it installs the wheel. A checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise recompile them in every fresh process: 0.14 s of
    a 0.6 s cold decode here, which no installed abcodec pays (Pillow's and numpy's are compiled)."""
    import compileall

    import abcodec

    compileall.compile_dir(Path(abcodec.__file__).parent, quiet=1)


def cold(path: Path, repeats: int) -> dict:
    """Median wall time (process start to exit) and peak RSS of ``repeats`` fresh decodes of ``path``."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLD_DECODE, str(path)], check=True, capture_output=True,
                              text=True, cwd=REPO_ROOT)
        runs.append({"seconds": time.perf_counter() - started, **json.loads(done.stdout)})
    return {"seconds": float(np.median([r["seconds"] for r in runs])),
            "peak_rss_mib": float(np.median([r["rss_kib"] for r in runs])) / 1024, "torch": any(r["torch"] for r in runs)}


def thumbnail_seconds(paths: tuple[Path, Path]) -> tuple[float, float]:
    """Median times of ``Image.open(path).thumbnail(THUMBNAIL)`` of each path, in turns, in this
    process (codecs loaded; a first round uncounted)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(THUMBNAIL_REPEATS + 1):
        for path, spent in zip(paths, times):
            started = time.perf_counter()
            with Image.open(path) as image:
                image.thumbnail(THUMBNAIL)
            spent.append(time.perf_counter() - started)
    return float(np.median(times[0][1:])), float(np.median(times[1][1:]))


def cold_rows(args: argparse.Namespace, original: np.ndarray, folder: Path) -> list[dict]:
    """Per size: abc's default decode and Pillow's AVIF decode of a file of no more bytes, each in a
    fresh process (the peer measured in the same run, so that their ratio holds on a busy machine),
    and both thumbnails."""
    from abcodec.demo import avif_at_most

    compile_package_bytecode()
    rows = []
    for size in args.sizes:
        image = np.asarray(Image.fromarray(original).resize(size, Image.Resampling.LANCZOS))
        abc = folder / f"cold-{size[0]}x{size[1]}.abc"
        abc.write_bytes(encode(image, options=EncodeOptions(bpp=args.bpp, inpainter=args.inpainter)))
        avif = folder / f"cold-{size[0]}x{size[1]}.avif"
        avif.write_bytes(avif_at_most(image, abc.stat().st_size)[1])
        thumbnails = thumbnail_seconds((abc, avif))
        row = {"size": f"{size[0]}x{size[1]}", "abc_bytes": abc.stat().st_size, "avif_bytes": avif.stat().st_size,
               "abc_names": container.INPAINTERS[container.read_file(abc.read_bytes()).header.inpainter],
               "abc": cold(abc, args.repeats), "avif": cold(avif, args.repeats),
               "abc_thumbnail_s": thumbnails[0], "avif_thumbnail_s": thumbnails[1]}
        rows.append(row)
        progress(f"cold {row['size']}: abc {row['abc']['seconds']:.2f} s, AVIF {row['avif']['seconds']:.2f} s; "
                 f"thumbnails {row['abc_thumbnail_s']:.3f} / {row['avif_thumbnail_s']:.3f} s")
    return rows


def markdown(result: dict) -> str:
    lines = [
        f"Image: {result['image']}, resized; encoded at {result['bpp']} bpp. Machine: {result['machine']}. "
        f"Date: {result['date']}. Devices: {', '.join(result['devices'])}. Load average (1/5/15 min) at start "
        f"{result['load_start']}, at end {result['load_end']}. Medians of {result['repeats']} fresh processes.",
    ]
    if result["rows"]:  # none with --cold
        lines += [
            "",
            "| operation | inpainter | device | size | file bytes | seconds | peak RSS MiB | RSS growth MiB | traced peak MiB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    for row in result["rows"]:
        lines.append(f"| {row['operation']} | {row['inpainter']} | {row['device']} | {row['size']} | {row['bytes']} | "
                     f"{row['seconds']:.3f} | {row['peak_rss_mib']:.0f} | {row['rss_growth_mib']:.0f} | {row['traced_peak_mib']:.1f} |")
    if result.get("cold"):
        lines += [
            "",
            f"Cold decodes (a fresh `python -c` process: start, imports, `Image.open(f).load()`), abc's default "
            f"decode against Pillow's AVIF of no more bytes (abcodec's bytecode compiled, as pip installs it), "
            f"and `thumbnail({THUMBNAIL})` of each with the codecs loaded ({THUMBNAIL_REPEATS} of each, in "
            "turns); medians:",
            "",
            "| size | abc bytes | decoder the file names | abc cold s | abc peak RSS MiB | torch imported | AVIF bytes | AVIF cold s | AVIF peak RSS MiB | abc / AVIF | abc thumbnail s | AVIF thumbnail s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in result["cold"]:
            abc, avif = row["abc"], row["avif"]
            lines.append(f"| {row['size']} | {row['abc_bytes']} | {row['abc_names']} | {abc['seconds']:.2f} | {abc['peak_rss_mib']:.0f} | "
                         f"{'yes' if abc['torch'] else 'no'} | {row['avif_bytes']} | {avif['seconds']:.2f} | "
                         f"{avif['peak_rss_mib']:.0f} | {abc['seconds'] / avif['seconds']:.1f} | "
                         f"{row['abc_thumbnail_s']:.3f} | {row['avif_thumbnail_s']:.3f} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?",
                        help="the first image here is the test image (default: Kodak, else skimage.data)")
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[parse_size(s) for s in DEFAULT_SIZES])
    parser.add_argument("--bpp", type=float, default=DEFAULT_BPP, help="encoder target rate")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, DESCENT_STEPS],
                        help="descent step counts the generative decoder is timed at")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="fresh processes per measurement")
    parser.add_argument("--cold", action="store_true",
                        help="only the cold decodes against Pillow's AVIF, and the thumbnails (one table)")
    parser.add_argument("--inpainter", choices=AVAILABLE_INPAINTERS,
                        help="with --cold: the decoder the files name (default: the encoder's choice)")
    add_output_arguments(parser)
    parser.add_argument("--child", nargs=5, metavar=("KIND", "PATH", "BPP", "INPAINTER", "DEVICE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        kind, path, bpp, inpainter, device = args.child
        print(json.dumps(child(kind, Path(path), float(bpp), inpainter, device)))
        return 0
    images = images_or_none(args.folder, 1)
    if images is None:
        return 1
    args.devices = devices()
    load_start = load_average()
    with tempfile.TemporaryDirectory() as folder:
        rows = [] if args.cold else measure_all(args, images[0][1], Path(folder))
        cold_table = cold_rows(args, images[0][1], Path(folder)) if args.cold else []
    result = {
        "image": f"{images[0][0]} from {image_source(args.folder)}", "bpp": args.bpp,
        "machine": machine(), "date": date.today().isoformat(), "devices": args.devices, "repeats": args.repeats,
        "load_start": load_start, "load_end": load_average(), "rows": rows, "cold": cold_table,
    }
    publish(result, markdown(result), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
