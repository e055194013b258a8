"""abc-batch: abc-encode and abc-decode over a whole archive, on Ray Data.

``abc-batch encode SRC DST [encoder options]`` and ``abc-batch decode SRC DST [decoder options]``
convert every file under SRC (a folder, a glob, one file, or a URI: ``s3://``, ``gs://``,
``file://``, anything pyarrow or fsspec reads) into DST (a folder or a URI), each output named
after its input as ``abc-encode -o DIR`` names it, its relative path kept. The encoder's and the
decoder's flags are abc-encode's and abc-decode's own (``cli.add_encode_arguments``,
``cli.add_decode_arguments``), so the surfaces cannot drift, and the files are byte for byte what
abc-encode writes.

How it runs (Ray Data): the driver lists SRC and DST once, then
``read_binary_files(paths, include_paths=True, filesystem=...)`` reads the inputs that have no
output yet, and ``map_batches(Transcoder, compute=ActorPoolStrategy(size=N))`` converts them on N
actors, each of which imports the codec once (the ONNX session of the generative decoder is made
once per process) and writes its outputs itself; only a small record per file comes back.
``decode --device cuda`` reserves a GPU for each actor (``num_gpus``), the generative decoder's device.

What holds whatever happens to one file:

- An input that fails (not an image, a damaged or hostile .abc, two inputs that would get one
  name, a file larger than any image or .abc can be) is reported with its reason, as abc-encode
  words it, and skipped; the run goes on and exits ``EXIT_INPUT``. A read error (a file that
  vanished, an object the credentials cannot read) or a worker that dies drops the block that
  held the file (``DataContext.max_errored_blocks``), which Ray Data reads several files to:
  those files are reported as without a result, and a re-run retries them.
- No partial output: on a local file system each output is ``fileout.write_output``'s (an unnamed
  temporary file linked into place when complete). Where renames are atomic (HDFS, and file
  systems reached through fsspec that are not object stores), an output is written as
  ``.NAME.XXXX.part`` beside its name, then renamed. On object stores (S3, GCS, Azure), where a
  rename is a copy, an output is uploaded once, all of it already made: an object becomes
  visible only when its upload completes (one PUT, or the multipart upload's completion), so a
  failed or killed upload leaves no object (an abandoned multipart upload is invisible; a
  bucket lifecycle rule removes its parts).
- Resume: an input whose output exists is skipped (``--overwrite`` redoes it), found from one
  listing of DST, so an interrupted archive job goes on where it stopped.

Names starting with a dot (hidden files and folders, the ``.part`` files above) are not inputs,
nor is anything under DST when DST lies inside SRC. With ``--address``, the cluster's nodes must
have the same abcodec installed, and a local SRC or DST must be a folder every node sees (NFS);
otherwise use object storage.

Ray is the ``[batch]`` extra and only this module imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import io
import json
import logging
import os
import platform
import posixpath
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from . import cli, console, container, fileout, jobs
from .container import AbcError, AbcWarning
from .locations import Location, is_object_store, list_files, locate, output_name

BATCH = "abc-batch"

INSTALL = 'pip install "abcodec[batch]"'
"""What to run when Ray (or the pyarrow that Ray Data brings) is missing."""

WORKER_THREADS_NOTE = "; each worker reserves this many CPUs (default 1)"
"""What --threads also means to abc-batch, at the end of abc-encode's and abc-decode's help for it."""

WORKERS_PER_READER = 8
"""Actors one read task feeds: a read (milliseconds locally, tens on an object store) is far
shorter than a file's conversion (0.5 to 2 s a Kodak image on one core, 30 times more at 12 MP)."""

BLOCKS_PER_WORKER = 32
"""Blocks (groups of files, each converted by one actor) per worker: one file each in a small
run; in an archive's, blocks small enough that the last one's wait is ~3 % of a worker's share,
and few enough that the driver does not plan millions of read tasks."""

