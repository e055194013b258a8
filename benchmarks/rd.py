"""Rate–distortion of abc against Pillow's JPEG at equal bytes, with encode/decode times.

    python -m benchmarks.rd [FOLDER] [--bpp 0.15 0.3 0.5] [--limit N] [--json out.json] [--markdown out.md]

FOLDER defaults to ../shared/data/kodak when it exists, else a few skimage.data images. For
every image and target rate it encodes with abc (rate control on), decodes, and measures real
file bytes, SSIM on RGB (the paper's metric) and PSNR; JPEG gets the highest quality whose file
is no larger than abc's, or quality 1 (then larger than abc's) when none is. Times are
wall-clock seconds on this machine, one process, median over images.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from abcodec.codec import EncodeOptions, decode, encode
from abcodec.demo import jpeg_at_most, ssim

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "kodak"
DEFAULT_RATES = (0.15, 0.3, 0.5)
SAMPLE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket")


def load_images(folder: str | None, limit: int | None) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 RGB) pairs, sorted by name."""
    path = Path(folder) if folder else DEFAULT_FOLDER
    if folder or path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".ppm", ".bmp"))
        images = [(p.name, np.asarray(Image.open(p).convert("RGB"))) for p in files]
    else:
        from skimage import data

        images = [(name, getattr(data, name)()) for name in SAMPLE_IMAGES]
    return images[:limit] if limit else images


def quality(original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    return {"ssim": ssim(original, decoded), "psnr": float(peak_signal_noise_ratio(original, decoded, data_range=255))}


def measure(name: str, original: np.ndarray, bpp: float) -> dict:
    pixels = original.shape[0] * original.shape[1]
    started = time.perf_counter()
    encoded = encode(original, options=EncodeOptions(bpp=bpp))
    encode_seconds = time.perf_counter() - started
    started = time.perf_counter()
    decoded = np.asarray(decode(encoded))
    decode_seconds = time.perf_counter() - started
    jpeg_quality, jpeg = jpeg_at_most(original, len(encoded))
    jpeg_decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    return {
        "image": name, "target_bpp": bpp,
        "abc": {"bytes": len(encoded), "bpp": 8 * len(encoded) / pixels, **quality(original, decoded),
                "encode_s": encode_seconds, "decode_s": decode_seconds},
        "jpeg": {"quality": jpeg_quality, "bytes": len(jpeg), "bpp": 8 * len(jpeg) / pixels,
                 **quality(original, jpeg_decoded)},
    }


def summarise(rows: list[dict]) -> list[dict]:
    """Per target rate: means of bpp and quality, medians of times, wins at equal or fewer bytes."""
    summary = []
    for bpp in sorted({row["target_bpp"] for row in rows}):
        group = [row for row in rows if row["target_bpp"] == bpp]
        fair = [row for row in group if row["jpeg"]["bytes"] <= row["abc"]["bytes"]]
        summary.append({
            "target_bpp": bpp, "images": len(group),
            **{f"abc_{key}": float(np.mean([row["abc"][key] for row in group])) for key in ("bpp", "ssim", "psnr")},
            **{f"jpeg_{key}": float(np.mean([row["jpeg"][key] for row in group])) for key in ("bpp", "ssim", "psnr")},
            "jpeg_fits": len(fair),
            "abc_ssim_wins": sum(row["abc"]["ssim"] > row["jpeg"]["ssim"] for row in group),
            "encode_s_median": float(np.median([row["abc"]["encode_s"] for row in group])),
            "decode_s_median": float(np.median([row["abc"]["decode_s"] for row in group])),
        })
    return summary


def machine() -> str:
    """CPU model and core count, so a figure says where it was measured."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def markdown(summary: list[dict], source: str) -> str:
    lines = [
        f"Images: {source}. Machine: {machine()}. Date: {date.today().isoformat()}.",
        "",
        "| target bpp | abc bpp | abc SSIM | abc PSNR | JPEG bpp | JPEG SSIM | JPEG PSNR | JPEG fits abc's bytes | abc wins SSIM | encode s (median) | decode s (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary:
        lines.append(
            f"| {row['target_bpp']} | {row['abc_bpp']:.3f} | {row['abc_ssim']:.3f} | {row['abc_psnr']:.2f} | "
            f"{row['jpeg_bpp']:.3f} | {row['jpeg_ssim']:.3f} | {row['jpeg_psnr']:.2f} | "
            f"{row['jpeg_fits']}/{row['images']} | {row['abc_ssim_wins']}/{row['images']} | "
            f"{row['encode_s_median']:.2f} | {row['decode_s_median']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rd", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="images to measure (default: Kodak if present, else skimage.data)")
    parser.add_argument("--bpp", type=float, nargs="+", default=list(DEFAULT_RATES), help="target rates")
    parser.add_argument("--limit", type=int, help="first N images only")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--markdown", type=Path, help="write the summary table here")
    args = parser.parse_args(argv)
    images = load_images(args.folder, args.limit)
    if not images:
        print("no images found", file=sys.stderr)
        return 1
    rows = []
    for index, (name, original) in enumerate(images, 1):
        for bpp in args.bpp:
            rows.append(measure(name, original, bpp))
        print(f"[{index}/{len(images)}] {name}", file=sys.stderr, flush=True)
    summary = summarise(rows)
    source = f"{args.folder or (DEFAULT_FOLDER if DEFAULT_FOLDER.is_dir() else 'skimage.data')} ({len(images)})"
    table = markdown(summary, source)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
