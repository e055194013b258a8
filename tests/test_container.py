import io
import struct
import zlib

import pytest

from abcodec import container
from abcodec.container import AbcError, AbcFile, Header

HEAD_SIZE = 20
"""§3: the HEAD payload of version 3, the version written."""


def small_header(**changes) -> Header:
    fields = dict(width=5, height=3, mode=container.MODE_RGB, block=2, q_luma=4, q_chroma=8, chroma_shift=1)
    return Header(**{**fields, **changes})


def small_file(**ancillary: bytes) -> bytes:
    chunks = {name.encode(): payload for name, payload in ancillary.items()}
    return container.write_file(AbcFile(small_header(), b"\x01\x02\x03\x04", b"pixels", chunks))


@pytest.mark.parametrize("version", [2, 3])
def test_round_trip_keeps_every_field(version):
    header = small_header(scheme=2, inpainter=1, steps=300, noise_seed=12345, params=(1.0, 0.5, 0.25, 0, 0, 0, 0, 3.0),
                          generator=bytes(range(container.GENERATOR_ID_SIZE[version])), version=version)
    data = container.write_file(AbcFile(header, b"mask", b"pix", {b"iccp": b"profile", b"exif": b"II*\x00"}))
    parsed = container.read_file(data)
    assert parsed.header == header
    assert (parsed.mask, parsed.pixels) == (b"mask", b"pix")
    assert parsed.ancillary == {b"iccp": b"profile", b"exif": b"II*\x00"}
    names = [name for name, _ in container.chunk_sizes(data)]
    assert ("DSCT" in names) == (version == 3)


def test_version_3_head_is_20_bytes_and_the_descent_has_its_own_chunk():
    assert container.HEAD_SIZES == {1: 86, 2: 86, 3: 20} and container.DSCT_SIZE == 38
    plain = small_header(inpainter=1, generator=bytes(range(8)))
    data = container.write_file(AbcFile(plain, None, None, {}, b"av1"))
    assert [name for name, _ in container.chunk_sizes(data)] == ["signature", "HEAD", "BASE", "AEND"]
    assert len(data) == 8 + 32 + 15 + 12
    parsed = container.read_file(data)
    assert parsed.header == plain and parsed.mask is None and parsed.pixels is None and parsed.base == b"av1"


def test_version_3_rules_for_the_layers_and_the_descent():
    head = container.SIGNATURE + container.pack_chunk(b"HEAD", container.pack_header(small_header()))
    end = container.pack_chunk(b"AEND", b"")
    with pytest.raises(AbcError, match="no BASE \\(or MASK and PIXL\\) chunk"):
        container.read_file(head + end)
    with pytest.raises(AbcError, match="no PIXL chunk"):
        container.read_file(head + container.pack_chunk(b"MASK", b"") + end)
    descent = container.pack_chunk(b"DSCT", container.pack_descent(small_header(steps=3, inpainter=1)))
    with pytest.raises(AbcError, match="DSCT: descent settings in a file for inpainter 0"):
        container.read_file(head + descent + container.pack_chunk(b"BASE", b"x") + end)
    ppgn = container.SIGNATURE + container.pack_chunk(b"HEAD", container.pack_header(small_header(inpainter=1)))
    for payload, message in ((b"short", "DSCT: payload is 5 bytes, expected 38"),
                             (bytes(38), "DSCT: 0 steps"),
                             (struct.pack(">HI8f", 10001, 0, *[0.0] * 8), "steps 10001"),
                             (struct.pack(">HI8f", 1, 0, float("nan"), *[0.0] * 7), "decoder parameter 0 is nan")):
        with pytest.raises(AbcError, match=message):
            container.read_file(ppgn + container.pack_chunk(b"DSCT", payload) + container.pack_chunk(b"BASE", b"x") + end)
    version_2 = container.SIGNATURE + container.pack_chunk(b"HEAD", container.pack_header(small_header(version=2)))
    with pytest.raises(AbcError, match="DSCT chunk needs format version 3, the file says 2"):
        container.read_file(version_2 + descent + end)


def test_file_size_is_the_sum_of_its_chunks():
    data = small_file(exif=b"0123456789")
    sizes = container.chunk_sizes(data)
    assert [name for name, _ in sizes] == ["signature", "HEAD", "exif", "MASK", "PIXL", "AEND"]
    assert sum(size for _, size in sizes) == len(data)
    assert dict(sizes)["HEAD"] == HEAD_SIZE + container.CHUNK_OVERHEAD