BATCH_EXAMPLES = """\
examples:
  abc-batch encode photos encoded                 every image under photos/ -> encoded/**/NAME.abc
  abc-batch encode 'photos/**/*.jpg' encoded --bpp 0.2 --workers 8
  abc-batch encode s3://bucket/photos s3://bucket/abc --address auto --report report.json
  abc-batch decode encoded decoded --format webp  -> decoded/**/NAME.webp
  abc-batch decode file:///data/abc /data/png --inpainter diffusion

Inputs whose output exists are skipped (--overwrite redoes them), so a stopped run resumes.
"""


# ---------------------------------------------------------------------------------------------
# Entry point and command line


def main(argv: Sequence[str] | None = None) -> int:
    """``abc-batch`` (the console script) and its ``main(argv)``: returns the exit status."""
    return console.run_command(BATCH, argv, _command)


def parser() -> argparse.ArgumentParser:
    """``abc-batch encode|decode SRC DST``, with abc-encode's or abc-decode's flags."""
    top = argparse.ArgumentParser(
        prog=BATCH, description="abc-encode and abc-decode over a folder, a glob or object storage, on Ray.",
        epilog=BATCH_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=cli.version_line(BATCH))
    commands = top.add_subparsers(dest="command", required=True, metavar="encode|decode")
    encode = commands.add_parser("encode", help="images to .abc files", epilog=BATCH_EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage=f"{BATCH} encode [options] SRC DST")
    _batch_arguments(encode, "images")
    cli.add_encode_arguments(encode, threads_note=WORKER_THREADS_NOTE)
    encode.add_argument("--quiet", action="store_true", help="no progress bar, no notes, no Ray log lines")
    decode = commands.add_parser("decode", help=".abc files to images", epilog=BATCH_EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage=f"{BATCH} decode [options] SRC DST")
    _batch_arguments(decode, ".abc files")
    cli.add_decode_arguments(decode, threads_note=WORKER_THREADS_NOTE, quiet_help="no progress bar, no Ray log lines")
    return top


def _batch_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("source", metavar="SRC", help=f"the {what}: a folder (all of it, recursively), a glob "
                                                      "('photos/**/*.jpg', quoted), a file or a URI (s3://, file://, ...)")
    parser.add_argument("destination", metavar="DST", help="the folder or URI the outputs go to, relative paths kept")
    parser.add_argument("--workers", type=cli.positive, metavar="N",
                        help="actors converting at once (default: the cluster's CPUs / --threads)")
    parser.add_argument("--address", metavar="ADDR",
                        help="join a running Ray cluster (auto, or host:port); default: start a local one")
    parser.add_argument("--overwrite", action="store_true", help="redo inputs whose output exists (default: skip them)")
    parser.add_argument("--report", metavar="FILE", help="write a JSON report of every file (- for stdout)")


def _command(prog: str, argv: list[str]) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    try:
        _require_ray()
        job = _job_from(args)
        source, destination = locate(args.source), locate(args.destination, destination=True)
        work = plan(job.kind, source, destination, job.extension, overwrite=args.overwrite)
    except (AbcError, console.CliError) as e:
        return console.fail(prog, str(e))
    with console.sigterm_unwinds():
        try:
            records = work.done + run(work, job, workers=args.workers, address=args.address, quiet=args.quiet)
            seconds = time.perf_counter() - started
        except console.Terminated:
            print(f"{prog}: terminated", file=sys.stderr)
            return console.EXIT_TERMINATED
        except RunError as e:
            return console.fail(prog, str(e))
    records.sort(key=lambda record: record["input"])
    for entry in records:
        if not args.quiet:
            for note in entry["notes"]:
                print(f"note: {entry['input']}: {note}", file=sys.stderr)
        if entry["status"] == FAILED:
            print(f"{prog}: error: {entry['error']}", file=sys.stderr)
    totals = summary(job.kind, records, seconds)
    print(summary_line(job.kind, totals), file=sys.stderr)
    if args.report:
        report = {"command": job.kind, "source": args.source, "destination": args.destination,
                  "summary": totals, "files": records}
        text = json.dumps(report, indent=1, ensure_ascii=False).encode() + b"\n"
        try:
            fileout.write_output(args.report, lambda stream: stream.write(text), console.STDIO)
        except console.CliError as e:
            return console.fail(prog, str(e))
    return console.EXIT_INPUT if totals["failed"] else 0


