"""The generative decoder's settings and identity (format_spec/abc.md §3, inpainter 1), without torch.

They are what a file made for inpainter 1 stores in HEAD (steps, noise seed, the 8 float
parameters, the generator's hash), so the encoder writes them and the decoder checks them
before importing the networks; descent.py runs the descent they describe.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from importlib import resources

from .. import container
from ..checks import is_integer
from ..container import AbcError, Header
from .tiles import tile_size, tiles

Progress = Callable[[int, int, float], None]
"""progress(steps done, steps in all, estimated seconds left): the generative decoder's steps."""


@dataclass(frozen=True)
class Params:
    """Everything the descent depends on besides the image and the stored statistics.

    ``step_size`` is Adam's learning rate (in latent units), ``noise`` PPGN's ε3 (the standard
    deviation of the noise added to h after each step); the other floats weigh the terms of L
    (module docstring), ``autoencoder`` being w_E. The floats are written to the
    file header's 8 decoder parameters in field order (:meth:`floats`), steps and seed to its
    own fields; all floats must be ≥ 0. The defaults are the measured ones (benchmarks/RESULTS.md):
    no descent steps, because on base-layer files no step count, step size or weighting of the
    terms (with or without the assistant statistics) beat G(E(fill)), the descent's starting
    point.
    """

    steps: int = 0
    noise_seed: int = 0
    step_size: float = 0.02
    autoencoder: float = 10.0
    classification: float = 0.0
    edge: float = 0.0
    style: float = 0.0
    content: float = 0.0
    noise: float = 0.0

    def __post_init__(self) -> None:
        if not is_integer(self.steps) or self.steps < 0:
            msg = f"ppgn steps {self.steps!r} must be an integer ≥ 0"
            raise AbcError(msg)
        for name, value in zip(FLOAT_FIELDS, self.floats()):
            if not (math.isfinite(value) and value >= 0):
                msg = f"ppgn {name} {value!r} must be a finite number ≥ 0"
                raise AbcError(msg)

    def floats(self) -> tuple[float, ...]:
        """The header's decoder parameters, in field order (at most 8)."""
        return astuple(self)[2:]

    @classmethod
    def from_header(cls, steps: int, noise_seed: int, floats: tuple[float, ...]) -> Params:
        """Inverse of (steps, noise_seed, :meth:`floats`); unused trailing header floats are ignored."""
        return cls(steps, noise_seed, *floats[: len(FLOAT_FIELDS)])


FLOAT_FIELDS = ("step_size", "autoencoder", "classification", "edge", "style", "content", "noise")


ASSIST_TERMS = {"class": ("classification", 1.0), "style": ("style", 1.0)}
"""For each assistant statistic an encoder may store (assist.KINDS), the term of L it feeds and
the weight the encoder then writes; a file without the statistic keeps that weight at 0. On
base-layer files no weight from 1 to 100 beat G alone (benchmarks/RESULTS.md), so 1 is the
one measured at equal bytes on Kodak, not a tuned optimum."""


def params_for(steps: int, assist: tuple[str, ...] = ()) -> Params:
    """The descent an encoder asks for: the defaults, with the terms of the stored statistics on."""
    return replace(Params(steps=steps), **dict(ASSIST_TERMS[kind] for kind in assist))


STEP_UNITS_PER_PIXEL = 3
STEP_UNITS_PER_TILE = 50_000
CLASSIFIER_UNITS_PER_PIXEL = 10
CLASSIFIER_SIZE = 224
"""The generative decoder's cost model, in units of one pixel of G's forward pass on the CPU
(format_spec/abc.md §5; measured on the 2-core reference CPU, benchmarks/RESULTS.md "Hostile
input"): a descent step costs STEP_UNITS_PER_PIXEL per pixel of its tile (G and E forward and
back) plus STEP_UNITS_PER_TILE whatever the tile's size (the optimiser, the fixed cost of every
layer call), and with a class code the classifier's forward and backward pass over the image
resized so that its shorter side is CLASSIFIER_SIZE (a thin strip becomes a huge copy)."""


def work_units(header: Header, steps: int, has_classes: bool) -> int:
    """The work of the generative decoder on a file with this header (§5): G's pass over every tile
    (overlaps counted), and ``steps`` descent steps on each, with the classifier when it applies."""
    windows = tiles((header.height, header.width))
    covered = len(windows) * tile_size(header.height) * tile_size(header.width)
    units = covered
    if steps:
        per_step = STEP_UNITS_PER_PIXEL * covered + STEP_UNITS_PER_TILE * len(windows)
        if has_classes and len(windows) == 1:
            shorter, longer = sorted((header.width, header.height))
            per_step += CLASSIFIER_UNITS_PER_PIXEL * CLASSIFIER_SIZE * math.ceil(CLASSIFIER_SIZE * longer / shorter)
        units += steps * per_step
    return units


@functools.cache
def packaged_generator_hash() -> bytes:
    """SHA-256 of the generator weights this package ships (weights/generator.sha256), without torch."""
    text = resources.files("abcodec").joinpath("weights/generator.sha256").read_text()
    return bytes.fromhex(text.split()[0])


def descent_of(header: Header) -> Params:
    """The descent a file asks for; a file made for another inpainter (the fast decode, refined
    on request) gets the default one. A file made for other weights is refused by name."""
    if header.inpainter != container.INPAINTER_PPGN:
        return Params(noise_seed=header.noise_seed)
    ours = packaged_generator_hash()
    if header.generator != ours[: len(header.generator)]:
        msg = (f"HEAD: made for generator weights {header.generator.hex()[:16]}…, this decoder has "
               f"{ours.hex()[:16]}…; decode with inpainter 'diffusion'")
        raise AbcError(msg)
    return Params.from_header(header.steps, header.noise_seed, header.params)
