"""Train the generator G: python -m abcodec.train --train ../shared/data/bsds500/train ../shared/data/urban100 --val ../shared/data/bsds500/val --out abcodec/weights/generator.pt

G learns a correction of the codec's own diffusion decode: x̂ = fill + G(E(fill)), so that G(h0)
is already an inpainting better than the fill the decoder starts from: a G trained only to
invert E on clean images would give the fill back, and the descent would have nothing better to find. Training pairs are (photo, its decode through the public
codec API at a random rate), made once and cached under ``--cache``, keyed by the data, the
rates and a fingerprint of the codec's output, so a changed codec (a new base layer) makes new
pairs by the same command. Loss: L1 on pixels + L1 on E's features + (1 − SSIM), the
benchmarks' metric. Trains on the --train folders (BSDS500 train and Urban100), validates on
--val (BSDS500 val: PSNR and SSIM of the fill and of G's output on the whole photos), never
touches Kodak. Seeded; logs JSON lines to stderr; stops at --steps or after --minutes, whichever
comes first, and writes fp16 weights plus their SHA-256 and ONNX model, at every validation (a
checkpoint) and at the end. ``--device cuda`` trains on a GPU, ``--jobs N`` makes the pairs in N
processes, ``--width`` and ``--blocks`` size G (its weights record them).
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

from . import losses
from .codec import BlockLayer, EncodeOptions, decode, encode
from .nets import FILL_CHANNELS, LATENT_STRIDE, Generator, load_efficientnet, load_generator

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
    the default decoder runs (:func:`export_onnx`); returns the SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu().half() for k, v in generator.state_dict().items()}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".sha256").write_text(f"{digest}  {path.name}\n")
    export_onnx(path)
    return digest


class _Decoder(torch.nn.Module):
    """fill -> G(E(fill), fill): the default decoder's one forward pass, as ONNX exports it."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.net, self.generator = load_efficientnet(), generator

    def forward(self, fill: torch.Tensor) -> torch.Tensor:
        return self.generator(self.net.encode(fill), fill)


def export_onnx(weights: Path) -> Path:
    """``weights`` (a .pt written by :func:`save`) as the ONNX model beside it, with its SHA-256 in
    the model's metadata (refine.ONNX_HASH_KEY): opset 17, dynamic height and width, exported
    from the float32 network the torch decoder runs (the fp16 weights, widened)."""
    import onnx

    from .inpaint.refine import ONNX_HASH_KEY

    model = _Decoder(load_generator(weights)).eval()
    target = weights.with_suffix(".onnx")
    sample = torch.zeros(1, 3, 64, 64)
    axes = {2: "height", 3: "width"}
    torch.onnx.export(model, (sample,), target, dynamo=False, opset_version=17, input_names=["fill"],
                      output_names=["image"], dynamic_axes={"fill": axes, "image": axes})
    graph = onnx.load(target)
    _shuffles_as_convolutions(graph)
    entry = graph.metadata_props.add()
    entry.key, entry.value = ONNX_HASH_KEY, hashlib.sha256(weights.read_bytes()).hexdigest()
    onnx.save(graph, target)
    return target


SHUFFLE_AS_TRANSPOSE = [0, 1, 3, 5, 2, 4]
"""The Transpose perm torch exports F.pixel_unshuffle with, between Reshapes (and an Unsqueeze / a
Squeeze at the ends of the chain)."""


