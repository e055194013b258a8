"""The encoder's effort: it runs G on its own payload and names G only where the measured gain
reaches the threshold; effort 0 names by rate; an explicit inpainter wins; effort 2 tries slower
AV1 speeds. Expected gains come from decoding the file both ways and scikit-image's SSIM."""

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import base, cli, console, container, effort
from abcodec.codec import EncodeOptions, decode, encode
from abcodec.container import AbcError
from abcodec.generative import onnx_generator
from abcodec.generative.tiles import tile_size, tile_starts

PHOTO = data.astronaut()[::4, ::4].copy()
"""128×128, one of G's tiles: measured exactly as the decoder will decode it."""

LOW_RATE = 0.1
"""Below options.GENERATIVE_MAX_BPP: the rate alone names G."""


def inpainter(data_: bytes) -> str:
    return container.INPAINTERS[container.read_file(data_).header.inpainter]


@pytest.fixture(scope="module")
def decoders_gain() -> float:
    """G's SSIM gain over the fast decode of the photo's file at LOW_RATE, from decoding that file
    both ways (effort 0 names G without measuring), in scikit-image's SSIM."""
    made = encode(PHOTO, options=EncodeOptions(bpp=LOW_RATE, effort=0))
    fast, refined = (np.asarray(decode(made, inpainter=name)) for name in ("diffusion", "ppgn"))
    gain = (structural_similarity(PHOTO, refined, channel_axis=2, data_range=255)
            - structural_similarity(PHOTO, fast, channel_axis=2, data_range=255))
    assert gain > 0.001  # G does something here, so a threshold on either side tells them apart
    return gain


@pytest.mark.parametrize(("offset", "expected"), [(-2e-4, "ppgn"), (2e-4, "diffusion")])
def test_the_file_names_g_only_where_its_measured_gain_reaches_the_threshold(decoders_gain, monkeypatch, offset, expected):
    monkeypatch.setattr(effort, "MIN_GENERATIVE_GAIN", decoders_gain + offset)
    assert inpainter(encode(PHOTO, options=EncodeOptions(bpp=LOW_RATE))) == expected


def test_the_measured_gain_is_the_decoders(decoders_gain):
    made = container.read_file(encode(PHOTO, options=EncodeOptions(bpp=LOW_RATE, effort=0)))
    assert effort.generative_gain(PHOTO, made) == pytest.approx(decoders_gain, abs=1e-5)


@pytest.mark.parametrize("threshold", [-1.0, 1.0])
def test_the_decision_leaves_the_base_as_it_is(monkeypatch, threshold):
    """Only HEAD's inpainter differs: the BASE bytes, and so the file's size, are effort 0's."""
    by_rate = container.read_file(encode(PHOTO, options=EncodeOptions(bpp=LOW_RATE, effort=0)))
    monkeypatch.setattr(effort, "MIN_GENERATIVE_GAIN", threshold)
    measured = container.read_file(encode(PHOTO, options=EncodeOptions(bpp=LOW_RATE)))
    assert measured.base == by_rate.base
    assert container.INPAINTERS[measured.header.inpainter] == ("ppgn" if threshold < 0 else "diffusion")
    assert len(container.write_file(measured)) == len(container.write_file(by_rate))


def never_measured(*args, **kwargs):
    raise AssertionError("G was run, though nothing was to be measured")


@pytest.mark.parametrize(("bpp", "expected"), [(LOW_RATE, "ppgn"), (0.5, "diffusion")])
def test_effort_0_names_the_decoder_by_rate_alone(monkeypatch, bpp, expected):
    monkeypatch.setattr(effort, "generative_gain", never_measured)
    assert inpainter(encode(PHOTO, options=EncodeOptions(bpp=bpp, effort=0))) == expected


@pytest.mark.parametrize("given", [{"inpainter": "ppgn"}, {"inpainter": "diffusion"}, {"steps": 2}])
def test_an_explicit_inpainter_or_descent_wins_without_measuring(monkeypatch, given):
    monkeypatch.setattr(effort, "generative_gain", never_measured)
    monkeypatch.setattr(effort, "MIN_GENERATIVE_GAIN", 1.0)  # a measured file would name the fast decode
    named = inpainter(encode(PHOTO, options=EncodeOptions(bpp=LOW_RATE, **given)))
    assert named == given.get("inpainter", "ppgn")


def test_above_the_rate_rule_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(effort, "generative_gain", never_measured)
    assert inpainter(encode(PHOTO, options=EncodeOptions(bpp=0.5))) == "diffusion"


def test_the_command_line_inpainter_wins(monkeypatch, tmp_path):
    Image.fromarray(PHOTO).save(tmp_path / "in.png")
    monkeypatch.setattr(effort, "generative_gain", never_measured)
    arguments = [str(tmp_path / "in.png"), str(tmp_path / "a.abc"), "--bpp", str(LOW_RATE), "--inpainter", "ppgn"]
    assert cli.encode_cli([*arguments, "--effort", "1"]) == 0
    assert inpainter((tmp_path / "a.abc").read_bytes()) == "ppgn"


