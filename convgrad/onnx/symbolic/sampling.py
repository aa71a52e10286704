"""Tensors shaped like a traced tensor (so they follow a dynamic batch): ``zeros_like``,
``ones_like``, ``empty_like`` (zeros), ``full_like`` → ``ConstantOfShape(Shape(x))``;
random draws: ``randn_like`` → ``RandomNormalLike``,
``rand_like`` → ``RandomUniformLike`` (the runtime draws its own numbers at each run: the
exported graph samples as the model does, from another stream; a ``generator`` is not carried
over). Draws of a fixed shape (``randn(64, 100)`` inside ``forward``) would be frozen into the
graph and are refused by the exporter.
"""

from __future__ import annotations

import numpy as np

from . import register

FILLS = {"zeros_like": 0, "empty_like": 0, "ones_like": 1}


@register("zeros_like", "ones_like", "empty_like", "full_like")
def constant_like(g, node):
    out = node.output
    value = node.args["fill_value"] if node.kind == "full_like" else FILLS[node.kind]
    fill = g.onnx.numpy_helper.from_array(np.asarray([value]).astype(out.dtype), "value")
    return g.op("ConstantOfShape", [g.op("Shape", [node.args["input"]])], out, value=fill)


@register("randn_like", "rand_like")
def random_like(g, node):
    to = int(g.helper.np_dtype_to_tensor_dtype(node.output.dtype))
    if node.kind == "randn_like":
        return g.op("RandomNormalLike", [node.args["input"]], node.output, dtype=to,
                    mean=0.0, scale=1.0)
    return g.op("RandomUniformLike", [node.args["input"]], node.output, dtype=to, low=0.0,
                high=1.0)
