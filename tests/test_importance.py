"""Importance maps (abcodec/importance.py) and what they do to the encoder: more of the budget
inside a region of interest, the same bytes, ordinary files."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

import abcodec
from abcodec import cli, console, container
from abcodec.codec import BlockLayer, EncodeOptions, decode, encode
from abcodec.reconstruct import canvas_of
from abcodec.container import AbcError
from abcodec.importance import (
    BACKGROUND_IMPORTANCE, IMPORTANT_AREA, as_importance, block_weights, emphasis, parse_roi, ranks, resolve_importance,
)
from abcodec.mask import block_grid_shape, block_order, mask_from_order, prioritise

ROI = (64, 64, 96, 96)
"""Around the astronaut's face in the 256×256 test image."""


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()[::2, ::2].copy()


@pytest.fixture
def astronaut_path(astronaut, tmp_path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(astronaut).save(path)
    return path


def left_black_right_white(tmp_path: Path, mode: str) -> Path:
    """A 4×2 map, black on the left half and white on the right, saved in ``mode``."""
    levels = np.array([[0, 0, 255, 255]] * 2, dtype=np.uint8)
    picture = Image.fromarray(levels).convert(mode)
    path = tmp_path / f"map-{mode.replace(';', '')}.png"
    picture.save(path)
    return path


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "LA", "P", "I;16"])
def test_a_picture_of_any_mode_and_size_is_resized_to_the_image(tmp_path, mode):
    if mode == "I;16":
        path = tmp_path / "map16.png"
        Image.fromarray(np.array([[0, 0, 65535, 65535]] * 2, dtype=np.uint16)).save(path)
        assert Image.open(path).mode.startswith("I")
    else:
        path = left_black_right_white(tmp_path, mode)
    importance = resolve_importance(np.zeros((30, 40, 3), np.uint8), path)
    assert importance.shape == (30, 40) and importance.dtype == np.float32
    assert importance[:, :12].max() < 0.05 and importance[:, -12:].min() > 0.95
    assert importance.min() >= 0 and importance.max() <= 1


def test_arrays_and_pil_images_are_maps_too():
    assert as_importance(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]
    assert as_importance(np.array([[False, True]])).tolist() == [[0.0, 1.0]]
    np.testing.assert_allclose(as_importance(Image.new("L", (3, 2), 51)), np.full((2, 3), 0.2))
    importance = resolve_importance(np.zeros((4, 6), np.uint8), np.array([[0.0, 1.0]]))
    assert importance.shape == (4, 6)
    with pytest.raises(ValueError):
        importance[0, 0] = 1  # read-only: options are frozen, so is their map


@pytest.mark.parametrize(("value", "message"), [
    (np.zeros((0, 5)), "non-empty"),
    (np.zeros((4, 4, 3)), r"\(H, W\)"),
    (np.array([[0.5, 1.5]]), r"\[0, 1\]"),
    (np.array([[np.nan, 0.5]]), r"\[0, 1\]"),
    (np.zeros((2, 2), np.int32), "dtype int32"),
    ([[0, 1]], "got list"),
    (Image.new("L", (0, 0)), "empty"),
])
def test_invalid_maps_are_refused_by_name(value, message):
    with pytest.raises(AbcError, match=message):
        as_importance(value)
    with pytest.raises(AbcError, match=message):
        encode(np.zeros((4, 4), np.uint8), importance=value)


