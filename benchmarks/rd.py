"""Rate–distortion of abc against JPEG, WebP and AVIF: curves, BD-rates, a plot, and JPEG at equal bytes.

    python -m benchmarks.rd [FOLDER] [--bpp 0.1 0.2 …] [--base-stride auto 2 …]
        [--blocks [--scheme edge+random …] [--block 4 …] [--quantisers 24/32 …]]
        [--jpeg-quality …] [--webp-quality …] [--avif-quality …] [--limit N]
        [--json out.json] [--csv out.csv] [--plot out.png] [--markdown out.md]

FOLDER defaults to ../shared/data/kodak when it exists, else a few skimage.data images. abc is
swept over target rates (rate control on): the default base layer, once per --base-stride, and
with --blocks the block layer alone for every scheme × block size × quantisers given; JPEG, WebP and
AVIF (Pillow, default settings but quality; AVIF needs the ``bench`` extra and is skipped with a
note when missing) over their quality settings. A quality flag given with no values drops that
codec. Rate is real file bytes × 8 / pixels; quality is SSIM on RGB (the paper's metric),
MS-SSIM (RGB channel mean) and PSNR. Curves average bpp and quality per setting across images;
BD-rates against JPEG come from those averaged curves. For every abc point, JPEG also gets the
highest quality whose file is no larger (or quality 1, then larger): the equal-bytes table.
Times are wall-clock seconds on this machine, one process, median over images.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from abcodec.codec import BlockLayer, EncodeOptions
from abcodec.demo import jpeg_at_most

from .common import (
    Roundtrip, abc_roundtrip, avif_encoder, image_source, load_average, images_or_none, machine, measurement,
    pillow_roundtrip, progress, publish, pyplot, save_figure,
)
from .metrics import BD_DEGREE, bd_rate

DEFAULT_RATES = (0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0)
DEFAULT_QUALITIES = {
    "JPEG": (1, 3, 5, 10, 15, 25, 35, 50, 75),
    "WebP": (0, 5, 10, 20, 35, 50, 75),
    "AVIF": (0, 10, 20, 30, 40, 50, 60),
}
"""Quality sweeps covering about 0.07–1.4 bpp on Kodak, around abc's 0.1–1 bpp (JPEG starts at 0.17)."""
DEFAULT_QUANTISERS = (BlockLayer().q_luma, BlockLayer().q_chroma)
ANCHOR = "JPEG"
METRICS = ("ssim", "ms_ssim", "psnr")
METRIC_NAMES = {"ssim": "SSIM", "ms_ssim": "MS-SSIM", "psnr": "PSNR (dB)"}


@dataclass(frozen=True)
class Setting:
    """One point of one curve: the curve's name, the knob's value, and how to run it."""

    curve: str
    parameter: float
    run: Callable[[np.ndarray], Roundtrip]


def abc_curve(scheme: str, block: int, quantisers: tuple[int, int]) -> str:
    """The curve's name; the quantisers appear only when they are not the encoder's defaults."""
    name = f"abc {scheme} {block}x{block}"
    return name if quantisers == DEFAULT_QUANTISERS else f"{name} q{quantisers[0]}/{quantisers[1]}"


def quantiser_pair(text: str) -> tuple[int, int]:
    """--quantisers takes LUMA/CHROMA, e.g. 24/32."""
    try:
        luma, chroma = (int(part) for part in text.split("/"))
    except ValueError as e:
        msg = f"quantisers {text!r} must be LUMA/CHROMA, e.g. 24/32"
        raise argparse.ArgumentTypeError(msg) from e
    return luma, chroma


def is_abc(curve: str) -> bool:
    """abc curves are swept by target bpp and get the equal-bytes JPEG comparison."""
    return curve.startswith("abc ")


def base_curve(stride: float | None) -> str:
    return "abc base" if stride is None else f"abc base stride {stride:g}"


