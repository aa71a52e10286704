r"""Winograd's minimal filtering F(m, r) for the ``winograd`` method of the correlation.

One axis: m outputs of an r-tap correlation from a tile of α = m + r − 1 inputs d with α
multiplies instead of m·r (Toom–Cook on the points 0, ±1, ±2, ±½, ∞ — the first α − 1 of
them and ∞; Lavin & Gray 2016)::

    y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)]          Aᵀ (m×α), G (α×r), Bᵀ (α×α)

Two axes nest: Y = A₀ᵀ·[(G₀·g·G₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·A₁, and the sum over input channels moves
inside the brackets — per transformed position (e, f) one matmul (Co × Ci) @ (Ci × tiles).
With α = 6 on each axis of a 3×3 kernel, F(4×4, 3×3) multiplies 36 times per 16 outputs
instead of 144; a 1-d 5-tap kernel takes F(4, 5), α = 8: 8 multiplies per 4 outputs, not 20.
The weight gradient is the transpose of the same bilinear map:
∂L/∂g = G₀ᵀ·[Σ_tiles (A₀·δ·A₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·G₁ for output-gradient blocks δ, the sum over
tiles and images one deep matmul per transformed position. The transforms are a few adds
per value, compiled (numba) from source written out for the matrices (loops over
coefficients would cost more than the arithmetic); a batch share's transforms and products
run in one compiled call that calls BLAS's gemm itself (``blas.py``, ``forward``). The
price is round-off: the points ±2, ±½ and the fractions in G grow float32 errors from ~3e-7
(direct) to ~1e-6–1e-5 of the output's scale; float64 stays at ~1e-14.

>>> b_t, g, a_t = matrices(3)
>>> a_t.shape, g.shape, b_t.shape
((4, 6), (6, 3), (6, 6))
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import math
import os
import shutil
import sys
import tempfile
import threading
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Iterator, Sequence

import numpy as np

from ..engine import tuning
from ..engine.settings import current, settings
from . import blas, jit, parallel

_POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))    # then ∞


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
    _kernels(tuple(kernel), x.dtype.name).transform_input(
        _operand(x), lo0, lo1, *parts[0][1], _part_table(parts), out)


def transform_output(m: np.ndarray, kernel, bias: np.ndarray | None, parts,
                     y: np.ndarray) -> None:
    """The inverse in ``transform_input``'s tile numbering: each tile's A₀ᵀ·m·A₁ (m₀×m₁
    outputs) plus the bias (G, C) into ``y[n, g, c, a₀ + d₀·i, a₁ + d₁·j]`` of
    y (N, G, C, H, W); m (G, α₀α₁, C, T)."""
    _kernels(tuple(kernel), y.dtype.name).transform_output(
        m, _bias(bias, y), *parts[0][1], _part_table(parts), y)


def transform_gradient(dy: np.ndarray, kernel, parts, out: np.ndarray) -> None:
    """The transpose of ``transform_output`` (for the weight gradient): ``out[g, e·α₁ + f, o, t]
    = (A₀·δ·A₁ᵀ)[e, f]`` for the m₀×m₁ blocks δ of the dilation phases of dy (N, G, Co, *M),
    ``dy[n, g, o, a₀ + d₀·i, a₁ + d₁·j]``, zero past its edge, in ``transform_input``'s tile
    numbering (zero at the positions of no output)."""
    _kernels(tuple(kernel), dy.dtype.name).transform_gradient(
        _operand(dy), 0, 0, *parts[0][1], _part_table(parts), out)


def threads(batch: int, dtype, macs: int) -> int:
    """How many threads a Winograd computation of ``batch`` images and ``macs`` multiply-adds
    (the direct sum's) runs on by itself (``forward``, ``weight``): one per core
    (``parallel.THREADS``) and image where that pays (``tuning.concurrent_macs``, as for the
    batch parts of the direct methods) and gemm can be called from compiled code, outside a
    batch part (whose threads are the cores already) — else 1."""
    if (parallel.THREADS == 1 or batch < 2 or macs < tuning.current().concurrent_macs
            or parallel.in_part() or blas.gemm(dtype) is None):
        return 1
    return min(parallel.THREADS, batch)


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
    compiled = _kernels(tuple(kernel), x.dtype.name)
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
    compiled = _kernels(tuple(kernel), x.dtype.name)
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


def weight_from_products(products: np.ndarray, kernel) -> np.ndarray:
    """(G, α₀α₁, Co, Ci) sums Σ_t Ŷ·V̂ᵀ → the weight gradient (G, Co, Ci, r₀, r₁) = G₀ᵀ·(·)·G₁
    per (o, c): the transpose of ``transform_kernel``."""
    groups, _, co, ci = products.shape
    both = _kernel_transform(tuple(kernel), products.dtype)
    dw = both.T @ products.reshape(groups, -1, co * ci)       # (G, r₀r₁, Co·Ci)
    return dw.reshape(groups, *kernel, co, ci).transpose(0, 3, 4, 1, 2)


@functools.cache
def _zeros(shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """A zero bias (no allocation per block; writeable, or the compiled output transform
    would be compiled a second time for a read-only bias)."""
    return np.zeros(shape, dtype)


@functools.cache
def _kernel_transform(kernel: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """G₀ ⊗ G₁ (α₀α₁ × r₀r₁) in ``dtype``, built once (the batch parts ask for it per call)."""
    both = np.kron(matrices(kernel[0])[1], matrices(kernel[1])[1]).astype(dtype)
    both.flags.writeable = False
    return both


def _part_table(parts) -> np.ndarray:
    """The kernels' part arguments, one row per part: phase (a₀, a₁), positions per image row,
    first image and count, first tile row and count, first slot. (One call for all the parts of a
    block: each return from compiled code takes the GIL again, which costs most when the
    batch parts run on several threads.)"""
    return np.array([(*phase, seg, images.start, images.stop - images.start,
                      rows.start, rows.stop - rows.start, first)
                     for phase, _, seg, images, rows, first in parts], dtype=np.int64)


_NAMES = ("transform_input", "transform_gradient", "transform_output", "forward_share",
          "weight_share")
_built: dict = {}
_building = threading.Lock()


def _kernels(kernel: tuple[int, int], dtype: str):
    """The compiled functions (``_NAMES``) for this kernel shape and dtype (``_build``),
    once per process — also when several batch parts ask at once."""
    key = (kernel, dtype)
    if key not in _built:
        with _building:
            if key not in _built:
                _built[key] = _build(kernel, dtype)
    return _built[key]


def _build(kernel: tuple[int, int], dtype: str):
    """The three transforms and the shares of blocks that call them and gemm
    (``_BLOCKS_SOURCE``), compiled (when first called) from generated source, as a namespace
    of ``_NAMES`` and ``folder``, where the module lies (None: in memory). Compiling them
    takes about a minute (3×3 float32: ~70 s on one core; the method rule waits for it in the
    background, ``warmup.py``), so the source is written as a module into a cache folder
    (``CONVGRAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/convgrad`` or ``~/.cache/convgrad``),
    where numba keeps the machine code for the next process — where that folder cannot be
    written, into a temporary one of this process (removed at exit), else in memory."""
    import numba  # noqa: PLC0415

    (b0, _, a0), (b1, _, a1) = (matrices(r) for r in kernel)
    steps = (a0.shape[0], a1.shape[0])
    header = ("import numpy as np\nfrom numba import njit\n\n"
              "compiled = njit(nogil=True, fastmath=True, cache=CACHE)\n"
              "u64 = np.uint64    # an index numba need not test for wrap-around\n\n\n")
    source = header + "\n\n".join([
        _gather_source("transform_input", (b0, b1), steps, dtype),
        _gather_source("transform_gradient", (a0.T, a1.T), steps, dtype),
        _output_source(kernel, dtype), _BLOCKS_SOURCE.format(dtype=dtype)])
    source = source.replace("\ndef ", "\n@compiled\ndef ")
    digest = hashlib.sha1(f"{source}{numba.__version__}".encode()).hexdigest()[:16]
    name = f"winograd_{kernel[0]}x{kernel[1]}_{dtype}_{digest}"
    cached = source.replace("cache=CACHE", "cache=True")
    for folder in (_cache_dir, _private_dir):
        try:
            module = _load(name, cached, folder())
            return SimpleNamespace(**{n: getattr(module, n) for n in _NAMES},
                                   folder=Path(module.__file__).parent, name=name)
        except OSError:
            continue
    module = SimpleNamespace()
    exec(compile(source.replace("cache=CACHE", "cache=False"), f"<{name}>", "exec"),
         vars(module))
    return SimpleNamespace(**{n: getattr(module, n) for n in _NAMES}, folder=None, name=name)


def _cache_dir() -> Path:
    root = os.environ.get("CONVGRAD_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convgrad"


@functools.cache
def _private_dir() -> Path:
    """A temporary folder of this process (where the cache folder cannot be written: the
    background build's process compiles into it), removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="convgrad-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _load(name: str, source: str, folder: Path) -> ModuleType:
    """The module ``name`` with this source from ``folder`` (written there first if it is not
    there yet, atomically: another process may be writing it too)."""
    path = folder / f"{name}.py"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{name}.{os.getpid()}.tmp"
        partial.write_text(source)
        os.replace(partial, path)
    spec = importlib.util.spec_from_file_location(f"_convgrad_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module        # numba's cache finds the module again by name
    spec.loader.exec_module(module)
    return module


def _combination(coefficients, names, dtype: str) -> str:
    """``Σ cᵢ·nameᵢ`` as source: zero terms left out, ±1 as a sign, constants in ``dtype``."""
    terms = []
    for c, name in zip(coefficients, names):
        if c:
            sign = "-" if c < 0 else "+"
            terms.append(f"{sign} {name}" if abs(c) == 1 else
                         f"{sign} np.{dtype}({float(abs(c))!r}) * {name}")
    text = " ".join(terms) or f"+ np.{dtype}(0)"
    return text[2:] if text.startswith("+ ") else text


# a block in one call: the transforms and per (group, position) one gemm (a ctypes function
# from ``blas.gemm``, an argument — a global would keep numba from caching the machine code);
# a share: its blocks, each with the part rows tables[starts[b]:starts[b + 1]]
_BLOCKS_SOURCE = """def forward_block(x, lo0, lo1, d0, d1, parts, v, u, m, bias, y, used, gemm):
    transform_input(x, lo0, lo1, d0, d1, parts, v)
    co, ci = u.shape[2], u.shape[3]
    for g in range(v.shape[0]):
        for p in range(v.shape[1]):
            gemm(101, 111, 111, co, used, ci, np.{dtype}(1), u[p, g].ctypes.data, ci,
                 v[g, p].ctypes.data, v.shape[3], np.{dtype}(0), m[g, p].ctypes.data, m.shape[3])
    transform_output(m, bias, d0, d1, parts, y)


def weight_block(x, dy, lo0, lo1, d0, d1, parts, v, d, products, used, beta, gemm):
    transform_input(x, lo0, lo1, d0, d1, parts, v)
    transform_gradient(dy, 0, 0, d0, d1, parts, d)
    co, ci = d.shape[2], v.shape[2]
    for g in range(v.shape[0]):
        for p in range(v.shape[1]):
            gemm(101, 111, 112, co, ci, used, np.{dtype}(1), d[g, p].ctypes.data, d.shape[3],
                 v[g, p].ctypes.data, v.shape[3], np.{dtype}(beta), products[g, p].ctypes.data,
                 ci)


def forward_share(x, lo0, lo1, d0, d1, tables, starts, used, shares, t, v, both, w, u, m, bias,
                  y, gemm):
    # this share's U = (G₀ ⊗ G₁)·wᵀ: (α₀α₁, G·Co·Ci), read as (α₀α₁, G, Co, Ci)
    gemm(101, 111, 112, both.shape[0], w.shape[0], w.shape[1], np.{dtype}(1), both.ctypes.data,
         w.shape[1], w.ctypes.data, w.shape[1], np.{dtype}(0), u[t].ctypes.data, w.shape[0])
    for b in range(shares[t], shares[t + 1]):
        forward_block(x, lo0, lo1, d0, d1, tables[starts[b]:starts[b + 1]], v[t], u[t], m[t],
                      bias, y, used[b], gemm)


def weight_share(x, dy, lo0, lo1, d0, d1, tables, starts, used, shares, t, v, d, products, both,
                 dw, gemm):
    for b in range(shares[t], shares[t + 1]):
        weight_block(x, dy, lo0, lo1, d0, d1, tables[starts[b]:starts[b + 1]], v[t], d[t],
                     products[t], used[b], 0.0 if b == shares[t] else 1.0, gemm)
    # dw[t, g] = (G₀ ⊗ G₁)ᵀ·products[t, g]: (r₀r₁, Co·Ci)
    cc = dw.shape[3]
    for g in range(dw.shape[1]):
        gemm(101, 112, 111, both.shape[1], cc, both.shape[0], np.{dtype}(1), both.ctypes.data,
             both.shape[1], products[t, g].ctypes.data, cc, np.{dtype}(0), dw[t, g].ctypes.data, cc)
"""


# the kernels loop over a block's parts (``_part_table``); the rest of their body is indented
# one level deeper by ``_in_part_loop``
_PART_LOOP = ("    for part in range(parts.shape[0]):",
              "        p0, p1, seg, n0, nb, i0, ni, first = (parts[part, 0], parts[part, 1], "
              "parts[part, 2], parts[part, 3], parts[part, 4], parts[part, 5], parts[part, 6], "
              "parts[part, 7])")


def _in_part_loop(src: list[str]) -> str:
    """The generated lines, those after the part loop's head indented into it."""
    head = src.index(_PART_LOOP[1]) + 1
    return "\n".join(src[:head] + ["    " + line for line in src[head:]]) + "\n"


def _gather_source(name: str, mats, steps, dtype: str) -> str:
    """Source of a tile transform ``M₀·d·M₁ᵀ`` for tiles d of ``M.shape[1]`` rows and columns
    that start ``steps`` apart — Bᵀ on the overlapping α-tiles of x, or A (α×m) on dy's
    m-blocks — every coefficient written out, as long loops that LLVM vectorises.

    Per channel and block: the rows of each tile row of every image are gathered side by
    side into a scratch (zero where the padding is, a dilation phase's columns made
    contiguous; flat unsigned indices — slicing each short row cost more than copying it);
    M₀ combines the rows along the whole scratch, its result stored split by column mod m₁
    (lane j of part r is column m₁·j + r), so that each of the α₀α₁ planes takes M₁ of the
    columns m₁·J … of every tile slot J from unit-stride lanes (measured 13–17 % faster
    than strided reads of the columns)."""
    (t0, t1), (m0, m1) = mats, steps
    alpha0, alpha1, span0, span1 = t0.shape[0], t1.shape[0], t0.shape[1], t1.shape[1]
    ind = " " * 4
    src = [
        f"def {name}(x, lo0, lo1, d0, d1, parts, out):",
        "    images, groups, channels, h0, h1 = x.shape",
        *_PART_LOOP,
        f"    count = (ni * nb * seg + {m1 - 1}) // {m1}     # tile slots of this part",
        f"    lanes = count + {-(-(span1 - m1) // m1)}        # the last slot reads past its image",
        f"    width = {m1} * lanes",
        f"    rows = np.zeros(({span0}, width), x.dtype)   # the padding columns stay zero",
        f"    t = np.empty(({alpha0}, {m1}, lanes), x.dtype)",
        "    flat, xf = rows.reshape(-1), x.reshape(-1)",
        "    q_first = max(0, -((p1 - lo1) // d1))        # scratch columns that read x",
        "    q_last = min(seg, (h1 - 1 - p1 + lo1) // d1 + 1) if h1 - 1 - p1 + lo1 >= 0 else 0",
        "    for g in range(groups):",
        "        for c in range(channels):",
        "            for ii in range(ni):",
        f"                for k in range({span0}):",
        f"                    src = p0 + d0 * ({m0} * (i0 + ii) + k) - lo0",
        "                    inside = 0 <= src < h0",
        "                    for n in range(nb):",
        "                        at = k * width + (ii * nb + n) * seg",
        "                        if inside:",
        "                            base = ((((n0 + n) * groups + g) * channels + c) * h0",
        "                                    + src) * h1 + p1 - lo1",
        "                            if d1 == 1:",
        "                                for q in range(q_first, q_last):",
        "                                    flat[u64(at + q)] = xf[u64(base + q)]",
        "                            else:",
        "                                for q in range(q_first, q_last):",
        "                                    flat[u64(at + q)] = xf[u64(base + d1 * q)]",
        "                        else:",
        "                            for q in range(q_first, q_last):",
        "                                flat[u64(at + q)] = 0",
    ]
    for e in range(alpha0):
        src += [f"{ind * 3}for j in range(lanes):"]
        src += [f"{ind * 4}t[{e}, {r}, j] = " + _combination(
            t0[e], [f"rows[{k}, {m1} * j + {r}]" for k in range(span0)], dtype)
            for r in range(m1)]
    for e in range(alpha0):
        for f in range(alpha1):
            names = [f"t[{e}, {k % m1}, j + {k // m1}]" for k in range(span1)]
            src += [f"{ind * 3}dst = out[g, {e * alpha1 + f}, c, first:]",
                    f"{ind * 3}for j in range(count):",
                    f"{ind * 4}dst[j] = " + _combination(t1[f], names, dtype)]
    return _in_part_loop(src)


def _output_source(kernel: tuple[int, int], dtype: str) -> str:
    """Source of the output transform: per channel and block, Aᵀ₀ then Aᵀ₁ along the tile
    slots, plus the bias, then each image's m₀ rows written into its phase of y."""
    (_, _, a0), (_, _, a1) = (matrices(r) for r in kernel)
    alpha0, alpha1, m0, m1 = a0.shape[1], a1.shape[1], a0.shape[0], a1.shape[0]
    ind = " " * 4
    src = [
        "def transform_output(m, bias, d0, d1, parts, y):",
        "    images, groups, channels, h0, h1 = y.shape",
        *_PART_LOOP,
        "    h = (h0 - p0 + d0 - 1) // d0                  # this phase's output rows, columns",
        "    w = (h1 - p1 + d1 - 1) // d1",
        f"    count = (ni * nb * seg + {m1 - 1}) // {m1}",
        f"    q = np.empty(({m0}, {alpha1}, count), m.dtype)",
        f"    o = np.empty(({m0}, {m1}, count), m.dtype)",
        "    for g in range(groups):",
        "        for c in range(channels):",
        "            bias_gc = bias[g, c]",
    ]
    for f in range(alpha1):
        src += [f"{ind * 3}s{e} = m[g, {e * alpha1 + f}, c, first:]" for e in range(alpha0)]
        for k in range(m0):
            src += [f"{ind * 3}dst = q[{k}, {f}]", f"{ind * 3}for j in range(count):",
                    f"{ind * 4}dst[j] = " + _combination(a0[k], [f"s{e}[j]" for e in
                                                                 range(alpha0)], dtype)]
    for k in range(m0):
        for l in range(m1):
            src += [f"{ind * 3}dst = o[{k}, {l}]", f"{ind * 3}for j in range(count):",
                    f"{ind * 4}dst[j] = bias_gc + ("
                    + _combination(a1[l], [f"q[{k}, {f}, j]" for f in range(alpha1)], dtype)
                    + ")"]
    src += [
        "            for ii in range(ni):",
        f"                for k in range({m0}):",
        f"                    row = {m0} * (i0 + ii) + k",
        "                    if row >= h:",
        "                        break",
        "                    for n in range(nb):",
        "                        line = y[n0 + n, g, c, p0 + d0 * row, p1::d1]",
        "                        at = (ii * nb + n) * seg",
        f"                        if at % {m1} == 0:       # whole tiles: lane by lane",
        f"                            t0 = at // {m1}",
    ]
    src += [f"{ind * 7}o{l} = o[k, {l}, t0:t0 + (w + {m1 - 1}) // {m1}]" for l in range(m1)]
    src += [f"{ind * 7}for j in range(w // {m1}):"]
    src += [f"{ind * 8}line[{m1} * j + {l}] = o{l}[j]" for l in range(m1)]
    src += [f"{ind * 7}for l in range(w % {m1}):",
            f"{ind * 8}line[w - w % {m1} + l] = o[k, l, t0 + w // {m1}]",
            f"{ind * 6}else:",
            f"{ind * 7}for j in range(w):",
            f"{ind * 8}line[j] = o[k, (at + j) % {m1}, (at + j) // {m1}]"]
    return _in_part_loop(src)
