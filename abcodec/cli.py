"""abc-encode and abc-decode.

Both write to a temporary file beside the output and rename it into place, so a failure, a
Ctrl-C or a SIGTERM never leaves a partial file or clobbers an existing one; an output that is
the input (the same path, or a symbolic or hard link to it) is refused. Any problem with the
input is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from . import container
from .codec import (
    AVAILABLE_INPAINTERS, DEVICES, GENERATIVE_MAX_BPP, EncodeOptions, decode, encode_array, image_to_array,
    metadata_chunks,
)
from .container import AbcError
from .importance import AUTO, BACKGROUND_IMPORTANCE, resolve_importance
from .mask import SCHEMES

EXIT_INPUT = 1
"""Bad input, bad option or an unreadable/unwritable file."""

EXIT_INTERRUPTED = 130
"""Ctrl-C, as shells report SIGINT."""

EXIT_TERMINATED = 143
"""SIGTERM (``kill``'s default signal), as shells report it: 128 + 15."""


class CliError(Exception):
    """A problem the user can fix: printed as one line."""


class Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException, so that no ``except Exception`` stops it
    from unwinding through ``atomic_output``, which removes its temporary file on the way."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the body runs (its default kills the process at
    once, leaving the ``.NAME.*.part`` file behind); the previous handler is restored after.
    Outside the main thread, where handlers cannot be installed, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_output(path: Path, source: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the body succeeds."""
    if path.is_dir():
        msg = f"{path}: is a directory"
        raise CliError(msg)
    if path.exists() and source.exists() and path.samefile(source):
        msg = f"{path}: output would overwrite the input"
        raise CliError(msg)
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as e:
        msg = f"{path}: cannot write here ({e.strerror})"
        raise CliError(msg) from e
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def run(main: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a command body, turning every expected failure into one line on stderr."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "abc"
    try:
        with sigterm_unwinds():
            main(args)
    except (AbcError, CliError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        print(f"{prog}: error: {describe_os_error(e)}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        print(f"{prog}: error: out of memory", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    return 0


def describe_os_error(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error) or type(error).__name__


def read_image(path: Path) -> Image.Image:
    """Open anything Pillow reads, fully loaded, so its decoding errors surface here."""
    with Image.open(path) as image:
        image.load()
        return image


def output_format(path: Path) -> str:
    """The Pillow format for an output name, from its extension."""
    extension = path.suffix.lower()
    formats = Image.registered_extensions()
    if extension not in formats:
        msg = f"{path}: cannot tell the image format from the extension {extension or '(none)'!r}"
        raise CliError(msg)
    return formats[extension]


def encode_main(args: argparse.Namespace) -> None:
    source, target = Path(args.input), Path(args.output)
    options = EncodeOptions(
        bpp=args.bpp, keep=args.keep, scheme=args.scheme, block=args.block, q_luma=args.q_luma,
        q_chroma=args.q_chroma, chroma_shift=args.chroma_shift, seed=args.seed, metadata=not args.strip,
        base=args.base, base_stride=args.base_stride, inpainter=args.inpainter, steps=args.steps,
        assist=args.assist,
    )
    started = time.perf_counter()
    image = read_image(source)
    array, note = image_to_array(image)
    if note:
        print(f"note: {source}: {note}", file=sys.stderr)
    options = dataclasses.replace(options, importance=resolve_importance(array, args.importance, args.roi))
    data = encode_array(array, options, metadata_chunks(image, options))
    with atomic_output(target, source) as temporary:
        temporary.write_bytes(data)
    warn_if_refused_by_default(data, target)
    if args.verbose:
        report(data, array.shape[1] * array.shape[0], time.perf_counter() - started, "encoded")


def warn_if_refused_by_default(data: bytes, target: Path) -> None:
    """A large, nearly flat or empty image can come out so small that decoders take it for a
    decompression bomb (spec §5); say so now rather than let the user find out at decode time."""
    try:
        container.check_decode_limits(container.read_file(data))
    except AbcError as e:
        print(f"note: {target}: default decoders will refuse this file ({e}); "
              "decode it with abc-decode --max-pixels 0", file=sys.stderr)


def report(data: bytes, pixels: int, seconds: float, verb: str) -> None:
    """--verbose: bytes per chunk, bpp, mask bits per block, time."""
    abc = container.read_file(data)
    grid = abc.header.grid_shape
    for name, size in container.chunk_sizes(data):
        print(f"  {name:<9} {size:>9} bytes  {8 * size / pixels:.4f} bpp", file=sys.stderr)
    print(
        f"{verb} {abc.header.width}x{abc.header.height} {abc.header.mode_name}: {len(data)} bytes, "
        f"{8 * len(data) / pixels:.4f} bpp, mask {8 * len(abc.mask) / (grid[0] * grid[1]):.3f} bits/block, "
        f"{seconds:.2f} s",
        file=sys.stderr,
    )


def decode_main(args: argparse.Namespace) -> None:
    source, target = Path(args.input), Path(args.output)
    fmt = output_format(target)
    started = time.perf_counter()
    data = source.read_bytes()
    inpainter = None if args.inpainter == "auto" else args.inpainter
    show = not args.quiet and sys.stderr.isatty()
    image = decode(data, inpainter=inpainter, device=args.device, max_pixels=args.max_pixels or None,
                   progress=progress_bar if show else None)
    if show:
        print(file=sys.stderr)
    with atomic_output(target, source) as temporary:
        image.save(temporary, format=fmt)
    if args.verbose:
        report(data, image.width * image.height, time.perf_counter() - started, "decoded")


def progress_bar(done: int, total: int, seconds_left: float) -> None:
    """One stderr line, rewritten in place, while the generative decoder works."""
    filled = round(30 * done / max(total, 1))
    print(f"\rdecoding [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} steps, "
          f"{seconds_left:.0f} s left ", end="", file=sys.stderr, flush=True)


def encode_parser() -> argparse.ArgumentParser:
    defaults = EncodeOptions()
    parser = argparse.ArgumentParser(prog="abc-encode", description="Compress an image to .abc.")
    parser.add_argument("input", help="any image Pillow reads")
    parser.add_argument("output", help="the .abc file to write")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--bpp", type=float, help="target bits per pixel of the whole file (default 0.25)")
    rate.add_argument("--keep", type=float, help="fraction of blocks to keep, 0..1 (instead of --bpp; implies --no-base)")
    parser.add_argument("--no-base", dest="base", action="store_false", default=None,
                        help="no coarse base layer: spend the rate on kept blocks only (the source paper's layout)")
    parser.add_argument("--inpainter", choices=AVAILABLE_INPAINTERS,
                        help="the decoder the file asks for: ppgn refines the fast decode with the generative "
                             "decoder (torch needed), diffusion is the fast decode alone (default: ppgn up to "
                             f"{GENERATIVE_MAX_BPP} bpp, diffusion above)")
    parser.add_argument("--steps", type=int, default=defaults.steps,
                        help=f"latent descent steps the generative decoder takes (default {defaults.steps})")
    parser.add_argument("--assist", default="", metavar="class,style",
                        help="store statistics of the original for the generative decoder: the classifier's "
                             "top classes (class, 19 bytes in the file) and/or E's Gram matrix (style, 337 bytes); "
                             "their bytes come out of the rate (needs --steps)")
    parser.add_argument("--base-stride", type=float,
                        help="base layer grid spacing in pixels, 1..16 in steps of 0.25 (default: by rate)")
    parser.add_argument("--scheme", choices=list(SCHEMES), default=defaults.scheme, help="which blocks to keep (block layer)")
    parser.add_argument("--block", type=int, default=defaults.block, help="block side in pixels, 1..64")
    parser.add_argument("--q-luma", type=int, default=defaults.q_luma, help="luma quantiser step, 1..255")
    parser.add_argument("--q-chroma", type=int, default=defaults.q_chroma, help="chroma quantiser step, 1..255")
    parser.add_argument("--chroma-shift", type=int, choices=(0, 1), default=defaults.chroma_shift,
                        help="1: chroma at half resolution inside kept blocks (needs an even block)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the random block choice")
    parser.add_argument("--importance", metavar=f"PATH|{AUTO}",
                        help="where to keep detail at the same rate: a grey image (white = keep; any size, "
                             f"resized), or {AUTO}: the classifier's saliency map (loads torch)")
    parser.add_argument("--roi", action="append", default=[], metavar="X,Y,W,H",
                        help="a rectangle to keep in detail, in pixels (repeatable); painted white onto "
                             f"--importance, or alone: the rest gets importance {BACKGROUND_IMPORTANCE}")
    parser.add_argument("--strip", action="store_true", help="drop the ICC profile and EXIF")
    parser.add_argument("-v", "--verbose", action="store_true", help="print bytes per chunk and bpp")
    return parser


def decode_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abc-decode", description="Decompress an .abc file to an image.")
    parser.add_argument("input", help="the .abc file")
    parser.add_argument("output", help="image to write; the format follows the extension (.png, .bmp, ...)")
    parser.add_argument("--inpainter", choices=("auto", *AVAILABLE_INPAINTERS), default="auto",
                        help="auto: the one the file asks for")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the generative decoder runs")
    parser.add_argument("--max-pixels", type=int, default=container.DEFAULT_MAX_PIXELS,
                        help=f"refuse larger images, and files of more than {container.MAX_PIXELS_PER_BYTE} pixels "
                             f"per byte (default %(default)s); 0: trust the file, only the format's limits")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print bytes per chunk and timing")
    return parser


def encode_cli(argv: list[str] | None = None) -> int:
    return run(encode_main, encode_parser().parse_args(argv))


def decode_cli(argv: list[str] | None = None) -> int:
    return run(decode_main, decode_parser().parse_args(argv))
