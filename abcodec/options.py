"""What the encoder may be told, validated in one place, and the header it writes from it.

:class:`EncodeOptions` is the one definition of the encoder's options: ``abc-encode``'s flags
and the Pillow plugin's save keywords are derived from its fields (and from :class:`BlockLayer`'s,
the source paper's layout), so the three surfaces cannot drift. Each field's ``metadata`` holds
its help text and how the command line parses it (:mod:`abcodec.option_fields`); the decoder's
options are :class:`abcodec.decode_options.DecodeOptions`, made the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from . import container
from .av1 import DEFAULT_SPEED, SPEED_RANGE
from .checks import is_integer, is_number
from .container import AbcError, Header
from .decode_options import AVAILABLE_INPAINTERS
from .effort import EFFORT_RANGE, MEASURES_GENERATOR, MIN_GENERATIVE_GAIN, TRIES_SLOWER_SPEEDS
from .generative.assist import KINDS as ASSIST_KINDS
from .generative.settings import Params, packaged_generator_hash, params_for
from .importance import AUTO, DEFAULT_ABLATION, MAX_ABLATION, check_ablation
from .metadata import KINDS as METADATA_KINDS
from .metadata import selected as selected_metadata
from .option_fields import option

DEFAULT_QUALITY = 94
"""The base layer's quality when no rate is given (neither bpp nor the block layer): the lowest
quality whose mean SSIM on BSDS500 val reaches that of Pillow's AVIF at its own defaults
(``im.save("x.avif")``), as ``python -m benchmarks.quality --against-avif-default`` measures it
(benchmarks/RESULTS.md, "The default quality")."""

DEFAULT_BPP = 0.25
"""The block layout's rate when neither bpp nor keep is given (it has no quality scale): a Kodak
image is then ~12 KB."""

GENERATIVE_MAX_BPP = 0.3
"""Above this ``bpp`` the encoder names the fast decoder unless told otherwise: on six Kodak
images G lifts SSIM over the AV1 base by +0.007 / +0.005 / +0.001 at 0.05 / 0.1 / 0.2 bpp and costs
0.0005 / 0.001 SSIM (0.1 / 0.25 dB) at 0.4 / 0.8 bpp (benchmarks/RESULTS.md); the switch lies
between the last rate that gains and the first that loses."""

INPAINTER_IDS = {name: code for code, name in container.INPAINTERS.items()}

ENCODE_KEYWORDS = {
    "importance": (f"PATH|{AUTO}", "where to keep detail at the same rate: a grey image (white = keep; any size, "
                                   f"resized; only its ranks count), or {AUTO}: where people are predicted to look"),
    "roi": ("X,Y,W,H", "a rectangle to keep in detail, in pixels (repeatable); painted white onto the importance "
                       "map, or alone onto a blank one"),
}
"""The keywords of :func:`codec.encode` besides its options, with the command line's metavar and help:
what to keep in detail is a property of the image, not of the options."""

INTEGER = ("an integer", is_integer)
NUMBER = ("a number", is_number)
STRING = ("a string", lambda value: isinstance(value, str))
"""What an option must be, as its message says it and as it is checked."""


@dataclass(frozen=True)
class BlockLayer:
    """The source paper's layout: kept pixel blocks and a diffusion fill instead of a base layer.

    Rate is ``keep`` (the fraction of blocks kept) or the encoder's ``bpp``. The defaults (4×4
    blocks, coarse quantisers) gave the best SSIM of the block settings tried on six Kodak images
    (benchmarks/RESULTS.md): at a fixed rate, more kept blocks beat more precise ones.
    """

    keep: float | None = option(None, "fraction of blocks to keep, 0..1 (instead of --bpp)", type=float, metavar="F")
    scheme: str = option("edge+random", "which blocks to keep", choices=tuple(container.SCHEMES))
    block: int = option(4, "block side in pixels, 1..64", type=int, metavar="N")
    q_luma: int = option(24, "luma quantiser step, 1..255", type=int, metavar="Q")
    q_chroma: int = option(32, "chroma quantiser step, 1..255", type=int, metavar="Q")
    chroma_shift: int = option(1, "1: chroma at half resolution inside kept blocks (needs an even block)",
                               type=int, choices=(0, 1))
    random_share: float = option(0.25, "share of edge+random's blocks drawn at random, 0..1", type=float, metavar="R")
    seed: int = option(0, "seed of the random block choice", type=int, flag="--block-seed", metavar="S")

    def __post_init__(self) -> None:
        for name in ("block", "q_luma", "q_chroma", "chroma_shift", "seed"):
            _require_type(name, getattr(self, name), INTEGER)
        _require_type("random_share", self.random_share, NUMBER)
        if self.keep is not None:
            _require_type("keep", self.keep, NUMBER)
        _require_type("scheme", self.scheme, STRING)
        if self.keep is not None and not 0 <= self.keep <= 1:
            msg = f"keep {self.keep} outside [0, 1]"
            raise AbcError(msg)
        if self.scheme not in container.SCHEMES:
            msg = f"scheme {self.scheme!r} is not one of {', '.join(container.SCHEMES)}"
            raise AbcError(msg)
        if not 0 <= self.random_share <= 1:
            msg = f"random_share {self.random_share} outside [0, 1]"
            raise AbcError(msg)
        if self.seed < 0:
            msg = f"seed {self.seed} must be a non-negative integer"
            raise AbcError(msg)


@dataclass(frozen=True)
class EncodeOptions:
    """The encoder's options; validated once, here.

    Rate is set by ``quality`` (one AV1 quantizer, :attr:`base_quality`), ``bpp`` (file bytes × 8 /
    pixels, the whole file counted) or, for the block layer, by ``blocks.keep``; with none, the
    base layer is coded at ``DEFAULT_QUALITY`` and the block layer at ``DEFAULT_BPP``. By default the rate goes
    to the base layer (an AV1 frame, coded at ``speed``); ``blocks`` asks for the
    source paper's layout instead (:class:`BlockLayer`; ``True`` or a dict of its fields is
    accepted too).

    ``inpainter`` is the decoder the file asks for: "ppgn", the generative decoder (steps and
    loss weights into HEAD, generative/descent.py), or "diffusion", the fast decode it starts from;
    None (the default) chooses by rate (:attr:`decoder`) and, from ``effort`` 1, by running
    G on the image (effort.py), which ``effort`` 2 also codes at slower AV1 speeds. ``assist`` names assistant statistics
    of the original to store for the descent (keys of ``assist.KINDS``; a comma-separated string
    is accepted), each an ancillary chunk whose bytes come out of the rate; none by default
    (benchmarks/RESULTS.md says why). ``ablation`` is how strongly an importance map given to
    :func:`codec.encode` moves the rate toward what it ranks first (importance.emphasis). ``metadata`` names what of the input's ICC profile, EXIF, XMP
