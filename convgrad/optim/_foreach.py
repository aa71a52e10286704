r"""How a ``step()`` updates each parameter: the compiled kernels or NumPy in place.

torch's ``foreach``/``fused`` arguments are accepted with torch's checks; here their values
select *our* implementation (the numbers are the same to round-off either way):

- ``foreach=False`` (and no ``fused=True``): the NumPy path for every parameter — torch's
  per-parameter loop, and the reference the kernels are tested against;
- otherwise (torch's default ``foreach=None``, ``foreach=True``, ``fused=True``): each
  parameter is updated by one compiled kernel (``_kernels``: one pass over θ, g and the state)
  where it applies — numba installed and on (``ops.jit.available()``, ``CONVGRAD_JIT``), the
  group at least ``tuning.optim_elements`` values (below, the kernels' one-time compile
  costs more than they save), θ and g float32/float64, one dtype, C-contiguous — and by the
  NumPy path where it does not.

The NumPy path writes with in-place ufuncs (``out=``) into the optimizer's scratch buffers
(kept across steps, not part of its state or ``state_dict()``), so a step allocates nothing
of a parameter's size. The state keeps torch's layout: one Tensor per name per parameter.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..engine.settings import current
from ..engine.tuning import current as tuning_now
from ..engine.tuning import tuned
from ..ops import jit
from ._kernels import kernels

# Tuning, measured with benchmarks/bench_optim.py on the 2-core project machine:
# - jit_min_elements: a group smaller than this runs NumPy: compiling an optimizer's kernels
#   costs ~0.3–0.6 s once per process, more than a small net's training saves (the 1.9 K
#   parameters of `convgrad train` save ~0.1 ms a step);
# - parallel_min: one tensor from this many values runs the parallel kernel: 1.18 M float32
#   Adam 695 → 357 µs on two threads (Adadelta right after a BLAS call, the machine shared:
#   1379 → 834 µs); at 36 K values two threads save 8 µs on a quiet machine but lose far more
#   when the other core is busy, so such tensors stay on one.
# - scratch_min: below this many values NumPy's own allocation (0.3 µs) beats looking up the
#   optimizer's buffers (1.2 µs); above, reusing them saves the page faults of fresh memory.
# (jit_min_elements is engine.tuning's optim_elements)
TUNING = {"parallel_min": 1 << 17, "scratch_min": 1 << 14}


def min_elements(n: int):
    """Use the kernels for groups from ``n`` values on in this context (0: always)
    (``engine.tuned(optim_elements=n)``)."""
    return tuned(optim_elements=int(n))


def wants_kernels(group: dict[str, Any]) -> bool:
    """The group's ``foreach``/``fused`` values allow the compiled kernels."""
    return bool(group.get("fused")) or group.get("foreach") is not False


def items(opt: Any, group: dict[str, Any]) -> list[tuple[Tensor, np.ndarray, Any]]:
    """(θ, g as an array of θ's dtype, the kernels that update θ or None for the NumPy path)
    for every parameter of ``group`` with a gradient. The kernels: ``parallel`` (numba's
    threads) from ``TUNING["parallel_min"]`` values when convgrad may use several threads,
    else ``serial``."""
    ps = opt._params_with_grad(group)
    grads = []
    for p in ps:
        g = p.grad.array
        grads.append(g if g.dtype == p.array.dtype else g.astype(p.array.dtype))
    compiled = bool(ps) and wants_kernels(group) and \
        sum(p.array.size for p in ps) >= max(tuning_now().optim_elements, 0) and \
        jit.available() and kernels() is not None     # (numba loads only for a group this big)
    if not compiled:
        return [(p, g, None) for p, g in zip(ps, grads)]
    k, many = kernels(), TUNING["parallel_min"] if current().threads > 1 else float("inf")
    return [(p, g, (k.parallel if p.array.size >= many else k.serial)
             if _fits(p.array, g) else None) for p, g in zip(ps, grads)]


def _fits(a: np.ndarray, g: np.ndarray) -> bool:
    return a.dtype in (np.float32, np.float64) and a.flags.c_contiguous and \
        g.flags.c_contiguous and g.dtype == a.dtype


_UNUSED: dict[np.dtype, np.ndarray] = {}


def unused(a: np.ndarray) -> np.ndarray:
    """An empty array of a's dtype for a state a kernel does not read (amsgrad off …): never
    one of the real arrays, whose aliasing would keep LLVM from vectorising (2.4× slower)."""
    empty = _UNUSED.get(a.dtype)
    return empty if empty is not None else _UNUSED.setdefault(a.dtype, np.empty(0, a.dtype))


def flat(a: np.ndarray) -> np.ndarray:
    """A C-contiguous array's 1-d view."""
    return a.reshape(-1)


def scalars(a: np.ndarray, *values: float) -> tuple[Any, ...]:
    """The values rounded to ``a``'s dtype (the kernels compute in it)."""
    return _rounded(a.dtype, values)


@functools.lru_cache(maxsize=256)
def _rounded(dtype: np.dtype, values: tuple[float, ...]) -> tuple[Any, ...]:
    return tuple(dtype.type(v) for v in values)   # (a group's values repeat every parameter)


def lerp_weights(w: float) -> tuple[float, float]:
    """(w, 1 − w): the weights of lerp's two branches, as the NumPy path computes them."""
    return w, 1 - w


def scratch(opt: Any, like: np.ndarray, k: int) -> list[np.ndarray]:
    """``k`` arrays shaped like ``like`` (its dtype): for a large ``like`` views of one buffer
    the optimizer keeps (grown as needed, never part of its state)."""
    n = like.size
    if n < TUNING["scratch_min"]:                 # small: a fresh array is cheaper
        return [np.empty(like.shape, like.dtype) for _ in range(k)]
    cache = opt.__dict__.setdefault("_scratch", {})
    buf = cache.get(like.dtype)
    if buf is None or buf.size < k * n:
        buf = cache[like.dtype] = np.empty(k * n, like.dtype)
    return [buf[i * n:(i + 1) * n].reshape(like.shape) for i in range(k)]


# -- the NumPy path's in-place pieces (torch's order of operations) -------------------------

def direction(g: np.ndarray, p: np.ndarray, wd: float, maximize: bool,
              out: np.ndarray) -> np.ndarray:
    """d = ±g (+ λθ): ``g`` itself when unchanged (never written), else written into ``out``."""
    if wd == 0:
        return np.negative(g, out=out) if maximize else g
    np.multiply(p, wd, out=out)
    return np.subtract(out, g, out=out) if maximize else np.add(g, out, out=out)


def lerp_(a: np.ndarray, d: np.ndarray, w: float, tmp: np.ndarray) -> None:
    """a ← a + w(d − a) for |w| < ½, else d − (d − a)(1 − w), in place (torch's lerp_)."""
    np.subtract(d, a, out=tmp)
    if abs(w) < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1 - w
        np.subtract(d, tmp, out=a)


def addcmul_(a: np.ndarray, t: np.ndarray, value: float, tmp: np.ndarray) -> None:
    """a ← a + (value·t)·t in place (torch's addcmul_ of t with itself)."""
    np.multiply(t, value, out=tmp)
    tmp *= t
    a += tmp


def addcdiv_(a: np.ndarray, t: np.ndarray, q: np.ndarray, value: float,
             tmp: np.ndarray) -> None:
    """a ← a + (value·t)/q in place (torch's addcdiv_); ``tmp`` may be ``t``, not ``q``."""
    np.multiply(t, value, out=tmp)
    np.divide(tmp, q, out=tmp)
    a += tmp
