"""The generative decoder's descent: PPGN latent optimisation (Nguyen et al. 2016) from the fast decode, on torch.

Start from h0 = E(fill) and descend, over the latent h alone, by Adam (:func:`_step` says why
not PPGN's ε-update), with PPGN's ε3 noise after each step,

    L = L_A + w_E·L_E + w_C·L_C + w_edge·L_edge + w_style·L_style + w_content·L_content

where x = G(h, fill) = fill + correction (networks.py, losses.py), then composite onto the
kept pixels (tiles.py). A file without descent steps needs none of this: onnx_generator.py runs
G(E(fill)) on ONNX Runtime, without torch; this module runs when a file asks for steps, or on CUDA.

Large images are processed in tiles.py's overlapping tiles, so memory is bounded by the tile
size, not the image. L_C needs the whole picture (a corner of a cat photo is not a
cat), so it applies only when one tile covers the image. Decoding is a function of its inputs:
the descent has no randomness unless ``noise`` > 0, and then it draws from a generator seeded by
``noise_seed`` and the tile's position; the same inputs on the same machine and thread count give the
same bytes.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import torch

from ..container import AbcError
from . import losses
from .assist import Statistics
from .networks import (
    LATENT_CHANNELS, LATENT_STRIDE, WithConditions, classifier_logits, load_efficientnet, load_generator,
)
from .settings import Params, Progress, ShippedGenerator, newest_generator
from .tiles import as_planes, blend_tiles, check_fill, composite, tiles, to_output

def inpaint(
    fill: np.ndarray,
    known: np.ndarray,
    params: Params = Params(),
    stats: Statistics = Statistics(),
    *,
    generator: ShippedGenerator | None = None,
    conditions: np.ndarray | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Refine a fast decode (uint8 or float, (H, W, 3) or (H, W)) where ``known`` is False, with
    the packaged networks.

    ``known`` is the bool (H, W) mask of exact pixels, which come back unchanged; ``stats`` are the
    file's assistant statistics (a Gram matrix of the wrong size is an AbcError). ``generator`` is
    the shipped one the file names (None: the newest) and ``conditions`` what a conditioned one
    reads of the file (settings.conditions_of), given to it and only to it. Returns uint8
    of the fill's shape. ``device`` is "cpu", "cuda" or "auto" (CUDA when there is one);
    ``threads`` sets torch's CPU threads for the process (None: leaves them as they are).
    """
    generator = generator or newest_generator()
    generator.check_conditions(conditions)
    if threads is not None:
        torch.set_num_threads(threads)
    return inpaint_with(fill, known, params, stats, _networks(_device(device), generator), conditions,
                        progress=progress)


def _device(name: str) -> str:
    """"auto" resolved; CUDA refused by name where torch sees none."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        msg = "device cuda requested but no CUDA device is available"
        raise AbcError(msg)
    return name


def inpaint_with(
    fill: np.ndarray, known: np.ndarray, params: Params, stats: Statistics, networks: tuple,
    conditions: np.ndarray | None = None, *, progress: Progress | None = None,
) -> np.ndarray:
    """:func:`inpaint` with the networks given: (E/C, G) on one device, as :func:`_networks` makes them,
    and a conditioned G's conditions."""
    if conditions is not None:
        net, generator = networks
        bound = torch.as_tensor(np.asarray(conditions, np.float32), device=next(generator.parameters()).device)
        networks = (net, WithConditions(generator, bound))
    fill, known = check_fill(fill, known)
    if stats.gram is not None and stats.gram.shape != (LATENT_CHANNELS, LATENT_CHANNELS):
        msg = f"gram: Gram statistics of {stats.gram.shape[0]} channels, this generator's latent has {LATENT_CHANNELS}"
        raise AbcError(msg)
    if known.all():
        return to_output(as_planes(fill), fill, known)
    clock = _Clock(params.steps * len(tiles(known.shape)), progress)

    def run(window: tuple[slice, slice], index: int, whole: bool) -> np.ndarray:
        return _inpaint_tile(as_planes(fill[window]), known[window], params, stats, networks, index, whole, clock)

    return blend_tiles(fill, known, run)


@functools.lru_cache(maxsize=4)
def _networks(device: str, generator: ShippedGenerator) -> tuple:
    """(E/C, G) on a device, G a shipped one, loaded once per process: loading costs more than a
    small decode."""
    return networks_on(load_efficientnet(), load_generator(generator.resource(".pt")), device)


