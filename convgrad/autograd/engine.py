"""The chain rule over the recorded graph: ``backward`` and ``grad``, with torch's rules.

Nodes are visited children before parents; each receives the sum of its children's gradients,
runs its tensor hooks, checks that no input it used was modified in place since (versions),
and hands one gradient per parent on. Without ``retain_graph`` the visited nodes free their
closures, so a second backward through them is torch's error, and memory is returned at once.
"""

from __future__ import annotations

import numpy as np

from .grad_mode import set_grad_enabled
from .tensor import Tensor
from .trace import run_backward
from .trace import state as _tracing

_TORCH_NAMES = {"add": "Add", "sub": "Sub", "rsub": "RsubBackward1", "mul": "Mul", "div": "Div",
                "neg": "Neg", "pow": "Pow", "matmul": "Mm", "getitem": "Index",
                "select": "Select", "slice": "Slice", "reshape": "View", "to": "ToCopy",
                "relu": "Relu", "abs": "Abs", "sum": "Sum", "sum_dim": "SumBackward1",
                "mean": "Mean", "mean_dim": "MeanBackward1", "max": "Max",
                "norm": "LinalgVectorNorm", "log1p": "Log1P", "expm1": "Expm1Backward0",
                "conv": "Convolution", "conv_transpose": "Convolution"}
"""op name → torch's node name (a name ending in a digit is complete: torch's overload)."""


class Node:
    """What ``tensor.grad_fn`` returns: the op that made the tensor, torch-style."""

    def __init__(self, tensor: Tensor):
        self._tensor = tensor

    def name(self) -> str:
        op = self._tensor._op
        if op[:1].isupper():            # autograd.Function outputs: torch's "<Name>Backward"
            return op
        name = _TORCH_NAMES.get(op) or "".join(p.capitalize() for p in op.split("_"))
        return name if name[-1].isdigit() else name + "Backward0"

    @property
    def next_functions(self) -> tuple:
        return tuple((None if not p._requires_grad else
                      Node(p) if p._backward is not None else "AccumulateGrad", 0)
                     for p in self._tensor._parents)

    def __repr__(self) -> str:
        return f"<{self.name()} object>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Node) and other._tensor is self._tensor

    __hash__ = object.__hash__


def _freed(op: str):
    def backward(g):
        raise RuntimeError(f"Trying to backward through the graph a second time (or directly "
                           f"access saved tensors after they have already been freed; the "
                           f"'{op}' node was freed). Saved intermediate values of the graph are "
                           f"freed when you call .backward() or autograd.grad(). Specify "
                           f"retain_graph=True if you need to backward through the graph a "
                           f"second time or if you need to access saved tensors after calling "
                           f"backward.")
    return backward


def _check_versions(node: Tensor) -> None:
    stale = [(p._vc[0], v) for p, v in zip(node._parents, node._versions) if p._vc[0] != v]
    if node._out_version is not None and node._out_version[0][0] != node._out_version[1]:
        stale.append((node._out_version[0][0], node._out_version[1]))
    if stale:
        now, v = stale[0]
        raise RuntimeError(f"one of the variables needed for gradient computation has been "
                           f"modified by an inplace operation: a {node.array.dtype} tensor "
                           f"used by '{node._op}' is at version {now}; expected version {v} "
                           f"instead. Hint: compute the value "
                           f"out of place (y = x * 2, not x.mul_(2)) or clone() it first.")


def _topological_order(roots) -> list[Tensor]:
    """Nodes that require grad, parents before children; iterative (no recursion limit)."""
    order, seen = [], set()
    stack = [(r, False) for r in roots if r._requires_grad]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if p._requires_grad and id(p) not in seen)
    return order


