"""abc-encode and abc-decode.

The conventions of cwebp and avifenc: ``-`` is stdin or stdout, several inputs go to ``-o DIR``
(``-j N`` of them at once), ``--version``, and ``--help`` with examples. Any problem is one line
on stderr that names the file, and a non-zero exit (``console.EXIT_*``), never a traceback: bad
input, a full disk, Ctrl-C and SIGTERM alike.

Ctrl-C is caught from the moment an entry point runs: this module and those it imports
(:mod:`abcodec.console`: the exit statuses and signals; :mod:`abcodec.jobs`: the worker pool;
:mod:`abcodec.fileout`: each output written whole or not at all) import only the standard
library and what ``import abcodec`` has already loaded, and the codec (numpy, scipy, the
networks) is imported after the handler is installed. What runs before it, the interpreter's
start-up and ``import abcodec`` with Pillow, no code of this module can cover.

Inputs are regular files or pipes, read no further than they need: a FIFO is opened without
waiting for a writer, devices are refused, an .abc file is read no further than its header
allows (``container.read_stream``) and an image from a pipe no further than ``MAX_PIPE_BYTES``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import re
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from PIL import Image

from . import container
from .console import STDIO, CliError, display, fail, named, run_command
from .container import AbcError, AbcWarning
from .fileout import write_output
from .jobs import FILE_ERRORS, Job, run_jobs
from .option_fields import non_negative, positive

ENCODE = "abc-encode"
DECODE = "abc-decode"

MAX_PIPE_BYTES = 4 * container.MAX_PIXELS + container.MAX_ANCILLARY_TOTAL
"""Most bytes abc-encode reads from a pipe (stdin, a FIFO), which Pillow cannot read lazily as it
reads a file: the largest image .abc stores, uncompressed at 4 bytes a pixel (CMYK), with all
the metadata .abc carries (288 MiB). More is refused, so ``< /dev/zero`` ends."""

ENCODE_EXAMPLES = """\
examples:
  abc-encode photo.png photo.abc                  the default quality, about AVIF's default
  abc-encode photo.png photo.abc -q 60            a smaller file
  abc-encode photo.jpg small.abc --bpp 0.1
  abc-encode - photo.abc < photo.png              read stdin (as OUT, - writes stdout)
  abc-encode *.png -o encoded -j 4                several images, 4 at once: encoded/NAME.abc
  abc-encode anim.gif still.abc --frame 3         one frame of an animation (0-based)
  abc-encode photo.png face.abc --roi 120,80,200,200
  abc-encode scan.png scan.abc --no-base --keep 0.2 --scheme edge
"""

DECODE_EXAMPLES = """\
examples:
  abc-decode photo.abc photo.png                  the format follows the extension
  abc-decode photo.abc photo.png --inpainter diffusion
                                                  the fast decode: no generative decoder
  abc-decode photo.abc - > photo.png              PNG on stdout; --format NAME for another
  abc-decode - photo.jpg < photo.abc              read stdin
  abc-decode *.abc -o decoded --format webp -j 4  several files: decoded/NAME.webp
"""


# ---------------------------------------------------------------------------------------------
# Entry points


def encode_cli(argv: Sequence[str] | None = None) -> int:
    """``abc-encode`` (the console script) and its ``main(argv)``: returns the exit status."""
    return run_command(ENCODE, argv, _encode_command)


def decode_cli(argv: Sequence[str] | None = None) -> int:
    """``abc-decode`` (the console script) and its ``main(argv)``: returns the exit status."""
    return run_command(DECODE, argv, _decode_command)


# ---------------------------------------------------------------------------------------------
# Command lines


def version_line(prog: str) -> str:
    """``abc-encode 0.3.0 (format 3; Pillow 13.0.0, libavif 1.4.2)``: what makes the files."""
    import PIL
    from PIL import features

    from . import __version__

    libavif = features.version("avif") or "missing"
    return f"{prog} {__version__} (format {container.VERSION}; Pillow {PIL.__version__}, libavif {libavif})"


def flag_of(option: dataclasses.Field) -> str:
    """The field's long flag (its name with dashes unless its metadata says another)."""
    return option.metadata.get("flag", "--" + option.name.replace("_", "-"))


