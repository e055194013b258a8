"""Quality where people look, at equal bytes: ``python -m benchmarks.roi --fixations [DIR]``.

On the held-out fixation photos (never trained on; benchmarks/fixations.py) whose longer side is at
least ``MIN_SIDE``, shrunk to a longer side of at most ``MAX_SIDE``, at each target rate: abc
without a map, with ``--importance auto``, and with the viewers' own fixation density as the map
(what a perfect saliency model would give); each against Pillow's AVIF at the highest quality whose
file is no larger than that abc file's, and JPEG likewise against abc with ``auto``. Every file is
decoded as its decoder would (abc: the default decoder, G included where the file names it).

"Where people look" is scikit-image's SSIM map (RGB, 7×7 window, channel mean) weighted by the
fixation density (fixations blurred by 3 % of the longer side), the 3-pixel border left out as
its overall SSIM leaves it; "whole" is the plain mean SSIM. BD-rates are computed on the mean
curves (bpp, SSIM) of the rates, against AVIF matched to abc without a map.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import numpy as np
from skimage.metrics import structural_similarity

from abcodec.codec import EncodeOptions
from abcodec.demo import jpeg_at_most
from abcodec.importance import DEFAULT_ABLATION

from .common import PILLOW_AVIF_SPEED, abc_roundtrip, avif_at_most, load_average, machine, pillow_roundtrip, progress
from .fixations import fixation_density, fixation_map, held_out, shrunk
from .metrics import BD_DEGREE, bd_rate

DEFAULT_RATES = (0.05, 0.1, 0.2, 0.3)
MIN_SIDE = 480
"""Photos smaller than this are left out: most of the set is 256×256, too small to say much about
a codec at these rates."""
MAX_SIDE = 768
SSIM_BORDER = 3
VARIANTS = ("abc", "abc auto", "abc fixations")
"""abc without a map, with ``auto``, and with the recorded fixation density as the map."""
FIGURE_CROP = 160
"""Side, in pixels, of the crops around the fixation density's peak in the figure."""
FIGURE_SCALE = 0.6
"""Panels at 0.6 of the photo's size, so the committed PNG stays well under a megabyte."""


def ssim_where_people_look(original: np.ndarray, decoded: np.ndarray, density: np.ndarray) -> tuple[float, float]:
    """(SSIM weighted by the fixation density, mean SSIM), both without the window's border."""
    _, per_pixel = structural_similarity(original, decoded, channel_axis=2, data_range=255, full=True)
    per_pixel = per_pixel.mean(axis=2)[SSIM_BORDER:-SSIM_BORDER, SSIM_BORDER:-SSIM_BORDER]
    weights = density[SSIM_BORDER:-SSIM_BORDER, SSIM_BORDER:-SSIM_BORDER]
    return float((per_pixel * weights).sum() / weights.sum()), float(per_pixel.mean())


def measure_photo(original: np.ndarray, density: np.ndarray, rates: list[float], ablation: float) -> list[dict]:
    """One row per rate: each variant's bytes and SSIMs, and AVIF's (and JPEG's) at no more bytes."""
    pixels = original.shape[0] * original.shape[1]
    maps = {"abc": None, "abc auto": "auto", "abc fixations": density / density.max()}
    rows = []
    for bpp in rates:
        row = {"target_bpp": bpp}
        for variant, importance in maps.items():
            made = abc_roundtrip(original, EncodeOptions(bpp=bpp, ablation=ablation), importance)
            avif_quality, _ = avif_at_most(original, len(made.data), PILLOW_AVIF_SPEED)
            avif = pillow_roundtrip(original, "AVIF", avif_quality, speed=PILLOW_AVIF_SPEED)
            row[variant] = entry(original, made.data, made.decoded, density, pixels)
            row[variant]["encode_s"] = made.encode_s
            row[f"AVIF @ {variant}"] = entry(original, avif.data, avif.decoded, density, pixels)
        jpeg_quality, _ = jpeg_at_most(original, row["abc auto"]["bytes"])
        jpeg = pillow_roundtrip(original, "JPEG", jpeg_quality)
        row["JPEG @ abc auto"] = entry(original, jpeg.data, jpeg.decoded, density, pixels)
        rows.append(row)
    return rows