def _require_ray() -> None:
    """Ray Data, or one line saying what to install."""
    try:
        import pyarrow.fs  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        msg = f"abc-batch runs on Ray Data, which is not installed ({e.name or e}): {INSTALL}"
        raise console.CliError(msg) from e


class RunError(Exception):
    """The run as a whole failed (the cluster, not a file): printed as one line."""


# ---------------------------------------------------------------------------------------------
# What every worker is told


@dataclasses.dataclass(frozen=True)
class Job:
    """How to convert one file: ``kind`` is "encode" or "decode", ``settings`` abc-encode's or
    abc-decode's (cli.EncodeSettings, cli.DecodeSettings); ``cpus`` and ``gpus`` each worker
    reserves (a GPU for ``decode --device cuda``: Ray shows an actor only the GPUs it reserved)."""

    kind: str
    settings: Any
    extension: str
    format: str | None
    cpus: int
    gpus: int = 0
    made_by: str = dataclasses.field(default_factory=lambda: cli.version_line(BATCH))
    """The driver's abcodec, Pillow and libavif versions: what makes the bytes; a worker with others refuses."""


def _job_from(args: argparse.Namespace) -> Job:
    threads = args.threads or 1
    if args.command == "encode":
        settings = cli.EncodeSettings(cli.options_from(args), args.importance, tuple(args.roi), args.frame,
                                      args.threads, verbose=False)
        return Job("encode", settings, cli.container_extension(), None, threads)
    options = dataclasses.replace(cli.decode_options_from(args), threads=threads)
    settings = cli.DecodeSettings(options, verbose=False, progress=False)
    fmt = cli.writable_format(args.format) if args.format else "PNG"
    return Job("decode", settings, cli.extension_for(fmt), fmt, threads, gpus=int(options.device == "cuda"))


# ---------------------------------------------------------------------------------------------
# What to do: which inputs, which are done, which cannot be


WRITTEN, SKIPPED, FAILED = "written", "skipped", "failed"


@dataclasses.dataclass(frozen=True)
class Plan:
    """The inputs to convert (``todo``: relative path -> output's relative path), and the records
    of those already settled: skipped (their output exists) or refused before any reading."""

    source: Location
    destination: Location
    todo: dict[str, str]
    done: list[dict]


def record(source: Location, destination: Location, relative: str, target: str | None, status: str, *,
           error: str | None = None, bytes_in: int | None = None, bytes_out: int | None = None,
           width: int | None = None, height: int | None = None, seconds: float | None = None,
           notes: Sequence[str] = (), kind: str = "encode") -> dict:
    """One file's entry in the report; ``bpp`` is the .abc file's, ``seconds`` the worker's time."""
    pixels = (width or 0) * (height or 0)
    coded = bytes_out if kind == "encode" else bytes_in
    bpp = round(8 * coded / pixels, 5) if pixels and coded is not None and status == WRITTEN else None
    return {"input": source.display(relative), "output": None if target is None else destination.display(target),
            "status": status, "error": error, "bytes_in": bytes_in, "bytes_out": bytes_out, "width": width,
            "height": height, "bpp": bpp, "seconds": None if seconds is None else round(seconds, 4),
            "notes": list(notes)}


def largest_input(kind: str) -> int:
    """Bytes above which an input is refused unread: for images, cli.MAX_PIPE_BYTES (the largest
    image .abc stores, uncompressed, with all its metadata); for .abc files the longest file the
    format admits (§5, the largest image it describes). Each file is then read whole; the
    worker applies abc-decode's own bound from its header (container.read_stream)."""
    if kind == "encode":
        return cli.MAX_PIPE_BYTES
    largest = container.Header(width=container.MAX_SIDE, height=container.MAX_PIXELS // container.MAX_SIDE,
                               mode=container.MODE_RGB, block=4, q_luma=1, q_chroma=1, chroma_shift=0)
    return container.max_file_size(largest)


