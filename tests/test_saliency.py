"""The saliency model behind --importance auto (abcodec/saliency.py) and its training command
(abcodec/train_saliency.py), on generated fixations: tests must not need the fixation set."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import abcodec
from abcodec import cli, saliency, train_saliency


def test_the_copy_the_model_sees_has_the_aspect_ratio_and_sides_the_backbone_takes():
    assert saliency.input_size(768, 512) == (512, 352)      # 341.3 rounds to 11 × 32
    assert saliency.input_size(512, 768) == (352, 512)
    assert saliency.input_size(4000, 100) == (512, 32)        # never below one output cell
    assert saliency.input_size(20, 20) == (512, 512)


def test_the_packaged_model_gives_a_probability_per_cell():
    """The graph ends in a log-softmax over the grid: its exponent sums to 1, whatever the content."""
    session = saliency._session(None)
    for height, width in ((352, 512), (512, 352), (64, 96)):
        pixels = np.random.default_rng(height).uniform(0, 255, (1, 3, height, width)).astype(np.float32)
        log_density = session.run(None, {"image": pixels})[0]
        assert log_density.shape == (1, 1, height // saliency.GRID_STRIDE, width // saliency.GRID_STRIDE)
        assert np.exp(log_density.astype(np.float64)).sum() == pytest.approx(1, abs=1e-4)


def test_the_density_follows_the_subject_of_the_picture():
    cat = data.chelsea()
    density = saliency.fixation_density(cat)
    assert density.shape == cat.shape[:2] and density.dtype == np.float32 and not density.flags.writeable
    assert density.min() >= 0
    face, corners = density[100:200, 150:300].mean(), (density[:60, :60].mean() + density[:60, -60:].mean()) / 2
    assert face > 20 * corners
    # the same cat on either half of a noise canvas: the density moves with it
    canvas = np.clip(128 + np.random.default_rng(0).normal(0, 20, (300, 902, 1)), 0, 255).astype(np.uint8)
    left, right = np.repeat(canvas, 3, axis=2), np.repeat(canvas, 3, axis=2)
    left[:, :451], right[:, 451:] = cat, cat
    on_left, on_right = saliency.fixation_density(left), saliency.fixation_density(right)
    assert on_left[:, :451].mean() > 10 * on_left[:, 451:].mean()
    assert on_right[:, 451:].mean() > 10 * on_right[:, :451].mean()


def test_grey_and_tiny_images_get_a_density_too():
    grey = data.camera()[::4, ::4]
    assert saliency.fixation_density(grey).shape == grey.shape
    assert saliency.fixation_density(np.full((3, 5, 3), 90, np.uint8)).shape == (3, 5)


def test_auto_runs_without_torch():
    script = ("import sys, numpy as np; from skimage import data; from abcodec import EncodeOptions, encode; "
              "encode(data.chelsea(), options=EncodeOptions(bpp=0.1), importance='auto'); "
              "assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=Path(abcodec.__file__).parent.parent)
    assert result.returncode == 0, result.stderr


def test_the_held_out_photos_are_every_fourth_in_name_order(make_fixation_set):
    photos = train_saliency.load_fixations(make_fixation_set(9))
    training, held_out = train_saliency.split(photos)
    assert [p.name for p in held_out] == ["000.png", "004.png", "008.png"]
    assert len(training) == 6 and not {p.name for p in training} & {p.name for p in held_out}
    assert photos[0].fixations.shape == (8, 2)


def test_fixations_land_in_their_cells_and_mirror_with_the_photo():
    photo = train_saliency.Photo("x", width=100, height=50, fixations=np.array([[0.0, 0.0], [49.9, 99.9], [25, 50]]))
    assert train_saliency.fixation_cells(photo, (5, 10)).tolist() == [0, 49, 25]
    assert train_saliency.fixation_cells(photo, (5, 10), flipped=True).tolist() == [9, 40, 24]


def test_training_learns_where_the_viewers_looked_and_exports_a_float16_model(make_fixation_set, tmp_path, monkeypatch):
    """A few epochs on the bright squares: the exported model must rank an unseen square first, and
    its weights are stored as float16 (the file is about half of float32's)."""
    monkeypatch.setattr(train_saliency, "EPOCHS", 4)
    folder = make_fixation_set(12)
    out = tmp_path / "saliency.onnx"
    assert train_saliency.main([str(folder), "--out", str(out)]) == 0
    assert 0.5e6 < out.stat().st_size < 2.5e6           # 0.7 M weights: 2.8 MB as float32
    monkeypatch.setattr(saliency, "ONNX_FILE", str(out))
    monkeypatch.setattr(saliency.resources, "files", lambda package: Path("/"))
    saliency._session.cache_clear()
    try:
        pixels = np.full((96, 128, 3), 90, np.uint8)
        pixels[60:84, 16:40] = 250
        density = saliency.fixation_density(pixels)
        assert density[60:84, 16:40].mean() > 3 * density.mean()
    finally:
        saliency._session.cache_clear()


def test_threads_reach_the_models_session(monkeypatch, tmp_path):
    """abc-encode --threads N with auto sets ONNX Runtime's thread count, as it set torch's before."""
    asked = []
    real = saliency._session
    monkeypatch.setattr(saliency, "_session", lambda threads: asked.append(threads) or real(threads))
    monkeypatch.setattr(saliency, "_threads", None)
    image = data.chelsea()[::4, ::4]
    saliency.fixation_density(image)
    saliency.fixation_density(image, threads=2)
    source = tmp_path / "in.png"
    Image.fromarray(image).save(source)
    assert cli.encode_cli([str(source), str(tmp_path / "out.abc"), "--importance", "auto", "--threads", "1"]) == 0
    assert asked == [None, 2, 1]
