"""abc-encode and abc-decode.

The conventions of cwebp and avifenc: ``-`` is stdin or stdout, several inputs go to ``-o DIR``
(``-j N`` of them at once), ``--version``, and ``--help`` with examples. Any problem is one line
on stderr that names the file, and a non-zero exit (``EXIT_*``), never a traceback: bad input,
a full disk, Ctrl-C and SIGTERM alike.

Ctrl-C is caught from the moment an entry point runs: this module imports only the standard
library and what ``import abcodec`` has already loaded, and the codec (numpy, scipy, the
networks) is imported after the handler is installed. What runs before it, the interpreter's
start-up and ``import abcodec`` with Pillow, no code of this module can cover.

Output goes to an unnamed temporary file (``O_TMPFILE``) in the output's directory, which is
linked into place only once complete: a failure, a signal, even SIGKILL never leaves a partial
file or clobbers an existing one. A new file's mode follows the umask, an overwritten file keeps
its mode. Output to stdout, or to a device such as /dev/null, is written only after success. An
output that is the input (the same path, or a symbolic or hard link to it) is refused.

Inputs are regular files or pipes, read no further than they need: a FIFO is opened without
waiting for a writer, devices are refused, an .abc file is read no further than its header
allows (``container.read_stream``) and an image from a pipe no further than ``MAX_PIPE_BYTES``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import io
import os
import re
import signal
import stat
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from PIL import Image

from . import container
from .container import AbcError, AbcWarning

ENCODE = "abc-encode"
DECODE = "abc-decode"
STDIO = "-"
"""The path that means stdin as an input, stdout as an output."""

EXIT_INPUT = 1
"""Bad input, bad option or an unreadable/unwritable file; with several inputs, any of them."""

EXIT_USAGE = 2
"""A command line argparse cannot parse (its own exit status)."""

EXIT_INTERRUPTED = 130
"""Ctrl-C, as shells report SIGINT: 128 + 2."""

EXIT_TERMINATED = 143
"""SIGTERM (``kill``'s default signal), as shells report it: 128 + 15."""

MAX_PIPE_BYTES = 4 * container.MAX_PIXELS + container.MAX_ANCILLARY_TOTAL
"""Most bytes abc-encode reads from a pipe (stdin, a FIFO), which Pillow cannot read lazily as it
reads a file: the largest image .abc stores, uncompressed at 4 bytes a pixel (CMYK), with all
the metadata .abc carries (288 MiB). More is refused, so ``< /dev/zero`` ends."""

ENCODE_EXAMPLES = """\
examples:
  abc-encode photo.png photo.abc                  0.25 bpp, the default rate
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


class CliError(Exception):
    """A problem the user can fix: printed as one line."""


class Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException, so that no ``except Exception`` stops it
    from unwinding through ``atomic_output``, which removes its temporary file on the way."""


# ---------------------------------------------------------------------------------------------
# Entry points and signals


def encode_cli(argv: Sequence[str] | None = None) -> int:
    """``abc-encode`` (the console script) and its ``main(argv)``: returns the exit status."""
    return _console(ENCODE, argv, _encode_command)


def decode_cli(argv: Sequence[str] | None = None) -> int:
    """``abc-decode`` (the console script) and its ``main(argv)``: returns the exit status."""
    return _console(DECODE, argv, _decode_command)


_interrupt_seen = False
"""Set by the SIGINT handler: a KeyboardInterrupt can be turned into another error by C code
(numpy, interrupted while it imports its extension, raises ImportError) or swallowed (in a
weakref callback), and is an interrupt all the same."""


def _console(prog: str, argv: Sequence[str] | None, command: Callable[[str, list[str]], int]) -> int:
    """Run a command with Ctrl-C as one line and EXIT_INTERRUPTED, the handler installed before
    the command imports anything heavy; the previous handler is restored after."""
    global _interrupt_seen
    _interrupt_seen = False
    previous = _install(signal.SIGINT, _interrupted)
    previous_hook = sys.unraisablehook

    def unraisable(report: Any) -> None:
        # A Ctrl-C that lands in a weakref callback or __del__ (the import system's locks have
        # them) cannot propagate; Python would print it as "Exception ignored". It is not lost:
        # check_interrupted raises it again.
        if not (isinstance(report.exc_value, KeyboardInterrupt) and _interrupt_seen):
            previous_hook(report)

    sys.unraisablehook = unraisable
    try:
        try:
            return command(prog, list(sys.argv[1:] if argv is None else argv))
        except SystemExit as e:  # argparse: --help, --version or a malformed command line
            return e.code if isinstance(e.code, int) else 0 if e.code is None else EXIT_USAGE
        except BaseException as e:
            if not (_interrupt_seen or isinstance(e, KeyboardInterrupt)):
                raise
            _install(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the line short
            print(f"{prog}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    finally:
        _install(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook


def _interrupted(signum: int, frame: object) -> None:
    global _interrupt_seen
    _interrupt_seen = True
    raise KeyboardInterrupt


def check_interrupted() -> None:
    """Raise the KeyboardInterrupt that C code may have turned into an error that was then caught
    (an optional import that fails is often caught): called before each file, and before an output
    takes its name, so that no Ctrl-C is lost."""
    if _interrupt_seen:
        raise KeyboardInterrupt


def _install(signum: int, handler: Any) -> Any:
    """``signal.signal``, where it can be: in the main thread, and for a handler Python set."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signum, handler)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the body runs (its default kills the process at
    once, leaving a named temporary file behind where there is no O_TMPFILE); the previous
    handler is restored after. Outside the main thread, where handlers cannot be installed,
    nothing changes."""
    previous = _install(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        _install(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------------
# Command lines


def version_line(prog: str) -> str:
    """``abc-encode 0.3.0 (format 3; Pillow 13.0.0, libavif 1.4.2)``: what makes the files."""
    import PIL
    from PIL import features

    from . import __version__

    libavif = features.version("avif") or "missing"
    return f"{prog} {__version__} (format {container.VERSION}; Pillow {PIL.__version__}, libavif {libavif})"


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        msg = f"{value} is not a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return value


def non_negative(text: str) -> int:
    """argparse type: an integer of at least 0."""
    value = int(text)
    if value < 0:
        msg = f"{value} is negative"
        raise argparse.ArgumentTypeError(msg)
    return value


def flag_of(option: dataclasses.Field) -> str:
    """The field's long flag (its name with dashes unless its metadata says another)."""
    return option.metadata.get("flag", "--" + option.name.replace("_", "-"))


def flags_of(option: dataclasses.Field) -> tuple[str, ...]:
    """Every flag of a field: its metadata's ``flags`` (a short one too), else :func:`flag_of`."""
    return option.metadata.get("flags", (flag_of(option),))


def add_options(parser, cls: type, *, defaults_to_none: bool = False) -> None:
    """One flag per field of an options dataclass, from the field's metadata (options.py).

    ``defaults_to_none``: a flag not given is None, so that the caller can tell what was asked for.
    """
    for option in dataclasses.fields(cls):
        meta = option.metadata
        shown = "" if option.default in (None, (), False) or isinstance(option.default, tuple) else f" (default {option.default})"
        if option.type == "bool" or option.name == "blocks":
            parser.add_argument(flag_of(option), dest=option.name, action="store_true", help=meta["help"])
        else:
            metavar = None if meta.get("choices") else meta.get("metavar")
            parser.add_argument(*flags_of(option), dest=option.name, type=meta.get("type"), choices=meta.get("choices"),
                                metavar=metavar, default=None if defaults_to_none else option.default,
                                help=meta["help"] + shown)


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


def add_encode_arguments(parser: argparse.ArgumentParser) -> None:
    """The encoder's flags (:func:`options_from` reads them), for abc-encode and abc-batch encode."""
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
                        help="threads of the saliency network (--importance auto); the AV1 encoder's "
                             "are fixed, so that a file does not depend on the machine")
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


def add_decode_arguments(parser: argparse.ArgumentParser) -> None:
    """The decoder's flags, for abc-decode and abc-batch decode."""
    from .options import AVAILABLE_INPAINTERS, DEVICES

    parser.add_argument("--format", metavar="NAME",
                        help="the Pillow format to write (PNG, JPEG, WEBP, ...); default: from OUT's "
                             "extension, PNG for stdout and for -o")
    parser.add_argument("--inpainter", choices=("auto", *AVAILABLE_INPAINTERS), default="auto",
                        help="auto: the one the file asks for")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the generative decoder runs")
    parser.add_argument("--threads", type=positive, metavar="N",
                        help="CPU threads of the generative decoder (default: ONNX Runtime's or torch's own); "
                             "the pixels do not depend on it")
    parser.add_argument("--max-pixels", type=int, default=container.DEFAULT_MAX_PIXELS, metavar="N",
                        help=f"refuse larger images, and files of more than {container.MAX_PIXELS_PER_BYTE} pixels "
                             f"per byte (default %(default)s); 0: trust the file, only the format's limits")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")


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
class Job:
    """One input and its output (paths, or STDIO); ``format`` is the Pillow format abc-decode writes."""

    source: str
    target: str
    format: str | None = None


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
    inpainter: str | None
    device: str
    max_pixels: int | None
    verbose: bool
    progress: bool
    threads: int | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one job has to say (notes, the -v report), and its error if it failed."""

    lines: tuple[str, ...]
    error: str | None = None


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
        return _fail(prog, str(e))
    return run_jobs(prog, [(encode_file, job, settings) for job in jobs], args.jobs)


def _decode_command(prog: str, argv: list[str]) -> int:
    args = decode_parser().parse_args(argv)
    inpainter = None if args.inpainter == "auto" else args.inpainter
    single = len(args.paths) == 2 and args.output_dir is None
    settings = DecodeSettings(inpainter, args.device, args.max_pixels or None, args.verbose,
                              progress=single and not args.quiet and sys.stderr.isatty(), threads=args.threads)
    try:
        wanted = writable_format(args.format) if args.format else None
        extension = extension_for(wanted or "PNG")
        jobs = plan(args.paths, args.output_dir, lambda source: Path(source).stem + extension)
        jobs = [dataclasses.replace(job, format=output_format(job.target, wanted)) for job in jobs]
        make_output_dir(args.output_dir)
    except CliError as e:
        return _fail(prog, str(e))
    return run_jobs(prog, [(decode_file, job, settings) for job in jobs], args.jobs)


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_INPUT


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
# Running the jobs


Task = tuple[Callable[[Job, Any, list[str]], None], Job, Any]


def run_jobs(prog: str, tasks: list[Task], workers: int) -> int:
    """Run each task, in order or ``workers`` at once, printing what each has to say in order."""
    failed = False
    with sigterm_unwinds():
        try:
            outcomes = map(run_task, tasks) if workers == 1 or len(tasks) == 1 else _pooled(tasks, workers)
            for outcome in outcomes:
                for line in outcome.lines:
                    print(line, file=sys.stderr)
                if outcome.error is not None:
                    failed = True
                    print(f"{prog}: error: {outcome.error}", file=sys.stderr)
        except Terminated:
            print(f"{prog}: terminated", file=sys.stderr)
            return EXIT_TERMINATED
    return EXIT_INPUT if failed else 0


def _pooled(tasks: list[Task], workers: int) -> Iterator[Outcome]:
    """The outcomes of worker processes, in the tasks' order. The workers start with Ctrl-C ignored
    (SIG_IGN survives exec), so that this process alone handles it: it stops them with SIGTERM,
    as it does when terminated itself. Outputs do not depend on the number of workers."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads forked mid-flight
    previous = _install(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = context.Pool(min(workers, len(tasks)))
    finally:
        _install(signal.SIGINT, previous)
    try:
        yield from pool.imap(_pooled_task, tasks)
        pool.close()
    finally:
        previous = _install(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave workers behind
        try:
            pool.terminate()
            pool.join()
        finally:
            _install(signal.SIGINT, previous)


def _pooled_task(task: Task) -> Outcome:
    """run_task in a worker: SIGTERM (the pool stopping) ends it quietly, after the unwinding."""
    try:
        return run_task(task)
    except Terminated:
        os._exit(EXIT_TERMINATED)


FILE_ERRORS = (AbcError, CliError, OSError, ValueError, EOFError, SyntaxError, MemoryError,
               Image.DecompressionBombError)
"""What reading, coding or writing one file may raise for a reason of that file's."""


def run_task(task: Task) -> Outcome:
    """One job: its notes and report, or the one line of its error; whatever goes wrong with one
    file, the other files go on (under ``-j N`` an exception would end the pool's iteration)."""
    work, job, settings = task
    lines: list[str] = []
    check_interrupted()
    try:
        with sigterm_unwinds():
            work(job, settings, lines)
    except CliError as e:
        return Outcome(tuple(lines), str(e))
    except Exception as e:  # past the checks that name a file's problems: still that file's alone
        check_interrupted()  # a Ctrl-C that C code turned into another error ends the run
        name = display(job.source, "<stdin>")
        if isinstance(e, FILE_ERRORS):
            return Outcome(tuple(lines), named(name, e))
        return Outcome(tuple(lines), f"{name}: unexpected {type(e).__name__}: {e} (please report it)")
    return Outcome(tuple(lines))


def named(name: str, error: BaseException) -> str:
    """The error's message, starting with the file it is about."""
    if isinstance(error, MemoryError):
        text = "out of memory"
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    else:
        text = str(error) or type(error).__name__
    return text if text.startswith(f"{name}:") else f"{name}: {text}"


def display(path: str, stdio: str) -> str:
    return stdio if path == STDIO else path


def encode_image(image: Image.Image, settings: EncodeSettings) -> tuple[bytes, list[warnings.WarningMessage]]:
    """The .abc bytes of an image read for abc-encode (or abc-batch encode), and the warnings the
    encode raised (its AbcWarning notes among them)."""
    from .codec import encode

    if settings.threads and settings.importance == "auto":
        with contextlib.suppress(ImportError):  # without torch, importance.py says what is missing
            import torch  # --importance auto loads it anyway

            torch.set_num_threads(settings.threads)
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
    from .codec import decode

    name = display(job.source, "<stdin>")
    started = time.perf_counter()
    shown = []

    def progress(done: int, total: int, seconds_left: float) -> None:
        shown.append(done)
        progress_bar(done, total, seconds_left)

    try:
        data = read_abc(job.source)
        image = decode(data, inpainter=settings.inpainter, device=settings.device, max_pixels=settings.max_pixels,
                       progress=progress if settings.progress else None, threads=settings.threads)
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


# ---------------------------------------------------------------------------------------------
# Output


def write_output(target: str, write: Callable[[IO[bytes]], object], source: str) -> None:
    """Write an output through ``write(stream)``: stdout and devices (/dev/null) only once all of
    it is made, a file through :func:`atomic_output`. Every error names the output."""
    direct = target == STDIO or _is_device(target)
    if not direct:
        with atomic_output(Path(target), None if source == STDIO else Path(source)) as stream:
            write(stream)
        return
    name = display(target, "<stdout>")
    buffer = io.BytesIO()
    try:
        write(buffer)
    except (OSError, ValueError) as e:
        raise CliError(named(name, e)) from e
    check_interrupted()
    try:
        if target == STDIO:
            sys.stdout.buffer.write(buffer.getvalue())
            sys.stdout.buffer.flush()
        else:
            with open(target, "wb") as device:
                device.write(buffer.getvalue())
    except OSError as e:
        if target == STDIO:
            _silence_stdout()
        msg = f"{name}: cannot write ({e.strerror or e})"
        raise CliError(msg) from e


def _is_device(target: str) -> bool:
    """An existing output that is no regular file (a device, a FIFO): written to, not replaced."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _silence_stdout() -> None:
    """After a failed write to stdout (a closed pipe, a full disk), the interpreter must not try
    again at exit and print a traceback: stdout becomes /dev/null."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def atomic_output(path: Path, source: Path | None = None) -> Iterator[IO[bytes]]:
    """A binary file for ``path``'s new content, which takes ``path``'s name only if the body succeeds.

    The file has no name until then (``O_TMPFILE``; :func:`_publish` links it into place), so
    that even SIGKILL leaves nothing behind. A new file gets the umask's mode, as ``open`` would
    give it; an existing one's mode is kept. Errors name ``path``; an output that is ``source``
    is refused.
    """
    if path.is_dir():
        msg = f"{path}: is a directory"
        raise CliError(msg)
    if source is not None and path.exists() and source.exists() and path.samefile(source):
        msg = f"{path}: output would overwrite the input"
        raise CliError(msg)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    try:
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        msg = f"{path}: cannot write here ({e.strerror})"
        raise CliError(msg) from e
    temporary = None
    try:
        try:
            descriptor, temporary = _new_file(directory, path.name, mode)
        except OSError as e:
            msg = f"{path}: cannot write here ({e.strerror})"
            raise CliError(msg) from e
        stream = os.fdopen(descriptor, "wb")
        try:
            yield stream
            stream.flush()
            if mode is not None:
                os.fchmod(descriptor, mode)
            check_interrupted()
            _publish(descriptor, temporary, path.name, directory)
        except OSError as e:
            msg = f"{path}: cannot write ({e.strerror})" if e.strerror else f"{path}: {e}"
            raise CliError(msg) from e
        except ValueError as e:  # Pillow: an image its format cannot hold
            msg = f"{path}: {e}"
            raise CliError(msg) from e
        finally:
            _close_unflushed(stream)
    finally:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=directory)
        os.close(directory)


def _close_unflushed(stream: IO[bytes]) -> None:
    """Close an output that was flushed, or that failed: after a failure its buffer may still hold
    bytes, and the write ``close()`` would try again (on a full disk, a second ENOSPC) must not
    replace the one line that already names the error."""
    with contextlib.suppress(OSError):
        stream.close()


def _new_file(directory: int, name: str, mode: int | None) -> tuple[int, str | None]:
    """A file to write in ``directory``: unnamed (None) where O_TMPFILE works, else named ``.NAME.*.part``."""
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o666, dir_fd=directory), None
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
    # No O_TMPFILE (not Linux, or a file system without it): a named temporary file, removed on
    # failure and on SIGTERM, but left behind by SIGKILL. It is made 0600, then given the mode
    # open() would have given a new file (0666 less the umask) or the old file's.
    descriptor, temporary = _mkstemp(directory, name)
    os.fchmod(descriptor, 0o666 & ~_umask() if mode is None else mode)
    return descriptor, temporary


def _mkstemp(directory: int, name: str) -> tuple[int, str]:
    """A new ``.NAME.XXXX.part`` in ``directory``, created exclusively."""
    while True:
        temporary = f".{name}.{os.urandom(4).hex()}.part"
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=directory), temporary
        except FileExistsError:
            continue


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _publish(descriptor: int, temporary: str | None, name: str, directory: int) -> None:
    """Give the written file ``name``: a rename of the named temporary file, or a link of the
    unnamed one (through /proc, as linkat(2) describes for O_TMPFILE), straight to ``name`` when
    nothing has it, else to a temporary name renamed over the old file."""
    if temporary is not None:
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        return
    unnamed = f"/proc/self/fd/{descriptor}"
    try:
        os.link(unnamed, name, dst_dir_fd=directory)  # a dir_fd makes it linkat, following /proc's link
        return
    except FileExistsError:
        pass
    while True:
        linked = f".{name}.{os.urandom(4).hex()}.part"
        try:
            os.link(unnamed, linked, dst_dir_fd=directory)
            break
        except FileExistsError:
            continue
    try:
        os.replace(linked, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(linked, dir_fd=directory)
        raise
