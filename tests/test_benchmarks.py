"""The benchmark scripts run end to end on two tiny images, so they never rot; their metrics are checked."""

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from abcodec.base import DEFAULT_SPEED
from abcodec.codec import EncodeOptions
from abcodec.demo import jpeg_at_most
from benchmarks import alpha, common, quality as quality_scale, rd, roi, speed, table1
from benchmarks.metrics import bd_rate, ms_ssim, quality, ssimulacra2, ssimulacra2_version

HAS_AVIF = common.avif_encoder() is not None
HAS_SSIMULACRA2 = ssimulacra2_version() is not None


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
    rates, qualities = ["0.75", "1", "1.5", "2"], ["5", "25", "50", "75"]
    assert rd.main([str(tiny_images), "--bpp", *rates, "--blocks", "--jpeg-quality", *qualities, "--bd-window", "0", "99",
                    "--abc-quality", "50", "70", "85", "95",
                    "--webp-quality", "10", "--avif-quality", *qualities, "--json", str(out["json"]),
                    "--csv", str(out["csv"]), "--plot", str(out["png"]), "--markdown", str(out["md"])]) == 0
    result = json.loads(out["json"].read_text())
    curves = {row["curve"] for row in result["curves"]}
    assert {"abc", "abc (quality)", "abc edge+random 4x4", "JPEG", "WebP"} <= curves
    assert ("AVIF" in curves) == HAS_AVIF
    assert len(result["points"]) == 2 * (4 + 4 + 4 + 4 + 1 + 4 * HAS_AVIF)
    metrics = {"ssim", "ms_ssim", "psnr"} | ({"ssimulacra2"} if HAS_SSIMULACRA2 else set())
    for point in result["points"]:
        assert 0 < point["ssim"] <= 1 and 0 < point["ms_ssim"] <= 1 and point["psnr"] > 0
        assert metrics <= set(point) and ("ssimulacra2" in point) == HAS_SSIMULACRA2
        assert point.get("ssimulacra2", 0) <= 100
    for row in result["equal_bytes_rows"]:
        assert row["abc"]["bpp"] <= row["target_bpp"]
        assert row["jpeg"]["bytes"] <= row["abc"]["bytes"] or row["jpeg"]["quality"] == 1
        assert ("avif" in row) == HAS_AVIF
        if HAS_AVIF:
            assert row["avif"]["bytes"] <= row["abc"]["bytes"] or row["avif"]["quality"] == 0
    assert [s["target_bpp"] for s in result["equal_bytes"]] == [0.75, 1.0, 1.5, 2.0] * 2
    assert list(result["bd_rate"]) == (["JPEG", "AVIF"] if HAS_AVIF else ["JPEG"])
    assert result["bd_rate"]["JPEG"]["WebP"] == dict.fromkeys(rd.measured_metrics(result["points"]))
    assert set(result["bd_rate"]["JPEG"]["abc edge+random 4x4"]) == metrics
    markdown = out["md"].read_text()
    assert "| 0.75 |" in markdown and "BD-rate vs JPEG" in markdown
    assert ("SSIMULACRA 2 |" in markdown) == HAS_SSIMULACRA2
    if HAS_AVIF:
        assert set(result["bd_rate"]["AVIF"]) == curves - {"AVIF"}
        assert set(result["bd_rate"]["AVIF"]["abc"]) == metrics
        assert result["bd_rate"]["AVIF"]["JPEG"]["ssim"] > 0  # JPEG needs more bits than AVIF
        assert f"BD-rate vs AVIF (Pillow, speed {common.PILLOW_AVIF_SPEED})" in markdown
        assert "AVIF fits abc's bytes" in markdown
    assert len(list(csv.DictReader(out["csv"].open()))) == len(result["points"])
    assert Image.open(out["png"]).format == "PNG"


