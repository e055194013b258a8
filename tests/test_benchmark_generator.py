"""benchmarks/generator.py on tiny images: the fill, G(E(fill)) and the descent, side by side."""

import json

from PIL import Image
from skimage import data

from benchmarks import generator


def test_generator_benchmark_reports_every_decoder(tmp_path):
    Image.fromarray(data.astronaut()[100:164, 200:248]).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    assert generator.main([str(tmp_path), "--bpp", "0.5", "--steps", "0", "1", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert {"fill", "ppgn0", "ppgn1"} <= row.keys()
    assert row["stats_bytes"] == 0
    assert 0 < row["ppgn1"]["ssim"] <= 1


def test_generator_benchmark_counts_the_statistics_in_the_files(tmp_path):
    Image.fromarray(data.astronaut()[100:164, 200:248]).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    arguments = [str(tmp_path), "--bpp", "2", "--steps", "1", "--assist", "class,style", "--json", str(out)]
    assert generator.main(arguments) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["stats_bytes"] == 7 + 325 and row["bytes"] <= 2 * 64 * 48 / 8


def test_self_ensemble_of_one_view_is_g_and_more_views_are_reported(tmp_path):
    import numpy as np

    from abcodec.inpaint import refine

    fill = np.asarray(Image.fromarray(data.astronaut()[100:164, 200:248]))
    known = np.zeros(fill.shape[:2], bool)
    assert np.array_equal(generator.self_ensemble(fill, known, 1), refine.generate(fill, known))
    Image.fromarray(fill).save(tmp_path / "a.png")
    out = tmp_path / "result.json"
    assert generator.main([str(tmp_path), "--bpp", "0.5", "--steps", "0", "--ensemble", "2", "4", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert 0 < row["G x4"]["ssim"] <= 1 and "G x2" in row
