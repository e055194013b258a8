"""Hostile files of at most 2 KB that ask for the most decoding work, and what they cost.

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

from abcodec import av1, codec, container, limits
from abcodec.container import AbcFile, Header
from abcodec.generative import assist
from abcodec.generative.settings import Params, packaged_generator_hash
from abcodec.maskcode import encode_mask
from abcodec.pixels import PixelParams, expected_size
from fuzz import av1_streams

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
    grows with the MASK and PIXL bytes; never smaller than SMALL_IMAGE_PIXELS, which any file gets."""
    overhead = len(hostile_file(1, 1, mask="none")) - len(zero_frame(0))
    side = math.isqrt(limits.admitted_pixels(budget - overhead))
    while True:
        plain = hostile_file(side, side, mask=mask, step=step)
        # The noise costs its own length plus a few bytes of zstd block headers.
        data = hostile_file(side, side, mask=mask, step=step, noise=max(0, budget - len(plain) - 8))
        abc = container.read_file(data)
        if len(data) <= budget and side * side <= limits.admitted_pixels(abc.coded_bytes):
            return data
        side -= 16


def generative_file(width: int, height: int, *, steps: int = 0, classes: bool = False, mode: int = container.MODE_RGB,
                    av1_base: bool = False) -> bytes:
    """A file for the generative decoder (inpainter 1, the packaged generator) of the given geometry,
    asking for ``steps`` descent steps, with a class code when ``classes`` (L_C then resizes the
    image to a shorter side of 224), its pixels one kept block, or a flat AV1 base."""
    params = Params(steps=steps, classification=1.0 if classes else 0.0)
    floats = params.floats() + (0.0,) * (container.N_DECODER_PARAMS - len(params.floats()))
    header = Header(width=width, height=height, mode=mode, block=1, q_luma=1, q_chroma=1, chroma_shift=0,
                    inpainter=container.INPAINTER_PPGN, steps=steps, params=floats if steps else (0.0,) * 8,
                    generator=packaged_generator_hash()[: container.GENERATOR_ID_SIZE[container.VERSION]])
    ancillary = {container.CHUNK_CLAS: assist.pack_class_code(np.array([281, 285, 282]))} if classes else {}
    if av1_base:
        flat = np.full((height, width, 3) if mode == container.MODE_RGB else (height, width), 128, np.uint8)
        return container.write_file(AbcFile(header, None, None, ancillary, av1.encode(flat, 63)))
    kept = pattern(header.grid_shape, "one")
    size = expected_size(kept, header.channels, PixelParams(1, 1, 1, 0))
    return container.write_file(AbcFile(header, encode_mask(kept), zero_frame(size), ancillary))


def av1_frame_larger_than_head(width: int, height: int, frame: int, *, mode: int = container.MODE_L) -> bytes:
    """A file of ``width`` × ``height`` whose AV1 sequence header declares that size, but whose
    frame header sets frame_size_override_flag and codes a flat ``frame`` × ``frame`` frame,
    its tile data real (libaom's, coded at that size): what a decoder that trusts the sequence
    header alone hands to dav1d whole."""
    flat = np.full((frame, frame, 3) if mode == container.MODE_RGB else (frame, frame), 128, np.uint8)
    stream = av1_streams.still_picture(av1.encode(flat, 63, speed=10), max_size=(width, height),
                                       frame_size=(frame, frame))
    header = Header(width=width, height=height, mode=mode, block=1, q_luma=1, q_chroma=1, chroma_shift=0)
    return container.write_file(AbcFile(header, None, None, {}, stream))


CASES = {
    "rgb-8192x8192-one-block64": lambda: hostile_file(8192, 8192, block=64),
    "grey-8192x8192-one-pixel": lambda: hostile_file(8192, 8192, mode=container.MODE_L),
    "rgb-8192x8192-nothing-kept": lambda: hostile_file(8192, 8192, block=64, mask="none"),
    "grey-6144x4096-all-kept": lambda: hostile_file(6144, 4096, mode=container.MODE_L, mask="all"),
    "grey-8192x6144-checker": lambda: hostile_file(8192, 6144, mode=container.MODE_L, mask="checker"),
    "rgb-1024x1024-one-pixel": lambda: hostile_file(1024, 1024),
    "rgb-admitted-lattice": lambda: largest_admitted("lattice"),
    "rgb-admitted-checker": lambda: largest_admitted("checker"),
    "ppgn-rgb-1024x1-classes-1-step": lambda: generative_file(1024, 1, steps=1, classes=True),
    "ppgn-rgb-1024x32-classes-1-step": lambda: generative_file(1024, 32, steps=1, classes=True),
    "ppgn-rgb-1x1-classes-10000-steps": lambda: generative_file(1, 1, steps=10000, classes=True),
    "ppgn-rgb-64x48-10000-steps": lambda: generative_file(64, 48, steps=10000),
    "ppgn-rgb-1025x1025-127-steps": lambda: generative_file(1025, 1025, steps=127),
    "ppgn-grey-1x32768-4096-steps": lambda: generative_file(1, 32768, steps=4096, mode=container.MODE_L),
    "ppgn-rgb-1312x1312-G-alone": lambda: generative_file(1312, 1312),
    "ppgn-rgb-1024x1024-av1-flat": lambda: generative_file(1024, 1024, av1_base=True),
    "ppgn-rgb-4096x4096-av1-flat": lambda: generative_file(4096, 4096, av1_base=True),
    "av1-grey-128x96-frame-4096x4096": lambda: av1_frame_larger_than_head(128, 96, 4096),
    "av1-grey-128x96-frame-16384x16384": lambda: av1_frame_larger_than_head(128, 96, 16384),
}
"""Files of at most 1 KB: the first five ask for 25 to 67 million pixels (the format allows them),
the next three for the most the decoder's default limits admit (SMALL_IMAGE_PIXELS, and
MAX_PIXELS_PER_BYTE per byte of MASK and PIXL); the ``ppgn-`` ones ask the generative decoder for
its most expensive work: the classifier on a thin strip, thousands of descent steps on a tiny
image, tile overlaps, many thin tiles, G alone on the largest image that needs no bytes, and flat
AV1 bases. The ``av1-`` ones (about 300 bytes and 1.9 KB) hold an AV1 frame larger than the image
that its frame header alone declares (issue 25); building the 16384 × 16384 one codes that frame
with libaom first, 12 s and 3.4 GB in the process that builds it, not in the one that decodes."""


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
    parser.add_argument("--max-pixels", type=int, default=limits.DEFAULT_MAX_PIXELS,
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
