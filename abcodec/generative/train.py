"""Train the generator G: python -m abcodec.generative.train --train ../shared/data/bsds500/train ../shared/data/urban100 --fixations ../shared/data/fixations --val ../shared/data/bsds500/val --out abcodec/weights/generatorN.pt
(each shipped G's own command, its --init, --steps and --lr among them: benchmarks/RESULTS.md, "G told what the file says")

G learns a correction of the codec's own fast decode: x̂ = fill + G(E(fill)), so that G(h0)
is already better than the fill the decoder starts from: a G trained only to invert E on clean
images would give the fill back, and the descent would have nothing better to find. Training
pairs are (photo, its decode through the public codec API at a random rate, the conditions the
file tells a conditioned G: the AV1 quantizer and the frame's scale, parsed from the encoded file
as the decoder parses them), made once and cached under ``--cache``, keyed by the data, the rates
and a fingerprint of the codec's output, so a changed codec (a new base layer) makes new pairs by
the same command. Loss: L1 on pixels + L1 on E's features + (1 − SSIM), the benchmarks' metric.
Trains on the --train folders (BSDS500 train and Urban100) and the training split of the fixation
photos (--fixations; abcodec.train_saliency.split holds the rest out, as benchmarks.roi
--fixations measures on them), validates on --val (BSDS500 val: PSNR and SSIM of the fill and of
G's output on the whole photos, and G's SSIM gain by rate), never touches Kodak.

Seeded; logs JSON lines to stderr; stops at --steps, --stop-at or after --minutes, whichever comes
first. At every validation and at the end it writes fp16 weights plus their SHA-256 and ONNX model
(export.py), and a checkpoint (--checkpoint: the weights in float32, the optimiser, the schedule,
the step, the random states and the run's settings), from which ``--resume CHECKPOINT`` continues
the run exactly as if it had not stopped, so a run can span several sessions. ``--init`` starts
from existing weights (a blind G's make a conditioned G that starts as that G), ``--blind`` trains a
G without conditions (the package's first), ``--device cuda`` trains on a GPU, ``--jobs N`` makes
the pairs in N processes, ``--width`` and ``--blocks`` size G (its weights record them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from .. import container
from ..codec import BlockLayer, EncodeOptions, decode, encode
from . import losses
from .export import export_onnx
from .networks import Generator, generator_for, load_efficientnet
from .settings import conditions_of

BPP_RANGE = (0.04, 0.8)
"""Rates the training decodes are drawn from, log-uniformly: the codec's working range."""

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")

MAX_PHOTO_SIDE = 1024
"""Photos with a longer side are shrunk to it (Lanczos) before encoding: a few 8 MP fixation photos
would otherwise cost as much encoding and memory as the rest of the set, for crops of 128 pixels.
BSDS500 (481 pixels) and Urban100 (1024) are used as they are."""

FINGERPRINT_BPP = 0.2
"""Rate of the probe encode whose bytes and pixels identify the codec in the cache key."""

PAIRS_FORMAT = 3
"""Version of the cache file's layout; part of its key. 3: each original stored once, and each
pair's conditions (base_q_idx, scale) beside its fill."""

CHECKPOINT_FORMAT = 1
"""Version of the checkpoint's layout; --resume refuses any other."""

RUN_SETTINGS = ("train", "fixations", "val", "val_limit", "rates", "seed", "base", "out", "steps", "batch", "crop",
                "lr", "feature_weight", "ssim_weight", "width", "blocks", "blind", "init", "validate_every")
"""The arguments that define a run (its data, model, loss and schedule): a checkpoint records them
and --resume takes them from it, whatever the command line says. The others (--minutes, --stop-at,
--threads, --jobs, --cache, --device, --checkpoint) belong to each session."""

PATH_SETTINGS = ("train", "fixations", "val", "out", "init")

RATE_BANDS = ((0.0, 0.15), (0.15, 0.4), (0.4, float("inf")))
"""Target rates (bpp) by which validation reports G's SSIM gain over the fill: a blind G gained
nothing above 0.2 bpp, which is what the conditions are for."""


