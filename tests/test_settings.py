"""What a file asks of the generative decoder (abcodec/generative/settings.py): the descent's settings
as the header stores them, the generator it names and the conditions a conditioned one reads."""

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

from abcodec import container
from abcodec.container import AbcError
from abcodec.generative import settings
from abcodec.generative.settings import Params


def test_params_round_trip_through_the_header_fields_and_refuse_negatives():
    params = Params(steps=5, noise_seed=9, step_size=0.2, classification=0.5, style=3.0)
    assert len(params.floats()) <= 8
    assert Params.from_header(5, 9, params.floats() + (0.0,)) == params
    with pytest.raises(AbcError, match="edge"):
        Params(edge=-1.0)


VECTORS = Path(__file__).resolve().parent.parent / "format_spec" / "vectors"


@pytest.mark.parametrize(("name", "expected"), [
    ("grey-16x9-av1", (160, 0.0)),  # generate.py's AV1_FULL: libaom quantizer 40, base_q_idx 4 · 40
    ("rgb-33x20-av1-shrunk", (160, 0.5 * math.log2(33 * 20 / (16 * 10)))),  # AV1_SHRUNK: a 16×10 frame
    ("rgb-24x20-av1-assist", (160, 0.0)),
    ("rgb-16x12-blocks", settings.NO_FRAME_CONDITIONS),  # no BASE
    ("rgb-24x20-base-blocks", settings.NO_FRAME_CONDITIONS),  # version 2: a DCT base, no AV1 frame
])
def test_conditions_are_the_frames_quantizer_and_scale(name, expected):
    conditions = settings.conditions_of(container.read_file((VECTORS / f"{name}.abc").read_bytes()))
    assert conditions.dtype == np.float32 and conditions.tolist() == pytest.approx(expected, abs=1e-6)


def with_generator(data: bytes, generator: bytes) -> container.Header:
    return dataclasses.replace(container.read_file(data).header, generator=generator)


@pytest.mark.parametrize("shipped", settings.GENERATORS, ids=lambda shipped: shipped.stem)
def test_each_shipped_generator_is_found_by_the_hash_a_file_names(shipped):
    data = (VECTORS / "rgb-24x20-av1-assist.abc").read_bytes()
    assert settings.generator_of(with_generator(data, shipped.sha256()[:8])) == shipped
    legacy = (VECTORS / "rgb-24x20-base-assist.abc").read_bytes()  # version 2: the whole hash
    assert settings.generator_of(with_generator(legacy, shipped.sha256())) == shipped


def test_the_assist_vector_names_the_first_generator_which_stays_blind():
    header = container.read_file((VECTORS / "rgb-24x20-av1-assist.abc").read_bytes()).header
    first = settings.generator_of(header)
    assert first == settings.GENERATORS[0] and first.stem == "weights/generator" and not first.conditioned


def test_a_file_for_unknown_weights_is_refused_by_name():
    header = with_generator((VECTORS / "rgb-24x20-av1-assist.abc").read_bytes(), bytes(range(8)))
    with pytest.raises(AbcError, match="HEAD: made for generator weights 0001020304050607…, this decoder has 82d6ed71a7dd530d…"):
        settings.generator_of(header)
    with pytest.raises(AbcError, match="made for generator weights 00010203"):
        settings.descent_of(header)


def test_the_encoder_names_the_newest_generator():
    assert settings.packaged_generator_hash() == settings.GENERATORS[-1].sha256() == settings.newest_generator().sha256()


def test_the_spec_lists_every_shipped_generator():
    """format_spec/abc.md §8 step 8's table of generators is the package's, hash and kind."""
    text = (VECTORS.parent / "abc.md").read_text()
    rows = re.findall(r"^\s*\| `(weights/[\w-]+)` \| `([0-9a-f]{16})` \| ([^|]+) \|$", text, re.M)
    assert [(stem, bytes.fromhex(prefix), "*conditioned*" in reads) for stem, prefix, reads in rows] == [
        (shipped.stem, shipped.sha256()[:8], shipped.conditioned) for shipped in settings.GENERATORS]


def test_every_shipped_generator_is_package_data():
    """An installed package (not this checkout) has only the files pyproject.toml lists."""
    tomllib = pytest.importorskip("tomllib")
    listed = tomllib.loads((VECTORS.parent.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["abcodec"]
    for shipped in settings.GENERATORS:
        assert {shipped.stem + suffix for suffix in (".pt", ".sha256", ".onnx")} <= set(listed), shipped.stem