def entry(original: np.ndarray, data: bytes, decoded: np.ndarray, density: np.ndarray, pixels: int) -> dict:
    look, whole = ssim_where_people_look(original, decoded, density)
    return {"bytes": len(data), "bpp": 8 * len(data) / pixels, "look": look, "whole": whole}


def summarise(photos: list[dict], rates: list[float]) -> list[dict]:
    """Means per rate and variant: abc, the AVIF matched to it, the leads, and on how many photos abc led."""
    summary = []
    for bpp in rates:
        rows = [row for photo in photos for row in photo["rows"] if row["target_bpp"] == bpp]
        for variant in VARIANTS:
            mine = [row[variant] for row in rows]
            theirs = [row[f"AVIF @ {variant}"] for row in rows]
            entry = {"target_bpp": bpp, "variant": variant, "photos": len(rows),
                     "avif_fits": sum(t["bytes"] <= m["bytes"] for m, t in zip(mine, theirs))}
            for key in ("bpp", "look", "whole"):
                entry[key] = float(np.mean([m[key] for m in mine]))
                entry[f"avif_{key}"] = float(np.mean([t[key] for t in theirs]))
            for key in ("look", "whole"):
                entry[f"delta_{key}"] = entry[key] - entry[f"avif_{key}"]
                entry[f"wins_{key}"] = sum(m[key] > t[key] for m, t in zip(mine, theirs))
            summary.append(entry)
        jpeg = [row["JPEG @ abc auto"] for row in rows]
        summary.append({"target_bpp": bpp, "variant": "JPEG @ abc auto", "photos": len(rows),
                        **{key: float(np.mean([j[key] for j in jpeg])) for key in ("bpp", "look", "whole")}})
    return summary


def bd_rates(summary: list[dict]) -> dict[str, dict[str, float | None]]:
    """BD-rate (%) of each variant against AVIF matched to abc without a map, on both SSIMs; None
    with fewer rates than a cubic fit needs."""
    anchor_rows = [row for row in summary if row["variant"] == "abc"]
    if len(anchor_rows) <= BD_DEGREE:
        return {variant: {"look": None, "whole": None} for variant in (*VARIANTS, "JPEG @ abc auto")}
    rates = {}
    for variant in (*VARIANTS, "JPEG @ abc auto"):
        rows = [row for row in summary if row["variant"] == variant]
        rates[variant] = {key: bd_rate(([a["avif_bpp"] for a in anchor_rows], [a[f"avif_{key}"] for a in anchor_rows]),
                                       ([r["bpp"] for r in rows], [r[key] for r in rows]))
                          for key in ("look", "whole")}
    return rates