@dataclass
class Pairs:
    """Photos, their decodes (the fills G corrects) and what each decode's file tells G.

    ``photo[i]`` is the index in ``originals`` of pair i's photo, ``bpp[i]`` its target rate and
    ``conditions[i]`` (base_q_idx, scale) as settings.conditions_of reads them from its file."""

    originals: list[np.ndarray]
    fills: list[np.ndarray]
    photo: np.ndarray
    bpp: np.ndarray
    conditions: np.ndarray

    def __add__(self, other: Pairs) -> Pairs:
        return Pairs(self.originals + other.originals, self.fills + other.fills,
                     np.concatenate([self.photo, other.photo + len(self.originals)]),
                     np.concatenate([self.bpp, other.bpp]), np.concatenate([self.conditions, other.conditions]))

    def first(self, count: int) -> Pairs:
        """The first ``count`` pairs (and every photo, which validation pairs hold one each of)."""
        return Pairs(self.originals, self.fills[:count], self.photo[:count], self.bpp[:count], self.conditions[:count])


NO_PAIRS = Pairs([], [], np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 2), np.float32))


def photos(folder: Path) -> list[tuple[str, np.ndarray]]:
    """(file name, uint8 RGB) of every JPEG or PNG in a folder, in name order."""
    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in PHOTO_SUFFIXES)
    return [(path.name, at_most(np.asarray(Image.open(path).convert("RGB")))) for path in paths]


def fixation_training_photos(folder: Path) -> list[tuple[str, np.ndarray]]:
    """The training split of the fixation photos (abcodec.train_saliency.split), in its order; the
    held-out ones stay unseen."""
    from ..train_saliency import load_fixations, read_photo, split

    training, _ = split(load_fixations(folder))
    return [(photo.name, at_most(read_photo(folder, photo))) for photo in training]


def at_most(photo: np.ndarray) -> np.ndarray:
    """The photo shrunk to MAX_PHOTO_SIDE on its longer side, or as it is."""
    height, width = photo.shape[:2]
    if max(height, width) <= MAX_PHOTO_SIDE:
        return photo
    scale = MAX_PHOTO_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.LANCZOS))


def degrade(photo: np.ndarray, bpp: float, seed: int, base: bool) -> tuple[np.ndarray, np.ndarray]:
    """What the decoder's fast path makes of a photo encoded at ``bpp`` (G's input), and the
    conditions its file gives a conditioned G.

    ``base`` False trains on the block layout's fills (``abc-encode --no-base``).
    """
    data = encode(photo, options=EncodeOptions(bpp=bpp, blocks=None if base else BlockLayer(seed=seed)))
    return np.asarray(decode(data, inpainter="diffusion")), conditions_of(container.read_file(data))


def codec_fingerprint(photo: np.ndarray, base: bool) -> str:
    """SHA-256 of a probe file and its decode: changes whenever the codec's fills would.

    The probe names the fast decode, so a new generator (which the encoder's choice of decoder
    and the file's generator hash follow) does not make new pairs: the fills do not change."""
    data = encode(photo, options=EncodeOptions(bpp=FINGERPRINT_BPP, inpainter="diffusion",
                                               blocks=None if base else BlockLayer()))
    return hashlib.sha256(data + np.asarray(decode(data, inpainter="diffusion")).tobytes()).hexdigest()


def degraded_pairs(named: list[tuple[str, np.ndarray]], label: str, rates: int, seed: int, cache: Path, base: bool,
                   jobs: int = 1) -> Pairs:
    """Each photo decoded at ``rates`` random rates.

    Read from ``cache`` when a file with the same key is there, else made (by ``jobs`` processes:
    1000 pairs are minutes of encoding on one core) and written there.
    """
    rng = np.random.default_rng([seed, rates])
    bpps = np.exp(rng.uniform(*np.log(BPP_RANGE), size=(len(named), rates)))
    seeds = rng.integers(0, 2**31, size=(len(named), rates))
    key = json.dumps({"format": PAIRS_FORMAT, "files": [name for name, _ in named], "bpp": bpps.round(6).tolist(),
                      "seeds": seeds.tolist(), "codec": codec_fingerprint(named[0][1], base),
                      "max_side": MAX_PHOTO_SIDE})
    path = cache / f"pairs-{label}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as stored:
            return Pairs([stored[f"original{i}"] for i in range(len(named))],
                         [stored[f"fill{i}"] for i in range(len(stored["bpp"]))],
                         stored["photo"], stored["bpp"], stored["conditions"])
    work = [(named[index][1], float(bpp), int(pair_seed), base)
            for index in range(len(named)) for bpp, pair_seed in zip(bpps[index], seeds[index])]
    if jobs > 1:  # spawned, not forked: the parent has torch (and maybe CUDA) initialised
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            made = list(pool.map(degrade, *zip(*work), chunksize=4))
    else:
        made = [degrade(*item) for item in work]
    pairs = Pairs([photo for _, photo in named], [fill for fill, _ in made], np.repeat(np.arange(len(named)), rates),
                  bpps.ravel(), np.array([conditions for _, conditions in made], np.float32))
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {f"original{i}": x for i, x in enumerate(pairs.originals)} | {f"fill{i}": x for i, x in enumerate(pairs.fills)}
    np.savez(path.with_suffix(".part.npz"), photo=pairs.photo, bpp=pairs.bpp, conditions=pairs.conditions, **arrays)
    path.with_suffix(".part.npz").replace(path)
    return pairs