def test_the_command_line_and_pillow_take_effort(monkeypatch, tmp_path):
    Image.fromarray(PHOTO).save(tmp_path / "in.png")
    monkeypatch.setattr(effort, "MIN_GENERATIVE_GAIN", 1.0)
    assert cli.encode_cli([str(tmp_path / "in.png"), str(tmp_path / "a.abc"), "--bpp", str(LOW_RATE), "--effort", "0"]) == 0
    assert inpainter((tmp_path / "a.abc").read_bytes()) == "ppgn"
    out = io.BytesIO()
    Image.fromarray(PHOTO).save(out, format="ABC", bpp=LOW_RATE, effort=1)
    assert inpainter(out.getvalue()) == "diffusion"


@pytest.mark.parametrize(("value", "message"), [
    (3, "effort 3 outside 0..2"), (-1, "effort -1 outside 0..2"), (1.5, "effort must be an integer, got 1.5"),
    (True, "effort must be an integer, got True"), ("1", "effort must be an integer, got '1'"),
])
def test_bad_efforts_are_refused_by_name(value, message):
    with pytest.raises(AbcError, match=message):
        EncodeOptions(effort=value)


def test_bad_efforts_are_refused_by_the_command_line_and_pillow(tmp_path, capsys):
    Image.fromarray(PHOTO).save(tmp_path / "in.png")
    assert cli.encode_cli([str(tmp_path / "in.png"), str(tmp_path / "a.abc"), "--effort", "7"]) == console.EXIT_INPUT
    error = capsys.readouterr().err
    assert "effort 7 outside 0..2" in error and error.count("\n") == 1 and not (tmp_path / "a.abc").exists()
    with pytest.raises(ValueError, match="effort 7 outside 0..2"):
        Image.fromarray(PHOTO).save(tmp_path / "b.abc", effort=7)
    assert not (tmp_path / "b.abc").exists()


def test_a_tiny_image_is_given_the_fast_decode(monkeypatch):
    monkeypatch.setattr(effort, "generative_gain", never_measured)
    assert inpainter(encode(PHOTO[:6, :40], options=EncodeOptions(bpp=LOW_RATE))) == "diffusion"


def window(top_tile: int, left_tile: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    top, left = tile_starts(shape[0])[top_tile], tile_starts(shape[1])[left_tile]
    return np.s_[top : top + tile_size(shape[0]), left : left + tile_size(shape[1])]


@pytest.mark.parametrize(("shape", "expected"), [
    ((512, 768), [(0, 0)]),
    ((3000, 4000), [(1, 1), (3, 3)]),  # 4 rows of 5 tiles: a quarter and three quarters down the diagonal
    ((900, 3000), [(0, 1), (0, 3)]),  # one row of 4: a quarter and three quarters along it
])
def test_the_sampled_tiles_are_fixed_points_on_the_diagonal(shape, expected):
    assert effort.sampled_tiles(shape) == [window(row, column, shape) for row, column in expected]


def test_a_large_image_is_measured_on_two_tiles_only(monkeypatch):
    """G runs on the sampled tiles alone, each as the decoder's tile, so the measuring costs two tiles'
    worth of G however large the image."""
    image = np.asarray(Image.fromarray(data.astronaut()).resize((2200, 1100)))
    made = container.read_file(encode(image, options=EncodeOptions(bpp=LOW_RATE, effort=0)))
    seen = []
    monkeypatch.setattr(onnx_generator, "generate", lambda fill, known, **kw: seen.append(fill.shape) or fill)
    assert effort.generative_gain(image, made) == 0.0  # G that changes nothing gains nothing
    assert seen == [(tile_size(1100), tile_size(2200), 3)] * 2


def test_effort_2_keeps_the_best_fast_decode_among_the_slower_speeds(monkeypatch):
    """Speeds 6, 5 and 4 are coded, and of those within the budget, the payload whose fast decode
    has the best SSIM is kept."""
    coded, encode_base = {}, base.encode_base
    monkeypatch.setattr(base, "encode_base", lambda *args, speed, **kw: coded.setdefault(speed, encode_base(*args, speed=speed, **kw)))
    options = EncodeOptions(bpp=0.2, inpainter="diffusion", effort=2)
    made = container.read_file(encode(PHOTO, options=options))
    assert sorted(coded) == [4, 5, 6]
    overhead = len(container.write_file(made)) - len(made.base)
    fitting = [payload for payload in coded.values() if overhead + len(payload) <= options.byte_budget(128, 128)]
    quality = {payload: structural_similarity(PHOTO, base.decode_base_pixels(payload, 3, (128, 128)), channel_axis=2,
                                              data_range=255) for payload in fitting}
    assert len(set(quality.values())) == 3  # three different payloads, so the choice is one
    assert made.base == max(quality, key=quality.get)