def networks_on(net, generator, device: str) -> tuple:
    """(E/C, G) moved to a device in the memory layout the descent runs fastest in."""
    memory = torch.channels_last
    return net.to(device, memory_format=memory), generator.to(device, memory_format=memory)


def _inpaint_tile(
    fill: np.ndarray, known: np.ndarray, params: Params, stats: Statistics, networks: tuple, index: int,
    whole: bool, clock: _Clock,
) -> np.ndarray:
    """Descent on one tile, then the composite that makes kept pixels exact without seams."""
    net, generator = networks
    device = next(generator.parameters()).device
    fill_t = torch.from_numpy(fill)[None].to(device)
    fill_t = fill_t.contiguous(memory_format=torch.channels_last)
    known_t = torch.from_numpy(known)[None, None].to(device)
    with torch.no_grad():
        h0 = net.encode(fill_t)
    h = _descend(net, generator, h0, fill_t, known_t, params, stats, index, whole, clock) if params.steps else h0
    with torch.no_grad():
        made = generator(h, fill_t)[0].cpu().numpy()
    return composite(made, fill, known)


def _descend(
    net, generator, h0: torch.Tensor, fill: torch.Tensor, known: torch.Tensor, params: Params, stats: Statistics,
    index: int, whole: bool, clock: _Clock,
) -> torch.Tensor:
    """h after the descent's steps from h0. Only here is an optimiser built: building one imports
    torch._dynamo, 2 s that a decode without steps must not pay."""
    device = h0.device
    classes = torch.as_tensor(stats.classes, device=device) if stats.classes is not None and whole else None
    gram = torch.as_tensor(stats.gram, device=device) if stats.gram is not None else None
    noise = torch.Generator(device).manual_seed(params.noise_seed * 1_000_003 + index)
    h = h0.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([h], lr=params.step_size)
    for _ in range(params.steps):
        _step(net, generator, h, h0, fill, known, params, classes, gram, optimiser, noise)
        clock.tick()
    return h.detach()


def _step(
    net, generator, h: torch.Tensor, h0: torch.Tensor, fill: torch.Tensor, known: torch.Tensor, params: Params,
    classes: torch.Tensor | None, gram: torch.Tensor | None, optimiser: torch.optim.Optimizer,
    noise: torch.Generator,
) -> None:
    """One Adam step on L over h, in place, then PPGN's ε3 noise.

    Adam rather than PPGN's ε-update (h − ε2·∇L_cond + ε1·(E(G(h)) − h)): the raw-gradient update
    depends on the gradients' scale, which changes whenever G is retrained, and on BSDS500 val it
    was no better at its best step size and worse at the others (benchmarks/RESULTS.md).
    """
    loss = _objective(net, generator, h, h0, fill, known, params, classes, gram)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    if params.noise:
        with torch.no_grad():
            h += params.noise * torch.randn(h.shape, generator=noise, device=h.device)


def _objective(
    net, generator, h: torch.Tensor, h0: torch.Tensor, fill: torch.Tensor, known: torch.Tensor, params: Params,
    classes: torch.Tensor | None, gram: torch.Tensor | None,
) -> torch.Tensor:
    """L of the module docstring; a term whose weight is 0 or whose statistic is absent costs nothing."""
    made = generator(h, fill)
    loss = losses.assistant(made, fill, known)
    needs_features = params.autoencoder or params.content or (params.style and gram is not None)
    features = net.encode(made) if needs_features else None
    if params.autoencoder:
        loss = loss + params.autoencoder * losses.autoencoder(h, features)
    if params.style and gram is not None:
        loss = loss + params.style * losses.style(features, gram)
    if params.content:
        loss = loss + params.content * losses.content(features, h0, known, LATENT_STRIDE)
    if params.classification and classes is not None:
        loss = loss + params.classification * losses.classification(classifier_logits(net, made), classes)
    if params.edge:
        loss = loss + params.edge * losses.edge(made, fill, known)
    return loss


class _Clock:
    """Counts steps across tiles and reports progress with an ETA from the mean step time."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.progress, self.done = total, progress, 0
        self.started = time.perf_counter()

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            self.progress(self.done, self.total, elapsed / self.done * (self.total - self.done))
