"""The default generative decode without torch (abcodec/inpaint/refine.py): ONNX Runtime's G(E(x))
against the torch networks it was exported from, its tiles, and what it needs installed."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

import abcodec
from abcodec.inpaint import descent, ppgn, refine, tiles

ONNX_TOLERANCE = 1
"""Grey levels by which ONNX Runtime's output may differ from torch's, after rounding: both run the
same float32 graph, which agree to ~1e-4 grey levels before it (a value on a rounding edge moves)."""


@pytest.mark.parametrize("length", [1, 37, 1024, 1025, 1500, 2048, 4000, 32768])
def test_tiles_cover_each_axis_with_few_equal_overlapping_tiles(length):
    starts, size = tiles.tile_starts(length), tiles.tile_size(length)
    assert starts[0] == 0 and starts[-1] + size == length and size <= tiles.TILE
    assert all(b - a <= size - tiles.OVERLAP for a, b in zip(starts, starts[1:]))
    assert len(starts) == max(1, -(-(length - tiles.OVERLAP) // (tiles.TILE - tiles.OVERLAP)))
    if length > tiles.TILE:
        assert len(starts) * size < 1.15 * length + tiles.OVERLAP * len(starts)


def test_a_large_image_reports_its_tiles_as_progress(monkeypatch):
    monkeypatch.setattr(tiles, "TILE", 48)
    monkeypatch.setattr(tiles, "OVERLAP", 8)
    fill = astronaut_fill((96, 128))
    seen = []
    refine.generate(fill, np.zeros(fill.shape[:2], bool), progress=lambda done, total, left: seen.append((done, total)))
    assert seen == [(i, 9) for i in range(1, 10)]


def test_blend_of_identical_tiles_is_the_image(monkeypatch):
    monkeypatch.setattr(tiles, "TILE", 40)
    monkeypatch.setattr(tiles, "OVERLAP", 8)
    image = np.random.default_rng(0).integers(0, 256, (70, 130, 3), dtype=np.uint8)
    known = np.zeros(image.shape[:2], bool)
    assert len(tiles.tiles(known.shape)) == 2 * 4
    blended = tiles.blend_tiles(image, known, lambda window, index, whole: tiles.as_planes(image[window]))
    assert np.array_equal(blended, image)


def test_banded_blend_equals_the_whole_image_blend(monkeypatch):
    """Blending one row of tiles at a time and rounding each band gives what accumulating every
    tile over the whole image in float and rounding once gives, bit for bit."""
    monkeypatch.setattr(tiles, "TILE", 40)
    monkeypatch.setattr(tiles, "OVERLAP", 8)
    shape = (97, 130)
    fill = np.zeros((*shape, 3), np.uint8)
    known = np.zeros(shape, bool)

    def run(window, index, whole):
        return np.random.default_rng(index).uniform(-20, 280, (3, window[0].stop - window[0].start, window[1].stop - window[1].start)).astype(np.float32)

    windows = tiles.tiles(shape)
    assert len({w[0].start for w in windows}) == 3
    total, weights = np.zeros((3, *shape), np.float32), np.zeros(shape, np.float32)
    for index, window in enumerate(windows):
        weight = tiles.ramp(window, shape)
        total[(slice(None), *window)] += run(window, index, False) * weight
        weights[window] += weight
    expected = np.clip(np.rint(total / weights), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    assert np.array_equal(tiles.blend_tiles(fill, known, run), expected)


def astronaut_fill(size=(96, 128)) -> np.ndarray:
    return np.asarray(Image.fromarray(data.astronaut()).resize(size[::-1]).filter(
        __import__("PIL.ImageFilter", fromlist=["GaussianBlur"]).GaussianBlur(2)))


def test_onnx_model_matches_the_torch_networks_it_was_made_from():
    fill = astronaut_fill()
    known = np.zeros(fill.shape[:2], bool)
    onnx_out = refine.generate(fill, known).astype(int)
    torch_out = ppgn.inpaint(fill, known, descent.Params(), device="cpu").astype(int)
    assert np.abs(onnx_out - torch_out).max() <= ONNX_TOLERANCE
    assert np.abs(onnx_out - fill.astype(int)).mean() > 0.1  # G does something


def test_onnx_model_names_the_packaged_weights():
    meta = refine._session(None).get_modelmeta().custom_metadata_map
    assert meta[refine.ONNX_HASH_KEY] == descent.packaged_generator_hash().hex()


def test_packaged_model_runs_its_pixel_shuffles_as_convolutions():
    """abcodec.train's export rewrites them (ONNX Runtime's DepthToSpace is 3x slower than the
    one-hot convolution); the export itself checks that the outputs stay bit-identical."""
    import onnx

    from abcodec import train

    model = onnx.load_from_string(refine.resources.files("abcodec").joinpath(refine.ONNX_FILE).read_bytes())
    kinds = [node.op_type for node in model.graph.node]
    shuffles = [node for node in model.graph.node
                if node.op_type == "Transpose" and list(node.attribute[0].ints) == train.SHUFFLE_AS_TRANSPOSE]
    assert "DepthToSpace" not in kinds and kinds.count("ConvTranspose") == 2 and not shuffles


@pytest.mark.parametrize("tile", [None, 40])
def test_thread_count_does_not_change_the_pixels(tile, monkeypatch):
    if tile:  # several tiles, blended band by band, kept pixels across a tile border
        monkeypatch.setattr(tiles, "TILE", tile)
        monkeypatch.setattr(tiles, "OVERLAP", 8)
    fill = astronaut_fill((64, 80))
    known = np.zeros(fill.shape[:2], bool)
    known[10:40, 10:50] = True
    one, two = (refine.generate(fill, known, threads=n) for n in (1, 2))
    assert np.array_equal(one, two) and np.array_equal(one[known], fill[known])
    assert np.array_equal(refine.generate(fill, known, threads=1), one)


def test_default_decode_does_not_import_torch():
    code = ("import sys, numpy as np, abcodec; from skimage import data; "
            "image = abcodec.decode(abcodec.encode(data.astronaut()[::4, ::4])); "
            "assert image.size == (128, 128); assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(abcodec.__file__).parent.parent)
    assert done.returncode == 0, done.stderr


def test_a_file_with_descent_steps_without_torch_names_what_to_install(monkeypatch):
    data_ = abcodec.encode(data.astronaut()[::8, ::8], options=abcodec.EncodeOptions(steps=1))
    from abcodec import inpaint as package

    monkeypatch.delattr(package, "ppgn", raising=False)
    monkeypatch.setitem(sys.modules, "abcodec.inpaint.ppgn", None)
    with pytest.raises(abcodec.AbcError, match=r"1 descent steps, which need torch: pip install 'abcodec\[torch\]'"):
        abcodec.decode(data_)
    assert abcodec.decode(data_, inpainter="diffusion").size == (64, 64)
