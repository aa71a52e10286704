r"""Fused log-softmax, negative log-likelihood and softmax cross entropy: each one autograd node
whose forward makes the fewest passes over the logits and whose backward is one formula.

Notation: logits z (N, C, S) (S = ∏d, the K-d positions; a row r is one (n, s)), the shift
μ_r = max_c z_rc, e = exp(z − μ), σ_r = Σ_c e_rc, so softmax = e/σ and
log_softmax = (z − μ) − log σ (stable: no exp overflows). Upstream gradient g.

- ``log_softmax``: forward as above; ∂/∂z = g − softmax·Σ_c g (e kept from the forward).
- ``nll``: ℓ_r = −w[t_r]·logp_r[t_r]; ∂/∂logp is a scatter: −ĝ_r·w[t_r] at t_r, 0 elsewhere.
- ``cross_entropy_*``: ℓ_r = −Σ_c A_rc·log_softmax(z)_rc for a target weighting A:
  class indices t with label smoothing ε and class weights w:
  A_rc = (1 − ε)·w[t_r]·[c = t_r] + (ε/C)·w_c;  class probabilities p: A = w_c((1 − ε)p + ε/C).
  ∂ℓ_r/∂z_rc = softmax_rc·Σ_c A_rc − A_rc — one pass over e (plus a scatter for indices);
  ∂ℓ_r/∂p_rc = −(1 − ε)·w_c·log_softmax_rc.

ĝ_r is g scaled by the reduction (mean: 1/D, D = Σ w[t_r] over the rows not ignored, or N·S
for probabilities; sum: 1; none: g_r), and 0 on ignored rows (``ignore_index``: never read).
The forward's ``e`` becomes the first backward's gradient buffer (recomputed if the graph is
retained and run again). Under ``create_graph`` each backward is written with differentiable
ops instead (the composed formulas), so double backward works. ``use(False)`` scopes the
composed reference path of ``losses`` (tests, benchmarks).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import numpy as np

from ..autograd import Tensor, is_grad_enabled, make
from ..methods import elementwise
from ..methods.indexing import put_along_axis
from ..ops import parallel

_ON = ContextVar("convgrad_losses_fused", default=True)


@contextmanager
def use(on: bool) -> Iterator[None]:
    """Run ``losses``' fused nodes (True, the default) or its composed reference path."""
    token = _ON.set(bool(on))
    try:
        yield
    finally:
        _ON.reset(token)


def enabled() -> bool:
    """Whether the fused nodes are on in this context."""
    return _ON.get()


