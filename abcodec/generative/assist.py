"""Assistant statistics: what the encoder measures on the original for the generative decoder.

Losses that need the original may only see it through
statistics stored in the file, each an optional chunk whose bytes count:

* the **class code**: the indices of the classifier C's top-k classes on the original, for L_C;
* the **Gram statistics**: the Gram matrix of E's latent features of the original, quantised,
  for L_style.

Each has a measuring function (torch, the encoder side), and a ``pack_*``/``unpack_*`` pair
(numpy only, so that reading a file does not import torch) whose reader refuses anything the
writer cannot produce with :class:`~abcodec.container.AbcError`. Multi-byte fields are
big-endian, as in the container. They travel as the ancillary chunks ``clas`` and ``gram``
(format_spec/abc.md §11): a decoder without the generative decoder skips them.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

import numpy as np

from ..container import CHUNK_CLAS, CHUNK_GRAM, AbcError

KINDS = {"class": CHUNK_CLAS, "style": CHUNK_GRAM}
"""The encoder's names for the statistics (``abc-encode --assist class,style``) and their chunks."""

N_CLASSES = 1000
"""ImageNet classes of C."""

MAX_TOP_K = 8
"""Longest class code; 3 is the default, as the top classes are often near-synonyms."""

DEFAULT_TOP_K = 3

MAX_GRAM_CHANNELS = 64
"""Most channels a Gram chunk may describe (E's latent has 24): bounds the payload at 2.1 KB."""

CORRELATION_LEVELS = 127
"""Correlations are stored as round(127·r), r in [−1, 1]: int8 without −128."""


def pack_class_code(classes: np.ndarray) -> bytes:
    """Class code payload: k (1 byte, 1..8), then k class indices (uint16, each < 1000, distinct),
    most probable first. 1 + 2k bytes: 7 for k = 3."""
    classes = np.asarray(classes)
    _check_classes(classes)
    return struct.pack(f">B{len(classes)}H", len(classes), *(int(c) for c in classes))


def unpack_class_code(payload: bytes) -> np.ndarray:
    """The class indices of a class code payload, as int64 (k,); AbcError if malformed."""
    if len(payload) < 1:
        msg = "class code: empty payload"
        raise AbcError(msg)
    k = payload[0]
    if len(payload) != 1 + 2 * k:
        msg = f"class code: {len(payload)} bytes for k = {k}, expected {1 + 2 * k}"
        raise AbcError(msg)
    classes = np.array(struct.unpack(f">{k}H", payload[1:]), dtype=np.int64)
    _check_classes(classes)
    return classes


def _check_classes(classes: np.ndarray) -> None:
    if classes.ndim != 1 or not 1 <= len(classes) <= MAX_TOP_K:
        msg = f"class code: k = {len(classes) if classes.ndim == 1 else classes.shape}, expected 1..{MAX_TOP_K}"
        raise AbcError(msg)
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0 or classes.max() >= N_CLASSES:
        msg = f"class code: classes {classes.tolist()} outside 0..{N_CLASSES - 1}"
        raise AbcError(msg)
    if len(set(classes.tolist())) != len(classes):
        msg = f"class code: repeated class in {classes.tolist()}"
        raise AbcError(msg)


def pack_gram(gram: np.ndarray) -> bytes:
    """Gram payload for a symmetric (C, C) matrix, quantised to 1 + 2C + C(C−1)/2 bytes (325 for C = 24).

    Layout: C (1 byte, 1..64); C channel scales s_i = sqrt(G_ii) as float16; then the
    correlations r_ij = G_ij / (s_i s_j) for i < j in row-major order, each as the int8
    round(127·r_ij) in −127..127 (0 where a scale is 0). Scale and correlation separately,
    because the diagonal is much larger than most entries, which a shared scale would zero.
    """
    gram = np.asarray(gram, dtype=np.float64)
    channels = gram.shape[0] if gram.ndim == 2 else 0
    if gram.shape != (channels, channels) or not 1 <= channels <= MAX_GRAM_CHANNELS or not np.isfinite(gram).all():
        msg = f"Gram statistics: a finite (C, C) matrix with C in 1..{MAX_GRAM_CHANNELS} expected, got {gram.shape}"
        raise AbcError(msg)
    scales = np.sqrt(np.clip(np.diag(gram), 0, None)).astype(">f2")
    s = scales.astype(np.float64)
    norm = np.outer(s, s)
    correlation = np.divide(gram, norm, out=np.zeros_like(gram), where=norm > 0)
    upper = correlation[np.triu_indices(channels, 1)]
    levels = np.clip(np.rint(upper * CORRELATION_LEVELS), -CORRELATION_LEVELS, CORRELATION_LEVELS).astype(np.int8)
    return bytes([channels]) + scales.tobytes() + levels.tobytes()


