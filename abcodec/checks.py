"""The argument checks the whole package shares: what counts as an integer and as a number.

Counts and rates reach the encoder's options, the block and pixel layers' parameters and the
decoder's options from Python, from numpy and from Pillow's ``save()`` keywords; one definition
here keeps those checks from disagreeing about ``True`` or ``np.int64(16)``.
"""

from __future__ import annotations

import numbers

from .container import AbcError


def is_integer(value: object) -> bool:
    """An int or a numpy integer, not a bool: counts reach the checks from Python, from numpy (a
    value read from an array) and from Pillow's save() keywords, and True is no count. Every
    check of an integer argument in the package asks this, so they cannot disagree."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A real number (ints and numpy's included), not a bool: :func:`is_integer` for rates and shares."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_integer_range(where: str, name: str, value: object, low: int, high: int) -> None:
    """``value`` an integer in low..high, else an AbcError naming where (a chunk), the field and the value."""
    if not is_integer(value) or not low <= value <= high:
        msg = f"{where}: {name} {value!r} outside {low}..{high}"
        raise AbcError(msg)