def test_header_alone_reads_from_the_prefix():
    data = small_file()
    head_end = len(container.SIGNATURE) + container.CHUNK_OVERHEAD + HEAD_SIZE
    assert container.read_header(data[:head_end]) == small_header()
    with pytest.raises(AbcError, match="truncated"):
        container.read_header(data[: head_end - 1])


def test_streams_are_read_no_further_than_the_header_allows():
    data = small_file()
    assert container.read_stream(io.BytesIO(data)) == data
    assert container.read_stream(io.BytesIO(data[8:]), data[:8]) == data
    header = small_header()
    limit = container.max_file_size(header)
    assert limit < 64 * 1024 * 1024
    with pytest.raises(AbcError, match=f"photo.abc: longer than any .abc file of a 5x3 image can be \\({limit}"):
        container.read_stream(io.BytesIO(data + bytes(limit)), source="photo.abc")

    class Endless(io.RawIOBase):
        def readinto(self, buffer):
            buffer[:] = bytes(len(buffer))
            return len(buffer)

    with pytest.raises(AbcError, match="signature"):
        container.read_stream(Endless())


def test_params_are_stored_as_float32():
    header = small_header(params=(0.1,) * container.N_DECODER_PARAMS, version=2)
    assert container.unpack_header(container.pack_header(header)) == header
    assert header.params[0] == struct.unpack(">f", struct.pack(">f", 0.1))[0]


@pytest.mark.parametrize("cut", range(len(small_file(exif=b"xy"))))
def test_every_truncation_is_an_abc_error(cut):
    with pytest.raises(AbcError):
        container.read_file(small_file(exif=b"xy")[:cut])


@pytest.mark.parametrize("position", range(len(small_file(exif=b"xy"))))
def test_every_single_byte_flip_is_an_abc_error(position):
    data = bytearray(small_file(exif=b"xy"))
    for flip in (0x01, 0x20, 0x80, 0xFF):
        damaged = bytearray(data)
        damaged[position] ^= flip
        with pytest.raises(AbcError):
            container.read_file(bytes(damaged))


def test_trailing_bytes_after_aend_are_refused():
    with pytest.raises(AbcError, match="too few for a chunk"):
        container.read_file(small_file() + b"\x00")
    with pytest.raises(AbcError, match="after AEND"):
        container.read_file(small_file() + container.pack_chunk(b"exif", b""))


def insert_before_mask(data: bytes, chunk: bytes) -> bytes:
    at = len(container.SIGNATURE) + HEAD_SIZE + container.CHUNK_OVERHEAD
    return data[:at] + chunk + data[at:]


def test_unknown_ancillary_chunk_is_skipped():
    parsed = container.read_file(insert_before_mask(small_file(), container.pack_chunk(b"zzTx", b"hello")))
    assert parsed.ancillary == {}
    assert parsed.mask == b"\x01\x02\x03\x04"


def test_unknown_critical_chunk_is_an_error():
    with pytest.raises(AbcError, match="unknown critical chunk ZZTX"):
        container.read_file(insert_before_mask(small_file(), container.pack_chunk(b"ZZTX", b"")))


def test_duplicate_and_missing_chunks_are_errors():
    with pytest.raises(AbcError, match="duplicate MASK"):
        container.read_file(insert_before_mask(small_file(), container.pack_chunk(b"MASK", b"")))
    no_pixels = container.SIGNATURE + container.pack_chunk(b"HEAD", container.pack_header(small_header()))
    no_pixels += container.pack_chunk(b"MASK", b"") + container.pack_chunk(b"AEND", b"")
    with pytest.raises(AbcError, match="no PIXL chunk"):
        container.read_file(no_pixels)


@pytest.mark.parametrize("read", [container.read_file, lambda data: container.read_stream(io.BytesIO(data))],
                         ids=["read_file", "read_stream"])
def test_head_must_come_first(read):
    # A first chunk longer than any HEAD: read_stream reads only a HEAD's worth of it, and must
    # still name the order, not call the file truncated.
    first = container.pack_chunk(b"BASE", bytes(container.MAX_HEAD_SIZE + 100))
    data = container.SIGNATURE + first + small_file()[len(container.SIGNATURE):]
    with pytest.raises(AbcError, match="^first chunk is BASE, expected HEAD$"):
        read(data)


def test_a_second_head_is_named():
    head = container.pack_chunk(b"HEAD", container.pack_header(small_header()))
    with pytest.raises(AbcError, match="^duplicate HEAD chunk"):
        container.read_file(insert_before_mask(small_file(), head))


