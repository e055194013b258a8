"""encode() and decode(): the public API that the CLI and the Pillow plugin call.

By default the encoder spends the rate on a coarse base layer (base.py) and keeps no blocks.
Without it (``base=False``, the source paper's layout) the encoder picks a nested family of
masks (mask.py), finds the largest one whose file fits the rate, and writes header, mask
(maskcode.py) and kept pixels (pixels.py). The decoder rebuilds the canvas through the same
pixels.py code the encoder used to size it, then either fills the holes (inpaint/diffusion.py)
or, with a base layer, blends the kept blocks into the upsampled base: the fast decode. Files
ask for the generative decoder by default (inpainter "ppgn"), which refines the fast decode
with our generator (inpaint/ppgn.py); torch is imported only then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from PIL import Image
from scipy import ndimage

from . import assist as assist_stats
from . import base as base_layer
from . import container
from .container import AbcError, AbcFile, Header
from .importance import as_importance, resize_importance
from .inpaint import diffusion
from .inpaint.descent import Params, params_for
from .mask import SCHEMES, block_order, mask_from_order
from .maskcode import decode_mask, encode_mask
from .metadata import chunks_from_info, info_from_chunks
from .pixels import Canvas, PixelParams, pack_blocks, unpack_blocks, ycbcr_to_rgb

DEFAULT_BPP = 0.25
"""Rate when neither bpp nor keep is given: a Kodak image is then ~12 KB."""

GENERATIVE_MAX_BPP = 0.875
"""Above this ``bpp`` the encoder names the fast decoder unless told otherwise: G was trained on
decodes of 0.08–0.5 bpp, and on Kodak it lifts SSIM up to 0.75 bpp but costs 0.002 at 1 bpp
(benchmarks/RESULTS.md); the switch is halfway between the two measured rates."""

CONVERTIBLE_MODES = {"1": "L", "P": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}
"""Modes that convert to L or RGB without losing anything .abc could have stored."""

INPAINTER_IDS = {name: code for code, name in container.INPAINTERS.items()}
AVAILABLE_INPAINTERS = ("diffusion", "ppgn")
DEVICES = ("auto", "cpu", "cuda")

Progress = Callable[[int, int, float], None]
"""progress(steps done, steps in all, estimated seconds left): the generative decoder's steps."""


