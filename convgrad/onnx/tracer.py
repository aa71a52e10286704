"""One forward pass recorded as a list of ops on named values (what the exporter translates).

A traced value is a ``Value``: a name, the traced array (its shape and dtype) and whether it is
a constant (a parameter, a buffer, a tensor made inside ``forward`` without the inputs, or —
with constant folding — the result of an op on constants only). Each op is a ``Traced``
record: its kind (a primitive op name such as ``add``, or the kind of a ``@traced`` function
such as ``conv``), its operands, its bound arguments (for ``@traced`` functions, with every
Tensor replaced by its ``Value``) and its outputs.

An in-place update renames: after ``x.relu_()`` the tensor ``x`` stands for the relu's output
(static single assignment, as torch's tracer does). A value overwritten through a view of it
(``y = x[0]; y.zero_()``) cannot be expressed by renaming; reading it afterwards is recorded
as an unsupported op, so the export fails instead of computing something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import Tensor

STALE = "<a tensor read after an in-place write into a view of it>"


@dataclass(eq=False)
class Value:
    """A tensor of the traced graph: ``name`` in the ONNX graph, the traced ``array``."""

    name: str
    array: np.ndarray
    const: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim


@dataclass(eq=False)
class Traced:
    """One op of the forward pass: ``kind``, operand values, bound arguments, outputs."""

    kind: str
    inputs: list[Value]
    args: dict[str, Any] = field(default_factory=dict)
    outputs: list[Value] = field(default_factory=list)

    @property
    def output(self) -> Value:
        return self.outputs[0]


class Tracer:
    """Receives the ops of one forward pass (see ``convgrad.autograd.trace``).

    ``names``: parameters and buffers of the model, by tensor identity (their state-dict
    names become the ONNX initializer names). ``fold``: an op whose operands are all constants
    is not recorded; its output is a constant holding the traced value.
    """

    def __init__(self, names: dict[int, str], fold: bool = True) -> None:
        self.depth = 0
        self.fold = fold
        self.ops: list[Traced] = []
        self._known: dict[int, Value] = {}
        self._keep: list[Any] = []               # keeps traced tensors alive (ids stay unique)
        self._names = names
        self._stale: set[int] = set()
        self._counts: dict[str, int] = {}
        self._constants: list[Value] = []        # made during the pass (not parameters)

    # -- values
    def fresh(self, stem: str) -> str:
        n = self._counts.get(stem, 0)
        self._counts[stem] = n + 1
        return f"/{stem}_{n}"

    def constants(self) -> list[Value]:
        """The constants made during the pass, in order (parameters and buffers excluded)."""
        return self._constants

    def input(self, t: Tensor, name: str) -> Value:
        return self._bind(t, Value(name, t.array))

    def value(self, t: Tensor) -> Value:
        """The value ``t`` stands for now; a tensor never seen before is a constant."""
        if id(t) in self._stale:
            self.ops.append(Traced(STALE, [], {}, []))
        known = self._known.get(id(t))
        if known is not None:
            return known
        name = self._names.get(id(t))
        if name is not None:
            return self._bind(t, Value(name, t.array, const=True))
        return self._constant(t, t.array)

    def _constant(self, t: Tensor, array: np.ndarray) -> Value:
        v = Value(self.fresh("const"), np.array(array, copy=True), const=True)
        self._constants.append(v)
        return self._bind(t, v)

    def _bind(self, t: Tensor, v: Value) -> Value:
        self._known[id(t)] = v
        self._keep.append(t)
        return v

    def _args(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return self.value(obj)
        if isinstance(obj, (list, tuple)) and any(isinstance(o, Tensor) for o in obj):
            return type(obj)(self._args(o) for o in obj) if type(obj) in (list, tuple) else [
                self._args(o) for o in obj]
        return obj

    # -- the reports of convgrad.autograd.trace
    def op(self, out: Tensor, parents, op: str) -> None:
        self._record(op, [self.value(p) for p in parents], {}, [out])

    def region(self, kind: str, arguments: dict, out: Any) -> None:
        args = {k: self._args(v) for k, v in arguments.items()}
        inputs = [v for v in _flat(args.values()) if isinstance(v, Value)]
        outs = [out] if isinstance(out, Tensor) else [o for o in _flat([out])
                                                      if isinstance(o, Tensor)]
        for o in outs:
            if any(o is a for a in _flat(arguments.values())) and o._base is not None:
                self._stale.add(id(o._base))          # an in-place op on a view
        self._record(kind, inputs, args, outs)

    def inplace(self, target: Tensor, new: Tensor) -> None:
        if target._base is not None:
            self._stale.add(id(target._base))
        self._bind(target, self.value(new))

    def _record(self, kind: str, inputs: list[Value], args: dict, outs: list[Tensor]) -> None:
        if self.fold and all(v.const for v in inputs):
            for o in outs:
                self._constant(o, o.array)
            return
        values = [self._bind(o, Value(self.fresh(kind), o.array)) for o in outs]
        self.ops.append(Traced(kind, inputs, args, values))


def _flat(items) -> list:
    flat = []
    for item in items:
        if isinstance(item, (list, tuple)):
            flat.extend(_flat(item))
        elif isinstance(item, dict):
            flat.extend(_flat(item.values()))
        else:
            flat.append(item)
    return flat
