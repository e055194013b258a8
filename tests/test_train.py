"""Training G and writing its weights (abcodec/generative/train.py): python -m abcodec.generative.train."""

import hashlib

import numpy as np
import onnx
import torch
from PIL import Image
from skimage import data

from abcodec.generative import networks, train


def test_training_script_runs_and_writes_hashed_fp16_weights(tmp_path):
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
    assert networks.load_generator(out).tail.weight.abs().sum() > 0
    exported = onnx.load(tmp_path / "g.onnx")
    assert {p.key: p.value for p in exported.metadata_props}["generator_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    (tmp_path / "g.onnx").unlink()
    assert train.main(["--export", str(out)]) == 0 and (tmp_path / "g.onnx").exists()


def test_training_pairs_do_not_depend_on_the_processes_that_make_them(tmp_path):
    (tmp_path / "photos").mkdir()
    for i in range(3):
        Image.fromarray(data.astronaut()[i * 40 : i * 40 + 48, :64]).save(tmp_path / "photos" / f"{i}.png")
    one, two = (train.degraded_pairs(tmp_path / "photos", 1, 0, tmp_path / f"cache{jobs}", True, jobs) for jobs in (1, 2))
    assert all(np.array_equal(a, b) for a, b in zip(one[1], two[1])) and len(one[1]) == 3


def test_a_wider_deeper_generator_trains_checkpoints_and_loads_as_it_was_trained(tmp_path):
    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        Image.fromarray(data.astronaut()[:48, :64]).save(tmp_path / split / "0.jpg")
    out = tmp_path / "g.pt"
    assert train.main(["--train", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--out", str(out),
                       "--cache", str(tmp_path / "cache"), "--steps", "2", "--validate-every", "1", "--crop", "32",
                       "--rates", "1", "--batch", "1", "--width", "16", "--blocks", "1", "--device", "cpu"]) == 0
    generator = networks.load_generator(out)
    assert generator.head.out_channels == 16 and len(generator.body) == 1
