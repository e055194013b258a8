"""Quantised DCT coefficients of the base layer <-> bytes, with constriction ANS (format_spec/abc.md §10.1).

zstd sees the coefficients as bytes; it cannot know that a band's values shrink with frequency
or that a coefficient is likely zero when its lower-frequency neighbours are. An adaptive model
that does know cost 13–20 % fewer bytes than zstd on Kodak base layers at the same indices (a
scratch measurement while designing the coder; benchmarks/RESULTS.md has what it did to the
rate–distortion curve), and bytes saved are rate the base can spend on a finer step.

The model is normative in §10.1: each value has a quantised Laplace distribution of mean 0
whose scale is the running mean |value| of its band and context class (how large its block's
lower-frequency neighbours are), over the chunks of the band coded so far, pulled towards the
previous band's estimate while there is little data. Its constants are below.

Decoding is vectorised per chunk (at most 64 · ``MAX_BAND_CHUNKS`` model evaluations per plane,
whatever the image size). Version 2 files are no longer written; the writer, which computes
every scale with the same pass (:func:`_chunks`), is tests/v2_encoder.py.
"""

from __future__ import annotations

import numpy as np

from .container import AbcError

BLOCK_SAMPLES = 64
"""§10 step 3: values per 8×8 block."""

BAND_ORDER = np.argsort(np.add.outer(np.arange(8), np.arange(8)).ravel(), kind="stable")
"""§10.1 step 1: row-major band indices u·8 + v sorted by u + v, ties by u."""

MAX_VALUE = 8191
"""Largest |value|: coarse samples are within −32 … 287, so with a step ≥ 0.5 an AC index is at
most 5120 in magnitude and a DC difference at most 5120; the range leaves a margin."""

CONTEXT_EDGES = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
"""§10.1 step 2: a value's class counts the edges strictly below its neighbours' mean |value|."""

PRIOR_WEIGHT = 4.0
"""§10.1 step 3: how many values the prior counts for while a band has little data of its own."""

SCALE_FACTOR = 1.2
SCALE_FLOOR = 0.1
"""§10.1 step 3: the scale is max(SCALE_FACTOR · estimate, SCALE_FLOOR); a Laplace scale a little
above the mean |value| paid off for the heavy tails of real coefficients."""

DC_PRIOR = 8.0
FIRST_AC_PRIOR = 1.0
"""§10.1 step 3: the priors p_k of the DC band and of band (0, 1); later bands start from the previous band."""

MAX_BAND_CHUNKS = 32
MIN_CHUNK_BLOCKS = 64
"""§10.1 step 1: a band is cut into min(MAX_BAND_CHUNKS, ⌈n / MIN_CHUNK_BLOCKS⌉) chunks, the unit the
model adapts by; the cap bounds the decoder's model evaluations whatever the image size."""

N_CLASSES = len(CONTEXT_EDGES) + 1

_U, _V = np.divmod(np.arange(BLOCK_SAMPLES), 8)
_UP = np.where(_U > 0, np.arange(BLOCK_SAMPLES) - 8, -1)
_LEFT = np.where(_V > 0, np.arange(BLOCK_SAMPLES) - 1, -1)


def _model():
    import constriction

    return constriction.stream.model.QuantizedLaplace(-MAX_VALUE, MAX_VALUE)


def chunk_bounds(n_blocks: int) -> np.ndarray:
    """Chunk starts and the end: min(MAX_BAND_CHUNKS, ⌈n / MIN_CHUNK_BLOCKS⌉) chunks of near-equal size."""
    chunks = max(1, min(MAX_BAND_CHUNKS, -(-n_blocks // MIN_CHUNK_BLOCKS)))
    return (np.arange(chunks + 1) * n_blocks) // chunks


def _classes(values: np.ndarray, band: int) -> np.ndarray:
    """Context class of every block's value in ``band`` from its already-known neighbours."""
    if band == 0:
        return np.zeros(values.shape[0], np.int64)
    neighbours = [values[:, nb] for nb in (_UP[band], _LEFT[band]) if nb >= 0]
    mean = np.mean(np.abs(np.stack(neighbours)), axis=0)
    return np.searchsorted(CONTEXT_EDGES, mean, side="left")


def _chunks(values: np.ndarray, decode_chunk=None):
    """The model's pass over one plane's (n, 64) values (row-major bands, DC as differences).

    Yields each chunk's scales and values in coding order. With ``decode_chunk`` (scales ->
    values), the chunk's values are decoded into ``values`` before they are used.
    """
    n = values.shape[0]
    bounds = chunk_bounds(n)
    previous = np.full(N_CLASSES, FIRST_AC_PRIOR)
    for band in BAND_ORDER:
        classes = _classes(values, band)
        prior = np.full(N_CLASSES, DC_PRIOR) if band == 0 else previous
        total, count = np.zeros(N_CLASSES), np.zeros(N_CLASSES)
        for start, end in zip(bounds[:-1], bounds[1:]):
            estimate = (total + PRIOR_WEIGHT * prior) / (count + PRIOR_WEIGHT)
            chunk_scales = np.maximum(SCALE_FACTOR * estimate[classes[start:end]], SCALE_FLOOR)
            if decode_chunk is not None:
                values[start:end, band] = decode_chunk(chunk_scales)
            chunk = values[start:end, band]
            total += np.bincount(classes[start:end], weights=np.abs(chunk), minlength=N_CLASSES)
            count += np.bincount(classes[start:end], minlength=N_CLASSES)
            yield chunk_scales, chunk
        if band != 0:
            previous = (total + PRIOR_WEIGHT * prior) / (count + PRIOR_WEIGHT)


def decode_planes(data: bytes, block_counts: list[int]) -> list[np.ndarray]:
    """Each plane's (n, 64) values (row-major bands, DC band as differences) from the coded bytes,
    given each plane's block count; bad data is an AbcError."""
    import constriction

    if len(data) % 4:
        msg = f"BASE: {len(data)} bytes of coefficient data are not a whole number of 32-bit words"
        raise AbcError(msg)
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, "<u4").astype(np.uint32))
    except ValueError as e:
        msg = f"BASE: coefficient data is not an ANS stream ({e})"
        raise AbcError(msg) from e
    model = _model()

    def decode_chunk(scales: np.ndarray) -> np.ndarray:
        return coder.decode(model, np.zeros_like(scales), scales)

    planes = []
    for n in block_counts:
        values = np.zeros((n, BLOCK_SAMPLES), np.int64)
        for _ in _chunks(values, decode_chunk):
            pass
        planes.append(values)
    if not coder.is_empty():
        msg = "BASE: coefficient data does not end where the last coefficient does (corrupt or foreign file)"
        raise AbcError(msg)
    return planes
