"""Does the generative decoder pay? The diffusion fill vs G(E(fill)) vs the PPGN descent, same files.

    python -m benchmarks.generator [FOLDER] [--bpp 0.15 0.3] [--limit N] [--steps 0 10]
        [--assist class,style] [--step-size 0.02] [--autoencoder 10] [--classification 0] [--edge 0]
        [--style 0] [--content 0] [--noise 0] [--weights G.pt [G2.pt ...]] [--threads 1] [--ensemble 2 4]
        [--json out.json] [--markdown out.md]

Each image is encoded once per rate with the default encoder (``--assist``: with the class
code and/or Gram statistics in the file, their bytes counted in its rate); the file is decoded
by the fast path (the initialiser) and then refined by ``abcodec.generative.descent`` from that same
fill, the file's mask and the statistics the file carries, once per step count: 0 steps is
G(E(fill)) with the composite alone. ``--weights`` names the generators to run (default: the one the
encoder names), each on the same files: several are reported side by side, labelled by file name,
and a conditioned one is given the conditions its file holds (settings.conditions_of), as the
decoder gives them. SSIM and PSNR on RGB, as in benchmarks.rd.
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
from abcodec.generative.settings import FLOAT_FIELDS, Params, conditions_of, newest_generator
from abcodec.reconstruct import fast_decode

from .common import (
    DESCENT_STEPS, add_image_arguments, add_output_arguments, image_source, load_average, load_images, machine,
    progress, publish,
)
from .metrics import quality


MIRRORS = (np.s_[:, :], np.s_[:, ::-1], np.s_[::-1, :], np.s_[::-1, ::-1])
"""The views a self-ensemble runs G on: the fill, mirrored left-right, upside down, both."""


def self_ensemble(fill: np.ndarray, known: np.ndarray, views: int, conditions: np.ndarray | None = None) -> np.ndarray:
    """G (the encoder's, on ONNX Runtime, with the file's ``conditions`` if it reads them) on the first
    ``views`` MIRRORS of the fill, each mirrored back, averaged: the test-time ensemble
    super-resolution papers use, at ``views`` times G's cost. Each view's output is rounded before
    the mean (within half a grey level of averaging floats)."""
    outputs = [onnx_generator.generate(fill[view], known[view], conditions=conditions)[view].astype(np.float32)
               for view in MIRRORS[:views]]
    return np.clip(np.rint(np.mean(outputs, axis=0)), 0, 255).astype(np.uint8)


def evaluate(
    original: np.ndarray, bpp: float, steps: list[int], base: Params, generators: dict[str, tuple], base_layer: bool,
    statistics: tuple[str, ...], ensembles: list[int] = (),
) -> dict:
    """One image at one rate: quality and time of the fill and of each refinement by each generator
    (label prefix -> networks)."""
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
    for prefix, networks in generators.items():
        conditions = conditions_of(abc) if networks[1].conditioned else None
        for count in steps:
            params = replace(base, steps=count)
            started = time.perf_counter()
            out = descent.inpaint_with(fill, known, params, stats, networks, conditions)
            row[f"{prefix}ppgn{count}"] = quality(original, out) | {"decode_s": time.perf_counter() - started}
    for views in ensembles:
        started = time.perf_counter()
        out = self_ensemble(fill, known, views, conditions_of(abc) if newest_generator().conditioned else None)
        row[f"G x{views}"] = quality(original, out) | {"decode_s": time.perf_counter() - started}
    return row


def loaded_networks(weights: Path | None) -> tuple:
    """E/C and G (the weights the encoder names, or another file's) on the CPU, and a first call on a
    tiny image, so that decode times are per image."""
    loaded = descent.networks_on(load_efficientnet(), load_generator(weights), "cpu")
    known = np.zeros((16, 16), bool)
    known[:8] = True
    conditions = np.zeros(2, np.float32) if loaded[1].conditioned else None
    descent.inpaint_with(np.zeros((16, 16, 3), np.uint8), known, Params(steps=1), assist.Statistics(), loaded, conditions)
    return loaded


def table(rows: list[dict], labels: list[str], bpps: list[float]) -> str:
    """Mean per rate: bytes, then SSIM (and its gain over the fill), PSNR and decode time of each decoder."""
    lines = ["| bpp | decoder | SSIM | SSIM − fill | PSNR | decode s (median) | images better than fill (SSIM) |",
             "|---|---|---|---|---|---|---|"]
    for bpp in bpps:
        at = [row for row in rows if row["target_bpp"] == bpp]
        for label in labels:
            ssims = [row[label]["ssim"] for row in at]
            gain = np.mean(ssims) - np.mean([row["fill"]["ssim"] for row in at])
            better = sum(row[label]["ssim"] > row["fill"]["ssim"] for row in at)
            lines.append(f"| {np.mean([row['bpp'] for row in at]):.3f} | {label} | {np.mean(ssims):.4f} | {gain:+.4f} | "
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
    parser.add_argument("--weights", type=Path, nargs="+", metavar="G.pt",
                        help="generator files to run instead of the one the encoder names (several: side by side)")
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
    weights = args.weights or [None]
    generators = {"" if len(weights) == 1 else f"{path.stem} ": loaded_networks(path) for path in weights}
    progress(f"networks loaded and first call made in {time.perf_counter() - started:.1f} s (not in the decode times)")
    labels = [f"{prefix}ppgn{count}" for prefix in generators for count in args.steps]
    rows = []
    for name, original in images:
        for bpp in args.bpp:
            rows.append({"image": name, "target_bpp": bpp} | evaluate(original, bpp, args.steps, base, generators,
                                                                   args.base_layer,
                                                                   tuple(filter(None, args.assist.split(","))),
                                                                   args.ensemble))
            progress(f"{name} {bpp}: fill {rows[-1]['fill']['ssim']:.4f} " + " ".join(
                f"{label} {rows[-1][label]['ssim']:.4f}" for label in labels))
    labels = ["fill", *labels] + [f"G x{views}" for views in args.ensemble]
    text = (f"{image_source(args.folder)}, {len(images)} images; {machine()}; torch threads {args.threads}; "
            f"load {load} → {load_average()}; {date.today()}; params {base}; "
            f"assist {args.assist or 'none'} (mean {np.mean([row['stats_bytes'] for row in rows]):.0f} bytes a file)\n\n"
            + table(rows, labels, args.bpp))
    publish({"rows": rows, "params": base.__dict__}, text, args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
