"""DecodeOptions (abcodec/decode_options.py): the decoder's options, checked once, whatever face they
come from; the faces' plumbing is tested in test_codec, test_cli, test_pillow and test_batch."""

import dataclasses

import numpy as np
import pytest

from abcodec import limits
from abcodec.container import AbcError
from abcodec.decode_options import DecodeOptions


def test_the_defaults_decode_as_the_file_asks_within_the_limits():
    assert dataclasses.astuple(DecodeOptions()) == (None, "auto", None, limits.DEFAULT_MAX_PIXELS)


@pytest.mark.parametrize(("given", "message"), [
    ({"inpainter": "gan"}, "inpainter 'gan' is not one of None, 'diffusion', 'ppgn'"),
    ({"inpainter": "auto"}, "inpainter 'auto' is not one of"),  # auto is the command line's word for None
    ({"inpainter": ["ppgn"]}, "inpainter \\['ppgn'\\] is not one of"),
    ({"device": "tpu"}, "device 'tpu' is not one of auto, cpu, cuda"),
    ({"device": 0}, "device 0 is not one of"),
    ({"threads": 0}, "threads must be a positive integer or None, got 0"),
    ({"threads": -2}, "threads must be a positive integer or None, got -2"),
    ({"threads": 1.5}, "threads must be a positive integer or None, got 1.5"),
    ({"threads": True}, "threads must be a positive integer or None, got True"),
    ({"threads": "4"}, "threads must be a positive integer or None, got '4'"),
    ({"max_pixels": 0}, "max_pixels must be a positive integer or None, got 0"),
    ({"max_pixels": 2.5e6}, "max_pixels must be a positive integer or None, got 2500000.0"),
])
def test_bad_values_are_refused_by_name(given, message):
    with pytest.raises(AbcError, match=message):
        DecodeOptions(**given)


def test_device_none_is_auto_and_a_numpy_count_an_int():
    options = DecodeOptions(device=None, threads=np.int64(3), max_pixels=np.int32(100))
    assert (options.device, options.threads, type(options.threads)) == ("auto", 3, int)
    assert options.max_pixels == 100


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DecodeOptions().threads = 2

