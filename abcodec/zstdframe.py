"""One zstd frame of a size the header fixes: how the PIXL (§7) and ALPH (§13) payloads are sealed.

Both chunks hold a single frame that declares its content size, and a decoder knows that size from
HEAD (and MASK) before it reads the frame. So a frame is decompressed only when it declares exactly
that size, into at most that many bytes, with no trailing data: a claim in the file never sizes an
allocation. zstandard's compressors and decompressors are not thread-safe, so each thread has its own.
"""

from __future__ import annotations

import threading

import zstandard

from .container import AbcError

_local = threading.local()


def compress(data: bytes, level: int) -> bytes:
    """One frame that declares its content size, without a checksum (the chunk has a CRC)."""
    compressors = _local.__dict__.setdefault("compressors", {})
    if level not in compressors:
        compressors[level] = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False)
    return compressors[level].compress(data)


def decompress_exact(frame: bytes, expected: int, chunk: str, expectation: str) -> bytes:
    """The ``expected`` bytes of a frame that declares exactly that many; anything else is an
    AbcError naming ``chunk`` and, for a wrong declared size, ``expectation`` (where the size comes from)."""
    try:
        declared = zstandard.frame_content_size(frame)
    except zstandard.ZstdError as e:
        msg = f"{chunk}: not a zstd frame ({e})"
        raise AbcError(msg) from e
    if declared != expected:
        shown = "no content size" if declared == -1 else f"{declared} bytes"
        msg = f"{chunk}: zstd frame declares {shown}, {expectation}"
        raise AbcError(msg)
    if not hasattr(_local, "decompressor"):
        _local.decompressor = zstandard.ZstdDecompressor()
    try:
        stream = _local.decompressor.decompress(frame, max_output_size=expected, allow_extra_data=False)
    except zstandard.ZstdError as e:
        msg = f"{chunk}: corrupt zstd frame ({e})"
        raise AbcError(msg) from e
    if len(stream) != expected:
        msg = f"{chunk}: zstd frame holds {len(stream)} bytes, expected {expected}"
        raise AbcError(msg)
    return stream
