r"""Compiled (numba) kernels for normalisation: statistics, normalise and affine in one pass over
memory each, on every core — for ``normalization.normalize`` and batch norm's evaluation.

Notation as in ``normalization``: x viewed as (P, K, L), one statistic per K over P and L
(n = P·L values; a batch-norm channel is P strided runs of L), and γ, β as a table (K_γ, L_γ)
with γ(k, l) = Γ[k mod K_γ, l // (L / L_γ)]: batch and instance norm (C, 1), group norm
(G, C/G), layer norm (1, D) — so a run of L/L_γ values shares one γ.

Forward, per k (all sums in float64, as torch accumulates float32 in double):

    μ = Σx/n,  σ² = Σ(x − μ)²/n (the second pass reads the channel from cache),
    σ̂ = 1/√(σ² + ε),  y = (x − μ)·(σ̂γ) + β      (rounded once to x's dtype).

Backward, per k, one pass for the sums and one for ∂x (g̃ = g·γ):

    s₁ = Σ g̃,  s₂ = Σ g̃·(x − μ),
    ∂x = σ̂γ·g − σ̂³·s₂/n·(x − μ) − σ̂·s₁/n   ( = σ̂·(g̃ − mean g̃ − x̂·mean(g̃·x̂)) ),

and per γ entry ∂γ = Σ g·(x − μ)·σ̂, ∂β = Σ g, summed per chunk of K (one row of partial sums
per chunk: no two threads add into one entry) and over the chunks by NumPy.

Evaluation (given μ, σ² per channel): y = x·a + b with a = γσ̂, b = β − μa, one pass.

The cores: ``spread`` hands chunks of K to the calling thread and ``threads − 1`` helpers from a
shared counter; the kernels release the GIL. Not numba's ``parallel=True``: its static split
makes a call wait for its slowest thread, and right after a BLAS call (a convolution, before
every batch norm) OpenBLAS's threads spin on the cores for a while — measured, a parallel
batch norm ran 15× slower than one thread on the loaded project machine. Here a helper that
has not started when the chunks run out is cancelled: at worst the call runs on one core.

``fastmath`` is only ``reassoc``/``contract`` (the sums vectorise; NaN and ∞ keep their IEEE
meaning). Without numba, or with ``CONVGRAD_JIT=0``, ``normalization`` runs its NumPy path;
``use(size)`` decides, and ``min_elements`` scopes the size threshold (tests force the kernels
on small inputs with ``min_elements(0)``).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Callable

import numpy as np

from ..engine.settings import current
from ..engine.tuning import current as tuning_now
from ..engine.tuning import tuned
from ..ops import jit, parallel

# The kernels pay from a few thousand values (BatchNorm2d f32 fwd+bwd, NumPy path → kernels:
# 8×8×8×8 95 → 80 µs, 16×16×8×8 126 → 93, 16×16×16×16 384 → 156); helpers from ~256 K values
# (a hand-over costs ~20–50 µs). Measured on the 2-core project machine (load ~5), with the
# pattern of benchmarks/bench_norm.py. From 16 K on, not 4 K: below, the tens of µs saved do
# not matter, and tests/test_ports.py's Adam/RMSprop trajectories (whose first steps are
# ±lr·sign(g), so a round-off-sized gradient element can flip) stay on the NumPy path's
# rounding for their small layers.
MIN_ELEMENTS = 1 << 14      # the default of engine.tuning's norm_elements
SPREAD_ELEMENTS = 1 << 18
CHUNKS = 4           # chunks per thread: a late helper costs at most one chunk's wait
def min_elements(n: int):
    """Use the kernels from ``n`` values on in this context (0: always, when available)
    (``engine.tuned(norm_elements=n)``)."""
    return tuned(norm_elements=int(n))


def use(size: int, dtype: np.dtype) -> bool:
    """True when the kernels should run for an input of ``size`` values of ``dtype``."""
    return size > 0 and size >= tuning_now().norm_elements \
        and np.dtype(dtype) in (np.float32, np.float64) and jit.available() \
        and _kernels() is not None


def chunk_count(size: int, items: int) -> int:
    """How many chunks to cut ``items`` units of work (``size`` values in all) into."""
    threads = current().threads if size >= SPREAD_ELEMENTS else 1
    return max(1, min(items, CHUNKS * threads if threads > 1 else 1))


def spread(run: Callable[[int], None], count: int) -> None:
    """``run(i)`` for every i < count on this thread and the engine's (``parallel.spread``)."""
    parallel.spread(run, count)


