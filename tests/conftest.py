"""Fixtures more than one test file needs."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def make_fixation_set(tmp_path):
    """A generated fixation set in the layout abcodec.train_saliency reads (fixations.json and
    images/): noise photos, each with a bright square that two viewers looked at; tests must not
    need the real set."""

    def make(photos: int, size: tuple[int, int] = (128, 96)) -> Path:
        width, height = size
        folder = tmp_path / "fixations"
        (folder / "images").mkdir(parents=True)
        rng = np.random.default_rng(7)
        records = {}
        for index in range(photos):
            pixels = rng.integers(60, 120, (height, width, 3), dtype=np.uint8)
            side = max(8, min(width, height) // 4)
            top, left = rng.integers(0, height - side), rng.integers(0, width - side)
            pixels[top : top + side, left : left + side] = 250
            name = f"{index:03d}.png"
            Image.fromarray(pixels).save(folder / "images" / name)
            fixations = [[float(top + rng.integers(0, side)), float(left + rng.integers(0, side)), 0.1 * k, 0.2]
                         for k in range(8)]
            records[name] = {"width": width, "height": height, "viewers": [fixations[:4], fixations[4:]]}
        (folder / "fixations.json").write_text(json.dumps(records))
        return folder

    return make