def flags_of(option: dataclasses.Field) -> tuple[str, ...]:
    """Every flag of a field: its metadata's ``flags`` (a short one too), else :func:`flag_of`."""
    return option.metadata.get("flags", (flag_of(option),))


def add_options(parser, cls: type, *, defaults_to_none: bool = False, notes: dict[str, str] | None = None) -> None:
    """One flag per field of an options dataclass, from the field's metadata (option_fields.py).

    ``defaults_to_none``: a flag not given is None, so that the caller can tell what was asked for.
    ``notes`` ends a field's help, by its name (abc-batch: what --threads also means there).
    """
    for option in dataclasses.fields(cls):
        meta = option.metadata
        shown = "" if option.default in (None, (), False) or isinstance(option.default, tuple) else f" (default {option.default})"
        help_text = meta["help"] + shown + (notes or {}).get(option.name, "")
        if option.type == "bool" or option.name == "blocks":
            parser.add_argument(flag_of(option), dest=option.name, action="store_true", help=help_text)
        else:
            choices = meta.get("choices")
            if choices and "none_flag" in meta:
                choices = (meta["none_flag"], *choices)
            parser.add_argument(*flags_of(option), dest=option.name, type=meta.get("type"), choices=choices,
                                metavar=None if choices else meta.get("metavar"),
                                default=None if defaults_to_none else option.default, help=help_text)


def _flag_value(option: dataclasses.Field, args: argparse.Namespace) -> Any:
    """A field's value as its flag gave it: the command line's word for None (``none_flag``) is None."""
    value = getattr(args, option.name)
    return None if "none_flag" in option.metadata and value == option.metadata["none_flag"] else value


def _common_arguments(parser: argparse.ArgumentParser, prog: str, what: str) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help=f"IN OUT, or with -o: the {what} to convert")
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="write each output into DIR (created if missing, not its parents), named after its input")
    parser.add_argument("-j", "--jobs", type=positive, default=1, metavar="N",
                        help="with several inputs, convert N at once in worker processes (default 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print bytes and bpp per chunk, and the time")
    parser.add_argument("--version", action="version", version=version_line(prog))


def encode_parser() -> argparse.ArgumentParser:
    return _command_parser(
        ENCODE, "Compress images to .abc. IN is anything Pillow reads; - is stdin (as OUT, stdout).",
        f"{ENCODE} [options] IN OUT.abc\n       {ENCODE} [options] IN... -o DIR", ENCODE_EXAMPLES, "images",
        add_encode_arguments)


def add_encode_arguments(parser: argparse.ArgumentParser, *, threads_note: str = "") -> None:
    """The encoder's flags (:func:`options_from` reads them), for abc-encode and abc-batch encode;
    ``threads_note`` ends --threads' help (abc-batch: what each worker reserves)."""
    from .options import ENCODE_KEYWORDS, BlockLayer, EncodeOptions

    add_options(parser, EncodeOptions)
    parser.add_argument("--strip", dest="metadata", action="store_const", const="none",
                        help="drop the ICC profile, EXIF, XMP and dpi (--metadata none)")
    for name, (metavar, help_text) in ENCODE_KEYWORDS.items():
        repeat = name == "roi"
        parser.add_argument(f"--{name}", action="append" if repeat else "store", default=[] if repeat else None,
                            metavar=metavar, help=help_text)
    parser.add_argument("--frame", type=non_negative, metavar="N",
                        help="the frame of an animation (GIF, APNG, WebP) or page to encode, from 0; "
                             "animations are refused without it")
    parser.add_argument("--threads", type=positive, metavar="N",
                        help="threads of the saliency model (--importance auto); the AV1 encoder's "
                             "are fixed, so that a file does not depend on the machine" + threads_note)
    add_options(parser.add_argument_group("block layer (with --no-base; --keep implies it)"), BlockLayer,
                defaults_to_none=True)


