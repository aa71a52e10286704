r"""Normalisation with PyTorch's semantics: one fused core, ``normalize``, and thin wrappers.

Every normalisation here standardises x over some axes and applies an optional affine map:

    x̂ = (x − μ)·σ̂,  σ̂ = 1/√(σ² + ε),  y = γ ⊙ x̂ + β,

with μ, σ² the mean and *biased* variance over the reduced axes. The layers differ only in the
reduced axes: x is viewed as (P, K, L) with one statistic per K, reduced over P and L —

    batch norm     (N, C, L)          instance norm  (1, N·C, L)
    group norm     (1, N·G, C/G·L)    layer norm     (1, M, D)

— and γ, β broadcast over a second view (A₀, A₁, A₂) with one value per A₁.

Backward, in closed form (n = P·L values per statistic, g̃ = g ⊙ γ):

    ∂x = σ̂·(g̃ − mean(g̃) − x̂·mean(g̃·x̂)),  ∂γ = Σ g·x̂,  ∂β = Σ g.

Two first-order paths compute this: the compiled kernels of ``norm_kernels`` (numba, from
16 K values on: one pass over memory for y, one for the backward's sums and one for ∂x,
float64 sums, chunks of K shared by the cores; the backward reads x and μ, σ̂, as torch's
does), else fused NumPy (it saves x̂). With ``create_graph`` the same formula runs in Tensor
ops over graph nodes for x̂ and σ̂ (their own backwards are closed forms too:
∂σ̂/∂x = −σ̂²·x̂/n), so any order of derivative follows torch.

Batch norm, training: the running statistics move by ``momentum``:
``r ← (1 − m)·r + m·stat`` (the running variance takes the unbiased σ²·n/(n − 1)). Evaluation:
μ, σ² are the running statistics and y = x·(γσ̂) + (β − μγσ̂) (one compiled pass where the
kernels run, else Tensor ops).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import make
from ..autograd.trace import traced
from ..ops.geometry import check_arrays
from . import checks, norm_kernels

__all__ = ["batch_norm"]


class NormShapeError(RuntimeError, ValueError):
    """An input or parameter whose shape does not fit (torch's RuntimeError; a ValueError too)."""


def _sums(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Σ over axes 0 and 2 of a (P, K, L) array (of a·b when b is given), shape (K,), in a's
    dtype with no (P, K, L) temporary."""
    if b is None:
        return np.einsum("pkl->k", a)
    return np.einsum("pkl,pkl->k", a, b)


def _graph_dx(ga: Tensor, xh: Tensor, rstd: Tensor) -> Tensor:
    """σ̂·(g̃ − mean(g̃) − x̂·mean(g̃·x̂)) over axes (0, 2), in Tensor ops (differentiable)."""
    return rstd * (ga - ga.mean(dim=(0, 2), keepdim=True)
                   - xh * (ga * xh).mean(dim=(0, 2), keepdim=True))


def _fast_dx(ga: np.ndarray, xh: np.ndarray, rstd: np.ndarray, scale: np.ndarray | None,
             shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same in NumPy: ``scale`` (K,) multiplies g̃ = g·scale per K (None: g̃ = g).
    Returns ∂x as a fresh array of ``shape`` (no base: the engine keeps it without a copy)
    and the sums Σg, Σg·x̂ (of the unscaled g)."""
    n = ga.shape[0] * ga.shape[2]
    s1, s2 = _sums(ga), _sums(ga, xh)
    a = rstd.reshape(-1) if scale is None else rstd.reshape(-1) * scale
    c1 = (-a * (s1 / n)).reshape(1, -1, 1)
    c2 = (-a * (s2 / n)).reshape(1, -1, 1)
    out = np.empty(shape, ga.dtype)
    out3 = out.reshape(ga.shape)
    np.multiply(xh, c2, out=out3)
    out3 += c1
    out3 += ga * a.reshape(1, -1, 1)
    return out, s1, s2


def _stat_nodes(x: Tensor, xh3: np.ndarray, rstd3: np.ndarray) -> tuple[Tensor, Tensor]:
    """x̂ and σ̂ as graph nodes on x (for backward with create_graph)."""
    n = xh3.shape[0] * xh3.shape[2]
    shape = x.shape
    nodes: list[Tensor] = []

    def xh_backward(g):
        if is_grad_enabled():
            return (_graph_dx(g, nodes[0], nodes[1]).reshape(shape),)
        return (Tensor.wrap(_fast_dx(g.array, xh3, rstd3, None, tuple(shape))[0]),)

    def rstd_backward(g):
        r, xh = nodes[1], nodes[0]
        return ((-(g * r * r) * xh / float(n)).reshape(shape),)

    nodes.append(make(xh3, (x,), xh_backward, "native_norm_xhat"))
    nodes.append(make(rstd3, (x,), rstd_backward, "native_norm_rstd"))
    return nodes[0], nodes[1]


def _gamma_table(stats_shape: tuple[int, int, int], affine_shape: tuple[int, int, int]
                 ) -> tuple[int, int] | None:
    """γ's (K_γ, L_γ) table for the kernels (``norm_kernels``): a run of A₂ values of the (P, K,
    L) view shares one γ, so L_γ = L/A₂ and K_γ = A₁/L_γ; None where the views do not nest."""
    length, a1, a2 = stats_shape[2], affine_shape[1], affine_shape[2]
    if a2 == 0 or length % a2 or a1 % max(length // a2, 1):
        return None
    return a1 // max(length // a2, 1), max(length // a2, 1)


def normalize(x: Tensor, stats_shape: tuple[int, int, int], weight: Tensor | None,
              bias: Tensor | None, affine_shape: tuple[int, int, int], eps: float,
              op: str = "native_norm") -> tuple[Tensor, np.ndarray, np.ndarray]:
    """The fused core: x standardised over axes (0, 2) of its (P, K, L) view ``stats_shape``,
    then γ, β (one per A₁ of the (A₀, A₁, A₂) view ``affine_shape``) applied — by the compiled
    kernels (``norm_kernels``) where they run, else in NumPy.

    Returns y (x's shape), and the per-K mean and biased variance as arrays (for running
    statistics)."""
    table = _gamma_table(stats_shape, affine_shape)
    if table is not None and norm_kernels.use(x.array.size, x.dtype):
        return _compiled(x, stats_shape, weight, bias, affine_shape, table, eps, op)
    p, k, length = stats_shape
    n = p * length
    x3 = x.array.reshape(stats_shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (_sums(x3) / x3.dtype.type(n)).astype(x3.dtype, copy=False) if n else \
            np.full(k, np.nan, x3.dtype)
        xh3 = np.subtract(x3, mean.reshape(1, k, 1))
        var = (_sums(xh3, xh3) / x3.dtype.type(n)).astype(x3.dtype, copy=False) if n else \
            np.full(k, np.nan, x3.dtype)
        rstd3 = (1.0 / np.sqrt(var + x3.dtype.type(eps))).astype(x3.dtype).reshape(1, k, 1)
        xh3 *= rstd3
    view = (1, affine_shape[1], 1)
    # batch norm: the affine map is per statistic, so the backward's sums serve ∂γ and ∂β
    shared = tuple(affine_shape) == tuple(stats_shape)
    w = None if weight is None else weight.array.reshape(view)
    b = None if bias is None else bias.array.reshape(view)
    if w is None and b is None:
        y = xh3
    else:
        xa = xh3.reshape(affine_shape)
        y = xa * w if w is not None else xa + b
        if w is not None and b is not None:
            y += b
    parents = tuple(t for t in (x, weight, bias) if t is not None)
    nodes = _lazy_nodes(x, lambda: (xh3, rstd3))

    def backward(g):
        if is_grad_enabled():
            return _graph_grads(g, x, weight, bias, stats_shape, affine_shape, nodes())
        ga = g.array.reshape(affine_shape)
        xa = xh3.reshape(affine_shape)
        if shared:                                  # Σg, Σg·x̂ once, for ∂x, ∂γ and ∂β
            dx, sb, sw = _fast_dx(ga, xh3, rstd3, None if w is None else w.reshape(-1),
                                  x.array.shape)
        else:
            gt = ga if w is None else ga * w
            dx = _fast_dx(gt.reshape(stats_shape), xh3, rstd3, None, x.array.shape)[0]
            sw = None if w is None else _sums(ga, xa)
            sb = None if b is None else _sums(ga)
        grads = [Tensor.wrap(dx)]
        if weight is not None:
            grads.append(Tensor.wrap(sw.reshape(weight.shape)))
        if bias is not None:
            grads.append(Tensor.wrap(sb.reshape(bias.shape)))
        return tuple(grads)

    out = make(y.reshape(x.shape), parents, backward, op, saves_output=y is xh3)
    return out, mean, var


def _compiled(x: Tensor, stats_shape: tuple[int, int, int], weight: Tensor | None,
              bias: Tensor | None, affine_shape: tuple[int, int, int], table: tuple[int, int],
              eps: float, op: str) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """``normalize`` by the kernels: one pass for y, one for the first-order backward (which
    reads x and the float64 μ, σ̂, not a saved x̂); the statistics are float64."""
    x3 = x.array.reshape(stats_shape)
    w = None if weight is None else weight.array
    y, mean, var, rstd = norm_kernels.forward(x3, eps, w, None if bias is None else bias.array,
                                              table, x.array.shape)
    parents = tuple(t for t in (x, weight, bias) if t is not None)
    dtype, k = x.dtype, stats_shape[1]
    nodes = _lazy_nodes(x, lambda: (((x3 - mean.reshape(1, k, 1)) * rstd.reshape(1, k, 1))
                                    .astype(dtype), rstd.astype(dtype).reshape(1, k, 1)))

    def backward(g):
        if is_grad_enabled():
            return _graph_grads(g, x, weight, bias, stats_shape, affine_shape, nodes())
        dx, sb, sw = norm_kernels.backward(x3, g.array.reshape(stats_shape), mean, rstd, w,
                                           table, x.array.shape if x.requires_grad else None)
        grads = [None if dx is None else Tensor.wrap(dx)]
        if weight is not None:
            grads.append(Tensor.wrap(np.array(sw.reshape(weight.shape), dtype)))
        if bias is not None:
            grads.append(Tensor.wrap(np.array(sb.reshape(bias.shape), dtype)))
        return tuple(grads)

    return make(y, parents, backward, op), mean, var


def _lazy_nodes(x: Tensor, arrays):
    """A function giving the graph nodes x̂, σ̂ on x (made on first use, from ``arrays()``)."""
    cache: list = []

    def nodes() -> tuple[Tensor, Tensor]:
        if not cache:
            cache.extend(_stat_nodes(x, *arrays()))
        return cache[0], cache[1]
    return nodes


def _graph_grads(g: Tensor, x: Tensor, weight: Tensor | None, bias: Tensor | None,
                 stats_shape: tuple[int, int, int], affine_shape: tuple[int, int, int],
                 nodes: tuple[Tensor, Tensor]) -> tuple[Tensor, ...]:
    """The backward in Tensor ops over the nodes x̂, σ̂ (with create_graph: differentiable)."""
    xh, rstd = nodes
    ga = g.reshape(affine_shape)
    xa = xh.reshape(affine_shape)
    gt = ga if weight is None else ga * weight.reshape((1, affine_shape[1], 1))
    grads = [_graph_dx(gt.reshape(stats_shape), xh, rstd).reshape(x.shape)]
    if weight is not None:
        grads.append((ga * xa).sum(dim=(0, 2)).reshape(weight.shape))
    if bias is not None:
        grads.append(ga.sum(dim=(0, 2)).reshape(bias.shape))
    return tuple(grads)


def affine_stats(x: Tensor, mean: np.ndarray, var: np.ndarray, weight: Tensor | None,
                 bias: Tensor | None, view: tuple[int, ...], eps: float) -> Tensor:
    """Normalisation by given statistics (evaluation): y = x·(γσ̂) + (β − μγσ̂), per channel;
    differentiable in x, γ, β by the Tensor ops it is made of (or, where the kernels run, one
    pass of ``norm_kernels.scale_shift``, its backward in closed form)."""
    if norm_kernels.use(x.array.size, x.dtype):
        return _compiled_affine(x, mean, var, weight, bias, eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        rstd = (1.0 / np.sqrt(var + var.dtype.type(eps))).astype(var.dtype)
    scale = Tensor.wrap(rstd) if weight is None else weight * Tensor.wrap(rstd)
    shift = Tensor.wrap(-mean) * scale
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(view) + shift.reshape(view)


def _compiled_affine(x: Tensor, mean: np.ndarray, var: np.ndarray, weight: Tensor | None,
                     bias: Tensor | None, eps: float) -> Tensor:
    """``affine_stats`` by the kernels: y = x·a + b per channel, a = γσ̂, b = β − μa (float64);
    ∂x = g·a, ∂γ = Σ g·(x − μ)σ̂, ∂β = Σ g (in Tensor ops under create_graph)."""
    n, c = x.shape[0], x.shape[1]
    x3 = x.array.reshape(n, c, -1)
    mean = np.array(mean, dtype=np.float64)               # copies: the running statistics
    with np.errstate(divide="ignore", invalid="ignore"):  # may change before the backward
        rstd = 1.0 / np.sqrt(np.array(var, dtype=np.float64) + eps)
        a = rstd if weight is None else rstd * weight.array
        b = -mean * a if bias is None else bias.array - mean * a
    y = norm_kernels.scale_shift(x3, a, b, x.array.shape)
    parents = tuple(t for t in (x, weight, bias) if t is not None)
    dtype, view = x.dtype, (1, c, 1)

    def backward(g):
        if is_grad_enabled():
            g3 = g.reshape(x3.shape)
            rs = Tensor.wrap(rstd.astype(dtype)).reshape(view)
            scale = rs if weight is None else weight.reshape(view) * rs
            grads = [(g3 * scale).reshape(x.shape)]
            if weight is not None:
                xh = (x.reshape(x3.shape) - Tensor.wrap(mean.astype(dtype)).reshape(view)) * rs
                grads.append((g3 * xh).sum(dim=(0, 2)))
            if bias is not None:
                grads.append(g3.sum(dim=(0, 2)))
            return tuple(grads)
        g3 = g.array.reshape(x3.shape)
        grads = [Tensor.wrap(norm_kernels.scale_shift(g3, a, np.zeros(c), x.array.shape))
                 if x.requires_grad else None]
        if weight is not None or bias is not None:
            _, sb, sw = norm_kernels.backward(x3, g3, mean, rstd, None, (c, 1), None)
            if weight is not None:
                grads.append(Tensor.wrap(np.array(sw.reshape(c), dtype)))
            if bias is not None:
                grads.append(Tensor.wrap(np.array(sb.reshape(c), dtype)))
        return tuple(grads)

    return make(y, parents, backward, "native_batch_norm")


def parameters(op: str, x, **given) -> tuple[Tensor, dict]:
    """The input and the optional parameters as Tensors of one floating dtype; running
    statistics must be arrays or Tensors (they are updated in place)."""
    x = checks.tensor(op, "input", x)
    out = {}
    for name, s in given.items():
        if s is None:
            out[name] = None
            continue
        if name.startswith("running") and not isinstance(s, (Tensor, np.ndarray)):
            raise TypeError(f"{op}: {name} must be an ndarray or a Tensor (it is updated in "
                            f"place), got {type(s).__name__}")
        out[name] = checks.tensor(op, name, s)
    check_arrays(op, input=x.array, **{k: v.array for k, v in out.items() if v is not None})
    return x, out


def check_vectors(op: str, channels: int, shape, **given) -> None:
    """Each given (C,) parameter has C = ``channels`` values (torch's message)."""
    for name, s in given.items():
        if s is not None and s.shape != (channels,):
            raise NormShapeError(f"{op}: {name} must have shape (C,) = ({channels},) for input "
                                 f"{tuple(shape)} ({name} should contain {channels} elements "
                                 f"not {s.array.size})")


def update_running(stats, values, momentum: float) -> None:
    """r ← (1 − m)·r + m·value, in place on each given running statistic's ndarray."""
    with no_grad():
        for s, value in zip(stats, values):
            if s is not None:
                a = s.array
                a[...] = (1 - momentum) * a + momentum * value.astype(a.dtype, copy=False)


@traced("batch_norm")
def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) per channel over N and the spatial axes; updates ``running_mean``/
    ``running_var`` (ndarrays or Tensors of shape (C,)) in place when training."""
    op = "batch_norm"
    training = checks.boolean(op, "training", training)
    momentum = checks.real(op, "momentum", momentum, 0.0, 1.0)
    eps = checks.real(op, "eps", eps, 0.0)
    x, p = parameters(op, input, running_mean=running_mean, running_var=running_var,
                      weight=weight, bias=bias)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, *), got shape {x.shape}")
    n, c = x.shape[0], x.shape[1]
    check_vectors(op, c, x.shape, **p)
    length = int(np.prod(x.shape[2:], dtype=np.int64))
    stats = (p["running_mean"], p["running_var"])
    if training:
        count = n * length
        if count < 2:
            raise ValueError(f"batch_norm: training needs more than one value per channel, "
                             f"got input {x.shape} (Expected more than 1 value per channel "
                             f"when training)")
        y, mean, var = normalize(x, (n, c, length), p["weight"], p["bias"], (n, c, length),
                                 eps, "native_batch_norm")
        update_running(stats, (mean, var * (count / (count - 1))), momentum)
        return y
    if stats[0] is None or stats[1] is None:
        raise ValueError("batch_norm: evaluation (training=False) needs running_mean and "
                         "running_var")
    view = (1, c) + (1,) * (x.ndim - 2)
    return affine_stats(x, stats[0].array, stats[1].array, p["weight"], p["bias"], view, eps)
