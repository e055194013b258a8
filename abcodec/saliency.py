"""Where people will look: the saliency model behind ``--importance auto``, on ONNX Runtime.

The model (trained on recorded eye fixations by ``python -m abcodec.train_saliency``, which
writes ``weights/saliency.onnx``) reads a copy of the image whose longer side is ``INPUT_SIDE``
and returns a probability density of fixations on a grid of ``GRID_STRIDE``-pixel cells of that
copy. How well it predicts held-out viewers, and what it costs, is in benchmarks/RESULTS.md
("Saliency"). It needs neither torch nor the network: an encode with ``auto`` pays one forward
pass of a frozen EfficientNet-Lite0 trunk.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
from PIL import Image

from .onnx_session import cpu_session

ONNX_FILE = "weights/saliency.onnx"
"""The model: input ``image`` (1, 3, h, w) float 0..255 RGB, h and w multiples of 32; output
``log_density`` (1, 1, h/16, w/16), log-probabilities of a fixation per cell."""

INPUT_SIDE = 512
"""Longer side of the copy the model sees: in trials on photos of the training split a larger copy
predicted a little better than 384 or 256 pixels, at a cost that stays under 0.1 s
(benchmarks/RESULTS.md, "Saliency")."""

ALIGN = 32
"""The backbone's output stride: the copy's sides are multiples of it."""

GRID_STRIDE = 16
"""Pixels of the copy per cell of the predicted density."""


def input_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the copy the model sees: longer side ``INPUT_SIDE``, both sides multiples of ``ALIGN``."""
    scale = INPUT_SIDE / max(width, height)
    return (max(ALIGN, round(width * scale / ALIGN) * ALIGN), max(ALIGN, round(height * scale / ALIGN) * ALIGN))


_threads: int | None = None


def set_threads(threads: int | None) -> None:
    """ONNX Runtime's thread count for the model from now on in this process (None: its default,
    every core), as torch.set_num_threads sets torch's: ``abc-encode -j N --threads M`` keeps N
    workers from running N × cores threads."""
    global _threads
    _threads = threads


def fixation_density(image: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """The predicted density of fixations on a uint8 (H, W) or (H, W, 3) image: float32 (H, W),
    non-negative, read-only; only its ranks matter to the encoder (importance.py). ``threads``
    overrides :func:`set_threads`'s count for this call."""
    height, width = image.shape[:2]
    rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
    copy = Image.fromarray(np.ascontiguousarray(rgb)).resize(input_size(width, height), Image.Resampling.BILINEAR,
                                                             reducing_gap=None)
    pixels = np.asarray(copy, dtype=np.float32).transpose(2, 0, 1)[None]
    session = _session(_threads if threads is None else threads)
    log_density = session.run(None, {"image": np.ascontiguousarray(pixels)})[0][0, 0]
    density = np.exp(log_density - log_density.max()).astype(np.float32)
    resized = Image.fromarray(density, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    values = np.asarray(resized, dtype=np.float32)
    values.flags.writeable = False
    return values


@functools.lru_cache(maxsize=4)
def _session(threads: int | None):
    """The packaged model's ONNX Runtime session, made once per process and thread count."""
    model = resources.files("abcodec").joinpath(ONNX_FILE).read_bytes()
    return cpu_session(model, threads, "--importance auto needs ONNX Runtime: pip install onnxruntime")