def unpack_gram(payload: bytes) -> np.ndarray:
    """The float32 (C, C) Gram matrix a payload describes; AbcError if malformed."""
    if len(payload) < 1:
        msg = "Gram statistics: empty payload"
        raise AbcError(msg)
    channels = payload[0]
    expected = gram_payload_size(channels)
    if not 1 <= channels <= MAX_GRAM_CHANNELS or len(payload) != expected:
        msg = f"Gram statistics: {len(payload)} bytes for C = {channels}, expected C in 1..{MAX_GRAM_CHANNELS} and {expected} bytes"
        raise AbcError(msg)
    scales = np.frombuffer(payload, ">f2", channels, 1).astype(np.float64)
    if not (np.isfinite(scales).all() and (scales >= 0).all()):
        msg = f"Gram statistics: channel scales must be finite and ≥ 0, got {scales.tolist()}"
        raise AbcError(msg)
    levels = np.frombuffer(payload, np.int8, offset=1 + 2 * channels).astype(np.float64)
    if (levels < -CORRELATION_LEVELS).any():
        msg = f"Gram statistics: correlation byte −128 is not a level (−{CORRELATION_LEVELS}..{CORRELATION_LEVELS})"
        raise AbcError(msg)
    upper = np.zeros((channels, channels))
    upper[np.triu_indices(channels, 1)] = levels / CORRELATION_LEVELS
    correlation = upper + upper.T + np.eye(channels)
    return (correlation * np.outer(scales, scales)).astype(np.float32)


def gram_payload_size(channels: int) -> int:
    """Bytes of a Gram payload for C channels: 1 + 2C + C(C−1)/2."""
    return 1 + 2 * channels + channels * (channels - 1) // 2


def class_code(image: np.ndarray, k: int = DEFAULT_TOP_K, net=None) -> np.ndarray:
    """Top-k classes of C on a uint8 (H, W, 3) image, most probable first (int64 (k,))."""
    import torch

    from .networks import classifier_logits, load_efficientnet

    net = net or load_efficientnet()
    with torch.no_grad():
        logits = classifier_logits(net, _as_batch(image))
    return torch.topk(logits[0], k).indices.numpy().astype(np.int64)


def gram_statistics(image: np.ndarray, net=None) -> np.ndarray:
    """Gram matrix (float32 (24, 24)) of E's latent features of a uint8 (H, W, 3) image."""
    import torch

    from .losses import gram
    from .networks import load_efficientnet

    net = net or load_efficientnet()
    with torch.no_grad():
        return gram(net.encode(_as_batch(image)))[0].numpy()


def _as_batch(image: np.ndarray):
    """(1, 3, H, W) float from uint8 (H, W, 3), copied: arrays from Pillow are read-only."""
    import torch

    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float()


@dataclass(frozen=True)
class Statistics:
    """The assistant statistics a file carries; None where its chunk is absent."""

    classes: np.ndarray | None = None
    gram: np.ndarray | None = None


def statistics_from_chunks(ancillary: dict[bytes, bytes]) -> Statistics:
    """Read ``clas`` and ``gram`` from a file's ancillary chunks; a malformed one is an AbcError."""
    classes = ancillary.get(CHUNK_CLAS)
    gram = ancillary.get(CHUNK_GRAM)
    return Statistics(
        None if classes is None else unpack_class_code(classes), None if gram is None else unpack_gram(gram)
    )


def measure_chunks(image: np.ndarray, kinds: tuple[str, ...]) -> dict[bytes, bytes]:
    """The chunks for the statistics named in ``kinds`` (keys of KINDS), measured on a uint8 image.

    Grey images are measured as RGB with three equal channels, as the decoder refines them.
    """
    if not kinds:
        return {}
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    net = _measuring_network()
    chunks = {}
    if "class" in kinds:
        chunks[CHUNK_CLAS] = pack_class_code(class_code(rgb, net=net))
    if "style" in kinds:
        chunks[CHUNK_GRAM] = pack_gram(gram_statistics(rgb, net=net))
    return chunks


@functools.cache
def _measuring_network():
    """E and C for the encoder, loaded once per process; its own copy, so that the decoder
    moving its networks to another device or memory layout does not move this one."""
    from .networks import load_efficientnet

    return load_efficientnet()
