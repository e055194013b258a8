"""ONNX Runtime sessions for the models the package ships (G and the saliency model): one place for
the runtime's import, which is optional at install, and for how a session uses the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .container import AbcError

if TYPE_CHECKING:
    import onnxruntime


def cpu_session(model: bytes, threads: int | None, missing: str) -> onnxruntime.InferenceSession:
    """An ``onnxruntime.InferenceSession`` of ``model`` on the CPU provider, ``threads`` intra-op
    threads (None: the runtime's choice) and one inter-op thread (the models are one chain of
    operators). ``missing`` is the one-line error when ONNX Runtime is not installed: what needs it
    and what to do instead."""
    try:
        import onnxruntime
    except ImportError as e:
        raise AbcError(missing) from e
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
