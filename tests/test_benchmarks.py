"""The benchmark scripts run end to end on two tiny images, so they never rot; their metrics are checked."""

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from abcodec.demo import jpeg_at_most
from benchmarks import rd, roi, speed, table1
from benchmarks.metrics import bd_rate, ms_ssim


@pytest.fixture
def tiny_images(tmp_path):
    """Two 64×48 photographs, small enough for every script to run in a second or two."""
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(data.astronaut()[::8, ::8][:48]).save(folder / "a.png")
    Image.fromarray(data.coffee()[::8, ::8][:48, :64]).save(folder / "b.png")
    return folder


def test_rd_runs_on_two_tiny_images(tiny_images, tmp_path):
    out = {kind: tmp_path / f"rd.{kind}" for kind in ("json", "csv", "png", "md")}
    rates, jpeg_qualities = ["0.75", "1", "1.5", "2"], ["5", "25", "50", "75"]
    assert rd.main([str(tiny_images), "--bpp", *rates, "--blocks", "--jpeg-quality", *jpeg_qualities,
                    "--webp-quality", "10", "--avif-quality", "10", "--json", str(out["json"]), "--csv", str(out["csv"]),
                    "--plot", str(out["png"]), "--markdown", str(out["md"])]) == 0
    result = json.loads(out["json"].read_text())
    curves = {row["curve"] for row in result["curves"]}
    assert {"abc base", "abc edge+random 4x4", "JPEG", "WebP"} <= curves
    assert len(result["points"]) == 2 * (4 + 4 + 4 + 1 + ("AVIF" in curves))
    for point in result["points"]:
        assert 0 < point["ssim"] <= 1 and 0 < point["ms_ssim"] <= 1 and point["psnr"] > 0
    for row in result["equal_bytes_rows"]:
        assert row["abc"]["bpp"] <= row["target_bpp"]
        assert row["jpeg"]["bytes"] <= row["abc"]["bytes"] or row["jpeg"]["quality"] == 1
    assert [s["target_bpp"] for s in result["equal_bytes"]] == [0.75, 1.0, 1.5, 2.0] * 2
    assert result["bd_rate"]["WebP"] == {"ssim": None, "ms_ssim": None, "psnr": None}
    assert set(result["bd_rate"]["abc edge+random 4x4"]) == {"ssim", "ms_ssim", "psnr"}
    assert len(list(csv.DictReader(out["csv"].open()))) == len(result["points"])
    assert Image.open(out["png"]).format == "PNG"
    assert "| 0.75 |" in out["md"].read_text() and "BD-rate vs JPEG" in out["md"].read_text()


def test_rd_skips_avif_without_an_encoder(tiny_images, monkeypatch, capsys):
    monkeypatch.setattr(rd, "avif_encoder", lambda: None)
    assert rd.main([str(tiny_images), "--limit", "1", "--bpp", "1", "--jpeg-quality", "50", "--webp-quality"]) == 0
    captured = capsys.readouterr()
    assert "AVIF: skipped" in captured.out and "AVIF skipped" in captured.err
    assert "| AVIF |" not in captured.out


def test_rd_draws_one_abc_curve_per_quantiser_pair_and_base_stride(tiny_images, tmp_path):
    out = tmp_path / "rd.json"
    assert rd.main([str(tiny_images), "--limit", "1", "--bpp", "1", "2", "--base-stride", "auto", "3", "--blocks",
                    "--quantisers", "24/32", "8/12", "--jpeg-quality", "--webp-quality", "--avif-quality",
                    "--json", str(out)]) == 0
    curves = {row["curve"] for row in json.loads(out.read_text())["curves"]}
    assert curves == {"abc base", "abc base stride 3", "abc edge+random 4x4", "abc edge+random 4x4 q8/12"}
    with pytest.raises(SystemExit):
        rd.main([str(tiny_images), "--quantisers", "24"])


def test_rd_jpeg_search_respects_the_budget():
    image = data.astronaut()[::4, ::4]
    quality, jpeg = jpeg_at_most(image, 3000)
    assert len(jpeg) <= 3000 and quality > 1
    assert jpeg_at_most(image, 10)[0] == 1
    assert np.asarray(Image.open(io.BytesIO(jpeg))).shape == image.shape


def test_table1_runs_on_two_tiny_images(tiny_images, tmp_path):
    out_json, out_md, grid = tmp_path / "t1.json", tmp_path / "t1.md", tmp_path / "grid.png"
    assert table1.main([str(tiny_images), "--bpp", "1.5", "--crop", "48", "--json", str(out_json),
                        "--markdown", str(out_md), "--figure", str(grid), "--figure-images", "b.png"]) == 0
    result = json.loads(out_json.read_text())
    assert list(result["sets"]) == ["full images", "48×48 crops"]
    for rows in result["sets"].values():
        assert [row["row"] for row in rows] == [row.name for row in table1.table_rows(1.5)]
        measured = {row["row"]: row for row in rows}
        assert measured["JPEG quality 50"]["ssim"] > measured["JPEG quality 1"]["ssim"]
        abc_rows = [row.name for row in table1.table_rows(1.5) if row.is_abc]
        assert len(abc_rows) == 7
        for name in abc_rows:
            assert 0 <= measured[name]["kept"] <= 1 and 0 < measured[name]["ssim"] <= 1
            # The style row's 337 bytes of Gram statistics may alone exceed a tiny crop's budget.
            assert measured[name]["bpp"] <= 1.5 or name == "B+R with style loss"
    assert "| B+R with style loss | 0.398 | " in out_md.read_text()
    assert Image.open(grid).size[0] >= 5 * 48


