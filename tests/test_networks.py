"""E, C and G of the generative decoder (abcodec/generative/networks.py)."""

import hashlib

import pytest
import torch
from skimage import data
from torch.nn import functional as F

from abcodec.generative import networks, settings


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


@pytest.mark.parametrize("shipped", settings.GENERATORS, ids=lambda shipped: shipped.stem)
def test_each_shipped_generator_matches_its_recorded_hash_and_loads_as_the_table_says(shipped):
    weights = shipped.resource(".pt").read_bytes()
    recorded, name = shipped.resource(".sha256").read_text().split()
    assert name == shipped.stem.split("/")[-1] + ".pt" and len(weights) < 10 * 2**20
    assert hashlib.sha256(weights).hexdigest() == recorded == shipped.sha256().hex()
    generator = networks.load_generator(shipped.resource(".pt"))
    assert generator.tail.weight.abs().sum() > 0 and generator.conditioned == shipped.conditioned


def test_the_generator_loaded_by_default_is_the_one_the_encoder_names():
    default = networks.load_generator()
    newest = networks.load_generator(settings.newest_generator().resource(".pt"))
    assert all(torch.equal(a, b) for a, b in zip(default.state_dict().values(), newest.state_dict().values()))


def conditioned_generator(seed: int = 0) -> networks.Generator:
    """A conditioned G whose correction and modulation are not zero, as training leaves them."""
    torch.manual_seed(seed)
    generator = networks.Generator(conditioned=True)
    torch.nn.init.normal_(generator.tail.weight, std=0.05)
    torch.nn.init.normal_(generator.modulation[2].weight, std=0.3)
    return generator.eval()


def test_a_conditioned_generator_reads_each_images_own_conditions(net):
    """Two images in a batch get the modulation of their own conditions (per sample, not per batch),
    and different conditions give different corrections."""
    generator = conditioned_generator()
    fills = torch.cat([as_batch(data.astronaut()[:32, :48]), as_batch(data.coffee()[:32, :48])])
    conditions = torch.tensor([[40.0, 0.0], [220.0, 1.5]])
    with torch.no_grad():
        together = generator(net.encode(fills), fills, conditions)
        alone = [generator(net.encode(fills[i : i + 1]), fills[i : i + 1], conditions[i : i + 1]) for i in range(2)]
        swapped = generator(net.encode(fills[:1]), fills[:1], conditions[1:])
    assert all(torch.allclose(together[i : i + 1], alone[i], atol=1e-2) for i in range(2))
    assert (swapped - alone[0]).abs().max() > 0.5


def test_conditions_go_to_a_conditioned_generator_and_only_to_it(net):
    fill = as_batch(data.astronaut()[:16, :16])
    h = net.encode(fill)
    with pytest.raises(ValueError, match="needs the file's conditions"):
        networks.Generator(conditioned=True)(h, fill)
    with pytest.raises(ValueError, match="takes no conditions"):
        networks.Generator()(h, fill, torch.zeros(1, 2))


def test_a_conditioned_generator_loads_as_one(tmp_path):
    generator = conditioned_generator()
    torch.save({k: v.half() for k, v in generator.state_dict().items()}, tmp_path / "g.pt")
    loaded = networks.load_generator(tmp_path / "g.pt")
    assert loaded.conditioned
    assert torch.equal(loaded.modulation[2].weight, generator.modulation[2].weight.half().float())
