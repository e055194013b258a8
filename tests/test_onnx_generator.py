"""The default generative decode without torch (abcodec/generative/onnx_generator.py): ONNX Runtime's
G(E(x)) against the torch networks it was exported from, its tiles, and what it needs installed."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import abcodec
from abcodec.generative import descent, onnx_generator, tiles
from abcodec.generative import settings
from abcodec.generative.settings import Params

ONNX_TOLERANCE = 1
"""Grey levels by which ONNX Runtime's output may differ from torch's, after rounding: both run the
same float32 graph, which agree to ~1e-4 grey levels before it (a value on a rounding edge moves)."""


def test_a_large_image_reports_its_tiles_as_progress(monkeypatch):
    monkeypatch.setattr(tiles, "TILE", 48)
    monkeypatch.setattr(tiles, "OVERLAP", 8)
    fill = astronaut_fill((96, 128))
    seen = []
    onnx_generator.generate(fill, np.zeros(fill.shape[:2], bool), conditions=NEWEST_CONDITIONS,
                            progress=lambda done, total, left: seen.append((done, total)))
    assert seen == [(i, 9) for i in range(1, 10)]


def astronaut_fill(size=(96, 128)) -> np.ndarray:
    return np.asarray(Image.fromarray(data.astronaut()).resize(size[::-1]).filter(
        __import__("PIL.ImageFilter", fromlist=["GaussianBlur"]).GaussianBlur(2)))


SAMPLE_CONDITIONS = {False: None, True: np.array([120.0, 0.5], np.float32)}
"""What each kind of generator is run with: a blind one nothing, a conditioned one a mid quantizer
on a frame shrunk by 2^0.5."""
NEWEST_CONDITIONS = SAMPLE_CONDITIONS[settings.newest_generator().conditioned]


@pytest.mark.parametrize("shipped", settings.GENERATORS, ids=lambda shipped: shipped.stem)
def test_onnx_model_matches_the_torch_networks_it_was_made_from(shipped):
    fill = astronaut_fill()
    known = np.zeros(fill.shape[:2], bool)
    conditions = SAMPLE_CONDITIONS[shipped.conditioned]
    onnx_out = onnx_generator.generate(fill, known, generator=shipped, conditions=conditions).astype(int)
    torch_out = descent.inpaint(fill, known, Params(), generator=shipped, conditions=conditions, device="cpu").astype(int)
    assert np.abs(onnx_out - torch_out).max() <= ONNX_TOLERANCE
    assert np.abs(onnx_out - fill.astype(int)).mean() > 0.1  # G does something


@pytest.mark.parametrize("shipped", settings.GENERATORS, ids=lambda shipped: shipped.stem)
def test_onnx_model_names_its_weights_and_takes_the_conditions_its_generator_reads(shipped):
    session = onnx_generator._session(shipped.stem, None)
    assert session.get_modelmeta().custom_metadata_map[onnx_generator.ONNX_HASH_KEY] == shipped.sha256().hex()
    assert [i.name for i in session.get_inputs()] == ["fill", "conditions"][: 1 + shipped.conditioned]


@pytest.mark.parametrize("shipped", settings.GENERATORS, ids=lambda shipped: shipped.stem)
def test_conditions_go_to_a_conditioned_generator_only(shipped):
    fill = astronaut_fill((32, 32))
    known = np.zeros(fill.shape[:2], bool)
    wrong = None if shipped.conditioned else np.array([120.0, 0.5], np.float32)
    with pytest.raises(ValueError, match="reads the file's conditions" if shipped.conditioned else "takes no conditions"):
        onnx_generator.generate(fill, known, generator=shipped, conditions=wrong)


@pytest.mark.parametrize("tile", [None, 40])
def test_thread_count_does_not_change_the_pixels(tile, monkeypatch):
    if tile:  # several tiles, blended band by band, kept pixels across a tile border
        monkeypatch.setattr(tiles, "TILE", tile)
        monkeypatch.setattr(tiles, "OVERLAP", 8)
    fill = astronaut_fill((64, 80))
    known = np.zeros(fill.shape[:2], bool)
    known[10:40, 10:50] = True
    one, two = (onnx_generator.generate(fill, known, conditions=NEWEST_CONDITIONS, threads=n) for n in (1, 2))
    assert np.array_equal(one, two) and np.array_equal(one[known], fill[known])
    assert np.array_equal(onnx_generator.generate(fill, known, conditions=NEWEST_CONDITIONS, threads=1), one)


def test_default_decode_does_not_import_torch():
    code = ("import sys, numpy as np, abcodec; from skimage import data; "
            "image = abcodec.decode(abcodec.encode(data.astronaut()[::4, ::4])); "
            "assert image.size == (128, 128); assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(abcodec.__file__).parent.parent)
    assert done.returncode == 0, done.stderr


def test_a_file_with_descent_steps_without_torch_names_what_to_install(monkeypatch):
    data_ = abcodec.encode(data.astronaut()[::8, ::8], options=abcodec.EncodeOptions(steps=1))
    from abcodec import generative as package

    monkeypatch.delattr(package, "descent", raising=False)
    monkeypatch.setitem(sys.modules, "abcodec.generative.descent", None)
    with pytest.raises(abcodec.AbcError, match=r"1 descent steps, which need torch: pip install 'abcodec\[torch\]'"):
        abcodec.decode(data_)
    assert abcodec.decode(data_, inpainter="diffusion").size == (64, 64)
