"""The ONNX graph under construction: nodes, initializers, fresh names, and the few helpers
every translation needs (constants, reductions whose form changed between opsets, reshape
targets that keep a dynamic batch).

A translation (``convgrad.onnx.symbolic``) receives the builder ``g`` and one ``Traced`` op and
emits nodes with ``g.op(op_type, inputs, outputs, **attributes)``; the op's outputs must end
under the names of its traced output values (``node.outputs[i].name``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .tracer import Value


class Builder:
    """Nodes and initializers of one graph for ``opset`` (``dynamic``: some input axis is
    dynamic, so translations must not bake the batch size into shapes)."""

    def __init__(self, onnx: Any, opset: int, dynamic: bool) -> None:
        self.onnx, self.helper = onnx, onnx.helper
        self.opset, self.dynamic = opset, dynamic
        self.nodes: list = []
        self.initializers: dict[str, Any] = {}
        self._count = 0

    # -- names and constants
    def fresh(self, stem: str) -> str:
        """A new name ``/stem.N`` (traced values are ``/kind_N``, parameters ``a.b``: the
        three never meet)."""
        self._count += 1
        return f"/{stem}.{self._count}"

    def const(self, value: Any, dtype: Any = None, name: str | None = None) -> str:
        """An initializer holding ``value`` (int lists become int64, as shapes and axes are)."""
        array = np.asarray(value, dtype=dtype if dtype is not None else (
            np.int64 if isinstance(value, (list, tuple, int)) and not isinstance(value, bool)
            else None))
        name = name or self.fresh("const")
        if name not in self.initializers:
            self.initializers[name] = self.onnx.numpy_helper.from_array(
                np.ascontiguousarray(array), name)
        return name

    def value(self, v: Value) -> str:
        """The graph name of a traced value (a constant becomes an initializer on first use)."""
        if v.const:
            self.const(v.array, name=v.name)
        return v.name

    # -- nodes
    def op(self, op_type: str, inputs: Sequence[str | Value | None],
           outputs: int | str | Value | Sequence[str | Value] = 1, **attributes: Any):
        """Emit one node; returns its output name (or a list of names, for several)."""
        names = [("" if i is None else self.value(i) if isinstance(i, Value) else i)
                 for i in inputs]
        if isinstance(outputs, int):
            outs = [self.fresh(op_type) for _ in range(outputs)]
        else:
            outs = [o.name if isinstance(o, Value) else o
                    for o in ([outputs] if isinstance(outputs, (str, Value)) else outputs)]
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, names, outs, name=self.fresh(op_type),
                                                **attributes))
        return outs[0] if len(outs) == 1 else outs

    def cast(self, x: str | Value, dtype: Any, out: Any = 1) -> str:
        to = self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return self.op("Cast", [x], out, to=int(to))

    def reduce(self, op_type: str, x: str | Value, axes: Sequence[int] | None,
               keepdims: bool, out: Any = 1) -> str:
        """``ReduceSum``/``Mean``/``Max``/… over ``axes`` (None: all): the axes are an input
        from opset 18 (ReduceSum: 13), an attribute before."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.op(op_type, [x], out, keepdims=keep)
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.const(axes)], out, keepdims=keep)
        return self.op(op_type, [x], out, axes=axes, keepdims=keep)

    def reshape(self, x: str | Value, source: Sequence[int], target: Sequence[int],
                out: Any = 1) -> str:
        """Reshape from traced shape ``source`` to ``target``; with a dynamic batch the first
        output axis is 0 (copied) when it keeps the first input axis, else -1 (inferred)."""
        shape = [int(n) for n in target]
        if self.dynamic and shape and source and -1 not in shape[1:]:
            shape[0] = 0 if shape[0] == source[0] and len(source) > 0 else -1
            if 0 in target or 0 in source:     # an empty tensor: no inference through zeros
                shape = [int(n) for n in target]
        return self.op("Reshape", [x, self.const(shape)], out)

    def unsqueeze(self, x: str | Value, axes: Sequence[int], out: Any = 1) -> str:
        return self.op("Unsqueeze", [x, self.const([int(a) for a in axes])], out)

    def squeeze(self, x: str | Value, axes: Sequence[int], out: Any = 1) -> str:
        return self.op("Squeeze", [x, self.const([int(a) for a in axes])], out)
