"""abcodec: Ablative Image Compression.

The public API is ``abcodec.encode(image, options=abcodec.EncodeOptions(...))`` and
``abcodec.decode(data, options=abcodec.DecodeOptions(...))``; errors are ``abcodec.AbcError``.
They are loaded on first use, so that ``import abcodec`` (which registers the Pillow plugin)
stays cheap. ``abcodec.__version__`` is the installed distribution's version; ``python -m
abcodec`` says what the package offers.
"""

# Importing the package registers the Pillow plugin, as Pillow has no plugin entry points;
# register_abc_opener() is the explicit form for code whose linter drops unused imports.
from .container import AbcError, AbcWarning
from .pillow import register_abc_opener

_VERSION = "0.4.0"
"""The version of this source tree, for a copy that is not installed (no distribution metadata);
pyproject.toml reads the distribution's version from here (``version = { attr = "abcodec._VERSION" }``)."""

_FROM_CODEC = ("BlockLayer", "EncodeOptions", "encode")
_FROM_DECODER = ("DecodeOptions", "decode")
"""Where the lazy names come from: decoding a file that is only its AV1 frame needs no numpy,
which the encoder's module imports (abcodec/decoder.py)."""

__all__ = ["AbcError", "AbcWarning", "__version__", "register_abc_opener", *_FROM_CODEC, *_FROM_DECODER]


def _installed_version() -> str:
    """The version pip installed (importlib.metadata), else :data:`_VERSION`."""
    from importlib import metadata  # deferred: it costs more than the rest of this import

    try:
        return metadata.version(__name__)
    except metadata.PackageNotFoundError:
        return _VERSION


def __getattr__(name: str):
    if name in _FROM_CODEC:
        from . import codec

        return getattr(codec, name)
    if name in _FROM_DECODER:
        from . import decoder

        return getattr(decoder, name)
    if name == "__version__":
        globals()["__version__"] = version = _installed_version()
        return version
    msg = f"module 'abcodec' has no attribute {name!r}"
    raise AttributeError(msg)