def plan(kind: str, source: Location, destination: Location, extension: str, *, overwrite: bool = False) -> Plan:
    """List SRC and DST once; settle what needs no worker (outputs that exist, inputs that two
    names share or that are too large to be what they should), and name the outputs of the rest."""
    exclude = None
    if type(source.filesystem) is type(destination.filesystem) and destination.root.startswith(source.root.rstrip("/") + "/"):
        exclude = destination.root[len(source.root.rstrip("/")) + 1:]
    inputs = list_files(source, exclude=exclude)
    if not inputs:
        what = f"no files match {source.pattern}" if source.pattern else "no files"
        msg = f"{source.shown or '.'}: {what}"
        raise console.CliError(msg)
    existing = list_files(destination) if not overwrite else {}
    limit = largest_input(kind)
    targets: dict[str, list[str]] = {}
    for relative in sorted(inputs):
        targets.setdefault(output_name(relative, extension), []).append(relative)
    todo, done = {}, []
    for target, relatives in targets.items():
        for relative in relatives:
            size = inputs[relative]
            name = source.display(relative)
            if len(relatives) > 1:
                others = ", ".join(source.display(other) for other in relatives if other != relative)
                error = f"{name}: {others} would be written to {destination.display(target)} too; rename one"
                done.append(record(source, destination, relative, target, FAILED, error=error, bytes_in=size, kind=kind))
            elif size > limit:
                what = "image" if kind == "encode" else ".abc file"
                error = f"{name}: {size} bytes, more than any {what} abc-batch reads ({limit}); not read"
                done.append(record(source, destination, relative, target, FAILED, error=error, bytes_in=size, kind=kind))
            elif target in existing:
                done.append(record(source, destination, relative, target, SKIPPED, bytes_in=size,
                                   bytes_out=existing[target], kind=kind))
            else:
                todo[relative] = target
    return Plan(source, destination, todo, done)


# ---------------------------------------------------------------------------------------------
# Running it on Ray Data