def decode_parser() -> argparse.ArgumentParser:
    return _command_parser(
        DECODE, "Decompress .abc files to images. - is stdin (as OUT, stdout: PNG unless --format).",
        f"{DECODE} [options] IN.abc OUT\n       {DECODE} [options] IN.abc... -o DIR", DECODE_EXAMPLES, ".abc files",
        add_decode_arguments)


def _command_parser(prog: str, description: str, usage: str, examples: str, inputs: str,
                    add_arguments: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """abc-encode's or abc-decode's parser: the paths, -o, -j, -v and --version, then its own flags."""
    parser = argparse.ArgumentParser(prog=prog, description=description, usage=usage, epilog=examples,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_arguments(parser, prog, inputs)
    add_arguments(parser)
    return parser


def add_decode_arguments(parser: argparse.ArgumentParser, *, threads_note: str = "",
                         quiet_help: str = "no progress bar (there is none when stderr is not a terminal)") -> None:
    """The decoder's flags (:func:`decode_options_from` reads them), for abc-decode and abc-batch
    decode, which ends --threads' help with ``threads_note`` and says what its --quiet also
    silences in ``quiet_help``."""
    from .decode_options import DecodeOptions

    parser.add_argument("--format", metavar="NAME",
                        help="the Pillow format to write (PNG, JPEG, WEBP, ...); default: from OUT's "
                             "extension, PNG for stdout and for -o")
    add_options(parser, DecodeOptions, notes={"threads": threads_note})
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)


def decode_options_from(args: argparse.Namespace):
    """DecodeOptions from the flags :func:`add_decode_arguments` made."""
    from .decode_options import DecodeOptions

    return DecodeOptions(**{option.name: _flag_value(option, args) for option in dataclasses.fields(DecodeOptions)})


def options_from(args: argparse.Namespace):
    """EncodeOptions from the flags :func:`add_options` made; block-layer flags need --no-base."""
    from .options import BlockLayer, EncodeOptions

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(BlockLayer) if getattr(args, f.name) is not None}
    layered = args.blocks or "keep" in given
    if given and not layered:
        flags = ", ".join(flag_of(f) for f in dataclasses.fields(BlockLayer) if f.name in given)
        msg = f"{flags} set the block layer: add --no-base"
        raise CliError(msg)
    top = {f.name: getattr(args, f.name) for f in dataclasses.fields(EncodeOptions) if f.name != "blocks"}
    return EncodeOptions(**top, blocks=BlockLayer(**given) if layered else None)


# ---------------------------------------------------------------------------------------------
# What to do: one job per input


@dataclasses.dataclass(frozen=True)
class EncodeSettings:
    options: Any
    importance: str | None
    roi: tuple[str, ...]
    frame: int | None
    threads: int | None
    verbose: bool


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
    options: Any
    verbose: bool
    progress: bool


def _encode_command(prog: str, argv: list[str]) -> int:
    args = encode_parser().parse_args(argv)
    try:
        settings = EncodeSettings(options_from(args), args.importance, tuple(args.roi), args.frame, args.threads,
                                  args.verbose)
        jobs = plan(args.paths, args.output_dir, lambda source: Path(source).stem + container_extension())
        if args.output_dir is None:
            refuse_image_name(jobs[0].target)
        make_output_dir(args.output_dir)
    except (AbcError, CliError) as e:
        return fail(prog, str(e))
    return run_jobs(prog, [(encode_file, job, settings) for job in jobs], args.jobs)


def _decode_command(prog: str, argv: list[str]) -> int:
    args = decode_parser().parse_args(argv)
    single = len(args.paths) == 2 and args.output_dir is None
    try:
        settings = DecodeSettings(decode_options_from(args), args.verbose,
                                  progress=single and not args.quiet and sys.stderr.isatty())
        wanted = writable_format(args.format) if args.format else None
        extension = extension_for(wanted or "PNG")
        jobs = plan(args.paths, args.output_dir, lambda source: Path(source).stem + extension)
        jobs = [dataclasses.replace(job, format=output_format(job.target, wanted)) for job in jobs]
        make_output_dir(args.output_dir)
    except (AbcError, CliError) as e:
        return fail(prog, str(e))
    return run_jobs(prog, [(decode_file, job, settings) for job in jobs], args.jobs)