def to_tensor(batch: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) on ``device``, channels-last in memory (faster convs).

    Copied first: arrays from Pillow are read-only, which torch warns about."""
    return torch.from_numpy(np.array(batch)).to(device).permute(0, 3, 1, 2).float().contiguous(
        memory_format=torch.channels_last)


def random_crops(pairs: Pairs, batch: int, size: int, rng: np.random.Generator,
                 device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of aligned (original, fill) crops, each flipped left-right with probability ½, and
    the conditions of each crop's file (N, 2)."""
    crops, conditions = [], []
    for index in rng.integers(0, len(pairs.fills), batch):
        original, fill = pairs.originals[pairs.photo[index]], pairs.fills[index]
        top = rng.integers(0, original.shape[0] - size + 1)
        left = rng.integers(0, original.shape[1] - size + 1)
        window = np.s_[top : top + size, left : left + size]
        step = -1 if rng.integers(0, 2) else 1
        crops.append((original[window][:, ::step], fill[window][:, ::step]))
        conditions.append(pairs.conditions[index])
    return (to_tensor(np.stack([o for o, _ in crops]), device), to_tensor(np.stack([f for _, f in crops]), device),
            torch.from_numpy(np.stack(conditions)).to(device))


def generate(net, generator: Generator, fill: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
    """G(E(fill)) = fill + correction: what the decoder starts its descent from; a blind G is not
    given the conditions."""
    return generator(net.encode(fill), fill, conditions if generator.conditioned else None)


def training_loss(net, generator: Generator, original: torch.Tensor, fill: torch.Tensor, conditions: torch.Tensor,
                  weights: dict[str, float]) -> torch.Tensor:
    """L1 on pixels + L1 on E's features (detail E sees) + (1 − SSIM) (the benchmarks' metric)."""
    made = generate(net, generator, fill, conditions)
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


def validate(net, generator: Generator, pairs: Pairs, device: str = "cpu") -> dict[str, float]:
    """Mean PSNR and SSIM over whole photos of the fill and of G(E(fill)), and G's mean SSIM gain in
    each of RATE_BANDS: G must beat the fill, at every rate."""
    scores = {"fill": [], "generator": []}
    with torch.no_grad():
        for index, fill in enumerate(pairs.fills):
            original = to_tensor(pairs.originals[pairs.photo[index]][None], device)
            fill = to_tensor(fill[None], device)
            conditions = torch.from_numpy(pairs.conditions[index : index + 1]).to(device)
            scores["fill"].append(quality(fill, original))
            scores["generator"].append(quality(generate(net, generator, fill, conditions), original))
    result = {}
    for name, values in scores.items():
        result[f"val_psnr_{name}"] = round(float(np.mean([p for p, _ in values])), 3)
        result[f"val_ssim_{name}"] = round(float(np.mean([s for _, s in values])), 4)
    gains = np.array([g[1] - f[1] for f, g in zip(scores["fill"], scores["generator"])])
    for low, high in RATE_BANDS:
        inside = (pairs.bpp >= low) & (pairs.bpp < high)
        result[f"val_gain_{low:g}-{high:g}bpp"] = round(float(gains[inside].mean()), 5) if inside.any() else None
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


def argument_parser() -> argparse.ArgumentParser:
    """The command line: the data, the run's length and G's size (module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m abcodec.generative.train", description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, nargs="+", help="folders of training photos (JPEG, PNG)")
    parser.add_argument("--fixations", type=Path,
                        help="the fixation set (fixations.json and images/): its training split is trained on too")
    parser.add_argument("--val", type=Path, help="folder of validation photos")
    parser.add_argument("--export", type=Path, metavar="WEIGHTS.pt",
                        help="only write the ONNX model of existing weights beside them, and stop")
    parser.add_argument("--out", type=Path, help="where to write the fp16 weights (and the .sha256 and .onnx beside them)")
    parser.add_argument("--checkpoint", type=Path, metavar="CHECKPOINT",
                        help="where to write the checkpoint --resume continues from (default: the --resume checkpoint, "
                             "else --out with suffix .ckpt)")
    parser.add_argument("--resume", type=Path, metavar="CHECKPOINT",
                        help="continue the run this checkpoint was written by, with its settings")
    parser.add_argument("--init", type=Path, metavar="WEIGHTS.pt",
                        help="start from these weights (of the same width and depth) instead of an untrained G")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "abcodec",
                        help="folder for the degraded pairs (made once per codec version)")
    parser.add_argument("--steps", type=int, default=7000, help="length of the learning-rate schedule")
    parser.add_argument("--stop-at", type=int, metavar="STEP",
                        help="stop at this step (with a checkpoint), to continue with --resume")
    parser.add_argument("--minutes", type=float, default=45.0, help="stop after this much training time in this session")
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
    parser.add_argument("--blind", action="store_true",
                        help="train a G that reads no conditions (the quantizer and scale), as the package's first")
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
    """The training pairs of every --train folder and of --fixations' training split (each at its
    own seeds) and the first --val-limit validation pairs, one decode each; made once, then read
    from the cache."""
    started = time.perf_counter()
    sources = [(photos(folder), folder.name) for folder in args.train]
    if args.fixations:
        sources.append((fixation_training_photos(args.fixations), f"{args.fixations.name}-train"))
    training = NO_PAIRS
    for index, (named, label) in enumerate(sources):
        training = training + degraded_pairs(named, label, args.rates, args.seed + 2 * index, args.cache, args.base,
                                             args.jobs)
    validation = degraded_pairs(photos(args.val), args.val.name, 1, args.seed + 1, args.cache, args.base,
                                args.jobs).first(args.val_limit)
    log(event="data", train=len(training.fills), photos=len(training.originals), val=len(validation.fills),
        mean_bpp=round(float(training.bpp.mean()), 3), seconds=round(time.perf_counter() - started, 1))
    return training, validation


def run_settings(args: argparse.Namespace) -> str:
    """RUN_SETTINGS of ``args`` as JSON (paths as strings), as a checkpoint records them."""
    def plain(value):
        if isinstance(value, list):
            return [plain(item) for item in value]
        return str(value) if isinstance(value, Path) else value

    return json.dumps({name: plain(getattr(args, name)) for name in RUN_SETTINGS})


def resumed(args: argparse.Namespace, checkpoint: dict) -> argparse.Namespace:
    """``args`` with the run's settings the checkpoint records in place of the command line's."""
    for name, value in json.loads(checkpoint["settings"]).items():
        if name in PATH_SETTINGS and value is not None:
            value = [Path(item) for item in value] if isinstance(value, list) else Path(value)
        setattr(args, name, value)
    return args


def read_checkpoint(parser: argparse.ArgumentParser, path: Path) -> dict:
    """A checkpoint written by this module, loaded without running any code it might hold."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        parser.error(f"--resume {path}: not a readable checkpoint ({e})")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        parser.error(f"--resume {path}: not a checkpoint of format {CHECKPOINT_FORMAT}")
    return checkpoint


