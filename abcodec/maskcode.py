"""Lossless coding of the block mask: the payload of the MASK chunk (format_spec/abc.md §6, normative there).

Masks are either near random (nothing to gain beyond the entropy of the kept fraction) or
spatially clustered (blocks along edges, a square region), where a block's neighbours predict
it well. A raster-scan context model would predict well too, but adapting it block by block
needs a Python loop per block, and masks reach 67 M blocks. So the mask is coded
coarse-to-fine instead (§6.1): every pass codes a lattice of blocks whose context neighbours
were all decoded by earlier passes, so a pass's contexts are known before it starts and the pass
costs a handful of vectorised entropy-coder calls. The D2 pass has contexts of its own because
on a straight edge the D1 blocks beside a D2 block say which side of the edge it lies on, which
its corners cannot; finer contexts (neighbour patterns rather than counts, a table per pass or
level) cost more in learning on masks of a few thousand blocks than they gain on large ones.

Probabilities adapt per chunk of a pass, not per block (§6.2): small first chunks let a table
learn quickly, the cap keeps the counts adapting and bounds one coder call on huge masks. The
integer Krichevsky–Trofimov estimate lets any decoder compute them exactly; constriction's
Bernoulli model then quantises them (§6.3), which is why the package pins constriction.
"""

from __future__ import annotations

from collections.abc import Iterator

import constriction
import numpy as np

from .container import AbcError

PROB_BITS = 16
"""§6.2. Probabilities are integers in units of 2^-PROB_BITS, so encoder and decoder agree exactly."""

PROB_ONE = 1 << PROB_BITS

FIRST_CHUNK = 16
"""§6.2. Blocks in the first chunk of a pass; each further chunk doubles, up to MAX_CHUNK."""

MAX_CHUNK = 4096
"""§6.2. Largest chunk: keeps the counts adapting and bounds the memory of one coder call."""

SHARED_CONTEXTS = 5
"""§6.1. Contexts 0..4 (kept neighbours), shared by block (0, 0) and the D1, H and V passes."""

D2_CONTEXTS = 9
"""§6.1. Contexts of the D2 pass (0..8 kept neighbours), numbered from SHARED_CONTEXTS on."""

N_CONTEXTS = SHARED_CONTEXTS + D2_CONTEXTS

WORD_BYTES = 4
"""§6.3. The ANS coder emits 32-bit words, stored little-endian."""

MAX_BITS_PER_BLOCK = 17
"""§5, §6.3. Most bits one block can add to the payload: §6.2 clamps P(kept) to 1 .. 2^16 - 1
units of 2^-16, which the 24-bit quantisation keeps at 2^-16 or more either way (16 bits), and
the ANS state's rounding adds under 0.01 bit a symbol; 17 is that, rounded up."""

FINAL_STATE_WORDS = 2
"""§6.3. Words of the coder's 64-bit state flushed after the last block."""

_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)


def encode_mask(mask: np.ndarray) -> bytes:
    """The MASK chunk payload for a 2-D bool mask (True = block kept).

    The counts are built by the same pass walk the decoder runs; only then are the chunks
    coded, last first, because the ANS coder is a stack.
    """
    if mask.dtype != bool or mask.ndim != 2 or mask.size == 0:
        msg = f"MASK: mask must be a non-empty 2-D bool array, got {mask.dtype} {mask.shape}"
        raise AbcError(msg)
    chunks = []
    counts = _Counts()
    for context, bits in _passes(mask.astype(np.uint8)):
        for start, stop in _chunk_bounds(len(context)):
            chunks.append((counts.probabilities(), context[start:stop], bits[start:stop]))
            counts.update(context[start:stop], bits[start:stop])
    encoder = constriction.stream.stack.AnsCoder()
    for probabilities, context, bits in reversed(chunks):
        encoder.encode_reverse(bits.astype(np.int32), _BERNOULLI, probabilities[context])
    return encoder.get_compressed().astype("<u4").tobytes()


