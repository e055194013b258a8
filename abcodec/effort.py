"""How hard the encoder looks (``EncodeOptions.effort``): it has the original, so it decodes what it
coded, with the decoder's own functions, and keeps what earns.

- Effort 0: the rate alone names the decoder (``EncodeOptions.decoder_at``): the generative
  decoder up to ``options.GENERATIVE_MAX_BPP``, the fast decode above.
- Effort 1, the default: where the rate would name the generative decoder (and neither an
  inpainter nor descent steps were asked for), G is run over the fast decode on a sample of its
  tiles and named only if its SSIM gain reaches MIN_GENERATIVE_GAIN; otherwise the file names
  the fast decode, which decodes many times faster.
- Effort 2: the base is coded at SLOWER_SPEEDS too, and of the payloads within the bytes the one
  whose fast decode has the best SSIM is kept; then as effort 1.

The decision changes HEAD's inpainter only: the BASE payload is chosen before it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .container import AbcFile
from .generative.settings import generator_inputs
from .generative.tiles import tile_starts, tiles
from .reconstruct import fast_decode

EFFORT_RANGE = (0, 2)
"""Efforts the encoder knows, from naming the decoder by rate alone to trying slower AV1 speeds."""

MEASURES_GENERATOR = 1
"""The effort from which the encoder runs G on its own payload before naming it; the default."""

TRIES_SLOWER_SPEEDS = 2
"""The effort from which the base is coded at SLOWER_SPEEDS too."""

SLOWER_SPEEDS = (5, 4)
"""AV1 speeds effort 2 tries beside ``EncodeOptions.speed``: on BSDS500 val speed 5 is −2.7 % BD-rate
on SSIM for 3.6× the encode time, speed 4 −3.6 % for 5× (benchmarks/RESULTS.md, "AV1 encoder
settings tried")."""

MIN_GENERATIVE_GAIN = 0.0056
"""The SSIM G must add over the fast decode for a file to name it: the price of G's decode time. Set
once, with the first (blind) G, by the rule that G's time is spent only where it buys at least the
SSIM per second it bought on average when the rate alone named it: the mean gain over those files,
+0.0056 on BSDS500 val at 0.05–0.3 bpp (G's time per pixel being about constant). A later G that
costs the same time pays the same price; measuring the mean again with a better G would raise the
bar and name the better G less often (benchmarks/RESULTS.md, "The encoder decides by measuring the
decode"; ``python -m benchmarks.decoder_choice ../shared/data/bsds500/val``)."""

SAMPLED_TILES = 2
"""G's tiles (generative/tiles.py) the gain is measured on, so that measuring costs at most two tiles'
worth of G however large the image: a Kodak image is one tile, a 12 MP photo 20."""

MIN_MEASURED_SIDE = 7
"""SSIM's window (abcodec.ssim.WINDOW): a smaller image cannot be measured, and is given the fast decode."""


def measures_generator(effort: int, inpainter: str | None, steps: int) -> bool:
    """Whether the encoder runs G before naming it: an explicit inpainter, or descent steps (which
    only the generative decoder takes), were asked for and win."""
    return effort >= MEASURES_GENERATOR and inpainter is None and not steps


def sampled_tiles(shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """The tiles of an (H, W) image the gain is measured on: SAMPLED_TILES points on its diagonal,
    at (2i + 1) / (2 · SAMPLED_TILES) of the rows and of the columns of tiles (a quarter and three
    quarters of the way), each point's tile once: fixed by the size alone, away from the corners."""
    rows, columns = len(tile_starts(shape[0])), len(tile_starts(shape[1]))
    windows = tiles(shape)
    picked = sorted({(2 * i + 1) * rows // (2 * SAMPLED_TILES) * columns + (2 * i + 1) * columns // (2 * SAMPLED_TILES)
                     for i in range(SAMPLED_TILES)})
    return [windows[index] for index in picked]


def generative_gain(original: np.ndarray, abc: AbcFile) -> float:
    """G's SSIM gain over the fast decode of ``abc`` on the sampled tiles, their mean (the tiles are
    of one size). Each tile is what the decoder makes of it, onnx_generator.generate on the fast
    decode with the generator the file names and what it reads of the file (settings.generator_inputs),
    but where a neighbouring tile's blend reaches it; an image of one tile is measured exactly as it
    will be decoded."""
    from .generative import onnx_generator  # deferred, as in the decoder
    from .ssim import ssim  # deferred: scipy, which decoding does not need

    generator, conditions = generator_inputs(abc)
    fill, known = fast_decode(abc)
    gains = []
    for window in sampled_tiles(known.shape):
        made = onnx_generator.generate(fill[window], known[window], generator=generator, conditions=conditions)
        gains.append(ssim(original[window], made) - ssim(original[window], fill[window]))
    return float(np.mean(gains))


def generator_pays(original: np.ndarray, abc: AbcFile) -> bool:
    """Whether G gains at least MIN_GENERATIVE_GAIN on ``abc``'s fast decode; an image too small to
    measure does not show a gain."""
    if min(original.shape[:2]) < MIN_MEASURED_SIDE:
        return False
    return generative_gain(original, abc) >= MIN_GENERATIVE_GAIN


def best_payload(original: np.ndarray, coded_at: Callable[[int], bytes], speed: int, effort: int,
                 budget: int | None, file_for: Callable[[bytes], AbcFile]) -> bytes:
    """The BASE payload ``coded_at(speed)`` makes; from TRIES_SLOWER_SPEEDS, of it and the payloads
    ``coded_at`` makes at SLOWER_SPEEDS, the one whose fast decode has the best SSIM among those
    within ``budget`` bytes (None, a quality's one quantizer: the bytes of the payload at ``speed``;
    nor less than those bytes where that payload missed the budget, as the rate search may)."""
    payload = coded_at(speed)
    if effort < TRIES_SLOWER_SPEEDS or min(original.shape[:2]) < MIN_MEASURED_SIDE:
        return payload
    from .ssim import ssim  # deferred: scipy, which decoding does not need

    limit = len(payload) if budget is None else max(budget, len(payload))
    candidates = [payload] + [coded_at(slower) for slower in SLOWER_SPEEDS if slower != speed]
    fitting = [candidate for candidate in candidates if len(candidate) <= limit]
    return max(fitting, key=lambda candidate: ssim(original, fast_decode(file_for(candidate))[0]))