@dataclass(frozen=True)
class EncodeOptions:
    """What the encoder may be told; validated once, here.

    Rate is set by ``bpp`` (file bytes × 8 / pixels, the whole file counted) or by ``keep``
    (fraction of blocks kept); at most one of them. With neither, ``DEFAULT_BPP`` applies.
    ``base`` (None: on unless ``keep`` is given) spends the rate on the coarse base layer at
    ``base_stride`` (None: chosen by rate); ``keep`` and the block options (scheme, block,
    quantisers) describe the block layer of ``base=False``. Their defaults (4×4 blocks, coarse
    quantisers) gave the best SSIM of the block settings tried on six Kodak images
    (benchmarks/RESULTS.md): at a fixed rate, more kept blocks beat more precise ones.

    ``inpainter`` is the decoder the file asks for: "ppgn", the generative decoder (steps and
    loss weights into HEAD, inpaint/ppgn.py), or "diffusion", the fast decode it starts from;
    None (the default) chooses by rate (:attr:`decoder`).
    ``assist`` names assistant statistics of the original to store for it (keys of
    ``assist.KINDS``: "class", "style"; a comma-separated string is accepted), each an ancillary
    chunk whose bytes come out of the rate; none by default (benchmarks/RESULTS.md says why).

    ``importance`` is a map (array or PIL image, any size; see :func:`importance.as_importance`)
    that says where to keep detail at the same rate: with a base layer it sets how finely each
    region is quantised, without one which blocks are kept. ``importance.resolve_importance``
    makes one from a path, ``"auto"`` or regions of interest. It is stored read-only and left
    out of comparisons and the repr (an array has no single truth value or hash).
    """

    bpp: float | None = None
    keep: float | None = None
    scheme: str = "edge+random"
    block: int = 4
    q_luma: int = 24
    q_chroma: int = 32
    chroma_shift: int = 1
    random_share: float = 0.25
    seed: int = 0
    inpainter: str | None = None
    metadata: bool = True
    base: bool | None = None
    base_stride: float | None = None
    steps: int = Params.steps
    assist: tuple[str, ...] = ()
    importance: np.ndarray | Image.Image | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.importance is not None:
            object.__setattr__(self, "importance", as_importance(self.importance))
        for name in ("block", "q_luma", "q_chroma", "chroma_shift", "seed"):
            _require_type(name, getattr(self, name), (int, np.integer))
        for name in ("bpp", "keep", "random_share"):
            if name == "random_share" or getattr(self, name) is not None:
                _require_type(name, getattr(self, name), (int, float, np.integer, np.floating))
        _require_type("scheme", self.scheme, (str,))
        if self.inpainter is not None:
            _require_type("inpainter", self.inpainter, (str,))
        self._check_layers()
        _require_type("steps", self.steps, (int, np.integer))
        self._check_assist()
        if self.steps != EncodeOptions.steps and self.decoder != "ppgn":
            msg = "steps sets the generative decoder's descent; it needs inpainter 'ppgn'"
            raise AbcError(msg)
        if self.bpp is not None and self.keep is not None:
            msg = "give bpp or keep, not both"
            raise AbcError(msg)
        if self.bpp is not None and not 0 < self.bpp <= 64:
            msg = f"bpp {self.bpp} outside (0, 64]"
            raise AbcError(msg)
        if self.keep is not None and not 0 <= self.keep <= 1:
            msg = f"keep {self.keep} outside [0, 1]"
            raise AbcError(msg)
        if self.scheme not in SCHEMES:
            msg = f"scheme {self.scheme!r} is not one of {', '.join(SCHEMES)}"
            raise AbcError(msg)
        if not 0 <= self.random_share <= 1:
            msg = f"random_share {self.random_share} outside [0, 1]"
            raise AbcError(msg)
        if self.inpainter is not None and self.inpainter not in AVAILABLE_INPAINTERS:
            msg = f"inpainter {self.inpainter!r} is not available (choose from {', '.join(AVAILABLE_INPAINTERS)})"
            raise AbcError(msg)
        header_for(self, width=1, height=1, mode=container.MODE_RGB)

    def _check_layers(self) -> None:
        """``base`` and ``base_stride`` against each other and against ``keep``."""
        if self.base is not None and not isinstance(self.base, bool):
            msg = f"base must be True, False or None, got {self.base!r}"
            raise AbcError(msg)
        if self.base and self.keep is not None:
            msg = "keep sets the block layer of a file without a base layer; give base=False or bpp"
            raise AbcError(msg)
        if self.base_stride is not None:
            _require_type("base_stride", self.base_stride, (int, float, np.integer, np.floating))
            base_layer.stride_quarters(self.base_stride)

    def _check_assist(self) -> None:
        """``assist`` as a sorted tuple of known names, and only for the generative decoder."""
        names = self.assist.split(",") if isinstance(self.assist, str) else self.assist
        if not isinstance(names, (tuple, list)) or not all(isinstance(name, str) for name in names):
            msg = f"assist must be a list of names or a comma-separated string, got {self.assist!r}"
            raise AbcError(msg)
        names = tuple(sorted({name.strip() for name in names if name.strip()}))
        unknown = [name for name in names if name not in assist_stats.KINDS]
        if unknown:
            msg = f"assist {', '.join(unknown)} is not one of {', '.join(assist_stats.KINDS)}"
            raise AbcError(msg)
        if names and (self.inpainter == "diffusion" or not self.steps):
            msg = "assist statistics act through the generative decoder's descent: they need inpainter 'ppgn' and steps > 0 (--steps N)"
            raise AbcError(msg)
        object.__setattr__(self, "assist", names)

    @property
    def decoder(self) -> str:
        """The inpainter the file names: ``inpainter`` if given, else the generative decoder unless
        the rate is above GENERATIVE_MAX_BPP and no descent was asked for."""
        if self.inpainter is not None:
            return self.inpainter
        generative = self.steps or self.bpp is None or self.bpp <= GENERATIVE_MAX_BPP
        return "ppgn" if generative else "diffusion"

    @property
    def uses_base(self) -> bool:
        return self.base if self.base is not None else self.keep is None


