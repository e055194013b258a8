"""benchmarks/decoder_choice.py on two small photos: G's gains, the rule's threshold, each effort's files."""

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import effort
from abcodec.codec import EncodeOptions, decode, encode
from benchmarks import decoder_choice

PHOTOS = {"a.png": data.astronaut()[::4, ::4], "b.png": data.coffee()[::4, ::4]}
RATE = 0.1


def test_the_benchmark_reports_the_decoders_gains_and_what_each_effort_names(tmp_path):
    for name, image in PHOTOS.items():
        Image.fromarray(image).save(tmp_path / name)
    out, table = tmp_path / "result.json", tmp_path / "result.md"
    assert decoder_choice.main([str(tmp_path), "--bpp", str(RATE), "--efforts", "0", "1", "--json", str(out),
                                "--markdown", str(table)]) == 0
    result = json.loads(out.read_text())
    gains = []
    for row in result["rows"]:
        original = PHOTOS[row["image"]]
        made = encode(original, options=EncodeOptions(bpp=RATE, effort=0))
        fast, refined = (structural_similarity(original, np.asarray(decode(made, inpainter=name)), channel_axis=2,
                                               data_range=255) for name in ("diffusion", "ppgn"))
        assert row["gain"] == pytest.approx(refined - fast, abs=1e-5)
        assert row["sampled_gain"] == pytest.approx(row["gain"], abs=1e-9)  # one tile: the whole image
        assert row["efforts"]["0"]["names"] == "ppgn"
        assert row["efforts"]["1"]["names"] == ("ppgn" if row["sampled_gain"] >= effort.MIN_GENERATIVE_GAIN else "diffusion")
        assert row["efforts"]["1"]["bytes"] == row["efforts"]["0"]["bytes"] == row["bytes"]
        gains.append(refined - fast)
    assert result["rule_threshold"] == pytest.approx(np.mean(gains), abs=1e-5)
    text = table.read_text()
    assert "The rule's threshold, the mean gain over these files" in text and "| default | 1 |" in text
