"""Where abc-batch reads and writes: a folder, a glob or a URI (``s3://``, ``gs://``, ``file://``,
anything pyarrow or fsspec reads) as a :class:`Location` on a pyarrow file system, the files below
it, and the names their outputs take there.

pyarrow is imported inside the functions: it comes with Ray Data (the ``[batch]`` extra), which
only abc-batch needs.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from pathlib import PurePosixPath
from typing import Any

from .console import CliError

OBJECT_STORES = frozenset({"s3", "gcs", "abfs", "s3a", "gs", "az", "abfss", "adl", "oci", "r2"})
"""Storage without an atomic rename, by pyarrow's ``type_name`` or fsspec's protocol: an output
is uploaded once, complete, instead of renamed into place."""

GLOB_CHARACTERS = re.compile(r"[*?\[]")


@dataclasses.dataclass(frozen=True)
class Location:
    """A folder on a pyarrow file system: ``root`` in the file system's terms (``/abs/photos``,
    ``bucket/photos``), ``shown`` as the user wrote it (for messages and the report), and which
    files below it count: those matching ``pattern`` (a glob relative to root), or ``only`` one."""

    filesystem: Any
    root: str
    shown: str
    pattern: str | None = None
    only: str | None = None

    @property
    def local(self) -> bool:
        return self.filesystem.type_name == "local"

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative) if self.root else relative

    def display(self, relative: str) -> str:
        return posixpath.join(self.shown, relative) if self.shown else relative


def locate(text: str, *, destination: bool = False) -> Location:
    """The Location ``text`` names. A glob is split into the folder before its first wildcard and
    the pattern below it; a source that is one file becomes its folder and its name."""
    from pyarrow import fs as pafs

    parts = text.split("/")
    wild = next((k for k, part in enumerate(parts) if GLOB_CHARACTERS.search(part)), None)
    if wild is not None and destination:
        msg = f"{text}: the destination is a folder, not a glob"
        raise CliError(msg)
    static = text if wild is None else "/".join(parts[:wild]) or "."
    pattern = None if wild is None else "/".join(parts[wild:])
    filesystem, root = filesystem_of(static)
    root = root.rstrip("/") if root not in ("/", "") else root
    shown = "" if static == "." else static.rstrip("/") or static
    try:
        info = filesystem.get_file_info(root)
    except OSError as e:
        msg = f"{static}: cannot look here ({e})"
        raise CliError(msg) from e
    if info.type == pafs.FileType.File:
        if destination:
            msg = f"{text}: is a file; the destination is a folder"
            raise CliError(msg)
        return Location(filesystem, posixpath.dirname(root), posixpath.dirname(shown), only=posixpath.basename(root))
    if info.type == pafs.FileType.NotFound and not destination:
        msg = f"{static}: no such file or folder"
        raise CliError(msg)
    return Location(filesystem, root, shown, pattern=pattern)


def filesystem_of(text: str) -> tuple[Any, str]:
    """(pyarrow file system, path in it): a plain path is local; a URI is pyarrow's (``file://``,
    ``s3://``, ``gs://``, ``hdfs://``, ``abfs://``) or else fsspec's, wrapped for pyarrow."""
    from pyarrow import fs as pafs

    if "://" not in text:
        return pafs.LocalFileSystem(), os.path.abspath(text)
    try:
        return pafs.FileSystem.from_uri(text)
    except (ValueError, NotImplementedError, OSError) as native:  # ArrowInvalid, ArrowNotImplementedError
        try:
            import fsspec
        except ImportError:
            msg = f"{text}: pyarrow does not read it ({native}), and fsspec, which might, is not installed"
            raise CliError(msg) from native
        try:
            filesystem, path = fsspec.core.url_to_fs(text)
        except (ValueError, ImportError, OSError) as e:
            msg = f"{text}: neither pyarrow nor fsspec reads it ({e})"
            raise CliError(msg) from e
        return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), path


def glob_pattern(glob: str) -> re.Pattern:
    """A glob over relative paths as a regular expression: ``*`` and ``?`` stay within one folder,
    ``[...]`` is a class (``[!...]`` its complement), a whole ``**`` component spans any folders."""
    out = []
    components = glob.split("/")
    for k, component in enumerate(components):
        last = k == len(components) - 1
        if component == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_glob_component(component) + ("" if last else "/"))
    return re.compile("".join(out))


def _glob_component(component: str) -> str:
    out, k, n = [], 0, len(component)
    while k < n:
        char = component[k]
        k += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = k + (component[k:k + 1] == "!")
            end = component.find("]", end + (component[end:end + 1] == "]"))
            if end < 0:  # no closing bracket: a plain "["
                out.append(re.escape(char))
                continue
            inside, k = component[k:end], end + 1
            negated = inside.startswith("!")
            body = (inside[1:] if negated else inside).replace("\\", "\\\\").replace("^", "\\^")
            out.append(f"[{'^/' if negated else ''}{body}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def list_files(location: Location, *, exclude: str | None = None) -> dict[str, int]:
    """{relative path: size} of the files the location names, hidden names left out, and
    ``exclude`` (a folder below root, relative) with all it holds."""
    from pyarrow import fs as pafs

    if location.only is not None:
        info = location.filesystem.get_file_info(location.path(location.only))
        return {location.only: info.size}
    selector = pafs.FileSelector(location.root or "/", recursive=True, allow_not_found=True)
    try:
        infos = location.filesystem.get_file_info(selector)
    except OSError as e:
        msg = f"{location.shown}: cannot list ({e})"
        raise CliError(msg) from e
    prefix = location.root.rstrip("/") + "/" if location.root else ""
    matcher = glob_pattern(location.pattern) if location.pattern else None
    files = {}
    for info in infos:
        if info.type != pafs.FileType.File or not info.path.startswith(prefix):
            continue
        relative = info.path[len(prefix):]
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        if exclude is not None and (relative + "/").startswith(exclude + "/"):
            continue
        if matcher is None or matcher.fullmatch(relative):
            files[relative] = info.size
    return files


def output_name(relative: str, extension: str) -> str:
    """``sub/photo.jpg`` -> ``sub/photo.abc``: abc-encode -o's naming (the stem and the
    extension), the relative folder kept."""
    folder, name = posixpath.split(relative)
    return posixpath.join(folder, PurePosixPath(name).stem + extension)


def is_object_store(filesystem: Any) -> bool:
    """Whether ``filesystem`` (pyarrow's, or fsspec's wrapped) is an object store: no atomic rename."""
    if filesystem.type_name in OBJECT_STORES:
        return True
    handler = getattr(filesystem, "handler", None)
    protocol = getattr(getattr(handler, "fs", None), "protocol", ())
    protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
    return any(name in OBJECT_STORES for name in protocols)
