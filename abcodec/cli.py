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
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from . import container
from .codec import decode, encode
from .container import AbcError, AbcWarning
from .options import DEVICES, ENCODE_KEYWORDS, AVAILABLE_INPAINTERS, BlockLayer, EncodeOptions

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


def read_abc(path: Path) -> bytes:
    """The file's bytes, read no further than its header allows (container.read_stream)."""
    with open(path, "rb") as stream:
        try:
            return container.read_stream(stream, source=str(path))
        except AbcError as e:
            message = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
            raise AbcError(message) from e


def output_format(path: Path) -> str:
    """The Pillow format for an output name, from its extension."""
    extension = path.suffix.lower()
    formats = Image.registered_extensions()
    if extension not in formats:
        msg = f"{path}: cannot tell the image format from the extension {extension or '(none)'!r}"
        raise CliError(msg)
    return formats[extension]


def options_from(args: argparse.Namespace) -> EncodeOptions:
    """EncodeOptions from the flags :func:`add_options` made; block-layer flags need --no-base."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(BlockLayer) if getattr(args, f.name) is not None}
    layered = args.blocks or "keep" in given
    if given and not layered:
        flags = ", ".join(flag_of(f) for f in dataclasses.fields(BlockLayer) if f.name in given)
        msg = f"{flags} set the block layer: add --no-base"
        raise CliError(msg)
    top = {f.name: getattr(args, f.name) for f in dataclasses.fields(EncodeOptions) if f.name != "blocks"}
    return EncodeOptions(**top, blocks=BlockLayer(**given) if layered else None)


def encode_main(args: argparse.Namespace) -> None:
    source, target = Path(args.input), Path(args.output)
    options = options_from(args)
    started = time.perf_counter()
    image = read_image(source)
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", AbcWarning)
        data = encode(image, options=options, importance=args.importance, roi=args.roi)
    for note in notes:
        print(f"note: {source}: {note.message}", file=sys.stderr)
    with atomic_output(target, source) as temporary:
        temporary.write_bytes(data)
    if args.verbose:
        report(data, image.width * image.height, time.perf_counter() - started, f"encoded {image.width}x{image.height}")


def report(data: bytes, pixels: int, seconds: float, what: str) -> None:
    """--verbose: bytes and bpp of each chunk, then the whole file and the time."""
    for name, size in container.chunk_sizes(data):
        print(f"  {name:<9} {size:>9} bytes  {8 * size / pixels:.4f} bpp", file=sys.stderr)
    print(f"{what}: {len(data)} bytes, {8 * len(data) / pixels:.4f} bpp, {seconds:.2f} s", file=sys.stderr)


def decode_main(args: argparse.Namespace) -> None:
    source, target = Path(args.input), Path(args.output)
    fmt = output_format(target)
    started = time.perf_counter()
    data = read_abc(source)
    inpainter = None if args.inpainter == "auto" else args.inpainter
    show = not args.quiet and sys.stderr.isatty()
    image = decode(data, inpainter=inpainter, device=args.device, max_pixels=args.max_pixels or None,
                   progress=progress_bar if show else None)
    if show:
        print(file=sys.stderr)
    with atomic_output(target, source) as temporary:
        image.save(temporary, format=fmt)
    if args.verbose:
        report(data, image.width * image.height, time.perf_counter() - started,
               f"decoded {image.width}x{image.height} {image.mode}")


def progress_bar(done: int, total: int, seconds_left: float) -> None:
    """One stderr line, rewritten in place, while the generative decoder works."""
    filled = round(30 * done / max(total, 1))
    print(f"\rdecoding [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} steps, "
          f"{seconds_left:.0f} s left ", end="", file=sys.stderr, flush=True)


def flag_of(option: dataclasses.Field) -> str:
    return option.metadata.get("flag", "--" + option.name.replace("_", "-"))


def add_options(parser, cls: type, *, defaults_to_none: bool = False) -> None:
    """One flag per field of an options dataclass, from the field's metadata (options.py).

    ``defaults_to_none``: a flag not given is None, so that the caller can tell what was asked for.
    """
    for option in dataclasses.fields(cls):
        meta = option.metadata
        shown = "" if option.default in (None, (), False) else f" (default {option.default})"
        if option.type == "bool" or option.name == "blocks":
            parser.add_argument(flag_of(option), dest=option.name, action="store_true", help=meta["help"])
        else:
            parser.add_argument(flag_of(option), dest=option.name, type=meta.get("type"), choices=meta.get("choices"),
                                metavar=meta.get("metavar"), default=None if defaults_to_none else option.default,
                                help=meta["help"] + shown)


def encode_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abc-encode", description="Compress an image to .abc.")
    parser.add_argument("input", help="any image Pillow reads")
    parser.add_argument("output", help="the .abc file to write")
    add_options(parser, EncodeOptions)
    for name, (metavar, help_text) in ENCODE_KEYWORDS.items():
        repeat = name == "roi"
        parser.add_argument(f"--{name}", action="append" if repeat else "store", default=[] if repeat else None,
                            metavar=metavar, help=help_text)
    parser.add_argument("-v", "--verbose", action="store_true", help="print bytes per chunk and bpp")
    add_options(parser.add_argument_group("block layer (with --no-base; --keep implies it)"), BlockLayer,
                defaults_to_none=True)
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
