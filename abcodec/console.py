"""What the console commands share (abc-encode, abc-decode, abc-batch): the exit statuses, the
one-line error, and Ctrl-C and SIGTERM turned into both.

Ctrl-C is caught from the moment an entry point runs (:func:`run_command`): the commands import
only the standard library and what ``import abcodec`` has already loaded, and the codec (numpy,
scipy, the networks) is imported after the handler is installed. What runs before it, the
interpreter's start-up and ``import abcodec`` with Pillow, no code of theirs can cover. SIGTERM
unwinds (:func:`sigterm_unwinds`), so that the output's temporary file is removed on the way.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

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


class CliError(Exception):
    """A problem the user can fix: printed as one line."""


class Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException, so that no ``except Exception`` stops it
    from unwinding through :func:`abcodec.fileout.atomic_output`, which removes its temporary file on the way."""


# ---------------------------------------------------------------------------------------------
# Ctrl-C and SIGTERM

_interrupt_seen = False
"""Set by the SIGINT handler: a KeyboardInterrupt can be turned into another error by C code
(numpy, interrupted while it imports its extension, raises ImportError) or swallowed (in a
weakref callback), and is an interrupt all the same."""


def run_command(prog: str, argv: Sequence[str] | None, command: Callable[[str, list[str]], int]) -> int:
    """Run a command with Ctrl-C as one line and EXIT_INTERRUPTED, the handler installed before
    the command imports anything heavy; the previous handler is restored after."""
    global _interrupt_seen
    _interrupt_seen = False
    previous = install_handler(signal.SIGINT, _interrupted)
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
            install_handler(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the line short
            print(f"{prog}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    finally:
        install_handler(signal.SIGINT, previous)
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


def install_handler(signum: int, handler: Any) -> Any:
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
    previous = install_handler(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        install_handler(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------------
# One line per problem


def fail(prog: str, message: str) -> int:
    """Print ``prog: error: message`` on stderr, the one line of a problem; returns EXIT_INPUT."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_INPUT


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
    """How an error names ``path``: ``stdio`` (``<stdin>``, ``<stdout>``) for ``-``."""
    return stdio if path == STDIO else path
