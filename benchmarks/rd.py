"""Rate–distortion of abc against JPEG, WebP and AVIF: curves, BD-rates, a plot, and JPEG and AVIF at equal bytes.

    python -m benchmarks.rd [FOLDER] [--bpp 0.1 0.2 …] [--speed 6 4 …]
        [--blocks [--scheme edge+random …] [--block 4 …] [--quantisers 24/32 …]]
        [--jpeg-quality …] [--webp-quality …] [--avif-quality …] [--avif-speed 6 …] [--effort N]
        [--no-ssimulacra2] [--limit N] [--json out.json] [--csv out.csv] [--plot out.png] [--markdown out.md]

FOLDER defaults to ../shared/data/kodak when it exists, else a few skimage.data images. abc is
swept over target rates (rate control on): the default base layer once per AV1 --speed (curve
"abc" at the encoder's default speed, "abc speed N" at another; no values: no base-layer curve),
and with --blocks the block layer alone for every scheme × block size × quantisers given. JPEG,
WebP and AVIF go through Pillow at its default settings but quality, over their quality
settings; AVIF is Pillow's own (libavif with aom; skipped with a note where Pillow was built
without it), once per --avif-speed (default: Pillow's default speed and abc's, one curve while
they are the same; "AVIF" at Pillow's default, "AVIF speed N" otherwise). A quality flag given
with no values drops that codec.

Rate is real file bytes × 8 / pixels; quality is SSIM on RGB (the paper's metric), MS-SSIM (RGB
channel mean), PSNR and SSIMULACRA 2 (the ``ssimulacra2`` package, a numpy port of libjxl's
metric, ~0.6 s per Kodak pair; skipped with a note when not installed, or with
--no-ssimulacra2). Curves average bpp and quality per setting across images; BD-rates against
JPEG and against AVIF at Pillow's default speed come from those averaged curves, for every
metric. For every abc point, JPEG gets the highest quality whose file is no larger (or quality
1, then larger), and so does AVIF at Pillow's default speed (or quality 0): the equal-bytes
table. Times are wall-clock seconds on this machine, one process, median over images.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

from abcodec.av1 import SPEED_RANGE
from abcodec.base import DEFAULT_SPEED
from abcodec.codec import BlockLayer, EncodeOptions
from abcodec.demo import jpeg_at_most
from abcodec.effort import EFFORT_RANGE

from .common import (
    PILLOW_AVIF_SPEED, Roundtrip, abc_roundtrip, add_image_arguments, add_output_arguments, avif_at_most, avif_encoder,
    image_source, images_or_none, load_average, machine, measurement, pillow_roundtrip, progress, publish, pyplot,
    save_figure,
)
from .metrics import BD_DEGREE, bd_rate, ssimulacra2_version

DEFAULT_RATES = (0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
DEFAULT_ABC_QUALITIES = (0, 10, 20, 30, 40, 50, 60, 70, 80, 85)
"""abc's quality sweep: quantizers 63 to 31, about 0.07–0.8 bpp on Kodak, beside its bpp sweep."""
BD_WINDOW = (0.04, 0.65)
"""Mean bpp of the curve points the BD-rates are computed from: the 0.05–0.6 bpp the codec is
compared over, with the points just outside it that bound the fits."""
DEFAULT_QUALITIES = {
    "JPEG": (1, 3, 5, 10, 15, 25, 35, 50, 75),
    "WebP": (0, 5, 10, 20, 35, 50, 75),
    "AVIF": (0, 3, 6, 10, 15, 20, 25, 30, 35, 40, 50, 60, 70),
}
"""Quality sweeps around abc's 0.08–1 bpp on Kodak: WebP covers about 0.07–1.4 bpp, JPEG starts at
0.17; AVIF at speed 6 spans 0.078–1.48 bpp (mean of six Kodak images), two points in three below
0.6 bpp, where abc competes. Its quality 0 is as low as it goes (0.057–0.117 bpp per image)."""
DEFAULT_AVIF_SPEEDS = tuple(dict.fromkeys((PILLOW_AVIF_SPEED, DEFAULT_SPEED)))
"""Pillow's default speed, the anchor, and the speed abc's base layer codes at (one curve while equal)."""
DEFAULT_QUANTISERS = (BlockLayer().q_luma, BlockLayer().q_chroma)
ANCHORS = ("JPEG", "AVIF")
"""The curves BD-rates are measured against: JPEG, and AVIF at Pillow's default speed."""
METRICS = ("ssim", "ms_ssim", "psnr", "ssimulacra2")
"""Every metric a run may report; SSIMULACRA 2 only where measured. All are higher-is-better."""
METRIC_NAMES = {"ssim": "SSIM", "ms_ssim": "MS-SSIM", "psnr": "PSNR (dB)", "ssimulacra2": "SSIMULACRA 2"}
EQUAL_BYTES_METRICS = ("ssim", "psnr", "ssimulacra2")
"""The metrics the equal-bytes table shows (the JSON has them all)."""
SPEEDS = range(SPEED_RANGE[0], SPEED_RANGE[1] + 1)


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


