"""ICC profile and EXIF between Pillow's ``info`` and the ancillary chunks (format_spec/abc.md §4).

One place for both directions, used by the codec and the Pillow plugin alike, so that
``abcodec.decode`` and ``Image.open`` agree on what a file carries. Bytes only, no pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PIL import Image

from .container import CHUNK_EXIF, CHUNK_ICCP, AbcError

EXIF_PREFIX = b"Exif\x00\x00"
"""The APP1 header JPEG-style EXIF carries (and ``Image.Exif.tobytes()`` writes). The ``exif``
chunk holds the TIFF bytes without it (§4); ``info["exif"]`` has it, as Pillow's PNG plugin
does, so the bytes can be handed to the JPEG or WebP writer unchanged."""

INFO_KEYS = {"icc_profile": CHUNK_ICCP, "exif": CHUNK_EXIF}


def chunks_from_info(info: Mapping[str, Any]) -> dict[bytes, bytes]:
    """Ancillary chunks for the ``icc_profile`` and ``exif`` entries of an info mapping.

    EXIF may be bytes or an ``Image.Exif``; ``None`` or empty bytes leave a chunk out.
    """
    chunks = {}
    for key, chunk_type in INFO_KEYS.items():
        value = info.get(key)
        if isinstance(value, Image.Exif):
            value = value.tobytes()
        if value is None:
            continue
        if not isinstance(value, (bytes, bytearray, memoryview)):
            allowed = "bytes or Image.Exif" if key == "exif" else "bytes"
            msg = f"{key} must be {allowed}, got {type(value).__name__}"
            raise AbcError(msg)
        value = bytes(value)
        if chunk_type == CHUNK_EXIF:
            value = value.removeprefix(EXIF_PREFIX)
        if value:
            chunks[chunk_type] = value
    return chunks


def info_from_chunks(ancillary: Mapping[bytes, bytes]) -> dict[str, bytes]:
    """The ``info`` entries a decoded image gets from a file's ancillary chunks."""
    info = {}
    if icc_profile := ancillary.get(CHUNK_ICCP):
        info["icc_profile"] = icc_profile
    if exif := ancillary.get(CHUNK_EXIF):
        info["exif"] = EXIF_PREFIX + exif
    return info
