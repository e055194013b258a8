"""E, C and G of the generative decoder (abcodec/nets.py)."""

import numpy as np
import pytest
import torch
from skimage import data
from torch.nn import functional as F

from abcodec import nets


@pytest.fixture(scope="module")
def net():
    return nets.load_efficientnet()


def as_batch(image, size=None):
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    return F.interpolate(x, size=size, mode="bilinear", antialias=True) if size else x


@pytest.mark.parametrize(("name", "label"), [("chelsea", 285), ("coffee", 967)])
def test_classifier_recognises_skimage_images(net, name, label):
    with torch.no_grad():
        assert net(as_batch(getattr(data, name)(), (224, 224))).argmax().item() == label


def test_latent_is_stride_four_and_frozen(net):
    h = net.encode(as_batch(data.astronaut()[:101, :67]))
    assert h.shape == (1, nets.LATENT_CHANNELS, 26, 17)
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize(("height", "width"), [(4, 4), (9, 13), (52, 36)])
def test_generator_maps_latents_of_any_size_back_to_pixels(net, height, width):
    generator = nets.Generator()
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
        assert torch.equal(nets.Generator()(net.encode(fill), fill), fill)


def test_generator_is_small_enough_to_commit():
    assert sum(p.numel() for p in nets.Generator().parameters()) * 2 < 10 * 2**20


def test_training_script_runs_and_writes_hashed_fp16_weights(tmp_path):
    import hashlib

    from PIL import Image

    from abcodec import train

    for split, count in (("train", 2), ("val", 1)):
        (tmp_path / "data" / split).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(data.astronaut()[i * 40 : i * 40 + 48, :64]).save(tmp_path / "data" / split / f"{i}.jpg")
    out = tmp_path / "g.pt"
    arguments = ["--train", str(tmp_path / "data" / "train"), "--val", str(tmp_path / "data" / "val"), "--out", str(out),
                 "--cache", str(tmp_path / "cache"), "--steps", "3", "--crop", "32", "--rates", "1", "--batch", "2"]
    assert train.main([*arguments, "--jobs", "2"]) == 0
    assert len(list((tmp_path / "cache").glob("pairs-*.npz"))) == 2
    assert train.main(arguments) == 0  # from the cache
    state = torch.load(out, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert (tmp_path / "g.sha256").read_text().split()[0] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert nets.load_generator(out).tail.weight.abs().sum() > 0
    import onnx

    exported = onnx.load(tmp_path / "g.onnx")
    assert {p.key: p.value for p in exported.metadata_props}["generator_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    (tmp_path / "g.onnx").unlink()
    assert train.main(["--export", str(out)]) == 0 and (tmp_path / "g.onnx").exists()


def test_training_pairs_do_not_depend_on_the_processes_that_make_them(tmp_path):
    from PIL import Image

    from abcodec import train

    (tmp_path / "photos").mkdir()
    for i in range(3):
        Image.fromarray(data.astronaut()[i * 40 : i * 40 + 48, :64]).save(tmp_path / "photos" / f"{i}.png")
    one, two = (train.degraded_pairs(tmp_path / "photos", 1, 0, tmp_path / f"cache{jobs}", True, jobs) for jobs in (1, 2))
    assert all(np.array_equal(a, b) for a, b in zip(one[1], two[1])) and len(one[1]) == 3


def test_a_wider_deeper_generator_trains_checkpoints_and_loads_as_it_was_trained(tmp_path):
    from PIL import Image

    from abcodec import train

    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        Image.fromarray(data.astronaut()[:48, :64]).save(tmp_path / split / "0.jpg")
    out = tmp_path / "g.pt"
    assert train.main(["--train", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--out", str(out),
                       "--cache", str(tmp_path / "cache"), "--steps", "2", "--validate-every", "1", "--crop", "32",
                       "--rates", "1", "--batch", "1", "--width", "16", "--blocks", "1", "--device", "cpu"]) == 0
    generator = nets.load_generator(out)
    assert generator.head.out_channels == 16 and len(generator.body) == 1


def test_packaged_generator_matches_its_recorded_hash_and_loads():
    import hashlib
    from importlib import resources

    folder = resources.files("abcodec") / "weights"
    weights = (folder / "generator.pt").read_bytes()
    recorded, name = (folder / "generator.sha256").read_text().split()
    assert name == "generator.pt" and len(weights) < 10 * 2**20
    assert hashlib.sha256(weights).hexdigest() == recorded
    assert nets.load_generator().tail.weight.abs().sum() > 0
