"""ICC profile, EXIF, XMP and dpi between Pillow's ``info`` and the ancillary chunks (format_spec/abc.md §4).

One place for both directions, used by the codec and the Pillow plugin alike, so that
``abcodec.decode`` and ``Image.open`` agree on what a file carries. Bytes only, no pixels.
"""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from PIL import Image, PngImagePlugin

from .container import CHUNK_EXIF, CHUNK_ICCP, CHUNK_PHYS, CHUNK_XMPD, AbcError, AbcWarning

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

XMP_PNG_KEYWORD = "XML:com.adobe.xmp"
"""The iTXt keyword that holds XMP in PNG (XMP Specification Part 3), read back by Pillow as ``info["xmp"]``."""

XMP_TIFF_TAG = 700
"""TIFF's XMLPacket tag, which holds XMP (XMP Specification Part 3), read back by Pillow as ``info["xmp"]``."""

TIFF_LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 317, 320,
    322, 323, 324, 325, 330, 338, 339, 347, 529, 530, 531, 532,
})
"""TIFF 6.0 tags that say how a TIFF file stores its pixels (size, samples, compression, strips,
tiles, photometric and YCbCr layout). Pillow's TIFF writer puts the EXIF's IFD0 tags into the
image's own IFD, where an EXIF's copy of one of these would replace the writer's and leave a
file no reader opens; they describe the camera's JPEG, not the decoded image, and are dropped."""


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
    if key == "exif" and value:
        parse_exif(value)
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


def parse_exif(data: bytes, *, rewritable: bool = False) -> Image.Exif:
    """EXIF bytes (with or without the ``Exif\\0\\0`` prefix) as Pillow reads them, and, if
    ``rewritable``, writes them again (as the TIFF and AVIF writers do); an AbcError where it
    cannot (not TIFF data, or values it cannot write), as Pillow's AVIF writer refuses such
    bytes. Damage Pillow reads past ("Corrupt EXIF data", tags skipped) is accepted, silently:
    cameras write such EXIF, and it is carried as it is."""
    exif = Image.Exif()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            exif.load(data)
            if rewritable:
                exif.tobytes()
        except Exception as e:  # Pillow raises SyntaxError, TypeError, struct.error, AttributeError... on damaged EXIF
            msg = f"exif is not EXIF data Pillow can read ({type(e).__name__}: {' '.join(str(e).split())})"
            raise AbcError(msg) from e
    return exif


def usable_info(info: Mapping[str, Any], kinds: Iterable[str] = tuple(KINDS)) -> dict[str, Any]:
    """An input image's ``info`` with an EXIF Pillow cannot read left out, with an AbcWarning:
    what an image brings along is carried where it can be, while an EXIF given explicitly (the
    ``metadata`` of :func:`abcodec.encode`, ``save(exif=...)``) is refused by :func:`chunks_from_info`."""
    exif = info.get("exif")
    if "exif" not in kinds or not isinstance(exif, (bytes, bytearray, memoryview)) or not exif:
        return dict(info)
    try:
        parse_exif(bytes(exif))
    except AbcError as e:
        warnings.warn(f"the image's EXIF is left out: {e}", AbcWarning, stacklevel=3)
        return {key: value for key, value in info.items() if key != "exif"}
    return dict(info)


def save_keywords(info: Mapping[str, Any], fmt: str) -> tuple[dict[str, Any], list[str]]:
    """The ``Image.save`` keywords that carry a decoded image's ICC profile, EXIF, XMP and dpi
    (:func:`info_from_chunks`' entries) into a file of Pillow format ``fmt`` as far as its writer
    can, and notes on what was left out.

    Pillow's writers take metadata as keywords, not from the image's ``info`` (only PNG and TIFF
    take the ICC profile from there), so an image saved as JPEG or WebP without them loses it all.
    Each writer ignores the keywords it cannot hold (dpi in WebP, all of them in GIF). PNG and
    TIFF have no ``xmp`` keyword but hold XMP where Pillow reads it back: an iTXt chunk, tag 700
    among the EXIF tags the TIFF writer copies into the image's IFD (without TIFF_LAYOUT_TAGS).
    An EXIF that Pillow cannot read and write again is left out with a note: TIFF's and AVIF's
    writers would fail on it, the others write what no reader takes.
    """
    keywords = {key: info[key] for key in ("icc_profile", "dpi") if info.get(key)}
    notes = []
    exif = Image.Exif()
    if info.get("exif"):
        try:
            exif = parse_exif(info["exif"], rewritable=True)
            keywords["exif"] = info["exif"]
        except AbcError as e:
            notes.append(f"the output gets no EXIF: {e}")
    xmp = info.get("xmp")
    if fmt == "PNG" and xmp:
        keywords["pnginfo"] = PngImagePlugin.PngInfo()
        keywords["pnginfo"].add_itxt(XMP_PNG_KEYWORD, xmp)
    elif fmt == "TIFF" and (xmp or "exif" in keywords):
        for tag in TIFF_LAYOUT_TAGS & set(exif):
            del exif[tag]
        if xmp:
            exif[XMP_TIFF_TAG] = xmp
        keywords["exif"] = exif
    elif xmp:
        keywords["xmp"] = xmp
    return keywords, notes


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
