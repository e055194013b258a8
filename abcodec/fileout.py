"""Safe file output for the commands: an output appears whole or not at all, and never replaces
its own input.

Output goes to an unnamed temporary file (``O_TMPFILE``) in the output's directory, which is
linked into place only once complete: a failure, a signal, even SIGKILL never leaves a partial
file or clobbers an existing one. A new file's mode follows the umask, an overwritten file keeps
its mode. Output to stdout, or to a device such as /dev/null, is written only after success. An
output that is the input (the same path, or a symbolic or hard link to it) is refused.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .console import STDIO, CliError, check_interrupted, display, named


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
