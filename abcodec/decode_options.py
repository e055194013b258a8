"""What the decoder may be told, validated in one place.

:class:`DecodeOptions` is the one definition of the decoder's options: :func:`abcodec.decoder.decode`
takes it (or its fields as keywords), ``abc-decode``'s and ``abc-batch decode``'s flags are made
from its fields (``cli.add_options``), and ``register_abc_opener``'s keywords are its fields that
the field's metadata does not mark ``opener=False``. Like ``options.EncodeOptions``, each field's
``metadata`` holds its help text and how the command line parses it (:mod:`abcodec.option_fields`).

Standard library and :mod:`abcodec.container` only: the Pillow plugin builds a DecodeOptions when
``import abcodec`` registers it, and opening a header must not pay for numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import is_integer
from .container import AbcError
from .limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_PER_BYTE, check_max_pixels
from .option_fields import option, positive

AVAILABLE_INPAINTERS = ("diffusion", "ppgn")
"""The inpainters this version decodes with, by the names of §3's ids (container.INPAINTERS)."""

DEVICES = ("auto", "cpu", "cuda")
"""Where the generative decoder may run; auto is CUDA when torch sees one, else the CPU."""


@dataclass(frozen=True)
class DecodeOptions:
    """The decoder's options; validated once, here.

    ``inpainter`` overrides the decoder the file asks for (None: as the file asks). ``device``
    is where the generative decoder runs (None is taken as "auto", as ``register_abc_opener`` has
    always taken it). ``threads`` is the generative decoder's CPU thread count (ONNX Runtime's,
    or torch's for the descent; None: their defaults); the pixels do not depend on it.
    ``max_pixels`` caps width × height before any work, beside the pixels-per-byte bomb check
    (``limits.check_decode_limits``); None trusts the file (only the format's limits). The
    Pillow plugin takes it from ``Image.MAX_IMAGE_PIXELS`` instead, so it is no opener keyword.
    """

    inpainter: str | None = option(None, "auto: the one the file asks for", choices=AVAILABLE_INPAINTERS,
                                   none_flag="auto")
    device: str = option("auto", "where the generative decoder runs", choices=DEVICES)
    threads: int | None = option(None, "CPU threads of the generative decoder (default: ONNX Runtime's or "
                                       "torch's own); the pixels do not depend on it", type=positive, metavar="N")
    max_pixels: int | None = option(DEFAULT_MAX_PIXELS, f"refuse larger images, and files of more than "
                                                        f"{MAX_PIXELS_PER_BYTE} pixels per byte; 0: trust the file, "
                                                        "only the format's limits", type=int, metavar="N",
                                    none_flag=0, opener=False)

    def __post_init__(self) -> None:
        if self.inpainter is not None and not (isinstance(self.inpainter, str)
                                               and self.inpainter in AVAILABLE_INPAINTERS):
            msg = f"inpainter {self.inpainter!r} is not one of {', '.join(map(repr, (None, *AVAILABLE_INPAINTERS)))}"
            raise AbcError(msg)
        if self.device is None:
            object.__setattr__(self, "device", "auto")
        if not (isinstance(self.device, str) and self.device in DEVICES):
            msg = f"device {self.device!r} is not one of {', '.join(DEVICES)}"
            raise AbcError(msg)
        if self.threads is not None:
            if not is_integer(self.threads) or self.threads < 1:
                msg = f"threads must be a positive integer or None, got {self.threads!r}"
                raise AbcError(msg)
            object.__setattr__(self, "threads", int(self.threads))
        check_max_pixels(self.max_pixels)
