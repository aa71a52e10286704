r"""The compiled Winograd transforms: numba source generated for the matrices, built once per
(kernel, dtype) and kept on disk.

Each transform is ``M₀·d·M₁ᵀ`` on tiles d — Bᵀ on x's α-tiles (V = Bᵀ d B), A on ∂L/∂y's
m-blocks (A δ Aᵀ), Aᵀ back to outputs (Y = Aᵀ M A) — a few adds per value, so every
coefficient is written out as source (loops over coefficients would cost more than the
arithmetic); ``_BLOCKS_SOURCE`` adds the block and share loops that call gemm between the
transforms (Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per position, one gemm each). The module goes into
the cache folder under a name keyed by kernel, dtype and a digest of source and numba version
(``winograd_{r₀}x{r₁}_{dtype}_{digest}.py``), where numba keeps its machine code.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace

from ..settings import current
from .matrices import matrices

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
    (``Settings.cache_dir``), where numba keeps the machine code for the next process —
    where that folder cannot be written, into a temporary one of this process (removed at
    exit), else in memory."""
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
    return Path(current().cache_dir)


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
