"""The paper's Table 1 ("Ablative Image Compression", Kuznetsov & Singhal) with bytes, beside its SSIM figures.

    python -m benchmarks.table1 [FOLDER] [--bpp 0.3] [--crop 227] [--limit N]
        [--json out.json] [--markdown out.md] [--figure grid.png] [--figure-images NAME …]

Every row of the paper's table, measured twice: on the full images of FOLDER (default
../shared/data/kodak, else skimage.data) and on their centre crops of 227×227, the size the
paper's PPGN worked at. The paper gave SSIM only; here each row also has its real bpp. JPEG rows
use Pillow at the paper's qualities. The ablation rows use abc's block layout (``blocks=BlockLayer()``)
with the default decoder (the generative decoder: G on the diffusion fill, no descent steps),
all at one target rate (``--bpp``, default 0.3). The paper does not say how many blocks it kept,
so its keep fraction cannot be inferred; 0.3 bpp is where Kodak's JPEG spends between quality 5
and 10, between the paper's two lowest JPEG rows, and the middle row of the equal-bytes table in
benchmarks/RESULTS.md. The rows that add a loss run the latent descent (DESCENT_STEPS steps) with
that term's weight set to LOSS_WEIGHT in the file's header; the style row's file also carries the
Gram statistics (``assist="style"``), whose bytes come out of its rate. A row with the descent
and no added loss, which the paper does not have, separates the descent from the losses.

``--figure`` writes a picture grid like the paper's Figure 4: for each chosen image's crop, the
original, JPEG at the highest quality within the block + random file's bytes, and each scheme.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

from abcodec import container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.demo import jpeg_at_most
from abcodec.generative.settings import Params
from abcodec.reconstruct import canvas_of

from .common import (
    DESCENT_STEPS, Roundtrip, abc_roundtrip, add_image_arguments, add_output_arguments, centre_crop, image_source,
    images_or_none, load_average, machine, measurement, pillow_roundtrip, progress, publish, pyplot, save_figure,
)

DEFAULT_BPP = 0.3
PPGN_SIZE = 227
BLOCK_AND_RANDOM = "Block + random (B+R)"

LOSS_WEIGHT = 1.0
"""Weight of the added term in the loss rows (the other weights are the defaults, w_E = 10)."""


@dataclass(frozen=True)
class Row:
    """One row of the paper's Table 1: its name, its SSIM (None: a row of ours), and how we reproduce it."""

    name: str
    paper_ssim: float | None
    run: Callable[[np.ndarray], Roundtrip]
    is_abc: bool = False
    in_figure: bool = False


def table_rows(bpp: float) -> list[Row]:
    """The paper's rows in its order; pixel sampling is random 1×1 blocks with full-resolution chroma."""
    def abc(name: str, paper_ssim: float | None, **blocks) -> Row:
        options = EncodeOptions(bpp=bpp, blocks=BlockLayer(**blocks))
        return Row(name, paper_ssim, partial(abc_roundtrip, options=options), is_abc=True, in_figure=True)

    def descent(name: str, paper_ssim: float | None, term: str | None, **options) -> Row:
        encoder = EncodeOptions(bpp=bpp, steps=DESCENT_STEPS, blocks=BlockLayer(), **options)
        weights = {term: LOSS_WEIGHT} if term else {}
        return Row(name, paper_ssim, partial(descent_roundtrip, options=encoder, weights=weights), is_abc=True)

    return [
        *(Row(f"JPEG quality {q}", ssim, partial(pillow_roundtrip, format="JPEG", quality=q))
          for q, ssim in ((1, 0.438), (5, 0.555), (25, 0.797), (50, 0.864))),
        abc("Pixel sampling", 0.126, scheme="random", block=1, chroma_shift=0),
        abc("Block sampling", 0.366, scheme="edge"),
        abc(BLOCK_AND_RANDOM, 0.389, scheme="edge+random"),
        descent(f"B+R, {DESCENT_STEPS} descent steps (no added loss)", None, None),
        descent("B+R with style loss", 0.398, "style", assist="style"),
        descent("B+R with content loss", 0.403, "content"),
        descent("B+R with edge loss", 0.399, "edge"),
    ]


def descent_roundtrip(original: np.ndarray, options: EncodeOptions, weights: dict[str, float]) -> Roundtrip:
    """An abc round trip whose file asks for these loss weights: the same bytes, another header.

    The encoder's options name the statistics to store but not the weights of the terms that
    need none (content, edge); the benchmark writes them into the header as an encoder would.
    """
    started = time.perf_counter()
    data = with_weights(encode(original, options=options), weights)
    encoded = time.perf_counter()
    decoded = np.asarray(decode(data))
    return Roundtrip(data, decoded, encoded - started, time.perf_counter() - encoded)


def with_weights(data: bytes, weights: dict[str, float]) -> bytes:
    """The file with these loss weights set in its header (fixed size, so the bytes stay as many)."""
    abc = container.read_file(data)
    params = replace(Params.from_header(abc.header.steps, abc.header.noise_seed, abc.header.params), **weights)
    floats = params.floats() + (0.0,) * (container.N_DECODER_PARAMS - len(params.floats()))
    return container.write_file(replace(abc, header=replace(abc.header, params=floats)))


def kept_fraction(data: bytes) -> float:
    """Share of the image's pixels that the file keeps, read back from its mask."""
    canvas, _ = canvas_of(container.read_file(data))
    return float(canvas.luma_known.mean())


