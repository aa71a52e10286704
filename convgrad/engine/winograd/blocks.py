r"""Running Winograd: when it applies, on how many threads, the blocks of a computation in
shares (``Plan``), the tile transforms of a block's parts, and ``forward`` and ``weight``.

Per block of tiles d of x (and, for the weight gradient, blocks δ of ∂L/∂y)::

    forward   Y = A₀ᵀ·[Σ_c (G₀·g·G₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·A₁      V = Bᵀ d B, M = U @ V, Y = Aᵀ M A
    weight    ∂L/∂g = G₀ᵀ·[Σ_tiles (A₀·δ·A₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·G₁

the sums over channels (forward) or tiles and images (weight) one matmul per transformed
position. The transforms are a few adds per value, compiled (numba, ``codegen``) from source
written out for the matrices (``matrices``); a batch share's transforms and products run in
one compiled call that calls BLAS's gemm itself (``ops/blas.py``, ``forward``).
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from .. import tuning
from ..kernels import blas, jit
from ..runtime import pool as parallel
from ..settings import current, settings
from . import codegen
from .matrices import _kernel_transform, transform_kernel, weight_from_products


def automatic() -> bool:
    """Whether the method rule may choose Winograd (float32 layers that pay; see
    ``engine.rule.choose_method``). ``CONVGRAD_WINOGRAD=0`` or ``use_winograd(False)``: never —
    float32 results then come from direct sums, as float64's always do."""
    return current().winograd


def use_winograd(on: bool):
    """Allow (``True``, the default) or forbid the automatic choice of Winograd in this
    block (this context: other threads keep theirs); ``forced_method("winograd")`` is not
    affected. ``engine.settings(winograd=on)``."""
    return settings(winograd=bool(on))


def fits(kernel: Sequence[int]) -> bool:
    """The ``winograd`` method takes 3×3 and 1×3 kernels (F(4, 3) per axis) and 1-d kernels
    of 3 or 5 taps (F(4, 3), F(4, 5)), and needs the compiled transforms. (``matrices``
    builds more, but a 2-d 5×5 squares F(4, 5)'s round-off, and each kernel shape is one
    more compile of several seconds.)"""
    return (tuple(kernel) in ((3, 3), (1, 3), (3,), (5,))) and jit.available()


def transform_input(x: np.ndarray, kernel, pads, parts, out: np.ndarray) -> None:
    """``out[g, e·α₁ + f, c, t] = (B₀ᵀ·d·B₁)[e, f]`` for the α₀×α₁ tiles d, m₀×m₁ apart, of the
    dilation phases of x: the plane ``x_pad[n, g, c, a₀ + d₀·i, a₁ + d₁·j]`` of x
    (N, G, C, H, W) padded by ``pads`` ((lo, hi), any sign; zero outside x). Each part —
    (phase (a₀, a₁), dilation, tiles (th, tw) per image, images, tile rows, first slot) as
    ``engine.algorithms.winograd.blocks`` yields them, with s, the positions per image row — puts
    its images' tile rows side by side without gaps: the row of image n in tile row i starts
    at position ((i − i₀)·B + n − n₀)·s of a scratch row, tile t covers positions m₁·t … and
    is slot first + t (long inner loops for small images; the s − w positions after an
    image's w outputs are outputs of no image, which ``transform_output`` skips). One
    compiled call for all parts; out (G, α₀α₁, C, T)."""
    (lo0, _), (lo1, _) = pads
    codegen._kernels(tuple(kernel), x.dtype.name).transform_input(
        _operand(x), lo0, lo1, *parts[0][1], _part_table(parts), out)


def transform_output(m: np.ndarray, kernel, bias: np.ndarray | None, parts,
                     y: np.ndarray) -> None:
    """The inverse in ``transform_input``'s tile numbering: each tile's A₀ᵀ·m·A₁ (m₀×m₁
    outputs) plus the bias (G, C) into ``y[n, g, c, a₀ + d₀·i, a₁ + d₁·j]`` of
    y (N, G, C, H, W); m (G, α₀α₁, C, T)."""
    codegen._kernels(tuple(kernel), y.dtype.name).transform_output(
        m, _bias(bias, y), *parts[0][1], _part_table(parts), y)