def _shift(a: np.ndarray, axis: int, shape: tuple[int, ...]) -> np.ndarray:
    """z − μ: a view (a's shape) of a new buffer of ``shape`` (the logits' own), which later
    holds e and then the gradient (∞ − ∞ is NaN, quietly, as in torch)."""
    view = np.empty(shape, a.dtype).reshape(a.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.subtract(a, a.max(axis=axis, keepdims=True), out=view)


def _owned(view: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    """The buffer behind a ``_shift`` view, as a Tensor of ``shape`` (a gradient that owns
    its memory: the engine stores it as ``.grad`` without a copy)."""
    base = view.base
    return Tensor.wrap(base if base is not None and base.shape == shape else view.reshape(shape))


def _exp_sum(shifted: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(e, σ): exp taken in place of ``shifted``, and its sum along ``axis`` (kept as 1)."""
    e = np.exp(shifted, out=shifted)
    return e, e.sum(axis=axis, keepdims=True)


def _softmax_rows(a3: np.ndarray, shape: tuple[int, ...], before_exp=None):
    """(e, σ) of logits (N, C, S) along C, in shares of rows on the engine's threads (NumPy
    releases the GIL in its loops); ``before_exp(lo, hi, z − μ)`` reads each share's shifted
    logits first. e is a view of a new buffer of ``shape`` (see ``_shift``)."""
    e = np.empty(shape, a3.dtype).reshape(a3.shape)
    s = np.empty((a3.shape[0], 1, a3.shape[2]), a3.dtype)

    def run(lo: int, hi: int) -> None:
        x, sh = a3[lo:hi], e[lo:hi]
        with np.errstate(over="ignore", invalid="ignore"):
            np.subtract(x, x.max(axis=1, keepdims=True), out=sh)
        if before_exp is not None:
            before_exp(lo, hi, sh)
        np.exp(sh, out=sh)
        np.sum(sh, axis=1, keepdims=True, out=s[lo:hi])
    parallel.over_shares(run, a3.shape[0], a3.size)
    return e, s


def _scale_rows(out: np.ndarray, factor, s: np.ndarray, minus=None) -> None:
    """out ← out·factor/σ (− minus), in shares of rows; factor and minus: scalars or (N, 1, S)."""
    def part(v, lo, hi):
        return v if np.ndim(v) == 0 or v.shape[0] == 1 else v[lo:hi]

    def run(lo: int, hi: int) -> None:
        o = out[lo:hi]
        o *= part(factor, lo, hi) / s[lo:hi]
        if minus is not None:
            o -= part(minus, lo, hi)
    parallel.over_shares(run, out.shape[0], out.size)


def _softmax(z: Tensor, axis: int) -> Tensor:
    """softmax composed of differentiable ops (the double-backward path)."""
    e = elementwise.exp(z - Tensor(z.array.max(axis=axis, keepdims=True)))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int) -> Tensor:
    """``(x − μ) − log Σ exp(x − μ)`` along ``axis`` as one node (x floating, axis
    normalised; a 0-d x is one value); ∂/∂x = g − softmax·Σg."""
    a = x.array.reshape(1) if x.ndim == 0 else x.array
    axis = axis if x.ndim else 0
    if a.shape[axis] == 0:
        return make(a.copy().reshape(x.shape), (x,), lambda g: (g,), "log_softmax")
    out = _shift(a, axis, a.shape)
    e = np.exp(out)
    s = e.sum(axis=axis, keepdims=True)
    out -= np.log(s)
    kept = [e]

    def backward(g: Tensor):
        if is_grad_enabled():                               # create_graph: composed
            xa = x.reshape(a.shape)
            ga = g.reshape(a.shape)
            grad = ga - _softmax(xa, axis) * ga.sum(axis=axis, keepdims=True)
            return (grad.reshape(x.shape),)
        e = kept[0]
        if e is None:                                       # a retained graph, run again
            e, _ = _exp_sum(_shift(a, axis, a.shape), axis)
        kept[0] = None
        ga = g.array.reshape(a.shape)
        e *= ga.sum(axis=axis, keepdims=True) / s
        np.subtract(ga, e, out=e)
        return (Tensor.wrap(e if x.ndim else e.reshape(())),)
    return make(out if x.ndim else out.reshape(()), (x,), backward, "log_softmax")


def _reduced(losses: np.ndarray, reduction: str, total, shape) -> np.ndarray:
    if reduction == "none":
        return losses.reshape(shape)
    value = losses.sum()
    if reduction == "sum":
        return value
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(value / total if total else value * np.nan, dtype=losses.dtype)


def _row_scale(g: Tensor, reduction: str, total, keep, rows: tuple[int, ...]):
    """ĝ (rows shaped (N, 1, S)): g scaled by the reduction, 0 on ignored rows — an ndarray,
    or a Tensor (differentiable in g) under create_graph."""
    ga = g if is_grad_enabled() else g.array
    if reduction == "none":
        ga = ga.reshape(rows)
    elif reduction == "mean":
        ga = ga * (1 / total if total else 0.0)
    if keep is None:
        return ga
    mask = keep.astype(g.dtype)
    return ga * (Tensor(mask) if isinstance(ga, Tensor) else mask)


def _targets(t: np.ndarray, ignore_index: int, n: int, c: int, positions: int):
    """Each row's class (ignored rows: class 0), the flat index of its target in the logits
    viewed (N, C, S), both shaped (N, 1, S), and the kept mask (None when none is ignored)."""
    t = t.reshape(n, 1, positions).astype(np.intp, copy=False)   # (uint8 would overflow)
    keep = t != ignore_index
    keep = None if keep.all() else keep
    safe = t if keep is None else np.where(keep, t, 0)
    rows = np.arange(0, n * c * positions, c * positions).reshape(n, 1, 1) + \
        np.arange(positions)
    return safe, safe * positions + rows, keep


def _total(keep: np.ndarray | None, wt: np.ndarray | None, rows: tuple[int, ...]):
    """D: the weight of the rows not ignored (an int without class weights)."""
    if wt is None:
        return int(np.prod(rows)) if keep is None else int(keep.sum())
    return (wt if keep is None else wt * keep).sum()


def nll(logp: Tensor, t: np.ndarray, weight: Tensor | None, ignore_index: int,
        reduction: str) -> Tensor:
    """``nll_loss`` of validated log-probabilities (N, C, *d) and class indices (N, *d)."""
    a, w = logp.array, None if weight is None else weight.array
    n, c = a.shape[:2]
    a3 = np.ascontiguousarray(a).reshape(n, c, -1)
    safe, at, keep = _targets(t, ignore_index, n, c, a3.shape[2])
    rows = at.shape
    wt = None if w is None else w[safe]
    picked = a3.reshape(-1)[at]
    losses = -picked if wt is None else -(picked * wt)
    if keep is not None:
        losses = np.where(keep, losses, 0).astype(a.dtype, copy=False)
    total = _total(keep, wt, rows) if reduction == "mean" else None

    def backward(g: Tensor):
        coef = _row_scale(g, reduction, total, keep, rows)
        if isinstance(coef, Tensor):                                  # create_graph
            coef = coef * Tensor(np.full(rows, -1, a.dtype) if wt is None else -wt)
            return (put_along_axis(coef, safe, 1, a3.shape).reshape(a.shape),)
        out = np.zeros(a.shape, a.dtype)
        out.reshape(-1)[at] = -coef if wt is None else -coef * wt
        return (Tensor.wrap(out),)
    return make(_reduced(losses, reduction, total, t.shape), (logp,), backward, "nll_loss")


def cross_entropy_indices(z: Tensor, t: np.ndarray, weight: Tensor | None, ignore_index: int,
                          reduction: str, smoothing: float) -> Tensor:
    """``cross_entropy`` of validated logits (N, C, *d) and class indices (N, *d)."""
    a, w = z.array, None if weight is None else weight.array
    n, c = a.shape[:2]
    a3 = a.reshape(n, c, -1)
    safe, at, keep = _targets(t, ignore_index, n, c, a3.shape[2])
    rows = at.shape
    beta = smoothing / c
    picked = np.empty(rows, a.dtype)
    wsum = np.empty(rows, a.dtype) if smoothing else None

    def before_exp(lo: int, hi: int, sh: np.ndarray) -> None:
        picked[lo:hi] = sh.reshape(-1)[at[lo:hi] - lo * sh[0].size]
        if smoothing:                                     # Σ_c w_c (z − μ)_c
            wsum[lo:hi] = sh.sum(axis=1, keepdims=True) if w is None else \
                np.einsum("ncs,c->ns", sh, w)[:, None]
    e, s = _softmax_rows(a3, a.shape, before_exp)
    logs = np.log(s)
    big_w = c if w is None else w.sum()                               # Σ_c w_c
    wt = None if w is None else w[safe]
    alpha = (1 - smoothing) if wt is None else wt * (1 - smoothing)   # A's one-hot part
    losses = (logs - picked) * alpha
    if smoothing:
        losses += (logs * big_w - wsum) * beta
    if keep is not None:
        losses = np.where(keep, losses, 0).astype(a.dtype, copy=False)
    total = _total(keep, wt, rows) if reduction == "mean" else None
    kept = [e]

    def backward(g: Tensor):
        coef = _row_scale(g, reduction, total, keep, rows)
        if isinstance(coef, Tensor):                                  # create_graph
            target = np.zeros(a3.shape, a.dtype)
            np.put_along_axis(target, safe, np.broadcast_to(alpha, rows), 1)
            if smoothing:
                target += (beta * (np.ones(c, a.dtype) if w is None else w))[:, None]
            sm = _softmax(z.reshape(n, c, -1), 1)
            grad = coef * (sm * Tensor(target.sum(axis=1, keepdims=True)) - Tensor(target))
            return (grad.reshape(a.shape),)
        out = kept[0]
        if out is None:                                   # a retained graph, run again
            out, _ = _softmax_rows(a3, a.shape)
        kept[0] = None
        ca = coef * alpha
        wc = (np.full(c, beta, a.dtype) if w is None else beta * w).reshape(1, c, 1)
        _scale_rows(out, (ca + coef * (beta * big_w)) if smoothing else ca, s,
                    coef * wc if smoothing else None)
        out.reshape(-1)[at] -= ca
        return (_owned(out, a.shape),)
    return make(_reduced(losses, reduction, total, t.shape), (z,), backward, "cross_entropy")


def cross_entropy_probabilities(z: Tensor, p: Tensor, weight: Tensor | None, reduction: str,
                                smoothing: float) -> Tensor:
    """``cross_entropy`` of validated logits (N, C, *d) and class probabilities of their
    shape (differentiable in both)."""
    a, w = z.array, None if weight is None else weight.array
    n, c = a.shape[:2]
    a3 = a.reshape(n, c, -1)
    target = p.array.reshape(a3.shape)
    if smoothing:
        target = target * (1 - smoothing) + smoothing / c
    if w is not None:
        target = target * w[:, None]
    dot = np.empty((n, 1, a3.shape[2]), a.dtype)

    def before_exp(lo: int, hi: int, sh: np.ndarray) -> None:
        dot[lo:hi] = np.einsum("ncs,ncs->ns", sh, target[lo:hi])[:, None]
    e, s = _softmax_rows(a3, a.shape, before_exp)
    logs = np.log(s)
    sum_a = target.sum(axis=1, keepdims=True)
    losses = logs * sum_a - dot
    rows = (n, 1, a3.shape[2])
    total = n * a3.shape[2]
    factor = (1 - smoothing) * (1 if w is None else w[:, None])      # ∂A/∂p
    kept = [e]

    def backward(g: Tensor):
        coef = _row_scale(g, reduction, total, None, rows)
        gz = gp = None
        if isinstance(coef, Tensor):                                  # create_graph
            zz, aa = z.reshape(n, c, -1), p.reshape(n, c, -1)       # A, differentiable in p
            aa = aa * (1 - smoothing) + smoothing / c if smoothing else aa
            aa = aa if w is None else aa * Tensor(w[:, None])
            if z.requires_grad:
                gz = coef * (_softmax(zz, 1) * aa.sum(axis=1, keepdims=True) - aa)
                gz = gz.reshape(a.shape)
            if p.requires_grad:
                lp = zz - Tensor(a3.max(axis=1, keepdims=True))
                lp = lp - elementwise.log(elementwise.exp(lp).sum(axis=1, keepdims=True))
                gp = (-coef * lp * Tensor(np.asarray(factor, a.dtype))).reshape(a.shape)
            return gz, gp
        if z.requires_grad:
            out = kept[0]
            if out is None:                               # a retained graph, run again
                out, _ = _softmax_rows(a3, a.shape)
            kept[0] = None
            _scale_rows(out, coef * sum_a, s, coef * target)
            gz = _owned(out, a.shape)
        if p.requires_grad:
            lp = _shift(a3, 1, a.shape)
            lp -= logs
            lp *= -coef * factor
            gp = _owned(lp, a.shape)
        return gz, gp
    return make(_reduced(losses, reduction, total, (n, *a.shape[2:])), (z, p), backward,
                "cross_entropy")
