"""The benchmark scripts run end to end on two tiny images, so they never rot."""

import json

import numpy as np
from PIL import Image
from skimage import data

from abcodec.demo import jpeg_at_most
from benchmarks import rd


def test_rd_runs_on_two_tiny_images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(data.astronaut()[::8, ::8]).save(folder / "a.png")
    Image.fromarray(data.coffee()[::8, ::8]).save(folder / "b.png")
    out_json, out_md = tmp_path / "rd.json", tmp_path / "rd.md"
    assert rd.main([str(folder), "--bpp", "0.5", "1.0", "--json", str(out_json), "--markdown", str(out_md)]) == 0
    result = json.loads(out_json.read_text())
    assert len(result["rows"]) == 4
    for row in result["rows"]:
        assert row["abc"]["bpp"] <= row["target_bpp"]
        assert 0 < row["abc"]["ssim"] <= 1 and 0 < row["jpeg"]["ssim"] <= 1
        assert row["jpeg"]["bytes"] <= row["abc"]["bytes"] or row["jpeg"]["quality"] == 1
    assert [s["target_bpp"] for s in result["summary"]] == [0.5, 1.0]
    assert "| 0.5 |" in out_md.read_text()


def test_rd_jpeg_search_respects_the_budget():
    image = data.astronaut()[::4, ::4]
    quality, jpeg = jpeg_at_most(image, 3000)
    assert len(jpeg) <= 3000 and quality > 1
    assert jpeg_at_most(image, 10)[0] == 1
    assert np.asarray(Image.open(__import__("io").BytesIO(jpeg))).shape == image.shape


def test_demo_encodes_decodes_and_compares(tmp_path, capsys):
    from abcodec import demo

    assert demo.main(["--out", str(tmp_path), "--bpp", "0.3"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample-decoded.png", "sample.abc", "sample.png"]
    assert summary["abc"]["bytes"] == (tmp_path / "sample.abc").stat().st_size
    assert summary["abc"]["bpp"] <= 0.3
    assert 0 < summary["abc"]["ssim"] < 1 and 0 < summary["jpeg"]["ssim"] < 1
