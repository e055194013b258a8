"""How the encoder chooses which blocks to keep (format_spec/abc.md §3, scheme table).

Every scheme yields one *order* of the blocks, most important first, and the mask for a keep
fraction f is simply the first round(f·N) blocks of it. Masks for growing f are therefore
nested, so file size grows (on average) with f and the rate control in ``codec.py`` can bisect
on the kept count. The order is the encoder's business only: the mask itself is stored in the
file, so the decoder never recomputes an order and floating-point differences between machines
cannot desynchronise the two sides.

The schemes follow Kuznetsov & Singhal, "Ablative Image Compression" (Table 1): random pixels
(``random`` with block 1), block sampling by edges (``edge``), the best-performing block +
random mix (``edge+random``), and the first "centre square" experiment (``centre``). An
importance map (``abcodec/importance.py``: a picture, regions of interest, or the classifier's
saliency) reorders any of them towards the blocks that matter to the viewer (:func:`prioritise`).
"""

from __future__ import annotations

import numpy as np

from .colour import luma
from .checks import is_integer, is_number
from .container import MAX_BLOCK, SCHEMES, AbcError, grid_shape


def block_grid_shape(height: int, width: int, block: int) -> tuple[int, int]:
    """(rows, columns) of the block grid; the last row and column may overhang the image."""
    block = _checked_block(block)
    if height < 1 or width < 1:
        msg = f"image size {height}x{width} must be at least 1x1"
        raise AbcError(msg)
    return grid_shape(height, width, block)


def block_order(
    image: np.ndarray, scheme: str, block: int, *, seed: int = 0, random_share: float = 0.25,
    importance: np.ndarray | None = None,
) -> np.ndarray:
    """Flat block indices (row-major over the grid), most important first: a permutation.

    Taking prefixes of one order, rather than thresholding a score per keep fraction, is what
    makes the masks nested. ``seed`` drives the random stream of ``random`` and ``edge+random``;
    ``random_share`` is the fraction of ``edge+random``'s prefix drawn from that stream.
    ``importance``, an (H, W) map in [0, 1] (abcodec/importance.py), reorders the scheme's order
    by :func:`prioritise`; the result is still one order, so masks stay nested.
    """
    _check_image(image)
    block = _checked_block(block)
    _check_seed(seed)
    _check_fraction("random_share", random_share)
    if scheme not in SCHEMES:
        msg = f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}"
        raise AbcError(msg)
    if importance is None:
        return scheme_order(image, scheme, block, seed, random_share)
    _check_importance(importance, image.shape[:2])
    return prioritise(scheme_order(image, scheme, block, seed, random_share), block_importance(importance, block))


def scheme_order(image: np.ndarray, scheme: str, block: int, seed: int, random_share: float) -> np.ndarray:
    """The order a scheme gives on its own, arguments already checked."""
    grid = block_grid_shape(image.shape[0], image.shape[1], block)
    if scheme == "random":
        return random_order(grid, seed)
    if scheme == "edge":
        return edge_order(image, block)
    if scheme == "edge+random":
        return merge_orders(edge_order(image, block), random_order(grid, seed), random_share)
    return centre_order(image.shape[0], image.shape[1], block)


def mask_from_order(order: np.ndarray, grid_shape: tuple[int, int], keep: float) -> np.ndarray:
    """Bool mask over the block grid, True = kept: the first round(keep·N) blocks of ``order``."""
    _check_fraction("keep", keep)
    n_blocks = grid_shape[0] * grid_shape[1]
    if order.ndim != 1 or order.size != n_blocks:
        msg = f"order of shape {order.shape} does not hold the {n_blocks} blocks of grid {grid_shape}"
        raise AbcError(msg)
    mask = np.zeros(n_blocks, dtype=bool)
    mask[order[: round(keep * n_blocks)]] = True
    return mask.reshape(grid_shape)


def random_order(grid_shape: tuple[int, int], seed: int) -> np.ndarray:
    """Seeded shuffle (PCG64): the same blocks for the same seed, so encodes are reproducible."""
    generator = np.random.Generator(np.random.PCG64(seed))
    return generator.permutation(grid_shape[0] * grid_shape[1]).astype(np.int64)


def edge_order(image: np.ndarray, block: int) -> np.ndarray:
    """Blocks by descending edge energy; equal energies (flat regions) stay in raster order.

    Inpainting fills smooth regions well and fails on edges and texture, so those are the
    blocks worth paying for.
    """
    energy = block_sums(edge_strength(image, block), block)
    return np.argsort(-energy.ravel(), kind="stable").astype(np.int64)


def edge_strength(image: np.ndarray, block: int) -> np.ndarray:
    """|Laplacian of Gaussian| of luma on the image padded by edge replication to whole blocks.

    The LoG responds to edges, corners and fine texture alike, which are exactly what diffusion
    inpainting cannot recreate; a gradient magnitude would also score smooth ramps, which it can.
    Sigma grows with the block so that the score measures structure at the scale of a block
    rather than pixel noise. Replicated padding adds no edges to overhanging blocks.
    """
    gh, gw = block_grid_shape(image.shape[0], image.shape[1], block)
    padded = np.pad(luma(image), ((0, gh * block - image.shape[0]), (0, gw * block - image.shape[1])), mode="edge")
    from scipy import ndimage  # 0.25 s to import: the encoder of the block layer pays it, no decoder does

    response = ndimage.gaussian_laplace(padded, sigma=max(1.0, block / 4), mode="nearest")
    return np.abs(response, out=response)


