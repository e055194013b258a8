"""Conformance of the §9 vectors, read and decoded from format_spec/abc.md alone.

Nothing here asks abcodec how to read a file: the chunks and the HEAD and DSCT fields are read at
the offsets of the spec's tables (§2, §3, §3.1) with struct and zlib, the AV1 sequence header as
AV1 §5.5 lays it out, and the fast path's pixels are computed from the spec's formulas with numpy
and scipy: the mask (§6, with the entropy coder the spec names, constriction 0.5.0), the kept
pixels (§7), the harmonic fill (§8 step 4, solved exactly), the chroma upsampling and the colour
conversions (§7 step 1, §8 steps 5-7), the Keys upsampler (§12 step 3) and the alpha plane (§13).
abcodec's decode() must then agree with these within the tolerances of §9 ("Conformance and
tolerances"), and so must the committed reference PNGs, which our own decoder made.

Taken as given, not recomputed: the AV1 frame (AV1 §7 through libavif and dav1d, whose YCbCr to
RGB conversion §12 step 2 leaves to libavif) and zstd. The legacy version 2 vectors' DCT base
layer (§10) has no reference here: their chunks and fields are checked, their pixels only
against their PNGs (snapshots of abcodec 0.3).
"""

import hashlib
import importlib.util
import json
import math
import re
import struct
import zlib
from pathlib import Path

import constriction
import numpy as np
import pytest
import zstandard
from PIL import Image
from scipy.sparse import lil_matrix
from scipy.sparse.linalg import spsolve

from abcodec import av1, colour, container, dctbase, maskcode, pixels, resample
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode

VECTORS = Path(__file__).resolve().parent.parent / "format_spec" / "vectors"
WEIGHTS = Path(__file__).resolve().parent.parent / "abcodec" / "weights" / "generator.pt"
MANIFEST = json.loads((VECTORS / "vectors.json").read_text())
SIGNATURE = bytes([0x8B, 0x41, 0x42, 0x43, 0x0D, 0x0A, 0x1A, 0x0A])

FILL_TOLERANCE = {"max_abs": 2, "mean_abs": 0.05}
"""§9: where the diffusion fill (a float solve, stopped early by the reference) makes the pixels."""
EXACT_FORMULA_TOLERANCE = {"max_abs": 1, "mean_abs": 0.05}
"""§9: where only the conversions, the upsampling and rounding make them (float32 against float64
rounding of a value near a half)."""

EXPECTED = {
    # §9's table and each vector's name: the fields and chunks the spec says the vector has.
    "grey-7x5-pixels": dict(version=3, mode=1, width=7, height=5, block=1, scheme=0, q_luma=1, q_chroma=32,
                            shift=0, inpainter=0, chunks="HEAD MASK PIXL AEND"),
    "rgb-16x12-blocks": dict(version=3, mode=3, width=16, height=12, block=4, scheme=2, shift=1, inpainter=0,
                             chunks="HEAD MASK PIXL AEND"),
    "rgb-33x20-centre-metadata": dict(version=3, mode=3, width=33, height=20, block=2, scheme=3, inpainter=0,
                                      chunks="HEAD phys exif iccp xmpd zzTx MASK PIXL AEND"),
    "rgba-24x20-av1-alpha": dict(version=3, mode=3, width=24, height=20, block=4, inpainter=0, frame=(24, 20),
                                 chunks="HEAD BASE ALPH AEND"),
    "grey-16x9-av1": dict(version=3, mode=1, width=16, height=9, block=4, inpainter=0, frame=(16, 9),
                          chunks="HEAD BASE AEND"),
    "rgb-33x20-av1-shrunk": dict(version=3, mode=3, width=33, height=20, block=4, inpainter=0, frame=(16, 10),
                                 chunks="HEAD BASE AEND"),
    "rgb-24x20-av1-blocks": dict(version=3, mode=3, width=24, height=20, block=4, inpainter=0, frame=(24, 20),
                                 chunks="HEAD BASE MASK PIXL AEND"),
    "rgb-24x20-av1-assist": dict(version=3, mode=3, width=24, height=20, block=4, inpainter=1, frame=(24, 20),
                                 chunks="HEAD DSCT clas gram BASE AEND"),
    "rgb-128x64-av1-roi": dict(version=3, mode=3, width=128, height=64, block=4, scheme=255, inpainter=0,
                               frame=(128, 64), chunks="HEAD BASE AEND"),
    "v1-grey-7x5-pixels": dict(version=1, mode=1, width=7, height=5, block=1, scheme=0, q_luma=1, q_chroma=32,
                               shift=0, inpainter=0, chunks="HEAD MASK PIXL AEND"),
    "grey-16x9-base": dict(version=2, mode=1, width=16, height=9, inpainter=0, chunks="HEAD BASE MASK PIXL AEND"),
    "rgb-24x20-base-blocks": dict(version=2, mode=3, width=24, height=20, block=4, inpainter=0,
                                  chunks="HEAD BASE MASK PIXL AEND"),
    "rgb-24x20-base-assist": dict(version=2, mode=3, width=24, height=20, inpainter=1,
                                  chunks="HEAD clas gram BASE MASK PIXL AEND"),
}

