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
    assert row["stats_bytes"] == 7 + 325
    assert 0 < row["ppgn1"]["ssim"] <= 1