def _require_type(name: str, value: object, types: tuple[type, ...]) -> None:
    """Options arrive from keyword arguments and Pillow's save(); a wrong type is named, not a TypeError."""
    if isinstance(value, bool) or not isinstance(value, types):
        wanted = "a string" if types == (str,) else "an integer" if float not in types else "a number"
        msg = f"{name} must be {wanted}, got {value!r}"
        raise AbcError(msg)


def header_for(options: EncodeOptions, *, width: int, height: int, mode: int) -> Header:
    """The header an encode with these options writes; building it runs the container's checks."""
    return Header(
        width=width, height=height, mode=mode, block=options.block, q_luma=options.q_luma,
        q_chroma=options.q_chroma, chroma_shift=options.chroma_shift, scheme=scheme_id(options),
        inpainter=INPAINTER_IDS[options.decoder], seed=options.seed, **_generative_fields(options),
    )


def header_params(params: Params) -> tuple[float, ...]:
    """§3, inpainter 1: the descent's floats in field order, padded to the header's 8."""
    floats = params.floats()
    return floats + (0.0,) * (container.N_DECODER_PARAMS - len(floats))


def _generative_fields(options: EncodeOptions) -> dict:
    """Steps, decoder parameters and the generator's hash, for a file made for the generative decoder."""
    if options.decoder != "ppgn":
        return {}
    params = params_for(options.steps, options.assist)
    return {"steps": params.steps, "params": header_params(params), "generator": packaged_generator_hash()}


@functools.cache
def packaged_generator_hash() -> bytes:
    """SHA-256 of the generator weights this package ships (weights/generator.sha256), without torch."""
    text = resources.files(__package__).joinpath("weights/generator.sha256").read_text()
    return bytes.fromhex(text.split()[0])


def scheme_id(options: EncodeOptions) -> int:
    """§3: an importance map makes the order no scheme of the table, so it is written as "other"."""
    return SCHEMES[options.scheme] if options.importance is None else container.SCHEME_OTHER