def test_unreadable_map_files_are_refused_by_path(tmp_path):
    image = np.zeros((8, 8), np.uint8)
    with pytest.raises(AbcError, match=r"missing.png' cannot be read \(No such file"):
        resolve_importance(image, tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(AbcError, match="notes.txt' cannot be read"):
        resolve_importance(image, str(tmp_path / "notes.txt"))


@pytest.mark.parametrize(("roi", "expected"), [
    ("10,20,30,40", (10, 20, 30, 40)), (" 1, 2 ,3,4 ", (1, 2, 3, 4)), ((-5, 0, 8, 9), (-5, 0, 8, 9)),
    ([np.int64(1), 2, 3, 4], (1, 2, 3, 4)),
])
def test_roi_parses(roi, expected):
    assert parse_roi(roi) == expected


@pytest.mark.parametrize(("roi", "message"), [
    ("1,2,3", "must be x,y,w,h"), ("a,b,c,d", "must be x,y,w,h"), ("1.5,2,3,4", "must be x,y,w,h"),
    ("", "must be x,y,w,h"), ((1, 2, 3, True), "must be x,y,w,h"), (7, "must be x,y,w,h"),
    ("1,2,0,4", "width 0 and height 4"), ("1,2,5,-4", "height -4"),
])
def test_bad_rois_are_named(roi, message):
    with pytest.raises(AbcError, match=message):
        parse_roi(roi)


def test_rois_are_painted_white_clipped_and_refused_when_outside():
    image = np.zeros((20, 30), np.uint8)
    alone = resolve_importance(image, rois=["-5,-5,10,10", (25, 15, 50, 50)])
    assert alone[:5, :5].min() == 1 and alone[15:, 25:].min() == 1
    assert np.count_nonzero(alone == 1) == 25 + 25
    assert np.all(alone[alone < 1] == BACKGROUND_IMPORTANCE)
    on_a_map = resolve_importance(image, np.zeros((2, 2)), rois=(0, 0, 3, 3))
    assert on_a_map[:3, :3].min() == 1 and on_a_map.sum() == 9
    assert resolve_importance(image) is None
    for outside in ("30,0,5,5", "0,20,5,5", "-5,0,5,5"):
        with pytest.raises(AbcError, match=f"ROI {outside} lies outside the 30x20 image"):
            resolve_importance(image, rois=[outside])


def test_prioritise_moves_blocks_by_importance_and_keeps_a_permutation():
    order = np.arange(8, dtype=np.int64)[::-1].copy()
    weights = np.array([[1, 1, 0.5, 0.5], [0.25, 0.25, 0, 1]])
    prioritised = prioritise(order, weights)
    # times (place + 1) / w: 7→1, 6→∞, 5→12, 4→16, 3→10, 2→12, 1→7, 0→8; ties keep the scheme's order
    assert prioritised.tolist() == [7, 1, 0, 3, 5, 2, 4, 6]
    assert prioritise(order, np.full((2, 4), 0.3)).tolist() == order.tolist()


def test_importance_orders_stay_nested_and_uniform_maps_change_nothing(astronaut):
    grid = block_grid_shape(*astronaut.shape[:2], 4)
    importance = resolve_importance(astronaut, rois=[ROI])
    for scheme in ("edge+random", "edge", "random", "centre"):
        plain = block_order(astronaut, scheme, 4, seed=2)
        order = block_order(astronaut, scheme, 4, seed=2, importance=importance)
        np.testing.assert_array_equal(np.sort(order), np.arange(grid[0] * grid[1]))
        masks = [mask_from_order(order, grid, keep) for keep in np.linspace(0, 1, 11)]
        assert all(not (small & ~large).any() for small, large in zip(masks, masks[1:]))
        uniform = np.full(astronaut.shape[:2], 0.6, np.float32)
        assert block_order(astronaut, scheme, 4, seed=2, importance=uniform).tolist() == plain.tolist()
    with pytest.raises(AbcError, match="must match the image's"):
        block_order(astronaut, "edge", 4, importance=importance[:-1])


def ssim_inside(original: np.ndarray, decoded: np.ndarray, region: np.ndarray) -> float:
    _, per_pixel = structural_similarity(original, decoded, channel_axis=2, data_range=255, full=True)
    return float(per_pixel.mean(axis=2)[region].mean())


def test_at_equal_bytes_a_roi_gets_more_of_the_base_and_better_ssim_inside(astronaut):
    importance = resolve_importance(astronaut, rois=[ROI])
    region = importance == 1
    plain = encode(astronaut, options=EncodeOptions(bpp=0.4))
    mapped = encode(astronaut, options=EncodeOptions(bpp=0.4), importance=importance)
    budget = int(0.4 * astronaut.shape[0] * astronaut.shape[1] / 8)
    assert len(plain) <= budget and len(mapped) <= budget and len(mapped) > 0.9 * len(plain)
    decoded = {name: np.asarray(decode(d)) for name, d in (("plain", plain), ("map", mapped))}
    assert ssim_inside(astronaut, decoded["map"], region) > ssim_inside(astronaut, decoded["plain"], region) + 0.02
    assert ssim_inside(astronaut, decoded["map"], ~region) < ssim_inside(astronaut, decoded["plain"], ~region)
    # an ordinary file: scheme 255 ("other", spec §3) and the same decoder, through Pillow too
    assert container.read_file(mapped).header.scheme == container.SCHEME_OTHER
    assert container.read_file(plain).header.scheme == 2
    with Image.open(io.BytesIO(mapped)) as im:
        np.testing.assert_array_equal(np.asarray(im), decoded["map"])


def test_without_a_base_a_roi_gets_more_blocks_and_better_ssim_inside(astronaut):
    importance = resolve_importance(astronaut, rois=[ROI])
    region = importance == 1
    plain = encode(astronaut, options=EncodeOptions(bpp=0.4, blocks=BlockLayer()))
    mapped = encode(astronaut, options=EncodeOptions(bpp=0.4, blocks=BlockLayer()), importance=importance)
    budget = int(0.4 * astronaut.shape[0] * astronaut.shape[1] / 8)
    assert len(plain) <= budget and len(mapped) <= budget and len(mapped) > 0.97 * len(plain)
    kept = {name: canvas_of(container.read_file(d))[0].luma_known for name, d in (("plain", plain), ("map", mapped))}
    assert kept["map"][region].mean() > 2 * kept["plain"][region].mean()
    assert kept["map"][~region].mean() < kept["plain"][~region].mean()
    decoded = {name: np.asarray(decode(d)) for name, d in (("plain", plain), ("map", mapped))}
    assert ssim_inside(astronaut, decoded["map"], region) > ssim_inside(astronaut, decoded["plain"], region) + 0.15


def test_encode_takes_a_map_of_any_size(astronaut):
    small = np.zeros((8, 8), np.float32)
    small[2:5, 2:5] = 1
    options = EncodeOptions(blocks=BlockLayer(keep=0.1))
    resized = resolve_importance(astronaut, small)
    assert resized.shape == astronaut.shape[:2] and not resized.flags.writeable
    assert encode(astronaut, options=options, importance=small) == encode(astronaut, options=options, importance=resized)
    assert encode(astronaut, options=options, importance=small) != encode(astronaut, options=options)


def test_cli_takes_importance_and_roi(astronaut_path, tmp_path, capsys):
    map_path = left_black_right_white(tmp_path, "L")
    out = tmp_path / "out.abc"
    arguments = ["--bpp", "0.4", "--importance", str(map_path), "--roi", "10,10,30,30", "--roi", "200,200,100,100"]
    assert cli.encode_cli([str(astronaut_path), str(out), *arguments, "--no-base"]) == 0
    abc = container.read_file(out.read_bytes())
    assert abc.header.scheme == container.SCHEME_OTHER
    kept = canvas_of(abc)[0].luma_known
    assert kept[:, 140:].mean() > 2 * kept[40:, 40:100].mean()
    assert cli.decode_cli([str(out), str(tmp_path / "out.png")]) == 0
    plain, mapped = tmp_path / "plain.abc", tmp_path / "mapped.abc"
    assert cli.encode_cli([str(astronaut_path), str(plain), "--bpp", "0.4"]) == 0
    assert cli.encode_cli([str(astronaut_path), str(mapped), *arguments]) == 0
    original = np.asarray(Image.open(astronaut_path))
    right = np.zeros(original.shape[:2], bool)
    right[:, 140:] = True
    decoded = {path: np.asarray(decode(path.read_bytes())) for path in (plain, mapped)}
    assert ssim_inside(original, decoded[mapped], right) > ssim_inside(original, decoded[plain], right)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--roi", "1,2,3"], "ROI '1,2,3' must be x,y,w,h"),
    (["--roi=-50,0,10,10"], "ROI -50,0,10,10 lies outside the 256x256 image"),
    (["--roi", "0,0,0,5"], "width 0"),
    (["--importance", "missing.png"], "importance map 'missing.png' cannot be read"),
])
def test_cli_bad_importance_is_one_line(astronaut_path, tmp_path, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    assert cli.encode_cli([str(astronaut_path), "o.abc", *arguments]) == console.EXIT_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert not (tmp_path / "o.abc").exists()


def test_pillow_save_takes_importance_and_roi(astronaut, tmp_path):
    image = Image.fromarray(astronaut)
    map_path = left_black_right_white(tmp_path, "L")
    for options in ({"roi": ["64,64,96,96"]}, {"roi": ROI}, {"importance": map_path},
                    {"importance": str(map_path), "roi": [(0, 0, 5, 5)]}, {"importance": np.eye(3)},
                    {"importance": Image.open(map_path)}):
        out = io.BytesIO()
        image.save(out, format="ABC", blocks={"keep": 0.2}, **options)
        assert container.read_file(out.getvalue()).header.scheme == container.SCHEME_OTHER
        assert Image.open(out).size == image.size
    uniform = io.BytesIO()
    image.save(uniform, format="ABC", blocks={"keep": 0.2}, importance=np.ones((3, 3)))  # asks for nothing
    assert container.read_file(uniform.getvalue()).header.scheme == container.SCHEMES["edge+random"]
    for options in ({"roi": ["1,2"]}, {"importance": "nowhere.png"}, {"importance": 3}, {"roi": ["999,0,5,5"]}):
        with pytest.raises(ValueError):
            image.save(io.BytesIO(), format="ABC", **options)


def test_auto_is_the_saliency_models_density_scaled_to_a_maximum_of_1():
    cat = data.chelsea()
    auto = resolve_importance(cat, "auto")
    assert auto.shape == cat.shape[:2] and auto.max() == pytest.approx(1) and auto.min() >= 0
    assert np.argmax(auto) == np.argmax(abcodec.saliency.fixation_density(cat))


def test_ranks_are_the_share_of_the_image_ranked_above_with_ties_at_their_middle():
    """Worked by hand on 6 pixels: the two 0.5s come after the two 1s, middle (2 + 2/2) / 6 = 0.5; the
    0.25 comes fifth, middle (4 + 1/2) / 6 = 0.75; the top level (1) ranks 0 and the bottom one (0) 1."""
    levels = np.array([[0, 0.5, 0.25], [0.5, 1, 1]], np.float32)
    assert ranks(levels).tolist() == [[1.0, 0.5, 0.75], [0.5, 0.0, 0.0]]
    rectangle = np.full((4, 8), 0.25, np.float32)
    rectangle[:, :6] = 1                                    # the top level covers 75 %: still first
    assert ranks(rectangle)[:, :6].max() == 0 and ranks(rectangle)[:, 6:].min() == 1


def test_emphasis_reads_ranks_not_grey_levels():
    """A map and any increasing function of it ask for the same thing: a soft, peaked density
    (mostly near 0) is not read as "ablate everything"."""
    yy, xx = np.mgrid[0:60, 0:80]
    peak = np.exp(-((yy - 20) ** 2 + (xx - 50) ** 2) / 50.0).astype(np.float32)
    np.testing.assert_array_equal(emphasis(peak), emphasis(0.1 * peak ** 3))
    strong = emphasis(peak, 3.0)
    assert strong.max() == pytest.approx(3.0) and strong.min() == pytest.approx(-3.0)
    assert strong[20, 50] == pytest.approx(3.0) and strong[0, 0] == pytest.approx(-3.0)
    # the top IMPORTANT_AREA of the image is raised, the rest lowered
    assert (strong > 0).mean() == pytest.approx(IMPORTANT_AREA, abs=0.01)
    np.testing.assert_allclose(emphasis(peak, 1.5), strong / 2, rtol=1e-6)


def test_a_rectangle_is_raised_fully_and_its_background_lowered_fully():
    importance = resolve_importance(np.zeros((60, 80, 3), np.uint8), rois=["10,10,30,20"])
    strong = emphasis(importance, 2.0)
    assert (strong[10:30, 10:40] == 2.0).all() and (strong[40:, :] == -2.0).all()
    weights = block_weights(strong, 2.0)
    assert (weights[10:30, 10:40] == 1).all() and (weights[40:, :] == BACKGROUND_IMPORTANCE).all()


def test_no_map_a_uniform_map_or_no_strength_ask_for_nothing():
    assert emphasis(None) is None
    assert emphasis(np.full((5, 5), 0.3, np.float32)) is None
    assert emphasis(np.eye(5, dtype=np.float32), 0) is None


@pytest.mark.parametrize("strength", [-1, 9, float("nan"), "3", True])
def test_bad_ablation_strengths_are_refused(strength):
    with pytest.raises(AbcError, match="ablation"):
        EncodeOptions(ablation=strength)


def test_ablation_zero_ignores_the_map_and_more_ablation_moves_more(astronaut):
    plain = encode(astronaut, options=EncodeOptions(bpp=0.3))
    assert encode(astronaut, options=EncodeOptions(bpp=0.3, ablation=0), roi=[ROI]) == plain
    region = resolve_importance(astronaut, rois=[ROI]) == 1
    inside = [ssim_inside(astronaut, np.asarray(decode(encode(astronaut, options=EncodeOptions(bpp=0.3, ablation=a),
                                                                   roi=[ROI]))), region) for a in (0, 1, 3)]
    assert inside[0] < inside[1] < inside[2]


def test_maps_do_not_import_torch():
    """Not even ``auto`` (tests/test_saliency.py runs it in a fresh process too)."""
    script = (
        "import sys, numpy as np, abcodec; from abcodec.codec import EncodeOptions, encode; "
        "from abcodec.importance import resolve_importance; image = np.zeros((16, 16, 3), np.uint8); "
        "encode(image, options=EncodeOptions(blocks={'keep': 0.5}), roi=['0,0,4,4']); "
        "encode(image, options=EncodeOptions(bpp=0.5), importance='auto'); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=Path(abcodec.__file__).parent.parent)
    assert result.returncode == 0, result.stderr


def test_large_maps_are_ranked_on_a_smaller_copy_with_the_same_meaning(monkeypatch):
    """Ranks are read on a copy of at most RANK_PIXELS pixels: a large rectangle map keeps its full
    emphasis inside and its full ablation outside, away from the feathered edge."""
    import abcodec.importance as importance

    monkeypatch.setattr(importance, "RANK_PIXELS", 600)
    read = []
    monkeypatch.setattr(importance, "ranks", lambda values: read.append(values.shape) or ranks(values))
    rectangle = resolve_importance(np.zeros((120, 160, 3), np.uint8), rois=["40,30,60,50"])
    strong = emphasis(rectangle, 2.0)
    assert read == [(21, 28)] and strong.shape == (120, 160)
    assert np.allclose(strong[40:70, 50:90], 2.0) and np.allclose(strong[100:, :], -2.0)
    monkeypatch.setattr(importance, "RANK_PIXELS", 1 << 20)
    np.testing.assert_allclose(emphasis(rectangle, 2.0)[40:70, 50:90], 2.0)
