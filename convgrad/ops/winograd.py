r"""Winograd's minimal filtering F(m, r) — moved to ``convgrad.engine.winograd``; this module
keeps the old names (Y = Aᵀ·[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A per tile, see there).

``engine/winograd/matrices.py``  the transform matrices (exact, from Fractions) and G·g·Gᵀ
``engine/winograd/blocks.py``    when it applies, threads, the plan of blocks, the tile
                                 transforms, ``forward`` and ``weight``
``engine/winograd/codegen.py``   the numba source, its build and the on-disk cache

The names here are the defining modules' objects, re-exported: to patch what runs, patch the
defining module (``blocks.forward``, ``blocks.transform_input``, ``codegen._kernels``,
``codegen._private_dir``, …) — setting an attribute here changes nothing that runs.

>>> b_t, g, a_t = matrices(3)
>>> a_t.shape, g.shape, b_t.shape
((4, 6), (6, 3), (6, 6))
"""

from __future__ import annotations

from ..engine.winograd import blocks, codegen
from ..engine.winograd.blocks import (
    Plan,
    _bias,
    _gemm,
    _operand,
    _part_table,
    _route,
    _share_tables,
    _zeros,
    automatic,
    fits,
    forward,
    python_steps,
    threads,
    transform_gradient,
    transform_input,
    transform_output,
    use_winograd,
    weight,
)
from ..engine.winograd.codegen import (
    _BLOCKS_SOURCE,
    _NAMES,
    _PART_LOOP,
    _build,
    _building,
    _built,
    _cache_dir,
    _combination,
    _gather_source,
    _in_part_loop,
    _kernels,
    _load,
    _output_source,
    _private_dir,
)
from ..engine.winograd.matrices import (
    _POINTS,
    _kernel_transform,
    alpha,
    matrices,
    overlap,
    steps,
    transform_kernel,
    weight_from_products,
)

__all__ = ["Plan", "alpha", "automatic", "fits", "forward", "matrices", "overlap",
           "python_steps", "steps", "threads", "transform_gradient", "transform_input",
           "transform_kernel", "transform_output", "use_winograd", "weight",
           "weight_from_products", "blocks", "codegen"]
__all__ += [      # the private names old callers and tests read (patch the defining module)
    "_POINTS", "_kernel_transform", "_bias", "_gemm", "_operand", "_part_table", "_route",
    "_share_tables", "_zeros", "_BLOCKS_SOURCE", "_NAMES", "_PART_LOOP", "_build", "_building",
    "_built", "_cache_dir", "_combination", "_gather_source", "_in_part_loop", "_kernels",
    "_load", "_output_source", "_private_dir"]
