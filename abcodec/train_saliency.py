"""Training the saliency model behind ``--importance auto``, and its export to ONNX.

    python -m abcodec.train_saliency ../shared/data/fixations [--out abcodec/weights/saliency.onnx]

The model predicts where people look, in the manner of DeepGaze I (Kümmerer et al. 2015): a
linear read-out of pretrained features plus a learned centre prior, blurred, as a probability
density over the photo. The features are EfficientNet-Lite0's, the network the generative
decoder already uses (generative/networks.py), at the ends of its stages 3, 4 and 5 (blocks 4, 7 and 10, strides
8 and 16): in trials on part of the training photos, deeper stages added nothing, and they would
quadruple the weights. Only the read-out, the blur and the prior are trained, by the
likelihood of the recorded fixations, so a CPU fits them in minutes; the backbone stays frozen.

The fixation set is a folder holding ``fixations.json`` (photo name -> width, height and each
viewer's fixations as [row, column, onset, duration] in the photo's pixels) and ``images/``. Every
``HELD_OUT_EVERY``-th photo in name order is held out: never trained on, and the one part that
benchmarks.saliency and benchmarks.roi --fixations report on.

The export is one ONNX graph, image in, log-density out (saliency.py runs it without torch), with
the weights stored as float16 to halve the package's share (the density moves by less than
``FLOAT16_TOLERANCE`` of its peak; checked at export).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .saliency import GRID_STRIDE, INPUT_SIDE, ONNX_FILE, input_size

TAPS = (4, 7, 10)
"""Blocks after which the backbone's features are read: the ends of stages 3, 4 and 5."""

CENTRE_GRID = 9
"""The learned centre prior: a 9×9 grid of log-densities over the photo's normalised
coordinates, bilinearly stretched to any aspect ratio."""

HELD_OUT_EVERY = 4
"""Every 4th photo (names sorted, the first included) is held out for validation."""

EPOCHS = 20
LEARNING_RATE = 0.002
INITIAL_BLUR = 1.5
"""σ of the blur, in grid cells (16 pixels of the model's input), before training moves it."""

SEED = 0

FLOAT16_TOLERANCE = 0.01
"""How far the float16 weights may move the exported density, as a share of its peak (the encoder
uses only its ranks; 0.3 % was seen)."""


@dataclass(frozen=True)
class Photo:
    """One photo of the fixation set and every viewer's fixations, (N, 2) rows and columns in its pixels."""

    name: str
    width: int
    height: int
    fixations: np.ndarray


def load_fixations(folder: str | Path) -> list[Photo]:
    """The fixation set's photos in name order."""
    records = json.loads((Path(folder) / "fixations.json").read_text())
    photos = []
    for name in sorted(records):
        record = records[name]
        points = [fixation[:2] for viewer in record["viewers"] for fixation in viewer]
        photos.append(Photo(name, int(record["width"]), int(record["height"]), np.array(points, dtype=np.float64)))
    return photos


def split(photos: list[Photo]) -> tuple[list[Photo], list[Photo]]:
    """(training, held out): every ``HELD_OUT_EVERY``-th photo, the first included, is held out."""
    return ([p for i, p in enumerate(photos) if i % HELD_OUT_EVERY],
            [p for i, p in enumerate(photos) if not i % HELD_OUT_EVERY])


def read_photo(folder: str | Path, photo: Photo) -> np.ndarray:
    """The photo as uint8 RGB at its own size."""
    with Image.open(Path(folder) / "images" / photo.name) as image:
        return np.asarray(image.convert("RGB"))


def fixation_cells(photo: Photo, grid: tuple[int, int], flipped: bool = False) -> np.ndarray:
    """The flat index of each fixation's cell in a (rows, columns) grid laid over the photo."""
    rows = np.clip((photo.fixations[:, 0] / photo.height * grid[0]).astype(int), 0, grid[0] - 1)
    columns = np.clip((photo.fixations[:, 1] / photo.width * grid[1]).astype(int), 0, grid[1] - 1)
    if flipped:
        columns = grid[1] - 1 - columns
    return rows * grid[1] + columns


def backbone():
    """EfficientNet-Lite0 up to the last tap, frozen."""
    from .generative.networks import load_efficientnet

    net = load_efficientnet()
    net._blocks = net._blocks[: max(TAPS) + 1]
    return net


def taps(net, rgb):
    """The tapped feature maps of images (N, 3, H, W) in 0..255, each resized to the grid (H/16, W/16)."""
    import torch
    from torch.nn import functional as F

    from .generative.networks import normalise

    grid = (rgb.shape[2] // GRID_STRIDE, rgb.shape[3] // GRID_STRIDE)
    x = F.relu6(net._bn0(net._conv_stem(normalise(rgb))))
    maps = []
    for index, block in enumerate(net._blocks):
        x = block(x)
        if index in TAPS:
            maps.append(x if x.shape[2:] == grid else F.interpolate(x, size=grid, mode="bilinear", align_corners=False))
    return torch.cat(maps, dim=1)


def model_input(rgb: np.ndarray):
    """The copy of a photo the model sees (saliency.input_size), as a (1, 3, h, w) float tensor."""
    import torch

    height, width = rgb.shape[:2]
    size = input_size(width, height)
    small = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=None)
    return torch.from_numpy(np.asarray(small, dtype=np.float32)).permute(2, 0, 1)[None]


