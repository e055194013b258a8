"""The base layer <-> the BASE chunk of a version 3 file (format_spec/abc.md §12).

The image, at its own size or shrunk where the rate is low, is coded as one AV1 intra frame by
Pillow's AVIF encoder (av1.py); the decoder upsamples the decoded frame back to the image's size
with the Keys cubic (resample.py) before the generative decoder refines it. At equal bytes AV1's
intra coder keeps about 0.045 SSIM more than format 2's 8×8 DCT base (benchmarks/RESULTS.md), and
the file keeps only the AV1 bitstream, not the 275 bytes of HEIF boxes an AVIF file wraps it in.

The encoder's rate control searches AV1's quantizer, 64 steps of 6–7 % in bytes, for the finest
that fits the budget, so a file lands up to one step (typically 3–4 %) under it; only where even the
coarsest quantizer does not fit does it shrink the frame. Spending the last few per cent by
shrinking the frame slightly at the next finer quantizer was measured and is worse: the resampling
blurs the whole image (benchmarks/RESULTS.md, "AV1 base: rate control").
An importance map acts through AV1's own quantizer (:func:`rate_guide`): libaom is asked for more
rate where the map ranks high and less where it ranks low, and codes each superblock at its own
quantizer, so the bytes move to what matters without blurring the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import av1, av1_headers
from .av1 import DEFAULT_SPEED  # why 6: benchmarks/RESULTS.md, "AV1 encoder settings tried for the rest of the SSIM gap"
from .colour import luma
from .container import AbcError
from .resample import upsample_plane

MAX_SCALE = 16
"""§12. The AV1 frame is at least ⌈W / 16⌉ × ⌈H / 16⌉: a smaller one keeps too little of any image,
and the bound keeps the upsampler's work proportional to the image."""

ENCODER_THREADS = 2
"""Worker threads of the AV1 encoder. libaom's output differs between 1 and 2 threads but not
between 2 and 8, so a fixed 2 gives the same file on every machine."""

RATE_TOLERANCE = 0.02
"""Where the frame must shrink to fit, the search stops at a payload within 2 % under the budget."""

SCALE_BY_RATE = ((0.07, 1.0), (0.035, 1.5), (0.015, 2.0), (0.0, 3.0))
"""(lowest bpp, starting scale): the frame's shrink factor to start the search from at that rate,
from the sweep of scales on six Kodak images (benchmarks/RESULTS.md, "AV1 base: frame size by
rate"). Above 0.07 bpp the full size is best; below, AV1's coarsest quantizer cannot reach the
rate at full size."""

RATE_PROXY_SMOOTHING = 0.7
RATE_PROXY_FLOOR = 2.0
"""The rate a block would take under uniform coding, as the rate guide's baseline: the mean absolute
Laplacian of its luma after a Gaussian of 0.7 pixels, plus 2 grey levels so flat blocks ask for
something. libaom compares the guide with its own estimate superblock by superblock; without
this baseline the guide would also move rate from textured to flat regions, which in trials on
training photos of the fixation set lost much of the gain where people look."""