ABC_QUALITY_CURVE = "abc (quality)"
"""The default codec swept by ``quality`` (one AV1 quantizer per setting, as AVIF, JPEG and WebP
are swept), so that its curve averages the images the same way theirs do: at a fixed target bpp
every image spends the same rate, at a fixed quality each its own, and the mean of the latter
lies higher whatever the codec."""


def is_abc(curve: str) -> bool:
    """abc curves swept by target bpp; they get the equal-bytes comparisons."""
    return curve == "abc" or (curve.startswith("abc ") and curve != ABC_QUALITY_CURVE)


def base_curve(speed: int) -> str:
    """"abc" at the encoder's default AV1 speed, "abc speed N" at another."""
    return "abc" if speed == DEFAULT_SPEED else f"abc speed {speed}"


def avif_curve(speed: int) -> str:
    """"AVIF" at Pillow's default speed (the anchor), "AVIF speed N" at another."""
    return "AVIF" if speed == PILLOW_AVIF_SPEED else f"AVIF speed {speed}"


def abc_settings(args: argparse.Namespace) -> list[Setting]:
    """The base-layer curves (one per --speed) and, with --blocks, the block-layer ones."""
    chosen = [
        Setting(base_curve(speed), bpp, partial(abc_roundtrip, options=EncodeOptions(bpp=bpp, speed=speed, effort=args.effort)))
        for speed in args.speed for bpp in args.bpp
    ]
    chosen += [Setting(ABC_QUALITY_CURVE, quality, partial(abc_roundtrip, options=EncodeOptions(quality=quality, effort=args.effort)))
               for quality in args.abc_quality]
    if args.blocks:
        chosen += [
            Setting(abc_curve(scheme, block, (q_luma, q_chroma)), bpp, partial(abc_roundtrip, options=EncodeOptions(
                bpp=bpp, blocks=BlockLayer(scheme=scheme, block=block, q_luma=q_luma, q_chroma=q_chroma))))
            for scheme in args.scheme for block in args.block for q_luma, q_chroma in args.quantisers
            for bpp in args.bpp
        ]
    return chosen


def settings(args: argparse.Namespace, avif: str | None) -> list[Setting]:
    """Every (curve, knob) pair to measure on each image, abc first, AVIF once per --avif-speed."""
    chosen = abc_settings(args)
    for codec, qualities in (("JPEG", args.jpeg_quality), ("WebP", args.webp_quality)):
        chosen += [Setting(codec, q, partial(pillow_roundtrip, format=codec.upper(), quality=q)) for q in qualities]
    if avif:
        chosen += [Setting(avif_curve(speed), q, partial(pillow_roundtrip, format="AVIF", quality=q, speed=speed))
                   for speed in args.avif_speed for q in args.avif_quality]
    return chosen


def measure_image(
    name: str, original: np.ndarray, chosen: list[Setting], *, with_avif: bool, with_ssimulacra2: bool,
) -> tuple[list[dict], list[dict]]:
    """(curve points, equal-bytes comparisons) for one image."""
    points, comparisons = [], []
    for setting in chosen:
        point = {"image": name, "curve": setting.curve, "parameter": setting.parameter,
                 **measurement(original, setting.run(original), with_ssimulacra2=with_ssimulacra2)}
        points.append(point)
        if is_abc(setting.curve):
            comparisons.append(at_equal_bytes(original, point, with_avif=with_avif, with_ssimulacra2=with_ssimulacra2))
    return points, comparisons