def image_to_array(image: Image.Image | np.ndarray) -> tuple[np.ndarray, str | None]:
    """uint8 (H, W) or (H, W, 3), plus a note when the input had to be converted.

    Alpha and more than 8 bits per sample are refused rather than silently dropped.
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or not (image.ndim == 2 or image.ndim == 3 and image.shape[2] == 3):
            msg = f"array input must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}"
            raise AbcError(msg)
        return np.ascontiguousarray(image), None
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        mode = "PA"
    if mode in ("L", "RGB"):
        return np.asarray(image), None
    if mode in CONVERTIBLE_MODES:
        target = CONVERTIBLE_MODES[mode]
        return np.asarray(image.convert(target)), f"converted mode {mode} to {target}"
    if "A" in mode or mode in ("PA", "La", "RGBa"):
        msg = f"mode {mode} has an alpha channel, which .abc cannot store; convert to RGB first"
        raise AbcError(msg)
    msg = f"mode {mode} has more than 8 bits per sample or an unsupported layout; .abc stores L or RGB"
    raise AbcError(msg)


def pixel_params(header: Header) -> PixelParams:
    """The HEAD fields that say how kept pixels are coded (§3, §7): one reading for both sides."""
    return PixelParams(header.block, header.q_luma, header.q_chroma, header.chroma_shift)


def _assemble(
    header: Header, mask: np.ndarray, image: np.ndarray, ancillary: dict[bytes, bytes], base: bytes | None = None
) -> bytes:
    abc = AbcFile(header, encode_mask(mask), pack_blocks(image, mask, pixel_params(header)), ancillary, base)
    return container.write_file(abc)


def _largest_fitting(size_of, n_blocks: int, budget: int) -> int:
    """Largest kept-block count whose file fits the byte budget, by bisection on nested masks.

    File size grows with the count only on average (mask bits are not monotone), so this finds
    a count at the budget's edge, not the global maximum; with nested masks that is within a
    few blocks of it.
    """
    low, high = 0, n_blocks
    if size_of(high) <= budget:
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if size_of(middle) <= budget:
            low = middle
        else:
            high = middle
    return low


def encode(image: Image.Image | np.ndarray, /, *, options: EncodeOptions | None = None) -> bytes:
    """Compress an image (PIL image or uint8 array) to .abc bytes."""
    options = options or EncodeOptions()
    array, _ = image_to_array(image)
    return encode_array(array, options, metadata_chunks(image, options))


def metadata_chunks(image: Image.Image | np.ndarray, options: EncodeOptions) -> dict[bytes, bytes]:
    """ICC profile and EXIF, carried as ancillary chunks so that colours and orientation survive."""
    if not options.metadata or not isinstance(image, Image.Image):
        return {}
    return chunks_from_info(image.info)


def encode_array(array: np.ndarray, options: EncodeOptions, ancillary: dict[bytes, bytes]) -> bytes:
    """The encoder proper, on a uint8 (H, W) or (H, W, 3) array."""
    height, width = array.shape[:2]
    mode = container.MODE_RGB if array.ndim == 3 else container.MODE_L
    header = header_for(options, width=width, height=height, mode=mode)
    ancillary = ancillary | assist_stats.measure_chunks(array, options.assist)
    importance = None if options.importance is None else resize_importance(options.importance, (height, width))
    if options.uses_base:
        budget = _byte_budget(options, width, height)
        return _encode_base_only(array, header, ancillary, budget, options.base_stride, importance)
    order = block_order(array, options.scheme, options.block, seed=options.seed, random_share=options.random_share,
                        importance=importance)
    grid = header.grid_shape
    n_blocks = grid[0] * grid[1]

    def file_for(count: int) -> bytes:
        return _assemble(header, mask_from_order(order, grid, count / n_blocks), array, ancillary)

    if options.keep is not None:
        return file_for(round(options.keep * n_blocks))
    budget = _byte_budget(options, width, height)
    sizes: dict[int, int] = {}

    def size_of(count: int) -> int:
        if count not in sizes:
            sizes[count] = len(file_for(count))
        return sizes[count]

    return file_for(_largest_fitting(size_of, n_blocks, budget))


def _byte_budget(options: EncodeOptions, width: int, height: int) -> int:
    bpp = DEFAULT_BPP if options.bpp is None else options.bpp
    return int(bpp * width * height / 8)


def _encode_base_only(
    array: np.ndarray, header: Header, ancillary: dict[bytes, bytes], budget: int, stride: float | None,
    importance: np.ndarray | None,
) -> bytes:
    """A file whose rate all goes to the base layer; the block layer is present but empty."""
    empty = np.zeros(header.grid_shape, bool)
    overhead = len(_assemble(header, empty, array, ancillary, b""))
    payload = base_layer.encode_base(array, max(budget - overhead, 1), stride, importance)
    return _assemble(header, empty, array, ancillary, payload)


def canvas_of(abc: AbcFile) -> tuple[Canvas, np.ndarray]:
    """The kept pixels a file holds, and its block mask: everything the decoder knows."""
    header = abc.header
    mask = decode_mask(abc.mask, header.grid_shape)
    canvas = unpack_blocks(abc.pixels, mask, header.channels, (header.height, header.width), pixel_params(header))
    return canvas, mask


def upsample_chroma(chroma: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear ×2 with sample centres at the 2×2 box centres the encoder averaged over."""
    _, rows, cols = chroma.shape
    y = np.clip((np.arange(shape[0]) + 0.5) / 2 - 0.5, 0, rows - 1)
    x = np.clip((np.arange(shape[1]) + 0.5) / 2 - 0.5, 0, cols - 1)
    y0, x0 = np.floor(y).astype(np.intp), np.floor(x).astype(np.intp)
    y1, x1 = np.minimum(y0 + 1, rows - 1), np.minimum(x0 + 1, cols - 1)
    wy, wx = (y - y0).astype(np.float32)[:, None], (x - x0).astype(np.float32)[None, :]
    top = chroma[:, y0][:, :, x0] * (1 - wx) + chroma[:, y0][:, :, x1] * wx
    bottom = chroma[:, y1][:, :, x0] * (1 - wx) + chroma[:, y1][:, :, x1] * wx
    return top * (1 - wy) + bottom * wy


