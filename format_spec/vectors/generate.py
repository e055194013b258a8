"""Build the test vectors of format_spec/abc.md §9; ``--write`` regenerates the committed files.

Each valid vector is an .abc file plus the PNG that abcodec's own decoder makes of it with
inpainter 0 (§8 steps 1–7; the generative decoder's output is not covered by a tolerance): a
snapshot of the reference decoder, not an independent reference. What makes it a conformance
reference is tests/test_conformance.py, which decodes each vector again from the spec alone and
holds both the decoder and the PNG to §9's tolerances ("Conformance and tolerances"). Each
invalid vector is a file every decoder must refuse. Goldens change only by running this script,
never by hand, and tests/test_vectors.py checks the committed files against it.

    python format_spec/vectors/generate.py --write
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from abcodec import av1, base, container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.generative import assist, settings
from abcodec.maskcode import encode_mask
from abcodec.options import header_for
from abcodec.pixels import pack_blocks
from abcodec.reconstruct import pixel_params

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

DESCENT_STEPS = 10
"""Descent steps the assistant-statistics vector asks for (any count > 0 switches the terms on)."""

TOLERANCE = {"max_abs": 2, "mean_abs": 0.05}
"""§9. A conforming diffusion decoder's output may differ from the reference PNG by at most
max_abs per sample and mean_abs on average: the fill is a float solve stopped at 0.25 grey levels."""


def pattern(height: int, width: int, channels: int) -> np.ndarray:
    """A deterministic image with edges, texture and smooth parts, made from integers only."""
    y, x = np.mgrid[0:height, 0:width]
    planes = [
        np.where(x * 3 > width + y, 200, 40) + (x * y) % 17,
        (x * 255) // max(width - 1, 1),
        ((x // 3 + y // 2) % 2) * 180 + 30,
    ]
    image = np.clip(np.stack(planes[:channels], axis=-1), 0, 255).astype(np.uint8)
    return image[..., 0] if channels == 1 else image


CLASS_CODE = (281, 285, 282)
"""§11's class code vector: three ImageNet classes (tabby, Egyptian cat, tiger cat)."""


def gram_matrix(channels: int = 24) -> np.ndarray:
    """A symmetric positive semi-definite matrix from integers only: A Aᵀ / C for a fixed pattern A."""
    rows, cols = np.mgrid[0:channels, 0:channels]
    pattern_a = ((rows * 7 + cols * 3) % 11 - 5).astype(np.float64)
    return pattern_a @ pattern_a.T / channels


