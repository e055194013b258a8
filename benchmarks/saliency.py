"""How well ``--importance auto`` predicts where people look, and what it costs.

    python -m benchmarks.saliency [FIXATIONS] [--limit N] [--side 384] [--no-gradcam] [--json F] [--markdown F]

FIXATIONS defaults to ../shared/data/fixations. On its held-out photos (never trained on; see
abcodec.train_saliency), each shrunk to a longer side of at most ``--side``, the scores of the
MIT/Tübingen saliency benchmark (benchmarks/fixations.py): AUC-Judd, NSS and CC against the
fixation density. Rows: the packaged model (what ``auto`` uses), a centred Gaussian (σ 0.3 of each
side, the usual baseline), and the classifier's Grad-CAM, the map ``auto`` used before (written out
here, needs torch). The time line: the model on a 768×512 image, warm (median of 10) and in a new
session (the first call, ONNX Runtime loading the model), and an encode at 0.1 bpp with and without
``auto`` (median of 5).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from datetime import date

import numpy as np
from PIL import Image

from abcodec import saliency
from abcodec.codec import EncodeOptions, encode

from .common import add_output_arguments, load_average, machine, progress, publish
from .fixations import DEFAULT_FOLDER, auc_judd, cc, centre_bias, fixation_density, fixation_map, held_out, nss, shrunk

METRICS = ("AUC-Judd", "NSS", "CC")
TIMING_SIZE = (768, 512)
TIMING_REPEATS = 10
ENCODE_REPEATS = 5


def gradcam(image: np.ndarray) -> np.ndarray:
    """The classifier's Grad-CAM for its predicted class on a 384-pixel copy, resized to the image:
    what ``auto`` was before the fixation-trained model (Selvaraju et al. 2017)."""
    import torch
    from torch.nn import functional as F

    net = classifier()
    height, width = image.shape[:2]
    scale = 384 / max(height, width)
    small = Image.fromarray(image).resize((max(32, round(width * scale)), max(32, round(height * scale))),
                                          Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.array(small, dtype=np.float32)).permute(2, 0, 1)[None]
    captured = []
    hook = net._conv_head.register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        with torch.enable_grad():
            logits = net(pixels.requires_grad_(True))
            (gradients,) = torch.autograd.grad(logits[0, logits[0].argmax()], captured[0])
    finally:
        hook.remove()
    with torch.no_grad():
        cam = F.relu((gradients.mean(dim=(2, 3), keepdim=True) * captured[0]).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(height, width), mode="bilinear", align_corners=False)[0, 0]
    return cam.numpy() if float(cam.max()) > 0 else np.ones((height, width))


@functools.cache
def classifier():
    """C, loaded once (torch and its weights take a second or two)."""
    from abcodec.generative.networks import load_efficientnet

    return load_efficientnet()


def predictors(with_gradcam: bool) -> dict:
    """The maps compared, by row name: each takes a uint8 RGB image and returns an (H, W) map."""
    rows = {"abc auto (fixation model)": saliency.fixation_density,
            "centre (Gaussian, σ 0.3)": lambda image: centre_bias(image.shape[:2])}
    if with_gradcam:
        rows["Grad-CAM (auto before)"] = gradcam
    return rows


def score(folder, photos, rows, side: int) -> dict[str, dict[str, float]]:
    """Mean AUC-Judd, NSS and CC of each row over the photos."""
    scores = {name: [] for name in rows}
    for photo in photos:
        image, scale = shrunk(folder, photo, side)
        counts = fixation_map(photo, image.shape[:2], scale)
        density = fixation_density(counts)
        for name, predict in rows.items():
            predicted = np.asarray(predict(image), dtype=np.float64)
            scores[name].append((auc_judd(predicted, counts), nss(predicted, counts), cc(predicted, density)))
        progress(photo.name)
    return {name: dict(zip(METRICS, np.mean(values, axis=0).tolist())) for name, values in scores.items()}


def timings() -> dict[str, float]:
    """The model's cost on a 768×512 image, cold and warm, and an encode's with and without it."""
    from skimage import data

    image = np.asarray(Image.fromarray(data.astronaut()).resize(TIMING_SIZE, Image.Resampling.LANCZOS))
    saliency._session.cache_clear()
    started = time.perf_counter()
    saliency.fixation_density(image)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(TIMING_REPEATS):
        started = time.perf_counter()
        saliency.fixation_density(image)
        warm.append(time.perf_counter() - started)
    encodes = {"encode_s": [], "encode_auto_s": []}
    options = EncodeOptions(bpp=0.1)
    for _ in range(ENCODE_REPEATS):
        for key, importance in (("encode_s", None), ("encode_auto_s", "auto")):
            started = time.perf_counter()
            encode(image, options=options, importance=importance)
            encodes[key].append(time.perf_counter() - started)
    return {"model_cold_s": cold, "model_warm_s": float(np.median(warm)),
            **{key: float(np.median(values)) for key, values in encodes.items()}}


def table(result: dict) -> str:
    lines = [f"Saliency on {result['photos']} held-out fixation photos (longer side ≤ {result['side']}), "
             f"{result['date']}, {result['machine']}, load {result['load']}", "",
             "| map | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    lines += [f"| {name} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |" for name, row in result["scores"].items()]
    t = result["timings"]
    lines += ["", f"Model on {TIMING_SIZE[0]}x{TIMING_SIZE[1]}: {t['model_warm_s']:.3f} s warm (median of {TIMING_REPEATS}), "
              f"{t['model_cold_s']:.3f} s cold. Encode at 0.1 bpp: {t['encode_s']:.3f} s without a map, "
              f"{t['encode_auto_s']:.3f} s with auto (medians of {ENCODE_REPEATS})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.saliency", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="the fixation set (fixations.json, images/)")
    parser.add_argument("--limit", type=int, help="first N held-out photos only")
    parser.add_argument("--side", type=int, default=384, help="longer side the photos are scored at (default 384)")
    parser.add_argument("--no-gradcam", action="store_true", help="leave out the Grad-CAM row (it needs torch)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    photos = held_out(args.folder)[: args.limit]
    if not photos:
        print(f"no fixation photos in {args.folder}", file=sys.stderr)
        return 1
    scores = score(args.folder, photos, predictors(not args.no_gradcam), args.side)
    result = {"photos": len(photos), "side": args.side, "date": date.today().isoformat(), "machine": machine(),
              "load": load_average(), "scores": scores, "timings": timings()}
    publish(result, table(result), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
