"""The generative decoder's settings and identity (format_spec/abc.md §3, inpainter 1), without torch.

They are what a file made for inpainter 1 stores in HEAD (steps, noise seed, the 8 float
parameters, the generator's hash), so the encoder writes them and the decoder checks them
before importing the networks; descent.py runs the descent they describe. The generators the
package ships, keyed by that hash, and the conditions a conditioned one reads of the file
(§8 step 8) are here too.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from .. import container
from ..av1_headers import parse_headers
from ..checks import is_integer
from ..container import AbcError, AbcFile, Header
from .tiles import tile_size, tiles

if TYPE_CHECKING:
    from importlib.abc import Traversable

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


@dataclass(frozen=True)
class ShippedGenerator:
    """A generator this package ships (format_spec/abc.md §8 step 8): its files under abcodec/,
    ``stem`` + ``.pt`` (the fp16 torch weights), ``.sha256`` (their SHA-256, the id a file's HEAD
    carries) and ``.onnx`` (the default decoder's model), and whether it reads the file's conditions."""

    stem: str
    conditioned: bool

    def resource(self, suffix: str) -> Traversable:
        return resources.files("abcodec").joinpath(self.stem + suffix)

    def sha256(self) -> bytes:
        """SHA-256 of the weights, from the .sha256 file beside them (no torch, no hashing)."""
        return _recorded_hash(self.stem)

    def check_conditions(self, conditions: object) -> None:
        """A conditioned generator runs with the file's conditions, a blind one without: a caller
        that mixes them up would decode with made-up inputs."""
        if self.conditioned and conditions is None:
            msg = f"generator {self.stem} reads the file's conditions (settings.conditions_of); none were given"
            raise ValueError(msg)
        if not self.conditioned and conditions is not None:
            msg = f"generator {self.stem} takes no conditions"
            raise ValueError(msg)


GENERATORS = (
    ShippedGenerator("weights/generator", conditioned=False),
    ShippedGenerator("weights/generator2", conditioned=True),
    ShippedGenerator("weights/generator3", conditioned=True),
)
"""Every generator this package has shipped, oldest first: a file names one by the hash in its
HEAD and decodes with that one for as long as the package keeps it. The encoder names the newest."""


@functools.cache
def _recorded_hash(stem: str) -> bytes:
    text = resources.files("abcodec").joinpath(stem + ".sha256").read_text()
    return bytes.fromhex(text.split()[0])


def newest_generator() -> ShippedGenerator:
    """The generator the encoder names: the last this package shipped."""
    return GENERATORS[-1]


def packaged_generator_hash() -> bytes:
    """SHA-256 of the generator the encoder names (weights/*.sha256), without torch."""
    return newest_generator().sha256()


def generator_of(header: Header) -> ShippedGenerator:
    """The shipped generator whose hash a file's HEAD names (its first 8 bytes in version 3, all 32
    before); a file made for weights this package does not have is refused by name."""
    for shipped in GENERATORS:
        if header.generator == shipped.sha256()[: len(header.generator)]:
            return shipped
    ours = ", ".join(f"{shipped.sha256().hex()[:16]}…" for shipped in GENERATORS)
    msg = (f"HEAD: made for generator weights {header.generator.hex()[:16]}…, this decoder has "
           f"{ours}; decode with inpainter 'diffusion'")
    raise AbcError(msg)


NO_FRAME_CONDITIONS = (255.0, 0.0)
"""§8 step 8: the conditions of a file without an AV1 frame (the block layout, or a version 2 DCT
base): the coarsest quantizer, at the image's size."""


def conditions_of(abc: AbcFile) -> np.ndarray:
    """What a conditioned generator reads of the file besides the pixels (§8 step 8), float32 (2,):
    the base_q_idx of the AV1 frame in BASE (§12) and its scale s = ½·log2(W·H / (w·h)), W×H the
    image's size and w×h the frame's, both from the frame header the fast decode parses too
    (av1_headers.parse_headers); NO_FRAME_CONDITIONS without an AV1 frame."""
    if abc.base is None or abc.header.version < 3:
        return np.array(NO_FRAME_CONDITIONS, np.float32)
    _, frame = parse_headers(bytes(abc.base))
    scale = 0.5 * math.log2(abc.header.width * abc.header.height / (frame.width * frame.height))
    return np.array([frame.base_q_idx, scale], np.float32)


def generator_inputs(abc: AbcFile) -> tuple[ShippedGenerator, np.ndarray | None]:
    """The generator a file for inpainter 1 names (refused by name if this package lacks it), or the
    newest for a file made for the fast decode and refined on request (it names none), and what it
    reads of the file besides the pixels: its conditions if it is conditioned, else None."""
    named = abc.header.inpainter == container.INPAINTER_PPGN
    generator = generator_of(abc.header) if named else newest_generator()
    return generator, conditions_of(abc) if generator.conditioned else None


def descent_of(header: Header) -> Params:
    """The descent a file asks for; a file made for another inpainter (the fast decode, refined
    on request) gets the default one. A file made for weights this package lacks is refused by name."""
    if header.inpainter != container.INPAINTER_PPGN:
        return Params(noise_seed=header.noise_seed)
    generator_of(header)
    return Params.from_header(header.steps, header.noise_seed, header.params)