def at_equal_bytes(original: np.ndarray, abc_point: dict, *, with_avif: bool, with_ssimulacra2: bool) -> dict:
    """JPEG at the highest quality whose file is no larger than this abc file (or quality 1), and
    AVIF at Pillow's default speed likewise (or quality 0)."""
    jpeg_quality, _ = jpeg_at_most(original, abc_point["bytes"])
    jpeg = measurement(original, pillow_roundtrip(original, "JPEG", jpeg_quality), with_ssimulacra2=with_ssimulacra2)
    row = {"image": abc_point["image"], "curve": abc_point["curve"], "target_bpp": abc_point["parameter"],
           "abc": abc_point, "jpeg": {"quality": jpeg_quality, **jpeg}}
    if with_avif:
        avif_quality, _ = avif_at_most(original, abc_point["bytes"], PILLOW_AVIF_SPEED)
        avif = pillow_roundtrip(original, "AVIF", avif_quality, speed=PILLOW_AVIF_SPEED)
        row["avif"] = {"quality": avif_quality, **measurement(original, avif, with_ssimulacra2=with_ssimulacra2)}
    return row


def measured_metrics(rows: list[dict]) -> tuple[str, ...]:
    """The metrics every row has (SSIMULACRA 2 only where it was computed), in METRICS' order."""
    return tuple(metric for metric in METRICS if rows and all(metric in row for row in rows))


def average_curves(points: list[dict]) -> list[dict]:
    """Per curve and setting: mean bpp and mean of each metric across images."""
    metrics = measured_metrics(points)
    curves = []
    for curve in dict.fromkeys(point["curve"] for point in points):
        for parameter in sorted({p["parameter"] for p in points if p["curve"] == curve}):
            group = [p for p in points if p["curve"] == curve and p["parameter"] == parameter]
            curves.append({"curve": curve, "parameter": parameter, "images": len(group),
                           **{key: float(np.mean([p[key] for p in group])) for key in ("bpp", *metrics)}})
    return curves


def bd_rates(curves: list[dict], window: tuple[float, float] = BD_WINDOW) -> dict[str, dict[str, dict[str, float | None]]]:
    """BD-rate (%) of every curve against each anchor present (JPEG, AVIF), per metric, from the
    points whose mean bpp lies in ``window``; None where it cannot be measured. Keyed by anchor,
    then curve, then metric."""
    metrics = measured_metrics(curves)
    curves = [row for row in curves if window[0] <= row["bpp"] <= window[1]]

    def curve_of(name: str, metric: str) -> tuple[list[float], list[float]]:
        rows = [row for row in curves if row["curve"] == name]
        return [row["bpp"] for row in rows], [row[metric] for row in rows]

    sizes = {name: sum(row["curve"] == name for row in curves) for name in dict.fromkeys(r["curve"] for r in curves)}
    return {
        anchor: {
            name: {metric: bd_rate(curve_of(anchor, metric), curve_of(name, metric))
                   if min(size, sizes[anchor]) > BD_DEGREE else None for metric in metrics}
            for name, size in sizes.items() if name != anchor
        }
        for anchor in ANCHORS if anchor in sizes
    }


def per_image_bd_rates(points: list[dict], window: tuple[float, float] = BD_WINDOW) -> dict:
    """Against AVIF at Pillow's default speed: the median and mean over images of each image's own
    BD-rate (its curves alone, points of bpp in ``window``), per abc curve and metric; a check on
    the averaged curves that does not depend on how images are averaged."""
    anchor = avif_curve(PILLOW_AVIF_SPEED)
    metrics = measured_metrics(points)
    names = [name for name in dict.fromkeys(p["curve"] for p in points) if name.startswith("abc")]
    result = {}
    for name in names:
        by_metric = {}
        for metric in metrics:
            rates = []
            for image in dict.fromkeys(p["image"] for p in points):
                curves = [[p for p in points if p["image"] == image and p["curve"] == c and window[0] <= p["bpp"] <= window[1]]
                          for c in (anchor, name)]
                if min(map(len, curves)) > BD_DEGREE:
                    rate = bd_rate(*[([p["bpp"] for p in c], [p[metric] for p in c]) for c in curves])
                    if rate is not None:
                        rates.append(rate)
            by_metric[metric] = {"median": float(np.median(rates)), "mean": float(np.mean(rates)), "images": len(rates)} if rates else None
        result[name] = by_metric
    return result


