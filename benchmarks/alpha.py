"""What transparency costs: the ALPH chunk's bytes against a PNG of the same plane, and the whole file.

    python -m benchmarks.alpha [FOLDER] [--limit N] [--quality 60] [--json out.json] [--markdown out.md]

Every image of FOLDER (default Kodak, else skimage.data) gets three alpha planes: a hard-edged disc,
a soft one (a radial ramp over 64 pixels), and a hard rectangle at a quarter of the image. For each,
the ALPH payload (lossless, spec §13) is compared with the smallest PNG Pillow makes of the plane
alone (``optimize=True``), and the .abc file of the RGBA image at ``--quality`` with the file of its
colour alone: the difference is the alpha's bytes less what filling the hidden colour saves.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import date

import numpy as np
from PIL import Image

from abcodec import container
from abcodec.codec import EncodeOptions, encode

from .common import (
    add_image_arguments, add_output_arguments, image_source, images_or_none, load_average, machine, progress, publish,
)

SHAPES = ("disc", "soft disc", "rectangle")


def plane(shape: str, size: tuple[int, int]) -> np.ndarray:
    """An alpha plane of (H, W) ``size``: 255 where the image shows, 0 where it is transparent."""
    height, width = size
    y, x = np.mgrid[:height, :width]
    distance = np.hypot(y - height / 2, x - width / 2) - 0.4 * min(height, width)
    if shape == "disc":
        return np.where(distance < 0, 255, 0).astype(np.uint8)
    if shape == "soft disc":
        return np.clip(-distance * 4, 0, 255).astype(np.uint8)
    inside = (abs(y - height / 2) < height / 4) & (abs(x - width / 2) < width / 4)
    return np.where(inside, 255, 0).astype(np.uint8)


def png_bytes(samples: np.ndarray) -> int:
    buffer = io.BytesIO()
    Image.fromarray(samples).save(buffer, format="PNG", optimize=True)
    return buffer.tell()


def measure(rgb: np.ndarray, shape: str, quality: int) -> dict:
    alpha_plane = plane(shape, rgb.shape[:2])
    options = EncodeOptions(quality=quality)
    with_alpha = encode(np.dstack([rgb, alpha_plane]), options=options)
    return {"shape": shape, "alph_bytes": len(container.read_file(with_alpha).alpha),
            "png_bytes": png_bytes(alpha_plane), "file_bytes": len(with_alpha),
            "colour_only_bytes": len(encode(rgb, options=options)), "pixels": alpha_plane.size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alpha", description=__doc__.splitlines()[0])
    add_image_arguments(parser)
    parser.add_argument("--quality", type=int, default=60, help="abc quality of the files (default %(default)s)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    images = images_or_none(args.folder, args.limit)
    if images is None:
        return 1
    load = load_average()
    rows = []
    for name, rgb in images:
        rows += [{"image": name, **measure(rgb, shape, args.quality)} for shape in SHAPES]
        progress(f"{name}: {', '.join(str(row['alph_bytes']) for row in rows[-3:])} ALPH bytes")
    lines = [f"{image_source(args.folder)}, {len(images)} images; quality {args.quality}; {machine()}; "
             f"load {load} → {load_average()}; {date.today()}; means over the images", "",
             "| alpha | ALPH bytes | PNG of the plane, bytes | ALPH bits per pixel | .abc RGBA bytes | .abc RGB bytes | "
             "alpha's net cost |", "|---|---|---|---|---|---|---|"]
    for shape in SHAPES:
        group = [row for row in rows if row["shape"] == shape]
        mean = {key: float(np.mean([row[key] for row in group])) for key in
                ("alph_bytes", "png_bytes", "file_bytes", "colour_only_bytes", "pixels")}
        lines.append(f"| {shape} | {mean['alph_bytes']:.0f} | {mean['png_bytes']:.0f} | "
                     f"{8 * mean['alph_bytes'] / mean['pixels']:.4f} | {mean['file_bytes']:.0f} | "
                     f"{mean['colour_only_bytes']:.0f} | {mean['file_bytes'] - mean['colour_only_bytes']:+.0f} |")
    publish({"rows": rows}, "\n".join(lines) + "\n", args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