def valid_vectors() -> dict[str, tuple[bytes, str]]:
    """name -> (file bytes, what the vector exercises); the legacy vectors are listed in LEGACY."""
    diffusion = dict(inpainter="diffusion")
    grey = encode(pattern(5, 7, 1), options=EncodeOptions(
        **diffusion, blocks=BlockLayer(keep=0.4, block=1, chroma_shift=0, q_luma=1, scheme="random")))
    rgb = encode(pattern(12, 16, 3), options=EncodeOptions(
        **diffusion, blocks=BlockLayer(keep=0.5, block=4, q_luma=8, q_chroma=16, scheme="edge+random")))
    with_metadata = Image.fromarray(pattern(20, 33, 3))
    with_metadata.info["icc_profile"] = b"not a real profile, carried as is"
    exif = Image.Exif()
    exif[0x0112] = 3
    with_metadata.info["exif"] = exif.tobytes()
    with_metadata.info["xmp"] = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    with_metadata.info["dpi"] = (300, 150.5)
    centre = encode(with_metadata, options=EncodeOptions(
        **diffusion, blocks=BlockLayer(keep=0.3, block=2, q_luma=4, q_chroma=6, scheme="centre")))
    unknown_ancillary = insert_before_mask(centre, container.pack_chunk(b"zzTx", b"an unknown ancillary chunk"))
    return {
        "grey-7x5-pixels": (grey, "mode L, B = 1 (random pixels), q = 1: kept pixels exact"),
        "rgb-16x12-blocks": (rgb, "RGB, B = 4, chroma shift 1, edge+random blocks"),
        "rgb-33x20-centre-metadata": (
            unknown_ancillary,
            "RGB, odd size (overhanging blocks), B = 2, centre square, iccp + exif + xmpd + phys + an unknown "
            "ancillary chunk to skip",
        ),
        "rgba-24x20-av1-alpha": (av1_with_alpha(), "RGBA: an AV1 BASE and the alpha plane in ALPH (§13)"),
        "grey-16x9-av1": (av1_file(pattern(9, 16, 1), AV1_FULL), "mode L, BASE only: a 4:0:0 AV1 frame of the image's size"),
        "rgb-33x20-av1-shrunk": (av1_file(pattern(20, 33, 3), AV1_SHRUNK),
                                 "RGB, BASE only: a 4:2:0 AV1 frame of 16x10, upsampled to 33x20 (§12 step 3)"),
        "rgb-24x20-av1-blocks": (av1_with_blocks(), "RGB, an AV1 BASE plus kept 4x4 blocks blended into it (§8 step 7)"),
        "rgb-128x64-av1-roi": (
            encode(pattern(64, 128, 3), options=EncodeOptions(quality=60, inpainter="diffusion"), roi=["0,0,64,64"]),
            "RGB, BASE only: an AV1 frame coded with --roi on its left half, libaom's rate guide setting "
            "each superblock's quantizer (delta_q, §12)",
        ),
        "v1-grey-7x5-pixels": (as_version_1(grey), "grey-7x5-pixels written as version 1: older files still decode"),
        "rgb-24x20-av1-assist": (
            av1_with_statistics(), "inpainter 1 with DSCT (§3.1), clas and gram (§11), which steps 1-7 skip",
        ),
    }


LEGACY = {
    "grey-16x9-base": "version 2, mode L, a DCT BASE only (§10, stride 2), no kept block",
    "rgb-24x20-base-blocks": "version 2, RGB, a DCT BASE (stride 3, chroma stride 6) plus kept 4x4 blocks blended into it",
    "rgb-24x20-base-assist": "version 2, inpainter 1 with clas and gram in a version 2 HEAD",
}
"""Vectors of format 2 that abcodec 0.3 made and this generator no longer can (its encoder writes
version 3): kept as they are, so that every decoder keeps reading the files in the wild."""

AV1_FULL = (1.0, 40)
AV1_SHRUNK = (2.0, 40)
"""(shrink factor of the frame, quantizer): the AV1 frames of the base-layer vectors, made by the
reference encoder's AV1 coder directly rather than by its rate search."""


def av1_file(image: np.ndarray, frame: tuple[int, int], blocks: np.ndarray | None = None,
             options: EncodeOptions | None = None, chunks: dict[bytes, bytes] | None = None) -> bytes:
    """A version 3 file whose BASE is ``image`` coded by AV1 at (shrink, quantizer), optionally with
    the kept blocks of ``blocks`` (a mask) on top; written through the container, not the rate search."""
    options = options or EncodeOptions(inpainter="diffusion", blocks=BlockLayer(q_luma=8, q_chroma=16) if blocks is not None else None)
    height, width = image.shape[:2]
    mode = container.MODE_RGB if image.ndim == 3 else container.MODE_L
    header = header_for(options, width=width, height=height, mode=mode)
    shrink, quantizer = frame
    size = base.frame_size((width, height), shrink)
    coarse = image if size == (width, height) else np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    payload = av1.encode(coarse, quantizer, base.DEFAULT_SPEED, base.ENCODER_THREADS)
    mask = None if blocks is None else encode_mask(blocks)
    pixels = None if blocks is None else pack_blocks(image, blocks, pixel_params(header))
    return container.write_file(container.AbcFile(header, mask, pixels, chunks or {}, payload))