def test_table1_refuses_an_unknown_figure_image(tiny_images, tmp_path):
    assert table1.main([str(tiny_images), "--crop", "32", "--figure", str(tmp_path / "g.png"),
                        "--figure-images", "missing.png"]) == 1


def test_roi_runs_on_two_tiny_images(tiny_images, tmp_path):
    out_json, out_md, figure = tmp_path / "roi.json", tmp_path / "roi.md", tmp_path / "roi.png"
    assert roi.main([str(tiny_images), "--bpp", "1.5", "--background", "0.25", "0", "--json", str(out_json),
                     "--markdown", str(out_md), "--figure", str(figure), "--figure-image", "b.png"]) == 0
    result = json.loads(out_json.read_text())
    assert len(result["rows"]) == 2 * 2 * 2
    for row in result["rows"]:
        plain, mapped, jpeg = (row["variants"][v] for v in roi.VARIANTS)
        assert plain["bpp"] <= 1.5 and mapped["bpp"] <= 1.5
        assert jpeg["bytes"] <= mapped["bytes"] or jpeg["quality"] == 1
        assert 0 < row["region_share"] < 1 and "kept_inside" not in mapped
        parts = (mapped["ssim_inside"], mapped["ssim_outside"])
        assert min(parts) - 1e-9 <= mapped["ssim"] <= max(parts) + 1e-9
    assert {(s["region"], s["background"]) for s in result["summary"]} == {
        (region, background) for region in roi.REGIONS for background in (0.25, 0.0)}
    assert result["map_s_median"] > 0 and result["classifier_load_s"] > 0
    assert "| centre (25 % of pixels) | 0.25 | 1.5 | abc + map |" in out_md.read_text()
    assert Image.open(figure).size[0] >= 5 * 64 * roi.FIGURE_SCALE


def test_roi_without_a_base_counts_kept_blocks(tiny_images, tmp_path):
    out_json = tmp_path / "roi.json"
    assert roi.main([str(tiny_images), "--bpp", "1.5", "--regions", "centre", "--no-base", "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["layout"] == "blocks only (--no-base)"
    for row in result["rows"]:
        assert row["variants"]["abc + map"]["kept_inside"] > row["variants"]["abc"]["kept_inside"]


def test_speed_runs_on_two_tiny_sizes(tiny_images, tmp_path):
    out_json = tmp_path / "speed.json"
    arguments = [str(tiny_images), "--sizes", "48x32", "32x32", "--steps", "0", "2", "--repeats", "1"]
    assert speed.main([*arguments, "--json", str(out_json)]) == 0
    rows = json.loads(out_json.read_text())["rows"]
    per_size = [("encode", "any"), ("decode", "diffusion"), ("decode", "ppgn, 0 steps"), ("decode", "ppgn, 2 steps")]
    assert [(r["operation"], r["inpainter"], r["size"]) for r in rows if r["device"] == "cpu"] == [
        (*job, size) for size in ("48x32", "32x32") for job in per_size]
    for row in rows:
        assert row["seconds"] > 0 and row["peak_rss_mib"] > 0 and row["traced_peak_mib"] > 0
        assert 0 <= row["rss_growth_mib"] <= row["peak_rss_mib"]


def curve(qualities, rate_factor=1.0):
    """(rates, qualities) of a codec-like curve whose log-rate is exactly a cubic in quality."""
    q = np.asarray(qualities, dtype=float)
    return list(rate_factor * np.exp((q - 30) / 6 + ((q - 30) / 20) ** 3)), list(q)


@pytest.mark.parametrize(("factor", "expected"), [(0.5, -50.0), (2.0, 100.0), (1.0, 0.0)])
def test_bd_rate_of_a_scaled_curve_is_the_scale(factor, expected):
    qualities = [22, 26, 30, 34, 38]
    assert bd_rate(curve(qualities), curve(qualities, factor)) == pytest.approx(expected, abs=1e-9)


def test_bd_rate_integrates_only_the_shared_quality_interval():
    anchor = curve([20, 23, 26, 29, 32])
    test = curve([27, 31, 35, 39, 43], rate_factor=0.25)
    assert bd_rate(anchor, test) == pytest.approx(-75.0, abs=1e-9)


def test_bd_rate_refuses_disjoint_curves_and_short_ones():
    assert bd_rate(curve([20, 22, 24, 26]), curve([30, 32, 34, 36])) is None
    with pytest.raises(ValueError, match="4 or more"):
        bd_rate(curve([20, 25, 30]), curve([20, 25, 30, 35]))


def test_ms_ssim_is_one_for_identical_images_and_falls_with_noise():
    image = data.astronaut()[:256, :256]
    rng = np.random.default_rng(0)
    noisy = [np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8) for sigma in (5, 15, 40)]
    scores = [ms_ssim(image, n) for n in noisy]
    assert ms_ssim(image, image) == pytest.approx(1.0)
    assert 1 > scores[0] > scores[1] > scores[2] > 0


def test_ms_ssim_takes_grey_and_small_images_and_refuses_tinier_ones():
    grey = data.camera()[::16, ::16]
    assert ms_ssim(grey, grey) == pytest.approx(1.0)
    assert 0 < ms_ssim(grey, np.flipud(grey)) < 1
    with pytest.raises(ValueError, match="16 pixels"):
        ms_ssim(grey[:8], grey[:8])
