"""abcodec: Ablative Image Compression.

The public API is ``abcodec.encode(image, options=abcodec.EncodeOptions(...))`` and
``abcodec.decode(data)``; errors are ``abcodec.AbcError``. They are loaded on first use, so that
``import abcodec`` (which registers the Pillow plugin) stays cheap.
"""

# Importing the package registers the Pillow plugin, as Pillow has no plugin entry points;
# register_abc_opener() is the explicit form for code whose linter drops unused imports.
from .container import AbcError, AbcWarning
from .pillow import register_abc_opener

_FROM_CODEC = ("BlockLayer", "EncodeOptions", "decode", "encode")

__all__ = ["AbcError", "AbcWarning", "register_abc_opener", *_FROM_CODEC]


def __getattr__(name: str):
    if name in _FROM_CODEC:
        from . import codec

        return getattr(codec, name)
    msg = f"module 'abcodec' has no attribute {name!r}"
    raise AttributeError(msg)
