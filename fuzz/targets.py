"""The two fuzz targets, and what counts as a failure.

A target gets arbitrary bytes. It passes when they decode to an image or are refused the way
the API promises: :class:`~abcodec.container.AbcError` from :func:`abcodec.codec.decode`;
``OSError`` (``UnidentifiedImageError`` is one) or a decompression-bomb error through Pillow.
Any other exception, an input slower than SLOW_SECONDS, or one that takes the process's memory
more than MAX_INPUT_MB above where it stood, is a failure; :class:`Recorder` saves the first input of each distinct one.
"""

from __future__ import annotations

import hashlib
import io
import resource
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from abcodec import codec  # importing abcodec registers the Pillow plugin
from abcodec.container import AbcError

FUZZ_MAX_PIXELS = 1 << 16
"""Largest image a fuzzed input may decode (256 × 256): the decode target's ``max_pixels`` and
Pillow's ``MAX_IMAGE_PIXELS`` in the other, so that an input costs milliseconds and the fuzzer
explores instead of inpainting. The limits on large images are tests/test_hostile.py's job."""

SLOW_SECONDS = 10.0
"""An input that takes more CPU time is a failure (a hang). At FUZZ_MAX_PIXELS the slowest
decode the limits admit is a descent step with the classifier on a tiny image (its copy resized
to a shorter side of 224): 1.2 s, but over 5 s under atheris, whose line coverage slows the
codec's Python 3–5 times (fuzz/crashers/README.md). CPU time, not wall time, so that a fuzzer
run at low priority on a busy machine does not report slowness that is not the decoder's."""

MAX_INPUT_MB = 512
"""Memory (MiB) one input may add to the process: at FUZZ_MAX_PIXELS a decode needs a few MB, so
passing this means something was sized from a claim instead of a checked limit. Counted from the
resident memory before the input (the process holds torch and the networks, 600–900 MB, and
grows), and only when the input raises the process's peak, which is all ``getrusage`` reports."""

CRASH_DIR = Path(__file__).parent / "crashers"
"""Committed crashers, replayed by tests/test_hostile.py."""


def decode_target(data: bytes) -> None:
    """abcodec.codec.decode: an image or AbcError."""
    try:
        codec.decode(data, max_pixels=FUZZ_MAX_PIXELS)
    except AbcError:
        pass


def pillow_target(data: bytes) -> None:
    """Image.open(..., formats=["ABC"]).load() after ``import abcodec``: an image, OSError or a
    bomb error.

    Only the ABC plugin is asked: the target is the plugin, and other inputs would fuzz Pillow's
    own plugins (the first run found that Pillow 13.0's SGI plugin raises ValueError, not
    OSError, for a 16-byte header of an unknown mode: Pillow's to fix, not ours). As in Pillow's
    own fuzzers, the bomb warning is an error, so that no image larger than FUZZ_MAX_PIXELS is
    decoded.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = FUZZ_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["ABC"]) as image:
                image.load()
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        pass
    finally:
        Image.MAX_IMAGE_PIXELS = saved


TARGETS: dict[str, Callable[[bytes], None]] = {"decode": decode_target, "pillow": pillow_target}


def failure_key(error: BaseException) -> str:
    """Exception type and the innermost abcodec (else last) frame: one key per distinct bug."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "abcodec" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(error).__name__} at {where}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory of this process now (Linux's /proc; elsewhere its peak, a stricter bound)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return peak_rss_mb()


def save_crasher(data: bytes, crash_dir: Path) -> Path:
    """Pillow's naming: crash-<sha1 of the bytes>.abc."""
    crash_dir.mkdir(parents=True, exist_ok=True)
    path = crash_dir / f"crash-{hashlib.sha1(data).hexdigest()}.abc"
    path.write_bytes(data)
    return path


class Recorder:
    """Runs a target on each input; keeps the first input of every distinct failure."""

    def __init__(self, target: Callable[[bytes], None], crash_dir: Path,
                 on_failure: Callable[[str, Path], None] | None = None) -> None:
        self.target = target
        self.crash_dir = crash_dir
        self.on_failure = on_failure
        self.failures: dict[str, Path] = {}
        self.executions = 0

    def warm_up(self, inputs: list[bytes]) -> None:
        """Run the seeds once, judged for exceptions but not for time or memory: the first decode
        down each path imports ONNX Runtime or torch and loads the networks (5 s of CPU and 600 MB
        for the descent with the classifier), a cost of the process, not of the input that
        happens to come first (the first atheris runs reported two such inputs)."""
        for data in inputs:
            try:
                self.target(data)
            except Exception as e:
                self.record(data, failure_key(e))

    def __call__(self, data: bytes) -> None:
        self.executions += 1
        peak_before, resident, started = peak_rss_mb(), rss_mb(), time.process_time()
        try:
            self.target(data)
        except Exception as e:  # every exception the API does not promise is a finding
            self.record(data, failure_key(e))
            return
        if time.process_time() - started > SLOW_SECONDS:
            self.record(data, f"over {SLOW_SECONDS:g} s of CPU")
        if peak_rss_mb() > max(peak_before, resident + MAX_INPUT_MB):
            self.record(data, f"peak memory over {MAX_INPUT_MB} MiB above the process's")

    def record(self, data: bytes, key: str) -> None:
        if key in self.failures:
            return
        self.failures[key] = save_crasher(data, self.crash_dir)
        if self.on_failure:
            self.on_failure(key, self.failures[key])
