"""E, C and G of the generative decoder (abcodec/generative/networks.py)."""

import pytest
import torch
from skimage import data
from torch.nn import functional as F

from abcodec.generative import networks


@pytest.fixture(scope="module")
def net():
    return networks.load_efficientnet()


def as_batch(image, size=None):
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    return F.interpolate(x, size=size, mode="bilinear", antialias=True) if size else x


@pytest.mark.parametrize(("name", "label"), [("chelsea", 285), ("coffee", 967)])
def test_classifier_recognises_skimage_images(net, name, label):
    with torch.no_grad():
        assert net(as_batch(getattr(data, name)(), (224, 224))).argmax().item() == label


def test_latent_is_stride_four_and_frozen(net):
    h = net.encode(as_batch(data.astronaut()[:101, :67]))
    assert h.shape == (1, networks.LATENT_CHANNELS, 26, 17)
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize(("height", "width"), [(4, 4), (9, 13), (52, 36)])
def test_generator_maps_latents_of_any_size_back_to_pixels(net, height, width):
    generator = networks.Generator()
    torch.nn.init.normal_(generator.tail.weight)
    fill = as_batch(data.astronaut()[:height, :width])
    with torch.no_grad():
        made = generator(net.encode(fill), fill)
    assert made.shape == (1, 3, height, width)
    assert not torch.equal(made, fill)


def test_untrained_generator_is_the_identity_on_the_fill(net):
    """Residual G starts at the fill's quality: its last layer is zero until trained."""
    fill = as_batch(data.astronaut()[:36, :52])
    with torch.no_grad():
        assert torch.equal(networks.Generator()(net.encode(fill), fill), fill)


def test_generator_is_small_enough_to_commit():
    assert sum(p.numel() for p in networks.Generator().parameters()) * 2 < 10 * 2**20


def test_packaged_generator_matches_its_recorded_hash_and_loads():
    import hashlib
    from importlib import resources

    folder = resources.files("abcodec") / "weights"
    weights = (folder / "generator.pt").read_bytes()
    recorded, name = (folder / "generator.sha256").read_text().split()
    assert name == "generator.pt" and len(weights) < 10 * 2**20
    assert hashlib.sha256(weights).hexdigest() == recorded
    assert networks.load_generator().tail.weight.abs().sum() > 0
