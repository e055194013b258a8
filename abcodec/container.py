"""The .abc container: signature, chunks, header and the format's limits (format_spec/abc.md).

This module knows bytes, not pixels. A file is the 8-byte signature followed by chunks laid
out as in PNG: length, 4-byte type, payload, CRC-32 of type + payload. The first chunk is
``HEAD``; a file holds ``BASE``, or ``MASK`` and ``PIXL``, or all three (before version 3 ``MASK``
and ``PIXL`` are required), and optionally ``DSCT`` and ``ALPH`` (version 3); ``AEND`` closes the
file and nothing may follow it (§4).
Every length and every header field is checked against the named limits below before anything
is allocated from it, and every problem raises :class:`AbcError`. What the reference decoder
will spend on a valid file is another matter, its own limits (:mod:`abcodec.limits`).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

SIGNATURE = b"\x8bABC\r\n\x1a\n"
"""§2. The high byte catches 7-bit transfers, CR LF and ^Z catch newline and DOS-EOF mangling."""

VERSION = 3
"""§3. Format version written by this encoder. Version 2 added the optional BASE chunk (a DCT base
layer, §10); version 3 codes the base layer with AV1 (§12), makes MASK and PIXL optional, moves the
descent's settings out of HEAD into DSCT and shortens HEAD to 20 bytes."""

READABLE_VERSIONS = (1, 2, 3)
"""Versions this decoder reads: a version 1 file is a version 2 file without BASE."""

CHUNK_HEAD = b"HEAD"
CHUNK_MASK = b"MASK"
CHUNK_PIXL = b"PIXL"
CHUNK_BASE = b"BASE"
CHUNK_DSCT = b"DSCT"
CHUNK_ALPH = b"ALPH"
CHUNK_AEND = b"AEND"
CHUNK_ICCP = b"iccp"
CHUNK_EXIF = b"exif"
CHUNK_XMPD = b"xmpd"
CHUNK_PHYS = b"phys"
CHUNK_CLAS = b"clas"
CHUNK_GRAM = b"gram"

CRITICAL_CHUNKS = {CHUNK_MASK: 1, CHUNK_PIXL: 1, CHUNK_BASE: 2, CHUNK_DSCT: 3, CHUNK_ALPH: 3}
"""§4. The critical chunks besides HEAD and AEND, with the first version that knows them."""

BLOCK_LAYER = (CHUNK_MASK, CHUNK_PIXL)
"""§4. The block layer's chunks: required before version 3, from version 3 both or neither."""
KNOWN_ANCILLARY = (CHUNK_ICCP, CHUNK_EXIF, CHUNK_XMPD, CHUNK_PHYS, CHUNK_CLAS, CHUNK_GRAM)
"""§4. Metadata (ICC, EXIF, XMP, dpi), and in ``clas`` and ``gram`` (§11) statistics of the original
for the generative decoder."""

CHUNK_OVERHEAD = 12
"""§2. Length (4) + type (4) + CRC-32 (4) around every payload."""

MODE_L = 1
MODE_RGB = 3
MODES = {MODE_L: "L", MODE_RGB: "RGB"}
"""§3. Mode code = number of channels."""

INPAINTER_DIFFUSION = 0
INPAINTER_PPGN = 1
INPAINTERS = {INPAINTER_DIFFUSION: "diffusion", INPAINTER_PPGN: "ppgn"}
"""§3. Inpainter ids; PPGN is reserved for the generative decoder."""

SCHEMES = {"random": 0, "edge": 1, "edge+random": 2, "centre": 3}
"""§3, scheme table. Scheme name → id written into the header; ids are fixed, never taken from dict order."""

SCHEME_OTHER = 255
"""§3. Scheme id for masks made by a chooser the table does not name; the id is informative only."""

N_DECODER_PARAMS = 8
"""§3. Float32 slots for the inpainter's loss weights and step sizes (meaning per inpainter)."""

GENERATOR_HASH_SIZE = 32
"""§3. SHA-256 of the generator weights; all zero when the inpainter needs none."""

GENERATOR_ID_SIZE = {1: GENERATOR_HASH_SIZE, 2: GENERATOR_HASH_SIZE, 3: 8}
"""§3. Bytes of the generator's SHA-256 that HEAD stores, by version. Version 3 keeps the first 8:
they tell the few weights a decoder could have apart, and 24 bytes are 1 % of a 0.1 bpp file."""

