"""What the benchmark scripts share: the images, every codec as a timed round trip, the machine.

Each script measures the same way — real file bytes, the decoded pixels, wall-clock times — so
their tables can be read side by side.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features

from abcodec.codec import EncodeOptions, decode, encode
from abcodec.demo import AVIF_SPEED, avif_at_most  # noqa: F401 (re-exported: fixation_quality.py and the tests use it)

from .metrics import quality

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "kodak"
DESCENT_STEPS = 10
"""A step count worth trying when asking for the descent: on block-layout files 10 Adam steps of
0.02 added 0.0004–0.001 SSIM to G(E(fill)) and more did not help (benchmarks/RESULTS.md)."""

SAMPLE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket")
"""skimage.data images used when Kodak is absent, so every script runs on a fresh checkout."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff")


def load_images(folder: str | None, limit: int | None) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 RGB) pairs, sorted by name: FOLDER, else Kodak if present, else skimage.data."""
    path = Path(folder) if folder else DEFAULT_FOLDER
    if folder or path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images = [(p.name, np.asarray(Image.open(p).convert("RGB"))) for p in files]
    else:
        from skimage import data

        images = [(name, getattr(data, name)()) for name in SAMPLE_IMAGES]
    return images[:limit] if limit else images


def images_or_none(folder: str | None, limit: int | None) -> list[tuple[str, np.ndarray]] | None:
    """A benchmark's images, or None after saying on stderr that there are none (exit 1 then)."""
    images = load_images(folder, limit)
    if not images:
        print("no images found", file=sys.stderr)
        return None
    return images


def add_image_arguments(parser) -> None:
    """FOLDER and --limit, as every per-image script takes them."""
    parser.add_argument("folder", nargs="?", help="images (default ../shared/data/kodak, else skimage.data)")
    parser.add_argument("--limit", type=int, help="first N images only")


def add_output_arguments(parser) -> None:
    """--json and --markdown, the two files :func:`publish` writes."""
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--markdown", type=Path, help="write the table here")


def image_source(folder: str | None) -> str:
    """Where the images came from, for the line above a table."""
    return Path(folder).name if folder else DEFAULT_FOLDER.name if DEFAULT_FOLDER.is_dir() else "skimage.data"


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central size×size square (the paper's PPGN worked on 227×227 inputs)."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    if top < 0 or left < 0:
        msg = f"image {image.shape[1]}x{image.shape[0]} is smaller than the {size}x{size} crop"
        raise ValueError(msg)
    return image[top : top + size, left : left + size]


def machine() -> str:
    """CPU model and core count, so a figure says where it was measured."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def load_average() -> str:
    """1/5/15-minute load average: timings from a busy machine should say so."""
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def progress(message: str) -> None:
    """Long runs report on stderr, leaving stdout for the table."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Roundtrip:
    """One encode and decode: the file, the pixels it decodes to, and how long each side took."""

    data: bytes
    decoded: np.ndarray
    encode_s: float
    decode_s: float


def abc_roundtrip(original: np.ndarray, options: EncodeOptions, importance: np.ndarray | None = None) -> Roundtrip:
    started = time.perf_counter()
    data = encode(original, options=options, importance=importance)
    encoded = time.perf_counter()
    decoded = np.asarray(decode(data))
    return Roundtrip(data, decoded, encoded - started, time.perf_counter() - encoded)


def pillow_roundtrip(original: np.ndarray, format: str, quality: int | None, **settings) -> Roundtrip:
    """JPEG, WebP or AVIF through Pillow at its default settings apart from quality (None: the
    format's own default too) and any ``settings`` given (AVIF's ``speed``)."""
    buffer = io.BytesIO()
    started = time.perf_counter()
    if quality is not None:
        settings["quality"] = quality
    Image.fromarray(original).save(buffer, format=format, **settings)
    encoded = time.perf_counter()
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return Roundtrip(buffer.getvalue(), decoded, encoded - started, time.perf_counter() - encoded)


PILLOW_AVIF_SPEED = AVIF_SPEED
"""The speed Pillow's AVIF encoder uses when not told (``speed`` in PIL/AvifImagePlugin.py's
``_save``): the AVIF anchor of the BD-rates and of the equal-bytes comparisons."""
def avif_encoder() -> str | None:
    """Pillow's own AVIF support (libavif and its AV1 encoder), or None where Pillow was built without it."""
    if not features.check("avif"):
        return None
    from PIL import AvifImagePlugin

    return (f"Pillow {PIL.__version__}'s AVIF (libavif {features.version('avif')}, "
            f"aom {AvifImagePlugin.get_codec_version('aom') or 'absent'})")


def measurement(original: np.ndarray, roundtrip: Roundtrip, *, with_ssimulacra2: bool = False) -> dict[str, float]:
    """Bytes, bpp (file bytes × 8 / pixels), every quality metric (SSIMULACRA 2 where asked) and both times."""
    pixels = original.shape[0] * original.shape[1]
    return {
        "bytes": len(roundtrip.data), "bpp": 8 * len(roundtrip.data) / pixels,
        **quality(original, roundtrip.decoded, with_ssimulacra2=with_ssimulacra2),
        "encode_s": roundtrip.encode_s, "decode_s": roundtrip.decode_s,
    }


def pyplot():
    """matplotlib's pyplot on the Agg backend, imported only by the scripts that draw."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def save_figure(figure, path: Path, dpi: int) -> None:
    """Write a figure as an optimised RGB PNG (no alpha): figures are committed, so they stay small."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    pyplot().close(figure)
    Image.open(buffer).convert("RGB").save(path, optimize=True)


def publish(result: dict, table: str, json_path: Path | None, markdown_path: Path | None) -> None:
    """Every script's ending: the table on stdout, the full result and the table where asked."""
    print(table)
    if json_path:
        json_path.write_text(json.dumps(result, indent=1) + "\n")
    if markdown_path:
        markdown_path.write_text(table)
