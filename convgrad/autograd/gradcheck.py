r"""torch.autograd.gradcheck and gradgradcheck: full Jacobians, finite differences vs backward.

For each differentiable output yᵢ and each input xⱼ that requires grad, the numerical Jacobian
is built column by column from central differences (element m of xⱼ perturbed by ±ε)

    J_num[m, :] = (yᵢ(xⱼ + ε·e_m) − yᵢ(xⱼ − ε·e_m)) / 2ε

and the analytical one row by row from backward with unit grad_outputs (``J[:, k] = ∂yᵢ[k]/∂xⱼ``);
they must agree elementwise: ``|J − J_num| ≤ atol + rtol·|J_num|``. gradgradcheck applies the
same test to the function ``(inputs, grad_outputs) ↦ ∂⟨y, grad_outputs⟩/∂inputs``.

>>> import numpy as np
>>> x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
>>> gradcheck(lambda t: t * t * t, (x,)), gradgradcheck(lambda t: t * t * t, (x,))
(True, True)

``central_difference`` is the one finite-difference core, shared with ``convgrad.gradcheck``
(the random-direction checker of the ``convgrad gradcheck`` command).
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from .engine import grad
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "central_difference"]


class GradcheckError(RuntimeError, AssertionError):
    """A gradient disagrees with finite differences (torch's ``GradcheckError``, a
    RuntimeError; also an AssertionError, as ``convgrad.GradcheckError`` always was)."""


def central_difference(evaluate: Callable[[], Sequence[np.ndarray]], array: np.ndarray,
                       eps: float, where) -> list[np.ndarray]:
    """``(f(x + ε·v) − f(x − ε·v)) / 2ε`` for each array that ``evaluate()`` returns, v being
    the unit vector at flat index ``where`` (an int) or the direction array ``where``. The
    point x is ``array`` itself: perturbed in place (in its own dtype, as torch does), then
    restored exactly.

    >>> a = np.array([1.0, 2.0])
    >>> central_difference(lambda: [a ** 2], a, 1e-6, 1)[0].round(6).tolist()
    [0.0, 4.0]
    """
    original = array.copy()
    if isinstance(where, (int, np.integer)):
        index = np.unravel_index(int(where), array.shape)
        steps = [(index, original[index] + eps), (index, original[index] - eps)]
    else:
        steps = [(Ellipsis, original + eps * where), (Ellipsis, original - eps * where)]
    results = []
    try:
        for index, value in steps:
            array[index] = value
            results.append([np.array(o, dtype=np.float64) for o in evaluate()])
    finally:
        array[...] = original
    plus, minus = results
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def gradcheck(func: Callable, inputs, *, eps: float = 1e-06, atol: float = 1e-05,
              rtol: float = 0.001, raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """True if backward's Jacobian of ``func`` at ``inputs`` matches central differences.

    ``inputs``: a Tensor or a sequence; the Tensors with ``requires_grad=True`` are
    differentiated (warning when one is not float64), everything else is passed through.
    A mismatch raises ``GradcheckError`` (or returns False with ``raise_exception=False``).
    ``fast_mode`` runs the full (slow) check; ``check_undefined_grad`` and ``masked`` have
    nothing to check here (no undefined gradients, no sparse tensors).
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad "
                             "to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to "
                             "be True")
    if check_forward_ad or check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck: check_forward_ad, check_batched_grad and "
                                  "check_batched_forward_grad need forward-mode AD / vmap, "
                                  "which convgrad does not have")
    try:
        return _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_grad_dtypes)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-06,
                  atol: float = 1e-05, rtol: float = 0.001,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """gradcheck of ``(inputs, grad_outputs) ↦ ∂⟨func(inputs), grad_outputs⟩/∂inputs``
    (computed with ``create_graph=True``): second derivatives against finite differences of
    first ones. ``grad_outputs`` default: uniform in [−1, 1) from convgrad's generator, one per
    differentiable output, requiring grad (so the mixed second derivatives are checked too).
    """
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck: check_fwd_over_rev needs forward-mode AD, "
                                  "which convgrad does not have")
    if not check_rev_over_rev:
        raise AssertionError("Expected at least one of check_fwd_over_rev or "
                             "check_rev_over_rev to be True")
    tupled = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable(_as_tuple(func(*tupled)))
        grad_outputs = tuple(_random_grad(o, gen_non_contig_grad_outputs) for o in outputs)
    tupled_grads = _as_tuple(grad_outputs)
    n = len(tupled_grads)
    diff_inputs = {i for i, x in enumerate(tupled) if isinstance(x, Tensor) and x.requires_grad}
    diff_grads = {i for i, g in enumerate(tupled_grads) if g is not None and g.requires_grad}

    def new_func(*args):
        xs = tuple(x.requires_grad_() if i in diff_inputs else x
                   for i, x in enumerate(args[:-n]))
        outputs = _differentiable(_as_tuple(func(*xs)))
        gs = tuple(g.requires_grad_() if i in diff_grads else g
                   for i, g in enumerate(args[-n:]))
        wrt = tuple(x for i, x in enumerate(xs) if i in diff_inputs)
        got = grad(outputs, wrt, gs, create_graph=True, allow_unused=True)
        return tuple(g for g in got if g is not None)

    return gradcheck(new_func, tupled + tupled_grads, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, masked=masked)