def summarise_equal_bytes(comparisons: list[dict]) -> list[dict]:
    """Per abc curve and target rate: means of bpp and quality, medians of times, and how often
    each anchor fitted abc's bytes and abc won on SSIM."""
    metrics = measured_metrics([row["abc"] for row in comparisons])
    summary = []
    for curve in dict.fromkeys(row["curve"] for row in comparisons):
        for bpp in sorted({row["target_bpp"] for row in comparisons if row["curve"] == curve}):
            group = [row for row in comparisons if row["curve"] == curve and row["target_bpp"] == bpp]
            row = {"curve": curve, "target_bpp": bpp, "images": len(group)}
            for codec in ("abc", "jpeg", "avif"):
                if codec not in group[0]:
                    continue
                row |= {f"{codec}_{key}": float(np.mean([r[codec][key] for r in group])) for key in ("bpp", *metrics)}
                if codec != "abc":
                    row[f"{codec}_fits"] = sum(r[codec]["bytes"] <= r["abc"]["bytes"] for r in group)
                    row[f"abc_ssim_wins_{codec}"] = sum(r["abc"]["ssim"] > r[codec]["ssim"] for r in group)
            row["encode_s_median"] = float(np.median([r["abc"]["encode_s"] for r in group]))
            row["decode_s_median"] = float(np.median([r["abc"]["decode_s"] for r in group]))
            summary.append(row)
    return summary


def metric_cell(metric: str, value: float) -> str:
    return f"{value:.2f}" if metric == "psnr" else f"{value:.1f}" if metric == "ssimulacra2" else f"{value:.3f}"


def curves_markdown(curves: list[dict]) -> list[str]:
    metrics = measured_metrics(curves)
    lines = [f"| codec | setting | bpp | {' | '.join(METRIC_NAMES[m] for m in metrics)} |",
             "|---|---|---|" + "---|" * len(metrics)]
    for row in curves:
        knob = f"{row['parameter']} bpp" if is_abc(row["curve"]) else f"q {row['parameter']}"
        cells = " | ".join(metric_cell(m, row[m]) for m in metrics)
        lines.append(f"| {row['curve']} | {knob} | {row['bpp']:.3f} | {cells} |")
    return lines


def bd_markdown(bd: dict[str, dict[str, dict[str, float | None]]]) -> list[str]:
    """One table per anchor: the BD-rate of every other curve, one column per metric."""
    lines = []
    for anchor, by_curve in bd.items():
        if not by_curve:
            continue
        metrics = list(next(iter(by_curve.values())))
        anchor_name = anchor if anchor == "JPEG" else f"{anchor} (Pillow, speed {PILLOW_AVIF_SPEED})"
        names = [f"BD-rate vs {anchor_name}, {METRIC_NAMES[metrics[0]]}", *(METRIC_NAMES[m] for m in metrics[1:])]
        lines += [f"| codec | {' | '.join(names)} |", "|---|" + "---|" * len(metrics)]
        for name, by_metric in by_curve.items():
            cells = ["–" if by_metric[m] is None else f"{by_metric[m]:+.1f} %" for m in metrics]
            lines.append(f"| {name} | {' | '.join(cells)} |")
        lines.append("")
    missing = [anchor for anchor in ANCHORS if anchor not in bd]
    if missing:
        lines += [f"No BD-rates against {' or '.join(missing)}: that curve was not measured.", ""]
    lines.append("Negative: fewer bits than the anchor at equal quality (every metric here is higher-is-better). "
                 f"–: the curves share no quality interval, or one has fewer than {BD_DEGREE + 1} points.")
    return lines


def per_image_bd_markdown(per_image: dict) -> list[str]:
    """abc's BD-rates against AVIF image by image: median (mean) over images, per metric."""
    if not per_image:
        return []
    metrics = [m for m in METRICS if any(by_metric.get(m) for by_metric in per_image.values())]
    lines = ["", "Each image's own BD-rate against AVIF (speed 6), median (mean) over the images:", "",
             f"| codec | {' | '.join(METRIC_NAMES[m] for m in metrics)} |", "|---|" + "---|" * len(metrics)]
    for name, by_metric in per_image.items():
        cells = ["–" if not by_metric.get(m) else f"{by_metric[m]['median']:+.1f} % ({by_metric[m]['mean']:+.1f} %)"
                 for m in metrics]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return [*lines, ""]


