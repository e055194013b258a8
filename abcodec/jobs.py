"""Running the commands' jobs, one input and its output each: one after another, or ``-j N`` at
once in worker processes, each file's problem reported as its own line while the others go on.

The workers ignore Ctrl-C, so that the process that started them alone handles it and stops them
with SIGTERM, as it does when terminated itself (:mod:`abcodec.console`).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from PIL import Image

from .console import (EXIT_INPUT, EXIT_TERMINATED, CliError, Terminated, check_interrupted, display, install_handler,
                      named, sigterm_unwinds)
from .container import AbcError


@dataclasses.dataclass(frozen=True)
class Job:
    """One input and its output (paths, or STDIO); ``format`` is the Pillow format abc-decode writes."""

    source: str
    target: str
    format: str | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one job has to say (notes, the -v report), and its error if it failed."""

    lines: tuple[str, ...]
    error: str | None = None


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
    previous = install_handler(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = context.Pool(min(workers, len(tasks)))
    finally:
        install_handler(signal.SIGINT, previous)
    try:
        yield from pool.imap(_pooled_task, tasks)
        pool.close()
    finally:
        previous = install_handler(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave workers behind
        try:
            pool.terminate()
            pool.join()
        finally:
            install_handler(signal.SIGINT, previous)


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