def container_extension() -> str:
    from .pillow import EXTENSION

    return EXTENSION


def plan(paths: list[str], output_dir: str | None, name_for: Callable[[str], str]) -> list[Job]:
    """The jobs of a command line: ``IN OUT``, or inputs and ``-o DIR`` (outputs named by ``name_for``)."""
    if output_dir is None:
        if len(paths) != 2:
            what = "no output" if len(paths) == 1 else f"{len(paths)} paths"
            msg = f"{what}: give IN OUT, or several inputs with -o DIR"
            raise CliError(msg)
        jobs = [Job(*paths)]
    else:
        if os.path.lexists(output_dir) and not os.path.isdir(output_dir):
            msg = f"{output_dir}: not a directory"
            raise CliError(msg)
        if STDIO in paths:
            msg = "- (stdin) has no name to give its output in -o DIR; give IN OUT instead"
            raise CliError(msg)
        jobs = [Job(source, os.path.join(output_dir, name_for(source))) for source in paths]
        seen: dict[str, str] = {}
        for job in jobs:
            if job.target in seen:
                msg = f"{seen[job.target]} and {job.source} would both be written to {job.target}"
                raise CliError(msg)
            seen[job.target] = job.source
    for job in jobs:
        if job.source == STDIO:
            refuse_terminal(sys.stdin, "<stdin>", "read from")
        if job.target == STDIO:
            refuse_terminal(sys.stdout, "<stdout>", "written to")
    return jobs


def make_output_dir(output_dir: str | None) -> None:
    """Create ``-o DIR`` if missing, once the command line is known to be good, and say so, as
    batch tools do (squoosh-cli, sharp-cli); not its parents: a mistyped path grows no tree."""
    if output_dir is None or os.path.isdir(output_dir):
        return
    try:
        os.mkdir(output_dir)
    except FileNotFoundError as e:
        parent = os.path.dirname(os.path.normpath(output_dir))
        msg = f"{output_dir}: cannot create it: {parent} does not exist (-o creates DIR, not its parents)"
        raise CliError(msg) from e
    except OSError as e:
        msg = f"{output_dir}: cannot create it ({e.strerror})"
        raise CliError(msg) from e
    print(f"note: {output_dir}: created the output directory", file=sys.stderr)


def refuse_terminal(stream: IO | None, name: str, verb: str) -> None:
    """Image data is not typed at, nor shown on, a terminal (gzip's rule)."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if stream is not None and os.isatty(stream.fileno()):
            msg = f"{name} is a terminal, and image data is not {verb} one: redirect it or name a file"
            raise CliError(msg)


def refuse_image_name(target: str) -> None:
    """abc-encode's output may not be named like another image: ``abc-encode x.png y.png`` would
    otherwise replace y.png, meant as a second input, with an .abc file."""
    extension = Path(target).suffix.lower()
    known = Image.registered_extensions()
    if target != STDIO and extension != container_extension() and extension in known:
        msg = (f"{target}: abc-encode writes .abc files, and {extension} names a {known[extension]} image; "
               "to encode several images, give -o DIR")
        raise CliError(msg)


def writable_format(name: str) -> str:
    """A ``--format`` name as Pillow spells it, if Pillow can write it (and it is not .abc itself)."""
    Image.init()
    fmt = name.upper()
    writable = sorted(f for f in Image.SAVE if f != "ABC")
    if fmt not in writable:
        msg = f"--format {name}: not a format Pillow writes here ({', '.join(writable)})"
        raise CliError(msg)
    return fmt


def extension_for(fmt: str) -> str:
    """The extension of the files abc-decode -o writes in ``fmt``: ``.png``, ``.jpeg``, ``.webp``."""
    extensions = [extension for extension, owner in Image.registered_extensions().items() if owner == fmt]
    preferred = "." + fmt.lower()
    return preferred if preferred in extensions or not extensions else extensions[0]


def output_format(target: str, wanted: str | None) -> str:
    """The Pillow format abc-decode writes: ``--format``, else PNG on stdout, else the extension's."""
    if wanted:
        return wanted
    if target == STDIO:
        return "PNG"
    extension = Path(target).suffix.lower()
    fmt = Image.registered_extensions().get(extension)
    if fmt is None:
        msg = f"{target}: cannot tell the image format from the extension {extension or '(none)'!r}; give --format"
        raise CliError(msg)
    if fmt == "ABC":
        msg = f"{target}: abc-decode writes images, not .abc files; to decode several files, give -o DIR"
        raise CliError(msg)
    return fmt


