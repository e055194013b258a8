"""Files made for the generative decoder (inpainter 1): header fields, weights check, decoding."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from abcodec import av1, cli, container, limits
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.generative import assist, descent, onnx_generator, settings
from abcodec.generative.settings import packaged_generator_hash
from abcodec.reconstruct import fast_decode
from abcodec.container import AbcError

ASTRONAUT = data.astronaut()[::4, ::4].copy()
VECTORS = Path(__file__).resolve().parent.parent / "format_spec" / "vectors"


@pytest.fixture(scope="module")
def ppgn_file() -> bytes:
    return encode(ASTRONAUT, options=EncodeOptions(bpp=0.3, inpainter="ppgn"))


def test_header_names_the_descent_and_the_weights(ppgn_file):
    header = container.read_file(ppgn_file).header
    assert header.inpainter == container.INPAINTER_PPGN and header.steps == EncodeOptions().steps == 0
    assert header.generator == packaged_generator_hash()[:8] and len(header.generator) == 8
    assert header.params == (0.0,) * 8  # no DSCT: G alone
    with_steps = container.read_file(encode(ASTRONAUT, options=EncodeOptions(steps=3))).header
    assert with_steps.steps == 3 and with_steps.params[:3] == (np.float32(0.02), 10.0, 0.0)


def test_files_at_a_low_rate_ask_for_the_generative_decoder():
    header = container.read_file(encode(ASTRONAUT, options=EncodeOptions(bpp=0.25, effort=0))).header
    assert header.inpainter == container.INPAINTER_PPGN and header.generator == packaged_generator_hash()[:8]


def test_decodes_deterministically_and_better_than_the_fast_decode(ppgn_file):
    first, second = np.asarray(decode(ppgn_file)), np.asarray(decode(ppgn_file))
    assert np.array_equal(first, second)
    fast = np.asarray(decode(ppgn_file, inpainter="diffusion"))
    ssim = {name: structural_similarity(ASTRONAUT, image, channel_axis=2, data_range=255)
            for name, image in (("ppgn", first), ("fast", fast))}
    assert ssim["ppgn"] > ssim["fast"]


def test_file_for_other_weights_is_refused_by_name(ppgn_file):
    abc = container.read_file(ppgn_file)
    fields = {**abc.header.__dict__, "generator": bytes(range(8))}
    other = container.write_file(container.AbcFile(container.Header(**fields), abc.mask, abc.pixels, {}, abc.base))
    with pytest.raises(AbcError, match="made for generator weights 000102"):
        decode(other)
    assert np.asarray(decode(other, inpainter="diffusion")).shape == ASTRONAUT.shape


def test_kept_pixels_stay_exact_in_the_block_layout():
    data_ = encode(ASTRONAUT, options=EncodeOptions(inpainter="ppgn", blocks=BlockLayer(keep=0.3, q_luma=1, q_chroma=1, chroma_shift=0)))
    known = fast_decode(container.read_file(data_))[1]
    assert known.any()
    assert np.array_equal(np.asarray(decode(data_))[known], np.asarray(decode(data_, inpainter="diffusion"))[known])


def test_pillow_and_cli_decode_ppgn_files(ppgn_file, tmp_path):
    with Image.open(io.BytesIO(ppgn_file)) as im:
        assert np.array_equal(np.asarray(im), np.asarray(decode(ppgn_file)))
    Image.fromarray(ASTRONAUT).save(tmp_path / "in.png")
    assert cli.encode_cli([str(tmp_path / "in.png"), str(tmp_path / "a.abc"), "--inpainter", "ppgn"]) == 0
    written = (tmp_path / "a.abc").read_bytes()
    assert container.read_file(written).header.inpainter == container.INPAINTER_PPGN
    assert cli.decode_cli([str(tmp_path / "a.abc"), str(tmp_path / "a.png")]) == 0
    refined = np.asarray(decode(written))
    assert not np.array_equal(refined, np.asarray(decode(written, inpainter="diffusion")))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")), refined)


def test_steps_are_written_and_reported_as_progress(tmp_path, capsys):
    data_ = encode(ASTRONAUT, options=EncodeOptions(bpp=0.3, inpainter="ppgn", steps=3))
    assert container.read_file(data_).header.steps == 3
    seen = []
    decode(data_, progress=lambda done, total, left: seen.append((done, total, left >= 0)))
    assert seen == [(1, 3, True), (2, 3, True), (3, 3, True)]
    with pytest.raises(AbcError, match="steps sets the generative decoder's descent"):
        EncodeOptions(steps=3, inpainter="diffusion")
    cli.progress_bar(2, 4, 7.2)
    assert "[###############...............] 2/4, 7 s left" in capsys.readouterr().err


@pytest.fixture(scope="module")
def assisted_file() -> bytes:
    return encode(ASTRONAUT, options=EncodeOptions(bpp=0.3, steps=2, assist="style,class"))


def test_assistant_chunks_are_written_counted_and_switch_their_terms_on(assisted_file):
    abc = container.read_file(assisted_file)
    assert len(abc.ancillary[container.CHUNK_CLAS]) == 7 and len(abc.ancillary[container.CHUNK_GRAM]) == 325
    assert 8 * len(assisted_file) <= 0.3 * ASTRONAUT.shape[0] * ASTRONAUT.shape[1]
    params = abc.header.params
    assert params[2] > 0 and params[4] > 0 and abc.header.steps == 2
    stats = assist.statistics_from_chunks(abc.ancillary)
    assert stats.classes.tolist() == assist.class_code(ASTRONAUT).tolist()
    plain = container.read_file(encode(ASTRONAUT, options=EncodeOptions(bpp=0.3, steps=2)))
    assert plain.ancillary == {} and plain.header.params[2] == plain.header.params[4] == 0


def test_the_decoder_uses_the_chunks_it_finds(assisted_file):
    abc = container.read_file(assisted_file)
    without = container.write_file(container.AbcFile(abc.header, abc.mask, abc.pixels, {}, abc.base))
    assert not np.array_equal(np.asarray(decode(assisted_file)), np.asarray(decode(without)))
    assert np.array_equal(np.asarray(decode(assisted_file, inpainter="diffusion")),
                          np.asarray(decode(without, inpainter="diffusion")))


@pytest.mark.parametrize(("chunk", "payload", "message"), [
    (container.CHUNK_CLAS, b"\x02\x00\x01", "class code: 3 bytes for k = 2"),
    (container.CHUNK_CLAS, b"\x01\x03\xe8", "class code: classes \\[1000\\]"),
    (container.CHUNK_GRAM, assist.pack_gram(np.eye(4)), "Gram statistics of 4 channels"),
])
def test_malformed_assistant_chunks_are_refused_by_the_generative_decoder(assisted_file, chunk, payload, message):
    abc = container.read_file(assisted_file)
    broken = container.write_file(container.AbcFile(abc.header, abc.mask, abc.pixels, {chunk: payload}, abc.base))
    with pytest.raises(AbcError, match=message):
        decode(broken)
    assert np.asarray(decode(broken, inpainter="diffusion")).shape == ASTRONAUT.shape


@pytest.mark.parametrize(("options", "message"), [
    ({"assist": "colour"}, "assist colour is not one of class, style"),
    ({"assist": "class"}, "they need inpainter 'ppgn' and steps > 0"),
    ({"assist": "class", "steps": 5, "inpainter": "diffusion"}, "they need inpainter 'ppgn' and steps > 0"),
    ({"assist": 3, "steps": 5}, "assist must be a list of names"),
])
def test_assist_options_are_checked(options, message):
    with pytest.raises(AbcError, match=message):
        EncodeOptions(**options)


def test_assist_names_are_normalised():
    assert EncodeOptions(steps=1, assist=" style, class,style").assist == ("class", "style")
    assert EncodeOptions(steps=1, assist=["class"]).assist == ("class",)


def test_cli_and_pillow_take_assist(tmp_path):
    Image.fromarray(ASTRONAUT).save(tmp_path / "in.png")
    arguments = [str(tmp_path / "in.png"), str(tmp_path / "a.abc"), "--steps", "1", "--assist", "class"]
    assert cli.encode_cli(arguments) == 0
    assert set(container.read_file((tmp_path / "a.abc").read_bytes()).ancillary) == {container.CHUNK_CLAS}
    Image.fromarray(ASTRONAUT).save(tmp_path / "b.abc", steps=1, assist=("style",))
    assert set(container.read_file((tmp_path / "b.abc").read_bytes()).ancillary) == {container.CHUNK_GRAM}


def test_a_file_asking_for_too_many_steps_is_refused_unless_trusted(ppgn_file):
    abc = container.read_file(ppgn_file)
    coded = len(abc.base)
    steps = next(n for n in range(1, 10000)
                 if settings.work_units(abc.header, n, False) > max(limits.SMALL_FILE_WORK, limits.WORK_PER_BYTE * coded))
    header = container.Header(**{**abc.header.__dict__, "steps": steps, "params": (0.02, 10.0) + (0.0,) * 6})
    greedy = container.write_file(container.AbcFile(header, abc.mask, abc.pixels, {}, abc.base))
    assert steps > 1 and len(greedy) < 2 * coded
    with pytest.raises(AbcError, match=f"{steps} descent steps on 128x128 pixels is .* units of work, over the decoder's limit"):
        decode(greedy)
    assert np.asarray(decode(greedy, inpainter="diffusion")).shape == ASTRONAUT.shape
    with pytest.raises(OSError, match="descent steps"), Image.open(io.BytesIO(greedy)) as im:
        im.load()


@pytest.mark.parametrize(("options", "decoder"), [
    ({"bpp": 0.25}, "ppgn"), ({"bpp": 0.3}, "ppgn"), ({"blocks": {"keep": 0.5}}, "ppgn"), ({"bpp": 0.4}, "diffusion"),
    ({"bpp": 1.0, "steps": 2}, "ppgn"), ({"bpp": 1.0, "inpainter": "ppgn"}, "ppgn"),
    ({"bpp": 0.1, "inpainter": "diffusion"}, "diffusion"),
])
def test_the_decoder_a_file_names_follows_the_rate_unless_given(options, decoder):
    assert EncodeOptions(**options).decoder == decoder
    header = container.read_file(encode(ASTRONAUT[:32, :32], options=EncodeOptions(**options, effort=0))).header
    assert container.INPAINTERS[header.inpainter] == decoder


def test_grey_images_get_statistics_measured_as_rgb_and_decode():
    grey = ASTRONAUT[..., 1].copy()
    data_ = encode(grey, options=EncodeOptions(bpp=1.0, steps=1, assist="class,style"))
    abc = container.read_file(data_)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    assert assist.statistics_from_chunks(abc.ancillary).classes.tolist() == assist.class_code(rgb).tolist()
    assert np.asarray(decode(data_)).shape == grey.shape


def av1_file_for(generator: settings.ShippedGenerator, quantizer: int, shrink: float, steps: int = 0) -> bytes:
    """A file for inpainter 1 naming ``generator``, whose BASE is ASTRONAUT coded by libaom at
    ``quantizer`` on a frame shrunk ``shrink`` times: its conditions are known without parsing it."""
    height, width = ASTRONAUT.shape[:2]
    size = (round(width / shrink), round(height / shrink))
    frame = np.asarray(Image.fromarray(ASTRONAUT).resize(size, Image.Resampling.LANCZOS))
    header = container.Header(width=width, height=height, mode=container.MODE_RGB, block=4, q_luma=1, q_chroma=1,
                              chroma_shift=0, inpainter=container.INPAINTER_PPGN, generator=generator.sha256()[:8],
                              steps=steps, params=(0.02, 10.0) + (0.0,) * 6 if steps else (0.0,) * 8)
    return container.write_file(container.AbcFile(header, None, None, {}, av1.encode(frame, quantizer, speed=9)))


@pytest.mark.parametrize(("quantizer", "shrink"), [(50, 2.0), (20, 1.0)])
def test_a_conditioned_generator_is_given_the_files_quantizer_and_scale(quantizer, shrink):
    """The decode is the conditioned G run on the frame's base_q_idx (libaom's quantizer × 4 below
    62) and scale log2(shrink); other conditions would give other pixels."""
    newest = settings.newest_generator()
    assert newest.conditioned
    data_ = av1_file_for(newest, quantizer, shrink)
    fill, known = fast_decode(container.read_file(data_))
    expected = np.array([4 * quantizer, np.log2(shrink)], np.float32)
    decoded = np.asarray(decode(data_))
    assert np.array_equal(decoded, onnx_generator.generate(fill, known, generator=newest, conditions=expected))
    for other in (settings.NO_FRAME_CONDITIONS, (4 * quantizer, 0.0 if shrink > 1 else 1.0), (4 * quantizer + 60, np.log2(shrink))):
        made = onnx_generator.generate(fill, known, generator=newest, conditions=np.array(other, np.float32))
        assert np.abs(made.astype(int) - decoded).max() >= 1, other


@pytest.mark.parametrize("steps", [0, 1])
def test_each_file_decodes_with_the_generator_its_header_names(steps):
    """A file naming any shipped generator (the first, blind, and each conditioned one) decodes with
    that one, on ONNX Runtime (no steps) and in the torch descent alike."""
    outputs = {}
    for shipped in settings.GENERATORS:
        data_ = av1_file_for(shipped, 45, 1.0, steps)
        abc = container.read_file(data_)
        fill, known = fast_decode(abc)
        conditions = settings.conditions_of(abc) if shipped.conditioned else None
        if steps:
            expected = descent.inpaint(fill, known, settings.descent_of(abc.header), generator=shipped, conditions=conditions)
        else:
            expected = onnx_generator.generate(fill, known, generator=shipped, conditions=conditions)
        outputs[shipped.stem] = np.asarray(decode(data_))
        assert np.array_equal(outputs[shipped.stem], expected)
    decodes = list(outputs.values())
    assert all(np.abs(a.astype(int) - b).max() >= 1 for a, b in zip(decodes, decodes[1:]))


def test_the_assist_vector_keeps_decoding_with_the_first_generator():
    data_ = (VECTORS / "rgb-24x20-av1-assist.abc").read_bytes()
    abc = container.read_file(data_)
    assert settings.generator_of(abc.header) == settings.GENERATORS[0]
    fill, known = fast_decode(abc)
    expected = descent.inpaint(fill, known, settings.descent_of(abc.header), assist.statistics_from_chunks(abc.ancillary),
                               generator=settings.GENERATORS[0])
    assert np.array_equal(np.asarray(decode(data_, max_pixels=None)), expected)  # 10 steps: more work than its bytes pay
