"""Does the generative decoder pay? The diffusion fill vs G(E(fill)) vs the PPGN descent, same files.

    python -m benchmarks.generator [FOLDER] [--bpp 0.15 0.3] [--limit N] [--steps 0 10]
        [--assist class,style] [--step-size 0.02] [--autoencoder 10] [--classification 0] [--edge 0]
        [--style 0] [--content 0] [--noise 0] [--weights G.pt] [--threads 1] [--ensemble 2 4]
        [--json out.json] [--markdown out.md]

Each image is encoded once per rate with the default encoder (``--assist``: with the class
code and/or Gram statistics in the file, their bytes counted in its rate); the file is decoded
by the fast path (the initialiser) and then refined by ``abcodec.generative.descent`` from that same
fill, the file's mask and the statistics the file carries, once per step count: 0 steps is
G(E(fill)) with the composite alone. SSIM and PSNR on RGB, as in benchmarks.rd.
Times are wall-clock on the CPU with ``--threads`` torch threads, after loading the networks
(a fresh process pays that once).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import torch

from abcodec import container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.generative import assist, descent, onnx_generator
from abcodec.generative.networks import load_efficientnet, load_generator
from abcodec.generative.settings import FLOAT_FIELDS, Params
from abcodec.reconstruct import fast_decode

from .common import (
    DESCENT_STEPS, add_image_arguments, add_output_arguments, image_source, load_average, load_images, machine,
    progress, publish,
)
from .metrics import quality


MIRRORS = (np.s_[:, :], np.s_[:, ::-1], np.s_[::-1, :], np.s_[::-1, ::-1])
"""The views a self-ensemble runs G on: the fill, mirrored left-right, upside down, both."""


def self_ensemble(fill: np.ndarray, known: np.ndarray, views: int) -> np.ndarray:
    """G (on ONNX Runtime) on the first ``views`` MIRRORS of the fill, each mirrored back, averaged:
    the test-time ensemble super-resolution papers use, at ``views`` times G's cost. Each view's
    output is rounded before the mean (within half a grey level of averaging floats)."""
    outputs = [onnx_generator.generate(fill[view], known[view])[view].astype(np.float32) for view in MIRRORS[:views]]
    return np.clip(np.rint(np.mean(outputs, axis=0)), 0, 255).astype(np.uint8)


def evaluate(
    original: np.ndarray, bpp: float, steps: list[int], base: Params, networks: tuple, base_layer: bool,
    statistics: tuple[str, ...], ensembles: list[int] = (),
) -> dict:
    """One image at one rate: quality and time of the fill and of each refinement."""
    options = EncodeOptions(bpp=bpp, blocks=None if base_layer else BlockLayer(), steps=DESCENT_STEPS if statistics else 0,
                            assist=statistics)
    data = encode(original, options=options)
    started = time.perf_counter()
    fill = np.asarray(decode(data, inpainter="diffusion"))
    row = {"bytes": len(data), "bpp": 8 * len(data) / (original.shape[0] * original.shape[1]),
           "fill": quality(original, fill) | {"decode_s": time.perf_counter() - started}}
    abc = container.read_file(data)
    known = fast_decode(abc)[1]
    stats = assist.statistics_from_chunks(abc.ancillary)
    row["stats_bytes"] = sum(len(abc.ancillary.get(chunk, b"")) for chunk in assist.KINDS.values())
    for count in steps:
        params = replace(base, steps=count)
        started = time.perf_counter()
        out = descent.inpaint_with(fill, known, params, stats, networks)
        row[f"ppgn{count}"] = quality(original, out) | {"decode_s": time.perf_counter() - started}
    for views in ensembles:
        started = time.perf_counter()
        out = self_ensemble(fill, known, views)
        row[f"G x{views}"] = quality(original, out) | {"decode_s": time.perf_counter() - started}
    return row


def loaded_networks(weights: Path | None) -> tuple:
    """E/C and G (the packaged weights, or another file's) on the CPU, and a first call on a tiny
    image, so that decode times are per image."""
    loaded = descent.networks_on(load_efficientnet(), load_generator(weights), "cpu")
    known = np.zeros((16, 16), bool)
    known[:8] = True
    descent.inpaint_with(np.zeros((16, 16, 3), np.uint8), known, Params(steps=1), assist.Statistics(), loaded)
    return loaded


def table(rows: list[dict], labels: list[str], bpps: list[float]) -> str:
    """Mean per rate: bytes, then SSIM, PSNR and decode time of each decoder."""
    lines = ["| bpp | decoder | SSIM | PSNR | decode s (median) | images better than fill (SSIM) |", "|---|---|---|---|---|---|"]
    for bpp in bpps:
        at = [row for row in rows if row["target_bpp"] == bpp]
        for label in labels:
            ssims = [row[label]["ssim"] for row in at]
            better = sum(row[label]["ssim"] > row["fill"]["ssim"] for row in at)
            lines.append(f"| {np.mean([row['bpp'] for row in at]):.3f} | {label} | {np.mean(ssims):.4f} | "
                         f"{np.mean([row[label]['psnr'] for row in at]):.2f} | "
                         f"{np.median([row[label]['decode_s'] for row in at]):.2f} | {better}/{len(at)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generator", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--bpp", type=float, nargs="+", default=[0.15, 0.3])
    parser.add_argument("--steps", type=int, nargs="+", default=[0, DESCENT_STEPS])
    defaults = Params()
    for name in FLOAT_FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    parser.add_argument("--assist", default="", metavar="class,style",
                        help="store these statistics in the files (bytes counted) and feed them to the descent")
    parser.add_argument("--weights", type=Path, help="a generator file other than the packaged one")
    parser.add_argument("--no-base", dest="base_layer", action="store_false",
                        help="encode with the block layout (no base layer), as G's packaged weights were trained")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--ensemble", type=int, nargs="*", default=[], choices=range(2, len(MIRRORS) + 1),
                        metavar="VIEWS", help="also G averaged over this many mirrored views (2: left-right; 4: all)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = Params(**{name: getattr(args, name) for name in FLOAT_FIELDS})
    images = load_images(args.folder, args.limit)
    load = load_average()
    started = time.perf_counter()
    loaded = loaded_networks(args.weights)
    progress(f"networks loaded and first call made in {time.perf_counter() - started:.1f} s (not in the decode times)")
    rows = []
    for name, original in images:
        for bpp in args.bpp:
            rows.append({"image": name, "target_bpp": bpp} | evaluate(original, bpp, args.steps, base, loaded, args.base_layer,
                                                                   tuple(filter(None, args.assist.split(","))),
                                                                   args.ensemble))
            progress(f"{name} {bpp}: fill {rows[-1]['fill']['ssim']:.4f} " + " ".join(
                f"{count} steps {rows[-1][f'ppgn{count}']['ssim']:.4f}" for count in args.steps))
    labels = ["fill"] + [f"ppgn{count}" for count in args.steps] + [f"G x{views}" for views in args.ensemble]
    text = (f"{image_source(args.folder)}, {len(images)} images; {machine()}; torch threads {args.threads}; "
            f"load {load} → {load_average()}; {date.today()}; params {base}; "
            f"assist {args.assist or 'none'} (mean {np.mean([row['stats_bytes'] for row in rows]):.0f} bytes a file)\n\n"
            + table(rows, labels, args.bpp))
    publish({"rows": rows, "params": base.__dict__}, text, args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