def _run(roots, seeds, create_graph: bool, retain_graph: bool):
    """Every reached tensor's total gradient, keyed by id (hooks applied), and the nodes."""
    grads: dict[int, Tensor] = {}
    order = _topological_order(roots)
    for r, s in zip(roots, seeds):
        grads[id(r)] = s if id(r) not in grads else grads[id(r)] + s
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            g = grads.get(id(node))
            if g is None:
                continue
            if node._hooks:
                for hook in list(node._hooks):
                    replaced = hook(g)
                    if replaced is not None:
                        g = grads[id(node)] = _as_grad(replaced, node, "hook")
            if node._backward is None:
                continue
            _check_versions(node)
            parent_grads = run_backward(node, g) if _tracing[0] else node._backward(g)
            if not retain_graph:
                node._backward = _freed(node._op)
            for parent, pg in zip(node._parents, parent_grads):
                if pg is not None and parent._requires_grad:
                    key = id(parent)
                    grads[key] = pg if key not in grads else grads[key] + pg
    return grads, order


def _as_grad(g, like: Tensor, op: str) -> Tensor:
    g = g if isinstance(g, Tensor) else Tensor.wrap(np.asarray(g, dtype=like.array.dtype))
    if g.array.shape != like.array.shape:
        raise RuntimeError(f"{op}: Mismatch in shape: grad has shape {list(g.array.shape)} "
                           f"and output has shape {list(like.array.shape)}")
    return g


def _seeds(outputs, grad_outputs, op: str) -> list[Tensor]:
    seeds = []
    for out, g in zip(outputs, grad_outputs):
        if not isinstance(out, Tensor) or not out._requires_grad:
            raise RuntimeError(f"{op}: element 0 of tensors does not require grad and does not "
                               f"have a grad_fn")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar "
                                   f"outputs (got shape {list(out.array.shape)}); pass "
                                   f"gradient=… of that shape")
            g = Tensor.wrap(np.ones_like(out.array))
        seeds.append(_as_grad(g, out, op))
    return seeds


def _listed(x) -> list:
    return [x] if isinstance(x, Tensor) else list(x)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` (weighted by ``grad_tensors``) into the
    ``.grad`` of every leaf — or only of ``inputs`` — that requires grad."""
    tensors = _listed(tensors)
    grad_tensors = ([None] * len(tensors) if grad_tensors is None
                    else _listed(grad_tensors) if not isinstance(grad_tensors, np.ndarray)
                    else [grad_tensors])
    seeds = _seeds(tensors, grad_tensors, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    grads, order = _run(tensors, seeds, create_graph, retain)
    targets = None if inputs is None else {id(t) for t in _listed(inputs)}
    stored = {id(s.array) for s in seeds}
    for node in order if targets is None else _listed(inputs):
        g = grads.get(id(node))
        keep = node._backward is None or node._retains_grad or targets is not None
        if g is None or not keep or not node._requires_grad:
            continue
        if not create_graph:
            g = g.detach()
        if node.grad is None:
            fresh = g.array.base is None and id(g.array) not in stored
            node.grad = g if fresh else Tensor.wrap(g.array.copy())
        else:
            node.grad = node.grad + g if create_graph else Tensor.wrap(node.grad.array + g.array)
        stored.add(id(node.grad.array))


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """∂(Σ outputs·grad_outputs)/∂inputs, without touching ``.grad`` (torch.autograd.grad).

    With ``create_graph=True`` the returned gradients carry their own graph, so they can be
    differentiated again (higher-order gradients). An input the outputs do not depend on is
    torch's error unless ``allow_unused`` (None) or ``materialize_grads`` (zeros).
    """
    outputs, inputs = _listed(outputs), _listed(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    for x in inputs:
        if not isinstance(x, Tensor) or not x._requires_grad:
            raise RuntimeError("grad: One of the differentiated Tensors does not require grad")
    seeds = _seeds(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    grads, _ = _run(outputs, seeds, create_graph, retain)
    result = []
    for x in inputs:
        g = grads.get(id(x))
        if g is None:
            if materialize_grads:
                g = Tensor.wrap(np.zeros_like(x.array))
            elif not allow_unused:
                raise RuntimeError("grad: One of the differentiated Tensors appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
