"""The fixation benchmarks: the saliency metrics (benchmarks/fixations.py) against values worked by
hand, benchmarks.saliency, and benchmarks.roi --fixations (benchmarks/fixation_quality.py) on a
generated fixation set."""

import json

import numpy as np
import pytest

from benchmarks import fixation_quality, fixations, roi
from benchmarks import saliency as saliency_benchmark

SALIENCY = np.array([[0.9, 0.1], [0.5, 0.3]])
FIXATED = np.array([[1.0, 0.0], [0.0, 2.0]])


def test_auc_judd_worked_by_hand():
    """Thresholds 0.9 and 0.3 (the fixated values): at 0.9 one pixel is above, a hit (TP 1/2, FP 0);
    at 0.3 three are, two hits (TP 1, FP 1/2). Area under (0,0) (0,½) (½,1) (1,1): 0.375 + 0.5.
    Negated, the thresholds -0.3 and -0.9 give (½,½) and (1,1): the chance diagonal, 0.5."""
    assert fixations.auc_judd(SALIENCY, FIXATED) == pytest.approx(0.875)
    assert fixations.auc_judd(-SALIENCY, FIXATED) == pytest.approx(0.5)


def test_nss_and_cc_worked_by_hand():
    """Mean 0.45, standard deviation √0.0875; fixated 0.9 and 0.3 standardise to ±0.45 and −0.15 over it."""
    assert fixations.nss(SALIENCY, FIXATED) == pytest.approx((0.45 - 0.15) / 2 / np.sqrt(0.0875))
    assert fixations.cc(SALIENCY, SALIENCY * 3 + 1) == pytest.approx(1)
    assert fixations.cc(SALIENCY, -SALIENCY) == pytest.approx(-1)


def test_fixation_maps_count_scaled_fixations_and_the_density_sums_to_1():
    photo = fixations.Photo("x", width=200, height=100, fixations=np.array([[20.0, 40.0], [20.4, 40.4], [60, 150]]))
    counts = fixations.fixation_map(photo, (50, 100), 0.5)
    assert counts[10, 20] == 2 and counts[30, 75] == 1 and counts.sum() == 3
    edge = fixations.Photo("y", width=200, height=100, fixations=np.array([[99.9, 199.9]]))
    assert fixations.fixation_map(edge, (50, 100), 0.5)[49, 99] == 1
    density = fixations.fixation_density(counts)
    assert density.sum() == pytest.approx(1) and np.unravel_index(density.argmax(), density.shape) == (10, 20)


def test_quality_where_people_look_weights_the_ssim_map_by_the_density():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    damaged = original.copy()
    damaged[:, 32:] = np.clip(damaged[:, 32:].astype(int) + rng.integers(-60, 60, (64, 32, 3)), 0, 255)
    density = np.zeros((64, 64))
    density[10:50, 5:25] = 1
    look, whole = fixation_quality.ssim_where_people_look(original, damaged, density / density.sum())
    assert look == pytest.approx(1) and whole < 0.97
    look, _ = fixation_quality.ssim_where_people_look(original, damaged, density[:, ::-1] / density.sum())
    assert look < whole - 0.02


def test_saliency_benchmark_scores_three_maps(make_fixation_set, tmp_path):
    folder = make_fixation_set(8)
    out = tmp_path / "saliency.json"
    assert saliency_benchmark.main([str(folder), "--json", str(out), "--side", "128"]) == 0
    result = json.loads(out.read_text())
    assert result["photos"] == 2 and set(result["scores"]) == set(saliency_benchmark.predictors(True))
    for scores in result["scores"].values():
        assert 0 <= scores["AUC-Judd"] <= 1 and -1 <= scores["CC"] <= 1
    assert result["timings"]["model_warm_s"] > 0 and result["timings"]["encode_auto_s"] > 0


def test_roi_fixations_compares_every_map_with_avif_at_no_more_bytes(make_fixation_set, tmp_path):
    folder = make_fixation_set(5, size=(480, 320))
    out, figure = tmp_path / "fix.json", tmp_path / "fix.png"
    assert roi.main(["--fixations", str(folder), "--bpp", "0.3", "--json", str(out), "--figure", str(figure)]) == 0
    result = json.loads(out.read_text())
    assert result["photos"] == 2
    for photo in result["per_photo"]:
        (row,) = photo["rows"]
        for variant in fixation_quality.VARIANTS:
            assert row[variant]["bpp"] <= 0.3
            assert row[f"AVIF @ {variant}"]["bytes"] <= row[variant]["bytes"]
    summary = {row["variant"]: row for row in result["summary"]}
    assert summary["abc auto"]["delta_look"] == pytest.approx(summary["abc auto"]["look"] - summary["abc auto"]["avif_look"])
    # the squares the viewers looked at are what a map asks the encoder to keep
    assert summary["abc fixations"]["look"] > summary["abc"]["look"]
    assert result["bd_rates"]["abc auto"]["look"] is None          # one rate: no curve to fit
    assert figure.stat().st_size > 0
