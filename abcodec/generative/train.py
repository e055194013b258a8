"""Train the generator G: python -m abcodec.generative.train --train ../shared/data/bsds500/train ../shared/data/urban100 --val ../shared/data/bsds500/val --out abcodec/weights/generator.pt

G learns a correction of the codec's own diffusion decode: x̂ = fill + G(E(fill)), so that G(h0)
is already an inpainting better than the fill the decoder starts from: a G trained only to
invert E on clean images would give the fill back, and the descent would have nothing better to find. Training pairs are (photo, its decode through the public
codec API at a random rate), made once and cached under ``--cache``, keyed by the data, the
rates and a fingerprint of the codec's output, so a changed codec (a new base layer) makes new
pairs by the same command. Loss: L1 on pixels + L1 on E's features + (1 − SSIM), the
benchmarks' metric. Trains on the --train folders (BSDS500 train and Urban100), validates on
--val (BSDS500 val: PSNR and SSIM of the fill and of G's output on the whole photos), never
touches Kodak. Seeded; logs JSON lines to stderr; stops at --steps or after --minutes, whichever
comes first, and writes fp16 weights plus their SHA-256 and ONNX model (export.py), at every
validation (a checkpoint) and at the end. ``--device cuda`` trains on a GPU, ``--jobs N`` makes
the pairs in N processes, ``--width`` and ``--blocks`` size G (its weights record them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from ..codec import BlockLayer, EncodeOptions, decode, encode
from . import losses
from .export import export_onnx
from .networks import Generator, load_efficientnet

BPP_RANGE = (0.04, 0.8)
"""Rates the training decodes are drawn from, log-uniformly: the codec's working range."""

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")

FINGERPRINT_BPP = 0.2
"""Rate of the probe encode whose bytes and pixels identify the codec in the cache key."""

PAIRS_FORMAT = 2
"""Version of the cache file's layout; part of its key."""


def photos(folder: Path) -> list[tuple[str, np.ndarray]]:
    """(file name, uint8 RGB) of every JPEG or PNG in a folder, in name order."""
    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in PHOTO_SUFFIXES)
    return [(path.name, np.asarray(Image.open(path).convert("RGB"))) for path in paths]


def degrade(photo: np.ndarray, bpp: float, seed: int, base: bool) -> np.ndarray:
    """What the decoder's diffusion path makes of a photo encoded at ``bpp``: G's input.

    ``base`` False trains on the block layout's fills (``abc-encode --no-base``).
    """
    data = encode(photo, options=EncodeOptions(bpp=bpp, blocks=None if base else BlockLayer(seed=seed)))
    return np.asarray(decode(data, inpainter="diffusion"))


def codec_fingerprint(photo: np.ndarray, base: bool) -> str:
    """SHA-256 of a probe file and its decode: changes whenever the codec's fills would."""
    data = encode(photo, options=EncodeOptions(bpp=FINGERPRINT_BPP, blocks=None if base else BlockLayer()))
    return hashlib.sha256(data + np.asarray(decode(data, inpainter="diffusion")).tobytes()).hexdigest()


