"""Format 2's writer (format_spec/abc.md §10, §10.1), which only the tests need.

abcodec writes version 3 files; it decodes version 2 files, whose BASE is an 8×8 DCT of a coarse
grid, and the tests of that decoder need payloads it has not seen: this is the other half of the
pair, moved out of the package when the format stopped being written. It builds its scales
through the decoder's own model pass (``coefcode._chunks``) and its fields through the decoder's
own table (``dctbase._FIELDS``), so the two cannot drift; the committed version 2 vectors are
abcodec 0.3's, not this writer's.
"""

from __future__ import annotations

import numpy as np

from abcodec import coefcode, dctbase
from abcodec.colour import rgb_to_ycbcr
from abcodec.container import AbcError


def image_planes(image: np.ndarray) -> list[np.ndarray]:
    """Y (mode L) or Y, Cb, Cr float planes of a uint8 image, as §7 step 1 defines them."""
    if image.ndim == 2:
        return [image.astype(np.float64)]
    return list(rgb_to_ycbcr(image).astype(np.float64))


def transform(coarse: np.ndarray) -> np.ndarray:
    """DCT coefficients (gh, gw, 8, 8) of a coarse plane, padded by edge replication (§10 step 1)."""
    from scipy import fft

    n = dctbase.TRANSFORM_SIZE
    rows, cols = -(-coarse.shape[0] // n) * n, -(-coarse.shape[1] // n) * n
    padded = np.pad(coarse, ((0, rows - coarse.shape[0]), (0, cols - coarse.shape[1])), mode="edge")
    blocks = (padded - 128.0).reshape(rows // n, n, cols // n, n).swapaxes(1, 2)
    return fft.dctn(blocks, axes=(2, 3), norm="ortho")


def quantise(coefficients: np.ndarray, step: float, slope: float, deadzone: float | np.ndarray) -> np.ndarray:
    """Indices of the coefficients; ``deadzone`` (one value, or one per block) widens the zero bin.

    Rounding towards zero by ``deadzone`` of a step drops coefficients that cost more bits
    than they buy (the encoder's choice: any decoder reads the result); the DC coefficient is
    rounded plainly, its error would show as a flat offset.
    """
    q = dctbase._quantiser(step, slope)
    zone = np.asarray(deadzone, dtype=np.float64)[..., None, None] if np.ndim(deadzone) else deadzone
    indices = np.sign(coefficients) * np.floor(np.maximum(np.abs(coefficients) / q + 0.5 - zone, 0.0))
    indices[..., 0, 0] = np.rint(coefficients[..., 0, 0] / q[0, 0])
    return indices.astype(np.int64)


def plane_values(indices: np.ndarray) -> np.ndarray:
    """(gh, gw, 8, 8) indices -> (n, 64) values in row-major bands, the DC band as differences,
    left then above (§10 step 3); dctbase._plane_indices inverts it."""
    values = indices.reshape(-1, dctbase.TRANSFORM_SIZE**2).copy()
    dc = indices[:, :, 0, 0]
    difference = dc.copy()
    difference[:, 1:] -= dc[:, :-1]
    difference[1:, 0] -= dc[:-1, 0]
    values[:, 0] = difference.ravel()
    return values


def encode_planes(planes: list[np.ndarray]) -> bytes:
    """Bytes for each plane's (n, 64) int values (§10.1); coefcode.decode_planes inverts it.

    Every scale comes from the decoder's pass over the values, then all values are coded in one call.
    """
    import constriction

    chunks = [chunk for values in planes for chunk in coefcode._chunks(values)]
    all_scales = np.concatenate([scales for scales, _ in chunks])
    values = np.concatenate([chunk for _, chunk in chunks])
    if values.size and np.abs(values).max() > coefcode.MAX_VALUE:
        msg = f"BASE: a coefficient of {np.abs(values).max()} exceeds the coder's range of {coefcode.MAX_VALUE}"
        raise AbcError(msg)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(values.astype(np.int32), coefcode._model(), np.zeros_like(all_scales), all_scales)
    return coder.get_compressed().astype("<u4").tobytes()


def pack_base(transformed: list[np.ndarray], params: dctbase.BaseParams, deadzones: list[float | np.ndarray]) -> bytes:
    """The BASE payload from each plane's coefficients (:func:`transform`) and dead zone(s)."""
    dctbase._check_channels(params, len(transformed))
    steps = params.plane_steps(len(transformed))
    values = [plane_values(quantise(c, step, params.slope, zone)) for c, step, zone in zip(transformed, steps, deadzones)]
    fields = dctbase._FIELDS.pack(params.stride_quarters, params.chroma_stride_quarters, params.step_luma,
                                  params.step_chroma, params.slope)
    return fields + encode_planes(values)
