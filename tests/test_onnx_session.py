import sys

import numpy as np
import pytest

from abcodec import saliency
from abcodec.container import AbcError
from abcodec.generative import onnx_generator, settings
from abcodec.onnx_session import cpu_session


def test_a_session_takes_the_threads_asked_for():
    model = (settings.newest_generator().resource(".onnx")).read_bytes()
    session = cpu_session(model, 1, "unused")
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.get_session_options().intra_op_num_threads == 1
    assert session.get_session_options().inter_op_num_threads == 1


@pytest.mark.parametrize(("run", "message"), [
    (lambda: saliency.fixation_density(np.zeros((32, 32, 3), np.uint8), threads=3),
     "--importance auto needs ONNX Runtime: pip install onnxruntime"),
    (lambda: onnx_generator._session(settings.newest_generator().stem, 3),
     "the generative decoder needs ONNX Runtime: pip install onnxruntime (or decode with inpainter 'diffusion')"),
])
def test_without_onnx_runtime_each_model_says_what_needs_it(monkeypatch, run, message):
    """ONNX Runtime is an install-time dependency but can be missing (a trimmed environment): one
    line naming what needs it, not an ImportError from deep inside."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    saliency._session.cache_clear()
    onnx_generator._session.cache_clear()
    try:
        with pytest.raises(AbcError) as caught:
            run()
        assert str(caught.value) == message
    finally:
        saliency._session.cache_clear()
        onnx_generator._session.cache_clear()
