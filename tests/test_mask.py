import math

import numpy as np
import pytest
import skimage.data

from abcodec.container import AbcError
from abcodec.mask import SCHEMES, block_grid_shape, block_order, mask_from_order


def noise_image(height: int, width: int, channels: int | None = 3, seed: int = 1) -> np.ndarray:
    shape = (height, width) if channels is None else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def kept_blocks(order: np.ndarray, count: int) -> set[int]:
    return set(order[: max(count, 0)].tolist())


def test_scheme_ids_are_the_spec_table():
    assert SCHEMES == {"random": 0, "edge": 1, "edge+random": 2, "centre": 3}


@pytest.mark.parametrize(("height", "width", "block", "expected"), [
    (1, 1, 8, (1, 1)), (7, 13, 3, (3, 5)), (300, 5, 8, (38, 1)), (512, 768, 8, (64, 96)), (16, 16, 8, (2, 2)),
])
def test_grid_rounds_up_to_whole_blocks(height, width, block, expected):
    assert block_grid_shape(height, width, block) == expected


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize(("height", "width"), [(1, 1), (7, 13), (300, 5)])
@pytest.mark.parametrize("block", [1, 3, 8])
@pytest.mark.parametrize("channels", [None, 3])
def test_order_is_a_permutation_of_the_grid(scheme, height, width, block, channels):
    order = block_order(noise_image(height, width, channels), scheme, block)
    gh, gw = block_grid_shape(height, width, block)
    assert order.dtype == np.int64
    np.testing.assert_array_equal(np.sort(order), np.arange(gh * gw))


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_masks_for_growing_keep_are_nested(scheme):
    image = skimage.data.astronaut()
    grid = block_grid_shape(*image.shape[:2], 8)
    order = block_order(image, scheme, 8, seed=3)
    masks = [mask_from_order(order, grid, keep) for keep in np.linspace(0, 1, 23)]
    for smaller, larger in zip(masks, masks[1:]):
        assert not (smaller & ~larger).any()
    assert not masks[0].any() and masks[-1].all()


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.3, 1 / 3, 0.5, 0.77, 0.999, 1.0])
def test_kept_count_is_keep_times_blocks_rounded(keep):
    grid = block_grid_shape(7, 13, 1)
    order = block_order(noise_image(7, 13), "random", 1)
    mask = mask_from_order(order, grid, keep)
    assert mask.shape == grid and mask.dtype == bool
    assert mask.sum() == round(keep * grid[0] * grid[1])


@pytest.mark.parametrize("n_blocks", [1, 91, 997, 4096])
def test_count_over_n_keeps_exactly_count(n_blocks):
    # codec.py asks for `count` blocks as keep = count / n_blocks; float rounding must not lose one.
    order = np.arange(n_blocks, dtype=np.int64)
    counts = [int(mask_from_order(order, (1, n_blocks), count / n_blocks).sum()) for count in range(n_blocks + 1)]
    assert counts == list(range(n_blocks + 1))


def test_mask_keeps_the_head_of_the_order():
    order = np.array([5, 0, 3, 1, 4, 2])
    mask = mask_from_order(order, (2, 3), 0.5)
    np.testing.assert_array_equal(mask, [[True, False, False], [True, False, True]])


def test_edge_ranks_blocks_on_a_sharp_edge_above_flat_blocks():
    image = np.full((32, 48), 60, dtype=np.uint8)
    image[:, 20:] = 200  # a vertical step inside block column 2 (pixels 16..23)
    order = block_order(image, "edge", 8)
    gw = 48 // 8
    edge_blocks = {row * gw + 2 for row in range(4)}
    far_flat_blocks = {row * gw + column for row in range(4) for column in (0, 5)}
    assert kept_blocks(order, 4) == edge_blocks
    rank = {block: position for position, block in enumerate(order.tolist())}
    assert max(rank[block] for block in edge_blocks) < min(rank[block] for block in far_flat_blocks)


def test_edge_ranks_a_textured_block_first_in_rgb():
    image = np.full((40, 40, 3), (30, 120, 90), dtype=np.uint8)
    image[16:24, 24:32] = noise_image(8, 8)  # block (2, 3) of a 5x5 grid
    assert block_order(image, "edge", 8)[0] == 2 * 5 + 3


def test_edge_ties_keep_raster_order():
    image = np.full((24, 40), 128, dtype=np.uint8)
    np.testing.assert_array_equal(block_order(image, "edge", 8), np.arange(3 * 5))


def test_centre_ring_ties_keep_raster_order():
    order = block_order(np.zeros((24, 24), dtype=np.uint8), "centre", 8)
    np.testing.assert_array_equal(order, [4, 0, 1, 2, 3, 5, 6, 7, 8])


