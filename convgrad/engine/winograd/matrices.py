r"""The transform matrices of Winograd's F(m, r), exact, and the kernel transform.

One axis: m outputs of an r-tap correlation from a tile of α = m + r − 1 inputs d with α
multiplies instead of m·r (Toom–Cook on the points 0, ±1, ±2, ±½, ∞ — the first α − 1 of
them and ∞; Lavin & Gray 2016)::

    y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)]          Aᵀ (m×α), G (α×r), Bᵀ (α×α)

Two axes nest: Y = A₀ᵀ·[(G₀·g·G₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·A₁, and the sum over input channels moves
inside the brackets — per transformed position (e, f) one matmul (Co × Ci) @ (Ci × tiles).
With α = 6 on each axis of a 3×3 kernel, F(4×4, 3×3) multiplies 36 times per 16 outputs
instead of 144; a 1-d 5-tap kernel takes F(4, 5), α = 8: 8 multiplies per 4 outputs, not 20.
The weight gradient is the transpose of the same bilinear map:
∂L/∂g = G₀ᵀ·[Σ_tiles (A₀·δ·A₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·G₁ for output-gradient blocks δ. The price is
round-off: the points ±2, ±½ and the fractions in G grow float32 errors from ~3e-7 (direct) to
~1e-6–1e-5 of the output's scale; float64 stays at ~1e-14.

>>> b_t, g, a_t = matrices(3)
>>> a_t.shape, g.shape, b_t.shape
((4, 6), (6, 3), (6, 6))
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Sequence

import numpy as np

_POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))    # then ∞


def alpha(r: int) -> int:
    """Tile length for r taps: 1 for r = 1, else F(4, r) — α = r + 3 — with at least 6 points
    (r = 2: F(5, 2))."""
    return 1 if r == 1 else max(6, r + 3)


@functools.cache
def matrices(r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Bᵀ, G, Aᵀ) of F(m, r) with α = ``alpha(r)`` (m = α + 1 − r): F(4, 3), F(4, 5), …;
    r = 1 is the identity. Aᵀ and G are Vandermonde evaluations at the points (G divided by
    the Lagrange denominators, ∞ taking the leading coefficient); Bᵀ is solved from the
    defining identity Σₑ Aᵀ[k,e]·G[e,l]·Bᵀ[e,i] = [i = k + l] and comes out in small
    binary fractions (checked exactly: every coefficient of Aᵀ and Bᵀ is a float exactly)."""
    if r == 1:
        one = np.ones((1, 1))
        return one, one, one
    size = alpha(r)
    m = size + 1 - r
    points = [Fraction(p) for p in _POINTS[:size - 1]]
    a_t = [[p ** k for p in points] + [Fraction(k == m - 1)] for k in range(m)]
    g = [[p ** l / math.prod(p - q for q in points if q != p) for l in range(r)]
         for p in points] + [[Fraction(l == r - 1) for l in range(r)]]
    system = np.einsum("ke,el->kle", np.array(a_t, float), np.array(g, float))
    identity = [[[i == k + l for i in range(size)] for l in range(r)] for k in range(m)]
    solved = np.linalg.lstsq(system.reshape(m * r, size),
                             np.reshape(identity, (m * r, size)).astype(float), rcond=None)[0]
    b_t = [[Fraction(v).limit_denominator(64) for v in row] for row in solved]
    if any(sum(a_t[k][e] * g[e][l] * b_t[e][i] for e in range(size)) != identity[k][l][i]
           for k in range(m) for l in range(r) for i in range(size)):
        raise RuntimeError(f"winograd: no exact Bᵀ for F({m}, {r})")     # cannot happen
    return tuple(np.array(a, dtype=float) for a in (b_t, g, a_t))


def steps(kernel: Sequence[int]) -> tuple[int, ...]:
    """Outputs per tile along each axis (m)."""
    return tuple(matrices(r)[2].shape[0] for r in kernel)


def transform_kernel(w: np.ndarray) -> np.ndarray:
    """w (G, Co, Ci, r₀, r₁) → U = G₀·w·G₁ᵀ as (G, α₀α₁, Co, Ci), one matrix per position:
    one matmul with the Kronecker product G₀ ⊗ G₁ (α₀α₁ × r₀r₁) in w's dtype (float64
    would take 3× as long; G's rounding, ~6e-8 in float32, is far below the transforms')."""
    groups, co, ci, r0, r1 = w.shape
    both = _kernel_transform((r0, r1), w.dtype)
    u = both @ w.reshape(groups * co * ci, r0 * r1).T        # (α₀α₁, G·Co·Ci)
    u = u.reshape(-1, groups, co, ci)
    return u[None, :, 0] if groups == 1 else np.ascontiguousarray(u.transpose(1, 0, 2, 3))


def overlap(kernel) -> int:
    """The α₁ − m₁ input columns a row's last tile reads past its outputs: an image row takes
    its outputs plus these many positions in ``transform_input``'s scratch."""
    b_t, _, a_t = matrices(kernel[-1])
    return b_t.shape[0] - a_t.shape[0]


def weight_from_products(products: np.ndarray, kernel) -> np.ndarray:
    """(G, α₀α₁, Co, Ci) sums Σ_t Ŷ·V̂ᵀ → the weight gradient (G, Co, Ci, r₀, r₁) = G₀ᵀ·(·)·G₁
    per (o, c): the transpose of ``transform_kernel``."""
    groups, _, co, ci = products.shape
    both = _kernel_transform(tuple(kernel), products.dtype)
    dw = both.T @ products.reshape(groups, -1, co * ci)       # (G, r₀r₁, Co·Ci)
    return dw.reshape(groups, *kernel, co, ci).transpose(0, 3, 4, 1, 2)


@functools.cache
def _kernel_transform(kernel: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """G₀ ⊗ G₁ (α₀α₁ × r₀r₁) in ``dtype``, built once (the batch parts ask for it per call)."""
    both = np.kron(matrices(kernel[0])[1], matrices(kernel[1])[1]).astype(dtype)
    both.flags.writeable = False
    return both
