"""How an option is declared once for all its faces: a dataclass field whose metadata holds its help
text and how the command line parses it.

:class:`abcodec.options.EncodeOptions` and :class:`abcodec.decode_options.DecodeOptions` are made
of such fields; ``cli.add_options`` turns them into flags, the Pillow plugin takes them as
keywords, and each class checks its values once, in ``__post_init__``. The metadata keys
``cli.add_options`` reads: ``help``; ``type``, ``choices`` and ``metavar`` as argparse takes them;
``flag`` (or ``flags``) when the flag is not the field's name; ``none_flag``, the command line's
word for None (``--inpainter auto``, ``--max-pixels 0``).

Standard library only: the Pillow plugin, and so ``import abcodec``, loads it.
"""

from __future__ import annotations

import dataclasses


def option(default, help: str, **cli) -> dataclasses.Field:
    """A field with its help text and command-line parsing (``type``, ``choices``, ``metavar``, ...)."""
    return dataclasses.field(default=default, metadata={"help": help, **cli})


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    import argparse  # deferred: only a command line parses flags

    value = int(text)
    if value < 1:
        msg = f"{value} is not a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return value


def non_negative(text: str) -> int:
    """argparse type: an integer of at least 0."""
    import argparse  # deferred: only a command line parses flags

    value = int(text)
    if value < 0:
        msg = f"{value} is negative"
        raise argparse.ArgumentTypeError(msg)
    return value
