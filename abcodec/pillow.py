"""Pillow plugin for .abc files: identify, open, load, save and registration (format_spec/abc.md).

Importing :mod:`abcodec` registers the plugin; :func:`register_abc_opener` does the same for code
whose linter would delete an "unused" import, and sets how ``load()`` decodes (below). Then Pillow
reads and writes .abc like any format::

    import abcodec
    from PIL import Image

    with Image.open("photo.abc") as im:  # header only: size, mode, ICC profile, EXIF
        im.load()  # the pixels are decoded (inpainted) here
    im.save("small.abc", bpp=0.2)

``_open`` reads and checks the whole container (framing, CRCs, header: a few KB, nothing sized
from the header's claims) but decodes nothing, so Pillow's decompression-bomb check on
``im.size``, which runs after ``_open``, comes before any pixel memory exists. ``_open`` adds the
codec's own bomb check, which Pillow's cannot make: a file must spend a byte per 1024 pixels
(``limits.MAX_PIXELS_PER_BYTE``; ``limits.check_decode_limits``), else
``DecompressionBombError``; setting ``Image.MAX_IMAGE_PIXELS = None`` lifts both checks. The
codec (numpy, the mask and pixel coders, the inpainter) is imported only when pixels are decoded
or encoded, so identifying a file stays cheap, and decoding one that is only its AV1 frame
imports no numpy at all (:mod:`abcodec.decoder`).

Decoding options, as pillow-heif's ``register_heif_opener(**options)`` takes them:
``register_abc_opener(**options)`` sets the :class:`~abcodec.decode_options.DecodeOptions` every
later ``load()`` decodes with, and each call sets them all (so ``register_abc_opener()`` restores
the defaults); a bad value is a ``ValueError``. Its keywords (:func:`opener_options`) are the
fields of DecodeOptions but ``max_pixels``, which follows ``Image.MAX_IMAGE_PIXELS`` (above):

- ``inpainter``: None (the default) decodes as the file asks: with the generative decoder where
  it was made at a low rate (up to 0.3 bpp) and the encoder measured that G gains, else the fast
  decode;
  ``"diffusion"`` is the fast decode, without torch or ONNX Runtime; ``"ppgn"`` asks for the
  generative decoder whatever the file says;
- ``device``: where the generative decoder runs, ``"auto"`` (None), ``"cpu"`` or ``"cuda"``;
- ``threads``: a positive number of CPU threads for the generative decoder, or None for its
  default; the pixels do not depend on it.

Save options (``im.save(path, **options)``), all optional:

- the fields of :class:`abcodec.options.EncodeOptions`: ``quality`` (0..100, as every Pillow
  plugin takes it: one AV1 quantizer, calibrated so that equal quality means about equal SSIM; by
  default ``options.DEFAULT_QUALITY``, 94, about the SSIM of Pillow's AVIF default in fewer bytes)
  or ``bpp`` (the rate, the exact control; 0.25 by default for ``blocks``), ``speed``, ``effort``
  (0 names the decoder by rate alone, 1 measures G first, 2 also tries slower AV1 speeds),
  ``inpainter``, ``steps``, ``assist``, ``ablation`` (how strongly ``importance`` or ``roi``,
  below, moves the rate toward what they rank first; 0 ignores them), ``metadata`` (which of icc,
  exif, xmp, dpi to carry), and ``blocks`` for the source paper's layout (a
  :class:`~abcodec.options.BlockLayer`, a dict of its fields or True); their ranges are checked
  there;
- ``importance`` (a path, a PIL image, an array, or ``"auto"``) and ``roi`` (``"x,y,w,h"``
  strings or (x, y, w, h) tuples): where to keep detail at the same rate, as
  ``abc-encode --importance`` and ``--roi``;
- ``icc_profile`` (bytes), ``exif`` (bytes or :class:`PIL.Image.Exif`), ``xmp`` (bytes or str)
  and ``dpi`` (a pair of numbers), which default to the image's ``info``; pass ``None`` or ``b""``
  to leave one out;
- ``optimize``, which generic code passes to every format: accepted and ignored, as every .abc
  file is already as small as its settings make it.

Any other keyword is refused with a ``ValueError`` that names it: Pillow hands every ``save()``
keyword to the plugin, and silently ignoring a misspelt ``qualty=90`` would hide a mistake. The
other exceptions are those of Pillow's own writers: a bad value (an ``exif`` Pillow cannot read
included) is a ``ValueError`` (:class:`~abcodec.container.AbcError`), as is an empty image; an
image .abc cannot store, or the encoder failing, is an ``OSError``, a failure to write. As with every
Pillow format, ``save()`` of an animation writes its current frame (``save_all=True`` refuses
more than one); :func:`abcodec.encode` and ``abc-encode`` refuse animations instead.
"""

from __future__ import annotations

