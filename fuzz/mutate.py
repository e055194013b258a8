"""Mutations of .abc files that get past the chunk CRCs to the decoders behind them.

A random byte change in an .abc file almost always lands in a CRC-protected payload and dies in
``container.iter_chunks``. So besides raw mutations of the whole file (which fuzz the container
itself), most mutations here parse the chunks leniently, change a payload, a HEAD field or the
chunk list, and re-seal every chunk with :func:`abcodec.container.pack_chunk`. Three re-encode
the mask and re-compress the pixel stream, so that the mask, pixel and inpainting code see
well-formed but unusual inputs: odd geometries, masks, residual bytes; :func:`av1_headers`
rewrites the AV1 base's sequence and frame headers field by field (issue 25: a frame header that
codes a frame larger than the image).

``mutate(data, rng, byte_mutator, donors)`` applies one of them; ``byte_mutator`` changes a byte
string (libFuzzer's own ``atheris.Mutate`` under atheris, :func:`byte_mutator` otherwise).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence

import numpy as np
import zstandard

from abcodec import container
from abcodec.container import SIGNATURE, AbcError, Header, pack_chunk
from abcodec.maskcode import encode_mask
from abcodec.pixels import PixelParams, expected_size, levels
from fuzz import av1_streams

ByteMutator = Callable[[bytes], bytes]
Chunks = list[tuple[bytes, bytes]]

MAX_SEMANTIC_PIXELS = 1 << 16
"""Images the semantic mutations make stay within what the targets decode (FUZZ_MAX_PIXELS)."""

MAX_STREAM_BYTES = 1 << 20
"""A PIXL frame is decompressed for mutation only if it declares at most this much."""

INTERESTING_INTS = (0, 1, 2, 3, 4, 7, 8, 16, 63, 64, 65, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF,
                    0x10000, 32767, 32768, 32769, 1 << 26, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
"""Boundary values written into length and HEAD fields (the §5 limits and type edges)."""

HEAD_FIELDS = {
    container.HEAD_SIZES[2]: ((0, ">B"), (1, ">B"), (2, ">I"), (6, ">I"), (10, ">B"), (11, ">B"), (12, ">B"),
                              (13, ">B"), (14, ">B"), (15, ">B"), (16, ">H"), (18, ">I")),
    container.HEAD_SIZES[3]: ((0, ">B"), (1, ">B"), (2, ">H"), (4, ">H"), (6, ">B"), (7, ">B"), (8, ">B"),
                              (9, ">B"), (10, ">B"), (11, ">B")),
}
"""(offset, struct format) of the HEAD integer fields (§3) by HEAD size: versions 1–2 (version …
noise seed) and 3 (version … inpainter)."""

PARAMS_OFFSET = {container.CHUNK_HEAD: 22, container.CHUNK_DSCT: 6}
"""Where the 8 float32 decoder parameters start: HEAD before version 3, DSCT (§3.1) from it."""

CHUNK_TYPES = (b"HEAD", b"MASK", b"PIXL", b"BASE", b"DSCT", b"AEND", b"iccp", b"exif", b"zzTx", b"ZZTX")


def parse(data: bytes) -> tuple[Chunks, bytes] | None:
    """(type, payload) of each whole chunk after the signature, CRCs ignored, and the bytes left
    over; None when the signature is wrong."""
    if not data.startswith(SIGNATURE):
        return None
    chunks, offset = [], len(SIGNATURE)
    while len(data) - offset >= container.CHUNK_OVERHEAD:
        length, chunk_type = struct.unpack_from(">I4s", data, offset)
        if length > len(data) - offset - container.CHUNK_OVERHEAD:
            break
        chunks.append((chunk_type, data[offset + 8 : offset + 8 + length]))
        offset += container.CHUNK_OVERHEAD + length
    return chunks, data[offset:]


def seal(chunks: Chunks, tail: bytes = b"") -> bytes:
    """Signature and chunks with correct CRCs (and whatever tail the input had)."""
    return SIGNATURE + b"".join(pack_chunk(t, p) for t, p in chunks) + tail


def byte_mutator(rng: random.Random) -> ByteMutator:
    """A small stand-in for libFuzzer's mutator, for the engine without atheris."""

    def mutate_bytes(data: bytes) -> bytes:
        out = bytearray(data)
        action = rng.randrange(6)
        at = rng.randrange(len(out) + 1)
        if action == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1 and out:
            out[min(at, len(out) - 1)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif action == 2:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif action == 3:
            del out[at : at + rng.randrange(1, 17)]
        elif action == 4 and out:
            start = rng.randrange(len(out))
            out[at:at] = out[start : start + rng.randrange(1, 33)]
        elif len(out) >= 4:
            at = rng.randrange(len(out) - 3)
            out[at : at + 4] = struct.pack(">I", rng.choice(INTERESTING_INTS))
        return bytes(out)

    return mutate_bytes


def _pick(chunks: Chunks, rng: random.Random, chunk_type: bytes) -> int | None:
    """Index of a random chunk of this type (mutated files may repeat one), or None."""
    indices = [i for i, (t, _) in enumerate(chunks) if t == chunk_type]
    return rng.choice(indices) if indices else None


def raw(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """The whole file through the byte mutator: CRCs left wrong, so this fuzzes the container."""
    return mutate_bytes(data)


def truncate(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """A prefix of the file (§4: every truncation must be an error)."""
    return data[: rng.randrange(len(data) + 1)]


def length_field(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """A chunk's length set to a boundary or off-by-a-few value (lengths are outside the CRC)."""
    parsed = parse(data)
    if not parsed or not parsed[0]:
        return mutate_bytes(data)
    chunks, _ = parsed
    index = rng.randrange(len(chunks))
    offset = len(SIGNATURE) + sum(container.CHUNK_OVERHEAD + len(p) for _, p in chunks[:index])
    length = len(chunks[index][1])
    value = rng.choice((*INTERESTING_INTS, length + 1, max(0, length - 1), length + 4, max(0, length - 4)))
    return data[:offset] + struct.pack(">I", value) + data[offset + 4 :]


def payload(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """One chunk's payload through the byte mutator, CRC re-sealed."""
    parsed = parse(data)
    if not parsed or not parsed[0]:
        return mutate_bytes(data)
    chunks, tail = parsed
    index = rng.randrange(len(chunks))
    chunks[index] = (chunks[index][0], mutate_bytes(chunks[index][1]))
    return seal(chunks, tail)


def head_field(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """A HEAD field set to a boundary value (or a param to a strange float), CRC re-sealed."""
    parsed = parse(data)
    index = _pick(parsed[0], rng, container.CHUNK_HEAD) if parsed else None
    if index is None or len(parsed[0][index][1]) not in HEAD_FIELDS:
        return payload(data, rng, mutate_bytes, donors)
    chunks, tail = parsed
    params_in = container.CHUNK_HEAD if len(chunks[index][1]) == container.HEAD_SIZES[2] else container.CHUNK_DSCT
    if rng.random() < 0.2 and (target := _pick(chunks, rng, params_in)) is not None:
        field = bytearray(chunks[target][1])
        slot = PARAMS_OFFSET[params_in] + 4 * rng.randrange(container.N_DECODER_PARAMS)
        field[slot : slot + 4] = struct.pack(">f", rng.choice((float("nan"), float("inf"), -1.0, 1e7, 0.5)))
        chunks[target] = (params_in, bytes(field))
    else:
        head = bytearray(chunks[index][1])
        offset, fmt = rng.choice(HEAD_FIELDS[len(head)])
        top = (1 << (8 * struct.calcsize(fmt))) - 1
        value = rng.choice(INTERESTING_INTS + (rng.randrange(top + 1),)) & top
        struct.pack_into(fmt, head, offset, value)
        chunks[index] = (container.CHUNK_HEAD, bytes(head))
    return seal(chunks, tail)


def chunk_list(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """Drop, repeat, swap or insert a chunk, or splice in one from another file; all sealed."""
    parsed = parse(data)
    if not parsed:
        return mutate_bytes(data)
    chunks, tail = parsed
    action = rng.randrange(4)
    if action == 0 and chunks:
        del chunks[rng.randrange(len(chunks))]
    elif action == 1 and chunks:
        chunks.insert(rng.randrange(len(chunks) + 1), rng.choice(chunks))
    elif action == 2 and len(chunks) > 1:
        i, j = rng.sample(range(len(chunks)), 2)
        chunks[i], chunks[j] = chunks[j], chunks[i]
    else:
        donor = parse(rng.choice(donors)) if donors else None
        new = rng.choice(donor[0]) if donor and donor[0] else (rng.choice(CHUNK_TYPES), b"")
        where = rng.randrange(len(chunks) + 1)
        if chunks and rng.random() < 0.5:
            chunks[min(where, len(chunks) - 1)] = new
        else:
            chunks.insert(where, new)
    return seal(chunks, tail)


def _header_of(chunks: Chunks) -> Header | None:
    index = next((i for i, (t, _) in enumerate(chunks) if t == container.CHUNK_HEAD), None)
    try:
        return None if index is None else container.unpack_header(chunks[index][1])
    except AbcError:
        return None


def _stream_of(chunks: Chunks) -> bytes:
    """The decompressed PIXL stream, or b"" when there is none worth reading."""
    index = next((i for i, (t, _) in enumerate(chunks) if t == container.CHUNK_PIXL), None)
    if index is None:
        return b""
    try:
        if not 0 <= zstandard.frame_content_size(chunks[index][1]) <= MAX_STREAM_BYTES:
            return b""
        return zstandard.ZstdDecompressor().decompress(chunks[index][1])
    except zstandard.ZstdError:
        return b""


def _compress(stream: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=1, write_content_size=True, write_checksum=False).compress(stream)


def _replace(chunks: Chunks, chunk_type: bytes, new_payload: bytes) -> None:
    """Put a chunk's payload in place (or add the chunk before AEND when missing)."""
    for i, (t, _) in enumerate(chunks):
        if t == chunk_type:
            chunks[i] = (t, new_payload)
            return
    chunks.insert(max(0, len(chunks) - 1), (chunk_type, new_payload))


def _pattern(shape: tuple[int, int], rng: random.Random) -> np.ndarray:
    """A block mask of one of the shapes that stress the mask coder and the inpainter."""
    rows, cols = np.indices(shape)
    numbers = np.random.default_rng(rng.randrange(1 << 32))
    step = rng.randrange(1, 9)
    choices = {
        "random": lambda: numbers.random(shape) < rng.random(),
        "none": lambda: np.zeros(shape, bool),
        "all": lambda: np.ones(shape, bool),
        "one": lambda: (rows == rng.randrange(shape[0])) & (cols == rng.randrange(shape[1])),
        "checker": lambda: (rows + cols) % 2 == 0,
        "lattice": lambda: (rows % step == 0) & (cols % step == 0),
        "stripes": lambda: rows % step == 0 if rng.random() < 0.5 else cols % step == 0,
        "border": lambda: (rows == 0) | (cols == 0) | (rows == shape[0] - 1) | (cols == shape[1] - 1),
    }
    return choices[rng.choice(list(choices))]()


def _residuals(size: int, header: Header, old: bytes, rng: random.Random) -> bytes:
    """`size` residual bytes: the old stream cycled, zeros, or random bytes below L (rarely any)."""
    kind = rng.randrange(4)
    if kind == 0 and old:
        return (old * (size // len(old) + 1))[:size]
    if kind == 1:
        return bytes(size)
    top = 256 if kind == 2 and rng.random() < 0.2 else min(levels(header.q_luma), levels(header.q_chroma))
    return np.random.default_rng(rng.randrange(1 << 32)).integers(0, top, size, np.uint8).tobytes()


def _consistent(chunks: Chunks, tail: bytes, header: Header, rng: random.Random) -> bytes:
    """HEAD, a fresh mask and a pixel stream of exactly the length they imply, all sealed."""
    shape = header.grid_shape
    mask = _pattern(shape, rng)
    params = PixelParams(header.block, header.q_luma, header.q_chroma, header.chroma_shift)
    size = expected_size(mask, header.channels, params)
    _replace(chunks, container.CHUNK_HEAD, container.pack_header(header))
    _replace(chunks, container.CHUNK_MASK, encode_mask(mask))
    _replace(chunks, container.CHUNK_PIXL, _compress(_residuals(size, header, _stream_of(chunks), rng)))
    return seal(chunks, tail)


def mask_pattern(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """The file's geometry with a new mask and a pixel stream sized to match."""
    parsed = parse(data)
    header = _header_of(parsed[0]) if parsed else None
    if header is None or header.width * header.height > MAX_SEMANTIC_PIXELS:
        return head_field(data, rng, mutate_bytes, donors)
    return _consistent(*parsed, header, rng)


def geometry(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """A new small geometry (size, mode, block, quantisers, chroma shift) with a mask to match."""
    parsed = parse(data) or ([(container.CHUNK_AEND, b"")], b"")
    block = rng.choice((1, 2, 3, 4, 5, 6, 8, 16, 63, 64))
    width, height = (rng.choice((1, 2, 3, rng.randrange(1, 65), rng.randrange(1, 257))) for _ in range(2))
    header = Header(
        width=width, height=height, mode=rng.choice((container.MODE_L, container.MODE_RGB)), block=block,
        q_luma=rng.choice((1, 2, 24, 255, rng.randrange(1, 256))), q_chroma=rng.choice((1, 32, 255)),
        chroma_shift=rng.randrange(2) if block % 2 == 0 else 0,
    )
    return _consistent(*parsed, header, rng)


def pixel_stream(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """The PIXL stream decompressed, mutated, and re-compressed with its (new) content size."""
    parsed = parse(data)
    old = _stream_of(parsed[0]) if parsed else b""
    if not old:
        return payload(data, rng, mutate_bytes, donors)
    chunks, tail = parsed
    _replace(chunks, container.CHUNK_PIXL, _compress(mutate_bytes(old)))
    return seal(chunks, tail)


MAX_AV1_SIDE = 1 << 16
"""AV1 codes a frame's side in at most 16 bits (frame_width_bits_minus_1 is 4 bits)."""

OPERATING_POINT_IDCS = (0, 0x101, 0x103, 0x303, 0x202, 0xF01, 0x1FF, 0xFFF)
"""operating_point_idc values for the decoder models av1_headers writes: none, one layer, several."""


def av1_headers(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes]) -> bytes:
    """The AV1 BASE's headers rewritten by :func:`fuzz.av1_streams.still_picture`, the tiles kept:
    behind a full sequence header, a frame header with a frame size of its own (the image's, near
    it, far larger or smaller), superres, a render size, another frame type, frame ids, a decoder
    model and layers, a redundant copy that differs; then, sometimes, a bit of the new frame
    header flipped. A BASE not of libaom's form has its first bytes, the headers, mutated instead."""
    parsed = parse(data)
    index = _pick(parsed[0], rng, container.CHUNK_BASE) if parsed else None
    if index is None:
        return payload(data, rng, mutate_bytes, donors)
    chunks, tail = parsed
    stream = chunks[index][1]
    try:
        picture = av1_streams.reduced(stream)
    except (ValueError, IndexError):
        chunks[index] = (container.CHUNK_BASE, mutate_bytes(stream[:32]) + stream[32:])
        return seal(chunks, tail)
    size = (picture.width, picture.height)
    fields = _frame_fields(size, rng)
    new = av1_streams.still_picture(stream, **fields)
    redundant, flip = rng.random() < 0.1, rng.random() < 0.3
    if redundant or flip:  # (split and join drop an extension header)
        obus = av1_streams.split(new)
        if redundant:  # a copy of the frame header that codes another size
            other = av1_streams.still_picture(stream, **{**fields, "frame_size": _size_near(size, rng)})
            obus.append((av1_streams.OBU_REDUNDANT_FRAME_HEADER, av1_streams.split(other)[1][1]))
        if flip:
            frame = bytearray(obus[1][1])
            frame[rng.randrange(min(16, len(frame)))] ^= 1 << rng.randrange(8)
            obus[1] = (obus[1][0], bytes(frame))
        new = av1_streams.join(obus)
    chunks[index] = (container.CHUNK_BASE, new)
    return seal(chunks, tail)


def _frame_fields(size: tuple[int, int], rng: random.Random) -> dict:
    """Keyword arguments of :func:`fuzz.av1_streams.still_picture`, each field set now and then."""
    fields: dict = {}
    if rng.random() < 0.3:
        fields["max_size"] = _size_near(size, rng)
    if rng.random() < 0.6:
        fields["frame_size"] = _size_near(size, rng)
    needed = max(1, (max(*fields.get("frame_size", size), *fields.get("max_size", size)) - 1).bit_length())
    if rng.random() < 0.3:
        fields["size_bits"] = (rng.randrange(needed, 17), rng.randrange(needed, 17))
    if rng.random() < 0.1:
        fields["superres_denom"] = rng.randrange(9, 17)
    if rng.random() < 0.15:
        fields["render_size"] = rng.choice((size, _size_near(size, rng)))
    if rng.random() < 0.05:
        fields["show_existing_frame"] = 1
    if rng.random() < 0.1:
        fields["frame_type"] = rng.randrange(4)
    if rng.random() < 0.05:
        fields["show_frame"] = 0
    if rng.random() < 0.15:
        fields["frame_id_length"] = rng.randrange(3, 26)
    if rng.random() < 0.15:
        points = tuple(rng.choice(OPERATING_POINT_IDCS) for _ in range(rng.randrange(1, 4)))
        fields["decoder_model"] = av1_streams.DecoderModel(rng.randrange(1, 33), rng.randrange(1, 33), points)
    if rng.random() < 0.15:
        fields["extension"] = (rng.randrange(8), rng.randrange(4))
    return fields


def _size_near(size: tuple[int, int], rng: random.Random) -> tuple[int, int]:
    """A frame size an attacker would code for an image of ``size``: itself, one sample off,
    scaled up or down, a boundary, or anything up to AV1's 65536."""
    width, height = size
    choices = (
        size, (width + 1, height), (width, max(1, height - 1)), (width * 2, height * 2), (width * 16, height * 16),
        (max(1, width // 2), max(1, height // 2)), (1, 1), (16384, 16384), (65536, 65536), (4096, 1),
        (rng.randrange(1, 65537), rng.randrange(1, 65537)),
    )
    return tuple(min(side, MAX_AV1_SIDE) for side in rng.choice(choices))


MUTATIONS = {
    raw: 1, truncate: 1, length_field: 1, payload: 3, head_field: 3, chunk_list: 2, pixel_stream: 3, mask_pattern: 3,
    geometry: 2, av1_headers: 3,
}
"""Each mutation with its weight: most keep the CRCs right, so that most inputs reach the decoders."""


def mutate(data: bytes, rng: random.Random, mutate_bytes: ByteMutator, donors: Sequence[bytes] = ()) -> bytes:
    """One randomly chosen mutation of `data`."""
    (chosen,) = rng.choices(list(MUTATIONS), weights=list(MUTATIONS.values()))
    return chosen(data, rng, mutate_bytes, donors)
