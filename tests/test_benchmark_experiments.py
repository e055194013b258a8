"""benchmarks/av1_options.py and benchmarks/descent_base.py on one tiny image: they run, and what they
compare is compared fairly (an unchanged setting scores exactly as the anchor, the patched objective
is put back)."""

import json

from PIL import Image
from skimage import data

from abcodec.inpaint import ppgn
from benchmarks import av1_options, descent_base


def tiny(tmp_path):
    Image.fromarray(data.astronaut()[100:164, 200:264]).save(tmp_path / "a.png")
    return str(tmp_path)


def test_av1_options_scores_an_unchanged_setting_as_the_anchor(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert av1_options.main([tiny(tmp_path), "--variant", "default", "6", "--variant", "again", "6",
                             "--variant", "faster", "9", "--json", str(out)]) == 0
    curves = json.loads(out.read_text())["curves"]
    assert curves["again"][0]["bpp"] == curves["default"][0]["bpp"]
    assert curves["faster"][0]["bpp"] != curves["default"][0]["bpp"]
    assert "| again | 6 | – | +0.0 % | +0.0 % | +0.0 % |" in capsys.readouterr().out


def test_descent_base_reports_each_setting_and_restores_the_objective(tmp_path):
    out = tmp_path / "result.json"
    objective = ppgn._objective
    assert descent_base.main([tiny(tmp_path), "--bpp", "0.5", "--steps", "1", "--base-weight", "0", "1",
                              "--autoencoder", "10", "--json", str(out)]) == 0
    assert ppgn._objective is objective
    row = json.loads(out.read_text())["rows"][0]
    assert {"fill", "G", "w_E 10, w_B 0", "w_E 10, w_B 1"} <= row.keys()
    assert 0 < row["w_E 10, w_B 1"]["ssim"] <= 1
