"""Run a fuzz target for N executions and report: ``python -m fuzz.run --target decode --runs N``.

Prints one JSON object: target, engine, executions, wall and CPU seconds (this process and its
children), executions per CPU second, libFuzzer's final coverage, and the distinct failures
(key and saved crasher). Exit status 0 when there were none, 1 otherwise.

Engines: ``atheris`` (the default when installed: coverage-guided libFuzzer in a child process,
:mod:`fuzz.libfuzzer`) and ``random`` (this process: :func:`fuzz.mutate.mutate` with a small
byte mutator of its own, applied to the seeds and to what it made from them; no coverage
feedback, for machines without atheris).
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzz.seeds import SEED_DIR
from fuzz.targets import CRASH_DIR, TARGETS, SLOW_SECONDS, Recorder, save_crasher

ROOT = Path(__file__).resolve().parent.parent

MAX_LEN = 8192
"""Longest input libFuzzer makes; seeds are a few hundred bytes."""

HANG_SECONDS = 60
"""libFuzzer's -timeout (wall clock): a backstop for an input that never returns (the Recorder
reports inputs over SLOW_SECONDS of CPU that do return)."""

RSS_LIMIT_MB = 2048
"""libFuzzer's -rss_limit_mb: a backstop for an allocation that kills the process."""

RUNS_PER_CHILD = 100_000
"""Executions per libFuzzer child process: an atheris process grows, past libFuzzer's 2 GB RSS
limit after about 220 000 decodes (fuzz/crashers/README.md), so a longer run is cut into children
that resume from one corpus."""

MAX_CORPUS = 256
"""Inputs the random engine keeps to mutate further."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description="Fuzz abcodec's decoder or Pillow plugin.")
    parser.add_argument("--target", choices=sorted(TARGETS), required=True)
    parser.add_argument("--runs", type=int, default=10000, help="executions (default %(default)s)")
    engines = ["atheris", "random"] if importlib.util.find_spec("atheris") else ["random"]
    parser.add_argument("--engine", choices=engines, default=engines[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutations")
    parser.add_argument("--crash-dir", type=Path, default=CRASH_DIR, help="where crashers are saved (%(default)s)")
    parser.add_argument("--corpus", type=Path, help="atheris: keep the inputs it finds here, to resume from")
    parser.add_argument("-v", "--verbose", action="store_true", help="pass libFuzzer's output through")
    return parser.parse_args(argv)


def run_random(args: argparse.Namespace) -> tuple[int, dict[str, Path], dict[str, int]]:
    """Mutate the seeds, and inputs made from them (stacking mutations); no coverage feedback."""
    from fuzz import mutate  # imports abcodec, which the atheris engine must import instrumented

    rng = random.Random(args.seed)
    seeds = [path.read_bytes() for path in sorted(SEED_DIR.glob("*.abc"))]
    offspring: collections.deque[bytes] = collections.deque(maxlen=MAX_CORPUS)
    recorder = Recorder(TARGETS[args.target], args.crash_dir)
    recorder.warm_up(seeds)
    byte_mutator = mutate.byte_mutator(rng)
    for _ in range(args.runs):
        parent = rng.choice(offspring) if offspring and rng.random() < 0.5 else rng.choice(seeds)
        data = mutate.mutate(parent, rng, byte_mutator, seeds)[:MAX_LEN]
        recorder(data)
        if rng.random() < 0.1:
            offspring.append(data)
    return recorder.executions, recorder.failures, {}


def run_atheris(args: argparse.Namespace) -> tuple[int, dict[str, Path], dict[str, int]]:
    """libFuzzer in child processes of at most RUNS_PER_CHILD executions each, one after the
    other on one corpus (libFuzzer exits its process when done or on a finding); their output
    parsed here."""
    executions, failures, coverage = 0, {}, {}
    with tempfile.TemporaryDirectory(prefix="abc-fuzz-") as scratch:
        corpus = args.corpus or Path(scratch, "corpus")
        corpus.mkdir(parents=True, exist_ok=True)
        for child in itertools.count():
            runs = min(RUNS_PER_CHILD, args.runs - executions)
            if runs <= 0:
                break
            executed, found, coverage = _libfuzzer_child(args, corpus, Path(scratch, f"artifacts-{child}"), runs,
                                                         seed=args.seed + 1 + child)
            for key, path in found.items():
                failures.setdefault(key, path)
            if not executed:
                break
            executions += executed
    return executions, failures, coverage


def _libfuzzer_child(args: argparse.Namespace, corpus: Path, artifacts: Path, runs: int,
                     seed: int) -> tuple[int, dict[str, Path], dict[str, int]]:
    artifacts.mkdir()
    command = [
        sys.executable, "-m", "fuzz.libfuzzer", args.target, str(args.crash_dir.resolve()),
        # libFuzzer reads seed 0 as "pick one"; new inputs go to the first corpus directory.
        f"-runs={runs}", f"-seed={seed}", f"-max_len={MAX_LEN}", f"-timeout={HANG_SECONDS}",
        f"-report_slow_units={HANG_SECONDS}", f"-rss_limit_mb={RSS_LIMIT_MB}", "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/", str(corpus), str(SEED_DIR),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if args.verbose:
        print(done.stderr, file=sys.stderr)
    failures = {key: Path(path) for key, path in re.findall(r"^FAILURE\t(.*)\t(.*)$", done.stdout, re.M)}
    failures.update(_libfuzzer_findings(done, artifacts, args.crash_dir))
    executed = re.search(r"stat::number_of_executed_units: (\d+)", done.stderr)
    final = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", done.stderr)
    coverage = dict(zip(("edges", "features", "corpus"), map(int, final[-1]))) if final else {}
    return int(executed.group(1)) if executed else 0, failures, coverage


def _libfuzzer_findings(done: subprocess.CompletedProcess, artifacts: Path, crash_dir: Path) -> dict[str, Path]:
    """What stopped libFuzzer itself (a hang past HANG_SECONDS, RSS past RSS_LIMIT_MB, a crash
    of the interpreter), with the input it saved, renamed as a crasher. Its ``slow-unit-*``
    files are not failures: slowness is the Recorder's to judge, in CPU time."""
    reason = re.search(r"ERROR: libFuzzer: ([\w-]+)", done.stderr)
    key = f"libFuzzer {reason.group(1) if reason else 'exit status ' + str(done.returncode)}"
    saved = [path for path in sorted(artifacts.iterdir()) if not path.name.startswith("slow-unit-")]
    found = {key: save_crasher(path.read_bytes(), crash_dir) for path in saved}
    if done.returncode and not found:
        print(done.stderr[-4000:], file=sys.stderr)
        found[key] = Path("-")
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, cpu_started = time.perf_counter(), sum(os.times()[:4])
    executions, failures, coverage = (run_atheris if args.engine == "atheris" else run_random)(args)
    seconds, cpu_seconds = time.perf_counter() - started, sum(os.times()[:4]) - cpu_started
    print(json.dumps({
        "target": args.target, "engine": args.engine, "executions": executions, "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "executions_per_cpu_second": round(executions / cpu_seconds, 1) if cpu_seconds else None,
        "libfuzzer_final": coverage, "slow_input_cpu_seconds": SLOW_SECONDS, "distinct_failures": len(failures),
        "failures": [{"key": key, "file": str(path)} for key, path in failures.items()],
    }, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
