"""Train the generator G: python -m abcodec.train --data ../shared/data/bsds500 --out abcodec/weights/generator.pt

G learns to turn h = E(diffusion fill of a masked photo) back into the photo, with masks from
our own encoder at random rates, so that G(h0) is already an inpainting better than the fill the
decoder starts from (ARCHITECTURE.md, "Making the generative decoder earn its keep"). Loss:
L1 on pixels + L1 on E's features. Trains on bsds500/train, validates on bsds500/val, never
touches Kodak. Seeded; logs JSON lines to stderr; stops at --steps or --minutes, whichever
comes first, and writes fp16 weights plus their SHA-256.
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

from .codec import EncodeOptions, decode, encode_array
from .nets import Generator, load_efficientnet

KEEP_RANGE = (0.05, 0.5)
"""Keep fractions the training masks are drawn from: the codec's working range of rates."""

FEATURE_WEIGHT = 0.5
"""Weight of the E-feature L1 against the pixel L1 (both on 0..255-scaled values)."""


def photos(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))]


def degraded_pairs(images: list[np.ndarray], crops: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(original, diffusion decode) crop pairs: the decoder's own canvas at random rates."""
    originals, fills = [], []
    for image in images:
        for _ in range(crops):
            top = rng.integers(0, image.shape[0] - size + 1)
            left = rng.integers(0, image.shape[1] - size + 1)
            crop = np.ascontiguousarray(image[top : top + size, left : left + size])
            keep = float(rng.uniform(*KEEP_RANGE))
            options = EncodeOptions(keep=keep, seed=int(rng.integers(0, 2**31)))
            originals.append(crop)
            fills.append(np.asarray(decode(encode_array(crop, options, {}))))
    return np.stack(originals), np.stack(fills)


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float()


def generate(net, generator: Generator, fill: torch.Tensor) -> torch.Tensor:
    """G(E(fill)) cropped to the input size (E rounds odd sizes up)."""
    out = generator(net.encode(fill))
    return out[..., : fill.shape[2], : fill.shape[3]]


def loss_of(net, generator: Generator, original: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    made = generate(net, generator, fill)
    pixel = F.l1_loss(made, original)
    feature = F.l1_loss(net.encode(made), net.encode(original))
    return pixel + FEATURE_WEIGHT * 128.0 * feature


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = F.mse_loss(a.clamp(0, 255).round(), b).item()
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def validate(net, generator: Generator, originals: np.ndarray, fills: np.ndarray) -> dict[str, float]:
    """PSNR of G(E(fill)) and of the fill itself against the originals: G must beat the fill."""
    with torch.no_grad():
        original, fill = to_tensor(originals), to_tensor(fills)
        made = torch.cat([generate(net, generator, fill[i : i + 8]) for i in range(0, len(fill), 8)])
    return {"val_psnr_generator": psnr(made, original), "val_psnr_fill": psnr(fill, original)}


def save(generator: Generator, path: Path) -> str:
    """fp16 state dict; returns the SHA-256 of the file, which every .abc file made for it carries."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() for k, v in generator.state_dict().items()}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".sha256").write_text(f"{digest}  {path.name}\n")
    return digest


def log(**fields) -> None:
    print(json.dumps(fields), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abcodec.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with train/ and val/ of JPEG photos")
    parser.add_argument("--out", type=Path, required=True, help="where to write the fp16 weights")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--minutes", type=float, default=60.0, help="stop after this much training time")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--crops-per-image", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    train_x, train_fill = degraded_pairs(photos(args.data / "train"), args.crops_per_image, args.crop, rng)
    val_x, val_fill = degraded_pairs(photos(args.data / "val"), 1, args.crop, rng)
    log(event="data", train=len(train_x), val=len(val_x), seconds=round(time.perf_counter() - started, 1))
    net, generator = load_efficientnet(), Generator()
    optimiser = torch.optim.Adam(generator.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.steps)
    log(event="start", **validate(net, generator, val_x, val_fill))
    started, step = time.perf_counter(), 0
    while step < args.steps and time.perf_counter() - started < 60 * args.minutes:
        index = rng.integers(0, len(train_x), args.batch)
        flip = bool(rng.integers(0, 2))
        original, fill = to_tensor(train_x[index]), to_tensor(train_fill[index])
        if flip:
            original, fill = original.flip(3), fill.flip(3)
        loss = loss_of(net, generator, original, fill)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        if step % 100 == 0:
            log(event="step", step=step, loss=round(loss.item(), 3), minutes=round((time.perf_counter() - started) / 60, 1))
        if step % 500 == 0:
            log(event="validate", step=step, **validate(net, generator, val_x, val_fill))
    digest = save(generator, args.out)
    log(event="done", step=step, minutes=round((time.perf_counter() - started) / 60, 1), sha256=digest,
        **validate(net, generator, val_x, val_fill))
    return 0


if __name__ == "__main__":
    sys.exit(main())
