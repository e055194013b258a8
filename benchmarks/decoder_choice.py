"""Where does G pay? Per-image gains of G over the fast decode, and what the encoder's --effort makes of them.

    python -m benchmarks.decoder_choice [FOLDER] [--bpp 0.05 0.1 0.2 0.3] [--limit N] [--efforts 0 1]
        [--json out.json] [--markdown out.md]

Each image is encoded at each ``--bpp`` with effort 0, whose files name the generative decoder by
rate alone (up to ``options.GENERATIVE_MAX_BPP``); that file is decoded both ways, each decode
timed (in this process, the ONNX session made beforehand), and G's gain is the SSIM (abcodec.ssim,
the encoder's measure) of G's decode less the fast decode's, over the whole image, beside the gain
the encoder measures on its sample of G's tiles (abcodec.effort.generative_gain). The image is
then encoded at each ``--efforts`` level: encode time, bytes, the decoder its file names and the
SSIM of that file's default decode. Last, each image is encoded once per effort with no rate given
(the encoder's default), timed.

The first table is the distribution of G's gains per rate and G's decode time over the fast
decode's; the second what each threshold on the gain would keep, and the threshold the stated rule
gives: the mean gain over the files the rate rule gives G (G's time per pixel being about constant,
a file whose gain is at least that mean buys at least the SSIM per second G bought on average
before); the third what each effort gives, against effort 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

import numpy as np

from abcodec import container, effort
from abcodec.codec import EncodeOptions, decode, encode
from abcodec.ssim import ssim

from .common import add_image_arguments, add_output_arguments, image_source, load_average, load_images, machine, progress, publish

THRESHOLDS = (0.0, 0.001, 0.002, 0.003, 0.005, 0.008)
"""Gains the second table tries as the threshold, beside the rule's."""


def timed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def gain_row(original: np.ndarray, bpp: float) -> dict:
    """G against the fast decode of the file effort 0 writes at ``bpp``."""
    data = encode(original, options=EncodeOptions(bpp=bpp, effort=0))
    fast, fast_s = timed(decode, data, inpainter="diffusion")
    made, generative_s = timed(decode, data, inpainter="ppgn")
    fast_ssim, generative_ssim = ssim(original, np.asarray(fast)), ssim(original, np.asarray(made))
    return {"bytes": len(data), "bpp": 8 * len(data) / (original.shape[0] * original.shape[1]),
            "fast_ssim": fast_ssim, "generative_ssim": generative_ssim, "gain": generative_ssim - fast_ssim,
            "sampled_gain": effort.generative_gain(original, container.read_file(data)),
            "fast_s": fast_s, "generative_s": generative_s}


def effort_row(original: np.ndarray, options: EncodeOptions) -> dict:
    """One encode at these options, timed, and its file's default decode."""
    data, encode_s = timed(encode, original, options=options)
    decoded, decode_s = timed(decode, data)
    return {"encode_s": encode_s, "bytes": len(data), "decode_s": decode_s, "ssim": ssim(original, np.asarray(decoded)),
            "names": container.INPAINTERS[container.read_file(data).header.inpainter]}


def measure(images: list[tuple[str, np.ndarray]], bpps: list[float], efforts: list[int]) -> tuple[list[dict], list[dict]]:
    """Rows per image and rate (gains, and each effort's file), and per image at the default rate."""
    rows, defaults = [], []
    for name, original in images:
        for bpp in bpps:
            row = {"image": name, "target_bpp": bpp, **gain_row(original, bpp)}
            row["efforts"] = {level: effort_row(original, EncodeOptions(bpp=bpp, effort=level)) for level in efforts}
            rows.append(row)
            progress(f"{name} {bpp}: gain {row['gain']:+.4f} (sampled {row['sampled_gain']:+.4f}); " + ", ".join(
                f"effort {level} {r['names']} {r['encode_s']:.2f} s" for level, r in row["efforts"].items()))
        defaults.append({"image": name, "efforts": {level: effort_row(original, EncodeOptions(effort=level))
                                                    for level in efforts}})
    return rows, defaults