MAX_SIDE = 32768
"""§5. Largest width or height: keeps every per-row/column index within int32."""

MAX_PIXELS = 1 << 26
"""§5. Largest width × height (67 M pixels, a 50 MP photo fits): bounds decoder memory to a few GB
(4.9 GB measured for an RGB diffusion decode at this size; see limits.DEFAULT_MAX_PIXELS)."""

MAX_BLOCK = 64
"""§5. Largest block side; also bounds the bytes a single kept block can ask for."""

MAX_STEPS = 10000
"""§5. Largest optimisation step count a file may ask of the generative decoder."""

MAX_PARAM = 1.0e6
"""§5. Decoder parameters are finite, non-negative and at most this."""

MAX_CHUNKS = 64
"""§5. Chunks per file: more means a hostile file trying to make the reader spin."""

MAX_ANCILLARY_BYTES = 1 << 24
"""§5. Largest ancillary payload (ICC profile, EXIF): 16 MiB, far above any real profile."""

MAX_ANCILLARY_TOTAL = 1 << 25
"""§5. Largest sum of all ancillary payloads: 32 MiB, so that a file's size is bounded by its header."""

MAX_CODED_BYTES_PER_PIXEL = 8
"""§5. The MASK, PIXL and BASE payloads together hold at most this many bytes per pixel (plus
CODED_BYTES_SLACK): 64 bpp, the encoder's highest rate; the densest real layout (every pixel
kept at q = 1 on noise) needs about 3."""

CODED_BYTES_SLACK = 1 << 16
"""§5. Bytes the coded payloads may take beyond MAX_CODED_BYTES_PER_PIXEL, for the fixed costs of
tiny images (coder state, zstd and AV1 framing)."""

_CHUNK_PREFIX = struct.Struct(">I4s")
HEADER_PREFIX_SIZE = len(SIGNATURE) + _CHUNK_PREFIX.size
"""Signature and the first chunk's length and type: what a reader needs to know how much of HEAD follows."""
_CRC = struct.Struct(">I")
_HEAD_V2 = struct.Struct(f">BBIIBBBBBBHI{N_DECODER_PARAMS}f{GENERATOR_HASH_SIZE}s")
_HEAD_V3 = struct.Struct(f">BBHHBBBBBB{GENERATOR_ID_SIZE[3]}s")
_DSCT = struct.Struct(f">HI{N_DECODER_PARAMS}f")
HEAD_SIZES = {1: _HEAD_V2.size, 2: _HEAD_V2.size, 3: _HEAD_V3.size}
"""§3. Payload size of the HEAD chunk by version: 86 bytes in versions 1 and 2, 20 in version 3."""
MAX_HEAD_SIZE = max(HEAD_SIZES.values())
DSCT_SIZE = _DSCT.size
"""§3.1. Payload size of the DSCT chunk (38 bytes): steps, noise seed, the 8 parameters."""


class AbcError(ValueError):
    """Every problem with an .abc stream or with encoder input; the message names the field."""


class AbcImageError(AbcError):
    """An input image the encoder cannot store as it is (empty, over the size limits, an animation,
    more than 8 bits per sample, a mode it does not know): images.check_image says which."""


class AbcEncoderError(AbcError):
    """The AV1 encoder itself failed (libavif's error, memory running out) on input that was fine:
    through Pillow's ``save()`` a failure to write, an OSError, as in every Pillow plugin."""


class AbcWarning(UserWarning):
    """Something the encoder did that its caller should hear of: an input converted, a file that
    default decoders will refuse. The command line prints these as notes."""


@dataclass(frozen=True)
class Header:
    """The HEAD chunk (§3): geometry, how the kept pixels are coded, and how to inpaint."""

    width: int
    height: int
    mode: int
    block: int
    q_luma: int
    q_chroma: int
    chroma_shift: int
    scheme: int = SCHEME_OTHER
    inpainter: int = INPAINTER_DIFFUSION
    steps: int = 0
    noise_seed: int = 0
    params: tuple[float, ...] = (0.0,) * N_DECODER_PARAMS
    generator: bytes = b""
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.generator == b"" and self.version in GENERATOR_ID_SIZE:
            object.__setattr__(self, "generator", bytes(GENERATOR_ID_SIZE[self.version]))
        validate_header(self)
        as_float32 = struct.unpack(f">{N_DECODER_PARAMS}f", struct.pack(f">{N_DECODER_PARAMS}f", *self.params))
        object.__setattr__(self, "params", as_float32)

    @property
    def channels(self) -> int:
        return self.mode

    @property
    def mode_name(self) -> str:
        return MODES[self.mode]

    @property
    def grid_shape(self) -> tuple[int, int]:
        return grid_shape(self.height, self.width, self.block)