def transform_gradient(dy: np.ndarray, kernel, parts, out: np.ndarray) -> None:
    """The transpose of ``transform_output`` (for the weight gradient): ``out[g, e·α₁ + f, o, t]
    = (A₀·δ·A₁ᵀ)[e, f]`` for the m₀×m₁ blocks δ of the dilation phases of dy (N, G, Co, *M),
    ``dy[n, g, o, a₀ + d₀·i, a₁ + d₁·j]``, zero past its edge, in ``transform_input``'s tile
    numbering (zero at the positions of no output)."""
    codegen._kernels(tuple(kernel), dy.dtype.name).transform_gradient(
        _operand(dy), 0, 0, *parts[0][1], _part_table(parts), out)


def threads(batch: int, dtype, macs: int) -> int:
    """How many threads a Winograd computation of ``batch`` images and ``macs`` multiply-adds
    (the direct sum's) runs on by itself (``forward``, ``weight``): one per core
    (``parallel.threads()``) and image where that pays (``tuning.concurrent_macs``, as for the
    batch parts of the direct methods) and gemm can be called from compiled code, outside a
    batch part (whose threads are the cores already) — else 1."""
    if (parallel.threads() == 1 or batch < 2 or macs < tuning.current().concurrent_macs
            or parallel.in_part() or blas.gemm(dtype) is None):
        return 1
    return min(parallel.threads(), batch)


class Plan:
    """The blocks of a Winograd computation in shares, one per thread (``shares[t]``: a list of
    blocks (parts, used slots), ``engine.algorithms.winograd.workspaces``), and the compiled
    shares' view of them (``_share_tables``). Built once per geometry and kept: nothing may
    write to it."""

    def __init__(self, shares):
        self.shares = shares
        self.longest = max((used for share in shares for _, used in share), default=0)
        self.dilation = next((parts[0][1] for share in shares for parts, _ in share), (1, 1))
        self.tables = _share_tables(shares)


def forward(x: np.ndarray, w: np.ndarray, kernel, pads, bias: np.ndarray | None, plan: Plan,
            v: np.ndarray, m: np.ndarray, u: np.ndarray, y: np.ndarray) -> None:
    """All blocks of a forward with the kernel w (G, Co, Ci, r₀, r₁) into y: per block,
    ``transform_input`` of x into v, per transformed position ``m[g, p] = U[g, p] @ v[g, p]``
    over the used slots (U = ``transform_kernel(w)``), ``transform_output`` of m into y with the
    bias. Share t runs on thread t with the workspaces v[t], m[t] and u[t] (α₀α₁, G, Co, Ci),
    where it first computes its own U (one gemm with G₀ ⊗ G₁: no pass over w before the
    shares start), all of it one compiled call that calls gemm itself (``blas.gemm``): no
    return to Python inside a share, so no wait for the GIL and no second thread's Python to
    wait for (measured on 2 cores against the batch parts of ``map_parts``, each with its own
    Python and a call per step: the dilated layer's forward 2.48 → 2.13 ms, conv1d's
    2.38 → 1.92). Without gemm, or where ``parallel.matmul`` would spread the products over
    the cores, the steps run from Python."""
    groups, co, ci = w.shape[:3]
    gemm = _gemm(x.dtype, co, ci, plan, (groups, u.shape[1]))
    if gemm is None:
        full = transform_kernel(w)
        for t, share in enumerate(plan.shares):      # (one share: no gemm, no threads)
            for parts, used in share:
                transform_input(x, kernel, pads, parts, v[t])
                parallel.matmul(full, v[t, ..., :used], out=m[t, ..., :used])
                transform_output(m[t], kernel, bias, parts, y)
        return
    compiled = codegen._kernels(tuple(kernel), x.dtype.name)
    (lo0, _), (lo1, _) = pads
    head = (_operand(x), lo0, lo1, *plan.dilation, *plan.tables)
    tail = (v, _kernel_transform(tuple(kernel), w.dtype),
            _operand(w).reshape(groups * co * ci, -1), u, m, _bias(bias, y), y, gemm)
    parallel.map_parts(lambda t: compiled.forward_share(*head, t, *tail),
                       range(len(plan.shares)))