def _bounds(items: int, count: int) -> list[tuple[int, int]]:
    return [(i * items // count, (i + 1) * items // count) for i in range(count)]


@functools.cache
def _kernels():
    """Compile-on-first-call kernels (see ``ops.jit``: numba loads lazily, no cache=True)."""
    try:
        from numba import njit
    except Exception:  # noqa: BLE001  (a broken numba install must not break convgrad)
        return None
    fast = {"reassoc", "contract"}

    @njit(nogil=True, fastmath=fast)
    def _forward(x, eps, gamma, beta, y, mean, var, rstd, lo, hi):   # pragma: no cover
        planes, _, length = x.shape
        kg, lg = gamma.shape
        run = length // lg
        n = planes * length
        for k in range(lo, hi):
            total = 0.0
            for p in range(planes):
                src = x[p, k]
                for i in range(length):
                    total += src[i]
            mu = total / n
            squares = 0.0
            for p in range(planes):
                src = x[p, k]
                for i in range(length):
                    d = src[i] - mu
                    squares += d * d
            r = 1.0 / np.sqrt(squares / n + eps)
            mean[k], var[k], rstd[k] = mu, squares / n, r
            gk, bk = gamma[k % kg], beta[k % kg]
            for p in range(planes):
                src, dst = x[p, k], y[p, k]
                if run == 1:                         # one γ per value (layer norm)
                    for i in range(length):
                        dst[i] = (src[i] - mu) * (r * gk[i]) + bk[i]
                    continue
                for j in range(lg):
                    a, b = r * gk[j], bk[j]
                    s, o = src[j * run:(j + 1) * run], dst[j * run:(j + 1) * run]
                    for i in range(run):
                        o[i] = (s[i] - mu) * a + b

    @njit(nogil=True, fastmath=fast)
    def _backward(x, g, mean, rstd, gamma, need_dx, dx, part_g, part_gx, lo,
                  hi):   # pragma: no cover (compiled)
        planes, _, length = x.shape
        kg, lg = gamma.shape
        run = length // lg
        n = planes * length
        for k in range(lo, hi):
            mu, r = mean[k], rstd[k]
            gk, tg, tgx = gamma[k % kg], part_g[k % kg], part_gx[k % kg]
            s1 = 0.0
            s2 = 0.0
            for p in range(planes):
                xs, gs = x[p, k], g[p, k]
                if run == 1:
                    for i in range(length):
                        gi, d = gs[i], xs[i] - mu
                        s1 += gi * gk[i]
                        s2 += gi * gk[i] * d
                        tg[i] += gi
                        tgx[i] += gi * d * r
                    continue
                for j in range(lg):
                    a1 = 0.0
                    a2 = 0.0
                    xr, gr = xs[j * run:(j + 1) * run], gs[j * run:(j + 1) * run]
                    for i in range(run):
                        a1 += gr[i]
                        a2 += gr[i] * (xr[i] - mu)
                    s1 += gk[j] * a1
                    s2 += gk[j] * a2
                    tg[j] += a1
                    tgx[j] += a2 * r
            if not need_dx:
                continue
            c1, c2 = -r * s1 / n, -r * r * r * s2 / n
            for p in range(planes):
                xs, gs, out = x[p, k], g[p, k], dx[p, k]
                if run == 1:
                    for i in range(length):
                        out[i] = (r * gk[i]) * gs[i] + c2 * (xs[i] - mu) + c1
                    continue
                for j in range(lg):
                    a = r * gk[j]
                    xr, gr = xs[j * run:(j + 1) * run], gs[j * run:(j + 1) * run]
                    o = out[j * run:(j + 1) * run]
                    for i in range(run):
                        o[i] = a * gr[i] + c2 * (xr[i] - mu) + c1

    @njit(nogil=True, fastmath=fast)
    def _scale_shift(x, a, b, y, lo, hi):   # pragma: no cover (compiled)
        planes = x.shape[0]
        for k in range(lo, hi):
            ak, bk = a[k], b[k]
            for p in range(planes):
                src, dst = x[p, k], y[p, k]
                for i in range(src.shape[0]):
                    dst[i] = src[i] * ak + bk

    return SimpleNamespace(forward=_forward, backward=_backward, scale_shift=_scale_shift)


def _table(v: np.ndarray | None, shape: tuple[int, int], fill: float) -> np.ndarray:
    """γ or β as the float64 (K_γ, L_γ) table (``fill`` everywhere when absent)."""
    if v is None:
        return np.full(shape, fill)
    return np.ascontiguousarray(v, dtype=np.float64).reshape(shape)


def forward(x3: np.ndarray, eps: float, gamma: np.ndarray | None, beta: np.ndarray | None,
            table: tuple[int, int], shape: tuple[int, ...]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """y (a fresh array of ``shape``, x3's dtype) and the float64 per-K mean, biased variance
    and σ̂ of x3 (P, K, L), with γ, β as ``table``-shaped (K_γ, L_γ) values (None: 1 and 0)."""
    x3 = np.ascontiguousarray(x3)
    k = x3.shape[1]
    y = np.empty(shape, x3.dtype)
    y3, mean, var, rstd = y.reshape(x3.shape), np.empty(k), np.empty(k), np.empty(k)
    w, b = _table(gamma, table, 1.0), _table(beta, table, 0.0)
    bounds = _bounds(k, chunk_count(x3.size, k))
    kernel = _kernels().forward
    spread(lambda i: kernel(x3, float(eps), w, b, y3, mean, var, rstd, *bounds[i]),
           len(bounds))
    return y, mean, var, rstd


def backward(x3: np.ndarray, g3: np.ndarray, mean: np.ndarray, rstd: np.ndarray,
             gamma: np.ndarray | None, table: tuple[int, int], shape: tuple[int, ...] | None
             ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """∂x (a fresh array of ``shape``, x3's dtype; None when ``shape`` is None) and Σg, Σg·x̂
    per γ entry (float64, ``table``-shaped) for the upstream gradient g3 (P, K, L) of
    ``forward`` (mean, rstd: its float64 statistics)."""
    x3, g3 = np.ascontiguousarray(x3), np.ascontiguousarray(g3, dtype=x3.dtype)
    k = x3.shape[1]
    bounds = _bounds(k, chunk_count(x3.size, k))
    part_g = np.zeros((len(bounds), *table))       # one row of partial sums per chunk
    part_gx = np.zeros((len(bounds), *table))
    dx = np.empty((1, 1, 1) if shape is None else shape, x3.dtype)
    dx3 = dx if shape is None else dx.reshape(x3.shape)
    w, kernel = _table(gamma, table, 1.0), _kernels().backward
    spread(lambda i: kernel(x3, g3, mean, rstd, w, shape is not None, dx3, part_g[i],
                            part_gx[i], *bounds[i]), len(bounds))
    return (None if shape is None else dx), part_g.sum(0), part_gx.sum(0)


def scale_shift(x3: np.ndarray, a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]
                ) -> np.ndarray:
    """``x3·a + b`` per K of x3 (P, K, L) with a, b (K,) (in float64), as a fresh array of
    ``shape`` in x3's dtype."""
    x3 = np.ascontiguousarray(x3)
    y = np.empty(shape, x3.dtype)
    y3 = y.reshape(x3.shape)
    a, b = np.ascontiguousarray(a, dtype=np.float64), np.ascontiguousarray(b, dtype=np.float64)
    bounds = _bounds(x3.shape[1], chunk_count(x3.size, x3.shape[1]))
    kernel = _kernels().scale_shift
    spread(lambda i: kernel(x3, a, b, y3, *bounds[i]), len(bounds))
    return y