def decode_mask(payload: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The mask of `shape` in a MASK payload.

    Raises AbcError unless the payload is exactly what encode_mask writes for some mask of this
    shape: ANS decoding never fails by itself, so the only checks are the length (a multiple of
    4, at most :func:`max_payload_size`) and that the decoder ends empty (integrity is the chunk
    CRC's job).
    """
    if len(payload) % WORD_BYTES:
        msg = f"MASK chunk: length {len(payload)} is not a multiple of {WORD_BYTES}"
        raise AbcError(msg)
    if len(payload) > max_payload_size(shape):
        msg = f"MASK chunk: length {len(payload)} is more than a {shape[0]}x{shape[1]} grid can need ({max_payload_size(shape)})"
        raise AbcError(msg)
    grid = np.zeros(shape, np.uint8)
    counts = _Counts()
    try:
        decoder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, "<u4").astype(np.uint32))
        for context, bits in _passes(grid):
            for start, stop in _chunk_bounds(len(context)):
                bits[start:stop] = decoder.decode(_BERNOULLI, counts.probabilities()[context[start:stop]])
                counts.update(context[start:stop], bits[start:stop])
        exhausted, left_bits = decoder.is_empty(), decoder.num_bits()
    except Exception as e:
        msg = f"MASK chunk: ANS data rejected by the entropy decoder: {e}"
        raise AbcError(msg) from e
    if not exhausted:
        msg = f"MASK chunk: {left_bits // 8} bytes of ANS data left after decoding {grid.size} blocks"
        raise AbcError(msg)
    return grid.astype(bool)


def max_payload_size(shape: tuple[int, int]) -> int:
    """Longest MASK payload a grid of `shape` can need (§5): MAX_BITS_PER_BLOCK a block in whole
    words, plus the final state. Longer payloads are refused before the entropy decoder runs."""
    bulk_words = -(-shape[0] * shape[1] * MAX_BITS_PER_BLOCK // (8 * WORD_BYTES))
    return WORD_BYTES * (bulk_words + FINAL_STATE_WORDS)


class _Counts:
    """Blocks coded and blocks kept per context: the adaptive state both sides build identically."""

    def __init__(self) -> None:
        self.total = np.zeros(N_CONTEXTS, np.int64)
        self.kept = np.zeros(N_CONTEXTS, np.int64)

    def probabilities(self) -> np.ndarray:
        """P(kept) per context (§6.2), as floats that are exact multiples of 2^-16."""
        units = ((2 * self.kept + 1) << PROB_BITS) // (2 * self.total + 2)
        return np.clip(units, 1, PROB_ONE - 1) / PROB_ONE

    def update(self, context: np.ndarray, bits: np.ndarray) -> None:
        self.total += np.bincount(context, minlength=N_CONTEXTS)
        self.kept += np.bincount(context[bits != 0], minlength=N_CONTEXTS)


def _chunk_bounds(n: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of a pass's chunks (§6.2): 16, 32, 64, … blocks, at most MAX_CHUNK each."""
    start, size = 0, FIRST_CHUNK
    while start < n:
        yield start, min(n, start + size)
        start, size = start + size, min(2 * size, MAX_CHUNK)


def _passes(grid: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(contexts, bits) of every pass in decoding order (§6.1), as flat uint8 arrays.

    The caller reads `bits` (encoder) or fills it in (decoder); when it asks for the next pass,
    the bits are stored into `grid`, where later passes read their contexts.
    """
    yield np.zeros(1, np.uint8), grid[:1, 0]
    for d in _level_steps(max(grid.shape)):
        yield from _level_passes(grid, d)


def _level_steps(longest_side: int) -> list[int]:
    """Level steps, coarse to fine: every power of two below the longest side, largest first."""
    return [1 << k for k in reversed(range((longest_side - 1).bit_length()))]


def _level_passes(grid: np.ndarray, d: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The D1, D2, H and V passes of level step d, each yielded once its contexts are known."""
    s = 2 * d
    coarse = grid[::s, ::s]
    diagonal = grid[d::s, d::s]
    shape = diagonal.shape
    corners = sum(_shifted(coarse, shape, dr, dc) for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)))
    even = (np.arange(shape[0]) % 2 == 0)[:, None] == (np.arange(shape[1]) % 2 == 0)
    yield from _pass(diagonal, corners, even)
    beside = sum(_shifted(diagonal, shape, dr, dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)))
    yield from _pass(diagonal, corners + beside + SHARED_CONTEXTS, ~even)
    horizontal = grid[::s, d::s]
    yield from _pass(horizontal, _axial(coarse, diagonal, horizontal.shape))
    vertical = grid[d::s, ::s]
    yield from _pass(vertical, _axial(coarse.T, diagonal.T, vertical.T.shape).T)


def _axial(coarse: np.ndarray, diagonal: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Kept count around H blocks: the coarse blocks left and right, the diagonal ones above and below.

    V blocks are the H blocks of the transposed grid, so callers transpose rather than repeat this.
    """
    return (_shifted(coarse, shape, 0, 0) + _shifted(coarse, shape, 0, 1)
            + _shifted(diagonal, shape, -1, 0) + _shifted(diagonal, shape, 0, 0))


def _pass(
    lattice: np.ndarray, context: np.ndarray, selected: np.ndarray | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the pass over the (selected) blocks of a lattice view, then store its bits in the view."""
    if selected is None:
        bits = lattice.ravel().copy()
        yield context.ravel(), bits
        lattice[...] = bits.reshape(lattice.shape)
    else:
        bits = lattice[selected]
        yield context[selected], bits
        lattice[selected] = bits


def _shifted(values: np.ndarray, shape: tuple[int, ...], dr: int, dc: int) -> np.ndarray:
    """values[i + dr, j + dc] for every (i, j) of `shape`, 0 where that falls outside `values`."""
    out = np.zeros(shape, np.uint8)
    r0, r1 = max(0, -dr), min(shape[0], values.shape[0] - dr)
    c0, c1 = max(0, -dc), min(shape[1], values.shape[1] - dc)
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = values[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
    return out
