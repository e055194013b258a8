"""Build the test vectors of format_spec/abc.md §9; ``--write`` regenerates the committed files.

Each valid vector is an .abc file plus the PNG a reference decoder produces from it with
inpainter 0 (§8 steps 1–7; the generative decoder's output is not covered by a tolerance);
each invalid vector is a file every decoder must refuse. Goldens change only by running
this script, never by hand, and tests/test_vectors.py checks the committed files against it.

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

from abcodec import assist, base, container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.maskcode import encode_mask
from abcodec.options import header_for
from abcodec.pixels import pack_blocks
from abcodec.reconstruct import pixel_params

HERE = Path(__file__).resolve().parent

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
    """name -> (file bytes, what the vector exercises)."""
    grey = encode(pattern(5, 7, 1), options=EncodeOptions(inpainter="diffusion", blocks=BlockLayer(keep=0.4, block=1, chroma_shift=0, q_luma=1, scheme="random")))
    rgb = encode(pattern(12, 16, 3), options=EncodeOptions(inpainter="diffusion", blocks=BlockLayer(keep=0.5, block=4, q_luma=8, q_chroma=16, scheme="edge+random")))
    with_metadata = Image.fromarray(pattern(20, 33, 3))
    with_metadata.info["icc_profile"] = b"not a real profile, carried as is"
    exif = Image.Exif()
    exif[0x0112] = 3
    with_metadata.info["exif"] = exif.tobytes()
    centre = encode(with_metadata, options=EncodeOptions(inpainter="diffusion", blocks=BlockLayer(keep=0.3, block=2, q_luma=4, q_chroma=6, scheme="centre")))
    unknown_ancillary = insert_before_mask(centre, container.pack_chunk(b"zzTx", b"an unknown ancillary chunk"))
    grey_base = encode(pattern(9, 16, 1), options=EncodeOptions(bpp=16, base_stride=2, inpainter="diffusion"))
    return {
        "grey-7x5-pixels": (grey, "mode L, B = 1 (random pixels), q = 1: kept pixels exact"),
        "rgb-16x12-blocks": (rgb, "RGB, B = 4, chroma shift 1, edge+random blocks"),
        "rgb-33x20-centre-metadata": (
            unknown_ancillary,
            "RGB, odd size (overhanging blocks), B = 2, centre square, iccp + exif + an unknown ancillary chunk to skip",
        ),
        "grey-16x9-base": (grey_base, "mode L, BASE only (stride 2), no kept block"),
        "rgb-24x20-base-blocks": (
            base_with_blocks(), "RGB, BASE (stride 3, chroma stride 6) plus kept 4x4 blocks blended into it",
        ),
        "v1-grey-7x5-pixels": (as_version_1(grey), "grey-7x5-pixels written as version 1: older files still decode"),
        "rgb-24x20-base-assist": (
            base_with_statistics(), "inpainter 1 with clas and gram (§11), which steps 1-7 skip",
        ),
    }


def base_with_statistics() -> bytes:
    """A base-layer file for the generative decoder with both assistant chunks, their values fixed
    here rather than measured, so that the vector does not depend on the networks' arithmetic."""
    image = pattern(20, 24, 3)
    options = EncodeOptions(steps=DESCENT_STEPS, assist=tuple(assist.KINDS))
    header = header_for(options, width=24, height=20, mode=container.MODE_RGB)
    mask = np.zeros(header.grid_shape, bool)
    chunks = {container.CHUNK_CLAS: assist.pack_class_code(np.array(CLASS_CODE)),
              container.CHUNK_GRAM: assist.pack_gram(gram_matrix())}
    pixels = pack_blocks(image, mask, pixel_params(header))
    payload = base.encode_base(image, 200, stride=3)
    return container.write_file(container.AbcFile(header, encode_mask(mask), pixels, chunks, payload))


def base_with_blocks() -> bytes:
    """A base layer with every third 4×4 block kept on top (the encoder's API has no such layout yet)."""
    image = pattern(20, 24, 3)
    header = header_for(EncodeOptions(inpainter="diffusion", blocks=BlockLayer(q_luma=8, q_chroma=16)), width=24, height=20,
                        mode=container.MODE_RGB)
    mask = (np.arange(np.prod(header.grid_shape)) % 3 == 0).reshape(header.grid_shape)
    payload = base.encode_base(image, 200, stride=3)
    pixels = pack_blocks(image, mask, pixel_params(header))
    return container.write_file(container.AbcFile(header, encode_mask(mask), pixels, {}, payload))


def as_version_1(data: bytes) -> bytes:
    abc = container.read_file(data)
    return container.write_file(dataclasses.replace(abc, header=dataclasses.replace(abc.header, version=1)))


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
    return {
        "bad-crc": (bytes(flipped), "one bit flipped in the middle: a CRC-32 mismatch"),
        "bad-truncated": (good[:-12], "AEND missing"),
        "bad-unknown-critical": (unknown_critical, "critical chunk ZZTX that no version defines"),
        "bad-base-in-version-1": (as_version_1_unchecked(valid["grey-16x9-base"][0]), "BASE in a version 1 file"),
    }


def as_version_1_unchecked(data: bytes) -> bytes:
    """Set the version byte to 1 and re-seal HEAD's CRC; the reader must then refuse BASE."""
    abc_head = len(container.SIGNATURE) + 8
    payload = b"\x01" + data[abc_head + 1 : abc_head + container.HEAD_SIZE]
    return data[: len(container.SIGNATURE)] + container.pack_chunk(container.CHUNK_HEAD, payload) + data[
        abc_head + container.HEAD_SIZE + 4 :]


def reference_png(data: bytes) -> bytes:
    buffer = io.BytesIO()
    decode(data, inpainter="diffusion").save(buffer, format="PNG")
    return buffer.getvalue()


def manifest(valid: dict[str, tuple[bytes, str]], invalid: dict[str, tuple[bytes, str]]) -> dict:
    return {
        "tolerance": TOLERANCE,
        "valid": {name: {"file": f"{name}.abc", "expected": f"{name}.png", "about": about}
                  for name, (_, about) in valid.items()},
        "invalid": {name: {"file": f"{name}.abc", "about": about} for name, (_, about) in invalid.items()},
    }


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
    write(HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
