"""ICC profile, EXIF, XMP and dpi between Pillow's ``info`` and the ancillary chunks (format_spec/abc.md §4).

One place for both directions, used by the codec and the Pillow plugin alike, so that
``abcodec.decode`` and ``Image.open`` agree on what a file carries. Bytes only, no pixels.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from PIL import Image

from .container import CHUNK_EXIF, CHUNK_ICCP, CHUNK_PHYS, CHUNK_XMPD, AbcError

EXIF_PREFIX = b"Exif\x00\x00"
"""The APP1 header JPEG-style EXIF carries (and ``Image.Exif.tobytes()`` writes). The ``exif``
chunk holds the TIFF bytes without it (§4); ``info["exif"]`` has it, as Pillow's PNG plugin
does, so the bytes can be handed to the JPEG or WebP writer unchanged."""

KINDS = {"icc": "icc_profile", "exif": "exif", "xmp": "xmp", "dpi": "dpi"}
"""What the encoder carries (``abc-encode --metadata icc,exif,xmp,dpi``, cwebp's names) and the
``info`` key Pillow keeps each in."""

CHUNKS = {"icc_profile": CHUNK_ICCP, "exif": CHUNK_EXIF, "xmp": CHUNK_XMPD, "dpi": CHUNK_PHYS}

DPI_SCALE = 1000
"""§4, ``phys``: dots per inch are stored in thousandths, as two uint32 (x, then y)."""
_PHYS = struct.Struct(">II")
MAX_DPI = (2**32 - 1) / DPI_SCALE


def selected(kinds: str | Iterable[str]) -> tuple[str, ...]:
    """``kinds`` (names of KINDS, a comma-separated string accepted; "all" and "none" too) as a
    sorted tuple of known names; anything else is an AbcError naming it."""
    names = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    if not all(isinstance(name, str) for name in names):
        msg = f"metadata must be names or a comma-separated string, got {kinds!r}"
        raise AbcError(msg)
    names = {name.strip() for name in names if name.strip()}
    if names == {"all"}:
        return tuple(sorted(KINDS))
    if names == {"none"}:
        return ()
    unknown = sorted(names - set(KINDS))
    if unknown:
        msg = f"metadata {', '.join(unknown)} is not one of {', '.join(KINDS)} (or all, none)"
        raise AbcError(msg)
    return tuple(sorted(names))


def chunks_from_info(info: Mapping[str, Any], kinds: Iterable[str] = tuple(KINDS)) -> dict[bytes, bytes]:
    """Ancillary chunks for the ``info`` entries of the kinds asked for.

    EXIF may be bytes or an ``Image.Exif``, XMP bytes or text, dpi a pair of numbers; ``None`` or
    empty bytes leave a chunk out.
    """
    chunks = {}
    for kind in kinds:
        key = KINDS[kind]
        value = info.get(key)
        if value is None:
            continue
        payload = _dpi_payload(value) if key == "dpi" else _bytes_payload(key, value)
        if payload:
            chunks[CHUNKS[key]] = payload
    return chunks


def _bytes_payload(key: str, value: Any) -> bytes:
    if isinstance(value, Image.Exif):
        value = value.tobytes()
    if key == "xmp" and isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        allowed = {"exif": "bytes or Image.Exif", "xmp": "bytes or str"}.get(key, "bytes")
        msg = f"{key} must be {allowed}, got {type(value).__name__}"
        raise AbcError(msg)
    value = bytes(value)
    return value.removeprefix(EXIF_PREFIX) if key == "exif" else value


def _dpi_payload(value: Any) -> bytes:
    try:
        x, y = (float(part) for part in value)
    except (TypeError, ValueError) as e:
        msg = f"dpi must be a pair of numbers, got {value!r}"
        raise AbcError(msg) from e
    if not all(math.isfinite(v) and 0 < v <= MAX_DPI for v in (x, y)):
        msg = f"dpi {value!r} must be two numbers in (0, {MAX_DPI:g}]"
        raise AbcError(msg)
    return _PHYS.pack(round(x * DPI_SCALE), round(y * DPI_SCALE))


def info_from_chunks(ancillary: Mapping[bytes, bytes]) -> dict[str, Any]:
    """The ``info`` entries a decoded image gets from a file's ancillary chunks; a ``phys`` chunk
    that is not two positive uint32 is skipped, as any reader skips what it cannot use."""
    info: dict[str, Any] = {}
    if icc_profile := ancillary.get(CHUNK_ICCP):
        info["icc_profile"] = icc_profile
    if exif := ancillary.get(CHUNK_EXIF):
        info["exif"] = EXIF_PREFIX + exif
    if xmp := ancillary.get(CHUNK_XMPD):
        info["xmp"] = xmp
    phys = ancillary.get(CHUNK_PHYS)
    if phys is not None and len(phys) == _PHYS.size and all(_PHYS.unpack(phys)):
        info["dpi"] = tuple(value / DPI_SCALE for value in _PHYS.unpack(phys))
    return info
