"""Regions of interest at equal bytes: SSIM inside and outside a region, abc with and without an importance map, JPEG and AVIF.

    python -m benchmarks.roi [FOLDER] [--bpp 0.15 0.3 0.5] [--regions centre auto]
        [--no-base] [--limit N] [--json out.json] [--markdown out.md] [--figure fig.png] [--figure-image NAME] [--figure-bpp 0.3]
    python -m benchmarks.roi --fixations [DIR] [--bpp 0.05 0.1 0.2 0.3] [--ablation 3] [--limit N] [--json …] [--markdown …]
        [--figure fig.png --figure-image NAME --figure-bpp 0.1]

With ``--fixations`` the regions are where real viewers looked, on the held-out photos of the
fixation set (benchmarks/fixation_quality.py says what is measured); the rest of this docstring is
about the first form.

FOLDER defaults to ../shared/data/kodak when it exists, else a few skimage.data images. Two
regions, each reproducible from the image alone:

- ``centre``: the centred rectangle of half the width and half the height (a quarter of the
  pixels), given to the encoder as ``--roi``.
- ``auto``: the encoder's map is ``--importance auto`` (the saliency model's prediction of where
  people look); the region measured is the share of the image it ranks first
  (``importance.IMPORTANT_AREA``), the part the encoder gives more rate.

For every image, region and target rate: abc without a map (the same file for both regions),
abc with the map at the same target rate (rate control keeps both at or under the same byte
budget), JPEG at the highest quality whose file is no larger than the abc file with the map (or
quality 1, then larger: counted in "fits"), and AVIF likewise (Pillow's own, at its default
speed; or quality 0, then larger; skipped with a note where Pillow has no AVIF). SSIM is
scikit-image's on RGB: its per-pixel map (7×7 window, channel mean) averaged over the region and
over the rest, both without the 3-pixel border its overall SSIM leaves out, so the two are the
overall SSIM's parts, and "SSIM all" is the paper's SSIM. A second table sets abc with the map
beside AVIF: SSIM inside the region and over the whole image, and abc's lead in each (Δ).
By default abc is the default codec (the AV1 base layer: the map sets the quantizer by region, so
AV1 spends its bytes inside the region); ``--no-base`` measures the block layout instead
(``EncodeOptions(blocks=BlockLayer())``: the map sets which blocks are kept), and then "kept" is
the share of the pixels in kept blocks, inside and outside. Times: the auto map per image.

The goal set for ROI coding (on the centred quarter at 0.15 bpp, SSIM inside at least AVIF's +
0.05 and over the whole image at least AVIF's − 0.06, AVIF at no more bytes) reads off the
second table of ``python -m benchmarks.roi --regions centre --bpp 0.15``: Δ inside and Δ all.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from skimage.metrics import structural_similarity

from abcodec import container
from abcodec.codec import BlockLayer, EncodeOptions
from abcodec.reconstruct import canvas_of
from abcodec.demo import jpeg_at_most
from abcodec.importance import AUTO, DEFAULT_ABLATION, IMPORTANT_AREA, ranks, resolve_importance

from . import fixation_quality
from .fixations import DEFAULT_FOLDER as FIXATIONS_FOLDER
from .common import (
    PILLOW_AVIF_SPEED, Roundtrip, abc_roundtrip, add_image_arguments, add_output_arguments, avif_at_most, avif_encoder,
    image_source, images_or_none, load_average, machine, pillow_roundtrip, progress, publish, pyplot, save_figure,
)

DEFAULT_RATES = (0.15, 0.3, 0.5)
REGIONS = ("centre", "auto")
SSIM_BORDER = 3
"""Half of scikit-image's 7×7 SSIM window: the border its mean SSIM leaves out."""
VARIANTS = ("abc", "abc + map", "JPEG", "AVIF")
"""What is compared, in the tables' order; AVIF only where Pillow has it."""
ANCHORS = ("JPEG", "AVIF")
"""The variants made to fit the bytes of abc with the map: the highest quality that fits."""
FIGURE_SCALE = 0.5
"""Panels at half size: six Kodak images side by side stay a committable PNG (~0.7 MB for kodim23)."""