def readout_class():
    """The trained part, defined where torch is imported."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Readout(nn.Module):
        """Standardised features -> one logit per cell, blurred, plus the centre prior; log-density out."""

        def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)
            self.weights = nn.Conv2d(mean.shape[1], 1, 1)
            nn.init.zeros_(self.weights.weight)
            self.log_sigma = nn.Parameter(torch.tensor(math.log(INITIAL_BLUR)))
            self.centre = nn.Parameter(torch.zeros(1, 1, CENTRE_GRID, CENTRE_GRID))

        def kernel(self) -> torch.Tensor:
            sigma = self.log_sigma.exp()
            radius = int(min(3 * float(sigma) + 1, 12))
            offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
            kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
            return kernel / kernel.sum()

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            logits = self.weights((features - self.mean) / self.std)
            kernel = self.kernel()
            radius = kernel.numel() // 2
            logits = F.pad(logits, (radius, radius, radius, radius), mode="replicate")
            logits = F.conv2d(F.conv2d(logits, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1))
            prior = F.interpolate(self.centre, size=logits.shape[2:], mode="bilinear", align_corners=True)
            logits = logits + prior
            return logits - torch.logsumexp(logits.flatten(1), dim=1).view(-1, 1, 1, 1)

    return Readout


def features_of(folder: Path, photos: list[Photo], net, flips: bool) -> list[tuple[Photo, bool, object]]:
    """(photo, flipped, features) for every photo, and its mirror image where ``flips``."""
    import torch

    out = []
    with torch.no_grad():
        for photo in photos:
            pixels = model_input(read_photo(folder, photo))
            out.append((photo, False, taps(net, pixels)))
            if flips:
                out.append((photo, True, taps(net, torch.flip(pixels, dims=[3]))))
    return out


def information_gain(model, samples) -> float:
    """Mean log-likelihood of the fixations over a uniform guess, in bits per fixation."""
    import torch

    gains = []
    with torch.no_grad():
        for photo, flipped, features in samples:
            density = model(features)[0, 0]
            cells = torch.from_numpy(fixation_cells(photo, tuple(density.shape), flipped))
            gains.append(float(density.flatten()[cells].mean()) + math.log(density.numel()))
    return float(np.mean(gains)) / math.log(2)


def train(samples, log) -> object:
    """The read-out fitted by Adam on the fixations' negative log-likelihood, one photo a step."""
    import torch

    torch.manual_seed(SEED)
    stacked = torch.cat([features.flatten(2) for _, _, features in samples], dim=2)
    mean = stacked.mean(dim=2).mean(dim=0).view(1, -1, 1, 1)
    std = stacked.std(dim=2).mean(dim=0).view(1, -1, 1, 1) + 1e-3
    model = readout_class()(mean, std)
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    order = np.random.default_rng(SEED)
    for epoch in range(EPOCHS):
        for index in order.permutation(len(samples)):
            photo, flipped, features = samples[index]
            density = model(features)[0, 0]
            cells = torch.from_numpy(fixation_cells(photo, tuple(density.shape), flipped))
            loss = -density.flatten()[cells].mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        log(event="epoch", epoch=epoch + 1, blur=round(float(model.log_sigma.exp()), 3))
    return model


def export(net, model, target: Path, metadata: dict[str, str]) -> str:
    """The backbone and read-out as one ONNX graph (``image`` in, ``log_density`` out), weights as
    float16; returns its SHA-256."""
    import onnx
    import torch

    class Whole(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.model = net, model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.model(taps(self.net, image))

    whole = Whole().eval()
    sample = torch.full((1, 3, 256, 384), 127.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(whole, (sample,), target, dynamo=False, opset_version=17, input_names=["image"],
                          output_names=["log_density"], dynamic_axes={"image": {2: "height", 3: "width"}})
        reference = whole(sample).numpy()
    graph = onnx.load(target)
    _weights_as_float16(graph)
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    data = graph.SerializeToString()
    _check_close(data, sample.numpy(), reference)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _weights_as_float16(model) -> None:
    """Every float32 initializer of more than 16 values stored as float16 and cast back on load
    (ONNX Runtime folds the casts once, when the session starts)."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or np.prod(initializer.dims) <= 16:
            continue
        values = numpy_helper.to_array(initializer)
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(values.astype(np.float16), name + "_f16"))
        casts.append(onnx.helper.make_node("Cast", [name + "_f16"], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)


def _check_close(model: bytes, sample: np.ndarray, reference: np.ndarray) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    exported = session.run(None, {"image": sample})[0]
    difference = float(np.abs(np.exp(exported) - np.exp(reference)).max() / np.exp(reference).max())
    if difference > FLOAT16_TOLERANCE:
        msg = f"the float16 export moves the density by {difference:.2e} of its peak"
        raise RuntimeError(msg)


def log(**fields) -> None:
    print(json.dumps(fields), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abcodec.train_saliency", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the fixation set: fixations.json and images/")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / ONNX_FILE,
                        help="where to write the ONNX model (default: the packaged one)")
    parser.add_argument("--limit", type=int, help="train on the first N training photos only (a quick check)")
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads (default 1)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    training, held_out = split(load_fixations(args.folder))
    training = training[: args.limit]
    net = backbone()
    samples = features_of(args.folder, training, net, flips=True)
    validation = features_of(args.folder, held_out[: args.limit], net, flips=False)
    log(event="features", training=len(training), held_out=len(validation), seconds=round(time.perf_counter() - started, 1))
    model = train(samples, log).eval()
    gain = information_gain(model, validation)
    metadata = {"training_photos": str(len(training)), "held_out_every": str(HELD_OUT_EVERY),
                "held_out_information_gain_bits": f"{gain:.4f}", "input_side": str(INPUT_SIDE)}
    digest = export(net, model, args.out, metadata)
    log(event="exported", onnx=str(args.out), sha256=digest, held_out_information_gain_bits=round(gain, 4),
        seconds=round(time.perf_counter() - started, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