def abc_settings(args: argparse.Namespace) -> list[Setting]:
    """The base-layer curves (one per --base-stride) and, with --blocks, the block-layer ones."""
    chosen = [
        Setting(base_curve(stride), bpp, partial(abc_roundtrip, options=EncodeOptions(bpp=bpp, base_stride=stride)))
        for stride in args.base_stride for bpp in args.bpp
    ]
    if args.blocks:
        chosen += [
            Setting(abc_curve(scheme, block, (q_luma, q_chroma)), bpp, partial(abc_roundtrip, options=EncodeOptions(
                bpp=bpp, blocks=BlockLayer(scheme=scheme, block=block, q_luma=q_luma, q_chroma=q_chroma))))
            for scheme in args.scheme for block in args.block for q_luma, q_chroma in args.quantisers
            for bpp in args.bpp
        ]
    return chosen


def settings(args: argparse.Namespace, avif: str | None) -> list[Setting]:
    """Every (curve, knob) pair to measure on each image, abc first."""
    chosen = abc_settings(args)
    for codec, qualities in (("JPEG", args.jpeg_quality), ("WebP", args.webp_quality), ("AVIF", args.avif_quality)):
        if codec == "AVIF" and not avif:
            continue
        chosen += [Setting(codec, q, partial(pillow_roundtrip, format=codec.upper(), quality=q)) for q in qualities]
    return chosen


def measure_image(name: str, original: np.ndarray, chosen: list[Setting]) -> tuple[list[dict], list[dict]]:
    """(curve points, equal-bytes comparisons) for one image."""
    points, comparisons = [], []
    for setting in chosen:
        point = {"image": name, "curve": setting.curve, "parameter": setting.parameter,
                 **measurement(original, setting.run(original))}
        points.append(point)
        if is_abc(setting.curve):
            comparisons.append(jpeg_at_equal_bytes(original, point))
    return points, comparisons


def jpeg_at_equal_bytes(original: np.ndarray, abc_point: dict) -> dict:
    """JPEG at the highest quality whose file is no larger than this abc file (or quality 1)."""
    jpeg_quality, _ = jpeg_at_most(original, abc_point["bytes"])
    jpeg = measurement(original, pillow_roundtrip(original, "JPEG", jpeg_quality))
    return {"image": abc_point["image"], "curve": abc_point["curve"], "target_bpp": abc_point["parameter"],
            "abc": abc_point, "jpeg": {"quality": jpeg_quality, **jpeg}}


def average_curves(points: list[dict]) -> list[dict]:
    """Per curve and setting: mean bpp and mean of each metric across images."""
    curves = []
    for curve in dict.fromkeys(point["curve"] for point in points):
        for parameter in sorted({p["parameter"] for p in points if p["curve"] == curve}):
            group = [p for p in points if p["curve"] == curve and p["parameter"] == parameter]
            curves.append({"curve": curve, "parameter": parameter, "images": len(group),
                           **{key: float(np.mean([p[key] for p in group])) for key in ("bpp", *METRICS)}})
    return curves


def bd_rates(curves: list[dict]) -> dict[str, dict[str, float | None]]:
    """BD-rate (%) of every curve against JPEG, per metric; None where it cannot be measured."""
    def curve_of(name: str, metric: str) -> tuple[list[float], list[float]]:
        rows = [row for row in curves if row["curve"] == name]
        return [row["bpp"] for row in rows], [row[metric] for row in rows]

    sizes = {name: sum(row["curve"] == name for row in curves) for name in dict.fromkeys(r["curve"] for r in curves)}
    if ANCHOR not in sizes:
        return {}
    return {
        name: {metric: bd_rate(curve_of(ANCHOR, metric), curve_of(name, metric))
               if min(size, sizes[ANCHOR]) > BD_DEGREE else None for metric in METRICS}
        for name, size in sizes.items() if name != ANCHOR
    }