def test_rd_skips_avif_without_an_encoder(tiny_images, monkeypatch, capsys):
    monkeypatch.setattr(rd, "avif_encoder", lambda: None)
    assert rd.main([str(tiny_images), "--limit", "1", "--bpp", "1", "--jpeg-quality", "50", "--webp-quality",
                    "--abc-quality", "--no-ssimulacra2"]) == 0
    captured = capsys.readouterr()
    assert "AVIF: skipped" in captured.out and "AVIF skipped" in captured.err
    assert "| AVIF |" not in captured.out and "AVIF bpp" not in captured.out
    assert "SSIMULACRA 2: not asked for" in captured.out


def test_rd_skips_ssimulacra2_without_the_package(tiny_images, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(rd, "ssimulacra2_version", lambda: None)
    out = tmp_path / "rd.json"
    assert rd.main([str(tiny_images), "--limit", "1", "--bpp", "1", "--jpeg-quality", "50", "--webp-quality",
                    "--avif-quality", "--abc-quality", "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert "SSIMULACRA 2: skipped" in captured.out and "SSIMULACRA 2 skipped" in captured.err
    assert all("ssimulacra2" not in point for point in json.loads(out.read_text())["points"])


def test_rd_draws_one_curve_per_av1_effort_and_quantiser_pair(tiny_images, tmp_path):
    out = tmp_path / "rd.json"
    other = 8 if DEFAULT_SPEED != 8 else 7
    avif = ["--avif-quality", "10", "--avif-speed", str(common.PILLOW_AVIF_SPEED), "9"] if HAS_AVIF else ["--avif-quality"]
    assert rd.main([str(tiny_images), "--limit", "1", "--bpp", "1", "2", "--speed", str(DEFAULT_SPEED), str(other),
                    "--blocks", "--quantisers", "24/32", "8/12", "--jpeg-quality", "--webp-quality", "--abc-quality", *avif,
                    "--no-ssimulacra2", "--json", str(out)]) == 0
    curves = {row["curve"] for row in json.loads(out.read_text())["curves"]}
    assert curves == {"abc", f"abc speed {other}", "abc edge+random 4x4", "abc edge+random 4x4 q8/12",
                      *(("AVIF", "AVIF speed 9") if HAS_AVIF else ())}
    with pytest.raises(SystemExit):
        rd.main([str(tiny_images), "--quantisers", "24"])
    with pytest.raises(SystemExit):
        rd.main([str(tiny_images), "--speed", "11"])


@pytest.mark.parametrize("effort", [0, 2])
def test_rd_encodes_abc_at_the_effort_asked_for(tiny_images, tmp_path, monkeypatch, effort):
    seen = []
    real = rd.abc_roundtrip
    monkeypatch.setattr(rd, "abc_roundtrip", lambda original, options: seen.append(options.effort) or real(original, options))
    out = tmp_path / "rd.json"
    assert rd.main([str(tiny_images), "--limit", "1", "--bpp", "0.5", "--abc-quality", "50", "--effort", str(effort),
                    "--jpeg-quality", "--webp-quality", "--avif-quality", "--no-ssimulacra2", "--json", str(out)]) == 0
    assert seen == [effort, effort]  # the bpp-swept point and the quality-swept one
    assert json.loads(out.read_text())["effort"] == effort
    assert rd.parse_args([]).effort == EncodeOptions().effort


def test_rd_names_abc_and_avif_curves_after_their_av1_effort():
    assert rd.base_curve(DEFAULT_SPEED) == "abc" and rd.base_curve(DEFAULT_SPEED - 2) == f"abc speed {DEFAULT_SPEED - 2}"
    assert rd.avif_curve(common.PILLOW_AVIF_SPEED) == "AVIF" and rd.avif_curve(3) == "AVIF speed 3"
    assert rd.is_abc("abc") and rd.is_abc("abc speed 4") and not rd.is_abc("AVIF")
    assert rd.parse_args([]).avif_speed == list(dict.fromkeys((common.PILLOW_AVIF_SPEED, DEFAULT_SPEED)))
    assert rd.parse_args([]).speed == [DEFAULT_SPEED]
    low = rd.DEFAULT_QUALITIES["AVIF"]
    assert low[0] == 0 and sum(q <= 35 for q in low) >= 8  # dense where abc's rates are (below ~0.6 bpp)


@pytest.mark.skipif(not HAS_AVIF, reason="this Pillow has no AVIF support")
def test_avif_search_respects_the_budget():
    image = data.astronaut()[::4, ::4]
    quality, avif = common.avif_at_most(image, 3000)
    assert len(avif) <= 3000 and quality > 0
    bigger = io.BytesIO()
    Image.fromarray(image).save(bigger, format="AVIF", quality=quality + 1, speed=common.PILLOW_AVIF_SPEED)
    assert bigger.tell() > 3000
    assert common.avif_at_most(image, 10)[0] == 0
    assert np.asarray(Image.open(io.BytesIO(avif)).convert("RGB")).shape == image.shape


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
    assert roi.main([str(tiny_images), "--bpp", "1.5", "1", "--json", str(out_json),
                     "--markdown", str(out_md), "--figure", str(figure), "--figure-image", "b.png"]) == 0
    result = json.loads(out_json.read_text())
    assert len(result["rows"]) == 2 * 2 * 2
    for row in result["rows"]:
        assert list(row["variants"]) == list(roi.VARIANTS[:4 if HAS_AVIF else 3])
        plain, mapped, jpeg = (row["variants"][v] for v in roi.VARIANTS[:3])
        assert plain["bpp"] <= row["target_bpp"] and mapped["bpp"] <= row["target_bpp"]
        assert jpeg["bytes"] <= mapped["bytes"] or jpeg["quality"] == 1
        if HAS_AVIF:
            avif = row["variants"]["AVIF"]
            assert avif["bytes"] <= mapped["bytes"] or avif["quality"] == 0
        assert 0 < row["region_share"] < 1 and "kept_inside" not in mapped
        parts = (mapped["ssim_inside"], mapped["ssim_outside"])
        assert min(parts) - 1e-9 <= mapped["ssim"] <= max(parts) + 1e-9
    assert {(s["region"], s["target_bpp"]) for s in result["summary"]} == {
        (region, bpp) for region in roi.REGIONS for bpp in (1.5, 1.0)}
    assert result["map_s_median"] > 0
    markdown = out_md.read_text()
    assert "| centre (25 % of pixels) | 1.5 | abc + map |" in markdown
    # the auto region is the share of the image the map ranks first
    assert all(abs(row["region_share"] - roi.IMPORTANT_AREA) < 0.05 for row in result["rows"] if row["region"] == "auto")
    assert len(result["against_avif"]) == (4 if HAS_AVIF else 0)
    for entry in result["against_avif"]:
        assert entry["delta_ssim_inside"] == pytest.approx(entry["abc_ssim_inside"] - entry["avif_ssim_inside"])
        assert entry["delta_ssim"] == pytest.approx(entry["abc_ssim"] - entry["avif_ssim"])
    assert ("abc with the map against AVIF" in markdown) == HAS_AVIF
    assert Image.open(figure).size[0] >= (5 + HAS_AVIF) * 64 * roi.FIGURE_SCALE


def test_roi_centre_is_the_centred_quarter():
    assert roi.centre_rectangle((512, 768)) == (192, 128, 384, 256)
    region = roi.region_of(np.zeros((512, 768, 3), dtype=np.uint8), "centre")
    assert region.pixels.mean() == 0.25 and region.pixels[128:384, 192:576].all()
    assert roi.parse_args(["--regions", "centre", "--bpp", "0.15"]).regions == ["centre"]


def test_roi_skips_avif_without_an_encoder(tiny_images, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(roi, "avif_encoder", lambda: None)
    out_json = tmp_path / "roi.json"
    assert roi.main([str(tiny_images), "--limit", "1", "--bpp", "1.5", "--regions", "centre", "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["against_avif"] == [] and "AVIF" not in result["rows"][0]["variants"]
    assert "AVIF: skipped" in capsys.readouterr().out


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


def test_alpha_measures_every_shape_and_the_alph_chunk_beats_png(tiny_images, tmp_path):
    out_json = tmp_path / "alpha.json"
    assert alpha.main([str(tiny_images), "--quality", "40", "--json", str(out_json)]) == 0
    rows = json.loads(out_json.read_text())["rows"]
    assert [(row["image"], row["shape"]) for row in rows] == [
        (image, shape) for image in ("a.png", "b.png") for shape in alpha.SHAPES]
    for row in rows:
        assert 0 < row["alph_bytes"] < row["png_bytes"] and row["pixels"] == 64 * 48


def test_alpha_planes_are_opaque_inside_and_transparent_at_the_corners():
    for shape in alpha.SHAPES:
        samples = alpha.plane(shape, (400, 600))
        assert samples[200, 300] == 255 and samples[0, 0] == 0


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


def test_bd_rate_does_not_depend_on_the_metric_direction():
    """Rate is fitted as a function of quality, so a lower-is-better metric gives the same delta."""
    anchor, test = curve([20, 23, 26, 29, 32]), curve([21, 25, 29, 33], rate_factor=0.7)
    flipped = [(rates, [-q for q in qualities]) for rates, qualities in (anchor, test)]
    assert bd_rate(*flipped) == pytest.approx(bd_rate(anchor, test), abs=1e-9) == pytest.approx(-30.0, abs=1e-9)


@pytest.mark.skipif(not HAS_SSIMULACRA2, reason="the ssimulacra2 package is not installed")
def test_ssimulacra2_is_100_for_identical_images_and_falls_with_jpeg_quality():
    image = data.astronaut()[::2, ::2]
    decoded = []
    for jpeg_quality in (90, 50, 10):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=jpeg_quality)
        decoded.append(np.asarray(Image.open(buffer)))
    scores = [ssimulacra2(image, pixels) for pixels in decoded]
    assert ssimulacra2(image, image) == pytest.approx(100.0)
    assert 100 > scores[0] > scores[1] > scores[2]
    assert quality(image, decoded[1], with_ssimulacra2=True)["ssimulacra2"] == scores[1]
    assert "ssimulacra2" not in quality(image, decoded[1])
    with pytest.raises(ValueError, match="8 pixels"):
        ssimulacra2(image[:7], image[:7])


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


@pytest.mark.skipif(not HAS_AVIF, reason="Pillow without AVIF")
def test_quality_against_avif_default_runs_on_two_tiny_images(tiny_images, tmp_path):
    """Each row is the mean over the images of what the codec writes and decodes, measured here
    again; the choice is the lowest quality whose mean SSIM reaches AVIF's."""
    out = tmp_path / "q.json"
    default = EncodeOptions().base_quality
    assert quality_scale.main([str(tiny_images), "--against-avif-default", "--qualities", "60", str(default),
                               "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    images = [np.asarray(Image.open(path).convert("RGB")) for path in sorted(tiny_images.iterdir())]
    avif_bpp = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="AVIF")
        avif_bpp.append(8 * len(buffer.getvalue()) / (image.shape[0] * image.shape[1]))
    assert result["avif"]["bpp"] == pytest.approx(np.mean(avif_bpp))
    assert result["default"] == result["quality"][str(default)]
    means = {int(q): row["ssim"] for q, row in result["quality"].items()}
    reaching = [q for q, value in means.items() if value >= result["avif"]["ssim"]]
    assert result["chosen"] == min(reaching, default=None)


def test_the_default_quality_is_the_lowest_that_reaches_the_target():
    means = {80: {"ssim": 0.95}, 90: {"ssim": 0.97}, 94: {"ssim": 0.976}, 98: {"ssim": 0.99}}
    assert quality_scale.lowest_quality_reaching(means, 0.976) == 94
    assert quality_scale.lowest_quality_reaching(means, 0.9) == 80
    assert quality_scale.lowest_quality_reaching(means, 0.995) is None