def run(work: Plan, job: Job, *, workers: int | None = None, address: str | None = None,
        quiet: bool = False) -> list[dict]:
    """Convert ``work.todo`` on a Ray cluster (the running one, the one at ``address``, or a local
    one started here and shut down after): the records of every file, in no particular order."""
    if not work.todo:
        return []
    import ray

    started = not ray.is_initialized()
    if started:
        local = {} if address else {"num_cpus": max(os.cpu_count() or 1, (workers or 1) * job.cpus)}
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=not quiet,
                     logging_level=logging.ERROR if quiet else logging.INFO, **local)
        except (ConnectionError, RuntimeError, ValueError, OSError) as e:
            where = f"join the Ray cluster at {address}" if address else "start a local Ray cluster"
            msg = f"cannot {where}: {e}"
            raise RunError(msg) from e
    try:
        resources = ray.cluster_resources()
        if job.gpus and resources.get("GPU", 0) < job.gpus:
            msg = "--device cuda: the Ray cluster has no GPU (decode on the CPU with --device cpu)"
            raise RunError(msg)
        if workers is None:
            workers = max(1, int(resources.get("CPU", 1)) // job.cpus)
            if job.gpus:
                workers = min(workers, int(resources["GPU"]) // job.gpus)
        return _execute(work, job, min(workers, len(work.todo)), quiet)
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _data_context(quiet: bool) -> Iterator[None]:
    """Ray Data's settings for this run, put back after (the driver may be a longer-lived process):
    its progress bar unless quiet, and a block whose read or worker failed dropped rather than
    fatal (its files are then reported as without a result)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    saved = {name: getattr(context, name) for name in ("enable_progress_bars", "use_ray_tqdm", "max_errored_blocks")}
    logger = logging.getLogger("ray.data")
    level = logger.level
    context.enable_progress_bars = not quiet and saved["enable_progress_bars"]
    context.use_ray_tqdm = False  # the bars are drawn here, in the driver, by tqdm itself
    context.max_errored_blocks = -1
    if quiet:
        logger.setLevel(logging.ERROR)  # not even "progress bars disabled"
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        logger.setLevel(level)


def _execute(work: Plan, job: Job, workers: int, quiet: bool) -> list[dict]:
    import ray.data

    paths = {work.source.path(relative): relative for relative in work.todo}
    with _data_context(quiet):
        # Read tasks take no CPU, which the actors hold, and so their number is capped here: Ray
        # would otherwise start a worker process for every read task at once (54 for 96 files).
        # Small blocks, none queued at a busy actor: an actor converts a whole block, and files
        # differ in cost by 30 times (a thumbnail, a 12 MP photo), so a large block or a queue
        # behind a slow one leaves the other workers idle at the end of the run.
        files = ray.data.read_binary_files(list(paths), include_paths=True, filesystem=work.source.filesystem,
                                           num_cpus=0, concurrency=max(1, workers // WORKERS_PER_READER),
                                           override_num_blocks=min(len(paths), BLOCKS_PER_WORKER * workers))
        pool = ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1)
        converted = files.map_batches(Transcoder, fn_constructor_args=(work.source, work.destination, job),
                                      compute=pool, batch_size=1, num_cpus=job.cpus, num_gpus=job.gpus or None)
        rows = converted.iter_rows()
        try:
            records = [json.loads(row["record"]) for row in rows]
        except Exception as e:  # the cluster, an actor that cannot start: the run, not a file
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            msg = f"the run failed: {type(e).__name__}: {first}"
            raise RunError(msg) from e
        finally:
            del rows, converted, files  # closes Ray's progress bars now, before the summary line
            gc.collect()
    seen = {row["input"] for row in records}
    for relative, target in work.todo.items():
        if work.source.display(relative) not in seen:
            error = (f"{work.source.display(relative)}: no result: its read or its worker failed (an I/O error, "
                     "a worker killed or crashed; Ray Data's log says which); a re-run retries it")
            records.append(record(work.source, work.destination, relative, target, FAILED, error=error, kind=job.kind))
    return records


class Transcoder:
    """The actor of the map: imports the codec once, then converts one file per call and writes
    its output; returns the files' records (never their bytes)."""

    def __init__(self, source: Location, destination: Location, job: Job) -> None:
        from . import codec  # noqa: F401  (loaded once per worker, not once per file)

        if job.kind == "decode" and job.settings.options.inpainter != "diffusion":
            with contextlib.suppress(ImportError):
                from .generative import onnx_generator  # noqa: F401  (ONNX Runtime)
        self.source, self.destination, self.job = source, destination, job
        self.prefix = source.root.rstrip("/") + "/" if source.root else ""
        mine = cli.version_line(BATCH)
        self.refusal = None if mine == job.made_by else (
            f"the worker on {platform.node()} runs {mine}, the driver {job.made_by}: install the same on every node")

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows = [self.convert(str(path), bytes(data)) for path, data in zip(batch["path"], batch["bytes"])]
        return {"record": [json.dumps(row) for row in rows]}  # one string column: no schema to unify

    def convert(self, path: str, data: bytes) -> dict:
        """One file: read, convert, write; a failure of the file's is its record's error."""
        relative = path[len(self.prefix):] if path.startswith(self.prefix) else posixpath.basename(path)
        target = output_name(relative, self.job.extension)
        name = self.source.display(relative)
        started = time.perf_counter()
        notes: list[str] = []
        try:
            if self.refusal:
                raise console.CliError(f"{name}: not converted: {self.refusal}")
            if self.job.kind == "encode":
                output, width, height = self._encode(data, name, notes)
            else:
                output, width, height = self._decode(data, name, notes)
            self._write(target, output, relative)
        except console.CliError as e:
            error = str(e)
        except jobs.FILE_ERRORS as e:
            error = console.named(name, e)
        except Exception as e:  # a bug, but one file's: the archive goes on
            error = f"{name}: unexpected {type(e).__name__}: {e} (please report it)"
        else:
            return record(self.source, self.destination, relative, target, WRITTEN, bytes_in=len(data),
                          bytes_out=len(output), width=width, height=height,
                          seconds=time.perf_counter() - started, notes=notes, kind=self.job.kind)
        return record(self.source, self.destination, relative, target, FAILED, error=error, bytes_in=len(data),
                      seconds=time.perf_counter() - started, notes=notes, kind=self.job.kind)

    def _encode(self, data: bytes, name: str, notes: list[str]) -> tuple[bytes, int, int]:
        """cli.encode_file's work on bytes: the same checks, the same encode, the same notes."""
        image = cli.open_image(io.BytesIO(data), name, self.job.settings.frame)
        output, caught = cli.encode_image(image, self.job.settings)
        notes += [str(note.message) for note in caught if issubclass(note.category, AbcWarning)]
        return output, image.width, image.height

    def _decode(self, data: bytes, name: str, notes: list[str]) -> tuple[bytes, int, int]:
        """cli.decode_file's work on bytes: the file bounded by its header, then decoded."""
        from .decoder import decode

        data = container.read_stream(io.BytesIO(data), source=name)
        image = decode(data, options=self.job.settings.options)
        buffer = io.BytesIO()
        try:
            notes += cli.save_decoded(image, buffer, self.job.format)
        except (OSError, ValueError) as e:  # an image the format cannot hold
            raise console.CliError(console.named(name, e)) from e
        return buffer.getvalue(), image.width, image.height

    def _write(self, target: str, output: bytes, relative: str) -> None:
        """The output, whole or not at all (the module's docstring says how, by file system)."""
        destination = self.destination
        path = destination.path(target)
        if destination.local:
            os.makedirs(posixpath.dirname(path), exist_ok=True)
            source = self.source.path(relative) if self.source.local else console.STDIO
            fileout.write_output(path, lambda stream: stream.write(output), source)
            return
        filesystem = destination.filesystem
        try:
            if is_object_store(filesystem):
                with filesystem.open_output_stream(path, compression=None) as stream:
                    stream.write(output)
                return
            filesystem.create_dir(posixpath.dirname(path), recursive=True)
            folder, name = posixpath.split(path)
            temporary = posixpath.join(folder, f".{name}.{os.urandom(4).hex()}.part")
            try:
                with filesystem.open_output_stream(temporary, compression=None) as stream:
                    stream.write(output)
                filesystem.move(temporary, path)
            except BaseException:
                with contextlib.suppress(Exception):
                    filesystem.delete_file(temporary)
                raise
        except OSError as e:
            msg = f"{destination.display(target)}: cannot write ({e})"
            raise console.CliError(msg) from e


# ---------------------------------------------------------------------------------------------
# What came of it


def summary(kind: str, records: list[dict], seconds: float) -> dict:
    """Counts, bytes in and out of the files written, their bpp (the .abc side's), and the time."""
    written = [r for r in records if r["status"] == WRITTEN]
    pixels = sum(r["width"] * r["height"] for r in written)
    bytes_in = sum(r["bytes_in"] for r in written)
    bytes_out = sum(r["bytes_out"] for r in written)
    coded = bytes_out if kind == "encode" else bytes_in
    return {
        "files": len(records), "written": len(written), "skipped": sum(r["status"] == SKIPPED for r in records),
        "failed": sum(r["status"] == FAILED for r in records), "bytes_in": bytes_in, "bytes_out": bytes_out,
        "pixels": pixels, "bpp": round(8 * coded / pixels, 5) if pixels else None, "seconds": round(seconds, 3),
        "worker_seconds": round(sum(r["seconds"] or 0 for r in written), 3),
    }


def summary_line(kind: str, totals: dict) -> str:
    """``abc-batch encode: 24 files: 22 written, 1 skipped, 1 failed; 1200000 bytes in, ...``."""
    bpp = "-" if totals["bpp"] is None else f"{totals['bpp']:.4f}"
    rate = totals["written"] / totals["seconds"] if totals["seconds"] else 0.0
    return (f"{BATCH} {kind}: {totals['files']} files: {totals['written']} written, {totals['skipped']} skipped "
            f"(output exists), {totals['failed']} failed; {totals['bytes_in']} bytes in, {totals['bytes_out']} "
            f"bytes out, {bpp} bpp; {totals['seconds']:.1f} s, {rate:.2f} files/s")


if __name__ == "__main__":
    sys.exit(main())