def centre_rectangle(shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the centred half-width, half-height rectangle."""
    height, width = shape
    return width // 4, height // 4, max(1, width // 2), max(1, height // 2)


@dataclass(frozen=True)
class Region:
    """A region to measure on one image, and the encoder's map for it."""

    name: str
    pixels: np.ndarray
    importance: np.ndarray
    map_s: float


def region_of(original: np.ndarray, name: str) -> Region:
    """The centred rectangle, or the auto region with its map (timed: the map's cost)."""
    if name == "centre":
        importance = resolve_importance(original, rois=[centre_rectangle(original.shape[:2])])
        return Region(name, importance == 1, importance, 0.0)
    started = time.perf_counter()
    importance = resolve_importance(original, AUTO)
    seconds = time.perf_counter() - started
    return Region(name, ranks(importance) < IMPORTANT_AREA, importance, seconds)


def ssim_parts(original: np.ndarray, decoded: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """Overall SSIM and its means inside and outside the region (border excluded from all three)."""
    _, per_pixel = structural_similarity(original, decoded, channel_axis=2, data_range=255, full=True)
    per_pixel = per_pixel.mean(axis=2)
    valid = np.zeros(region.shape, dtype=bool)
    valid[SSIM_BORDER:-SSIM_BORDER, SSIM_BORDER:-SSIM_BORDER] = True
    return {
        "ssim": float(per_pixel[valid].mean()),
        "ssim_inside": float(per_pixel[valid & region].mean()),
        "ssim_outside": float(per_pixel[valid & ~region].mean()),
    }


def layer_options(bpp: float, base: bool) -> EncodeOptions:
    """The encoder at this rate, with the base layer or the block layer alone."""
    return EncodeOptions(bpp=bpp, blocks=None if base else BlockLayer())


def kept_parts(data: bytes, region: np.ndarray) -> dict[str, float]:
    """Share of pixels in kept blocks, inside and outside the region, read back from the file's mask."""
    canvas, _ = canvas_of(container.read_file(data))
    return {"kept_inside": float(canvas.luma_known[region].mean()), "kept_outside": float(canvas.luma_known[~region].mean())}


def scores(original: np.ndarray, roundtrip: Roundtrip, region: np.ndarray) -> dict[str, float]:
    pixels = original.shape[0] * original.shape[1]
    return {"bytes": len(roundtrip.data), "bpp": 8 * len(roundtrip.data) / pixels,
            **ssim_parts(original, roundtrip.decoded, region)}


def roundtrips(
    original: np.ndarray, bpp: float, importance: np.ndarray, plain: Roundtrip, base: bool, avif: bool,
) -> tuple[dict[str, Roundtrip], dict[str, int]]:
    """The files compared at one rate (abc without the map, given; with it; JPEG; AVIF where asked),
    and the quality of each anchor, which gets no more bytes than abc with the map."""
    mapped = abc_roundtrip(original, layer_options(bpp, base), importance)
    jpeg_quality, _ = jpeg_at_most(original, len(mapped.data))
    made = {"abc": plain, "abc + map": mapped, "JPEG": pillow_roundtrip(original, "JPEG", jpeg_quality)}
    qualities = {"JPEG": jpeg_quality}
    if avif:
        qualities["AVIF"], _ = avif_at_most(original, len(mapped.data), PILLOW_AVIF_SPEED)
        made["AVIF"] = pillow_roundtrip(original, "AVIF", qualities["AVIF"], speed=PILLOW_AVIF_SPEED)
    return made, qualities


def measure_image(name: str, original: np.ndarray, args: argparse.Namespace, avif: bool) -> list[dict]:
    """One row per region and rate: every variant's bytes, SSIM parts and (abc without a base) kept shares."""
    plain = {bpp: abc_roundtrip(original, layer_options(bpp, args.base)) for bpp in args.bpp}
    rows = []
    for region in (region_of(original, name) for name in args.regions):
        for bpp in args.bpp:
            made, qualities = roundtrips(original, bpp, region.importance, plain[bpp], args.base, avif)
            variants = {}
            for variant, roundtrip in made.items():
                extra = {"quality": qualities[variant]} if variant in ANCHORS else {}
                if variant not in ANCHORS and not args.base:
                    extra = kept_parts(roundtrip.data, region.pixels)
                variants[variant] = {**scores(original, roundtrip, region.pixels), **extra}
            rows.append({"image": name, "region": region.name, "target_bpp": bpp,
                         "region_share": float(region.pixels.mean()), "map_s": region.map_s, "variants": variants})
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Means per region, rate and variant, on how many images each beat plain abc inside,
    and for JPEG and AVIF on how many their file fitted the bytes of abc with the map."""
    summary = []
    for setting in dict.fromkeys((row["region"], row["target_bpp"]) for row in rows):
        group = [row for row in rows if (row["region"], row["target_bpp"]) == setting]
        for variant in (v for v in VARIANTS if v in group[0]["variants"]):
            measured = [row["variants"][variant] for row in group]
            summary.append({
                "region": setting[0], "target_bpp": setting[1], "variant": variant,
                "images": len(group), "region_share": float(np.mean([row["region_share"] for row in group])),
                **{key: float(np.mean([m[key] for m in measured])) for key in measured[0] if key != "quality"},
                "wins_inside": sum(row["variants"][variant]["ssim_inside"] > row["variants"]["abc"]["ssim_inside"]
                                   for row in group),
                **({"fits": sum(row["variants"][variant]["bytes"] <= row["variants"]["abc + map"]["bytes"]
                                for row in group)} if variant in ANCHORS else {}),
            })
    return summary


def against_avif(rows: list[dict]) -> list[dict]:
    """Per region and rate: abc with the map beside AVIF at no more bytes, SSIM inside the region
    and over the whole image, abc's mean lead (Δ) in each and on how many images it led."""
    comparison = []
    for setting in dict.fromkeys((row["region"], row["target_bpp"]) for row in rows):
        group = [row for row in rows if (row["region"], row["target_bpp"]) == setting]
        if "AVIF" not in group[0]["variants"]:
            continue
        pairs = [(row["variants"]["abc + map"], row["variants"]["AVIF"]) for row in group]
        entry = {"region": setting[0], "target_bpp": setting[1], "images": len(group),
                 "region_share": float(np.mean([row["region_share"] for row in group])),
                 "avif_fits": sum(avif["bytes"] <= abc["bytes"] for abc, avif in pairs)}
        for key in ("bpp", "ssim_inside", "ssim"):
            entry[f"abc_{key}"] = float(np.mean([abc[key] for abc, _ in pairs]))
            entry[f"avif_{key}"] = float(np.mean([avif[key] for _, avif in pairs]))
        for key in ("ssim_inside", "ssim"):
            entry[f"delta_{key}"] = entry[f"abc_{key}"] - entry[f"avif_{key}"]
            entry[f"abc_wins_{key}"] = sum(abc[key] > avif[key] for abc, avif in pairs)
        comparison.append(entry)
    return comparison


def region_cell(row: dict) -> str:
    return f"{row['region']} ({100 * row['region_share']:.0f} % of pixels)"


def against_avif_markdown(comparison: list[dict]) -> list[str]:
    lines = [
        f"abc with the map against AVIF (Pillow, speed {PILLOW_AVIF_SPEED}) at no more bytes; Δ: abc + map minus AVIF, "
        "mean over images; wins: images where abc + map is higher:",
        "",
        "| region | target bpp | abc + map bpp | AVIF bpp | AVIF fits | SSIM inside: abc + map | AVIF | "
        "Δ inside | wins inside | SSIM all: abc + map | AVIF | Δ all | wins all |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison:
        of = f"/{row['images']}"
        lines.append(
            f"| {region_cell(row)} | {row['target_bpp']} | {row['abc_bpp']:.3f} | "
            f"{row['avif_bpp']:.3f} | {row['avif_fits']}{of} | {row['abc_ssim_inside']:.3f} | "
            f"{row['avif_ssim_inside']:.3f} | {row['delta_ssim_inside']:+.3f} | {row['abc_wins_ssim_inside']}{of} | "
            f"{row['abc_ssim']:.3f} | {row['avif_ssim']:.3f} | {row['delta_ssim']:+.3f} | {row['abc_wins_ssim']}{of} |"
        )
    return lines


def markdown(result: dict) -> str:
    lines = [
        f"Images: {result['images']}. Layout: {result['layout']}. Machine: {result['machine']}. Date: {result['date']}. "
        f"Load average (1/5/15 min) at start {result['load_start']}, at end {result['load_end']}.",
        "",
        f"AVIF: {result['avif']}.",
        "",
        "| region | target bpp | codec | bpp | SSIM inside | SSIM outside | SSIM all | kept inside | "
        "kept outside | beats abc inside |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["summary"]:
        kept = (f"{100 * row['kept_inside']:.1f} % | {100 * row['kept_outside']:.1f} %" if "kept_inside" in row
                else "– | –")
        wins = "–" if row["variant"] == "abc" else f"{row['wins_inside']}/{row['images']}"
        codec = f"{row['variant']} (fits {row['fits']}/{row['images']})" if "fits" in row else row["variant"]
        lines.append(
            f"| {region_cell(row)} | {row['target_bpp']} | {codec} | "
            f"{row['bpp']:.3f} | {row['ssim_inside']:.3f} | {row['ssim_outside']:.3f} | {row['ssim']:.3f} | "
            f"{kept} | {wins} |"
        )
    if result["against_avif"]:
        lines += ["", *against_avif_markdown(result["against_avif"])]
    if result["map_s_median"] is not None:
        lines += ["", f"Auto map: median {result['map_s_median']:.3f} s per image, slowest {result['map_s_max']:.3f} s."]
    return "\n".join(lines) + "\n"


def write_figure(name: str, original: np.ndarray, bpp: float, base: bool, avif: bool, path: Path) -> None:
    """Original, the auto map, abc without and with it, JPEG and (where Pillow has it) AVIF, at one
    rate, at ``FIGURE_SCALE``; the auto region outlined in yellow."""
    auto = region_of(original, "auto")
    importance, region = auto.importance, auto.pixels
    plain = abc_roundtrip(original, layer_options(bpp, base))
    made, _ = roundtrips(original, bpp, importance, plain, base, avif)
    panels = [(f"{name}: original", original), ("importance auto (white: keep)", importance)]
    for variant, roundtrip in made.items():
        measured = scores(original, roundtrip, region)
        panels.append((f"{variant}: {measured['bpp']:.3f} bpp\nSSIM inside {measured['ssim_inside']:.3f}, "
                       f"outside {measured['ssim_outside']:.3f}", roundtrip.decoded))
    height, width = (FIGURE_SCALE * side for side in original.shape[:2])
    dpi = 100
    figure, axes = pyplot().subplots(1, len(panels), dpi=dpi, figsize=(len(panels) * (width + 10) / dpi, (height + 50) / dpi))
    for (title, pixels), axis in zip(panels, axes):
        axis.imshow(pixels, cmap="gray", vmin=0, vmax=1 if pixels.dtype != np.uint8 else 255, interpolation="antialiased")
        axis.contour(region, levels=[0.5], colors="yellow", linewidths=0.6)
        axis.set_title(title, fontsize=8)
        axis.set_axis_off()
    figure.subplots_adjust(left=0, right=1, bottom=0, top=1 - 40 / (height + 50), wspace=0.03)
    save_figure(figure, path, dpi)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.roi", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--bpp", type=float, nargs="+", help="target rates (default 0.15 0.3 0.5; with --fixations "
                                                                "0.05 0.1 0.2 0.3)")
    parser.add_argument("--regions", nargs="+", choices=REGIONS, default=list(REGIONS), help="regions to measure")
    parser.add_argument("--no-base", dest="base", action="store_false",
                        help="measure the block layout (no base layer): the map chooses kept blocks")
    parser.add_argument("--fixations", nargs="?", const=str(FIXATIONS_FOLDER), metavar="DIR",
                        help="measure where real viewers looked, on the held-out photos of this fixation set "
                             f"(default {FIXATIONS_FOLDER})")
    parser.add_argument("--ablation", type=float, default=DEFAULT_ABLATION, metavar="S",
                        help=f"with --fixations: the encoder's ablation strength (default {DEFAULT_ABLATION:g})")
    add_output_arguments(parser)
    parser.add_argument("--figure", type=Path, help="write original | map | results (PNG) here")
    parser.add_argument("--figure-image", help="image for the figure (default: the first)")
    parser.add_argument("--figure-bpp", type=float, help="target rate of the figure (default 0.3; with --fixations 0.1)")
    return parser.parse_args(argv)


def fixations_main(args: argparse.Namespace) -> int:
    """``--fixations``: quality where people look, against AVIF at equal bytes (fixation_quality.py)."""
    result = fixation_quality.run(args.fixations, args.bpp or list(fixation_quality.DEFAULT_RATES), args.limit,
                                  args.ablation)
    if not result["photos"]:
        print(f"no held-out fixation photos in {args.fixations}", file=sys.stderr)
        return 1
    publish(result, fixation_quality.markdown(result), args.json, args.markdown)
    if args.figure:
        name = args.figure_image or result["per_photo"][0]["photo"]
        fixation_quality.write_figure(args.fixations, name, args.figure_bpp or 0.1, args.figure)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fixations:
        return fixations_main(args)
    args.bpp = args.bpp or list(DEFAULT_RATES)
    images = images_or_none(args.folder, args.limit)
    if images is None:
        return 1
    figure_name = args.figure_image or images[0][0]
    if args.figure and figure_name not in dict(images):
        print(f"--figure-image {figure_name} is not among the images", file=sys.stderr)
        return 1
    avif = avif_encoder()
    if not avif:
        progress("AVIF skipped, this Pillow was built without AVIF support")
    load_start, started = load_average(), time.perf_counter()
    rows = []
    for index, (name, original) in enumerate(images, 1):
        rows += measure_image(name, original, args, avif is not None)
        progress(f"[{index}/{len(images)}] {name}: {time.perf_counter() - started:.0f} s")
    map_times = [row["map_s"] for row in rows if row["region"] == "auto" and row["target_bpp"] == args.bpp[0]]
    result = {
        "images": f"{image_source(args.folder)} ({len(images)} images)", "machine": machine(),
        "layout": "base layer" if args.base else "blocks only (--no-base)",
        "date": date.today().isoformat(), "load_start": load_start, "load_end": load_average(),
        "avif": f"{avif}, speed {PILLOW_AVIF_SPEED}, at no more bytes than abc + map" if avif
        else "skipped, this Pillow was built without AVIF support",
        "map_s_median": float(np.median(map_times)) if map_times else None,
        "map_s_max": max(map_times) if map_times else None,
        "summary": summarise(rows), "against_avif": against_avif(rows), "rows": rows,
    }
    publish(result, markdown(result), args.json, args.markdown)
    if args.figure:
        write_figure(figure_name, dict(images)[figure_name], args.figure_bpp or 0.3, args.base, avif is not None,
                     args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