def fill_canvas(canvas: Canvas, header: Header) -> np.ndarray:
    """The diffusion decoder: fill each plane's holes, return uint8 (H, W) or (H, W, 3)."""
    luma = diffusion.fill(canvas.luma[None], canvas.luma_known)
    if canvas.chroma is None:
        return np.clip(np.rint(luma[0]), 0, 255).astype(np.uint8)
    chroma = diffusion.fill(canvas.chroma, canvas.chroma_known)
    size = (header.height, header.width)
    if header.chroma_shift:
        chroma = upsample_chroma(chroma, size)
    return ycbcr_to_rgb(np.concatenate([luma, chroma]))


def check_device(device: str) -> None:
    """Refuse a device name we do not know, and CUDA where there is none."""
    if device not in DEVICES:
        msg = f"device {device!r} is not one of {', '.join(DEVICES)}"
        raise AbcError(msg)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            msg = "device cuda requested but no CUDA device is available"
            raise AbcError(msg)


def decode_file(
    abc: AbcFile, *, inpainter: str | None = None, device: str = "auto",
    max_pixels: int | None = container.DEFAULT_MAX_PIXELS, progress: Progress | None = None,
) -> np.ndarray:
    """Decode a parsed file to uint8 pixels; ``inpainter`` overrides the one the file asks for.

    ``max_pixels`` and the pixels-per-byte bomb check (``container.check_decode_limits``) are
    applied before any work; ``max_pixels=None`` trusts the file (only the format's limits).
    ``progress(done, total, seconds_left)`` is called after each step of the generative decoder.
    """
    container.check_decode_limits(abc, max_pixels)
    check_device(device)
    wanted = inpainter or container.INPAINTERS[abc.header.inpainter]
    if wanted not in AVAILABLE_INPAINTERS:
        msg = f"inpainter {wanted!r} is not available in this version; decode with inpainter 'diffusion'"
        raise AbcError(msg)
    if wanted == "diffusion":
        return _fast_decode(abc)[0]
    _check_generator(abc.header)
    descent = _descent(abc.header)
    container.check_descent_limit(abc.header, descent.steps, max_pixels)
    stats = assist_stats.statistics_from_chunks(abc.ancillary)
    image, canvas = _fast_decode(abc)
    from .inpaint import ppgn

    return ppgn.inpaint(image, exact_pixels(canvas), descent, stats, device=device, progress=progress)


def _fast_decode(abc: AbcFile) -> tuple[np.ndarray, Canvas]:
    """§8 steps 1–7: the diffusion fill, or the upsampled base with the kept blocks blended in;
    with the canvas, whose exact pixels the generative decoder keeps."""
    canvas, mask = canvas_of(abc)
    if abc.base is None:
        return fill_canvas(canvas, abc.header), canvas
    planes = base_layer.unpack_base(abc.base, abc.header.channels, (abc.header.height, abc.header.width))
    return base_layer.planes_to_image(blend_blocks(planes, canvas, abc.header) if mask.any() else planes), canvas


