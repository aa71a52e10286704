r"""Winograd's minimal filtering F(m, r), the ``winograd`` algorithm's machinery
(``engine.algorithms.winograd`` is the registered algorithm that plans and calls it).

One axis: m outputs of an r-tap correlation from a tile of α = m + r − 1 inputs d with α
multiplies instead of m·r (Toom–Cook on the points 0, ±1, ±2, ±½, ∞; Lavin & Gray 2016)::

    y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)]          Aᵀ (m×α), G (α×r), Bᵀ (α×α)

Two axes nest, and the sum over input channels moves inside the brackets::

    Y = A₀ᵀ·[Σ_c (G₀·g·G₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·A₁      one matmul (Co × Ci) @ (Ci × tiles) per position

and the weight gradient is the transpose of the same bilinear map,
∂L/∂g = G₀ᵀ·[Σ_tiles (A₀·δ·A₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·G₁.

``matrices``  Bᵀ, G, Aᵀ of F(m, r), exact in Fractions; the kernel transform G₀·g·G₁ᵀ and its
              transpose
``blocks``    when it applies, the threads and the plan of blocks in shares, the tile
              transforms of a block's parts, ``forward`` and ``weight``
``codegen``   the compiled transforms: numba source generated for the matrices, built once
              per (kernel, dtype), cached on disk

(``convgrad.ops.winograd`` re-exports all of it under the old names.)
"""