def av1_with_alpha() -> bytes:
    """An RGBA pattern through the encoder's API: a soft-edged alpha (0 to 255 across a ramp) and a
    fully transparent corner, whose colour the encoder fills."""
    rgb = pattern(20, 24, 3)
    y, x = np.mgrid[0:20, 0:24]
    alpha = np.clip((x * 32 - y * 8), 0, 255).astype(np.uint8)
    image = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    return encode(image, options=EncodeOptions(bpp=8, inpainter="diffusion"))


def av1_with_blocks() -> bytes:
    """An AV1 base with every third 4×4 block kept on top (the encoder's API has no such layout)."""
    image = pattern(20, 24, 3)
    grid = container.grid_shape(20, 24, 4)
    mask = (np.arange(grid[0] * grid[1]) % 3 == 0).reshape(grid)
    return av1_file(image, AV1_FULL, blocks=mask)


def av1_with_statistics() -> bytes:
    """An AV1-base file for the generative decoder with DSCT and both assistant chunks, their values
    fixed here rather than measured, so that the vector does not depend on the networks' arithmetic.
    It names the first generator the package shipped (abcodec 0.4's, which it keeps), whatever the
    encoder names now: a file of an older release that must keep decoding."""
    options = EncodeOptions(steps=DESCENT_STEPS, assist=tuple(assist.KINDS))
    chunks = {container.CHUNK_CLAS: assist.pack_class_code(np.array(CLASS_CODE)),
              container.CHUNK_GRAM: assist.pack_gram(gram_matrix())}
    abc = container.read_file(av1_file(pattern(20, 24, 3), AV1_FULL, options=options, chunks=chunks))
    first = settings.GENERATORS[0].sha256()[: len(abc.header.generator)]
    return container.write_file(dataclasses.replace(abc, header=dataclasses.replace(abc.header, generator=first)))


def as_version_1(data: bytes) -> bytes:
    """The same file with a version 1 HEAD (86 bytes, the whole generator hash, zero here)."""
    abc = container.read_file(data)
    header = dataclasses.replace(abc.header, version=1, generator=bytes(container.GENERATOR_HASH_SIZE))
    return container.write_file(dataclasses.replace(abc, header=header))


def insert_before_mask(data: bytes, chunk: bytes) -> bytes:
    """Put a chunk right before MASK, where a writer's ancillary chunks go."""
    at = data.index(container.CHUNK_MASK) - 4
    return data[:at] + chunk + data[at:]


def invalid_vectors(valid: dict[str, tuple[bytes, str]]) -> dict[str, tuple[bytes, str]]:
    """name -> (file bytes, why a decoder must refuse it)."""
    good = valid["rgb-16x12-blocks"][0]
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01
    unknown_critical = insert_before_mask(good, container.pack_chunk(b"ZZTX", b""))
    blocks = container.read_file(good)
    av1_rgb = container.read_file(valid["rgb-33x20-av1-shrunk"][0])
    small_head = dataclasses.replace(av1_rgb.header, width=16, height=9)
    return {
        "bad-crc": (bytes(flipped), "one bit flipped in the middle: a CRC-32 mismatch"),
        "bad-truncated": (good[:-12], "AEND missing"),
        "bad-unknown-critical": (unknown_critical, "critical chunk ZZTX that no version defines"),
        "bad-base-in-version-1": (as_version_1_unchecked((HERE / "grey-16x9-base.abc").read_bytes()),
                                  "BASE in a version 1 file"),
        "bad-pixl-without-mask": (container.write_file(dataclasses.replace(blocks, base=b"")).replace(
            container.pack_chunk(container.CHUNK_MASK, blocks.mask), b""), "version 3: PIXL without MASK"),
        "bad-av1-larger-than-head": (container.write_file(dataclasses.replace(av1_rgb, header=small_head)),
                                     "a 16x10 AV1 frame in the BASE of a 16x9 image"),
        "bad-av1-grey-for-rgb": (container.write_file(dataclasses.replace(
            av1_rgb, base=container.read_file(valid["grey-16x9-av1"][0]).base)), "a 4:0:0 AV1 frame for an RGB image"),
        "bad-av1-frame-larger-than-head": (frame_larger_than_its_sequence_header(),
                                           "a 64x36 AV1 frame (frame_size_override_flag) behind a sequence header "
                                           "declaring the image's 16x9"),
    }


