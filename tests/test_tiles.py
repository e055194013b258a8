"""The tiles of a large image and their blend (abcodec/generative/tiles.py), shared by both runners of G."""

import numpy as np
import pytest

from abcodec.generative import tiles


@pytest.mark.parametrize("length", [1, 37, 1024, 1025, 1500, 2048, 4000, 32768])
def test_tiles_cover_each_axis_with_few_equal_overlapping_tiles(length):
    starts, size = tiles.tile_starts(length), tiles.tile_size(length)
    assert starts[0] == 0 and starts[-1] + size == length and size <= tiles.TILE
    assert all(b - a <= size - tiles.OVERLAP for a, b in zip(starts, starts[1:]))
    assert len(starts) == max(1, -(-(length - tiles.OVERLAP) // (tiles.TILE - tiles.OVERLAP)))
    if length > tiles.TILE:
        assert len(starts) * size < 1.15 * length + tiles.OVERLAP * len(starts)


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
