"""The quality scale: mean SSIM per AV1 quantizer on a set of photos, and the quality -> quantizer table it gives.

    python -m benchmarks.quality [FOLDER] [--limit N] [--json out.json] [--markdown out.md]

``abc-encode --quality Q`` / ``im.save(..., quality=Q)`` code the base layer at one AV1 quantizer
instead of searching one for a rate, so that equal quality means roughly equal SSIM whatever the
image. The quantizer for each quality comes from this measurement: every photo of FOLDER (default
../shared/data/bsds500/val, never Kodak, which is the benchmark) is coded at all 64 quantizers at
the encoder's default speed, decoded by the fast decode, and scored with SSIM on RGB. Quality q
asks for the mean SSIM that lies q % of the way from the coarsest quantizer's to the finest's, and
gets the coarsest quantizer whose mean SSIM reaches it. The printed table is what
``abcodec.base.QUANTIZER_FOR_QUALITY`` holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from abcodec import av1, base

from .common import add_output_arguments, load_average, load_images, machine, progress, publish
from .metrics import ssim

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "bsds500" / "val"
QUALITIES = range(0, 101)


def ssim_per_quantizer(image: np.ndarray) -> list[float]:
    """SSIM of the fast decode of ``image`` coded at each quantizer, 0 .. 63."""
    scores = []
    for quantizer in range(av1.QUANTIZER_RANGE[0], av1.QUANTIZER_RANGE[1] + 1):
        payload = av1.encode(image, quantizer, base.DEFAULT_SPEED, base.ENCODER_THREADS)
        decoded = base.decode_frame(payload, 3, image.shape[:2])
        scores.append(ssim(image, decoded))
    return scores


def quantizer_table(mean_ssim: list[float]) -> list[int]:
    """For each quality 0..100, the coarsest quantizer whose mean SSIM reaches the quality's share
    of the way from the coarsest quantizer's SSIM to the finest's."""
    low, high = mean_ssim[-1], mean_ssim[0]
    table = []
    for q in QUALITIES:
        target = low + (high - low) * q / 100
        table.append(max(index for index, value in enumerate(mean_ssim) if value >= target - 1e-12))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="photos (default BSDS500 val)")
    parser.add_argument("--limit", type=int, help="first N photos only")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    images = load_images(args.folder, args.limit)
    load = load_average()
    started = time.perf_counter()
    rows = []
    for index, (name, image) in enumerate(images, 1):
        rows.append(ssim_per_quantizer(image))
        progress(f"[{index}/{len(images)}] {name}: {time.perf_counter() - started:.0f} s")
    mean_ssim = [float(v) for v in np.mean(rows, axis=0)]
    table = quantizer_table(mean_ssim)
    text = (f"{Path(args.folder).name}, {len(images)} photos; {machine()}; load {load} → {load_average()}; "
            f"{date.today()}; AV1 speed {base.DEFAULT_SPEED}, fast decode, SSIM on RGB\n\n"
            "| quantizer | " + " | ".join(str(q) for q in range(0, 64, 7)) + " |\n|---|" + "---|" * 10 + "\n"
            "| mean SSIM | " + " | ".join(f"{mean_ssim[q]:.3f}" for q in range(0, 64, 7)) + " |\n\n"
            f"QUANTIZER_FOR_QUALITY = {tuple(table)}\n")
    publish({"mean_ssim": mean_ssim, "quantizer_for_quality": table}, text, args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
