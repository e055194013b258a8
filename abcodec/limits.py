"""The reference decoder's limits on work (format_spec/abc.md §5, "Decoder limits").

Not format rules: :mod:`abcodec.container` checks what the format admits, and every file within
its limits is valid. These are what this decoder will spend on a file it does not trust, since
flat pixels and a regular mask cost a few bytes however many pixels they describe. They are
checked from HEAD and the payload sizes before anything is decoded, and lifted by a caller who
trusts the file (``max_pixels=None``).
"""

from __future__ import annotations

from .checks import is_integer
from .container import AbcError, AbcFile

DEFAULT_MAX_PIXELS = 1 << 25
"""§5, decoder limits. Largest width × height the reference decoder decodes unless its caller
raises the limit: an RGB decode peaks near 80 bytes per pixel whatever the mask (4.9 GB measured
at container.MAX_PIXELS), so a default decode stays under 3 GB; 8K UHD and 33 MP photos fit."""

MAX_PIXELS_PER_BYTE = 1024
"""§5, decoder limits. Pixels a file may describe per byte of its MASK, PIXL, BASE and ALPH
payloads (above SMALL_IMAGE_PIXELS). Decoding costs about 1.6 µs per RGB pixel whatever the file holds, while flat
pixels and a regular mask compress to almost nothing: a 164-byte file asked for 8192 × 8192 and
took 2 minutes and 5 GB. Real files ask for 8 / bpp pixels per byte, 32 at the default 0.25 bpp;
1024 is 0.008 bpp. Only near-empty masks and flat images go beyond it. (2048 let a 1 KB file ask
for 1377² pixels, 3.0 s of diffusion; 1024 keeps every 1 KB file under 2 s.)"""

SMALL_IMAGE_PIXELS = 1 << 20
"""§5, decoder limits. An image of at most this many pixels (about 2 s of decoding) is decoded
however few bytes describe it, so that small images with near-empty masks still decode."""

SMALL_FILE_WORK = 1 << 21
WORK_PER_BYTE = 2 * MAX_PIXELS_PER_BYTE
"""§5, decoder limits. The generative decoder's work (in units of one pixel of G's forward pass,
generative/settings.py's ``work_units``: tile overlaps, every descent step's pixels and fixed costs,
the classifier's resized copy) that an untrusted file may ask for: max(SMALL_FILE_WORK,
WORK_PER_BYTE × its MASK + PIXL + BASE bytes). Twice the pixels-per-byte rate, so G alone runs on
every image the bomb check lets through, tile overlaps included, while descent steps must be paid
for in bytes: a file of a few bytes asking for 10000 steps would otherwise take hours. 2²¹ units
are about 2 s on the 2-core reference CPU (benchmarks/RESULTS.md, "Hostile input")."""


def admitted_pixels(coded: int) -> int:
    """§5: the most pixels an untrusted file of ``coded`` MASK, PIXL, BASE and ALPH bytes may describe."""
    return max(SMALL_IMAGE_PIXELS, MAX_PIXELS_PER_BYTE * coded)


def check_max_pixels(max_pixels: int | None) -> None:
    """A decoder's ``max_pixels`` (:func:`check_decode_limits`): a positive count, or None to trust the file."""
    if max_pixels is not None and (not is_integer(max_pixels) or max_pixels < 1):
        msg = f"max_pixels must be a positive integer or None, got {max_pixels!r}"
        raise AbcError(msg)


def check_decode_limits(abc: AbcFile, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """The reference decoder's limits on work (§5), from the header and payload sizes alone.

    Run before anything is decoded. ``max_pixels`` caps width × height; a file must also spend
    a byte of MASK, PIXL, BASE and ALPH per MAX_PIXELS_PER_BYTE pixels beyond SMALL_IMAGE_PIXELS, or it is
    a likely decompression bomb. ``None`` trusts the file: only the format's limits apply.
    """
    check_max_pixels(max_pixels)
    if max_pixels is None:
        return
    header = abc.header
    pixels = header.width * header.height
    if pixels > max_pixels:
        msg = (f"HEAD: {header.width}x{header.height} is {pixels} pixels, "
               f"over the decoder's limit (max_pixels) of {max_pixels}")
        raise AbcError(msg)
    coded = abc.coded_bytes
    if pixels > admitted_pixels(coded):
        msg = (
            f"HEAD: {header.width}x{header.height} is {pixels} pixels from {coded} bytes of MASK, PIXL, BASE and ALPH, "
            f"over the decoder's limit of {MAX_PIXELS_PER_BYTE} pixels per byte (a likely decompression bomb; "
            "lift the limits only for a file you trust)"
        )
        raise AbcError(msg)


def check_generative_work(abc: AbcFile, units: int, what: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """The reference decoder's limit on the generative decoder's work (§5), before any is done.

    ``units`` is the work the decoder would do (generative/settings.py's ``work_units``), ``what``
    says what it is for the message; ``max_pixels=None`` trusts the file, as in
    :func:`check_decode_limits`.
    """
    if max_pixels is None:
        return
    coded = abc.coded_bytes
    allowed = max(SMALL_FILE_WORK, WORK_PER_BYTE * coded)
    if units > allowed:
        header = abc.header
        msg = (f"HEAD: {what} on {header.width}x{header.height} pixels is {units} units of work, over the decoder's "
               f"limit of {allowed} for a file of {coded} coded bytes; decode with inpainter 'diffusion', or lift "
               "the limits for a file you trust")
        raise AbcError(msg)