def write_checkpoint(path: Path, args: argparse.Namespace, step: int, minutes: float, generator: Generator,
                     optimiser: torch.optim.Optimizer, schedule, rng: np.random.Generator) -> None:
    """Everything --resume needs to continue exactly: the float32 weights, Adam's moments, the
    schedule, the step, the random states and the run's settings; written whole, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": CHECKPOINT_FORMAT, "settings": run_settings(args), "step": step, "minutes": minutes,
             "model": generator.state_dict(), "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(),
             "numpy_rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state()}
    partial = path.with_name(path.name + ".part")
    torch.save(state, partial)
    partial.replace(path)


def initial_generator(args: argparse.Namespace, device: str) -> Generator:
    """An untrained G of --width and --blocks, conditioned unless --blind, or one started from
    --init's weights (a conditioned G from a blind one's gets them all but its modulation, which
    starts as the identity)."""
    generator = Generator(args.width, args.blocks, conditioned=not args.blind)
    if args.init:
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        generator.load_state_dict({name: value.float() for name, value in state.items()},
                                  strict=generator_for(state).conditioned)
    return generator.to(device, memory_format=torch.channels_last)


def check_init(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--init must name weights G's shape can take: the same width and depth, and no conditions for --blind."""
    try:
        made = generator_for(torch.load(args.init, map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, EOFError, KeyError, pickle.UnpicklingError) as e:
        parser.error(f"--init {args.init}: not readable generator weights ({e})")
    if (made.head.out_channels, len(made.body)) != (args.width, args.blocks) or made.conditioned and args.blind:
        parser.error(f"--init {args.init}: weights of width {made.head.out_channels}, {len(made.body)} blocks"
                     f"{', conditioned' if made.conditioned else ''}; this run trains width {args.width}, "
                     f"{args.blocks} blocks{', blind' if args.blind else ''}")


def train_generator(args: argparse.Namespace, device: str, training: Pairs, validation: Pairs,
                    checkpoint: dict | None = None) -> None:
    """The training loop: Adam on a one-cycle schedule over random crops, until --steps, --stop-at
    or --minutes; validated, saved and checkpointed every --validate-every steps (a run cut short
    keeps its last checkpoint) and at the end. From a checkpoint it continues where that run was."""
    rng = np.random.default_rng(args.seed)
    net = load_efficientnet().to(device, memory_format=torch.channels_last)
    generator = initial_generator(args, device)
    weights = {"feature": args.feature_weight, "ssim": args.ssim_weight}
    optimiser = torch.optim.Adam(generator.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.steps)
    step, before = 0, 0.0
    if checkpoint is None:
        log(event="start", device=device, parameters=sum(p.numel() for p in generator.parameters()),
            **validate(net, generator, validation, device))
    else:
        generator.load_state_dict(checkpoint["model"])
        optimiser.load_state_dict(checkpoint["optimiser"])
        schedule.load_state_dict(checkpoint["schedule"])
        rng.bit_generator.state = json.loads(checkpoint["numpy_rng"])
        torch.set_rng_state(checkpoint["torch_rng"])
        step, before = checkpoint["step"], checkpoint["minutes"]
        log(event="resume", step=step, minutes=round(before, 1))
    last = min(args.steps, args.stop_at or args.steps)
    started = time.perf_counter()

    def minutes() -> float:
        return before + (time.perf_counter() - started) / 60

    def keep(event: str) -> None:
        digest = save(generator, args.out)
        write_checkpoint(args.checkpoint, args, step, minutes(), generator, optimiser, schedule, rng)
        log(event=event, step=step, minutes=round(minutes(), 1), sha256=digest, **validate(net, generator, validation, device))

    while step < last and time.perf_counter() - started < 60 * args.minutes:
        original, fill, conditions = random_crops(training, args.batch, args.crop, rng, device)
        loss = training_loss(net, generator, original, fill, conditions, weights)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        if step % 100 == 0:
            log(event="step", step=step, loss=round(loss.item(), 3), lr=float(f"{schedule.get_last_lr()[0]:.3g}"),
                minutes=round(minutes(), 1))
        if step % args.validate_every == 0 and step < last:
            keep("validate")
    keep("done")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    if args.export:
        log(event="exported", onnx=str(export_onnx(args.export)))
        return 0
    checkpoint = read_checkpoint(parser, args.resume) if args.resume else None
    if checkpoint is not None:
        args = resumed(args, checkpoint)
    if not (args.train and args.val and args.out):
        parser.error("--train, --val and --out are needed to train")
    args.checkpoint = args.checkpoint or args.resume or args.out.with_suffix(".ckpt")
    if args.init:
        check_init(parser, args)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = training_device(parser, args.device)
    training, validation = training_data(args)
    train_generator(args, device, training, validation, checkpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