def gains_table(rows: list[dict], bpps: list[float]) -> str:
    lines = ["| bpp | images | gain: min | 10 % | median | mean | 90 % | max | sampled = whole | "
             "G decode s (median) | fast decode s | G / fast |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for bpp in bpps:
        at = [row for row in rows if row["target_bpp"] == bpp]
        gains = np.array([row["gain"] for row in at])
        same = sum(abs(row["gain"] - row["sampled_gain"]) < 1e-9 for row in at)
        generative_s, fast_s = np.median([row["generative_s"] for row in at]), np.median([row["fast_s"] for row in at])
        lines.append(f"| {np.mean([row['bpp'] for row in at]):.3f} | {len(at)} | {gains.min():+.4f} | "
                     f"{np.quantile(gains, 0.1):+.4f} | {np.median(gains):+.4f} | {gains.mean():+.4f} | "
                     f"{np.quantile(gains, 0.9):+.4f} | {gains.max():+.4f} | {same}/{len(at)} | {generative_s:.3f} | "
                     f"{fast_s:.3f} | {np.median([row['generative_s'] / row['fast_s'] for row in at]):.0f}× |")
    return "\n".join(lines) + "\n"


def threshold_table(rows: list[dict], rule: float) -> str:
    """Per threshold: the files that would name G, the share of G's total gain they keep, the SSIM
    the others give up, and G's decode time spent against the rate rule's."""
    gains = np.array([row["sampled_gain"] for row in rows])
    whole = np.array([row["gain"] for row in rows])
    seconds = np.array([row["generative_s"] - row["fast_s"] for row in rows])
    lines = ["| threshold | files naming G | G's gain kept | mean SSIM given up | G's extra decode time spent |",
             "|---|---|---|---|---|"]
    for threshold in sorted({*THRESHOLDS, round(rule, 4)}):
        named = gains >= threshold
        label = f"{threshold:.4f}" + (" (rule)" if threshold == round(rule, 4) else "")
        lines.append(f"| {label} | {named.sum()}/{len(rows)} | {whole[named].sum() / whole.sum():.0%} | "
                     f"{whole[~named].mean() if (~named).any() else 0:+.4f} | {seconds[named].sum() / seconds.sum():.0%} |")
    return "\n".join(lines) + "\n"


def efforts_table(rows: list[dict], defaults: list[dict], bpps: list[float], efforts: list[int]) -> str:
    """Per rate and effort: files naming G, mean bytes and SSIM of the default decode against effort
    0's, median encode and default decode time; then the same at the encoder's default rate."""
    lines = ["| bpp | effort | files naming G | mean bytes | SSIM (default decode) | against effort 0 | "
             "encode s (median) | default decode s (median) |", "|---|---|---|---|---|---|---|---|"]
    groups = [(f"{bpp}", [row["efforts"] for row in rows if row["target_bpp"] == bpp]) for bpp in bpps]
    groups.append(("default", [row["efforts"] for row in defaults]))
    for label, at in groups:
        for level in efforts:
            runs = [by_effort[level] for by_effort in at]
            before = np.mean([by_effort[min(efforts)]["ssim"] for by_effort in at])
            named = sum(run["names"] == "ppgn" for run in runs)
            lines.append(f"| {label} | {level} | {named}/{len(runs)} | {np.mean([r['bytes'] for r in runs]):.0f} | "
                         f"{np.mean([r['ssim'] for r in runs]):.4f} | {np.mean([r['ssim'] for r in runs]) - before:+.4f} | "
                         f"{np.median([r['encode_s'] for r in runs]):.2f} | {np.median([r['decode_s'] for r in runs]):.3f} |")
    return "\n".join(lines) + "\n"


def warm_up() -> None:
    """G's ONNX session and the first calls, made before anything is timed."""
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(image, options=EncodeOptions(bpp=0.2, effort=0))
    decode(data, inpainter="ppgn")
    effort.generative_gain(image, container.read_file(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decoder_choice", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--bpp", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3])
    parser.add_argument("--efforts", type=int, nargs="+", default=[0, 1], choices=range(effort.EFFORT_RANGE[1] + 1),
                        metavar="E", help="encoder efforts to compare (default 0 1; 0 is the reference)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    efforts = sorted(set(args.efforts) | {0})
    images = load_images(args.folder, args.limit)
    load = load_average()
    warm_up()
    rows, defaults = measure(images, args.bpp, efforts)
    rule = float(np.mean([row["gain"] for row in rows]))
    text = (f"{image_source(args.folder)}, {len(images)} images; {machine()}; load {load} → {load_average()}; "
            f"{date.today()}; effort.MIN_GENERATIVE_GAIN {effort.MIN_GENERATIVE_GAIN}, "
            f"{effort.SAMPLED_TILES} sampled tiles\n\n" + gains_table(rows, args.bpp)
            + f"\nThe rule's threshold, the mean gain over these files: {rule:+.4f}\n\n" + threshold_table(rows, rule)
            + "\n" + efforts_table(rows, defaults, args.bpp, efforts))
    publish({"rows": rows, "defaults": defaults, "rule_threshold": rule}, text, args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