@pytest.mark.parametrize(("height", "width", "block"), [(72, 72, 8), (40, 120, 8), (63, 201, 3)])
def test_centre_keeps_the_centre_block_first(height, width, block):
    order = block_order(np.zeros((height, width), dtype=np.uint8), "centre", block)
    gw = block_grid_shape(height, width, block)[1]
    assert divmod(int(order[0]), gw) == (height // 2 // block, width // 2 // block)


@pytest.mark.parametrize("scheme", ["edge", "centre", "random"])
def test_a_numpy_block_size_gives_the_same_order_as_an_int(scheme):
    image = noise_image(72, 40, seed=3)
    np.testing.assert_array_equal(block_order(image, scheme, np.uint8(16)), block_order(image, scheme, 16))
    assert block_grid_shape(72, 40, np.uint8(16)) == (5, 3)


def test_centre_touches_the_centre_when_blocks_meet_there():
    order = block_order(skimage.data.camera(), "centre", 8)  # 512x512: four blocks meet at the centre
    assert divmod(int(order[0]), 64) in {(31, 31), (31, 32), (32, 31), (32, 32)}


@pytest.mark.parametrize(("height", "width", "block", "keep"), [(64, 256, 8, 16 / 256), (512, 768, 1, 0.1)])
def test_centre_keeps_a_square_in_pixels_even_on_wide_images(height, width, block, keep):
    grid = block_grid_shape(height, width, block)
    order = block_order(np.zeros((height, width), dtype=np.uint8), "centre", block)
    rows, columns = np.nonzero(mask_from_order(order, grid, keep))
    box_height = rows.max() - rows.min() + 1
    box_width = columns.max() - columns.min() + 1
    assert abs(box_height - box_width) <= 1
    assert rows.size / (box_height * box_width) > 0.98
    assert abs((rows.min() + rows.max() + 1) * block / 2 - height / 2) <= block
    assert abs((columns.min() + columns.max() + 1) * block / 2 - width / 2) <= block


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_edge_random_takes_about_share_of_its_prefix_from_outside_the_edge_prefix(share):
    image = skimage.data.astronaut()
    edge = block_order(image, "edge", 8)
    mixed = block_order(image, "edge+random", 8, seed=7, random_share=share)
    n_blocks = edge.size
    for count in (n_blocks // 20, n_blocks // 10, n_blocks // 4):
        outside = len(kept_blocks(mixed, count) - kept_blocks(edge, count)) / count
        # The random picks are uniform, so those landing in the edge prefix (count/N of them) do not count.
        assert outside == pytest.approx(share * (1 - count / n_blocks), abs=0.05)


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5, 0.9])
def test_edge_random_prefix_holds_both_streams_prefixes(share):
    image = skimage.data.astronaut()
    edge = block_order(image, "edge", 8)
    random = block_order(image, "random", 8, seed=7)
    mixed = block_order(image, "edge+random", 8, seed=7, random_share=share)
    for count in (1, 50, 500, 2000):
        head = kept_blocks(mixed, count)
        assert kept_blocks(edge, math.floor((1 - share) * count) - 1) <= head
        assert kept_blocks(random, math.floor(share * count) - 1) <= head


def test_edge_random_at_the_extremes_is_one_stream():
    image = skimage.data.camera()
    np.testing.assert_array_equal(
        block_order(image, "edge+random", 8, random_share=0.0), block_order(image, "edge", 8))
    np.testing.assert_array_equal(
        block_order(image, "edge+random", 8, seed=5, random_share=1.0), block_order(image, "random", 8, seed=5))


@pytest.mark.parametrize("scheme", ["random", "edge+random"])
def test_seed_fixes_the_random_stream(scheme):
    image = skimage.data.camera()
    first = block_order(image, scheme, 4, seed=11)
    np.testing.assert_array_equal(first, block_order(image, scheme, 4, seed=11))
    assert not np.array_equal(first, block_order(image, scheme, 4, seed=12))


def test_random_order_ignores_content():
    shape = (30, 50)
    np.testing.assert_array_equal(
        block_order(noise_image(*shape, seed=1), "random", 1, seed=2),
        block_order(noise_image(*shape, seed=3), "random", 1, seed=2))
    assert not np.array_equal(block_order(noise_image(*shape), "random", 1), np.arange(30 * 50))


GOOD_IMAGE = np.zeros((16, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize(("call", "named", "allowed"), [
    (lambda: block_order(GOOD_IMAGE, "edges", 8), "scheme", "edge+random"),
    (lambda: block_order(GOOD_IMAGE, "random", 0), "block", "1..64"),
    (lambda: block_order(GOOD_IMAGE, "random", 65), "block", "1..64"),
    (lambda: block_order(GOOD_IMAGE, "random", 2.5), "block", "1..64"),
    (lambda: block_order(GOOD_IMAGE, "edge+random", 8, random_share=-0.1), "random_share", "[0, 1]"),
    (lambda: block_order(GOOD_IMAGE, "edge+random", 8, random_share=1.5), "random_share", "[0, 1]"),
    (lambda: block_order(GOOD_IMAGE, "random", 8, seed=-1), "seed", "non-negative"),
    (lambda: block_order(GOOD_IMAGE.astype(np.float32), "edge", 8), "image", "uint8"),
    (lambda: block_order(np.zeros((16, 16, 4), dtype=np.uint8), "edge", 8), "image", "(H, W, 3)"),
    (lambda: block_order(np.zeros(16, dtype=np.uint8), "edge", 8), "image", "(H, W)"),
    (lambda: block_order(np.zeros((0, 16), dtype=np.uint8), "edge", 8), "image", "no pixels"),
    (lambda: mask_from_order(np.arange(4), (2, 2), -0.01), "keep", "[0, 1]"),
    (lambda: mask_from_order(np.arange(4), (2, 2), 1.01), "keep", "[0, 1]"),
    (lambda: mask_from_order(np.arange(4), (2, 2), float("nan")), "keep", "[0, 1]"),
    (lambda: mask_from_order(np.arange(5), (2, 2), 0.5), "order", "4 blocks"),
    (lambda: block_grid_shape(10, 10, 0), "block", "1..64"),
    (lambda: block_grid_shape(0, 10, 8), "image size", "at least 1x1"),
])
def test_invalid_arguments_name_themselves(call, named, allowed):
    with pytest.raises(AbcError) as error:
        call()
    assert isinstance(error.value, ValueError)
    assert named in str(error.value) and allowed in str(error.value)
