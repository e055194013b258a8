"""The quality scale: mean SSIM per AV1 quantizer on a set of photos, and the quality -> quantizer table it gives.

    python -m benchmarks.quality [FOLDER] [--limit N] [--json out.json] [--markdown out.md]
    python -m benchmarks.quality [FOLDER] --against-avif-default [--qualities 88 .. 98] [--limit N]

``abc-encode --quality Q`` / ``im.save(..., quality=Q)`` code the base layer at one AV1 quantizer
instead of searching one for a rate, so that equal quality means roughly equal SSIM whatever the
image. The quantizer for each quality comes from this measurement: every photo of FOLDER (default
../shared/data/bsds500/val, never Kodak, which is the benchmark) is coded at all 64 quantizers at
the encoder's default speed, decoded by the fast decode, and scored with SSIM on RGB. Quality q
asks for the mean SSIM that lies q % of the way from the coarsest quantizer's to the finest's, and
gets the coarsest quantizer whose mean SSIM reaches it. The printed table is what
``abcodec.base.QUANTIZER_FOR_QUALITY`` holds.

``--against-avif-default`` measures where the scale meets Pillow's AVIF as ``im.save("x.avif")``
writes it (no options: the plugin's own quality and speed), which is what ``abc-encode IN OUT``
is held against: mean bpp, SSIM and mean error of that AVIF and of abc at the qualities around
it, each file decoded by the decoder it names, and the lowest quality whose mean SSIM reaches
AVIF's (``abcodec.options.DEFAULT_QUALITY`` holds the one BSDS500 val gave). The last row is
abc's default itself, ``EncodeOptions()``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from abcodec import av1, base
from abcodec.codec import EncodeOptions

from .common import (Roundtrip, abc_roundtrip, add_output_arguments, avif_encoder, load_average, load_images, machine,
                     pillow_roundtrip, progress, publish)
from .metrics import ssim

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "bsds500" / "val"
QUALITIES = range(0, 101)
NEAR_AVIF_DEFAULT = tuple(range(88, 99))
"""The qualities measured beside Pillow's default AVIF (quantizers 28 down to 10): on BSDS500 val
its mean SSIM lies between theirs."""


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


def scores(original: np.ndarray, roundtrip: Roundtrip) -> dict[str, float]:
    """bpp (file bytes × 8 / pixels), SSIM on RGB and the mean absolute error in grey levels."""
    error = np.abs(original.astype(np.int16) - roundtrip.decoded.astype(np.int16))
    return {"bpp": 8 * len(roundtrip.data) / (original.shape[0] * original.shape[1]),
            "ssim": ssim(original, roundtrip.decoded), "mean_error": float(error.mean())}


def lowest_quality_reaching(means: dict[int, dict[str, float]], target_ssim: float) -> int | None:
    """The rule that chose DEFAULT_QUALITY: the lowest quality measured whose mean SSIM reaches
    ``target_ssim`` (the fewest bytes that do), None when none does."""
    return min((q for q, mean in means.items() if mean["ssim"] >= target_ssim - 1e-12), default=None)


def against_avif_default(images: list[tuple[str, np.ndarray]], qualities: list[int]) -> tuple[dict, str]:
    """(everything measured, the table and the choice) for abc's qualities beside Pillow's default AVIF."""
    default = EncodeOptions()
    rows = []
    for index, (name, image) in enumerate(images, 1):
        row = {"image": name, "avif": scores(image, pillow_roundtrip(image, "AVIF", None)),
               "default": scores(image, abc_roundtrip(image, default)),
               "quality": {q: scores(image, abc_roundtrip(image, EncodeOptions(quality=q))) for q in qualities}}
        rows.append(row)
        progress(f"[{index}/{len(images)}] {name}: AVIF {row['avif']['bpp']:.3f} bpp, "
                 f"abc default {row['default']['bpp']:.3f} bpp")

    def mean_of(pick) -> dict[str, float]:
        return {key: float(np.mean([pick(row)[key] for row in rows])) for key in ("bpp", "ssim", "mean_error")}

    avif, default_mean = mean_of(lambda row: row["avif"]), mean_of(lambda row: row["default"])
    means = {q: mean_of(lambda row, q=q: row["quality"][q]) for q in qualities}
    chosen = lowest_quality_reaching(means, avif["ssim"])
    smaller = sum(row["default"]["bpp"] < row["avif"]["bpp"] for row in rows)
    table = [("AVIF", "Pillow's default", avif), *(("abc", f"q {q}", means[q]) for q in qualities),
             ("abc", f"default, EncodeOptions() (quality {default.base_quality})", default_mean)]
    lines = ["| codec | setting | mean bpp | mean SSIM | mean error |", "|---|---|---|---|---|"]
    lines += [f"| {codec} | {setting} | {m['bpp']:.3f} | {m['ssim']:.4f} | {m['mean_error']:.2f} |"
              for codec, setting, m in table]
    if chosen is None:
        verdict = f"No quality measured reaches AVIF's default's mean SSIM ({avif['ssim']:.4f})."
    else:
        verdict = (f"Lowest quality whose mean SSIM reaches AVIF's default's ({avif['ssim']:.4f}): {chosen}, at "
                   f"{means[chosen]['bpp']:.3f} mean bpp ({100 * (means[chosen]['bpp'] / avif['bpp'] - 1):+.1f} % "
                   f"against AVIF's {avif['bpp']:.3f}).")
    text = (f"{avif_encoder()} with no options (im.save(\"x.avif\")) against abc, each file decoded by the decoder "
            "it names; SSIM on RGB, mean error in grey levels\n\n" + "\n".join(lines) + f"\n\n{verdict} abc's "
            f"default file is smaller than AVIF's on {smaller} of {len(rows)} images.\n")
    return {"avif": avif, "default": default_mean, "quality": means, "chosen": chosen, "images": rows}, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="photos (default BSDS500 val)")
    parser.add_argument("--limit", type=int, help="first N photos only")
    parser.add_argument("--against-avif-default", action="store_true",
                        help="measure abc's qualities beside Pillow's AVIF at its defaults, instead of the scale")
    parser.add_argument("--qualities", type=int, nargs="+", default=list(NEAR_AVIF_DEFAULT), metavar="Q",
                        help="with --against-avif-default: abc's qualities to measure (default %(default)s)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    images = load_images(args.folder, args.limit)
    load = load_average()
    if args.against_avif_default:
        if avif_encoder() is None:
            print("this Pillow has no AVIF encoder", file=sys.stderr)
            return 1
        result, text = against_avif_default(images, args.qualities)
        publish(result, f"{Path(args.folder).name}, {len(images)} photos; {machine()}; load {load} → "
                        f"{load_average()}; {date.today()}\n\n{text}", args.json, args.markdown)
        return 0
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