def block_sums(values: np.ndarray, block: int) -> np.ndarray:
    """Sum of each block of a map whose sides are whole multiples of ``block``."""
    gh, gw = values.shape[0] // block, values.shape[1] // block
    return values.reshape(gh, block, gw, block).sum(axis=(1, 3), dtype=np.float64)


def merge_orders(primary: np.ndarray, secondary: np.ndarray, secondary_share: float) -> np.ndarray:
    """Interleave two orders so each prefix takes ``secondary_share`` of its picks from ``secondary``.

    Each stream emits its entries at a steady rate (primary at 1 − share, secondary at share);
    a block's place is the earliest time either stream emits it, so a block already taken from
    one stream is skipped in the other and the result is still a permutation. Equal times keep
    the lower block index first.
    """
    if secondary_share == 0:
        return primary
    if secondary_share == 1:
        return secondary
    times = np.minimum(
        ranks_of(primary) / (1 - secondary_share),
        ranks_of(secondary) / secondary_share,
    )
    return np.argsort(times, kind="stable").astype(np.int64)


def prioritise(order: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Reorder blocks so that important ones come sooner, in proportion to their importance.

    The block at place p (0-based) of ``order`` is given the time (p + 1) / w, w its importance
    in ``weights`` (grid-shaped), and blocks are taken by increasing time: a block of importance
    0.25 is taken when a block of importance 1 four times further down the scheme's order is.
    So within a region of equal importance the scheme's order is kept (edges before flat
    blocks), and a region's strongest blocks still beat another's weakest. Blocks of importance
    0 come last, in the scheme's order; a uniform map changes nothing. Applied to
    ``edge+random``'s merged order this also weights its random part: within any prefix the
    random blocks fall with a density proportional to importance, so the fill keeps anchors
    everywhere, denser where detail is asked for.
    """
    with np.errstate(divide="ignore"):
        times = np.arange(1, order.size + 1, dtype=np.float64) / weights.ravel()[order]
    return order[np.argsort(times, kind="stable")]


def block_importance(importance: np.ndarray, block: int) -> np.ndarray:
    """Mean importance over each block's part inside the image, on the block grid."""
    gh, gw = block_grid_shape(importance.shape[0], importance.shape[1], block)
    padding = ((0, gh * block - importance.shape[0]), (0, gw * block - importance.shape[1]))
    inside = np.pad(np.ones(importance.shape, dtype=np.float64), padding)
    return block_sums(np.pad(importance.astype(np.float64), padding), block) / block_sums(inside, block)


def ranks_of(order: np.ndarray) -> np.ndarray:
    """Inverse permutation: position of each block in ``order``."""
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(order.size, dtype=np.int64)
    return ranks


def centre_order(height: int, width: int, block: int) -> np.ndarray:
    """Blocks by Chebyshev distance of their centre to the image centre, in pixels.

    Distances are in pixels, not grid cells, so the kept region is a square in the picture
    whatever the aspect ratio; an overhanging block is measured from the centre of its part
    inside the image. Ties keep raster order.
    """
    row_distance = np.abs(_part_centres(height, block) - height / 2)
    column_distance = np.abs(_part_centres(width, block) - width / 2)
    distance = np.maximum(row_distance[:, None], column_distance[None, :])
    return np.argsort(distance.ravel(), kind="stable").astype(np.int64)


def _part_centres(length: int, block: int) -> np.ndarray:
    """Centre coordinate of each block's in-image part along one axis."""
    starts = np.arange(0, length, block, dtype=np.float64)
    ends = np.minimum(starts + block, length)
    return (starts + ends) / 2


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        msg = f"image must be a uint8 numpy array, got {getattr(image, 'dtype', type(image).__name__)}"
        raise AbcError(msg)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        msg = f"image shape {image.shape} must be (H, W) or (H, W, 3)"
        raise AbcError(msg)
    if image.shape[0] < 1 or image.shape[1] < 1:
        msg = f"image shape {image.shape} has no pixels"
        raise AbcError(msg)


def _check_importance(importance: np.ndarray, shape: tuple[int, int]) -> None:
    if not isinstance(importance, np.ndarray) or importance.shape != shape:
        msg = f"importance map of shape {getattr(importance, 'shape', None)} must match the image's {shape}"
        raise AbcError(msg)
    if not np.issubdtype(importance.dtype, np.floating) or not np.isfinite(importance).all():
        msg = f"importance map must hold finite floats, got {importance.dtype}"
        raise AbcError(msg)
    if importance.min() < 0 or importance.max() > 1:
        msg = f"importance values must lie in [0, 1], got {importance.min()} .. {importance.max()}"
        raise AbcError(msg)


def _checked_block(block: int) -> int:
    """The block size as a Python int: a numpy integer of a narrow type would overflow in the grid's arithmetic."""
    if not is_integer(block) or not 1 <= block <= MAX_BLOCK:
        msg = f"block {block!r} must be an integer in 1..{MAX_BLOCK}"
        raise AbcError(msg)
    return int(block)


def _check_seed(seed: int) -> None:
    if not is_integer(seed) or seed < 0:
        msg = f"seed {seed!r} must be a non-negative integer"
        raise AbcError(msg)


def _check_fraction(name: str, value: float) -> None:
    if not is_number(value) or not 0 <= value <= 1:
        msg = f"{name} {value!r} must be a number in [0, 1]"
        raise AbcError(msg)