def markdown(result: dict) -> str:
    lines = [f"Held-out fixation photos: {result['photos']} (longer side ≥ {MIN_SIDE}, shrunk to ≤ {MAX_SIDE}), "
             f"ablation {result['ablation']:g}. "
             f"Machine: {result['machine']}. Date: {result['date']}. Load (1/5/15 min) at start {result['load_start']}, "
             f"at end {result['load_end']}. AVIF: Pillow's, speed {PILLOW_AVIF_SPEED}, the highest quality whose file is "
             "no larger than the abc file beside it; Δ: abc minus that AVIF, mean over photos; wins: photos where abc "
             "is higher.", "",
             "| target bpp | abc | bpp | SSIM where people look | AVIF | Δ | wins | SSIM whole | AVIF | Δ | wins | AVIF fits |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result["summary"]:
        if row["variant"].startswith("JPEG"):
            lines.append(f"| {row['target_bpp']} | JPEG at abc auto's bytes | {row['bpp']:.3f} | {row['look']:.3f} | | | | "
                         f"{row['whole']:.3f} | | | | |")
            continue
        of = f"/{row['photos']}"
        lines.append(
            f"| {row['target_bpp']} | {row['variant']} | {row['bpp']:.3f} | {row['look']:.3f} | {row['avif_look']:.3f} | "
            f"{row['delta_look']:+.3f} | {row['wins_look']}{of} | {row['whole']:.3f} | {row['avif_whole']:.3f} | "
            f"{row['delta_whole']:+.3f} | {row['wins_whole']}{of} | {row['avif_fits']}{of} |")
    lines += ["", "BD-rate against AVIF (matched to abc without a map), on the mean curves; negative: fewer bytes "
                  "for the same SSIM:", "", "| | where people look | whole |", "|---|---|---|"]
    for variant, rates in result["bd_rates"].items():
        cells = [f"{rates[key]:+.1f} %" if rates[key] is not None else "–" for key in ("look", "whole")]
        lines.append(f"| {variant} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def run(folder: str | Path, rates: list[float], limit: int | None, ablation: float = DEFAULT_ABLATION) -> dict:
    """Every held-out photo measured; the summary, BD-rates and per-photo rows."""
    photos = held_out(folder, MIN_SIDE)[:limit]
    load_start, started = load_average(), time.perf_counter()
    measured = []
    for index, photo in enumerate(photos, 1):
        original, scale = shrunk(folder, photo, MAX_SIDE)
        density = fixation_density(fixation_map(photo, original.shape[:2], scale))
        measured.append({"photo": photo.name, "size": list(original.shape[:2]),
                         "rows": measure_photo(original, density, rates, ablation)})
        progress(f"[{index}/{len(photos)}] {photo.name}: {time.perf_counter() - started:.0f} s")
    summary = summarise(measured, rates)
    return {"photos": len(photos), "ablation": ablation, "machine": machine(), "date": date.today().isoformat(), "load_start": load_start,
            "load_end": load_average(), "summary": summary, "bd_rates": bd_rates(summary), "per_photo": measured}


def write_figure(folder: str | Path, name: str, bpp: float, path: Path) -> None:
    """abc with ``auto`` beside AVIF at no more bytes, whole and cropped around where people looked most."""
    from .common import pyplot, save_figure

    photo = next(p for p in held_out(folder) if p.name == name)
    original, scale = shrunk(folder, photo, MAX_SIDE)
    density = fixation_density(fixation_map(photo, original.shape[:2], scale))
    made = abc_roundtrip(original, EncodeOptions(bpp=bpp), "auto")
    quality, _ = avif_at_most(original, len(made.data), PILLOW_AVIF_SPEED)
    avif = pillow_roundtrip(original, "AVIF", quality, speed=PILLOW_AVIF_SPEED)
    row, column = np.unravel_index(np.argmax(density), density.shape)
    half = FIGURE_CROP // 2
    top = int(np.clip(row - half, 0, original.shape[0] - FIGURE_CROP))
    left = int(np.clip(column - half, 0, original.shape[1] - FIGURE_CROP))
    panels = []
    for title, decoded, data in (("original", original, None), ("abc, --importance auto", made.decoded, made.data),
                                 ("AVIF, no more bytes", avif.decoded, avif.data)):
        look, whole = ssim_where_people_look(original, decoded, density)
        caption = title if data is None else (f"{title}: {len(data)} bytes\nSSIM where people look {look:.3f}, "
                                              f"whole {whole:.3f}")
        panels.append((caption, decoded, decoded[top : top + FIGURE_CROP, left : left + FIGURE_CROP]))
    dpi = 100
    height, width = (FIGURE_SCALE * side for side in original.shape[:2])
    figure, axes = pyplot().subplots(2, 3, dpi=dpi, figsize=(3 * (width + 10) / dpi, (height + width + 80) / dpi),
                                     gridspec_kw={"height_ratios": [height, width]})
    for column_index, (caption, whole_image, crop) in enumerate(panels):
        axes[0, column_index].imshow(whole_image)
        axes[0, column_index].contour(density, levels=[density.max() / 2], colors="yellow", linewidths=0.6)
        axes[0, column_index].add_patch(pyplot().Rectangle((left, top), FIGURE_CROP, FIGURE_CROP, fill=False,
                                                           edgecolor="red", linewidth=0.8))
        axes[0, column_index].set_title(caption, fontsize=8)
        axes[1, column_index].imshow(crop, interpolation="nearest")
        for axis in axes[:, column_index]:
            axis.set_axis_off()
    figure.subplots_adjust(left=0, right=1, bottom=0, top=0.95, wspace=0.03, hspace=0.05)
    save_figure(figure, path, dpi)
