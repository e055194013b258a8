"""abcodec.ssim against scikit-image's structural_similarity, the metric it copies, as the demo and
the benchmarks call it (data_range 255, channel_axis 2 for RGB, defaults otherwise)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage import data
from skimage.metrics import structural_similarity

from abcodec.ssim import ssim


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def blurred(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(2)))


def noisy(image: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(7).normal(0, 20, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


PAIRS = {
    "astronaut-jpeg": lambda: (data.astronaut(), jpeg(data.astronaut(), 10)),
    "coffee-blurred": lambda: (data.coffee(), blurred(data.coffee())),
    "camera-noisy": lambda: (data.camera(), noisy(data.camera())),
    "chelsea-odd-crop-jpeg": lambda: (data.chelsea()[:61, :77], jpeg(data.chelsea()[:61, :77], 30)),
    "smallest": lambda: (data.astronaut()[:7, :7], noisy(data.astronaut()[:7, :7])),
}


def skimage_ssim(a: np.ndarray, b: np.ndarray, region: np.ndarray | None = None) -> float:
    channels = 2 if a.ndim == 3 else None
    if region is None:
        return structural_similarity(a, b, channel_axis=channels, data_range=255)
    _, per_pixel = structural_similarity(a, b, channel_axis=channels, data_range=255, full=True)
    return (per_pixel.mean(axis=2) if a.ndim == 3 else per_pixel)[region].mean()


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
def test_ssim_matches_scikit_image(pair):
    a, b = pair()
    assert abs(ssim(a, b) - skimage_ssim(a, b)) < 1e-9


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
def test_ssim_over_a_region_matches_scikit_image_s_map(pair):
    a, b = pair()
    edge = np.zeros(a.shape[:2], bool)  # the border, where the map comes from reflected pixels
    edge[:3], edge[:, -2:] = True, True
    scattered = np.random.default_rng(1).random(a.shape[:2]) < 0.2
    for region in (edge, scattered):
        assert abs(ssim(a, b, region) - skimage_ssim(a, b, region)) < 1e-9


def test_an_image_against_itself_scores_one():
    image = data.astronaut()
    assert ssim(image, image) == pytest.approx(1, abs=1e-12)


@pytest.mark.parametrize("shapes", [((64, 64, 3), (64, 65, 3)), ((6, 40), (6, 40)), ((8, 8, 3, 1), (8, 8, 3, 1))])
def test_ssim_refuses_what_it_cannot_score(shapes):
    a, b = (np.zeros(shape, np.uint8) for shape in shapes)
    with pytest.raises(ValueError, match="SSIM needs two images of one shape"):
        ssim(a, b)