# ---------------------------------------------------------------------------------------------
# §2-§4: chunks and fields at the spec's offsets


def spec_chunks(data: bytes) -> list[tuple[str, bytes]]:
    """(type, payload) of every chunk (§2), asserting the signature, each length and each CRC-32."""
    assert data[:8] == SIGNATURE
    offset, chunks = 8, []
    while offset < len(data):
        assert len(data) - offset >= 12, f"{len(data) - offset} stray bytes at {offset}"
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8]
        assert all(chr(c).isascii() and chr(c).isalpha() for c in kind), kind
        assert offset + 12 + length <= len(data), f"{kind} runs past the end"
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        assert crc == zlib.crc32(kind + payload), f"{kind} CRC"
        chunks.append((kind.decode(), payload))
        offset += 12 + length
    return chunks


def spec_head(payload: bytes) -> dict:
    """§3's table for version 3 (20 bytes), and its offsets 0, 1, 2, 6, 10-15, 16, 18, 22, 54 for
    versions 1 and 2 (86 bytes)."""
    version = payload[0]
    fields = dict(version=version, mode=payload[1])
    if version == 3:
        assert len(payload) == 20
        fields["width"], fields["height"] = struct.unpack_from(">HH", payload, 2)
        small = payload[6:12]
        fields["generator"] = payload[12:20]
    else:
        assert version in (1, 2) and len(payload) == 86
        fields["width"], fields["height"] = struct.unpack_from(">II", payload, 2)
        small = payload[10:16]
        (fields["steps"],) = struct.unpack_from(">H", payload, 16)
        (fields["noise_seed"],) = struct.unpack_from(">I", payload, 18)
        fields["params"] = struct.unpack_from(">8f", payload, 22)
        fields["generator"] = payload[54:86]
    fields.update(zip(("block", "scheme", "q_luma", "q_chroma", "shift", "inpainter"), small))
    return fields


def spec_dsct(payload: bytes) -> dict:
    """§3.1's table: steps, noise seed, 8 float32 parameters."""
    assert len(payload) == 38
    steps, seed = struct.unpack_from(">HI", payload, 0)
    return dict(steps=steps, noise_seed=seed, params=struct.unpack_from(">8f", payload, 6))


def check_head_rules(head: dict) -> None:
    """§3 and §5: every field within its range."""
    assert head["mode"] in (1, 3)
    assert 1 <= head["width"] <= 32768 and 1 <= head["height"] <= 32768
    assert head["width"] * head["height"] <= 1 << 26
    assert 1 <= head["block"] <= 64 and 1 <= head["q_luma"] <= 255 and 1 <= head["q_chroma"] <= 255
    assert head["shift"] in (0, 1) and (head["shift"] == 0 or head["block"] % 2 == 0)
    assert head["inpainter"] in (0, 1) and head["scheme"] in (0, 1, 2, 3, 255)
    assert (head["generator"] == bytes(len(head["generator"]))) == (head["inpainter"] == 0)


def check_chunk_rules(head: dict, types: list[str]) -> None:
    """§4: HEAD first, AEND last and empty, each critical chunk once, in a version that has it."""
    assert types[0] == "HEAD" and types[-1] == "AEND"
    since = {"MASK": 1, "PIXL": 1, "BASE": 2, "DSCT": 3, "ALPH": 3}
    critical = [t for t in types[1:-1] if t[0].isupper()]
    assert all(t in since and since[t] <= head["version"] for t in critical), critical
    assert len(critical) == len(set(critical))
    layers = {"MASK", "PIXL"} & set(critical)
    if head["version"] < 3:
        assert layers == {"MASK", "PIXL"}
    else:
        assert len(layers) != 1 and (layers or "BASE" in critical)
    assert ("DSCT" in critical) <= (head["inpainter"] == 1)


VALID = sorted(MANIFEST["valid"]) + sorted(MANIFEST["legacy"])


def vector_bytes(name: str) -> bytes:
    entry = MANIFEST["valid"].get(name) or MANIFEST["legacy"][name]
    return (VECTORS / entry["file"]).read_bytes()


def test_every_valid_vector_has_its_expectations():
    assert set(EXPECTED) == set(VALID)


