import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from abcodec import diffusion

TOLERANCE = diffusion.STEP_TOLERANCE
"""Grey levels. PCG stops once an iteration moves no pixel by more than this, and shrinks the
error several-fold per iteration, so the remaining error is a fraction of it: ≤ 0.19 over 300
random shapes and masks, ≤ 0.08 in the cases below. A quarter of a grey level leaves the result
rounded to integers within 1 of the exact one, the tolerance a conforming decoder gets."""


def direct_solve(planes: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The same equations solved directly in float64: 5-point graph Laplacian, border neighbours
    left out (reflecting border), restricted to the unknown pixels."""
    height, width = known.shape
    index = np.arange(height * width).reshape(height, width)
    rows = np.concatenate([index[:, :-1].ravel(), index[:-1].ravel()])
    cols = np.concatenate([index[:, 1:].ravel(), index[1:].ravel()])
    adjacency = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(index.size,) * 2).tocsr()
    adjacency = adjacency + adjacency.T
    laplacian = (sp.diags(np.asarray(adjacency.sum(axis=1)).ravel()) - adjacency).tocsr()
    unknown = ~known.ravel()
    system = laplacian[unknown][:, unknown].tocsc()
    coupling = laplacian[unknown][:, ~unknown]
    out = planes.astype(np.float64).reshape(planes.shape[0], -1).copy()
    for x in out:
        x[unknown] = spla.spsolve(system, -(coupling @ x[~unknown])).reshape(-1)
    return out.reshape(planes.shape)


def random_case(shape: tuple[int, int], share: float, planes: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    known = rng.random(shape) < share
    known.flat[rng.integers(known.size)] = True
    return (rng.random((planes, *shape)) * 255).astype(np.float32), known


def test_known_pixels_are_kept_bit_for_bit():
    planes, known = random_case((37, 53), 0.2, planes=2)
    out = diffusion.fill(planes, known)
    assert out.dtype == np.float32 and out.shape == planes.shape
    assert np.array_equal(out[:, known], planes[:, known])


def test_agrees_with_a_direct_sparse_solve():
    planes, known = random_case((30, 40), 0.1, planes=2)
    out = diffusion.fill(planes, known)
    exact = direct_solve(planes, known)
    assert np.abs(out - exact).max() <= TOLERANCE
    assert np.abs(np.rint(out) - np.rint(exact)).max() <= 1


def test_block_mask_with_large_holes_agrees_with_a_direct_solve():
    rng = np.random.default_rng(3)
    blocks = rng.random((10, 12)) < 0.08
    blocks[0, 0] = True
    known = np.kron(blocks, np.ones((8, 8), bool))[:75, :93]
    planes = (rng.random((1, 75, 93)) * 255).astype(np.float32)
    assert np.abs(diffusion.fill(planes, known) - direct_solve(planes, known)).max() <= TOLERANCE


def test_sparse_thin_strip_agrees_with_a_direct_solve():
    known = np.zeros((475, 2), bool)
    known.flat[[108, 203, 235, 393]] = True
    planes = np.random.default_rng(1).uniform(0, 255, (1, 475, 2)).astype(np.float32)
    assert np.abs(diffusion.fill(planes, known) - direct_solve(planes, known)).max() <= TOLERANCE


def test_ramp_along_a_very_long_strip_does_not_stall_at_float32_precision():
    # With a float32 residual and search direction, PCG stops over 100 grey levels off here.
    width = 16000
    ramp = np.broadcast_to(np.linspace(200, 10, width, dtype=np.float32), (1, 2, width)).copy()
    known = np.zeros((2, width), bool)
    known[:, [0, -1]] = True
    assert np.abs(diffusion.fill(ramp, known) - ramp).max() <= TOLERANCE


def test_linear_ramp_between_two_known_columns_is_reconstructed():
    height, width = 33, 70
    ramp = np.broadcast_to(np.linspace(10, 240, width, dtype=np.float32), (1, height, width)).copy()
    known = np.zeros((height, width), bool)
    known[:, [0, -1]] = True
    assert np.abs(diffusion.fill(ramp, known) - ramp).max() <= TOLERANCE


def test_constant_image_stays_exactly_constant():
    _, known = random_case((41, 29), 0.05)
    planes = np.full((1, 41, 29), 77.25, np.float32)
    assert np.array_equal(diffusion.fill(planes, known), planes)


def test_filled_values_obey_the_maximum_principle():
    planes, known = random_case((50, 45), 0.03, planes=2, seed=5)
    out = diffusion.fill(planes, known)
    for plane, source in zip(out, planes):
        assert source[known].min() <= plane.min() and plane.max() <= source[known].max()


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (1, 300), (300, 1), (2, 257), (17, 1), (31, 23), (65, 3)])
def test_odd_thin_and_tiny_shapes(shape):
    planes, known = random_case(shape, 0.1, seed=sum(shape))
    out = diffusion.fill(planes, known)
    assert np.array_equal(out[:, known], planes[:, known])
    if not known.all():
        assert np.abs(out - direct_solve(planes, known)).max() <= TOLERANCE


def test_one_known_pixel_fills_the_plane_with_its_value():
    known = np.zeros((1, 1), bool)
    planes = np.array([[[200.0]]], np.float32)
    assert diffusion.fill(planes, known)[0, 0, 0] == diffusion.NO_DATA_VALUE
    known = np.zeros((20, 30), bool)
    known[7, 11] = True
    planes = np.zeros((1, 20, 30), np.float32)
    planes[0, 7, 11] = 42.5
    assert np.array_equal(diffusion.fill(planes, known), np.full_like(planes, 42.5))


def test_no_known_pixel_gives_mid_grey():
    planes = np.random.default_rng(0).random((2, 9, 14)).astype(np.float32)
    out = diffusion.fill(planes, np.zeros((9, 14), bool))
    assert np.array_equal(out, np.full_like(planes, 128.0))


def test_all_known_returns_a_copy():
    planes, _ = random_case((12, 7), 1.0, planes=3)
    out = diffusion.fill(planes, np.ones((12, 7), bool))
    assert np.array_equal(out, planes) and out is not planes
    out[...] = 0
    assert planes.any()


def test_several_planes_give_the_same_bits_as_one_at_a_time():
    planes, known = random_case((48, 64), 0.05, planes=3, seed=9)
    together = diffusion.fill(planes, known)
    for plane, result in zip(planes, together):
        assert np.array_equal(diffusion.fill(plane[None], known)[0], result)


def test_inputs_are_not_modified_and_output_is_deterministic():
    planes, known = random_case((40, 30), 0.1, planes=2, seed=4)
    planes_before, known_before = planes.copy(), known.copy()
    first = diffusion.fill(planes, known)
    assert np.array_equal(planes, planes_before) and np.array_equal(known, known_before)
    assert np.array_equal(diffusion.fill(planes, known), first)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="must be"):
        diffusion.fill(np.zeros((4, 5), np.float32), np.ones((4, 5), bool))
    with pytest.raises(ValueError, match="must be"):
        diffusion.fill(np.zeros((1, 4, 5), np.float32), np.ones((5, 4), bool))