def measure_row(row: Row, images: list[tuple[str, np.ndarray]]) -> dict:
    """Per-image measurements of one row and their means (bpp, SSIM, kept share)."""
    per_image = []
    for name, original in images:
        roundtrip = row.run(original)
        kept = {"kept": kept_fraction(roundtrip.data)} if row.is_abc else {}
        per_image.append({"image": name, **measurement(original, roundtrip), **kept})
    means = {key: float(np.mean([m[key] for m in per_image])) for key in per_image[0] if key != "image"}
    return {"row": row.name, "paper_ssim": row.paper_ssim, **means, "per_image": per_image}


def measure_set(rows: list[Row], images: list[tuple[str, np.ndarray]], label: str) -> list[dict]:
    results = []
    for row in rows:
        results.append(measure_row(row, images))
        progress(f"{label}: {row.name} measured on {len(images)} images")
    return results


def markdown(result: dict) -> str:
    sets = list(result["sets"])
    header = "| row | paper SSIM | " + " | ".join(f"{s}: bpp | {s}: SSIM | {s}: kept" for s in sets) + " |"
    lines = [
        f"Images: {result['images']}; crops: the central {result['crop']}×{result['crop']}. "
        f"abc rows: block layout, default decoder (G, no descent) unless the row says otherwise, target {result['bpp']} bpp. Machine: {result['machine']}. Date: {result['date']}.",
        "",
        header,
        "|---|---|" + "---|---|---|" * len(sets),
    ]
    for index, row in enumerate(result["sets"][sets[0]]):
        cells = []
        for name in sets:
            measured = result["sets"][name][index]
            kept = f"{100 * measured['kept']:.1f} %" if "kept" in measured else "–"
            cells.append(f"{measured['bpp']:.3f} | {measured['ssim']:.3f} | {kept}")
        paper = "–" if row["paper_ssim"] is None else f"{row['paper_ssim']:.3f}"
        lines.append(f"| {row['row']} | {paper} | " + " | ".join(cells) + " |")
    lines += ["", "bpp and SSIM: means over images; kept: share of pixels in kept blocks (abc rows)."]
    return "\n".join(lines) + "\n"


def figure_panels(original: np.ndarray, rows: list[Row]) -> list[tuple[str, np.ndarray]]:
    """(title, pixels) for one crop: original, JPEG within B+R's bytes, then each abc scheme."""
    schemes = [(row.name, row.run(original)) for row in rows if row.in_figure]
    jpeg_quality, _ = jpeg_at_most(original, len(dict(schemes)[BLOCK_AND_RANDOM].data))
    panels = [("original", original)]
    for title, roundtrip in [(f"JPEG q{jpeg_quality}", pillow_roundtrip(original, "JPEG", jpeg_quality)), *schemes]:
        scores = measurement(original, roundtrip)
        panels.append((f"{title}\n{scores['bpp']:.2f} bpp, SSIM {scores['ssim']:.3f}", roundtrip.decoded))
    return panels


def write_figure(crops: list[tuple[str, np.ndarray]], rows: list[Row], path: Path) -> None:
    """The Figure 4 grid: one row per image, panels at 1:1 pixel scale."""
    grid = [figure_panels(crop, rows) for _, crop in crops]
    height, width = crops[0][1].shape[:2]
    dpi = 100
    figure, axes = pyplot().subplots(len(grid), len(grid[0]), squeeze=False, dpi=dpi,
                                   figsize=(len(grid[0]) * (width + 10) / dpi, len(grid) * (height + 40) / dpi))
    for (name, _), panels, axis_row in zip(crops, grid, axes):
        for (title, pixels), axis in zip(panels, axis_row):
            axis.imshow(pixels, interpolation="nearest")
            axis.set_title(f"{name}: {title}" if title == "original" else title, fontsize=7)
            axis.set_axis_off()
    figure.subplots_adjust(left=0, right=1, bottom=0, top=1 - 30 / (len(grid) * (height + 40)), wspace=0.04, hspace=0.2)
    save_figure(figure, path, dpi)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.table1", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--bpp", type=float, default=DEFAULT_BPP, help="target rate of every abc row")
    parser.add_argument("--crop", type=int, default=PPGN_SIZE, help="side of the centre crops")
    add_output_arguments(parser)
    parser.add_argument("--figure", type=Path, help="write the Figure 4 style grid (PNG) here")
    parser.add_argument("--figure-images", nargs="+", help="images for the grid (default: the first)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    images = images_or_none(args.folder, args.limit)
    if images is None:
        return 1
    rows = table_rows(args.bpp)
    crops = [(name, centre_crop(original, args.crop)) for name, original in images]
    chosen = args.figure_images or [images[0][0]]
    missing = set(chosen) - {name for name, _ in images}
    if args.figure and missing:
        print(f"--figure-images not among the images: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    result = {
        "images": f"{image_source(args.folder)} ({len(images)} images)", "crop": args.crop, "bpp": args.bpp,
        "machine": machine(), "date": date.today().isoformat(), "load_start": load_average(),
        "sets": {"full images": measure_set(rows, images, "full images"),
                 f"{args.crop}×{args.crop} crops": measure_set(rows, crops, "crops")},
    }
    publish(result, markdown(result), args.json, args.markdown)
    if args.figure:
        write_figure([(name, crop) for name, crop in crops if name in chosen], rows, args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