def degraded_pairs(
    folder: Path, rates: int, seed: int, cache: Path, base: bool, jobs: int = 1
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """(originals, fills, bpp per pair): each photo decoded at ``rates`` random rates.

    Read from ``cache`` when a file with the same key is there, else made (by ``jobs`` processes:
    600 pairs are minutes of encoding on one core) and written there.
    """
    named = photos(folder)
    rng = np.random.default_rng([seed, rates])
    bpps = np.exp(rng.uniform(*np.log(BPP_RANGE), size=(len(named), rates)))
    seeds = rng.integers(0, 2**31, size=(len(named), rates))
    key = json.dumps({"format": PAIRS_FORMAT, "files": [name for name, _ in named], "bpp": bpps.round(6).tolist(),
                      "seeds": seeds.tolist(), "codec": codec_fingerprint(named[0][1], base)})
    path = cache / f"pairs-{folder.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as stored:
            count = len(stored["bpp"])
            return [stored[f"original{i}"] for i in range(count)], [stored[f"fill{i}"] for i in range(count)], stored["bpp"]
    work = [(photo, float(bpp), int(pair_seed), base) for (_, photo), photo_bpps, photo_seeds in zip(named, bpps, seeds)
            for bpp, pair_seed in zip(photo_bpps, photo_seeds)]
    originals = [photo for photo, *_ in work]
    if jobs > 1:  # spawned, not forked: the parent has torch (and maybe CUDA) initialised
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            fills = list(pool.map(degrade, *zip(*work), chunksize=4))
    else:
        fills = [degrade(*item) for item in work]
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {f"original{i}": x for i, x in enumerate(originals)} | {f"fill{i}": x for i, x in enumerate(fills)}
    np.savez(path.with_suffix(".part.npz"), bpp=bpps.ravel(), **arrays)
    path.with_suffix(".part.npz").replace(path)
    return originals, fills, bpps.ravel()


def to_tensor(batch: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) on ``device``, channels-last in memory (faster convs).

    Copied first: arrays from Pillow are read-only, which torch warns about."""
    return torch.from_numpy(np.array(batch)).to(device).permute(0, 3, 1, 2).float().contiguous(
        memory_format=torch.channels_last)


def random_crops(
    originals: list[np.ndarray], fills: list[np.ndarray], batch: int, size: int, rng: np.random.Generator,
    device: str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of aligned (original, fill) crops, each flipped left-right with probability ½."""
    pairs = []
    for index in rng.integers(0, len(originals), batch):
        original, fill = originals[index], fills[index]
        top = rng.integers(0, original.shape[0] - size + 1)
        left = rng.integers(0, original.shape[1] - size + 1)
        window = np.s_[top : top + size, left : left + size]
        step = -1 if rng.integers(0, 2) else 1
        pairs.append((original[window][:, ::step], fill[window][:, ::step]))
    return to_tensor(np.stack([o for o, _ in pairs]), device), to_tensor(np.stack([f for _, f in pairs]), device)


def generate(net, generator: Generator, fill: torch.Tensor) -> torch.Tensor:
    """G(E(fill)) = fill + correction: what the decoder starts its descent from."""
    return generator(net.encode(fill), fill)


def training_loss(
    net, generator: Generator, original: torch.Tensor, fill: torch.Tensor, weights: dict[str, float]
) -> torch.Tensor:
    """L1 on pixels + L1 on E's features (detail E sees) + (1 − SSIM) (the benchmarks' metric)."""
    made = generate(net, generator, fill)
    loss = F.l1_loss(made, original)
    if weights["feature"]:
        with torch.no_grad():
            target = net.encode(original)
        loss = loss + weights["feature"] * F.l1_loss(net.encode(made), target)
    if weights["ssim"]:
        loss = loss + weights["ssim"] * (1 - losses.ssim(made, original))
    return loss


def quality(image: torch.Tensor, original: torch.Tensor) -> tuple[float, float]:
    """PSNR (dB) and SSIM of one image as the decoder would output it (clamped, rounded)."""
    image = image.clamp(0, 255).round()
    mse = F.mse_loss(image, original).item()
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10))), losses.ssim(image, original).item()


def validate(net, generator: Generator, originals: list[np.ndarray], fills: list[np.ndarray],
             device: str = "cpu") -> dict[str, float]:
    """Mean PSNR and SSIM over whole photos of the fill and of G(E(fill)): G must beat the fill."""
    scores = {"fill": [], "generator": []}
    with torch.no_grad():
        for original, fill in zip(originals, fills):
            original, fill = to_tensor(original[None], device), to_tensor(fill[None], device)
            scores["fill"].append(quality(fill, original))
            scores["generator"].append(quality(generate(net, generator, fill), original))
    result = {}
    for name, values in scores.items():
        result[f"val_psnr_{name}"] = round(float(np.mean([p for p, _ in values])), 3)
        result[f"val_ssim_{name}"] = round(float(np.mean([s for _, s in values])), 4)
    return result