and dpi the file carries (all by default; "none" or () strips them).
    """

    bpp: float | None = option(None, "target bits per pixel of the whole file, instead of a quality "
                                      f"(the default without a base layer: {DEFAULT_BPP})", type=float, metavar="B")
    quality: int | None = option(None, "0 (smallest) .. 100: a fixed quality instead of a rate, one AV1 quantizer "
                                       "calibrated so that equal quality means about equal SSIM "
                                       f"(default {DEFAULT_QUALITY}: about AVIF's default SSIM)", type=int,
                                 metavar="Q", flags=("-q", "--quality"))
    speed: int = option(DEFAULT_SPEED, f"AV1 encoder effort for the base layer, {SPEED_RANGE[0]} (slowest, "
                                       f"smallest) .. {SPEED_RANGE[1]}", type=int, metavar="N")
    inpainter: str | None = option(None, "the decoder the file asks for: ppgn refines the fast decode with the "
                                         "generative decoder, diffusion is the fast decode alone "
                                         f"(default: ppgn up to {GENERATIVE_MAX_BPP} bpp where it gains at least "
                                         f"{MIN_GENERATIVE_GAIN} SSIM, see --effort; diffusion elsewhere)",
                                   choices=AVAILABLE_INPAINTERS)
    effort: int = option(MEASURES_GENERATOR, f"how hard the encoder looks, {EFFORT_RANGE[0]}..{EFFORT_RANGE[1]}: "
                                             "0 names the decoder by rate alone; 1 runs the generative decoder on "
                                             "a sample of the image and names it only where it gains; "
                                             f"{TRIES_SLOWER_SPEEDS} also codes the base at AV1 speeds 5 and 4 "
                                             "and keeps the best (several times slower)", type=int, metavar="N")
    steps: int = option(Params.steps, f"latent descent steps the generative decoder takes (default {Params.steps})",
                        type=int, metavar="N")
    assist: tuple[str, ...] = option((), "store statistics of the original for the generative decoder: the "
                                         "classifier's top classes (class, 19 bytes in the file) and/or E's Gram "
                                         "matrix (style, 337 bytes); their bytes come out of the rate (needs --steps)",
                                     metavar="class,style")
    ablation: float = option(DEFAULT_ABLATION, "how strongly an importance map or --roi moves bytes: the most "
                                               "important area asks for 2^S times the rate, the least 2^-S "
                                               f"(0 ignores the map, at most {MAX_ABLATION:g}; default {DEFAULT_ABLATION:g})",
                             type=float, metavar="S")
    metadata: tuple[str, ...] = option(tuple(METADATA_KINDS), "which of the input's metadata to carry: "
                                       f"{','.join(METADATA_KINDS)}, all or none (default all)", metavar="LIST")
    blocks: BlockLayer | None = option(None, "no coarse base layer: spend the rate on kept blocks only "
                                             "(the source paper's layout; no quality scale: --bpp, "
                                             f"default {DEFAULT_BPP}, or --keep)", flag="--no-base")

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", _as_block_layer(self.blocks))
        if self.bpp is not None:
            _require_type("bpp", self.bpp, NUMBER)
        if self.inpainter is not None:
            _require_type("inpainter", self.inpainter, STRING)
        _require_type("steps", self.steps, INTEGER)
        _require_type("effort", self.effort, INTEGER)
        if not EFFORT_RANGE[0] <= self.effort <= EFFORT_RANGE[1]:
            msg = f"effort {self.effort} outside {EFFORT_RANGE[0]}..{EFFORT_RANGE[1]}"
            raise AbcError(msg)
        object.__setattr__(self, "ablation", check_ablation(self.ablation))
        object.__setattr__(self, "metadata", selected_metadata(self.metadata))
        self._check_layers()
        self._check_assist()
        if self.steps != EncodeOptions.steps and self.decoder != "ppgn":
            msg = "steps sets the generative decoder's descent; it needs inpainter 'ppgn'"
            raise AbcError(msg)
        if self.bpp is not None and not 0 < self.bpp <= 64:
            msg = f"bpp {self.bpp} outside (0, 64]"
            raise AbcError(msg)
        if self.inpainter is not None and self.inpainter not in AVAILABLE_INPAINTERS:
            msg = f"inpainter {self.inpainter!r} is not available (choose from {', '.join(AVAILABLE_INPAINTERS)})"
            raise AbcError(msg)
        header_for(self, width=1, height=1, mode=container.MODE_RGB)

    def _check_layers(self) -> None:
        """One rate control at most, and the base layer's effort in range."""
        if self.bpp is not None and self.blocks is not None and self.blocks.keep is not None:
            msg = "give bpp or keep, not both"
            raise AbcError(msg)
        if self.quality is not None:
            _require_type("quality", self.quality, INTEGER)
            if not 0 <= self.quality <= 100:
                msg = f"quality {self.quality} outside 0..100"
                raise AbcError(msg)
            if self.bpp is not None or self.blocks is not None:
                msg = "quality sets the base layer's AV1 quantizer: give quality or bpp, and no block layer"
                raise AbcError(msg)
        _require_type("speed", self.speed, INTEGER)
        if not SPEED_RANGE[0] <= self.speed <= SPEED_RANGE[1]:
            msg = f"speed {self.speed} outside {SPEED_RANGE[0]}..{SPEED_RANGE[1]}"
            raise AbcError(msg)

    def _check_assist(self) -> None:
        """``assist`` as a sorted tuple of known names, and only for the generative decoder."""
        names = self.assist.split(",") if isinstance(self.assist, str) else self.assist
        if not isinstance(names, (tuple, list)) or not all(isinstance(name, str) for name in names):
            msg = f"assist must be a list of names or a comma-separated string, got {self.assist!r}"
            raise AbcError(msg)
        names = tuple(sorted({name.strip() for name in names if name.strip()}))
        unknown = [name for name in names if name not in ASSIST_KINDS]
        if unknown:
            msg = f"assist {', '.join(unknown)} is not one of {', '.join(ASSIST_KINDS)}"
            raise AbcError(msg)
        if names and (self.inpainter == "diffusion" or not self.steps):
            msg = ("assist statistics act through the generative decoder's descent: they need inpainter 'ppgn' "
                   "and steps > 0 (--steps N)")
            raise AbcError(msg)
        object.__setattr__(self, "assist", names)

    @property
    def decoder(self) -> str:
        """The inpainter the file names, before the rate is known (:meth:`decoder_at`)."""
        return self.decoder_at(self.bpp)

    def decoder_at(self, bpp: float | None) -> str:
        """The inpainter a file of ``bpp`` names by rate: ``inpainter`` if given, else the generative
        decoder unless the rate is above GENERATIVE_MAX_BPP and no descent was asked for. From
        ``effort`` 1 a base-layer file the rate gives G names the fast decode instead where G,
        run on it, gains too little (effort.py)."""
        if self.inpainter is not None:
            return self.inpainter
        generative = self.steps or bpp is None or bpp <= GENERATIVE_MAX_BPP
        return "ppgn" if generative else "diffusion"

    @property
    def base_quality(self) -> int | None:
        """The quality the base layer is coded at: ``quality``, or DEFAULT_QUALITY when no rate
        was given; None when the rate is a target (``bpp``) or the block layer takes it."""
        if self.quality is not None or self.bpp is not None or self.blocks is not None:
            return self.quality
        return DEFAULT_QUALITY

    def byte_budget(self, width: int, height: int) -> int:
        """Bytes the whole file may take at ``bpp`` (or DEFAULT_BPP)."""
        bpp = DEFAULT_BPP if self.bpp is None else self.bpp
        return int(bpp * width * height / 8)