# ---------------------------------------------------------------------------------------------
# One file: abc-encode's and abc-decode's work (abc-batch's too)


def encode_image(image: Image.Image, settings: EncodeSettings) -> tuple[bytes, list[warnings.WarningMessage]]:
    """The .abc bytes of an image read for abc-encode (or abc-batch encode), and the warnings the
    encode raised (its AbcWarning notes among them)."""
    from .codec import encode

    if settings.threads and settings.importance == "auto":
        from .saliency import set_threads

        set_threads(settings.threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AbcWarning)
        data = encode(image, options=settings.options, importance=settings.importance, roi=settings.roi)
    return data, caught


def encode_file(job: Job, settings: EncodeSettings, lines: list[str]) -> None:
    name = display(job.source, "<stdin>")
    started = time.perf_counter()
    try:
        image = read_image(job.source, settings.frame)
        data, notes = encode_image(image, settings)
    except FILE_ERRORS as e:
        raise CliError(named(name, e)) from e
    lines += [f"note: {name}: {note.message}" for note in notes]
    write_output(job.target, lambda stream: stream.write(data), job.source)
    if settings.verbose:
        lines += report(data, image.width * image.height, time.perf_counter() - started,
                        f"{name}: encoded {image.width}x{image.height}")


def decode_file(job: Job, settings: DecodeSettings, lines: list[str]) -> None:
    from .decoder import decode

    name = display(job.source, "<stdin>")
    started = time.perf_counter()
    shown = []

    def progress(done: int, total: int, seconds_left: float) -> None:
        shown.append(done)
        progress_bar(done, total, seconds_left)

    try:
        data = read_abc(job.source)
        image = decode(data, options=settings.options, progress=progress if settings.progress else None)
    except FILE_ERRORS as e:
        raise CliError(named(name, e)) from e
    finally:
        if shown:
            print(file=sys.stderr)  # ends the bar's line
    notes: list[str] = []
    write_output(job.target, lambda stream: notes.extend(save_decoded(image, stream, job.format)), job.source)
    lines += [f"note: {name}: {note}" for note in notes]
    if settings.verbose:
        lines += report(data, image.width * image.height, time.perf_counter() - started,
                        f"{name}: decoded {image.width}x{image.height} {image.mode}")


def save_decoded(image: Image.Image, stream: IO[bytes], fmt: str) -> list[str]:
    """Write a decoded image in Pillow format ``fmt`` with the ICC profile, EXIF, XMP and dpi its
    file carried, as far as the format holds them (``metadata.save_keywords``), for abc-decode
    and abc-batch decode alike; returns notes on what was left out."""
    from .metadata import save_keywords

    keywords, notes = save_keywords(image.info, fmt)
    image.save(stream, format=fmt, **keywords)
    return notes


def report(data: bytes, pixels: int, seconds: float, what: str) -> list[str]:
    """--verbose: bytes and bpp of each chunk, then the whole file and the time."""
    lines = [f"  {name:<9} {size:>9} bytes  {8 * size / pixels:.4f} bpp" for name, size in container.chunk_sizes(data)]
    return [*lines, f"{what}: {len(data)} bytes, {8 * len(data) / pixels:.4f} bpp, {seconds:.2f} s"]


