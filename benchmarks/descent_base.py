"""One attempt to make the PPGN descent pay on an AV1 base: a term that ties G's output to the base.

    python -m benchmarks.descent_base [FOLDER] [--limit 8] [--bpp 0.1 0.25] [--steps 10]
        [--base-weight 0 1 10] [--autoencoder 10 0] [--pool 8] [--threads 2] [--json out.json]
        [--markdown out.md]

A base-layer file keeps no pixel exactly, so the descent's only data term (L_A, on kept pixels)
is empty and nothing ties it to what the file says. The AV1 base does say something: its low
frequencies, which a coarse quantizer keeps, are the original's. This adds to L the term

    L_B = mean((P(G(h)) − P(fill))²),   P = the mean over POOL × POOL cells,

with weight ``--base-weight``, and runs the descent from E(fill) as the decoder would, beside the
fill and G alone, on the same files. The term lives here, not in the library: the format would
carry its weight in DSCT only if it paid. SSIM and PSNR on RGB, as benchmarks.rd.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import replace
from datetime import date

import numpy as np
import torch
import torch.nn.functional as F

from abcodec import container
from abcodec.codec import EncodeOptions, decode, encode
from abcodec.generative import assist, descent
from abcodec.generative.settings import Params, conditions_of
from abcodec.reconstruct import fast_decode

from .common import add_image_arguments, add_output_arguments, image_source, load_average, load_images, machine, progress, publish
from .generator import loaded_networks
from .metrics import quality


def with_base_term(weight: float, pool: int):
    """The descent's objective plus weight · L_B (module docstring)."""
    objective = descent._objective

    def tied(net, generator, h, h0, fill, known, params, classes, gram):
        loss = objective(net, generator, h, h0, fill, known, params, classes, gram)
        if not weight:
            return loss
        made = generator(h, fill)
        return loss + weight * F.mse_loss(F.avg_pool2d(made, pool, ceil_mode=True), F.avg_pool2d(fill, pool, ceil_mode=True))

    return tied


def inpaint_tied(fill: np.ndarray, known: np.ndarray, params: Params, networks: tuple, weight: float, pool: int,
                 conditions: np.ndarray | None = None) -> np.ndarray:
    """The descent with L_B added, through the library's own (its tiles, composite, rounding), with
    the file's conditions where G reads them."""
    objective = descent._objective
    descent._objective = with_base_term(weight, pool)
    try:
        return descent.inpaint_with(fill, known, params, assist.Statistics(), networks, conditions)
    finally:
        descent._objective = objective


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.descent_base", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--bpp", type=float, nargs="+", default=[0.1, 0.25])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--base-weight", type=float, nargs="+", default=[0.0, 1.0, 10.0])
    parser.add_argument("--autoencoder", type=float, nargs="+", default=[Params().autoencoder, 0.0])
    parser.add_argument("--pool", type=int, default=8, help="P's cell side in pixels")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = load_images(args.folder, args.limit)
    load = load_average()
    networks = loaded_networks(None)
    settings = [(a, b) for a, b in itertools.product(args.autoencoder, args.base_weight) if a or b]
    rows = []
    for (name, original), bpp in itertools.product(images, args.bpp):
        data = encode(original, options=EncodeOptions(bpp=bpp, effort=0))
        fill, known = fast_decode(container.read_file(data))
        conditions = conditions_of(container.read_file(data)) if networks[1].conditioned else None
        row = {"image": name, "target_bpp": bpp, "bpp": 8 * len(data) / (original.shape[0] * original.shape[1]),
               "fill": quality(original, fill), "G": quality(original, np.asarray(decode(data)))}
        for autoencoder, weight in settings:
            started = time.perf_counter()
            params = replace(Params(), steps=args.steps, autoencoder=autoencoder)
            out = inpaint_tied(fill, known, params, networks, weight, args.pool, conditions)
            row[f"w_E {autoencoder:g}, w_B {weight:g}"] = quality(original, out) | {"seconds": time.perf_counter() - started}
        rows.append(row)
        progress(f"{name} {bpp}: fill {row['fill']['ssim']:.4f} G {row['G']['ssim']:.4f} " + " ".join(
            f"[{label}] {row[label]['ssim']:.4f}" for label in row if label.startswith("w_E")))
    labels = ["fill", "G"] + [f"w_E {a:g}, w_B {b:g}" for a, b in settings]
    lines = [f"{image_source(args.folder)}, {len(images)} images; {machine()}; torch threads {args.threads}; load {load} → "
             f"{load_average()}; {date.today()}; {args.steps} descent steps, P over {args.pool}² cells", "",
             "| bpp | decoder | SSIM | PSNR | images above G (SSIM) |", "|---|---|---|---|---|"]
    for bpp in args.bpp:
        at = [row for row in rows if row["target_bpp"] == bpp]
        for label in labels:
            lines.append(f"| {np.mean([r['bpp'] for r in at]):.3f} | {label} | {np.mean([r[label]['ssim'] for r in at]):.4f} | "
                         f"{np.mean([r[label]['psnr'] for r in at]):.2f} | "
                         f"{sum(r[label]['ssim'] > r['G']['ssim'] for r in at)}/{len(at)} |")
    publish({"rows": rows}, "\n".join(lines) + "\n", args.json, args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