def equal_bytes_markdown(summary: list[dict]) -> list[str]:
    if not summary:
        return []
    metrics = [m for m in EQUAL_BYTES_METRICS if f"abc_{m}" in summary[0]]
    anchors = [(codec, name) for codec, name in (("jpeg", "JPEG"), ("avif", "AVIF")) if f"{codec}_bpp" in summary[0]]

    def group(name: str) -> list[str]:
        return [f"{name} bpp", *(f"{name} {METRIC_NAMES[m].removesuffix(' (dB)')}" for m in metrics)]

    header = ["target bpp", *group("abc")]
    for _, name in anchors:
        header += [*group(name), f"{name} fits abc's bytes", f"abc wins SSIM vs {name}"]
    header += ["encode s (median)", "decode s (median)"]
    against = " and ".join(name if codec == "jpeg" else f"{name} (speed {PILLOW_AVIF_SPEED})" for codec, name in anchors)
    lines = []
    for curve in dict.fromkeys(row["curve"] for row in summary):
        lines += [f"{curve} against {against} at no more bytes:", "",
                  f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
        for row in (r for r in summary if r["curve"] == curve):
            cells = [str(row["target_bpp"])]
            for codec in ("abc", *(codec for codec, _ in anchors)):
                cells += [f"{row[f'{codec}_bpp']:.3f}", *(metric_cell(m, row[f"{codec}_{m}"]) for m in metrics)]
                if codec != "abc":
                    cells += [f"{row[f'{codec}_fits']}/{row['images']}", f"{row[f'abc_ssim_wins_{codec}']}/{row['images']}"]
            cells += [f"{row['encode_s_median']:.2f}", f"{row['decode_s_median']:.2f}"]
            lines.append(f"| {' | '.join(cells)} |")
        lines.append("")
    return lines


def markdown(result: dict) -> str:
    lines = [
        f"Images: {result['images']}. Machine: {result['machine']}. Date: {result['date']}. "
        f"Load average (1/5/15 min) at start {result['load_start']}, at end {result['load_end']}.",
        "",
        f"abc: effort {result['effort']}. AVIF: {result['avif']}. SSIMULACRA 2: {result['ssimulacra2']}.",
        "",
        "Mean per setting across images:",
        "",
        *curves_markdown(result["curves"]),
        "",
        f"BD-rates from the points of mean bpp {result['bd_window'][0]}–{result['bd_window'][1]}:",
        "",
        *bd_markdown(result["bd_rate"]),
        *per_image_bd_markdown(result.get("bd_rate_per_image", {})),
        "",
        *equal_bytes_markdown(result["equal_bytes"]),
    ]
    return "\n".join(lines).rstrip() + "\n"


def plot(curves: list[dict], path: Path, title: str) -> None:
    """Every measured metric against bpp, one panel each, one line per codec, averaged curves."""
    metrics = measured_metrics(curves)
    figure, axes = pyplot().subplots(1, len(metrics), figsize=(4.4 * len(metrics), 4.2), layout="constrained")
    for axis, metric in zip(axes, metrics):
        for name in dict.fromkeys(row["curve"] for row in curves):
            rows = [row for row in curves if row["curve"] == name]
            style = "-o" if name.startswith("abc") else "--."
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
    add_image_arguments(parser)
    parser.add_argument("--bpp", type=float, nargs="*", default=list(DEFAULT_RATES),
                        help="abc target rates (none: no bpp-swept curve)")
    parser.add_argument("--abc-quality", type=int, nargs="*", default=list(DEFAULT_ABC_QUALITIES), metavar="Q",
                        help=f"abc qualities, the curve {ABC_QUALITY_CURVE!r} (none: skip it)")
    parser.add_argument("--bd-window", type=float, nargs=2, default=list(BD_WINDOW), metavar=("LOW", "HIGH"),
                        help="mean bpp of the points the BD-rates use (default %(default)s)")
    parser.add_argument("--speed", type=int, nargs="*", choices=SPEEDS, default=[DEFAULT_SPEED], metavar="S",
                        help=f"AV1 speeds of abc's base layer, {SPEEDS[0]}..{SPEEDS[-1]}, one curve each "
                             f"(default: the encoder's, {DEFAULT_SPEED}; none: no base-layer curve)")
    parser.add_argument("--effort", type=int, choices=range(EFFORT_RANGE[0], EFFORT_RANGE[1] + 1),
                        default=EncodeOptions().effort,
                        help="the encoder's effort for abc's base-layer curves (default: the encoder's, %(default)s)")
    parser.add_argument("--blocks", action="store_true",
                        help="also measure the block layer alone (blocks=BlockLayer()), one curve per scheme, block and quantisers")
    parser.add_argument("--scheme", nargs="+", default=["edge+random"], help="abc schemes, one curve each")
    parser.add_argument("--block", type=int, nargs="+", default=[BlockLayer().block], help="abc block sizes, one curve each")
    parser.add_argument("--quantisers", type=quantiser_pair, nargs="+", default=[DEFAULT_QUANTISERS],
                        help="abc LUMA/CHROMA quantiser steps, one curve each (default: the encoder's)")
    for codec, qualities in DEFAULT_QUALITIES.items():
        parser.add_argument(f"--{codec.lower()}-quality", type=int, nargs="*", default=list(qualities),
                            help=f"{codec} qualities (none: skip {codec})")
    parser.add_argument("--avif-speed", type=int, nargs="+", choices=SPEEDS, default=list(DEFAULT_AVIF_SPEEDS),
                        metavar="S", help="AVIF encoder speeds, one curve each (default: Pillow's, "
                                          f"{PILLOW_AVIF_SPEED}, and abc's, {DEFAULT_SPEED})")
    parser.add_argument("--ssimulacra2", action=argparse.BooleanOptionalAction, default=True,
                        help="also score SSIMULACRA 2 (the ssimulacra2 package; ~0.6 s per Kodak image pair)")
    add_output_arguments(parser)
    parser.add_argument("--csv", type=Path, help="write one row per image and setting here")
    parser.add_argument("--plot", type=Path, help="write the rate–distortion plot (PNG) here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    images = images_or_none(args.folder, args.limit)
    if images is None:
        return 1
    avif = avif_encoder() if args.avif_quality else None
    speeds = f"speed{'s' * (len(args.avif_speed) > 1)} {', '.join(map(str, args.avif_speed))}"
    avif_note = f"{avif}, {speeds}; at equal bytes speed {PILLOW_AVIF_SPEED}" if avif else "not asked for"
    if args.avif_quality and not avif:
        avif_note = "skipped, this Pillow was built without AVIF support"
        progress(f"AVIF {avif_note}")
    version = ssimulacra2_version() if args.ssimulacra2 else None
    ssimulacra2_note = f"ssimulacra2 {version}, a numpy port of libjxl's metric" if version else "not asked for"
    if args.ssimulacra2 and not version:
        ssimulacra2_note = "skipped, the ssimulacra2 package is not installed (pip install ssimulacra2)"
        progress(f"SSIMULACRA 2 {ssimulacra2_note}")
    chosen = settings(args, avif)
    load_start, started = load_average(), time.perf_counter()
    points, comparisons = [], []
    for index, (name, original) in enumerate(images, 1):
        image_points, image_comparisons = measure_image(name, original, chosen, with_avif=avif is not None,
                                                        with_ssimulacra2=version is not None)
        points += image_points
        comparisons += image_comparisons
        progress(f"[{index}/{len(images)}] {name}: {len(image_points)} points, {time.perf_counter() - started:.0f} s")
    curves = average_curves(points)
    result = {
        "images": f"{image_source(args.folder)} ({len(images)} images)",
        "machine": machine(), "date": date.today().isoformat(),
        "load_start": load_start, "load_end": load_average(), "avif": avif_note, "ssimulacra2": ssimulacra2_note,
        "effort": args.effort, "curves": curves, "bd_rate": bd_rates(curves, tuple(args.bd_window)), "bd_window": list(args.bd_window),
        "bd_rate_per_image": per_image_bd_rates(points, tuple(args.bd_window)),
        "equal_bytes": summarise_equal_bytes(comparisons),
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
