"""Hostile files of at most 1 KB that ask for the most decoding work, and what they cost.

``python -m fuzz.hostile`` decodes each file of :data:`CASES` in a fresh process and prints one
JSON line per file: its bytes, the outcome (image size or the error), seconds and peak RSS.
``--max-pixels 0`` decodes them as trusted files (only the format's limits, as before the
decoder limits existed); ``--only NAME`` runs one case. The files are built here and handed to a
fresh process, so that the peak RSS is the decode's alone.

Such files are cheap to make: flat pixels compress to nothing in zstd and a regular mask costs a
few bytes in the context-modelled ANS coder, while decoding costs time and memory per pixel.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zstandard

from abcodec import codec, container
from abcodec.container import AbcFile, Header
from abcodec.maskcode import encode_mask
from abcodec.pixels import PixelParams, expected_size

ROOT = Path(__file__).resolve().parent.parent

PATTERNS = ("one", "all", "none", "checker", "lattice")


def pattern(shape: tuple[int, int], name: str, step: int = 64) -> np.ndarray:
    """A block mask that costs almost nothing to code: a single block, all, none, a checkerboard,
    or one block every ``step`` rows and columns."""
    mask = np.zeros(shape, bool)
    if name == "one":
        mask[shape[0] // 2, shape[1] // 2] = True
    elif name == "all":
        mask[:] = True
    elif name == "checker":
        mask[0::2, 0::2] = mask[1::2, 1::2] = True
    elif name == "lattice":
        mask[step // 2 :: step, step // 2 :: step] = True
    elif name != "none":
        msg = f"pattern {name!r} is not one of {PATTERNS}"
        raise ValueError(msg)
    return mask


def zero_frame(size: int, noise: int = 0) -> bytes:
    """A zstd frame of `size` residual bytes, zero but for `noise` random ones at the start
    (incompressible, to spend bytes on purpose), streamed so that no `size`-byte buffer exists."""
    compressor = zstandard.ZstdCompressor(level=19, write_content_size=True).compressobj(size=size)
    noise = min(noise, size)
    parts = [compressor.compress(np.random.default_rng(0).integers(0, 256, noise, np.uint8).tobytes())]
    left, zeros = size - noise, bytes(1 << 22)
    while left:
        parts.append(compressor.compress(zeros[: min(left, len(zeros))]))
        left -= min(left, len(zeros))
    return b"".join(parts) + compressor.flush()


def hostile_file(width: int, height: int, *, mode: int = container.MODE_RGB, block: int = 1, mask: str = "one",
                 step: int = 64, noise: int = 0) -> bytes:
    """A valid file of the given geometry, quantiser step 1, full-resolution chroma: the most
    samples to inpaint per pixel."""
    header = Header(width=width, height=height, mode=mode, block=block, q_luma=1, q_chroma=1, chroma_shift=0)
    kept = pattern(header.grid_shape, mask, step)
    size = expected_size(kept, header.channels, PixelParams(block, 1, 1, 0))
    return container.write_file(AbcFile(header, encode_mask(kept), zero_frame(size, noise)))


def largest_admitted(mask: str, *, step: int = 32, budget: int = 1024) -> bytes:
    """The largest square RGB file of at most `budget` bytes that the default decoder limits
    admit: bytes left over after the mask are spent as incompressible residuals, since the limit
    grows with the MASK and PIXL bytes."""
    overhead = len(hostile_file(1, 1, mask="none")) - len(zero_frame(0))
    side = math.isqrt(container.MAX_PIXELS_PER_BYTE * (budget - overhead))
    while True:
        plain = hostile_file(side, side, mask=mask, step=step)
        # The noise costs its own length plus a few bytes of zstd block headers.
        data = hostile_file(side, side, mask=mask, step=step, noise=max(0, budget - len(plain) - 8))
        abc = container.read_file(data)
        if len(data) <= budget and side * side <= container.MAX_PIXELS_PER_BYTE * (len(abc.mask) + len(abc.pixels)):
            return data
        side -= 16


CASES = {
    "rgb-8192x8192-one-block64": lambda: hostile_file(8192, 8192, block=64),
    "grey-8192x8192-one-pixel": lambda: hostile_file(8192, 8192, mode=container.MODE_L),
    "rgb-8192x8192-nothing-kept": lambda: hostile_file(8192, 8192, block=64, mask="none"),
    "grey-6144x4096-all-kept": lambda: hostile_file(6144, 4096, mode=container.MODE_L, mask="all"),
    "grey-8192x6144-checker": lambda: hostile_file(8192, 6144, mode=container.MODE_L, mask="checker"),
    "rgb-1024x1024-one-pixel": lambda: hostile_file(1024, 1024),
    "rgb-admitted-lattice": lambda: largest_admitted("lattice"),
    "rgb-admitted-checker": lambda: largest_admitted("checker"),
}
"""Files of at most 1 KB: the first five ask for 25 to 67 million pixels (the format allows them),
the last three for the most the decoder's default limits admit (SMALL_IMAGE_PIXELS, and
MAX_PIXELS_PER_BYTE per byte of MASK and PIXL)."""


def peak_rss_mib() -> int:
    """VmHWM, the process's peak resident memory (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024


def measure(data: bytes, max_pixels: int | None) -> dict:
    """Decode `data` and report what it cost. Run in a fresh process whose peak RSS is reset
    first (a forked child inherits its parent's), so the peak is the decode's."""
    Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    try:
        outcome = "decoded {}x{}".format(*codec.decode(data, max_pixels=max_pixels).size)
    except container.AbcError as e:
        outcome = f"AbcError: {e}"
    return {"bytes": len(data), "outcome": outcome, "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mib": peak_rss_mib()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--max-pixels", type=int, default=container.DEFAULT_MAX_PIXELS,
                        help="the decoder's max_pixels; 0: trust the files (default %(default)s)")
    parser.add_argument("--only", choices=list(CASES), help="run one case")
    parser.add_argument("--stdin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stdin:
        print(json.dumps(measure(sys.stdin.buffer.read(), args.max_pixels or None)))
        return 0
    for name in [args.only] if args.only else CASES:
        command = [sys.executable, "-m", "fuzz.hostile", "--stdin", "--max-pixels", str(args.max_pixels)]
        done = subprocess.run(command, input=CASES[name](), capture_output=True, check=True, cwd=ROOT)
        print(json.dumps({"case": name, **json.loads(done.stdout)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
