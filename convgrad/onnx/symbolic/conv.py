"""Convolutions: ``conv`` (1-3-d, groups, dilation, per-side padding — the padding modes
arrive as a separate ``pad``) → ``Conv``; ``conv_transpose`` (output_padding) →
``ConvTranspose``. The attributes come from the same geometry the engine computed with.
"""

from __future__ import annotations

from ...ops.geometry import as_tuple, conv_geometry
from . import register


def _floating(g, v, dtype):
    return v if v is None or v.dtype == dtype else g.cast(v, dtype)


@register("conv")
def conv(g, node):
    x, w, b = node.args["input"], node.args["weight"], node.args["bias"]
    geo = conv_geometry("onnx.export: conv", x.shape, w.shape, node.args["stride"],
                        node.args["padding"], node.args["dilation"], node.args["groups"])
    pads = [lo for lo, _ in geo.padding] + [hi for _, hi in geo.padding]
    inputs = [x, w] if b is None else [x, w, _floating(g, b, w.dtype)]
    return g.op("Conv", inputs, node.output, kernel_shape=list(geo.kernel),
                strides=list(geo.stride), dilations=list(geo.dilation), pads=pads,
                group=int(geo.groups))


@register("conv_transpose")
def conv_transpose(g, node):
    """``ConvTranspose``. torch allows ``output_padding < max(stride, dilation)``, onnxruntime
    only ``< stride``: a larger one is moved into the end padding (the rows it adds are inside
    the full output) and, past it, into zeros padded onto the output (rows no input reaches:
    the bias alone)."""
    x, w, b = node.args["input"], node.args["weight"], node.args["bias"]
    n, op = x.ndim - 2, "onnx.export: conv_transpose"
    stride = as_tuple(node.args["stride"], n, "stride", op)
    padding = as_tuple(node.args["padding"], n, "padding", op, minimum=0)
    extra = as_tuple(node.args["output_padding"], n, "output_padding", op, minimum=0)
    dilation = as_tuple(node.args["dilation"], n, "dilation", op)
    bias = None if b is None else _floating(g, b, w.dtype)
    attributes = dict(kernel_shape=list(w.shape[2:]), strides=list(stride),
                      dilations=list(dilation), group=int(node.args["groups"]))
    if all(e < s for e, s in zip(extra, stride)):
        inputs = [x, w] if bias is None else [x, w, bias]
        return g.op("ConvTranspose", inputs, node.output, pads=list(padding) * 2,
                    output_padding=list(extra), **attributes)
    ends = [p - e for p, e in zip(padding, extra)]
    y = g.op("ConvTranspose", [x, w], pads=list(padding) + [max(0, e) for e in ends],
             **attributes)
    if any(e < 0 for e in ends):
        y = g.op("Pad", [y, g.const([0] * (n + 2) + [0, 0] + [max(0, -e) for e in ends])])
    if bias is None:
        return g.op("Identity", [y], node.output)
    return g.op("Add", [y, g.op("Reshape", [bias, g.const([-1] + [1] * n)])], node.output)
