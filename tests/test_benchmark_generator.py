"""benchmarks/generator.py on tiny images: the fill, G(E(fill)) and the descent, side by side."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import container
from abcodec.codec import EncodeOptions, decode, encode
from abcodec.generative import assist, descent, networks, onnx_generator, settings
from abcodec.generative.settings import Params
from abcodec.reconstruct import fast_decode
from benchmarks import generator


ORIGINAL = data.astronaut()[100:164, 200:248]


def rgb_ssim(image: np.ndarray) -> float:
    """SSIM on RGB against the original, as the paper (and benchmarks.metrics) measure it, from skimage directly."""
    return structural_similarity(ORIGINAL, image, channel_axis=2, data_range=255)


def fill_and_known() -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's starting point at 0.5 bpp, made here through the public API."""
    encoded = encode(ORIGINAL, options=EncodeOptions(bpp=0.5))
    return np.asarray(decode(encoded, inpainter="diffusion")), fast_decode(container.read_file(encoded))[1]


def newest_conditions() -> np.ndarray | None:
    """What the encoder's G reads of the benchmark's file at 0.5 bpp: its conditions, if it reads any."""
    if not settings.newest_generator().conditioned:
        return None
    return settings.conditions_of(container.read_file(encode(ORIGINAL, options=EncodeOptions(bpp=0.5))))


def test_generator_benchmark_reports_every_decoder(tmp_path, monkeypatch):
    """Each reported SSIM is that of the decoder it names, recomputed here."""
    Image.fromarray(ORIGINAL).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    networks = []  # the benchmark's, for the descent recomputed below
    load = generator.loaded_networks
    monkeypatch.setattr(generator, "loaded_networks", lambda weights: networks.append(load(weights)) or networks[0])
    assert generator.main([str(tmp_path), "--bpp", "0.5", "--steps", "0", "1", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert {"fill", "ppgn0", "ppgn1"} <= row.keys()
    assert row["stats_bytes"] == 0
    fill, known = fill_and_known()
    assert row["fill"]["ssim"] == pytest.approx(rgb_ssim(fill), abs=1e-6)
    for steps in (0, 1):
        refined = descent.inpaint_with(fill, known, Params(steps=steps), assist.Statistics(), networks[0], newest_conditions())
        assert row[f"ppgn{steps}"]["ssim"] == pytest.approx(rgb_ssim(refined), abs=1e-4)
    assert row["ppgn1"]["ssim"] != row["ppgn0"]["ssim"]


def test_generator_benchmark_counts_the_statistics_in_the_files(tmp_path):
    Image.fromarray(data.astronaut()[100:164, 200:248]).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    arguments = [str(tmp_path), "--bpp", "2", "--steps", "1", "--assist", "class,style", "--json", str(out)]
    assert generator.main(arguments) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["stats_bytes"] == 7 + 325 and row["bytes"] <= 2 * 64 * 48 / 8


def test_self_ensemble_of_one_view_is_g_and_more_views_are_reported(tmp_path):
    nothing = np.zeros(ORIGINAL.shape[:2], bool)
    conditions = newest_conditions()
    assert np.array_equal(generator.self_ensemble(ORIGINAL, nothing, 1, conditions),
                          onnx_generator.generate(ORIGINAL, nothing, conditions=conditions))
    Image.fromarray(ORIGINAL).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    assert generator.main([str(tmp_path), "--bpp", "0.5", "--steps", "0", "--ensemble", "2", "4", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    fill, known = fill_and_known()
    views = [np.s_[:, :], np.s_[:, ::-1], np.s_[::-1, :], np.s_[::-1, ::-1]]  # as is, left-right, upside down, both
    outputs = [onnx_generator.generate(fill[view], known[view], conditions=conditions)[view].astype(np.float64)
               for view in views]
    for count in (2, 4):
        averaged = np.clip(np.rint(np.mean(outputs[:count], axis=0)), 0, 255).astype(np.uint8)
        assert row[f"G x{count}"]["ssim"] == pytest.approx(rgb_ssim(averaged), abs=1e-6)


def test_several_generators_run_side_by_side_each_with_what_it_reads(tmp_path):
    """A conditioned G gets its file's conditions: its reported SSIM is that of G run on them."""
    torch.manual_seed(0)
    conditioned = networks.Generator(conditioned=True)
    torch.nn.init.normal_(conditioned.tail.weight, std=0.05)
    torch.nn.init.normal_(conditioned.modulation[2].weight, std=0.3)
    torch.save({k: v.half() for k, v in conditioned.state_dict().items()}, tmp_path / "mine.pt")
    blind = settings.GENERATORS[0].resource(".pt")
    Image.fromarray(ORIGINAL).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    assert generator.main([str(tmp_path), "--bpp", "0.5", "--steps", "0", "--weights", str(blind), str(tmp_path / "mine.pt"),
                           "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    fill, known = fill_and_known()
    encoded = encode(ORIGINAL, options=EncodeOptions(bpp=0.5))
    conditions = settings.conditions_of(container.read_file(encoded))
    loaded = (networks.load_efficientnet(), networks.load_generator(tmp_path / "mine.pt"))
    refined = descent.inpaint_with(fill, known, Params(), assist.Statistics(), loaded, conditions)
    assert row["mine ppgn0"]["ssim"] == pytest.approx(rgb_ssim(refined), abs=1e-4)
    assert row["generator ppgn0"]["ssim"] == pytest.approx(
        rgb_ssim(onnx_generator.generate(fill, known, generator=settings.GENERATORS[0])), abs=2e-3)
