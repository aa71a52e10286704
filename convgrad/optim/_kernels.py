r"""Compiled (numba) optimizer updates: one pass over memory per parameter.

Each kernel reads a parameter θ, its gradient g and its state once, and writes θ and the state
once — the whole update of ``adam.py``/``adaptive.py``/``sgd.py``'s formulas per element, in
torch's order of operations, in the data's dtype (every scalar comes rounded to it, as torch's
CPU kernels round theirs to float32 for float32 data), without NumPy's temporaries and passes.
With d the gradient (−g for ``maximize``; d + λθ for coupled weight decay λ, θ ← δθ for
decoupled decay δ = 1 − γλ) and lerp(a, d, w) = a + w(d − a) for |w| < ½, else
d − (d − a)(1 − w) (torch's two branches)::

    sgd        b ← d (first step) or μb + (1 − τ)d;  d ← d + μb (nesterov) or b;  θ ← θ − γd
    adam       m ← lerp(m, d, 1 − β₁);  v ← β₂v + (1 − β₂)d²;  v̂ ← max(v̂, v);
               θ ← θ + (−s·m)/(√v / c₂ + ε)                 s = γ/(1 − β₁ᵗ), c₂ = √(1 − β₂ᵗ)
    adamax     u ← max(β₂u, |d| + ε);  θ ← θ + (−s·m)/u
    nadam      q = √(v/(1 − β₂ᵗ)) + ε;  θ ← θ + (s₁d)/q;  θ ← θ + (s₂m)/q
    radam      m̂ = m/(1 − β₁ᵗ);  θ ← θ − m̂γ·(c₂/(√v + ε))·r  (ρₜ > 5),  else θ ← θ − m̂γ
    rmsprop    v ← αv + (1 − α)d²;  a = √(v − ḡ²) + ε (centered, ḡ ← lerp(ḡ, d, 1 − α)) or √v + ε;
               b ← μb + d/a, θ ← θ − γb (μ > 0);  else θ ← θ + (−γd)/a
    adagrad    s ← s + d²;  θ ← θ + (−γₜd)/(√s + ε)
    adadelta   v ← ρv + (1 − ρ)d²;  Δ = √(u + ε)/√(v + ε)·d;  u ← ρu + (1 − ρ)Δ²;  θ ← θ − γΔ

max propagates NaN (torch.maximum). Arrays are 1-d C-contiguous views of one dtype; every
kernel exists twice, compiled from one source: one thread (small tensors: no thread start) and
``parallel`` (blocks of ``BLOCK`` values across numba's threads). ``error_model="numpy"``:
x/0 is ±inf or NaN as in torch (not ZeroDivisionError), and the division loops vectorise.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

BLOCK = 1 << 14      # values per parallel chunk (each inner loop vectorises over one block)


@functools.cache
def kernels() -> SimpleNamespace | None:
    """``serial`` and ``parallel`` namespaces of compile-on-first-call kernels (numba loads
    lazily, no cache=True: see ``ops.jit``), or None where numba cannot load."""
    try:
        from numba import njit, prange
    except Exception:  # noqa: BLE001  (a broken numba install must not break convgrad)
        return None

    def _lerp(a, d, w, wc):   # pragma: no cover (compiled)
        return a + w * (d - a) if w < 0.5 else d - (d - a) * wc

    def _max(a, b):   # pragma: no cover (compiled)
        return b if (b > a or b != b) else a

    lerp = njit(inline="always")(_lerp)
    vmax = njit(inline="always")(_max)

    def sgd(p, g, buf, lr, wd, mu, damp1, maximize, momentum, first,
            nesterov):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, bs = p[lo:hi], g[lo:hi], buf[lo:hi] if momentum else buf[:0]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                if wd != 0:
                    d = d + wd * ps[i]
                if momentum:
                    b = d if first else bs[i] * mu + damp1 * d
                    bs[i] = b
                    d = d + mu * b if nesterov else b
                ps[i] = ps[i] - lr * d

    def adam(p, g, m, v, vm, maximize, wd, decay, w1, w1c, b2, c2, amsgrad, bc2s, eps,
             neg_step):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, ms, vs = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
            vms = vm[lo:hi] if amsgrad else vm[:0]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                t = ps[i] * decay if decay != 1 else ps[i]
                if wd != 0:
                    d = d + wd * t
                mi = lerp(ms[i], d, w1, w1c)
                vi = vs[i] * b2 + c2 * d * d
                ms[i] = mi
                vs[i] = vi
                if amsgrad:
                    vi = vmax(vms[i], vi)
                    vms[i] = vi
                ps[i] = t + (neg_step * mi) / (np.sqrt(vi) / bc2s + eps)

    def adamax(p, g, m, u, maximize, wd, w1, w1c, b2, eps,
               neg_clr):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, ms, us = p[lo:hi], g[lo:hi], m[lo:hi], u[lo:hi]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                if wd != 0:
                    d = d + wd * ps[i]
                mi = lerp(ms[i], d, w1, w1c)
                ui = vmax(us[i] * b2, np.abs(d) + eps)
                ms[i] = mi
                us[i] = ui
                ps[i] = ps[i] + (neg_clr * mi) / ui

    def nadam(p, g, m, v, maximize, wd, decay, w1, w1c, b2, c2, bc2, eps, s1,
              s2):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, ms, vs = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                t = ps[i] * decay if decay != 1 else ps[i]
                if wd != 0:
                    d = d + wd * t
                mi = lerp(ms[i], d, w1, w1c)
                vi = vs[i] * b2 + c2 * d * d
                ms[i] = mi
                vs[i] = vi
                q = np.sqrt(vi / bc2) + eps
                t = t + (s1 * d) / q
                ps[i] = t + (s2 * mi) / q

    def radam(p, g, m, v, maximize, wd, decay, w1, w1c, b2, c2, bc1, lr, rectify, rect, bc2s,
              eps):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, ms, vs = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                t = ps[i] * decay if decay != 1 else ps[i]
                if wd != 0:
                    d = d + wd * t
                mi = lerp(ms[i], d, w1, w1c)
                vi = vs[i] * b2 + c2 * d * d
                ms[i] = mi
                vs[i] = vi
                u = mi / bc1 * lr
                if rectify:
                    u = u * (bc2s / (np.sqrt(vi) + eps)) * rect
                ps[i] = t - u

    def rmsprop(p, g, v, ga, buf, maximize, wd, alpha, c2, centered, w, wc, eps, mu,
                neg_lr):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, vs = p[lo:hi], g[lo:hi], v[lo:hi]
            gas = ga[lo:hi] if centered else ga[:0]
            bs = buf[lo:hi] if mu > 0 else buf[:0]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                if wd != 0:
                    d = d + wd * ps[i]
                vi = vs[i] * alpha + c2 * d * d
                vs[i] = vi
                if centered:
                    a = lerp(gas[i], d, w, wc)
                    gas[i] = a
                    a = np.sqrt(vi - a * a) + eps
                else:
                    a = np.sqrt(vi) + eps
                if mu > 0:
                    b = bs[i] * mu + d / a
                    bs[i] = b
                    ps[i] = ps[i] + neg_lr * b
                else:
                    ps[i] = ps[i] + (neg_lr * d) / a

    def adagrad(p, g, s, maximize, wd, eps, neg_clr):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, ss = p[lo:hi], g[lo:hi], s[lo:hi]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                if wd != 0:
                    d = d + wd * ps[i]
                si = ss[i] + d * d
                ss[i] = si
                ps[i] = ps[i] + (neg_clr * d) / (np.sqrt(si) + eps)

    def adadelta(p, g, v, u, maximize, wd, rho, c2, eps,
                 neg_lr):   # pragma: no cover (compiled)
        n = p.size
        for c in prange((n + BLOCK - 1) // BLOCK):
            lo, hi = c * BLOCK, min(n, (c + 1) * BLOCK)
            ps, gs, vs, us = p[lo:hi], g[lo:hi], v[lo:hi], u[lo:hi]
            for i in range(hi - lo):
                d = -gs[i] if maximize else gs[i]
                if wd != 0:
                    d = d + wd * ps[i]
                vi = vs[i] * rho + c2 * d * d
                vs[i] = vi
                delta = np.sqrt(us[i] + eps) / np.sqrt(vi + eps) * d
                us[i] = us[i] * rho + c2 * delta * delta
                ps[i] = ps[i] + neg_lr * delta

    sources = dict(sgd=sgd, adam=adam, adamax=adamax, nadam=nadam, radam=radam,
                   rmsprop=rmsprop, adagrad=adagrad, adadelta=adadelta)
    return SimpleNamespace(
        serial=SimpleNamespace(**{k: njit(error_model="numpy")(f) for k, f in sources.items()}),
        parallel=SimpleNamespace(**{k: njit(parallel=True, error_model="numpy")(f)
                                    for k, f in sources.items()}))