def test_chunk_count_is_bounded():
    many = b"".join(container.pack_chunk(b"zzTx", b"") for _ in range(container.MAX_CHUNKS))
    with pytest.raises(AbcError, match="more than"):
        container.read_file(insert_before_mask(small_file(), many))


def test_huge_claimed_length_is_refused_without_allocation():
    head = container.pack_chunk(b"HEAD", container.pack_header(small_header()))
    data = container.SIGNATURE + head + struct.pack(">I4s", 0xFFFFFFF0, b"MASK") + b"\x00" * 8
    with pytest.raises(AbcError, match="claims 4294967280 bytes"):
        container.read_file(data)


def resealed_head(payload: bytes) -> bytes:
    return container.SIGNATURE + container.pack_chunk(b"HEAD", payload)


@pytest.mark.parametrize(
    ("version", "offset", "value", "message"),
    [
        (3, 0, b"\x04", "format version 4"),
        (3, 0, b"\x00", "format version 0"),
        (3, 1, b"\x04", "mode 4"),
        (3, 2, struct.pack(">H", 0), "width 0"),
        (3, 4, struct.pack(">H", container.MAX_SIDE + 1), "height 32769"),
        (3, 6, b"\x00", "block size 0"),
        (3, 6, b"\x41", "block size 65"),
        (3, 8, b"\x00", "luma quantiser 0"),
        (3, 10, b"\x02", "chroma shift 2"),
        (3, 11, b"\x07", "inpainter id 7"),
        (2, 2, struct.pack(">I", 0), "width 0"),
        (2, 16, struct.pack(">H", container.MAX_STEPS + 1), "steps 10001"),
        (2, 22, struct.pack(">f", float("nan")), "decoder parameter 0 is nan"),
        (2, 26, struct.pack(">f", -1.0), "decoder parameter 1 is -1.0"),
    ],
)
def test_header_fields_are_validated(version, offset, value, message):
    """At the offsets of §3's tables: version 3's, and those of the 86-byte HEAD of versions 1 and 2."""
    payload = bytearray(container.pack_header(small_header(version=version)))
    payload[offset : offset + len(value)] = value
    with pytest.raises(AbcError, match=message):
        container.read_header(resealed_head(bytes(payload)))


def test_pixel_count_is_checked_by_division():
    with pytest.raises(AbcError, match="pixel limit"):
        small_header(width=container.MAX_SIDE, height=container.MAX_SIDE)
    assert small_header(width=container.MAX_SIDE, height=container.MAX_PIXELS // container.MAX_SIDE).height == 2048


def test_odd_block_with_chroma_shift_is_refused():
    with pytest.raises(AbcError, match="even block size"):
        small_header(block=3)


def test_newer_version_is_named_not_called_truncated():
    payload = b"\x04" + bytes(HEAD_SIZE + 10)
    with pytest.raises(AbcError, match="format version 4 is not supported"):
        container.read_header(resealed_head(payload))


def _with_base(version: int) -> bytes:
    return container.write_file(container.AbcFile(small_header(version=version), b"", b"", {}, b"base payload"))


def test_base_chunk_is_read_in_version_2_and_refused_in_version_1():
    abc = container.read_file(_with_base(2))
    assert abc.base == b"base payload"
    with pytest.raises(AbcError, match="BASE chunk needs format version 2, the file says 1"):
        container.read_file(_with_base(1))


def test_version_1_files_without_base_still_parse():
    abc = container.read_file(container.write_file(container.AbcFile(small_header(version=1), b"m", b"p")))
    assert abc.header.version == 1 and abc.base is None and abc.mask == b"m"


def test_base_chunk_is_written_before_mask_and_only_once():
    data = _with_base(2)
    names = [name for name, _ in container.chunk_sizes(data)]
    assert names == ["signature", "HEAD", "BASE", "MASK", "PIXL", "AEND"]
    with pytest.raises(AbcError, match="duplicate BASE"):
        container.read_file(data[:-12] + container.pack_chunk(b"BASE", b"again") + data[-12:])


def test_crc_covers_the_type():
    chunk = container.pack_chunk(b"MASK", b"abc")
    assert struct.unpack(">I", chunk[-4:])[0] == zlib.crc32(b"MASKabc")


def test_grid_shape_rounds_up():
    assert small_header(width=5, height=3, block=2).grid_shape == (2, 3)
    assert small_header(width=1, height=1, block=64, chroma_shift=0).grid_shape == (1, 1)
