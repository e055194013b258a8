"""What a file asks of the generative decoder (abcodec/generative/settings.py): the descent's settings
as the header stores them."""

import pytest

from abcodec.container import AbcError
from abcodec.generative.settings import Params


def test_params_round_trip_through_the_header_fields_and_refuse_negatives():
    params = Params(steps=5, noise_seed=9, step_size=0.2, classification=0.5, style=3.0)
    assert len(params.floats()) <= 8
    assert Params.from_header(5, 9, params.floats() + (0.0,)) == params
    with pytest.raises(AbcError, match="edge"):
        Params(edge=-1.0)