def summarise_equal_bytes(comparisons: list[dict]) -> list[dict]:
    """Per abc curve and target rate: means of bpp and quality, medians of times, wins at equal or fewer bytes."""
    summary = []
    for curve in dict.fromkeys(row["curve"] for row in comparisons):
        for bpp in sorted({row["target_bpp"] for row in comparisons if row["curve"] == curve}):
            group = [row for row in comparisons if row["curve"] == curve and row["target_bpp"] == bpp]
            summary.append({
                "curve": curve, "target_bpp": bpp, "images": len(group),
                **{f"abc_{key}": float(np.mean([row["abc"][key] for row in group])) for key in ("bpp", "ssim", "psnr")},
                **{f"jpeg_{key}": float(np.mean([row["jpeg"][key] for row in group])) for key in ("bpp", "ssim", "psnr")},
                "jpeg_fits": sum(row["jpeg"]["bytes"] <= row["abc"]["bytes"] for row in group),
                "abc_ssim_wins": sum(row["abc"]["ssim"] > row["jpeg"]["ssim"] for row in group),
                "encode_s_median": float(np.median([row["abc"]["encode_s"] for row in group])),
                "decode_s_median": float(np.median([row["abc"]["decode_s"] for row in group])),
            })
    return summary


def curves_markdown(curves: list[dict]) -> list[str]:
    lines = ["| codec | setting | bpp | SSIM | MS-SSIM | PSNR |", "|---|---|---|---|---|---|"]
    for row in curves:
        knob = f"{row['parameter']} bpp" if is_abc(row["curve"]) else f"q {row['parameter']}"
        lines.append(f"| {row['curve']} | {knob} | {row['bpp']:.3f} | {row['ssim']:.3f} | "
                     f"{row['ms_ssim']:.3f} | {row['psnr']:.2f} |")
    return lines


def bd_markdown(bd: dict[str, dict[str, float | None]]) -> list[str]:
    lines = [f"| codec | BD-rate vs {ANCHOR}, SSIM | MS-SSIM | PSNR |", "|---|---|---|---|"]
    for name, by_metric in bd.items():
        cells = ["–" if by_metric[m] is None else f"{by_metric[m]:+.1f} %" for m in METRICS]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines.append("")
    lines.append(f"Negative: fewer bits than {ANCHOR} at equal quality. –: the curves share no quality "
                 f"interval, or one has fewer than {BD_DEGREE + 1} points.")
    return lines


