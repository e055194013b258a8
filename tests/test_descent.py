"""The generative decoder's latent descent and composite (abcodec/generative/descent.py)."""

import numpy as np
import pytest
import torch
from skimage import data

from abcodec import diffusion
from abcodec.generative import descent, losses, tiles
from abcodec.generative import networks as nets
from abcodec.generative.assist import Statistics
from abcodec.generative.settings import GENERATORS, Params

HEIGHT, WIDTH = 32, 48
BLIND = GENERATORS[0]
"""What the ``networks`` fixture stands in for: a blind G (``_networks`` is replaced by it)."""


@pytest.fixture(scope="module")
def networks():
    """E and a G whose last layer is not zero, so that the descent has something to move."""
    torch.manual_seed(0)
    generator = nets.Generator()
    torch.nn.init.normal_(generator.tail.weight, std=0.05)
    for parameter in generator.parameters():
        parameter.requires_grad_(False)
    return nets.load_efficientnet(), generator.eval()


@pytest.fixture(autouse=True)
def test_networks(monkeypatch, networks):
    monkeypatch.setattr(descent, "_networks", lambda device, generator: networks)


@pytest.fixture(scope="module")
def problem():
    """A photo crop, a block mask keeping a third of it, and the diffusion fill of the rest."""
    image = data.astronaut()[180 : 180 + HEIGHT, 200 : 200 + WIDTH]
    known = np.kron(np.random.default_rng(1).random((HEIGHT // 4, WIDTH // 4)) < 0.35, np.ones((4, 4), bool))
    fill = diffusion.fill(image.transpose(2, 0, 1).astype(np.float32), known).transpose(1, 2, 0)
    return image, known, np.rint(fill).astype(np.uint8)


def test_descent_lowers_the_objective(problem, networks):
    _, known, fill = problem
    fill_t = torch.from_numpy(fill).permute(2, 0, 1)[None].float()
    known_t = torch.from_numpy(known)[None, None]
    params = Params(step_size=0.1, autoencoder=1.0, edge=0.1, content=1.0)
    net, generator = networks
    h0 = net.encode(fill_t)
    h = h0.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([h], lr=params.step_size)
    values = []
    for _ in range(8):
        values.append(descent._objective(net, generator, h, h0, fill_t, known_t, params, None, None).item())
        descent._step(net, generator, h, h0, fill_t, known_t, params, None, None, optimiser, torch.Generator())
    assert values[-1] < 0.9 * values[0]


def test_kept_pixels_exact_and_runs_identical(problem):
    _, known, fill = problem
    params = Params(steps=3, step_size=0.1, noise=0.01, autoencoder=1.0)
    first = descent.inpaint(fill, known, params, generator=BLIND)
    assert first.dtype == np.uint8 and first.shape == fill.shape
    assert np.array_equal(first[known], fill[known])
    assert not np.array_equal(first, fill)
    assert np.array_equal(descent.inpaint(fill, known, params, generator=BLIND), first)


def test_composite_has_no_seam_at_the_kept_blocks(problem):
    """The correction is continuous: next to a kept pixel it is about as small as the mismatch
    it had to cancel there, instead of jumping from 0 to the raw correction."""
    _, known, fill = problem
    planes = tiles.as_planes(fill)
    out = tiles.composite(planes + 20.0, planes, known)
    assert np.allclose(out[:, known], planes[:, known])
    assert np.allclose(out, planes, atol=1e-3)


def test_untrained_generator_returns_the_fill(problem):
    _, _, fill = problem
    net = nets.load_efficientnet()
    fill_t = torch.from_numpy(fill).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        assert torch.equal(nets.Generator()(net.encode(fill_t), fill_t), fill_t)


def test_tiles_cover_the_image_and_keep_its_size(problem, monkeypatch):
    _, known, fill = problem
    monkeypatch.setattr(tiles, "TILE", 24)
    monkeypatch.setattr(tiles, "OVERLAP", 8)
    assert tiles.tile_starts(HEIGHT) == [0, 12] and tiles.tile_starts(WIDTH) == [0, 13, 26]
    seen = []
    out = descent.inpaint(fill, known, Params(steps=1), generator=BLIND,
                          progress=lambda done, total, eta: seen.append((done, total)))
    assert out.shape == fill.shape
    assert np.array_equal(out[known], fill[known])
    assert seen[-1] == (6, 6)


def test_grey_images_and_full_masks():
    grey = np.full((8, 12), 77, np.uint8)
    known = np.zeros((8, 12), bool)
    known[:4] = True
    assert descent.inpaint(grey, known, Params(steps=1), generator=BLIND).shape == (8, 12)
    assert np.array_equal(descent.inpaint(grey, np.ones((8, 12), bool), generator=BLIND), grey)


def test_style_and_class_terms_take_stored_statistics(problem, networks):
    _, known, fill = problem
    net, _ = networks
    stats = Statistics(classes=np.array([1, 2, 3]), gram=losses.gram(net.encode(
        torch.from_numpy(fill).permute(2, 0, 1)[None].float()))[0].numpy())
    out = descent.inpaint(fill, known, Params(steps=1, classification=1.0, style=1.0), stats, generator=BLIND)
    assert np.array_equal(out[known], fill[known])


def test_a_conditioned_generator_runs_with_the_conditions_given(problem, networks):
    """inpaint_with binds the conditions to G: its output is G's with them, and other conditions
    give another output."""
    net, _ = networks
    torch.manual_seed(1)
    generator = nets.Generator(conditioned=True)
    torch.nn.init.normal_(generator.tail.weight, std=0.05)
    torch.nn.init.normal_(generator.modulation[2].weight, std=0.3)
    generator.eval()
    _, _, fill = problem
    nothing = np.zeros(fill.shape[:2], bool)
    conditions = np.array([200.0, 1.0], np.float32)
    out = descent.inpaint_with(fill, nothing, Params(), Statistics(), (net, generator), conditions)
    fill_t = torch.from_numpy(fill).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        expected = generator(net.encode(fill_t), fill_t, torch.from_numpy(conditions)[None])[0].permute(1, 2, 0)
    assert np.abs(out.astype(float) - np.clip(np.rint(expected.numpy()), 0, 255)).max() <= 1
    other = descent.inpaint_with(fill, nothing, Params(), Statistics(), (net, generator), np.array([30.0, 0.0], np.float32))
    assert np.abs(other.astype(int) - out.astype(int)).max() > 2
