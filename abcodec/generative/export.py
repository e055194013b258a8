"""G's ONNX export: the default decoder's one forward pass, G(E(fill)), as the ONNX model ONNX Runtime runs.

``python -m abcodec.generative.train`` writes it beside the weights it trains (and ``--export``
alone remakes it from existing weights). The graph torch exports is then rewritten where ONNX
Runtime runs an equivalent graph faster, and the rewrite is checked to give bit-identical outputs;
the model records the SHA-256 of the torch weights it was made from (onnx_generator.ONNX_HASH_KEY),
which is the generator's identity in every file's HEAD. A conditioned G's model has a second input,
``conditions`` (1, 2): the file's base_q_idx and frame scale (settings.conditions_of).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from .networks import CONDITIONS, FILL_CHANNELS, LATENT_STRIDE, Generator, load_efficientnet, load_generator
from .onnx_generator import ONNX_HASH_KEY

SAMPLE_CONDITIONS = ((40.0, 0.0), (200.0, 0.58))
"""Conditions the export's checks run a conditioned model at: a fine quantizer at the image's size,
and a coarse one on a frame shrunk 1.5 times."""


class _Decoder(torch.nn.Module):
    """fill [, conditions] -> G(E(fill), fill [, conditions]): the default decoder's one forward
    pass, as ONNX exports it."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.net, self.generator = load_efficientnet(), generator

    def forward(self, fill: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(self.net.encode(fill), fill, conditions)


def export_onnx(weights: Path) -> Path:
    """``weights`` (a .pt written by train.save) as the ONNX model beside it, with its SHA-256 in
    the model's metadata (onnx_generator.ONNX_HASH_KEY): opset 17, dynamic height and width, exported
    from the float32 network the torch decoder runs (the fp16 weights, widened)."""
    import onnx

    generator = load_generator(weights)
    model = _Decoder(generator).eval()
    target = weights.with_suffix(".onnx")
    sample = (torch.zeros(1, 3, 64, 64),) + ((torch.zeros(1, CONDITIONS),) if generator.conditioned else ())
    names = ["fill", "conditions"][: len(sample)]
    axes = {2: "height", 3: "width"}
    torch.onnx.export(model, sample, target, dynamo=False, opset_version=17, input_names=names,
                      output_names=["image"], dynamic_axes={"fill": axes, "image": axes})
    graph = onnx.load(target)
    _shuffles_as_convolutions(graph)
    _check_matches_torch(graph.SerializeToString(), model)
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


def _samples(conditioned: bool) -> list[dict[str, np.ndarray]]:
    """The inputs the checks run: two sizes, and for a conditioned model SAMPLE_CONDITIONS."""
    feeds = []
    for shape, conditions in zip(((1, 3, 37, 50), (1, 3, 128, 96)), SAMPLE_CONDITIONS):
        feed = {"fill": np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)}
        if conditioned:
            feed["conditions"] = np.array([conditions], np.float32)
        feeds.append(feed)
    return feeds


def _session(model: bytes):
    import onnxruntime

    return onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])


def _check_same_outputs(before: bytes, after: bytes) -> None:
    sessions = [_session(model) for model in (before, after)]
    for feed in _samples(len(sessions[0].get_inputs()) > 1):
        first, second = (session.run(None, feed)[0] for session in sessions)
        if not np.array_equal(first, second):
            msg = f"the rewritten ONNX graph differs from the exported one by {np.abs(first - second).max()} on {feed['fill'].shape}"
            raise RuntimeError(msg)


TORCH_TOLERANCE = 0.01
"""Grey levels by which the exported model may differ from the torch network it came from, before
rounding (float32 arithmetic in another order: about 1e-4)."""


def _check_matches_torch(exported: bytes, model: _Decoder) -> None:
    """The model computes what the torch network does, conditions included: an input traced as a
    constant, or a modulation left out, would show at one of the sample conditions."""
    session = _session(exported)
    for feed in _samples(model.generator.conditioned):
        with torch.no_grad():
            expected = model(*(torch.from_numpy(value) for value in feed.values())).numpy()
        difference = np.abs(session.run(None, feed)[0] - expected).max()
        if not difference <= TORCH_TOLERANCE:
            msg = f"the ONNX model differs from the torch network by {difference} grey levels on {feed['fill'].shape}"
            raise RuntimeError(msg)
