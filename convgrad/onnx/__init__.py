"""Export to ONNX (torch.onnx's names): ``convgrad.onnx.export(model, args, "model.onnx")``.

>>> import convgrad as cg
>>> net = cg.nn.Sequential(cg.nn.Conv2d(1, 2, 3), cg.nn.ReLU())
>>> import io; buffer = io.BytesIO()
>>> cg.onnx.export(net, cg.randn(1, 1, 5, 5), buffer, input_names=["x"])
>>> import onnx; [n.op_type for n in onnx.load_from_string(buffer.getvalue()).graph.node]
['Conv', 'Relu']
"""

from .export import UnsupportedOperatorError, export, supported_ops

__all__ = ["export", "supported_ops", "UnsupportedOperatorError"]