def _shuffles_as_convolutions(model) -> None:
    """G's pixel shuffles, in place, as the one-hot convolutions they equal: ONNX Runtime moves the
    memory of a DepthToSpace or a 6-D Transpose 2–4× slower than it runs a convolution that does the
    same (G's last shuffle on a 0.68 MP tile: 31 against 11 ms; 15 % of the decode in all), and a
    one-hot kernel adds exact zeros, so the outputs are bit-identical; checked here on two sizes."""
    import onnx
    from onnx import numpy_helper

    original = model.SerializeToString()
    graph = model.graph
    weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    producer = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced: dict[str, object] = {}  # name of a node -> what stands in its place (None: nothing)
    for node in graph.node:
        if node.op_type == "DepthToSpace":
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attributes.get("mode", b"DCR") != b"CRD":  # torch's PixelShuffle exports CRD
                continue
            block = attributes["blocksize"]
            channels = weights[producer[node.input[0]].input[1]].shape[0]
            name = f"{node.name}/one_hot"  # ConvTranspose's weight is (in, out, k, k): _one_hot's as it is
            graph.initializer.append(numpy_helper.from_array(_one_hot(channels // block**2, block), name))
            replaced[node.name] = onnx.helper.make_node(
                "ConvTranspose", [node.input[0], name], list(node.output), name=node.name,
                kernel_shape=[block, block], strides=[block, block])
        elif node.op_type == "Transpose" and list(node.attribute[0].ints) == SHUFFLE_AS_TRANSPOSE:
            chain = [node]
            while producer[chain[0].input[0]].op_type in ("Reshape", "Unsqueeze"):
                chain.insert(0, producer[chain[0].input[0]])
            while len(consumers[chain[-1].output[0]]) == 1 and consumers[chain[-1].output[0]][0].op_type in ("Reshape", "Squeeze"):
                chain.append(consumers[chain[-1].output[0]][0])
            name = f"{node.name}/one_hot"
            graph.initializer.append(numpy_helper.from_array(_one_hot(FILL_CHANNELS // LATENT_STRIDE**2, LATENT_STRIDE), name))
            replaced.update({part.name: None for part in chain})
            replaced[chain[0].name] = onnx.helper.make_node(
                "Conv", [chain[0].input[0], name], list(chain[-1].output), name=node.name,
                kernel_shape=[LATENT_STRIDE] * 2, strides=[LATENT_STRIDE] * 2)
    nodes = [replaced.get(node.name, node) for node in graph.node]
    del graph.node[:]
    graph.node.extend(node for node in nodes if node is not None)
    _prune(graph)
    _check_same_outputs(original, model.SerializeToString())


def _one_hot(planes: int, block: int) -> np.ndarray:
    """(planes · block², planes, block, block) float32: output channel c·block² + dy·block + dx
    copies plane c at offset (dy, dx), the channel order of torch's pixel (un)shuffle."""
    kernel = np.zeros((planes * block * block, planes, block, block), np.float32)
    for plane in range(planes):
        for dy in range(block):
            for dx in range(block):
                kernel[plane * block * block + dy * block + dx, plane, dy, dx] = 1
    return kernel


def _prune(graph) -> None:
    """Drop the nodes nothing reads any more (the shape arithmetic of the replaced chains)."""
    needed = {output.name for output in graph.output}
    for node in reversed(list(graph.node)):
        if any(output in needed for output in node.output):
            needed.update(node.input)
        else:
            graph.node.remove(node)


def _check_same_outputs(before: bytes, after: bytes) -> None:
    import onnxruntime

    sessions = [onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"]) for model in (before, after)]
    for shape in ((1, 3, 37, 50), (1, 3, 128, 96)):
        sample = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
        first, second = (session.run(None, {"fill": sample})[0] for session in sessions)
        if not np.array_equal(first, second):
            msg = f"the rewritten ONNX graph differs from the exported one by {np.abs(first - second).max()} on {shape}"
            raise RuntimeError(msg)


def log(**fields) -> None:
    print(json.dumps(fields), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abcodec.train", description=__doc__.splitlines()[0])
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
    args = parser.parse_args(argv)
    if args.export:
        log(event="exported", onnx=str(export_onnx(args.export)))
        return 0
    if not (args.train and args.val and args.out):
        parser.error("--train, --val and --out are needed to train")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    rng = np.random.default_rng(args.seed)
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
    net = load_efficientnet().to(device, memory_format=torch.channels_last)
    generator = Generator(args.width, args.blocks).to(device, memory_format=torch.channels_last)
    weights = {"feature": args.feature_weight, "ssim": args.ssim_weight}
    optimiser = torch.optim.Adam(generator.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.steps)
    log(event="start", device=device, parameters=sum(p.numel() for p in generator.parameters()),
        **validate(net, generator, val_x, val_fill, device))
    started, step = time.perf_counter(), 0
    while step < args.steps and time.perf_counter() - started < 60 * args.minutes:
        original, fill = random_crops(train_x, train_fill, args.batch, args.crop, rng, device)
        loss = training_loss(net, generator, original, fill, weights)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        if step % 100 == 0:
            log(event="step", step=step, loss=round(loss.item(), 3), minutes=round((time.perf_counter() - started) / 60, 1))
        if step % args.validate_every == 0:  # a checkpoint too: a run cut short keeps its last one
            log(event="validate", step=step, sha256=save(generator, args.out),
                **validate(net, generator, val_x, val_fill, device))
    digest = save(generator, args.out)
    log(event="done", step=step, minutes=round((time.perf_counter() - started) / 60, 1), sha256=digest,
        **validate(net, generator, val_x, val_fill, device))
    return 0


if __name__ == "__main__":
    sys.exit(main())
