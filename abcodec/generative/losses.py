"""The terms of the generative decoder's objective, as pure functions on tensors.

PPGN's decoder descends ``L = L_A + L_E + L_C + λ_edge·L_edge + λ_style·L_style +
λ_content·L_content`` over the latent h (descent.py). Every term here sees only what the
decoder has: the kept pixels, the fill, and statistics of the original the encoder stored in the
file (assist.py). Images are float (N, 3, H, W) in grey levels 0..255; masks are bool
or 0/1 float (N, 1, H, W); feature maps are E's (N, C, h, w). Each loss is a mean, so that its
weight does not depend on the image size. :func:`ssim` is also the training and validation
metric: it follows scikit-image's ``structural_similarity`` with its defaults (the benchmarks'
metric), so numbers here and in benchmarks/RESULTS.md agree.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..colour import LUMA_WEIGHTS
from ..ssim import C1 as SSIM_C1, C2 as SSIM_C2, WINDOW as SSIM_WINDOW

LOG_KERNEL = torch.tensor(
    [[0, 0, 1, 0, 0], [0, 1, 2, 1, 0], [1, 2, -16, 2, 1], [0, 1, 2, 1, 0], [0, 0, 1, 0, 0]], dtype=torch.float32
)
"""The 5×5 Laplacian-of-Gaussian stencil: edges are its zero crossings, and its response is the
second-derivative structure a blurred fill lacks."""

LOG_RADIUS = 2


def assistant(image: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """L_A: mean squared difference from the kept pixels, over kept pixels only (grey levels²).

    0 where nothing is kept: a term with no data has nothing to say.
    """
    weight = known.to(image.dtype).expand_as(image)
    return ((image - target) ** 2 * weight).sum() / weight.sum().clamp(min=1)


def autoencoder(h: torch.Tensor, reencoded: torch.Tensor) -> torch.Tensor:
    """L_E: h should be a fixed point of h -> E(G(h)), which keeps it near the latents E makes."""
    return F.mse_loss(reencoded, h)


def classification(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """L_C: −log of the probability C puts on the original's top-k classes (any of them).

    ``classes`` is the (k,) long tensor of the class code; the same set for every batch item.
    The set, not the first class alone, because the top classes of an ImageNet classifier are
    often near-synonyms (tabby, tiger cat, Egyptian cat) and any of them is the right picture.
    """
    log_p = torch.log_softmax(logits, dim=1)
    return -torch.logsumexp(log_p[:, classes], dim=1).mean()


def gram(features: torch.Tensor) -> torch.Tensor:
    """(N, C, C) Gram matrices of feature maps, averaged over positions (Gatys et al.)."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def style(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """L_style: squared difference of Gram matrices against the stored one, relative to its size,
    so that the weight means the same for every feature scale."""
    return ((gram(features) - target_gram) ** 2).mean() / (target_gram**2).mean().clamp(min=1e-12)


def content(features: torch.Tensor, target: torch.Tensor, known: torch.Tensor, stride: int) -> torch.Tensor:
    """L_content: features against the fill's where the pixels under them were kept.

    ``known`` is the pixel mask and ``stride`` that of the feature map; a feature cell counts only
    if every pixel of its stride × stride cell was kept, where the fill equals the original up to quantisation, so that the target is
    honest without storing anything.
    """
    cells = -F.max_pool2d(-known.to(features.dtype), stride, ceil_mode=True)
    cells = cells[..., : features.shape[2], : features.shape[3]].expand_as(features)
    return ((features - target) ** 2 * cells).sum() / cells.sum().clamp(min=1)


def edge(image: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """L_edge: LoG of the luma against the target's, where the whole 5×5 stencil is on kept pixels.

    There the target's response is the original's (up to quantisation), so edges at the borders
    of kept blocks carry into the holes without storing an edge map.
    """
    weight = -F.max_pool2d(-known.to(image.dtype), 2 * LOG_RADIUS + 1, stride=1, padding=LOG_RADIUS)
    difference = laplacian_of_gaussian(image) - laplacian_of_gaussian(target)
    return (difference.abs() * weight).sum() / weight.sum().clamp(min=1)


def laplacian_of_gaussian(image: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) LoG response of the luma (BT.601, as the mask chooser measures edges), borders replicated."""
    luma = sum(weight * image[:, index : index + 1] for index, weight in enumerate(LUMA_WEIGHTS.tolist()))
    kernel = LOG_KERNEL.to(image.dtype)[None, None]
    return F.conv2d(F.pad(luma, (LOG_RADIUS,) * 4, mode="replicate"), kernel)


def ssim(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Mean SSIM over channels and images, as scikit-image computes it by default.

    7×7 uniform window, sample covariances (N/(N−1)), data range 255, and the mean taken over
    the positions whose window lies inside the image. Differentiable, so it is also a loss.
    """
    channels = image.shape[1]
    window = torch.full((channels, 1, SSIM_WINDOW, SSIM_WINDOW), 1 / SSIM_WINDOW**2, dtype=image.dtype)
    samples = SSIM_WINDOW**2
    covariance_scale = samples / (samples - 1)

    def local_mean(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=channels)

    mean_x, mean_y = local_mean(image), local_mean(reference)
    var_x = covariance_scale * (local_mean(image * image) - mean_x**2)
    var_y = covariance_scale * (local_mean(reference * reference) - mean_y**2)
    cov = covariance_scale * (local_mean(image * reference) - mean_x * mean_y)
    numerator = (2 * mean_x * mean_y + SSIM_C1) * (2 * cov + SSIM_C2)
    denominator = (mean_x**2 + mean_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    return (numerator / denominator).mean()

