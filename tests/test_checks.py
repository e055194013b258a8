import numpy as np
import pytest

from abcodec import checks, dctbase, limits, mask, options, pixels
from abcodec.container import AbcError, AbcFile, Header
from abcodec.decode_options import DecodeOptions
from abcodec.generative import settings

SMALL_FILE = AbcFile(Header(width=5, height=3, mode=1, block=1, q_luma=4, q_chroma=4, chroma_shift=0), b"m", b"p")
"""A parsed file of 15 pixels, which every limit admits: only ``max_pixels`` itself can be refused."""

INTEGER_ARGUMENTS = {
    "BlockLayer block": lambda n: options.BlockLayer(block=n),
    "EncodeOptions steps": lambda n: options.EncodeOptions(steps=n, inpainter="ppgn"),
    "Params steps": lambda n: settings.Params(steps=n),
    "PixelParams block": lambda n: pixels.PixelParams(n, 8, 8, 0),
    "BaseParams stride": lambda n: dctbase.BaseParams(n, 0, 8.0, 8.0, 0.0),
    "block_order block": lambda n: mask.block_order(np.zeros((8, 8), np.uint8), "random", n),
    "DecodeOptions threads": lambda n: DecodeOptions(threads=n),
    "max_pixels": lambda n: limits.check_decode_limits(SMALL_FILE, n),
}
"""Every integer argument checked in the package, through the public function that checks it."""


@pytest.mark.parametrize("value", [16, np.int64(16)], ids=repr)
@pytest.mark.parametrize("argument", INTEGER_ARGUMENTS)
def test_integer_arguments_take_python_and_numpy_integers(argument, value):
    INTEGER_ARGUMENTS[argument](value)


@pytest.mark.parametrize("value", [True, 16.0, "16"], ids=repr)
@pytest.mark.parametrize("argument", INTEGER_ARGUMENTS)
def test_integer_arguments_refuse_bools_floats_and_strings(argument, value):
    """One check (checks.is_integer) for all: True is 1 to Python but no count."""
    with pytest.raises(AbcError, match=repr(value).replace(".", r"\.")):
        INTEGER_ARGUMENTS[argument](value)


@pytest.mark.parametrize(("value", "expected"), [
    (0.5, True), (np.float32(0.5), True), (3, True), (np.uint8(3), True),
    (True, False), ("0.5", False), (None, False), (1j, False),
])
def test_numbers_are_reals_but_not_bools(value, expected):
    assert checks.is_number(value) is expected


@pytest.mark.parametrize(("value", "refused"), [(3, False), (5, False), (2, True), (6, True), (np.int16(4), False)])
def test_integer_range_is_inclusive_and_names_where_and_what(value, refused):
    if refused:
        with pytest.raises(AbcError, match=rf"^PIXL: block {value} outside 3\.\.5$"):
            checks.check_integer_range("PIXL", "block", value, 3, 5)
    else:
        checks.check_integer_range("PIXL", "block", value, 3, 5)