def equal_bytes_markdown(summary: list[dict]) -> list[str]:
    lines = []
    for curve in dict.fromkeys(row["curve"] for row in summary):
        lines += [
            f"{curve} against JPEG at no more bytes:",
            "",
            "| target bpp | abc bpp | abc SSIM | abc PSNR | JPEG bpp | JPEG SSIM | JPEG PSNR | JPEG fits abc's bytes | abc wins SSIM | encode s (median) | decode s (median) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in (r for r in summary if r["curve"] == curve):
            lines.append(
                f"| {row['target_bpp']} | {row['abc_bpp']:.3f} | {row['abc_ssim']:.3f} | {row['abc_psnr']:.2f} | "
                f"{row['jpeg_bpp']:.3f} | {row['jpeg_ssim']:.3f} | {row['jpeg_psnr']:.2f} | "
                f"{row['jpeg_fits']}/{row['images']} | {row['abc_ssim_wins']}/{row['images']} | "
                f"{row['encode_s_median']:.2f} | {row['decode_s_median']:.2f} |"
            )
        lines.append("")
    return lines


def markdown(result: dict) -> str:
    lines = [
        f"Images: {result['images']}. Machine: {result['machine']}. Date: {result['date']}. "
        f"Load average (1/5/15 min) at start {result['load_start']}, at end {result['load_end']}.",
        "",
        f"AVIF: {result['avif']}.",
        "",
        "Mean per setting across images:",
        "",
        *curves_markdown(result["curves"]),
        "",
        *bd_markdown(result["bd_rate"]),
        "",
        *equal_bytes_markdown(result["equal_bytes"]),
    ]
    return "\n".join(lines).rstrip() + "\n"


def plot(curves: list[dict], path: Path, title: str) -> None:
    """SSIM, MS-SSIM and PSNR against bpp, one line per codec, averaged curves."""
    figure, axes = pyplot().subplots(1, len(METRICS), figsize=(13, 4.2), layout="constrained")
    for axis, metric in zip(axes, METRICS):
        for name in dict.fromkeys(row["curve"] for row in curves):
            rows = [row for row in curves if row["curve"] == name]
            style = "-o" if is_abc(name) else "--."
            axis.plot([r["bpp"] for r in rows], [r[metric] for r in rows], style, label=name, markersize=4)
        axis.set_xlabel("bits per pixel (file bytes × 8 / pixels)")
        axis.set_ylabel(METRIC_NAMES[metric])
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    figure.suptitle(title, fontsize="medium")
    save_figure(figure, path, dpi=80)


def write_csv(points: list[dict], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(points[0]))
        writer.writeheader()
        writer.writerows(points)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rd", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="images to measure (default: Kodak if present, else skimage.data)")
    parser.add_argument("--bpp", type=float, nargs="+", default=list(DEFAULT_RATES), help="abc target rates")
    parser.add_argument("--base-stride", type=lambda text: None if text == "auto" else float(text), nargs="*",
                        default=[None], help="base layer strides, one curve each (auto: by rate; none: skip)")
    parser.add_argument("--blocks", action="store_true",
                        help="also measure the block layer alone (blocks=BlockLayer()), one curve per scheme, block and quantisers")
    parser.add_argument("--scheme", nargs="+", default=["edge+random"], help="abc schemes, one curve each")
    parser.add_argument("--block", type=int, nargs="+", default=[BlockLayer().block], help="abc block sizes, one curve each")
    parser.add_argument("--quantisers", type=quantiser_pair, nargs="+", default=[DEFAULT_QUANTISERS],
                        help="abc LUMA/CHROMA quantiser steps, one curve each (default: the encoder's)")
    for codec, qualities in DEFAULT_QUALITIES.items():
        parser.add_argument(f"--{codec.lower()}-quality", type=int, nargs="*", default=list(qualities),
                            help=f"{codec} qualities (none: skip {codec})")
    parser.add_argument("--limit", type=int, help="first N images only")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--csv", type=Path, help="write one row per image and setting here")
    parser.add_argument("--plot", type=Path, help="write the rate–distortion plot (PNG) here")
    parser.add_argument("--markdown", type=Path, help="write the tables here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    images = images_or_none(args.folder, args.limit)
    if images is None:
        return 1
    avif = avif_encoder()
    avif_note = avif if args.avif_quality else "not asked for"
    if args.avif_quality and not avif:
        avif_note = 'skipped, no AVIF encoder (pip install -e ".[bench]" installs pillow-avif-plugin)'
        progress(f"AVIF {avif_note}")
    chosen = settings(args, avif)
    load_start, started = load_average(), time.perf_counter()
    points, comparisons = [], []
    for index, (name, original) in enumerate(images, 1):
        image_points, image_comparisons = measure_image(name, original, chosen)
        points += image_points
        comparisons += image_comparisons
        progress(f"[{index}/{len(images)}] {name}: {len(image_points)} points, {time.perf_counter() - started:.0f} s")
    curves = average_curves(points)
    result = {
        "images": f"{image_source(args.folder)} ({len(images)} images)",
        "machine": machine(), "date": date.today().isoformat(),
        "load_start": load_start, "load_end": load_average(), "avif": avif_note,
        "curves": curves, "bd_rate": bd_rates(curves), "equal_bytes": summarise_equal_bytes(comparisons),
        "points": points, "equal_bytes_rows": comparisons,
    }
    publish(result, markdown(result), args.json, args.markdown)
    if args.csv:
        write_csv(points, args.csv)
    if args.plot:
        plot(curves, args.plot, f"{result['images']}, mean per setting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