def _check_generator(header: Header) -> None:
    """A file made for other weights is refused by name; a diffusion file may be refined with ours."""
    ours = packaged_generator_hash()
    if header.inpainter == container.INPAINTER_PPGN and header.generator != ours:
        msg = (f"HEAD: made for generator weights {header.generator.hex()[:16]}…, this decoder has "
               f"{ours.hex()[:16]}…; decode with inpainter 'diffusion'")
        raise AbcError(msg)


def exact_pixels(canvas: Canvas) -> np.ndarray:
    """Pixels the file holds exactly: kept luma whose chroma sample was kept too."""
    known = canvas.luma_known
    if canvas.chroma_known is not None and canvas.chroma_known.shape != known.shape:
        chroma = canvas.chroma_known.repeat(2, axis=0).repeat(2, axis=1)[: known.shape[0], : known.shape[1]]
        known = known & chroma
    return known


def _descent(header: Header) -> Params:
    """The generative decoder's descent: the file's, or the default one for a file made for
    another inpainter (the fast decode, refined on request)."""
    if header.inpainter == container.INPAINTER_PPGN:
        return Params.from_header(header.steps, header.seed, header.params)
    return Params(seed=header.seed)


def blend_blocks(planes: list[np.ndarray], canvas: Canvas, header: Header) -> list[np.ndarray]:
    """The base planes with the kept blocks put in exactly and no seam around them.

    The difference between a kept sample and the base is diffused into a band one block wide
    around the kept blocks and is zero beyond it, so the correction fades out smoothly.
    """
    luma = planes[0] + _faded_difference(canvas.luma, canvas.luma_known, planes[0], header.block)
    if canvas.chroma is None:
        return [luma]
    shift = header.chroma_shift
    size = (header.height, header.width)
    chroma_base = np.stack([_box_average(p, shift, canvas.chroma.shape[1:]) for p in planes[1:]])
    difference = _faded_difference(canvas.chroma, canvas.chroma_known, chroma_base, header.block >> shift)
    if shift:
        difference = upsample_chroma(difference, size)
    return [luma, *(p + d for p, d in zip(planes[1:], difference))]


def _faded_difference(values: np.ndarray, known: np.ndarray, base: np.ndarray, width: int) -> np.ndarray:
    """Harmonic fill of (kept − base) with zero fixed at ``width`` samples from every kept one."""
    far = ~ndimage.maximum_filter(known, size=2 * width + 1)
    difference = np.where(known, values - base, 0.0).astype(np.float32)
    stacked = difference if difference.ndim == 3 else difference[None]
    filled = diffusion.fill(stacked, known | far)
    return filled if difference.ndim == 3 else filled[0]


def _box_average(plane: np.ndarray, shift: int, shape: tuple[int, int]) -> np.ndarray:
    """The base plane at the chroma canvas's resolution: 2×2 means when chroma is halved (§7 step 2)."""
    if not shift:
        return plane
    padded = np.pad(plane, ((0, 2 * shape[0] - plane.shape[0]), (0, 2 * shape[1] - plane.shape[1])), mode="edge")
    return padded.reshape(shape[0], 2, shape[1], 2).mean(axis=(1, 3))


def decode(
    data: bytes, /, *, inpainter: str | None = None, device: str = "auto",
    max_pixels: int | None = container.DEFAULT_MAX_PIXELS, progress: Progress | None = None,
) -> Image.Image:
    """Decompress .abc bytes to a PIL image (mode L or RGB), ICC profile and EXIF in ``info``.

    Untrusted input is safe with the default ``max_pixels`` (see :func:`decode_file`).
    """
    abc = container.read_file(data)
    pixels = decode_file(abc, inpainter=inpainter, device=device, max_pixels=max_pixels, progress=progress)
    image = Image.fromarray(pixels)
    image.info.update(info_from_chunks(abc.ancillary))
    return image
