"""AV1 encoder settings for the base layer: each against the encoder's default, same quantizers.

    python -m benchmarks.av1_options [FOLDER] [--limit 16] [--variant NAME SPEED [KEY=VALUE ...]] ...
        [--json out.json] [--markdown out.md]

Each photo is coded by Pillow's AVIF encoder as the BASE frame is (``abcodec.av1.encode_avif``,
with the base layer's encoder threads) at the quantizers of QUANTIZERS, once per variant: a
speed and libaom options passed through Pillow's ``advanced=`` (for example ``tune=ssim`` or
``deltaq-mode=0``). Each variant's BD-rate against the first, per photo then averaged, on SSIM,
MS-SSIM and PSNR (RGB, as benchmarks.rd), and its mean time per encode. Sizes are AVIF file sizes;
the framing is the same for every variant, so it does not move a BD-rate by more than noise.
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import date

import numpy as np
from PIL import Image

from abcodec import av1, base

from .common import add_image_arguments, add_output_arguments, image_source, load_average, load_images, machine, progress, publish
from .metrics import bd_rate, quality

QUANTIZERS = (63, 61, 58, 55, 52, 48, 44, 40, 34)
"""From about 0.05 to 0.7 bpp on a photograph: the project's range."""

DEFAULT_VARIANTS = (("default", 6), ("speed 5", 5), ("speed 4", 4), ("tune=ssim", 6, "tune=ssim"),
                    ("deltaq-mode=0", 6, "deltaq-mode=0"))

METRICS = ("ssim", "ms_ssim", "psnr")


def code(image: np.ndarray, quantizer: int, speed: int, advanced: dict[str, str]) -> tuple[bytes, float]:
    """The AVIF file of one setting, coded as the BASE frame is, and the seconds its encode took."""
    started = time.perf_counter()
    data = av1.encode_avif(image, quantizer, speed, base.ENCODER_THREADS, advanced)
    return data, time.perf_counter() - started


def curve(image: np.ndarray, speed: int, advanced: dict[str, str]) -> dict:
    """bpp, the metrics and encode seconds at each of QUANTIZERS."""
    points: dict[str, list[float]] = {name: [] for name in ("bpp", "seconds", *METRICS)}
    for quantizer in QUANTIZERS:
        data, seconds = code(image, quantizer, speed, advanced)
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        scores = quality(image, decoded)
        points["bpp"].append(8 * len(data) / (image.shape[0] * image.shape[1]))
        points["seconds"].append(seconds)
        for name in METRICS:
            points[name].append(scores[name])
    return points


def parse_variant(fields: list[str]) -> tuple:
    if len(fields) < 2:
        raise argparse.ArgumentTypeError("--variant NAME SPEED [KEY=VALUE ...]")
    return (fields[0], int(fields[1]), *fields[2:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.av1_options", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--variant", nargs="+", action="append", metavar="NAME SPEED [KEY=VALUE]",
                        help="a setting to compare (the first is the anchor); default: "
                             + "; ".join(" ".join(map(str, v)) for v in DEFAULT_VARIANTS))
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant] if args.variant else list(DEFAULT_VARIANTS)
    images = load_images(args.folder, args.limit)
    load = load_average()
    curves: dict[str, list[dict]] = {}
    for name, speed, *options in variants:
        advanced = dict(option.split("=", 1) for option in options)
        curves[name] = [curve(image, speed, advanced) for _, image in images]
        progress(f"{name}: done")
    anchor = curves[variants[0][0]]
    lines = [f"{image_source(args.folder)}, {len(images)} images; {machine()}; load {load} → {load_average()}; "
             f"{date.today()}; quantizers {QUANTIZERS[0]}..{QUANTIZERS[-1]}; BD-rate against {variants[0][0]}, per "
             "image then averaged", "",
             "| variant | speed | options | BD-rate SSIM | MS-SSIM | PSNR | s per encode |", "|---|---|---|---|---|---|---|"]
    for name, speed, *options in variants:
        deltas = []
        for metric in METRICS:
            found = [bd_rate((a["bpp"], a[metric]), (c["bpp"], c[metric])) for a, c in zip(anchor, curves[name])]
            found = [d for d in found if d is not None]
            deltas.append(f"{np.mean(found):+.1f} %" if found else "–")
        seconds = np.mean([np.mean(c["seconds"]) for c in curves[name]])
        lines.append(f"| {name} | {speed} | {' '.join(options) or '–'} | {' | '.join(deltas)} | {seconds:.3f} |")
    publish({"variants": [list(v) for v in variants], "curves": curves}, "\n".join(lines) + "\n", args.json, args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
