"""The generative decoder (inpainter 1, "ppgn" in format_spec/abc.md §3): G refines the fast decode.

One module per job, none imported here, so that reading a file's settings costs no torch:

* settings.py: what a file asks of the decoder (descent settings, which of the generators the
  package keeps it names, the conditions a conditioned one reads, the cost model of §5), numpy only;
* onnx_generator.py: G(E(fill)) on ONNX Runtime, the default decode (no descent, no torch);
* tiles.py: the tiles of a large image, their blend and the composite onto kept pixels, shared
  by both runners;
* descent.py: the source paper's PPGN latent descent on torch, with the terms of its objective
  in losses.py and the networks E, C and G in networks.py;
* assist.py: the assistant statistics (class code, Gram matrix) <-> the ``clas`` and ``gram`` chunks;
* train.py: training G (``python -m abcodec.generative.train``); export.py: its ONNX export.

The weights themselves stay in abcodec/weights.
"""
