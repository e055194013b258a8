"""The seed corpus: small valid .abc files covering every header option and chunk kind.

``python -m fuzz.seeds`` lists what it would write; ``--write`` (re)writes ``fuzz/seeds/``.
Each file is a few hundred bytes, so that the fuzzer's mutations stay cheap to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from abcodec import container
from abcodec.codec import BlockLayer, EncodeOptions, encode

SEED_DIR = Path(__file__).parent / "seeds"

LEGACY_SEEDS = ("grey-16x9-base", "rgb-40x24-base-assist")
"""Version 2 files with a DCT base layer, made by abcodec 0.3's encoder and kept in the corpus as
they are: the decoder still reads them, and the encoder no longer writes them."""

ICC = b"\x00\x00\x00\x30fake-icc-profile" + bytes(32)
EXIF = b"II*\x00\x08\x00\x00\x00\x00\x00"


def picture(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """Smooth gradients with noise: some structure for the edge scheme, some entropy for zstd; with
    ``channels`` 4, an alpha plane that hides the left third and ramps down the rest."""
    y, x = np.mgrid[0:height, 0:width]
    noise = np.random.default_rng(seed).integers(0, 40, (height, width, 3))
    planes = np.stack([x * 9 + y * 2, x * y, 128 + 100 * np.sin(x / 3.0 + y / 5.0)], axis=-1) + noise
    image = (planes % 256).astype(np.uint8)
    if channels == 4:
        return np.dstack([image, np.where(x < width // 3, 0, np.minimum(255, y * 40)).astype(np.uint8)])
    return image[..., 0] if channels == 1 else image


SEEDS = {
    "grey-1x1": ((1, 1, 1), EncodeOptions(blocks=BlockLayer(keep=1, block=1, chroma_shift=0)), {}),
    "grey-7x5-pixels": ((5, 7, 1), EncodeOptions(blocks=BlockLayer(keep=0.5, block=1, q_luma=1, scheme="random", chroma_shift=0)), {}),
    "grey-64x3-block3": ((3, 64, 1), EncodeOptions(blocks=BlockLayer(keep=0.5, block=3, chroma_shift=0, scheme="edge")), {}),
    "grey-9x50-block2": ((50, 9, 1), EncodeOptions(blocks=BlockLayer(keep=0.7, block=2, q_luma=17, scheme="random")), {}),
    "grey-40x40-block64": ((40, 40, 1), EncodeOptions(blocks=BlockLayer(keep=1, block=64, q_luma=64)), {}),
    "rgb-16x12-blocks": ((12, 16, 3), EncodeOptions(blocks=BlockLayer(keep=0.4)), {}),
    "rgb-20x20-block8": ((20, 20, 3), EncodeOptions(blocks=BlockLayer(keep=0.3, block=8, chroma_shift=0, scheme="random")), {}),
    "rgb-24x24-nothing-kept": ((24, 24, 3), EncodeOptions(blocks=BlockLayer(keep=0)), {}),
    "rgb-12x12-all-kept": ((12, 12, 3), EncodeOptions(blocks=BlockLayer(keep=1, q_luma=48, q_chroma=64)), {}),
    "rgb-30x17-block6-coarse": ((17, 30, 3), EncodeOptions(blocks=BlockLayer(keep=0.5, block=6, q_luma=255, q_chroma=255)), {}),
    "rgb-33x20-centre-metadata": (
        (20, 33, 3), EncodeOptions(blocks=BlockLayer(keep=0.3, block=2, scheme="centre", q_luma=64, q_chroma=96)),
        {container.CHUNK_ICCP: ICC, container.CHUNK_EXIF: EXIF, b"zzTx": b"skip me"},
    ),
    "rgb-64x48-bpp": ((48, 64, 3), EncodeOptions(bpp=0.5, blocks=BlockLayer(q_luma=32)), {}),
    "grey-16x9-av1": ((9, 16, 1), EncodeOptions(bpp=16), {}),
    "rgb-40x24-av1": ((24, 40, 3), EncodeOptions(bpp=2), {}),
    # The descent with its class and style losses on: the fuzzer's warm-up loads the classifier
    # through this seed, so the first mutated input to need it is not blamed for its 300 MB.
    "rgb-40x24-av1-assist": ((24, 40, 3), EncodeOptions(bpp=4, steps=1, assist="class,style"), {}),
    "rgba-24x16-av1-alpha-xmp": (
        (16, 24, 4), EncodeOptions(bpp=3),
        {container.CHUNK_XMPD: b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", container.CHUNK_PHYS: bytes.fromhex("000465d0000465d0")},
    ),
}
"""name: ((height, width, channels), options, ancillary chunks)."""


def ppgn_seed() -> bytes:
    """A file made for the generative decoder (inpainter 1, steps, params, weights hash)."""
    abc = container.read_file(seed_bytes("rgb-16x12-blocks"))
    fields = {**abc.header.__dict__, "inpainter": container.INPAINTER_PPGN, "steps": 200, "noise_seed": 7,
              "params": (1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0), "generator": bytes(range(container.GENERATOR_ID_SIZE[container.VERSION]))}
    return container.write_file(container.AbcFile(container.Header(**fields), abc.mask, abc.pixels))


def seed_bytes(name: str) -> bytes:
    if name == "rgb-16x12-ppgn":
        return ppgn_seed()
    (height, width, channels), options, ancillary = SEEDS[name]
    abc = container.read_file(encode(picture(height, width, channels, seed=len(name)), options=options))
    return container.write_file(dataclasses.replace(abc, ancillary=abc.ancillary | ancillary))


def all_seeds() -> dict[str, bytes]:
    return {name: seed_bytes(name) for name in [*SEEDS, "rgb-16x12-ppgn"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.seeds", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write the files into {SEED_DIR}")
    args = parser.parse_args(argv)
    for name, data in all_seeds().items():
        print(f"{name}.abc {len(data)} bytes")
        if args.write:
            SEED_DIR.mkdir(exist_ok=True)
            (SEED_DIR / f"{name}.abc").write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