def frame_larger_than_its_sequence_header() -> bytes:
    """A 16×9 grey image whose AV1 sequence header declares 16×9, while its frame header sets
    frame_size_override_flag and codes a 64×36 frame, the tiles of one (§12 step 1): dav1d decodes
    it whole, so only a decoder that reads the frame header refuses it. The headers are written
    by fuzz/av1_streams.py, from the AV1 spec."""
    from fuzz import av1_streams  # the repository's root is on sys.path (pytest's, or main's)

    image = pattern(36, 64, 1)
    stream = av1_streams.still_picture(av1.encode(image, AV1_FULL[1], base.DEFAULT_SPEED, base.ENCODER_THREADS),
                                       max_size=(16, 9), frame_size=(64, 36))
    header = header_for(EncodeOptions(inpainter="diffusion"), width=16, height=9, mode=container.MODE_L)
    return container.write_file(container.AbcFile(header, None, None, {}, stream))


def as_version_1_unchecked(data: bytes) -> bytes:
    """Set the version byte to 1 and re-seal HEAD's CRC; the reader must then refuse BASE."""
    abc_head = len(container.SIGNATURE) + 8
    size = container.HEAD_SIZES[2]
    payload = b"\x01" + data[abc_head + 1 : abc_head + size]
    return data[: len(container.SIGNATURE)] + container.pack_chunk(container.CHUNK_HEAD, payload) + data[
        abc_head + size + 4 :]


def reference_png(data: bytes) -> bytes:
    """Our decoder's fast decode as PNG bytes (module docstring: a snapshot, checked against the spec)."""
    buffer = io.BytesIO()
    decode(data, inpainter="diffusion").save(buffer, format="PNG")
    return buffer.getvalue()


def manifest(valid: dict[str, tuple[bytes, str]], invalid: dict[str, tuple[bytes, str]]) -> dict:
    return {
        "tolerance": TOLERANCE,
        "made_with": made_with(),
        "valid": {name: {"file": f"{name}.abc", "expected": f"{name}.png", "about": about}
                  for name, (_, about) in valid.items()},
        "legacy": {name: {"file": f"{name}.abc", "expected": f"{name}.png", "about": about}
                   for name, about in LEGACY.items()},
        "invalid": {name: {"file": f"{name}.abc", "about": about} for name, (_, about) in invalid.items()},
    }


def made_with() -> str:
    """The AV1 encoder behind the base-layer vectors: its bytes are the encoder's choice, not the
    format's, so only the same libavif and libaom remake them bit for bit."""
    from PIL import _avif

    return f"libavif {_avif.libavif_version}, {_avif.codec_versions()}"


def write(folder: Path) -> None:
    valid = valid_vectors()
    invalid = invalid_vectors(valid)
    for name, (data, _) in valid.items():
        (folder / f"{name}.abc").write_bytes(data)
        (folder / f"{name}.png").write_bytes(reference_png(data))
    for name, (data, _) in invalid.items():
        (folder / f"{name}.abc").write_bytes(data)
    (folder / "vectors.json").write_text(json.dumps(manifest(valid, invalid), indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="overwrite the committed vectors in this folder")
    args = parser.parse_args(argv)
    if not args.write:
        parser.print_help()
        return 2
    sys.path.insert(0, str(ROOT))  # for fuzz.av1_streams
    write(HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
