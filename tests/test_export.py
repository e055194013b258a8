"""G's ONNX export (abcodec/generative/export.py), as the packaged models show it."""

import numpy as np
import onnx
import pytest
import torch

from abcodec.generative import export, networks, settings


@pytest.mark.parametrize("shipped", settings.GENERATORS, ids=lambda shipped: shipped.stem)
def test_packaged_model_runs_its_pixel_shuffles_as_convolutions(shipped):
    """The export rewrites them (ONNX Runtime's DepthToSpace is 3x slower than the
    one-hot convolution); the export itself checks that the outputs stay bit-identical."""
    model = onnx.load_from_string(shipped.resource(".onnx").read_bytes())
    kinds = [node.op_type for node in model.graph.node]
    shuffles = [node for node in model.graph.node
                if node.op_type == "Transpose" and list(node.attribute[0].ints) == export.SHUFFLE_AS_TRANSPOSE]
    assert "DepthToSpace" not in kinds and kinds.count("ConvTranspose") == 2 and not shuffles


def conditioned_weights(path, seed):
    """fp16 weights of a conditioned G whose correction and modulation are not zero."""
    torch.manual_seed(seed)
    generator = networks.Generator(conditioned=True)
    torch.nn.init.normal_(generator.tail.weight, std=0.05)
    torch.nn.init.normal_(generator.modulation[2].weight, std=0.3)
    torch.save({k: v.half() for k, v in generator.state_dict().items()}, path)
    return path


def test_a_conditioned_generators_model_takes_the_conditions_as_its_second_input(tmp_path):
    import onnxruntime

    weights = conditioned_weights(tmp_path / "g.pt", 0)
    session = onnxruntime.InferenceSession(str(export.export_onnx(weights)), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("fill", [1, 3, "height", "width"]), ("conditions", [1, 2])]
    fill = np.random.default_rng(1).uniform(0, 255, (1, 3, 24, 40)).astype(np.float32)
    generator, net = networks.load_generator(weights), networks.load_efficientnet()
    outputs = []
    for conditions in ((30.0, 0.0), (250.0, 2.0)):
        feed = {"fill": fill, "conditions": np.array([conditions], np.float32)}
        with torch.no_grad():
            fill_t = torch.from_numpy(fill)
            expected = generator(net.encode(fill_t), fill_t, torch.tensor([conditions])).numpy()
        outputs.append(session.run(None, feed)[0])
        assert np.abs(outputs[-1] - expected).max() <= export.TORCH_TOLERANCE
    assert np.abs(outputs[0] - outputs[1]).max() > 1


def test_the_export_refuses_a_model_that_does_not_compute_its_network(tmp_path):
    other = export.export_onnx(conditioned_weights(tmp_path / "other.pt", 1)).read_bytes()
    model = export._Decoder(networks.load_generator(conditioned_weights(tmp_path / "g.pt", 0))).eval()
    with pytest.raises(RuntimeError, match="differs from the torch network"):
        export._check_matches_torch(other, model)
    export._check_matches_torch(export.export_onnx(tmp_path / "g.pt").read_bytes(), model)