def frame_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """(width, height) of the AV1 frame for an image of size (width, height) shrunk by ``scale``."""
    return tuple(min(side, max(-(-side // MAX_SCALE), round(side / scale))) for side in size)


def decode_frame(payload: bytes, channels: int, size: tuple[int, int]) -> np.ndarray:
    """§12 steps 1–2: the AV1 frame as decoded, uint8 (h, w) or (h, w, 3), at its own size."""
    return np.array(decode_frame_image(payload, channels, size))


def decode_frame_image(payload: bytes, channels: int, size: tuple[int, int]) -> Image.Image:
    """§12 steps 1–2: the AV1 frame as decoded, a PIL image (L or RGB) at its own size.

    The frame's size is read from its AV1 headers (the frame header must code the sequence
    header's size) and checked against the image's, size (H, W), before anything is decoded; any
    problem is an AbcError naming the field.
    """
    height, width = size
    _, frame = av1_headers.parse_headers(bytes(payload))
    smallest = (-(-width // MAX_SCALE), -(-height // MAX_SCALE))
    if not (smallest[0] <= frame.width <= width and smallest[1] <= frame.height <= height):
        msg = (f"BASE: AV1 frame of {frame.width}x{frame.height} for a {width}x{height} image; it must lie "
               f"within {smallest[0]}x{smallest[1]} .. {width}x{height}")
        raise AbcError(msg)
    return av1.decode_image(bytes(payload), channels, (width, height))


def decode_base(payload: bytes, channels: int, size: tuple[int, int]) -> np.ndarray:
    """§12: the decoded frame upsampled to size (H, W), float32 (H, W) or (H, W, 3) RGB, not rounded."""
    return _upsample(decode_frame(payload, channels, size), size)


def decode_base_pixels(payload: bytes, channels: int, size: tuple[int, int]) -> np.ndarray:
    """§12: the base layer as the image it is where no block is kept, uint8 (H, W) or (H, W, 3):
    the frame itself when it has the image's size (no float copy: 144 MB at 12 MP), else rounded."""
    frame = decode_frame(payload, channels, size)
    if frame.shape[:2] == size:
        return frame
    samples = _upsample(frame, size)
    np.rint(samples, out=samples)
    return np.clip(samples, 0, 255, out=samples).astype(np.uint8)


def _upsample(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    samples = frame.astype(np.float32)
    if frame.shape[:2] == size:
        return samples
    if frame.ndim == 2:
        return upsample_plane(samples, size).astype(np.float32)
    return np.stack([upsample_plane(samples[..., c], size) for c in range(3)], axis=-1).astype(np.float32)


def rate_guide(image: np.ndarray, emphasis: np.ndarray) -> np.ndarray:
    """libaom's desired rate for each 16×16 block of ``image`` (av1.RATE_GUIDE_BLOCK): the block's
    rate proxy times 2 to the block's mean emphasis (importance.emphasis, at the image's size).

    scipy.ndimage is imported here, not with the module: it takes 0.25 s, which a decode must not pay.
    """
    from scipy import ndimage

    detail = np.abs(ndimage.laplace(ndimage.gaussian_filter(luma(image), RATE_PROXY_SMOOTHING)))
    proxy = _block_means(detail) + RATE_PROXY_FLOOR
    return proxy * np.exp2(_block_means(emphasis))


def _block_means(values: np.ndarray) -> np.ndarray:
    """Means over av1.RATE_GUIDE_BLOCK-pixel blocks, edge blocks over their part inside the image."""
    rows, columns = av1.rate_guide_shape(values.shape)
    block = av1.RATE_GUIDE_BLOCK
    padded = np.pad(values.astype(np.float64), ((0, rows * block - values.shape[0]), (0, columns * block - values.shape[1])),
                    mode="edge")
    return padded.reshape(rows, block, columns, block).mean(axis=(1, 3))


def _resized_emphasis(emphasis: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The emphasis map at a frame of size (width, height) (bilinear; area-averaged when shrinking)."""
    if emphasis.shape == (size[1], size[0]):
        return emphasis
    return np.asarray(Image.fromarray(emphasis, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


QUANTIZER_FOR_QUALITY = (
    63, 62, 62, 62, 61, 61, 61, 61, 61, 60, 60, 60, 60, 60, 59, 59, 59, 59, 58, 58,
    58, 57, 57, 57, 56, 56, 56, 56, 55, 55, 55, 55, 54, 54, 54, 53, 53, 53, 52, 52,
    52, 51, 51, 51, 50, 50, 50, 50, 50, 49, 49, 49, 48, 48, 47, 47, 47, 46, 46, 46,
    45, 45, 44, 44, 43, 43, 42, 42, 41, 41, 40, 40, 40, 40, 39, 39, 38, 38, 37, 36,
    36, 35, 34, 33, 32, 31, 30, 29, 28, 26, 25, 25, 23, 21, 19, 17, 15, 13, 10, 5,
    0,
)
"""The AV1 quantizer of each quality 0..100 (``EncodeOptions.quality``): the coarsest whose mean
SSIM on 40 BSDS500 val photos reaches the quality's share of the way from the coarsest
quantizer's (0.636) to the finest's (0.997), as ``python -m benchmarks.quality --limit 40``
measured and printed it (benchmarks/RESULTS.md, "The quality scale")."""


def encode_at_quality(image: np.ndarray, quality: int, *, speed: int = DEFAULT_SPEED,
                      emphasis: np.ndarray | None = None) -> bytes:
    """The BASE payload of a uint8 image at one quantizer, the quality's: no rate search, one encode.
    ``emphasis`` (importance.emphasis) moves the quantizer around it by region."""
    guide = None if emphasis is None else rate_guide(image, emphasis)
    return av1.encode(image, QUANTIZER_FOR_QUALITY[quality], speed, ENCODER_THREADS, guide)


def scale_for(bpp: float) -> float:
    return next(scale for lowest, scale in SCALE_BY_RATE if bpp >= lowest)


def encode_base(image: np.ndarray, budget: int, *, speed: int = DEFAULT_SPEED,
                emphasis: np.ndarray | None = None) -> bytes:
    """The BASE payload of a uint8 (H, W) or (H, W, 3) image that fits ``budget`` bytes; ``emphasis``
    (importance.emphasis) moves the quantizer by region, on every frame size tried.

    When not even the coarsest quantizer on the smallest frame fits, that file is returned: the
    caller's rate is then missed, as a JPEG at quality 1 misses one.
    """
    height, width = image.shape[:2]
    search = _RateSearch(image, budget, speed, emphasis)
    return search.run(scale_for(8 * budget / (width * height)))


PROBE_SPEED = 8
"""AV1 speed of the trial encodes that look for the quantizer: 3× faster than speed 6, and its files
are a steady 10–15 % larger, so the ratio measured on the first real encode corrects the rest."""

PROBE_RATIO = 1.12
"""Bytes at PROBE_SPEED over bytes at DEFAULT_SPEED before any is measured (Kodak, quantizers 20–60)."""

MAX_SHRINK_TRIALS = 3
"""Trial frames the search makes to spend the last few per cent of the budget."""

SHRINK_EXPONENT = 1.7
"""Bytes ≈ frame area^0.85 at a fixed quantizer, so bytes scale as scale^−1.7: the first guess of
the frame that spends a given number of bytes."""


def quantizer_guess(bpp: float) -> int:
    """The quantizer that usually fits ``bpp`` on a photograph at full size (Kodak: 30 at 0.8, 41 at
    0.4, 50 at 0.2, 57 at 0.1 bpp): where the search starts."""
    return min(max(round(41 - 10 * math.log2(max(bpp, 1e-6) / 0.4)), av1.QUANTIZER_RANGE[0]), av1.QUANTIZER_RANGE[1])


@dataclass
class _RateSearch:
    """Trial encodes, each made once: (frame size, quantizer, speed) -> payload."""

    image: np.ndarray
    budget: int
    speed: int
    emphasis: np.ndarray | None = None
    trials: dict = field(default_factory=dict)
    frames: dict = field(default_factory=dict)
    guides: dict = field(default_factory=dict)

    def payload(self, scale: float, quantizer: int, speed: int | None = None) -> bytes:
        speed = self.speed if speed is None else speed
        size = frame_size((self.image.shape[1], self.image.shape[0]), scale)
        if (size, quantizer, speed) not in self.trials:
            self.trials[size, quantizer, speed] = av1.encode(self.frame(size), quantizer, speed, ENCODER_THREADS,
                                                             self.guide(size))
        return self.trials[size, quantizer, speed]

    def guide(self, size: tuple[int, int]) -> np.ndarray | None:
        """The rate guide of the frame of size (width, height), made once; None without emphasis."""
        if self.emphasis is None:
            return None
        if size not in self.guides:
            self.guides[size] = rate_guide(self.frame(size), _resized_emphasis(self.emphasis, size))
        return self.guides[size]

    def frame(self, size: tuple[int, int]) -> np.ndarray:
        """The image shrunk to size (width, height) by Lanczos (the encoder's choice), made once."""
        if size not in self.frames:
            same = size == (self.image.shape[1], self.image.shape[0])
            self.frames[size] = self.image if same else np.asarray(
                Image.fromarray(self.image).resize(size, Image.Resampling.LANCZOS))
        return self.frames[size]

    def fits(self, scale: float, quantizer: int) -> bool:
        return len(self.payload(scale, quantizer)) <= self.budget

    def run(self, scale: float) -> bytes:
        """The finest quantizer that fits at ``scale``, or, when even the coarsest does not fit, the
        coarsest on the largest smaller frame that does. Of all the real trials that fit, the
        largest wins: at a fixed quantizer the bytes are not monotone in the frame size to ~1 %."""
        quantizer = self._finest_quantizer(scale)
        if not self.fits(scale, quantizer):
            self._shrink_until_fits(quantizer, scale, MAX_SCALE)
        fitting = [p for (_, _, speed), p in self.trials.items() if speed == self.speed and len(p) <= self.budget]
        return max(fitting, key=len) if fitting else self.payload(MAX_SCALE, av1.QUANTIZER_RANGE[1])

    def _finest_quantizer(self, scale: float) -> int:
        """Smallest quantizer whose payload fits (the coarsest when none does): located by fast
        probes, then settled one step at a time at the real speed (bytes fall as it grows)."""
        low, high = av1.QUANTIZER_RANGE[0] - 1, av1.QUANTIZER_RANGE[1]
        if self.speed != PROBE_SPEED:
            probe_budget = self.budget * PROBE_RATIO
            guess = quantizer_guess(8 * self.budget / (self.image.shape[0] * self.image.shape[1]))
            points: list[tuple[int, float]] = []
            while high - low > 1:
                guess = min(max(guess, low + 1), high - 1)
                size = len(self.payload(scale, guess, PROBE_SPEED))
                points.append((guess, math.log(size / probe_budget)))
                low, high = (low, guess) if size <= probe_budget else (guess, high)
                guess = _next_quantizer(points, low, high)
        quantizer = high
        if self.fits(scale, quantizer):
            while quantizer > av1.QUANTIZER_RANGE[0] and self.fits(scale, quantizer - 1):
                quantizer -= 1
        else:
            while quantizer < av1.QUANTIZER_RANGE[1] and not self.fits(scale, quantizer):
                quantizer += 1
        return quantizer

    def _shrink_until_fits(self, quantizer: int, scale: float, largest: float) -> None:
        """Trial frames at ``quantizer``, shrinking from ``scale`` to at most ``largest``, each sized
        by bytes ∝ scale^−SHRINK_EXPONENT from the last, until one lands within RATE_TOLERANCE.
        While none fits the trials go on (at most MAX_SHRINK_TRIALS more), aiming lower each time."""
        target = self.budget * (1 - RATE_TOLERANCE / 2)
        smallest = scale
        size = len(self.payload(scale, quantizer))
        for trial in range(2 * MAX_SHRINK_TRIALS):
            scale = min(max(scale * (size / target) ** (1 / SHRINK_EXPONENT), smallest), largest)
            size = len(self.payload(scale, quantizer))
            landed = (1 - RATE_TOLERANCE) * self.budget <= size <= self.budget
            if landed or (scale == largest and size <= self.budget) or (trial >= MAX_SHRINK_TRIALS and self._any_fits()):
                return
            if size > self.budget:
                target *= 1 - RATE_TOLERANCE / 2

    def _any_fits(self) -> bool:
        return any(speed == self.speed and len(p) <= self.budget for (_, _, speed), p in self.trials.items())


def _next_quantizer(points: list[tuple[int, float]], low: int, high: int) -> int:
    """Where log(bytes / budget) crosses 0, from the last two trials (a slope of −0.07 a step after one)."""
    q, error = points[-1]
    slope = -0.07
    if len(points) > 1 and points[-2][0] != q:
        slope = min((error - points[-2][1]) / (q - points[-2][0]), -0.01)
    step = -error / slope
    guess = q + (math.ceil(step) if step > 0 else math.floor(step))
    return min(max(guess, low + 1), high - 1) if high - low > 1 else high
