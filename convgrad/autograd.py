"""Tensors that remember how they were made, and the chain rule over that graph.

Each differentiable op computes its output and, right beside it, a closure that maps the
upstream gradient to one gradient per parent. The closures are written with Tensor ops, so
running them with the graph switched on (``create_graph=True``) records the backward pass too:
gradients of gradients need no extra code.

>>> x, y, z = (tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
>>> f = (x + y) * z
>>> f.backward()
>>> f.item(), x.grad.item(), y.grad.item(), z.grad.item()
(-12.0, -4.0, -4.0, 3.0)
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator, Sequence

import numpy as np

_mode = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_mode, "enabled", True)


@contextlib.contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
    old = is_grad_enabled()
    _mode.enabled = enabled
    try:
        yield
    finally:
        _mode.enabled = old


def no_grad():
    """Context in which no op records a graph (inference, optimizer steps)."""
    return set_grad_enabled(False)


class Tensor:
    """An ndarray (``.data``) with an optional gradient (``.grad``) and the node that made it."""

    __array_priority__ = 1000          # ndarray ⊕ Tensor dispatches to Tensor

    def __init__(self, data, requires_grad: bool = False):
        self.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"tensor: only floating-point tensors can require grad, got dtype "
                            f"{self.data.dtype}")
        self.requires_grad = requires_grad
        self.grad: Tensor | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable[[Tensor], Sequence[Tensor | None]] | None = None
        self._op = ""

    # -- basic facts
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        return Tensor(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({np.array2string(self.data, separator=', ')}{grad})"

    def zero_grad(self) -> None:
        self.grad = None

    # -- the chain rule
    def backward(self, gradient=None) -> None:
        """Accumulate ∂self/∂leaf into every leaf's ``.grad`` (``+=``, as in PyTorch)."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if gradient is None:
            if self.size != 1:
                raise RuntimeError(f"backward: a gradient is needed for a non-scalar output "
                                   f"(shape {self.shape}); pass gradient=… of that shape")
            gradient = np.ones_like(self.data)
        grads = _backprop([self], [_as_grad(gradient, self, "backward")], create_graph=False)
        for node, g in grads.items():
            if node._backward is None and node.requires_grad:
                node.grad = g if node.grad is None else Tensor(node.grad.data + g.data)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A Tensor from array-like data; Python floats become float64 (float32 stays float32)."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """Wrap a non-Tensor operand (no grad), matching ``like``'s dtype for Python scalars."""
    if isinstance(value, Tensor):
        return value
    if like is not None and np.isscalar(value):
        return Tensor(np.asarray(value, dtype=like.dtype))
    return Tensor(np.asarray(value))


def make(data: np.ndarray, parents: Sequence[Tensor], backward, op: str) -> Tensor:
    """The output of an op: records parents and backward only when some parent needs a grad."""
    out = Tensor(data)
    if is_grad_enabled() and any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents, out._backward, out._op = tuple(parents), backward, op
    return out


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False) -> tuple[Tensor, ...]:
    """∂(Σ outputs·grad_outputs)/∂inputs, without touching ``.grad``.

    With ``create_graph=True`` the returned gradients carry their own graph, so they can be
    differentiated again (higher-order gradients). An input the outputs do not depend on gets
    a zero gradient.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    seeds = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("grad: an output does not require grad (no graph to differentiate)")
        if g is None and out.size != 1:
            raise RuntimeError(f"grad: grad_outputs is needed for a non-scalar output "
                               f"(shape {out.shape})")
        seeds.append(_as_grad(np.ones_like(out.data) if g is None else g, out, "grad"))
    grads = _backprop(outputs, seeds, create_graph)
    return tuple(grads.get(x, Tensor(np.zeros_like(x.data))) for x in inputs)


def _as_grad(g, like: Tensor, op: str) -> Tensor:
    g = g if isinstance(g, Tensor) else Tensor(np.asarray(g, dtype=like.dtype))
    if g.shape != like.shape:
        raise ValueError(f"{op}: gradient shape {g.shape} does not match the output {like.shape}")
    return g


def _topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Nodes that require grad, parents before children; iterative (no recursion limit)."""
    order, seen = [], set()
    stack = [(r, False) for r in roots if r.requires_grad]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in seen)
    return order


class _Grads(dict):
    """Gradients keyed by tensor identity (Tensors are not hashable by value)."""

    def __init__(self):
        super().__init__()
        self.nodes: dict[int, Tensor] = {}

    def add(self, node: Tensor, g: Tensor) -> None:
        key = id(node)
        self.nodes[key] = node
        super().__setitem__(key, g if key not in self else super().__getitem__(key) + g)

    def get(self, node, default=None):
        return super().get(id(node), default)

    def items(self):
        return ((self.nodes[k], v) for k, v in super().items())


def _backprop(roots, seeds, create_graph: bool) -> _Grads:
    grads = _Grads()
    for r, s in zip(roots, seeds):
        grads.add(r, s)
    with set_grad_enabled(create_graph):
        for node in reversed(_topological_order(roots)):
            g = grads.get(node)
            if g is None or node._backward is None:
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is not None and parent.requires_grad:
                    grads.add(parent, pg)
    return grads