def _as_block_layer(value: object) -> BlockLayer | None:
    """``blocks`` as given from Python, Pillow's save() or the command line."""
    if value is None or value is False:
        return None
    if value is True:
        return BlockLayer()
    if isinstance(value, dict):
        unknown = sorted(set(value) - {f.name for f in dataclasses.fields(BlockLayer)})
        if unknown:
            msg = f"blocks: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
            raise AbcError(msg)
        return BlockLayer(**value)
    if not isinstance(value, BlockLayer):
        msg = f"blocks must be a BlockLayer, a dict of its fields, True or None, got {value!r}"
        raise AbcError(msg)
    return value


def _require_type(name: str, value: object, kind: tuple[str, Callable[[object], bool]]) -> None:
    """Options arrive from keyword arguments and Pillow's save(); a wrong type is named, not a TypeError."""
    wanted, check = kind
    if not check(value):
        msg = f"{name} must be {wanted}, got {value!r}"
        raise AbcError(msg)


def header_for(options: EncodeOptions, *, width: int, height: int, mode: int, has_importance: bool = False,
               bpp: float | None = None, decoder: str | None = None) -> Header:
    """The header an encode with these options writes; building it runs the container's checks.

    ``bpp`` is the file's rate where it is known only after coding (``quality``), else the
    options' own. ``decoder`` is the inpainter the encoder chose by decoding (effort.py), else
    the one the rate names. A file without the block layer still carries its fields: the defaults.
    """
    blocks = options.blocks or BlockLayer()
    decoder = decoder or options.decoder_at(options.bpp if bpp is None else bpp)
    return Header(
        width=width, height=height, mode=mode, block=blocks.block, q_luma=blocks.q_luma,
        q_chroma=blocks.q_chroma, chroma_shift=blocks.chroma_shift, scheme=_scheme_id(blocks, has_importance),
        inpainter=INPAINTER_IDS[decoder], **_generative_fields(options, decoder),
    )


def _scheme_id(blocks: BlockLayer, has_importance: bool) -> int:
    """§3: an importance map makes the order no scheme of the table, so it is written as "other"."""
    return container.SCHEME_OTHER if has_importance else container.SCHEMES[blocks.scheme]


def _generative_fields(options: EncodeOptions, decoder: str) -> dict:
    """Steps, decoder parameters and the generator's hash, for a file made for the generative decoder."""
    if decoder != "ppgn":
        return {}
    generator = packaged_generator_hash()[: container.GENERATOR_ID_SIZE[container.VERSION]]
    if not options.steps:
        return {"generator": generator}
    floats = params_for(options.steps, options.assist).floats()
    padded = floats + (0.0,) * (container.N_DECODER_PARAMS - len(floats))
    return {"steps": options.steps, "params": padded, "generator": generator}

