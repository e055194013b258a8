"""Files made for the generative decoder (inpainter 1): header fields, weights check, decoding."""

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import cli, container
from abcodec.codec import EncodeOptions, canvas_of, decode, encode, exact_pixels, packaged_generator_hash
from abcodec.container import AbcError

ASTRONAUT = data.astronaut()[::4, ::4].copy()


@pytest.fixture(scope="module")
def ppgn_file() -> bytes:
    return encode(ASTRONAUT, options=EncodeOptions(bpp=0.3, inpainter="ppgn"))


def test_header_names_the_descent_and_the_weights(ppgn_file):
    header = container.read_file(ppgn_file).header
    assert header.inpainter == container.INPAINTER_PPGN and header.steps == EncodeOptions().steps == 10
    assert header.generator == packaged_generator_hash() and len(header.generator) == 32


def test_decodes_deterministically_and_better_than_the_fast_decode(ppgn_file):
    first, second = np.asarray(decode(ppgn_file)), np.asarray(decode(ppgn_file))
    assert np.array_equal(first, second)
    fast = np.asarray(decode(ppgn_file, inpainter="diffusion"))
    ssim = {name: structural_similarity(ASTRONAUT, image, channel_axis=2, data_range=255)
            for name, image in (("ppgn", first), ("fast", fast))}
    assert ssim["ppgn"] > ssim["fast"]


def test_file_for_other_weights_is_refused_by_name(ppgn_file):
    abc = container.read_file(ppgn_file)
    fields = {**abc.header.__dict__, "generator": bytes(range(32))}
    other = container.write_file(container.AbcFile(container.Header(**fields), abc.mask, abc.pixels, {}, abc.base))
    with pytest.raises(AbcError, match="made for generator weights 000102"):
        decode(other)
    assert np.asarray(decode(other, inpainter="diffusion")).shape == ASTRONAUT.shape


def test_kept_pixels_stay_exact_in_the_block_layout():
    data_ = encode(ASTRONAUT, options=EncodeOptions(keep=0.3, q_luma=1, q_chroma=1, chroma_shift=0, inpainter="ppgn"))
    canvas, _ = canvas_of(container.read_file(data_))
    known = exact_pixels(canvas)
    assert known.any()
    assert np.array_equal(np.asarray(decode(data_))[known], np.asarray(decode(data_, inpainter="diffusion"))[known])


def test_pillow_and_cli_decode_ppgn_files(ppgn_file, tmp_path):
    with Image.open(io.BytesIO(ppgn_file)) as im:
        assert np.array_equal(np.asarray(im), np.asarray(decode(ppgn_file)))
    Image.fromarray(ASTRONAUT).save(tmp_path / "in.png")
    assert cli.encode_cli([str(tmp_path / "in.png"), str(tmp_path / "a.abc"), "--inpainter", "ppgn"]) == 0
    assert container.read_file((tmp_path / "a.abc").read_bytes()).header.inpainter == container.INPAINTER_PPGN
    assert cli.decode_cli([str(tmp_path / "a.abc"), str(tmp_path / "a.png")]) == 0


def test_steps_are_written_and_reported_as_progress(tmp_path, capsys):
    data_ = encode(ASTRONAUT, options=EncodeOptions(bpp=0.3, inpainter="ppgn", steps=3))
    assert container.read_file(data_).header.steps == 3
    seen = []
    decode(data_, progress=lambda done, total, left: seen.append((done, total, left >= 0)))
    assert seen == [(1, 3, True), (2, 3, True), (3, 3, True)]
    with pytest.raises(AbcError, match="steps sets the generative decoder's descent"):
        EncodeOptions(steps=3)
    cli.progress_bar(2, 4, 7.2)
    assert "[###############...............] 2/4 steps, 7 s left" in capsys.readouterr().err
