"""python -m abcodec.demo: the README's first command — encode and decode a sample, compare with JPEG and AVIF.

Writes sample.png (the sample that ships with the package: NASA's portrait of the astronaut Eileen
Collins, public domain, 320×320), sample.abc and sample-decoded.png into the output folder and prints
bytes, bpp, SSIM, and JPEG's and AVIF's SSIM at no more bytes, so a new user sees at once
what the codec does and how it compares. It then encodes the sample again with ``--importance auto``
(sample-auto.abc) and prints every file's SSIM over the part of the image the saliency model ranks
first (``salient``), where the bytes went. SSIM is abcodec.ssim's copy of scikit-image's, so the demo
needs neither scikit-image nor torch. The comparison helpers serve benchmarks/ too.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from . import cli
from .ssim import ssim

SAMPLE_FILE = "samples/astronaut.png"
"""The demo's image, inside the package: scikit-image's ``data.astronaut()`` (NASA, public
domain) resized from 512×512 with Pillow's Lanczos and saved as PNG, lossless, so that every codec
starts from the same pixels."""


def salient_region(rgb: np.ndarray) -> np.ndarray:
    """The pixels ``--importance auto`` ranks first (importance.IMPORTANT_AREA of the image)."""
    from .importance import AUTO, IMPORTANT_AREA, ranks, resolve_importance

    return ranks(resolve_importance(rgb, AUTO)) < IMPORTANT_AREA


def jpeg_at_most(original: np.ndarray, budget: int) -> tuple[int, bytes]:
    """(quality, file) of the highest JPEG quality whose file fits the budget.

    When not even quality 1 fits, quality 1 is returned anyway: callers compare sizes and say so.
    """
    image = Image.fromarray(original)
    chosen: tuple[int, bytes] | None = None
    for quality in range(1, 96):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        if buffer.tell() > budget and chosen is not None:
            break
        chosen = (quality, buffer.getvalue())
        if buffer.tell() > budget:
            break
    return chosen


AVIF_SPEED = 6
"""Pillow's AVIF encoder's own default speed: the AVIF a user gets from ``im.save("x.avif")``, the
anchor abc is compared with. Not abc's own effort (av1.DEFAULT_SPEED, the encoder's choice, which
may change): the two are both 6 today only because libavif's default is."""


def avif_at_most(original: np.ndarray, budget: int, speed: int = AVIF_SPEED) -> tuple[int, bytes]:
    """(quality, file) of the highest AVIF quality (Pillow's own AVIF, 0..100) whose file fits the
    budget; when not even quality 0 fits, quality 0 anyway, as :func:`jpeg_at_most` does.

    A bisection (8 encodes, not 101): file size grows with quality, which only picks one of
    libaom's 64 quantizers.
    """
    image = Image.fromarray(original)

    def encoded(quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="AVIF", quality=quality, speed=speed)
        return buffer.getvalue()

    low, high = 0, 101
    chosen = encoded(low)
    while high - low > 1 and len(chosen) <= budget:
        middle = (low + high) // 2
        data = encoded(middle)
        if len(data) <= budget:
            low, chosen = middle, data
        else:
            high = middle
    return low, chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abcodec.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for sample.png, sample.abc, sample-decoded.png")
    parser.add_argument("--bpp", type=float, default=None, help="target rate (default: the encoder's)")
    args = parser.parse_args(argv)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(resources.files("abcodec").joinpath(SAMPLE_FILE).read_bytes())) as sample:
        original = sample.convert("RGB")
    paths = {name: folder / name for name in ("sample.png", "sample.abc", "sample-decoded.png", "sample-auto.abc")}
    original.save(paths["sample.png"])
    rate = [] if args.bpp is None else ["--bpp", str(args.bpp)]
    for status in (
        cli.encode_cli([str(paths["sample.png"]), str(paths["sample.abc"]), "--verbose", *rate]),
        cli.decode_cli([str(paths["sample.abc"]), str(paths["sample-decoded.png"]), "--verbose"]),
        cli.encode_cli([str(paths["sample.png"]), str(paths["sample-auto.abc"]), "--importance", "auto", *rate]),
    ):
        if status:
            return status
    size = paths["sample.abc"].stat().st_size
    pixels = original.width * original.height
    rgb = np.asarray(original)
    salient = salient_region(rgb)

    def scores(decoded: np.ndarray, nbytes: int) -> dict:
        return {"bytes": nbytes, "bpp": round(8 * nbytes / pixels, 4), "ssim": round(ssim(rgb, decoded), 4),
                "ssim_salient": round(ssim(rgb, decoded, salient), 4)}

    summary = {"abc": scores(np.asarray(Image.open(paths["sample-decoded.png"])), size)}
    with Image.open(paths["sample-auto.abc"]) as auto:
        summary["abc_auto"] = scores(np.asarray(auto), paths["sample-auto.abc"].stat().st_size)
    for name, at_most in (("jpeg", jpeg_at_most), ("avif", avif_at_most)):
        quality, other = at_most(rgb, size)
        summary[name] = {"quality": quality, **scores(np.asarray(Image.open(io.BytesIO(other)).convert("RGB")), len(other))}
        if len(other) > size:
            print(f"{name.upper()} cannot reach this few bytes; its figure is its lowest quality, with more bytes.",
                  file=sys.stderr)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
