"""G's ONNX export (abcodec/generative/export.py), as the packaged model shows it."""

from importlib import resources

import onnx

from abcodec.generative import export
from abcodec.generative.onnx_generator import ONNX_FILE


def test_packaged_model_runs_its_pixel_shuffles_as_convolutions():
    """The export rewrites them (ONNX Runtime's DepthToSpace is 3x slower than the
    one-hot convolution); the export itself checks that the outputs stay bit-identical."""
    model = onnx.load_from_string(resources.files("abcodec").joinpath(ONNX_FILE).read_bytes())
    kinds = [node.op_type for node in model.graph.node]
    shuffles = [node for node in model.graph.node
                if node.op_type == "Transpose" and list(node.attribute[0].ints) == export.SHUFFLE_AS_TRANSPOSE]
    assert "DepthToSpace" not in kinds and kinds.count("ConvTranspose") == 2 and not shuffles