# ----------------------------------------------------------------------------- the check

def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_grad_dtypes) -> bool:
    tupled = _as_tuple(inputs)
    wrt = _check_inputs(tupled)
    func_out = _as_tuple(func(*tupled))
    for o in func_out:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: func must return a Tensor or a tuple of Tensors, got "
                            f"{type(o).__name__}")
    numerical = _numerical_jacobians(func, tupled, func_out, wrt, eps)
    outputs = [(k, o) for k, o in enumerate(func_out) if o.requires_grad]
    if not outputs:
        if any(np.any(j != 0) for per_input in numerical.values() for j in per_input.values()):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return True
    for i, (k, o) in enumerate(outputs):
        analytical = _analytical_jacobians(tupled, wrt, o, nondet_tol, check_grad_dtypes)
        for j, (a, x_index) in enumerate(zip(analytical, wrt)):
            n = numerical[x_index][k]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                raise GradcheckError(
                    f"Jacobian mismatch for output {i:d} with respect to input {j:d},\n"
                    f"numerical:{_show(n, o)}\nanalytical:{_show(a, o)}\n")
    _check_mul_by_grad_output([o for _, o in outputs], [tupled[i] for i in wrt])
    return True


def _check_inputs(tupled: tuple) -> list[int]:
    wrt = []
    for idx, x in enumerate(tupled):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != np.float64:
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision "
                              f"floating point or complex. This check will likely fail if all "
                              f"the inputs are not of double precision floating point or "
                              f"complex. ", stacklevel=4)
            wrt.append(idx)
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    return wrt


def _numerical_jacobians(func, tupled, func_out, wrt, eps) -> dict[int, dict[int, np.ndarray]]:
    """{input index: {output index: J of shape (input numel, output numel)}}, float outputs."""
    float_outs = [k for k, o in enumerate(func_out) if o.dtype.kind == "f"]

    def evaluate():
        outs = _as_tuple(func(*tupled))
        return [outs[k].array for k in float_outs]

    jacobians = {}
    for idx in wrt:
        x = tupled[idx].array
        per_out = {k: np.zeros((x.size, func_out[k].array.size)) for k in float_outs}
        for m in range(x.size):
            for k, column in zip(float_outs, central_difference(evaluate, x, eps, m)):
                per_out[k][m] = column.reshape(-1)
        jacobians[idx] = per_out
    return jacobians


def _analytical_jacobians(tupled, wrt, output: Tensor, nondet_tol, check_grad_dtypes):
    xs = [tupled[i] for i in wrt]
    first, types_ok, sizes_ok = _jacobian_rows(xs, output)
    second, _, _ = _jacobian_rows(xs, output)
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not all(np.max(np.abs(a - b), initial=0.0) <= nondet_tol for a, b in zip(first, second)):
        raise GradcheckError(f"Backward is not reentrant, i.e., running backward with same input "
                             f"and grad_output multiple times gives different values, although "
                             f"analytical gradient matches numerical gradient.The tolerance for "
                             f"nondeterminism was {nondet_tol}.")
    return first


def _jacobian_rows(xs, output: Tensor):
    jacobians = [np.zeros((x.array.size, output.array.size)) for x in xs]
    types_ok = sizes_ok = True
    for k in range(output.array.size):
        unit = np.zeros(output.array.shape, dtype=output.array.dtype)
        unit.reshape(-1)[k] = 1
        got = grad(output, xs, Tensor.wrap(unit), retain_graph=True, allow_unused=True)
        for j, (x, g) in enumerate(zip(xs, got)):
            if g is None:
                continue
            types_ok &= g.array.dtype == x.array.dtype
            if g.array.shape != x.array.shape:
                sizes_ok = False
                continue
            jacobians[j][:, k] = g.array.reshape(-1)
    return jacobians, types_ok, sizes_ok


def _check_mul_by_grad_output(outputs, xs) -> None:
    zeros = [Tensor.wrap(np.zeros_like(o.array)) for o in outputs]
    for g, x in zip(grad(outputs, xs, zeros, allow_unused=True), xs):
        if g is None:
            continue
        if np.any(g.array != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.array.dtype != x.array.dtype:
            raise GradcheckError("grad is incorrect type")
        if g.array.shape != x.array.shape:
            raise GradcheckError("grad is incorrect size")


def _show(jacobian: np.ndarray, like: Tensor) -> str:
    from .printing import tensor_repr  # noqa: PLC0415
    return tensor_repr(Tensor.wrap(jacobian.astype(like.array.dtype)))


def _as_tuple(x) -> tuple:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _differentiable(outputs: tuple) -> tuple:
    return tuple(o for o in outputs if isinstance(o, Tensor) and o.requires_grad)


def _random_grad(o: Tensor, non_contiguous: bool) -> Tensor:
    from ..random import generator  # noqa: PLC0415  (convgrad.random imports the package)
    dtype = o.array.dtype if o.array.dtype.kind == "f" else np.dtype(np.float64)
    values = generator().uniform(-1.0, 1.0, o.array.shape).astype(dtype)
    if non_contiguous:
        holder = np.zeros(o.array.shape + (2,), dtype=dtype)
        holder[..., 0] = values
        values = holder[..., 0]
    return Tensor(values, requires_grad=True)