import dataclasses
from typing import IO, Any

from PIL import Image, ImageFile

from . import container, limits
from .container import SIGNATURE, AbcEncoderError, AbcError, AbcImageError
from .metadata import info_from_chunks, usable_info

MIME_TYPE = "image/x-abc"
EXTENSION = ".abc"
DECODER_NAME = "abc"

IMPORTANCE_OPTIONS = ("importance", "roi")
"""Save keywords passed on to ``codec.encode``: an importance map's source and regions of interest."""

METADATA_OPTIONS = ("icc_profile", "exif", "xmp", "dpi")
"""Save keywords for the ancillary chunks (§4): ``iccp``, ``exif``, ``xmpd`` and ``phys``."""

IGNORED_OPTIONS = ("optimize",)
"""Save keywords generic code passes to any format, accepted and ignored (module docstring)."""

_opener_options: dict[str, Any] = {}
"""The DecodeOptions fields ``load()`` decodes with, but ``max_pixels`` (:func:`_max_pixels`): the
keywords of the last :func:`register_abc_opener`, checked there."""

SINGLE_FRAME_OPTIONS = ("append", "append_images")
"""Keywords that ``Image.save`` itself acts on; an .abc file holds one image, so only a false
value (as generic code may pass, e.g. ``append_images=[]``) is accepted."""


def _max_pixels() -> int | None:
    """The codec's ``max_pixels`` under Pillow's policy: ``Image.MAX_IMAGE_PIXELS`` already bounds
    the size (checked after ``_open``), so only the codec's pixels-per-byte bomb check is added,
    and ``MAX_IMAGE_PIXELS = None`` (trust every file) lifts that too."""
    return None if Image.MAX_IMAGE_PIXELS is None else container.MAX_PIXELS


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(SIGNATURE)


class AbcImageFile(ImageFile.ImageFile):
    format = "ABC"
    format_description = "Ablative Image Compression"
    n_frames = 1
    is_animated = False

    def _open(self) -> None:
        assert self.fp is not None
        data = self.fp.read(len(SIGNATURE))
        if not _accept(data):
            msg = "not an .abc file"
            raise SyntaxError(msg)
        # The right signature: from here on a broken file is an error, not "another format".
        try:
            abc = container.read_file(container.read_stream(self.fp, data, source="ABC file"))
        except AbcError as e:
            raise OSError(str(e)) from e

        try:
            limits.check_decode_limits(abc, _max_pixels())
        except AbcError as e:
            raise Image.DecompressionBombError(str(e)) from e

        header = abc.header
        self._size = header.width, header.height
        self._mode = header.mode_name + ("A" if abc.alpha is not None else "")
        self.info.update(info_from_chunks(abc.ancillary))
        # The parsed file travels with the tile, so load() does not read or parse it again.
        self.tile = [ImageFile._Tile(DECODER_NAME, (0, 0, *self.size), 0, (abc, False))]

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int, int, int]] | None:
        """A reduced decode for ``thumbnail()``, as Pillow's JPEG plugin offers: the base layer's
        AV1 frame as it is decoded, at its own size, without the generator or the upsampling.

        Taken when the frame is at least ``size`` on both sides (the frame is the image's size at
        most rates, smaller at the lowest); otherwise, or for a file without an AV1 base, None and
        the full decode. Only ``mode`` None or the image's own is offered.
        """
        if len(self.tile) != 1 or size is None or mode not in (None, self.mode) or self.tile[0].args[1]:
            return None
        from .decoder import reduced_size  # deferred: see the module docstring

        (abc, _) = self.tile[0].args
        try:
            frame = reduced_size(abc)
        except AbcError as e:
            raise OSError(str(e)) from e
        if frame[0] < size[0] or frame[1] < size[1]:
            return None
        self._size = frame
        self.tile = [ImageFile._Tile(DECODER_NAME, (0, 0, *frame), 0, (abc, True))]
        return self.mode, (0, 0, *frame)

    def load(self) -> Image.core.PixelAccess | None:
        """The decoded image becomes this one's pixels: no fresh image to paste it into (36 MB and
        0.01–0.03 s at 12 MP, about what a thumbnail may cost beyond Pillow AVIF's). Only
        ``ImageFile.Parser``, which feeds bytes to a decoder, goes through :class:`AbcDecoder`."""
        if self.tile:
            image = _decode(self.tile[0].args)
            if (image.mode, image.size) != (self.mode, self.size):
                msg = f"decoded {image.mode} {image.size}, expected {self.mode} {self.size}"
                raise OSError(msg)
            self.im = image.im
            self.tile = []
            if self.fp is not None and self._exclusive_fp and self._close_exclusive_fp_after_loading:
                self.fp.close()
            self.fp = None
        return Image.Image.load(self)