@dataclass
class AbcFile:
    """A parsed container: the header and the payloads of the chunks a decoder needs.

    ``mask`` and ``pixels`` are None in a version 3 file without the block layer; the descent's
    settings (DSCT in version 3) are in the header; ``alpha`` is the ALPH payload, if any.
    """

    header: Header
    mask: bytes | None
    pixels: bytes | None
    ancillary: dict[bytes, bytes] = field(default_factory=dict)
    base: bytes | None = None
    alpha: bytes | None = None

    @property
    def coded_bytes(self) -> int:
        """Bytes of the payloads the decoder's work grows with: MASK, PIXL, BASE and ALPH (§5)."""
        return sum(len(part or b"") for part in (self.mask, self.pixels, self.base, self.alpha))


def grid_shape(height: int, width: int, block: int) -> tuple[int, int]:
    """§3. (rows, columns) of the block grid; the last row and column may overhang the image."""
    return -(-height // block), -(-width // block)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        msg = f"HEAD: {name} {value} outside {low}..{high}"
        raise AbcError(msg)


def _check_version(version: int) -> None:
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        msg = f"HEAD: format version {version} is not supported (this decoder reads {readable})"
        raise AbcError(msg)


def validate_header(header: Header) -> None:
    """All header checks in one place (§5), run before any size derived from the header is used."""
    _check_version(header.version)
    if header.mode not in MODES:
        msg = f"HEAD: mode {header.mode} is not one of {sorted(MODES)} (1 = L, 3 = RGB)"
        raise AbcError(msg)
    _check_range("width", header.width, 1, MAX_SIDE)
    _check_range("height", header.height, 1, MAX_SIDE)
    if header.height > MAX_PIXELS // header.width:
        msg = f"HEAD: {header.width}x{header.height} exceeds the {MAX_PIXELS} pixel limit"
        raise AbcError(msg)
    _check_range("block size", header.block, 1, MAX_BLOCK)
    _check_range("luma quantiser", header.q_luma, 1, 255)
    _check_range("chroma quantiser", header.q_chroma, 1, 255)
    _check_range("chroma shift", header.chroma_shift, 0, 1)
    if header.chroma_shift and header.block % 2:
        msg = f"HEAD: chroma shift 1 needs an even block size, got {header.block}"
        raise AbcError(msg)
    if header.inpainter not in INPAINTERS:
        msg = f"HEAD: inpainter id {header.inpainter} is unknown (known: {sorted(INPAINTERS)})"
        raise AbcError(msg)
    _check_range("steps", header.steps, 0, MAX_STEPS)
    _check_range("noise seed", header.noise_seed, 0, 0xFFFFFFFF)
    _check_range("scheme id", header.scheme, 0, 255)
    if len(header.params) != N_DECODER_PARAMS:
        msg = f"HEAD: {len(header.params)} decoder parameters, expected {N_DECODER_PARAMS}"
        raise AbcError(msg)
    for i, value in enumerate(header.params):
        if not (math.isfinite(value) and 0.0 <= value <= MAX_PARAM):
            msg = f"HEAD: decoder parameter {i} is {value}, expected a finite value in 0..{MAX_PARAM:g}"
            raise AbcError(msg)
    if len(header.generator) != GENERATOR_ID_SIZE[header.version]:
        msg = f"HEAD: generator hash has {len(header.generator)} bytes, expected {GENERATOR_ID_SIZE[header.version]}"
        raise AbcError(msg)


def pack_header(header: Header) -> bytes:
    """The HEAD payload (§3 tables), big-endian; in version 3 without the descent (DSCT, §3.1)."""
    fields = (header.version, header.mode, header.width, header.height, header.block, header.scheme,
              header.q_luma, header.q_chroma, header.chroma_shift, header.inpainter)
    if header.version >= 3:
        return _HEAD_V3.pack(*fields, header.generator)
    return _HEAD_V2.pack(*fields, header.steps, header.noise_seed, *header.params, header.generator)


def unpack_header(payload: bytes, descent: bytes | None = None) -> Header:
    """Parse and validate a HEAD payload (the version byte is checked before the length) and, in
    version 3, the DSCT payload that carries the descent, if the file has one."""
    if payload:
        _check_version(payload[0])
    version = payload[0] if payload else VERSION
    if len(payload) != HEAD_SIZES[version]:
        msg = f"HEAD: payload is {len(payload)} bytes, expected {HEAD_SIZES[version]} for version {version}"
        raise AbcError(msg)
    if version < 3:
        (version, mode, width, height, block, scheme, q_luma, q_chroma, shift, inpainter, steps, noise_seed,
         *params, generator) = _HEAD_V2.unpack(payload)
    else:
        version, mode, width, height, block, scheme, q_luma, q_chroma, shift, inpainter, generator = (
            _HEAD_V3.unpack(payload))
        steps, noise_seed, *params = _unpack_descent(descent) if descent is not None else (0, 0) + (0.0,) * N_DECODER_PARAMS
    return Header(
        version=version, mode=mode, width=width, height=height, block=block, scheme=scheme,
        q_luma=q_luma, q_chroma=q_chroma, chroma_shift=shift, inpainter=inpainter, steps=steps,
        noise_seed=noise_seed, params=tuple(params), generator=generator,
    )


def pack_descent(header: Header) -> bytes:
    """The DSCT payload (§3.1): steps, noise seed and the 8 decoder parameters of inpainter 1."""
    return _DSCT.pack(header.steps, header.noise_seed, *header.params)


def _unpack_descent(payload: bytes) -> tuple:
    if len(payload) != DSCT_SIZE:
        msg = f"DSCT: payload is {len(payload)} bytes, expected {DSCT_SIZE}"
        raise AbcError(msg)
    values = _DSCT.unpack(payload)
    if values[0] == 0:
        msg = "DSCT: 0 steps; a file without descent steps has no DSCT chunk"
        raise AbcError(msg)
    return values


def is_critical(chunk_type: bytes) -> bool:
    """§2: an upper-case first letter (bit 5 clear) marks a chunk a decoder must understand."""
    return not chunk_type[0] & 0x20


def pack_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    """The one chunk writer: length, type, payload, CRC-32 over type + payload."""
    crc = zlib.crc32(payload, zlib.crc32(chunk_type))
    return _CHUNK_PREFIX.pack(len(payload), chunk_type) + payload + _CRC.pack(crc)


def iter_chunks(data: bytes):
    """Yield (type, payload) for each chunk after the signature, checking bounds and CRC first."""
    if len(data) < len(SIGNATURE) or data[: len(SIGNATURE)] != SIGNATURE:
        msg = "not an .abc file: signature missing or damaged"
        raise AbcError(msg)
    offset = len(SIGNATURE)
    for index in range(MAX_CHUNKS):
        if offset == len(data):
            return
        if len(data) - offset < CHUNK_OVERHEAD:
            msg = f"{len(data) - offset} bytes at offset {offset} are too few for a chunk (truncated file or trailing garbage)"
            raise AbcError(msg)
        length, chunk_type = _CHUNK_PREFIX.unpack_from(data, offset)
        if not all(65 <= (c & ~0x20) <= 90 for c in chunk_type):
            msg = f"chunk {index} at offset {offset}: type {chunk_type!r} is not four ASCII letters"
            raise AbcError(msg)
        end = offset + 8 + length
        if length > len(data) - offset - CHUNK_OVERHEAD:
            msg = f"truncated file: chunk {chunk_type.decode()} claims {length} bytes, {max(0, len(data) - offset - CHUNK_OVERHEAD)} remain"
            raise AbcError(msg)
        payload = data[offset + 8 : end]
        (stored,) = _CRC.unpack_from(data, end)
        if zlib.crc32(payload, zlib.crc32(chunk_type)) != stored:
            msg = f"chunk {chunk_type.decode()} at offset {offset}: CRC-32 mismatch (file is corrupt)"
            raise AbcError(msg)
        yield chunk_type, payload
        offset = end + 4
    msg = f"more than {MAX_CHUNKS} chunks"
    raise AbcError(msg)


def write_file(abc: AbcFile) -> bytes:
    """Serialise in the canonical order (§4): HEAD, DSCT, ancillary, BASE, ALPH, MASK, PIXL, AEND."""
    header = abc.header
    parts = [SIGNATURE, pack_chunk(CHUNK_HEAD, pack_header(header))]
    if header.version >= 3 and header.steps:
        parts.append(pack_chunk(CHUNK_DSCT, pack_descent(header)))
    for chunk_type, payload in abc.ancillary.items():
        if is_critical(chunk_type) or len(payload) > MAX_ANCILLARY_BYTES:
            msg = f"ancillary chunk {chunk_type!r} of {len(payload)} bytes cannot be written"
            raise AbcError(msg)
        parts.append(pack_chunk(chunk_type, payload))
    if abc.base is not None:
        parts.append(pack_chunk(CHUNK_BASE, abc.base))
    if abc.alpha is not None:
        parts.append(pack_chunk(CHUNK_ALPH, abc.alpha))
    if abc.mask is not None or header.version < 3:
        parts += [pack_chunk(CHUNK_MASK, abc.mask), pack_chunk(CHUNK_PIXL, abc.pixels)]
    parts.append(pack_chunk(CHUNK_AEND, b""))
    return b"".join(parts)


def read_file(data: bytes) -> AbcFile:
    """Parse a whole file (§4 rules): HEAD first, each critical chunk once, AEND last, nothing after."""
    head: bytes | None = None
    critical: dict[bytes, bytes] = {}
    ancillary: dict[bytes, bytes] = {}
    ended = False
    _check_head_first(data)
    for chunk_type, payload in iter_chunks(bytes(data)):
        if ended:
            msg = f"chunk {chunk_type.decode()} after AEND"
            raise AbcError(msg)
        if head is None:
            unpack_header(payload)  # refuses a bad HEAD before anything after it is read
            head = payload
        elif chunk_type == CHUNK_HEAD:
            msg = "duplicate HEAD chunk: HEAD comes once, as the first chunk"
            raise AbcError(msg)
        elif chunk_type == CHUNK_AEND:
            if payload:
                msg = f"AEND chunk carries {len(payload)} bytes, expected none"
                raise AbcError(msg)
            ended = True
        elif chunk_type in CRITICAL_CHUNKS:
            _check_known_in(chunk_type, head[0], critical)
            critical[chunk_type] = payload
        elif is_critical(chunk_type):
            msg = f"unknown critical chunk {chunk_type.decode()} (made by a newer encoder?)"
            raise AbcError(msg)
        elif chunk_type in KNOWN_ANCILLARY and chunk_type not in ancillary:
            ancillary[chunk_type] = payload
    if head is None:
        msg = "truncated file: no HEAD chunk"
        raise AbcError(msg)
    header = unpack_header(head, critical.get(CHUNK_DSCT))
    _check_layers(header, critical, ended)
    _check_sizes(header, critical, ancillary)
    return AbcFile(header, critical.get(CHUNK_MASK), critical.get(CHUNK_PIXL), ancillary, critical.get(CHUNK_BASE),
                   critical.get(CHUNK_ALPH))


def _check_head_first(data: bytes) -> None:
    """§4 rule 1, checked on the first chunk's type before its length is trusted: a file that
    starts with another chunk is told so, not that the chunk runs past what was read."""
    start = len(SIGNATURE)
    chunk_type = bytes(data[start + 4 : HEADER_PREFIX_SIZE])
    if data[:start] == SIGNATURE and len(chunk_type) == 4 and chunk_type != CHUNK_HEAD:
        msg = f"first chunk is {chunk_type.decode('ascii', 'backslashreplace')}, expected HEAD"
        raise AbcError(msg)


def _check_known_in(chunk_type: bytes, version: int, seen: dict[bytes, bytes]) -> None:
    """§4: a critical chunk at most once, and only in a version that defines it."""
    if version < CRITICAL_CHUNKS[chunk_type]:
        msg = f"{chunk_type.decode()} chunk needs format version {CRITICAL_CHUNKS[chunk_type]}, the file says {version}"
        raise AbcError(msg)
    if chunk_type in seen:
        msg = f"duplicate {chunk_type.decode()} chunk"
        raise AbcError(msg)


def _check_layers(header: Header, critical: dict[bytes, bytes], ended: bool) -> None:
    """§4: which critical chunks a file must have, by version; AEND last."""
    blocks = [t for t in BLOCK_LAYER if t in critical]
    if header.version < 3 or len(blocks) == 1:
        missing = [t.decode() for t in BLOCK_LAYER if t not in critical]
    else:
        missing = [] if blocks or CHUNK_BASE in critical else ["BASE (or MASK and PIXL)"]
    if not ended:
        missing.append("AEND")
    if missing:
        msg = f"truncated or incomplete file: no {', '.join(missing)} chunk"
        raise AbcError(msg)
    if CHUNK_DSCT in critical and header.inpainter != INPAINTER_PPGN:
        msg = f"DSCT: descent settings in a file for inpainter {header.inpainter}, which has no descent"
        raise AbcError(msg)


def _check_sizes(header: Header, critical: dict[bytes, bytes], ancillary: dict[bytes, bytes]) -> None:
    """§5: what a file of this header may hold, so that its size is bounded before it is read."""
    total = sum(map(len, ancillary.values()))
    if total > MAX_ANCILLARY_TOTAL:
        msg = f"ancillary chunks hold {total} bytes, over the limit of {MAX_ANCILLARY_TOTAL}"
        raise AbcError(msg)
    coded = sum(len(critical.get(t, b"")) for t in (CHUNK_MASK, CHUNK_PIXL, CHUNK_BASE, CHUNK_ALPH))
    if coded > max_coded_bytes(header):
        msg = (f"MASK, PIXL, BASE and ALPH hold {coded} bytes, more than a {header.width}x{header.height} image may "
               f"({max_coded_bytes(header)})")
        raise AbcError(msg)


def max_coded_bytes(header: Header) -> int:
    """§5: the most bytes the MASK, PIXL and BASE payloads of a file with this header may hold."""
    return MAX_CODED_BYTES_PER_PIXEL * header.width * header.height + CODED_BYTES_SLACK


def max_file_size(header: Header) -> int:
    """§5: the longest file with this header that the format admits; readers read no more."""
    framing = len(SIGNATURE) + MAX_CHUNKS * CHUNK_OVERHEAD + MAX_HEAD_SIZE + DSCT_SIZE
    return framing + MAX_ANCILLARY_TOTAL + max_coded_bytes(header)


def read_stream(stream, start: bytes = b"", source: str = "input") -> bytes:
    """A whole file from a binary stream, reading no more than its header allows (§5).

    ``start`` is what the caller has already read from the stream (a Pillow plugin reads the
    signature first). The header is read and checked before the rest, so that a stream without
    end (``/dev/zero``) or a huge file is refused after a few bytes, not after filling memory;
    ``source`` names it in the error.
    """
    data = bytearray(start)
    data += _read_up_to(stream, HEADER_PREFIX_SIZE - len(data))
    if len(data) >= HEADER_PREFIX_SIZE and data.startswith(SIGNATURE):
        (length,) = struct.unpack_from(">I", data, len(SIGNATURE))
        data += _read_up_to(stream, min(length, MAX_HEAD_SIZE) + _CRC.size)
    header = read_header(bytes(data))
    limit = max_file_size(header)
    data += _read_up_to(stream, limit + 1 - len(data))
    if len(data) > limit:
        msg = f"{source}: longer than any .abc file of a {header.width}x{header.height} image can be ({limit} bytes)"
        raise AbcError(msg)
    return bytes(data)


def _read_up_to(stream, count: int) -> bytes:
    """At most ``count`` bytes; fewer only at the end of the stream."""
    parts, left = [], count
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_header(data: bytes) -> Header:
    """The header from the start of a file (signature and HEAD chunk), without the rest."""
    _check_head_first(data)
    for _, payload in iter_chunks(data):
        return unpack_header(payload)
    msg = "truncated file: no HEAD chunk"
    raise AbcError(msg)


def chunk_sizes(data: bytes) -> list[tuple[str, int]]:
    """(type, bytes on disk including the 12-byte framing) for each chunk; the signature is listed too."""
    return [("signature", len(SIGNATURE))] + [
        (chunk_type.decode(), len(payload) + CHUNK_OVERHEAD) for chunk_type, payload in iter_chunks(bytes(data))
    ]
