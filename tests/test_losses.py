"""The generative decoder's loss terms (abcodec/generative/losses.py)."""

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import structural_similarity

from abcodec.generative import losses


def as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()


@pytest.fixture(scope="module")
def pair():
    image = data.astronaut()[100:132, 200:248]
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    return image, noisy


def test_ssim_matches_scikit_image(pair):
    image, noisy = pair
    expected = structural_similarity(image, noisy, channel_axis=2, data_range=255)
    assert losses.ssim(as_batch(image), as_batch(noisy)).item() == pytest.approx(expected, abs=1e-5)


def test_every_term_is_zero_at_its_target_and_positive_away_from_it(pair):
    image, noisy = as_batch(pair[0]), as_batch(pair[1])
    known = torch.zeros(1, 1, 32, 48, dtype=torch.bool)
    known[..., 4:20, 8:40] = True
    features, other = torch.randn(1, 4, 8, 12), torch.randn(1, 4, 8, 12)
    for term, target, away in (
        (lambda x: losses.assistant(x, image, known), image, noisy),
        (lambda x: losses.edge(x, image, known), image, noisy),
        (lambda f: losses.content(f, features, known, 4), features, other),
        (lambda f: losses.style(f, losses.gram(features)), features, other),
        (lambda h: losses.autoencoder(h, features), features, other),
    ):
        assert term(target).item() == pytest.approx(0, abs=1e-6)
        assert term(away).item() > 0


def test_terms_with_nothing_kept_are_zero(pair):
    image, noisy = as_batch(pair[0]), as_batch(pair[1])
    nothing = torch.zeros(1, 1, 32, 48, dtype=torch.bool)
    assert losses.assistant(noisy, image, nothing).item() == 0
    assert losses.edge(noisy, image, nothing).item() == 0


def test_content_counts_only_cells_whose_pixels_were_all_kept():
    known = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    known[..., :4, :4] = True
    known[..., 4:7, 4:8] = True  # three rows of the cell only: not counted
    target = torch.zeros(1, 1, 2, 2)
    features = torch.tensor([[[[1.0, 5.0], [5.0, 5.0]]]])
    assert losses.content(features, target, known, 4).item() == pytest.approx(1.0)


def test_classification_rewards_probability_on_any_stored_class():
    logits = torch.tensor([[0.0, 5.0, 5.0, 0.0]])
    assert losses.classification(logits, torch.tensor([1, 2])) < losses.classification(logits, torch.tensor([1]))
    assert losses.classification(logits, torch.tensor([1, 2])) < losses.classification(logits, torch.tensor([0, 3]))