def weight(x: np.ndarray, dy: np.ndarray, kernel, pads, plan: Plan, v: np.ndarray,
           d: np.ndarray, products: np.ndarray) -> np.ndarray:
    """All blocks of a weight gradient, run as ``forward`` runs them: per block x's tiles into v
    (``transform_input``), dy's blocks into d (``transform_gradient``), and per position
    ``d[g, p] @ v[g, p]ᵀ`` over the used slots, summed over the blocks (gemm's β = 1) into
    products[t] (G, α₀α₁, Co, Ci) and taken back by each share (``weight_from_products``, one
    gemm per group: no pass on the calling thread after the shares), the shares' results
    summed: (G, Co, Ci, r₀, r₁)."""
    groups, positions, co = d.shape[1:4]
    ci = v.shape[3]
    gemm = _gemm(x.dtype, co, ci, plan, (groups, positions))
    if gemm is None:
        total = None
        for t, share in enumerate(plan.shares):      # (one share: no gemm, no threads)
            for parts, used in share:
                transform_input(x, kernel, pads, parts, v[t])
                transform_gradient(dy, kernel, parts, d[t])
                block = parallel.matmul(d[t, ..., :used], v[t, ..., :used].transpose(0, 1, 3, 2))
                total = block if total is None else np.add(total, block, out=total)
        if total is None:                   # no phase meets an output
            total = np.zeros((groups, positions, co, ci), dtype=x.dtype)
        return weight_from_products(total, kernel)
    both = _kernel_transform(tuple(kernel), x.dtype)
    dw = np.empty((len(plan.shares), groups, both.shape[1], co * ci), dtype=x.dtype)
    compiled = codegen._kernels(tuple(kernel), x.dtype.name)
    (lo0, _), (lo1, _) = pads
    head = (_operand(x), _operand(dy), lo0, lo1, *plan.dilation,
            *plan.tables)
    parallel.map_parts(lambda t: compiled.weight_share(*head, t, v, d, products, both, dw, gemm),
                       range(len(plan.shares)))
    filled = [dw[t] for t, share in enumerate(plan.shares) if share]
    for other in filled[1:]:
        filled[0] += other
    total = filled[0] if filled else np.zeros(dw.shape[1:], dtype=x.dtype)
    return total.reshape(groups, *kernel, co, ci).transpose(0, 3, 4, 1, 2)


def _gemm(dtype, m: int, k: int, plan: Plan, batch):
    """``blas.gemm`` for the plan's products (M×K)·(K×N), one per (group, position) — unless a
    single share's stack is one ``parallel.matmul`` would spread over the cores (products too
    small for BLAS to thread, outside a batch part): its steps then run from Python."""
    if getattr(_route, "python", False) or (
            len(plan.shares) == 1 and parallel.splits(m, k, plan.longest, batch)):
        return None
    return blas.gemm(dtype)


_route = threading.local()      # .python: this thread runs the steps from Python


@contextmanager
def python_steps() -> Iterator[None]:
    """In this thread, run ``forward``'s and ``weight``'s steps from Python (the route without
    gemm): ``warmup`` compiles that route's signatures too."""
    old, _route.python = getattr(_route, "python", False), True
    try:
        yield
    finally:
        _route.python = old


def _share_tables(shares) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The compiled shares' view of the blocks: every block's part rows (``_part_table``) one
    after another, where each block's rows start, each block's used slots, and where each
    share's blocks start."""
    blocks = [block for share in shares for block in share]
    tables = [_part_table(parts) for parts, _ in blocks] or [np.zeros((0, 8), np.int64)]
    starts = np.cumsum([0] + [len(t) for t in tables])
    used = np.array([used for _, used in blocks] or [0], dtype=np.int64)
    bounds = np.cumsum([0] + [len(share) for share in shares])
    return np.concatenate(tables), starts, used, bounds


def _bias(bias: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """The bias (G, C) as the output transform takes it: contiguous, zeros when there is none."""
    return _zeros(y.shape[1:3], y.dtype) if bias is None else _operand(bias)


def _operand(a: np.ndarray) -> np.ndarray:
    """``a`` as the compiled code takes every array: C-contiguous and writeable (numba types a
    read-only or strided array differently, and a new type is a new compile of up to a minute,
    on the caller's thread — ``warmup.py`` builds the writeable C-contiguous ones ahead)."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, order="C")


@functools.cache
def _zeros(shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """A zero bias (no allocation per block; writeable, or the compiled output transform
    would be compiled a second time for a read-only bias)."""
    return np.zeros(shape, dtype)


def _part_table(parts) -> np.ndarray:
    """The kernels' part arguments, one row per part: phase (a₀, a₁), positions per image row,
    first image and count, first tile row and count, first slot. (One call for all the parts of a
    block: each return from compiled code takes the GIL again, which costs most when the
    batch parts run on several threads.)"""
    return np.array([(*phase, seg, images.start, images.stop - images.start,
                      rows.start, rows.stop - rows.start, first)
                     for phase, _, seg, images, rows, first in parts], dtype=np.int64)