def save(generator: Generator, path: Path) -> str:
    """fp16 state dict, its SHA-256 (which every .abc file made for it carries) and the ONNX model
    the default decoder runs (export.export_onnx); returns the SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu().half() for k, v in generator.state_dict().items()}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".sha256").write_text(f"{digest}  {path.name}\n")
    export_onnx(path)
    return digest


def log(**fields) -> None:
    print(json.dumps(fields), file=sys.stderr, flush=True)


Pairs = tuple[list[np.ndarray], list[np.ndarray]]
"""Photos and their decodes (the fills G corrects), aligned by index."""


def argument_parser() -> argparse.ArgumentParser:
    """The command line: the data, the run's length and G's size (module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m abcodec.generative.train", description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, nargs="+", help="folders of training photos (JPEG, PNG)")
    parser.add_argument("--val", type=Path, help="folder of validation photos")
    parser.add_argument("--export", type=Path, metavar="WEIGHTS.pt",
                        help="only write the ONNX model of existing weights beside them, and stop")
    parser.add_argument("--out", type=Path, help="where to write the fp16 weights (and the .sha256 and .onnx beside them)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "abcodec",
                        help="folder for the degraded pairs (made once per codec version)")
    parser.add_argument("--steps", type=int, default=7000, help="length of the learning-rate schedule")
    parser.add_argument("--minutes", type=float, default=45.0, help="stop after this much training time")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--rates", type=int, default=2, help="random rates (decodes) per training photo")
    parser.add_argument("--val-limit", type=int, default=100, help="validation photos used (all: 100)")
    parser.add_argument("--validate-every", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--feature-weight", type=float, default=1.0, help="E-feature L1 weight")
    parser.add_argument("--ssim-weight", type=float, default=64.0, help="(1 - SSIM) weight")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to train (auto: CUDA when torch sees a device)")
    parser.add_argument("--jobs", type=int, default=1, help="processes that make the training pairs")
    parser.add_argument("--width", type=int, default=Generator().head.out_channels, help="G's channels at stride 4")
    parser.add_argument("--blocks", type=int, default=len(Generator().body), help="G's residual blocks")
    parser.add_argument("--no-base", dest="base", action="store_false",
                        help="train on the block layout's diffusion fills instead of base-layer decodes")
    return parser


def training_device(parser: argparse.ArgumentParser, choice: str) -> str:
    """``--device``: auto takes CUDA when torch sees a device; cuda without one is a usage error."""
    device = ("cuda" if torch.cuda.is_available() else "cpu") if choice == "auto" else choice
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    return device


def training_data(args: argparse.Namespace) -> tuple[Pairs, Pairs]:
    """The training pairs of every --train folder (each at its own seeds) and the first --val-limit
    validation pairs, one decode each; made once, then read from the cache."""
    started = time.perf_counter()
    train_x, train_fill, train_bpp = [], [], []
    for index, folder in enumerate(args.train):
        originals, fills, bpps = degraded_pairs(folder, args.rates, args.seed + 2 * index, args.cache, args.base, args.jobs)
        train_x, train_fill, train_bpp = train_x + originals, train_fill + fills, [*train_bpp, *bpps]
    train_bpp = np.array(train_bpp)
    val_x, val_fill, _ = degraded_pairs(args.val, 1, args.seed + 1, args.cache, args.base, args.jobs)
    val_x, val_fill = val_x[: args.val_limit], val_fill[: args.val_limit]
    log(event="data", train=len(train_x), val=len(val_x), mean_bpp=round(float(train_bpp.mean()), 3),
        seconds=round(time.perf_counter() - started, 1))
    return (train_x, train_fill), (val_x, val_fill)


def train_generator(args: argparse.Namespace, device: str, training: Pairs, validation: Pairs) -> None:
    """The training loop: Adam on a one-cycle schedule over random crops, until --steps or
    --minutes; validated and saved every --validate-every steps (a run cut short keeps its last
    checkpoint) and at the end."""
    rng = np.random.default_rng(args.seed)
    net = load_efficientnet().to(device, memory_format=torch.channels_last)
    generator = Generator(args.width, args.blocks).to(device, memory_format=torch.channels_last)
    weights = {"feature": args.feature_weight, "ssim": args.ssim_weight}
    optimiser = torch.optim.Adam(generator.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.steps)
    log(event="start", device=device, parameters=sum(p.numel() for p in generator.parameters()),
        **validate(net, generator, *validation, device))
    started, step = time.perf_counter(), 0
    while step < args.steps and time.perf_counter() - started < 60 * args.minutes:
        original, fill = random_crops(*training, args.batch, args.crop, rng, device)
        loss = training_loss(net, generator, original, fill, weights)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        if step % 100 == 0:
            log(event="step", step=step, loss=round(loss.item(), 3), minutes=round((time.perf_counter() - started) / 60, 1))
        if step % args.validate_every == 0:  # a checkpoint too: a run cut short keeps its last one
            log(event="validate", step=step, sha256=save(generator, args.out), **validate(net, generator, *validation, device))
    digest = save(generator, args.out)
    log(event="done", step=step, minutes=round((time.perf_counter() - started) / 60, 1), sha256=digest,
        **validate(net, generator, *validation, device))


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    if args.export:
        log(event="exported", onnx=str(export_onnx(args.export)))
        return 0
    if not (args.train and args.val and args.out):
        parser.error("--train, --val and --out are needed to train")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = training_device(parser, args.device)
    training, validation = training_data(args)
    train_generator(args, device, training, validation)
    return 0

if __name__ == "__main__":
    sys.exit(main())
