r"""Check analytic gradients against float64 central differences along random directions.

For a function f of inputs x₁…x_k, a random output weighting u turns the outputs into one
scalar ``s(x) = Σ ⟨f(x), u⟩``. Along a random direction v of input i the central difference

    (s(x + εv) − s(x − εv)) / 2ε  =  ⟨∂s/∂xᵢ, v⟩ + O(ε²)

must match the analytic ``⟨∂s/∂xᵢ, v⟩`` from the autograd engine. ``order=2`` applies the same
test to the gradient itself: s₂(x) = Σᵢ ⟨∂s/∂xᵢ, wᵢ⟩, whose gradient needs ``create_graph``.

The finite difference is ``convgrad.autograd.gradcheck.central_difference``, shared with torch's
full-Jacobian checkers there (``convgrad.autograd.gradcheck`` / ``gradgradcheck``), and so is
``GradcheckError`` (a RuntimeError, as torch's, and an AssertionError).
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from .autograd import Tensor, grad, no_grad
from .autograd.gradcheck import GradcheckError, central_difference

__all__ = ["gradcheck", "GradcheckError"]


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              order: int = 1, directions: int = 3, seed: int = 0) -> bool:
    """True if every order-``order`` gradient of ``fn`` at ``inputs`` matches finite differences.

    ``inputs``: a Tensor/ndarray or a sequence of them. Differentiated: Tensors with
    ``requires_grad=True`` and floating ndarrays; everything else is passed through unchanged.
    Raises ``GradcheckError`` naming the input, the order, and analytic vs numeric values.
    Warns when an input is not float64 (finite differences need the precision).

    >>> import convgrad as cg
    >>> gradcheck(lambda x, y: (x * y).tanh(), [np.ones(3), np.arange(3.0)], order=2)
    True
    """
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    wrt = [i for i, a in enumerate(inputs) if _differentiable(a)]
    if not wrt:
        raise ValueError("gradcheck: no input to differentiate (pass float ndarrays or Tensors "
                         "with requires_grad=True)")
    base = [a.array if isinstance(a, Tensor) else a for a in inputs]
    for i in wrt:
        if base[i].dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {base[i].dtype}; finite differences are only "
                          f"reliable in float64 — expect false alarms", stacklevel=2)
    rng = np.random.default_rng(seed)
    def wrap(arrays, requires_grad=False):
        return [Tensor(a.copy(), requires_grad=requires_grad) if i in wrt else a
                for i, a in enumerate(arrays)]

    with no_grad():
        probe = _outputs(fn, wrap(base))
    weights = [Tensor(rng.standard_normal(o.shape).astype(o.dtype)) for o in probe]

    def first(arrays, create_graph):
        xs = wrap(arrays, requires_grad=True)
        s = sum(((o * u).sum() for o, u in zip(_outputs(fn, xs), weights)), Tensor(0.0))
        if not s.requires_grad:
            return [Tensor(np.zeros_like(arrays[i])) for i in wrt], xs
        got = grad(s, [xs[i] for i in wrt], create_graph=create_graph, allow_unused=True)
        return [Tensor(np.zeros_like(arrays[i])) if g is None else g
                for i, g in zip(wrt, got)], xs

    if order == 1:
        def scalar(arrays):
            with no_grad():
                return sum(float((o.array * u.array).sum())
                           for o, u in zip(_outputs(fn, wrap(arrays)), weights))
        analytic, _ = first(base, create_graph=False)
    else:
        second = [rng.standard_normal(base[i].shape).astype(base[i].dtype) for i in wrt]

        def scalar(arrays):
            gs, _ = first(arrays, create_graph=False)
            return sum(float((g.array * w).sum()) for g, w in zip(gs, second))
        gs, xs = first(base, create_graph=True)
        s2 = sum(((g * Tensor(w)).sum() for g, w in zip(gs, second)), Tensor(0.0))
        got = (grad(s2, [xs[i] for i in wrt], allow_unused=True) if s2.requires_grad
               else [None] * len(wrt))
        analytic = [Tensor(np.zeros_like(base[i])) if g is None else g
                    for i, g in zip(wrt, got)]
    for slot, i in enumerate(wrt):
        for k in range(directions):
            v = rng.standard_normal(base[i].shape)
            v /= max(np.linalg.norm(v), 1e-300)
            work = list(base)
            work[i] = base[i].copy()
            (numeric,) = central_difference(lambda w=work: [scalar(w)], work[i], eps, v)
            numeric = float(numeric)
            exact = float((analytic[slot].array * v).sum())
            if abs(exact - numeric) > atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck: order-{order} gradient of input {i} (shape {base[i].shape}) "
                    f"disagrees with finite differences along random direction {k}: analytic "
                    f"{exact:.10g} vs numeric {numeric:.10g} (|diff| {abs(exact - numeric):.3g} "
                    f"> atol + rtol·|numeric| = {atol + rtol * abs(numeric):.3g})")
    return True


def _differentiable(a) -> bool:
    if isinstance(a, Tensor):
        return a.requires_grad
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _outputs(fn, xs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*xs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got "
                        f"{type(out).__name__}")
    return outs