def _decode(args: tuple) -> Image.Image:
    """The image a tile's (parsed file, reduced) args decode to, with the opener's options."""
    from .decode_options import DecodeOptions
    from .decoder import decode  # deferred: see the module docstring

    abc, reduced = args
    try:
        return decode(abc, options=DecodeOptions(**_opener_options, max_pixels=_max_pixels()), reduced=reduced)
    except AbcError as e:
        raise OSError(str(e)) from e


class AbcDecoder(ImageFile.PyDecoder):
    """Decodes a whole .abc file at once: inpainting needs every kept pixel before any output."""

    _pulls_fd = True

    def decode(self, buffer: Image.DecoderInput) -> tuple[int, int]:
        image = _decode(self.args)
        self.im.paste(image.im, (0, 0, *image.size))  # no tobytes() round trip (0.08 s at 12 MP)
        return -1, 0


def encoder_options() -> tuple[str, ...]:
    """Save keywords passed on to ``options.EncodeOptions``: all its fields. Read when saving, as
    the encoder is imported then anyway (the module docstring)."""
    from .options import EncodeOptions

    return tuple(f.name for f in dataclasses.fields(EncodeOptions))


def _check_save_keys(encoderinfo: dict[str, Any]) -> None:
    for key in SINGLE_FRAME_OPTIONS:
        if encoderinfo.get(key):
            msg = f"ABC holds a single image; cannot save with {key}"
            raise ValueError(msg)
    valid = encoder_options() + IMPORTANCE_OPTIONS + METADATA_OPTIONS
    if unknown := sorted(key for key in encoderinfo if key not in {*valid, *IGNORED_OPTIONS, *SINGLE_FRAME_OPTIONS}):
        plural = "s" if len(unknown) > 1 else ""
        msg = f"unknown ABC save option{plural} {', '.join(unknown)}; valid: {', '.join(valid)}"
        raise ValueError(msg)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from . import codec  # deferred: see the module docstring

    _check_save_keys(im.encoderinfo)
    # An animation's current frame, as Pillow's other formats save it (the module docstring).
    frame = im.copy() if getattr(im, "n_frames", 1) > 1 else im
    if not im.width or not im.height:  # as Pillow's own writers refuse it (ImageFile._save)
        msg = f"cannot write empty image ({im.width}x{im.height})"
        raise ValueError(msg)
    options = codec.EncodeOptions(**{key: im.encoderinfo[key] for key in encoder_options() if key in im.encoderinfo})
    given = {key: im.encoderinfo[key] for key in METADATA_OPTIONS if key in im.encoderinfo}
    metadata = {**usable_info(im.info, options.metadata), **given}
    try:
        data = codec.encode(frame, options=options, importance=im.encoderinfo.get("importance"),
                            roi=im.encoderinfo.get("roi") or (), metadata=metadata)
    except AbcImageError as e:
        msg = f"cannot write this image as ABC: {e}"
        raise OSError(msg) from e
    except AbcEncoderError as e:
        msg = f"cannot write ABC: {e}"
        raise OSError(msg) from e
    except MemoryError as e:
        msg = "cannot write ABC: out of memory"
        raise OSError(msg) from e
    fp.write(data)


def _save_all(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """``save_all=True`` (generic code passes it): fine for one frame, an error for more."""
    if getattr(im, "n_frames", 1) > 1:
        msg = f"ABC holds a single image; this one has {im.n_frames} frames"
        raise ValueError(msg)
    _save(im, fp, filename)


def opener_options() -> tuple[str, ...]:
    """:func:`register_abc_opener`'s keywords: the DecodeOptions fields not marked ``opener=False``."""
    from .decode_options import DecodeOptions

    return tuple(f.name for f in dataclasses.fields(DecodeOptions) if f.metadata.get("opener", True))


def register_abc_opener(**options: Any) -> None:
    """Make Pillow open, save, and name .abc files, and set how ``load()`` decodes them (the
    module docstring): each call sets every option, the format is registered once.

    The options are checked here, by DecodeOptions; none (the defaults, as ``import abcodec``
    registers the plugin) need no check, and so no import of the options."""
    global _opener_options
    if options:
        from .decode_options import DecodeOptions

        if unknown := sorted(set(options) - set(opener_options())):
            msg = f"register_abc_opener() takes {', '.join(opener_options())}, not {', '.join(unknown)}"
            raise TypeError(msg)
        DecodeOptions(**options)
    _opener_options = options
    Image.register_open(AbcImageFile.format, AbcImageFile, _accept)
    Image.register_decoder(DECODER_NAME, AbcDecoder)
    Image.register_save(AbcImageFile.format, _save)
    Image.register_save_all(AbcImageFile.format, _save_all)
    Image.register_extension(AbcImageFile.format, EXTENSION)
    Image.register_mime(AbcImageFile.format, MIME_TYPE)


register_abc_opener()