@pytest.mark.parametrize("name", VALID)
def test_vector_chunks_and_fields_are_where_the_spec_puts_them(name):
    data = vector_bytes(name)
    chunks = spec_chunks(data)
    types = [kind for kind, _ in chunks]
    payloads = dict(chunks)
    head = spec_head(payloads["HEAD"])
    expected = EXPECTED[name]
    assert " ".join(types) == expected["chunks"]
    assert {k: head[k] for k in expected if k in head} == {k: v for k, v in expected.items() if k in head}
    check_head_rules(head)
    check_chunk_rules(head, types)
    assert payloads["AEND"] == b""
    if head["inpainter"] == 1 and name in MANIFEST["valid"]:  # the legacy ones name abcodec 0.3's weights
        assert head["generator"] == hashlib.sha256(WEIGHTS.read_bytes()).digest()[:8]
    if head["version"] == 3 and "MASK" not in payloads:
        assert head["block"] == 4  # §3: written as 4 when there is no MASK
    if "DSCT" in payloads:
        descent = spec_dsct(payloads["DSCT"])
        assert 1 <= descent["steps"] <= 10000
        assert all(math.isfinite(p) and 0 <= p <= 1e6 for p in descent["params"])
    if head["version"] == 3 and "BASE" in payloads:
        frame = spec_sequence_header(payloads["BASE"])
        assert frame["still_picture"] and frame["bit_depth"] == 8 and frame["mono_chrome"] == (head["mode"] == 1)
        assert (frame["width"], frame["height"]) == expected["frame"]
        for side, frame_side in ((head["width"], frame["width"]), (head["height"], frame["height"])):
            assert -(-side // 16) <= frame_side <= side  # §12 step 1
    # The reference decoder reads the same fields from the same bytes.
    header = container.read_file(data).header
    assert (header.version, header.mode, header.width, header.height, header.block, header.scheme, header.q_luma,
            header.q_chroma, header.chroma_shift, header.inpainter) == tuple(
        head[k] for k in ("version", "mode", "width", "height", "block", "scheme", "q_luma", "q_chroma", "shift",
                          "inpainter"))
    decoded = decode(data, inpainter="diffusion")
    assert decoded.size == (head["width"], head["height"])
    assert decoded.mode == {1: "L", 3: "RGB"}[head["mode"]] + ("A" if "ALPH" in payloads else "")


def test_metadata_vector_carries_the_spec_payloads_and_skips_the_unknown_chunk():
    """§4's ancillary table: the phys chunk in thousandths of a dpi (300 × 150.5 by §9's table),
    EXIF as raw TIFF bytes, XMP as the packet; the unknown ancillary chunk is skipped."""
    payloads = dict(spec_chunks(vector_bytes("rgb-33x20-centre-metadata")))
    assert struct.unpack(">II", payloads["phys"]) == (300_000, 150_500)
    assert payloads["exif"][:4] in (b"II*\x00", b"MM\x00*")
    assert payloads["xmpd"].startswith(b"<x:xmpmeta")
    ancillary = container.read_file(vector_bytes("rgb-33x20-centre-metadata")).ancillary
    assert {kind.decode(): payload for kind, payload in ancillary.items()} == {
        kind: payloads[kind] for kind in ("phys", "exif", "iccp", "xmpd")}  # zzTx skipped (§4 rule 4)
    info = decode(vector_bytes("rgb-33x20-centre-metadata"), inpainter="diffusion").info
    assert info["dpi"] == (300.0, 150.5) and info["icc_profile"] == payloads["iccp"]
    assert info["exif"] == b"Exif\x00\x00" + payloads["exif"] and info["xmp"] == payloads["xmpd"]  # Pillow's prefix


@pytest.mark.parametrize("inpainter", ["diffusion", "ppgn"])
def test_the_encoder_writes_each_head_field_at_its_spec_offset(inpainter):
    """Every field given a distinct value, so that two fields swapped or moved show."""
    image = np.random.default_rng(1).integers(0, 256, (11, 13, 3), dtype=np.uint8)
    blocks = BlockLayer(keep=0.5, block=6, q_luma=5, q_chroma=7, chroma_shift=1, scheme="centre")
    steps = {"ppgn": dict(steps=9)}.get(inpainter, {})
    chunks = dict(spec_chunks(encode(image, options=EncodeOptions(inpainter=inpainter, blocks=blocks, **steps))))
    head = spec_head(chunks["HEAD"])
    assert {k: head[k] for k in ("version", "mode", "width", "height", "block", "scheme", "q_luma", "q_chroma",
                                 "shift", "inpainter")} == dict(
        version=3, mode=3, width=13, height=11, block=6, scheme=3, q_luma=5, q_chroma=7, shift=1,
        inpainter={"diffusion": 0, "ppgn": 1}[inpainter])
    check_head_rules(head)
    if inpainter == "ppgn":
        descent = spec_dsct(chunks["DSCT"])
        assert descent["steps"] == 9 and descent["params"][:2] == (pytest.approx(0.02), 10.0)
    else:
        assert "DSCT" not in chunks


# ---------------------------------------------------------------------------------------------
# AV1 §5.3 and §5.5: the OBUs and the sequence header, as far as §12 step 1 needs them


class Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def f(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = value << 1 | (self.data[self.position >> 3] >> (7 - (self.position & 7))) & 1
            self.position += 1
        return value


def obus(stream: bytes) -> list[tuple[int, bytes]]:
    """(obu_type, payload) of each OBU: its header byte, an optional extension byte, a leb128 size."""
    offset, found = 0, []
    while offset < len(stream):
        header = stream[offset]
        assert header & 0x80 == 0 and header & 0x02, "forbidden bit clear, obu_has_size_field set (§12 step 1)"
        offset += 2 if header & 0x04 else 1
        size = shift = 0
        while True:
            byte = stream[offset]
            offset += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        found.append(((header >> 3) & 0x0F, stream[offset : offset + size]))
        offset += size
    return found


def spec_sequence_header(stream: bytes) -> dict:
    """A reduced still picture sequence header (what the vectors hold), read to color_config()."""
    headers = [payload for kind, payload in obus(stream) if kind == 1]
    assert len(headers) == 1
    bits = Bits(headers[0])
    profile, still, reduced = bits.f(3), bits.f(1), bits.f(1)
    assert reduced, "only reduced still picture headers are read here"
    bits.f(5)  # seq_level_idx[0]
    width_bits, height_bits = bits.f(4) + 1, bits.f(4) + 1
    width, height = bits.f(width_bits) + 1, bits.f(height_bits) + 1
    bits.f(3)  # use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    bits.f(3)  # enable_superres, enable_cdef, enable_restoration
    high_bitdepth = bits.f(1)
    twelve_bit = bits.f(1) if profile == 2 and high_bitdepth else 0
    mono_chrome = 0 if profile == 1 else bits.f(1)
    return dict(still_picture=still, width=width, height=height, mono_chrome=bool(mono_chrome),
                bit_depth=12 if twelve_bit else 10 if high_bitdepth else 8)


# ---------------------------------------------------------------------------------------------
# §6: the mask


def spec_mask(payload: bytes, rows: int, cols: int) -> np.ndarray:
    """The gh × gw mask: the passes of §6.1, the counts of §6.2, the coder of §6.3, block by block."""
    assert len(payload) % 4 == 0
    grid = np.zeros((rows, cols), np.int64)
    if not payload:
        return grid.astype(bool)
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, "<u4").astype(np.uint32))
    model = constriction.stream.model.Bernoulli(perfect=False)
    total, kept = [0] * 14, [0] * 14

    def at(i: int, j: int) -> int:
        return int(grid[i, j]) if 0 <= i < rows and 0 <= j < cols else 0

    def count(i: int, j: int, offsets) -> int:
        return sum(at(i + di, j + dj) for di, dj in offsets)

    def code_pass(blocks: list[tuple[int, int, int]]) -> None:
        start, size = 0, 16
        while start < len(blocks):
            chunk = blocks[start : start + size]
            units = [min(max((2 * kept[c] + 1) * 65536 // (2 * total[c] + 2), 1), 65535) for _, _, c in chunk]
            bits = coder.decode(model, np.array(units, np.float64) / 65536)
            for (i, j, c), bit in zip(chunk, bits):
                grid[i, j] = bit
                total[c] += 1
                kept[c] += int(bit)
            start, size = start + size, min(2 * size, 4096)

    code_pass([(0, 0, 0)])
    d = 1
    while 2 * d < max(rows, cols):
        d *= 2
    while d >= 1 and max(rows, cols) > 1:
        s = 2 * d
        corners = [(dr, dc) for dr in (-d, d) for dc in (-d, d)]
        axial = [(0, -s), (0, s), (-s, 0), (s, 0)]
        cross = [(0, -d), (0, d), (-d, 0), (d, 0)]
        diagonal = [(i, j) for i in range(d, rows, s) for j in range(d, cols, s)]
        code_pass([(i, j, count(i, j, corners)) for i, j in diagonal if ((i - d) // s + (j - d) // s) % 2 == 0])
        code_pass([(i, j, 5 + count(i, j, corners + axial)) for i, j in diagonal
                   if ((i - d) // s + (j - d) // s) % 2 == 1])
        code_pass([(i, j, count(i, j, cross)) for i in range(0, rows, s) for j in range(d, cols, s)])
        code_pass([(i, j, count(i, j, cross)) for i in range(d, rows, s) for j in range(0, cols, s)])
        d //= 2
    assert coder.is_empty(), "data left after the last block (§6.3)"
    return grid.astype(bool)


# ---------------------------------------------------------------------------------------------
# §7: the kept pixels


def spec_canvas(payload: bytes, mask: np.ndarray, head: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """(values, known) of each plane (Y, then Cb and Cr at ⌈H / 2ˢ⌉ × ⌈W / 2ˢ⌉), §7 steps 3-6 backwards."""
    stream = zstandard.ZstdDecompressor().decompress(payload)
    height, width, block, shift = head["height"], head["width"], head["block"], head["shift"]
    planes = [(block, head["q_luma"], (height, width))]
    if head["mode"] == 3:
        chroma = (-(-height // 2**shift), -(-width // 2**shift))
        planes += [(block >> shift, head["q_chroma"], chroma)] * 2
    kept = list(zip(*np.nonzero(mask)))  # raster order of the block grid
    position, out = 0, []
    for side, q, size in planes:
        count = (510 + q) // (2 * q) + 1
        values, known = np.zeros(size), np.zeros(size, bool)
        previous_corner = count // 2
        for row, col in kept:
            x = np.zeros((side, side), np.int64)
            for i in range(side):
                for j in range(side):
                    z = stream[position]
                    position += 1
                    assert z < count
                    residual = z // 2 if z % 2 == 0 else -(z + 1) // 2
                    x[i, j] = (predict(x, i, j, previous_corner) + residual) % count
            previous_corner = x[0, 0]
            top, left = row * side, col * side
            region = np.s_[top : min(top + side, size[0]), left : min(left + side, size[1])]
            rows, cols = values[region].shape
            values[region] = np.minimum(x[:rows, :cols] * q, 255)
            known[region] = True
        out.append((values, known))
    assert position == len(stream)
    return out


def predict(x: np.ndarray, i: int, j: int, previous_corner: int) -> int:
    """§7 step 5: the previous block's corner, the left or upper neighbour, or LOCO-I's MED."""
    if i == 0 and j == 0:
        return previous_corner
    if i == 0:
        return x[i, j - 1]
    if j == 0:
        return x[i - 1, j]
    a, c, e = x[i, j - 1], x[i - 1, j], x[i - 1, j - 1]
    if e >= max(a, c):
        return min(a, c)
    if e <= min(a, c):
        return max(a, c)
    return a + c - e


# ---------------------------------------------------------------------------------------------
# §8: fill, chroma upsampling, blending, conversion


def harmonic_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """§8 step 4 solved exactly: Σ (u_q − u_p) = 0 over the neighbours inside the plane."""
    if not known.any():
        return np.full(values.shape, 128.0)
    rows, cols = values.shape
    unknown = list(zip(*np.nonzero(~known)))
    index = {p: n for n, p in enumerate(unknown)}
    system, right = lil_matrix((len(unknown), len(unknown))), np.zeros(len(unknown))
    for n, (i, j) in enumerate(unknown):
        for q in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if 0 <= q[0] < rows and 0 <= q[1] < cols:
                system[n, n] += 1
                if q in index:
                    system[n, index[q]] -= 1
                else:
                    right[n] += values[q]
    out = values.astype(np.float64).copy()
    if unknown:
        out[~known] = np.atleast_1d(spsolve(system.tocsr(), right))
    return out


def bilinear_double(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """§8 step 5: output (y, x) reads the plane at ((y + ½)/2 − ½, (x + ½)/2 − ½), clamped."""
    rows, cols = plane.shape
    out = np.zeros(size)
    for y in range(size[0]):
        for x in range(size[1]):
            fy = min(max((y + 0.5) / 2 - 0.5, 0), rows - 1)
            fx = min(max((x + 0.5) / 2 - 0.5, 0), cols - 1)
            y0, x0 = int(math.floor(fy)), int(math.floor(fx))
            y1, x1 = min(y0 + 1, rows - 1), min(x0 + 1, cols - 1)
            wy, wx = fy - y0, fx - x0
            out[y, x] = ((1 - wy) * ((1 - wx) * plane[y0, x0] + wx * plane[y0, x1])
                         + wy * ((1 - wx) * plane[y1, x0] + wx * plane[y1, x1]))
    return out


def to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """§8 step 6."""
    rgb = np.stack([y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                    y + 1.772 * (cb - 128)], axis=-1)
    return round_and_clip(rgb)


def to_ycbcr(rgb: np.ndarray) -> list[np.ndarray]:
    """§7 step 1, JFIF full-range BT.601."""
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    return [0.299 * r + 0.587 * g + 0.114 * b, 128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
            128 + 0.5 * r - 0.418688 * g - 0.081312 * b]


def round_and_clip(values: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(values + 0.5), 0, 255).astype(np.uint8)


def planes_to_image(planes: list[np.ndarray], head: dict) -> np.ndarray:
    """§8 steps 5-6 from full-resolution Y and Cb, Cr at the canvas's chroma resolution."""
    if head["mode"] == 1:
        return round_and_clip(planes[0])
    size = (head["height"], head["width"])
    chroma = [bilinear_double(p, size) if head["shift"] else p for p in planes[1:]]
    return to_rgb(planes[0], *chroma)


def chebyshev_far(known: np.ndarray, reach: int) -> np.ndarray:
    """Samples whose Chebyshev distance to every known sample exceeds ``reach`` (§8 step 7)."""
    rows, cols = np.mgrid[0 : known.shape[0], 0 : known.shape[1]]
    far = np.ones(known.shape, bool)
    for i, j in zip(*np.nonzero(known)):
        far &= np.maximum(np.abs(rows - i), np.abs(cols - j)) > reach
    return far


def faded_difference(values: np.ndarray, known: np.ndarray, base: np.ndarray, reach: int) -> np.ndarray:
    """§8 step 7's d: canvas − base at kept samples, 0 beyond ``reach``, the harmonic fill between."""
    far = chebyshev_far(known, reach)
    return harmonic_fill(np.where(known, values - base, 0.0), known | far)


def box_means(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """2×2 means of a plane padded by repeating its last row and column (§8 step 7, s = 1)."""
    padded = np.pad(plane, ((0, 2 * size[0] - plane.shape[0]), (0, 2 * size[1] - plane.shape[1])), mode="edge")
    return padded.reshape(size[0], 2, size[1], 2).mean(axis=(1, 3))


# ---------------------------------------------------------------------------------------------
# §12 step 3 and §13


def keys(d: float) -> float:
    """§10 step 4's Keys cubic with a = −½."""
    d = abs(d)
    if d <= 1:
        return 1.5 * d**3 - 2.5 * d**2 + 1
    if d < 2:
        return -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2
    return 0.0


def keys_line(line: np.ndarray, m: int, ratio: tuple[int, int] | None = None) -> np.ndarray:
    """n samples to m, output i read at x = (2i + 1) · a / (2b) − ½: a / b = n / m in §12 step 3;
    4 / r for §10 step 4's stride r in quarter pixels, which is its x = (4i + 2) / r − ½."""
    n = len(line)
    a, b = ratio or (n, m)
    out = np.zeros(m)
    for i in range(m):
        x = (2 * i + 1) * a / (2 * b) - 0.5
        for j in range(math.floor(x) - 1, math.floor(x) + 3):
            out[i] += keys(x - j) * line[min(max(j, 0), n - 1)]
    return out


def keys_plane(plane: np.ndarray, size: tuple[int, int], ratio: tuple[int, int] | None = None) -> np.ndarray:
    """§12 step 3 (and §10 step 4): down the columns to H rows, then along the rows to W columns."""
    columns = np.stack([keys_line(plane[:, c], size[0], ratio) for c in range(plane.shape[1])], axis=1)
    return np.stack([keys_line(row, size[1], ratio) for row in columns])


def upsampled(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """§12 step 3: the frame as it is at the image's size, else each plane (L, or R, G, B) by Keys."""
    if frame.shape[:2] == size:
        return frame
    if frame.ndim == 2:
        return keys_plane(frame, size)
    return np.stack([keys_plane(frame[..., c], size) for c in range(3)], axis=-1)


def spec_alpha(payload: bytes, size: tuple[int, int]) -> np.ndarray:
    """§13: method 0, a zstd frame of width × height left differences, summed mod 256 along rows."""
    assert payload[0] == 0
    assert zstandard.frame_content_size(payload[1:]) == size[0] * size[1]
    deltas = np.frombuffer(zstandard.ZstdDecompressor().decompress(payload[1:]), np.uint8).reshape(size)
    return (np.cumsum(deltas, axis=1) % 256).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# The reference decode of §8 steps 1-7


def reference_pixels(data: bytes) -> np.ndarray:
    payloads = dict(spec_chunks(data))
    head = spec_head(payloads["HEAD"])
    size = (head["height"], head["width"])
    canvas = None
    if "MASK" in payloads:
        block = head["block"]
        mask = spec_mask(payloads["MASK"], -(-size[0] // block), -(-size[1] // block))
        canvas = spec_canvas(payloads["PIXL"], mask, head)
    if "BASE" not in payloads:
        image = planes_to_image([harmonic_fill(values, known) for values, known in canvas], head)
    else:
        frame = av1.decode(payloads["BASE"], head["mode"], size[::-1]).astype(np.float64)  # AV1 §7, given
        rgb = upsampled(frame, size)
        if canvas is None or not any(known.any() for _, known in canvas):
            image = round_and_clip(rgb)
        else:
            base = [rgb] if head["mode"] == 1 else to_ycbcr(rgb)
            planes = [base[0] + faded_difference(*canvas[0], base[0], head["block"])]
            for (values, known), plane in zip(canvas[1:], base[1:]):
                coarse = box_means(plane, values.shape) if head["shift"] else plane
                difference = faded_difference(values, known, coarse, head["block"] >> head["shift"])
                planes.append(plane + (bilinear_double(difference, size) if head["shift"] else difference))
            image = round_and_clip(planes[0]) if head["mode"] == 1 else to_rgb(*planes)
    if "ALPH" in payloads:
        image = np.dstack([image, spec_alpha(payloads["ALPH"], size)])
    return image


def tolerance_for(name: str) -> dict:
    payloads = dict(spec_chunks(vector_bytes(name)))
    return FILL_TOLERANCE if "MASK" in payloads else EXACT_FORMULA_TOLERANCE


def assert_within(image: np.ndarray, reference: np.ndarray, tolerance: dict) -> None:
    difference = np.abs(image.astype(np.int16) - reference.astype(np.int16))
    assert difference.max() <= tolerance["max_abs"], difference.max()
    assert difference.mean() <= tolerance["mean_abs"], difference.mean()


SPEC_DECODED = sorted(MANIFEST["valid"])


@pytest.fixture(scope="module")
def references() -> dict[str, np.ndarray]:
    return {name: reference_pixels(vector_bytes(name)) for name in SPEC_DECODED}


@pytest.mark.parametrize("name", SPEC_DECODED)
def test_the_fast_decode_matches_the_spec_within_its_tolerance(name, references):
    decoded = np.asarray(decode(vector_bytes(name), inpainter="diffusion"))
    assert_within(decoded, references[name], tolerance_for(name))
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        np.testing.assert_array_equal(decoded[..., 3], references[name][..., 3])  # §13: lossless


@pytest.mark.parametrize("name", SPEC_DECODED)
def test_the_committed_reference_png_matches_the_spec(name, references):
    """The PNGs are our decoder's output (format_spec/vectors/generate.py); this is what makes
    them a conformance reference rather than a snapshot."""
    expected = np.asarray(Image.open(VECTORS / MANIFEST["valid"][name]["expected"]))
    assert_within(expected, references[name], tolerance_for(name))


def test_kept_pixels_at_q1_are_the_originals_exactly():
    """§7 with q = 1: the levels are the samples, so the spec's kept pixels are the original's."""
    data = vector_bytes("grey-7x5-pixels")
    payloads = dict(spec_chunks(data))
    (values, known), = spec_canvas(payloads["PIXL"], spec_mask(payloads["MASK"], 5, 7), spec_head(payloads["HEAD"]))
    original = load_generator().pattern(5, 7, 1)
    assert known.sum() == round(0.4 * 35)  # generate.py keeps 40 % of the pixels
    np.testing.assert_array_equal(values[known], original[known])
    np.testing.assert_array_equal(np.asarray(decode(data))[known], original[known])


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_vectors", VECTORS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_colour_conversions_are_the_spec_formulas():
    """§7 step 1 and §8 step 6 over a lattice of all colours: the decoder rounds exactly where the
    float64 formula is not within float32 rounding of a half."""
    levels = np.arange(0, 256, 3, dtype=np.float64)
    y, cb, cr = np.meshgrid(levels, levels, levels, indexing="ij")
    exact = np.stack([y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                      y + 1.772 * (cb - 128)], axis=-1)
    near_half = np.abs(exact - np.floor(exact) - 0.5) < 1e-3
    decoded = colour.ycbcr_to_rgb(np.stack([y, cb, cr]))
    assert np.array_equal(decoded[~near_half], round_and_clip(exact)[~near_half])
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).astype(np.uint8)
    np.testing.assert_allclose(colour.rgb_to_ycbcr(rgb), to_ycbcr(rgb), atol=1e-3)


@pytest.mark.parametrize(("size", "quarters"), [
    ((9, 13), None), ((5, 20), None), ((16, 7), None), ((11, 11), None),  # §12 step 3: any size
    ((5, 9), 5), ((6, 11), 6), ((9, 15), 8), ((14, 22), 12), ((24, 36), 20),  # §10 step 4: stride r / 4
])
def test_the_upsamplers_are_the_spec_formula(size, quarters):
    """resample.upsample_plane (version 3) and dctbase.upsample (version 2) against the spec's words."""
    coarse = np.random.default_rng(0).uniform(0, 255, (5, 7))
    if quarters is None:
        np.testing.assert_allclose(resample.upsample_plane(coarse, size), keys_plane(coarse, size), atol=1e-3)
    else:
        expected = keys_plane(coarse, size, (4, quarters))
        np.testing.assert_allclose(dctbase.upsample(coarse, size, quarters), expected, atol=1e-3)


def test_spec_upsampler_and_conversions_on_known_values():
    """The references above, on values worked out by hand from the spec's formulas."""
    assert keys_line(np.array([0.0, 0.0, 100.0, 0.0, 0.0]), 5).tolist() == [0, 0, 100, 0, 0]  # n = m: identity
    # Two samples to four: x = -0.25, 0.25, 0.75, 1.25; at x = 0.25 the taps -1, 0, 1, 2 weigh
    # w(1.25), w(0.25), w(0.75), w(1.75) = -0.0703125, 0.8671875, 0.2265625, -0.0234375, so
    # 64 · (0.2265625 − 0.0234375) = 13; the overshoot beyond 0 .. 64 is the kernel's negative lobe.
    np.testing.assert_allclose(keys_line(np.array([0.0, 64.0]), 4), [-4.5, 13.0, 51.0, 68.5])
    assert to_rgb(np.array([76.245]), np.array([84.972]), np.array([255.5])).tolist() == [[255, 0, 0]]
    np.testing.assert_allclose([p[0] for p in to_ycbcr(np.array([[0, 0, 255]]))], [29.07, 255.5, 107.26544])
    np.testing.assert_allclose(bilinear_double(np.array([[0.0, 8.0]]), (1, 4))[0], [0, 2, 6, 8])


# ---------------------------------------------------------------------------------------------
# The payload vectors of §6 and §7, and the encoder's output read by the spec's decoders

SPEC = VECTORS.parent / "abc.md"


def spec_vector_text(tag: str) -> str:
    text = SPEC.read_text()
    return " ".join(text.split(f"<!-- {tag} -->")[1].split("\n\n")[0].split())


def test_mask_vector_of_section_6_decodes_by_the_spec():
    text = spec_vector_text("mask vector")
    rows = re.search(r"top first, are `([01 ]+)`", text).group(1).split()
    mask = np.array([[bit == "1" for bit in row] for row in rows])
    payload = bytes.fromhex(re.search(r"payload `([0-9a-f ]+)`", text).group(1))
    np.testing.assert_array_equal(spec_mask(payload, *mask.shape), mask)
    assert maskcode.encode_mask(mask) == payload


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (41, 1), (24, 40), (65, 33)])
def test_the_encoders_masks_decode_by_the_spec(shape):
    """Passes long enough for chunks of 16, 32, 64 and 128 blocks (§6.2) and grids of every parity."""
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    i, j = np.mgrid[: shape[0], : shape[1]]
    mask = ((np.hypot(i - shape[0] / 3, j - shape[1] / 2) % 9 < 3) ^ (rng.random(shape) < 0.1))
    np.testing.assert_array_equal(spec_mask(maskcode.encode_mask(mask), *shape), mask)


def pixl_vector() -> tuple[np.ndarray, np.ndarray, dict, bytes]:
    """§7's test vector: the image, the mask, the HEAD fields it names, and the stream."""
    y, x, c = np.mgrid[0:4, 0:4, 0:3]
    image = ((37 * (12 * y + 3 * x + c) + 11) % 256).astype(np.uint8)
    head = dict(mode=3, width=4, height=4, block=2, shift=1, q_luma=4, q_chroma=8)
    stream = bytes.fromhex(re.search(r"has the stream `([0-9a-f ]+)`", spec_vector_text("pixl vector")).group(1))
    return image, np.array([[True, False], [False, True]]), head, stream


def spec_stream(image: np.ndarray, mask: np.ndarray, head: dict) -> bytes:
    """§7 steps 1-6 forwards: planes, 2×2 chroma means, nearest levels, prediction, zig-zag."""
    block, shift = head["block"], head["shift"]
    rows, cols = mask.shape
    padded = np.pad(image, ((0, rows * block - image.shape[0]), (0, cols * block - image.shape[1]), (0, 0)), "edge")
    planes = [(p, block, head["q_luma" if n == 0 else "q_chroma"]) for n, p in enumerate(to_ycbcr(padded))]
    if shift:
        planes[1:] = [(p.reshape(rows * block // 2, 2, cols * block // 2, 2).mean(axis=(1, 3)), block // 2, q)
                      for p, _, q in planes[1:]]
    out = []
    for plane, side, q in planes:
        count = (510 + q) // (2 * q) + 1
        levels = np.arange(count)
        previous_corner = count // 2
        for row, col in zip(*np.nonzero(mask)):
            values = plane[row * side : (row + 1) * side, col * side : (col + 1) * side]
            x = np.array([[levels[np.argmin(np.abs(np.minimum(levels * q, 255) - v))] for v in line] for line in values])
            for i in range(side):
                for j in range(side):
                    residual = (x[i, j] - predict(x, i, j, previous_corner)) % count
                    residual = residual - count if residual > (count - 1) // 2 else residual
                    out.append(2 * residual if residual >= 0 else -2 * residual - 1)
            previous_corner = x[0, 0]
    return bytes(out)


def test_pixl_vector_of_section_7_by_the_spec_both_ways():
    image, mask, head, stream = pixl_vector()
    assert spec_stream(image, mask, head) == stream
    payload = zstandard.ZstdCompressor(write_content_size=True).compress(stream)
    (luma, luma_known), (cb, _), (cr, _) = spec_canvas(payload, mask, head)
    assert luma[:2, :2].tolist() == [[40, 152], [200, 84]] and luma_known.sum() == 8
    assert (cb[0, 0], cb[1, 1], cr[0, 0], cr[1, 1]) == (120, 120, 112, 112)
    params = pixels.PixelParams(head["block"], head["q_luma"], head["q_chroma"], head["shift"])
    assert zstandard.ZstdDecompressor().decompress(pixels.pack_blocks(image, mask, params)) == stream