def progress_bar(done: int, total: int, seconds_left: float) -> None:
    """One stderr line, rewritten in place, while the generative decoder works."""
    filled = round(30 * done / max(total, 1))
    print(f"\rdecoding [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}, "
          f"{seconds_left:.0f} s left ", end="", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Input


@contextlib.contextmanager
def open_input(source: str) -> Iterator[tuple[IO[bytes], bool]]:
    """The input's binary stream, and whether it is a regular file (else a pipe, read as it comes).

    A FIFO is opened without waiting for a writer (with none, it reads as empty); a directory, a
    device or a terminal is refused: reading one would never end, or wait for a person."""
    if source == STDIO:
        stream = sys.stdin.buffer
        try:
            mode = os.fstat(stream.fileno()).st_mode
        except (AttributeError, OSError, ValueError):  # not a real file: taken as a pipe
            mode = stat.S_IFIFO
        _check_input_kind("<stdin>", mode, allow_socket=True)
        yield stream, stat.S_ISREG(mode)
        return
    descriptor = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(descriptor).st_mode
        _check_input_kind(source, mode)
        os.set_blocking(descriptor, True)
        stream = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with stream:
        yield stream, stat.S_ISREG(mode)


def _check_input_kind(name: str, mode: int, *, allow_socket: bool = False) -> None:
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or allow_socket and stat.S_ISSOCK(mode):
        return
    kind = ("a directory" if stat.S_ISDIR(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file")
    msg = f"{name}: is {kind}, not a regular file or a pipe"
    raise CliError(msg)


def read_bounded(stream: IO[bytes], limit: int, name: str) -> bytes:
    """All of a pipe, refused once it is longer than ``limit``."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        msg = f"{name}: more than {limit} bytes from a pipe, more than any image .abc stores"
        raise CliError(msg)
    return data


def read_image(source: str, frame: int | None = None) -> Image.Image:
    """Open anything Pillow reads, checked (``images.check_image``) before a pixel is decoded, then
    fully loaded, so that its errors surface here; ``frame`` picks one of an animation."""
    name = display(source, "<stdin>")
    with open_input(source) as (stream, regular):
        if not regular:
            stream = io.BytesIO(read_bounded(stream, MAX_PIPE_BYTES, name))
        return open_image(stream, name, frame)


def open_image(stream: IO[bytes], name: str, frame: int | None = None) -> Image.Image:
    """:func:`read_image`'s work on a seekable binary stream (abc-batch's bytes from Ray Data);
    ``name`` names the input in errors."""
    from .images import check_image

    with warnings.catch_warnings():
        if not stream.read(1):
            msg = f"{name}: empty"
            raise CliError(msg)
        stream.seek(0)
        # Pillow only warns between 1x and 2x its MAX_IMAGE_PIXELS: here that is a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream)
        except Image.UnidentifiedImageError as e:
            msg = f"{name}: not an image Pillow reads"
            raise CliError(msg) from e
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            pixels = re.search(r"\((\d+) pixels\)", str(e))  # Pillow's message: "Image size (N pixels) exceeds ..."
            count = f"{pixels[1]} pixels" if pixels else "too many pixels"
            msg = f"{name}: {count}, over Pillow's limit of {Image.MAX_IMAGE_PIXELS} (a likely decompression bomb)"
            raise CliError(msg) from e
        with image:
            if frame is not None:
                frames = getattr(image, "n_frames", 1)
                if frame >= frames:
                    msg = f"{name}: no frame {frame}: the image has {frames} (0..{frames - 1})"
                    raise CliError(msg)
                image.seek(frame)
            check_image(image, one_frame=frame is not None)
            image.load()
            return image.copy() if frame is not None else image


def read_abc(source: str) -> bytes:
    """The file's bytes, read no further than its header allows (container.read_stream)."""
    name = display(source, "<stdin>")
    with open_input(source) as (stream, _):
        start = stream.read(len(container.SIGNATURE))
        if not start:
            msg = f"{name}: empty"
            raise CliError(msg)
        return container.read_stream(stream, start, source=name)
