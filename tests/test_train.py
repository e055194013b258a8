"""Training G and writing its weights (abcodec/generative/train.py): python -m abcodec.generative.train."""

import hashlib
import json

import numpy as np
import onnx
import pytest
import torch
from PIL import Image
from skimage import data

from abcodec import av1, av1_headers, container
from abcodec.codec import EncodeOptions, encode
from abcodec.generative import networks, train


def photo_folders(tmp_path, train_count=2):
    """Folders of small astronaut crops: ``train_count`` to train on, one to validate on."""
    for split, count in (("train", train_count), ("val", 1)):
        (tmp_path / "data" / split).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(data.astronaut()[i * 40 : i * 40 + 48, :64]).save(tmp_path / "data" / split / f"{i}.jpg")
    return ["--train", str(tmp_path / "data" / "train"), "--val", str(tmp_path / "data" / "val"),
            "--cache", str(tmp_path / "cache"), "--crop", "32", "--rates", "1", "--batch", "2"]


def test_training_script_runs_and_writes_hashed_fp16_weights(tmp_path):
    out = tmp_path / "g.pt"
    arguments = [*photo_folders(tmp_path), "--out", str(out), "--steps", "3"]
    assert train.main([*arguments, "--jobs", "2"]) == 0
    assert len(list((tmp_path / "cache").glob("pairs-*.npz"))) == 2
    assert train.main(arguments) == 0  # from the cache
    state = torch.load(out, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert (tmp_path / "g.sha256").read_text().split()[0] == hashlib.sha256(out.read_bytes()).hexdigest()
    generator = networks.load_generator(out)
    assert generator.tail.weight.abs().sum() > 0 and generator.conditioned
    exported = onnx.load(tmp_path / "g.onnx")
    assert {p.key: p.value for p in exported.metadata_props}["generator_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert [i.name for i in exported.graph.input] == ["fill", "conditions"]
    (tmp_path / "g.onnx").unlink()
    assert train.main(["--export", str(out)]) == 0 and (tmp_path / "g.onnx").exists()


def test_training_pairs_do_not_depend_on_the_processes_that_make_them(tmp_path):
    (tmp_path / "photos").mkdir()
    for i in range(3):
        Image.fromarray(data.astronaut()[i * 40 : i * 40 + 48, :64]).save(tmp_path / "photos" / f"{i}.png")
    named = train.photos(tmp_path / "photos")
    one, two = (train.degraded_pairs(named, "photos", 1, 0, tmp_path / f"cache{jobs}", True, jobs) for jobs in (1, 2))
    assert all(np.array_equal(a, b) for a, b in zip(one.fills, two.fills)) and len(one.fills) == 3
    assert np.array_equal(one.conditions, two.conditions)


def test_a_new_generator_does_not_make_new_training_pairs(monkeypatch):
    """The pairs' cache key fingerprints the codec's fills; shipping a generator changes which
    decoder the encoder names and the hash its files carry, not the fills."""
    from abcodec import effort
    from abcodec.generative import settings

    monkeypatch.setattr(effort, "MIN_GENERATIVE_GAIN", -1.0)  # an encoder left to itself names G here
    photo = data.astronaut()[:96, :128].copy()
    before = train.codec_fingerprint(photo, True)
    monkeypatch.setattr(settings, "GENERATORS", settings.GENERATORS[:1])
    assert train.codec_fingerprint(photo, True) == before


def test_training_pairs_record_the_quantizer_and_scale_of_their_files(tmp_path):
    """Each pair's conditions are its file's: the frame header's base_q_idx and the frame's scale,
    checked here against a fresh encode read through the sequence header and the quantizer table."""
    photo = data.astronaut()[::2, ::2].copy()
    pairs = train.degraded_pairs([("astronaut", photo)], "one", 3, 5, tmp_path, True)
    for bpp, (q_index, scale) in zip(pairs.bpp, pairs.conditions):
        base = container.read_file(encode(photo, options=EncodeOptions(bpp=float(bpp)))).base
        sequence = av1_headers.parse_sequence_header(base)
        assert q_index == av1_headers.base_q_idx(base, sequence) and q_index in av1.QINDEX_FOR_QUANTIZER
        assert scale == pytest.approx(0.5 * np.log2(256 * 256 / (sequence.width * sequence.height)), abs=1e-6)
    assert len(set(pairs.conditions[:, 0].tolist())) > 1  # the rates differ, so do the quantizers
    with np.load(next(tmp_path.glob("pairs-one-*.npz"))) as stored:
        assert np.array_equal(stored["conditions"], pairs.conditions)


def test_fixation_photos_are_the_saliency_training_split_only(tmp_path):
    """The held-out fixation photos (every 4th name, abcodec.train_saliency.split) stay unseen."""
    (tmp_path / "images").mkdir()
    records = {}
    for i in range(8):
        name = f"{i:03d}.png"
        Image.fromarray(data.astronaut()[i * 10 : i * 10 + 40, :48]).save(tmp_path / "images" / name)
        records[name] = {"width": 48, "height": 40, "viewers": [[[20, 24, 0, 100]]]}
    (tmp_path / "fixations.json").write_text(json.dumps(records))
    named = train.fixation_training_photos(tmp_path)
    assert [name for name, _ in named] == ["001.png", "002.png", "003.png", "005.png", "006.png", "007.png"]
    assert np.array_equal(named[0][1], data.astronaut()[10:50, :48])


def test_large_photos_are_shrunk_to_the_longest_side_allowed():
    assert train.at_most(np.zeros((2048, 1536, 3), np.uint8)).shape == (1024, 768, 3)
    small = np.zeros((481, 321, 3), np.uint8)
    assert train.at_most(small) is small


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    arguments = [*photo_folders(tmp_path, 3), "--steps", "6", "--validate-every", "2", "--seed", "3"]
    assert train.main([*arguments, "--out", str(tmp_path / "whole" / "g.pt")]) == 0
    assert train.main([*arguments, "--out", str(tmp_path / "cut" / "g.pt"), "--stop-at", "3"]) == 0
    checkpoint = torch.load(tmp_path / "cut" / "g.ckpt", weights_only=True)
    assert checkpoint["step"] == 3
    assert train.main(["--resume", str(tmp_path / "cut" / "g.ckpt"), "--lr", "0.5"]) == 0  # the run's lr is the checkpoint's
    whole, cut = (torch.load(tmp_path / run / "g.ckpt", weights_only=True) for run in ("whole", "cut"))
    assert whole["step"] == cut["step"] == 6
    assert all(torch.equal(whole["model"][name], cut["model"][name]) for name in whole["model"])
    assert (tmp_path / "whole" / "g.pt").read_bytes() == (tmp_path / "cut" / "g.pt").read_bytes()


def test_a_resumed_run_keeps_its_checkpoint_where_it_was(tmp_path):
    """Resuming a checkpoint kept apart from the weights (checkpoints/ in the repository) updates that
    file, so the next session resumes from where this one stopped."""
    arguments = [*photo_folders(tmp_path, 3), "--steps", "6", "--validate-every", "3", "--seed", "3"]
    kept = tmp_path / "checkpoints" / "g.ckpt"
    assert train.main([*arguments, "--out", str(tmp_path / "w" / "g.pt"), "--checkpoint", str(kept), "--stop-at", "3"]) == 0
    assert train.main(["--resume", str(kept), "--stop-at", "5"]) == 0
    assert torch.load(kept, weights_only=True)["step"] == 5
    assert not (tmp_path / "w" / "g.ckpt").exists()


def test_resume_refuses_what_is_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "x.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit):
        train.main(["--resume", str(tmp_path / "x.ckpt")])
    assert f"--resume {tmp_path / 'x.ckpt'}: not a readable checkpoint" in capsys.readouterr().err


def test_a_conditioned_generator_started_from_a_blind_one_is_that_generator_at_first(tmp_path):
    blind = networks.Generator()
    torch.nn.init.normal_(blind.tail.weight, std=0.05)
    torch.save({k: v.half() for k, v in blind.state_dict().items()}, tmp_path / "blind.pt")
    args = train.argument_parser().parse_args(["--init", str(tmp_path / "blind.pt")])
    started = train.initial_generator(args, "cpu")
    assert started.conditioned
    net = networks.load_efficientnet()
    fill = torch.from_numpy(data.astronaut()[:32, :48].copy()).permute(2, 0, 1)[None].float()
    reference = networks.load_generator(tmp_path / "blind.pt")
    with torch.no_grad():
        expected = reference(net.encode(fill), fill)
        for conditions in ((20.0, 0.0), (250.0, 2.0)):
            made = started(net.encode(fill), fill, torch.tensor([conditions]))
            assert torch.allclose(made, expected, atol=1e-3)  # channels-last memory: other float rounding


def test_init_of_another_shape_is_a_usage_error(tmp_path, capsys):
    torch.save({k: v.half() for k, v in networks.Generator(width=16, blocks=1).state_dict().items()}, tmp_path / "small.pt")
    with pytest.raises(SystemExit):
        train.main([*photo_folders(tmp_path), "--out", str(tmp_path / "g.pt"), "--init", str(tmp_path / "small.pt")])
    assert "weights of width 16, 1 blocks; this run trains width 48, 3 blocks" in capsys.readouterr().err


def test_a_wider_deeper_blind_generator_trains_checkpoints_and_loads_as_it_was_trained(tmp_path):
    out = tmp_path / "g.pt"
    assert train.main([*photo_folders(tmp_path, 1), "--out", str(out), "--steps", "2", "--validate-every", "1",
                       "--width", "16", "--blocks", "1", "--device", "cpu", "--blind"]) == 0
    generator = networks.load_generator(out)
    assert generator.head.out_channels == 16 and len(generator.body) == 1 and not generator.conditioned
    assert [i.name for i in onnx.load(tmp_path / "g.onnx").graph.input] == ["fill"]
