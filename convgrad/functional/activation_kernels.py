r"""Compiled (numba) elementwise kernels for the activations of a training step: one pass over
memory, on every core, instead of NumPy's one single-threaded pass per operation.

    relu         y = x (x > 0 or NaN), else 0       ∂x = g where y ≠ 0, else 0
    leaky_relu   y = x (x > 0), else s·x            ∂x = g where r > 0, else s·g
    sigmoid      (NumPy's forward)                  ∂x = g·(1 − y)·y
    tanh         (NumPy's forward)                  ∂x = g·(1 − y²)

(r: the input, or — for a slope s ≥ 0, where y > 0 exactly when x > 0 — the output, so an
in-place leaky_relu needs no copy of its input.) The masks are torch's: ``threshold_backward``
passes the gradient at NaN, ``leaky_relu_backward`` takes s·g there. Arithmetic is in the
data's dtype, in torch's order. sigmoid and tanh keep NumPy's SIMD forward: numba here has
no vector ``exp``/``tanh`` (no SVML), and its scalar calls are ~20× slower than NumPy's.

Large arrays are cut into chunks that the calling thread and helpers share
(``norm_kernels.spread``: GIL-free kernels, a late helper cancelled, never numba's
``parallel=True``, see there). ``use(a)`` decides: float32/float64, C-contiguous, at least
``MIN_ELEMENTS`` values, numba available and ``CONVGRAD_JIT`` on; else ``activations`` runs
its NumPy path. ``min_elements`` scopes the threshold (tests: ``min_elements(0)``).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

from ..engine.tuning import current as tuning_now
from ..engine.tuning import tuned
from ..ops import jit
from .norm_kernels import chunk_count, spread

# From ~64 K values one fused pass beats NumPy's passes by more than a call's fixed cost
# (relu f32 fwd+bwd, NumPy path → kernels: 16 K values 30 → 27 µs, 64 K 72 → 54); the cores
# are shared from norm_kernels.SPREAD_ELEMENTS on. The 2-core project machine (load ~5).
MIN_ELEMENTS = 1 << 16      # the default of engine.tuning's activation_elements
def min_elements(n: int):
    """Use the kernels from ``n`` values on in this context (0: always, when available)
    (``engine.tuned(activation_elements=n)``)."""
    return tuned(activation_elements=int(n))


def use(a: np.ndarray) -> bool:
    """True when the kernels should run on the array ``a``."""
    return a.size >= max(tuning_now().activation_elements, 1) and \
        a.dtype in (np.float32, np.float64) and a.flags.c_contiguous and jit.available() and \
        _kernels() is not None


@functools.cache
def _kernels():
    """Compile-on-first-call kernels (see ``ops.jit``: numba loads lazily, no cache=True);
    each runs over the values [lo, hi) of flat arrays, without the GIL."""
    try:
        from numba import njit
    except Exception:  # noqa: BLE001  (a broken numba install must not break convgrad)
        return None

    @njit(nogil=True)
    def _relu(x, y, lo, hi):   # pragma: no cover (compiled)
        src, dst = x[lo:hi], y[lo:hi]
        for i in range(hi - lo):
            v = src[i]
            dst[i] = 0 if v <= 0 else v

    @njit(nogil=True)
    def _relu_grad(y, g, out, lo, hi):   # pragma: no cover (compiled)
        ys, gs, dst = y[lo:hi], g[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            dst[i] = 0 if ys[i] == 0 else gs[i]

    @njit(nogil=True)
    def _leaky(x, slope, y, lo, hi):   # pragma: no cover (compiled)
        src, dst = x[lo:hi], y[lo:hi]
        for i in range(hi - lo):
            v = src[i]
            dst[i] = v if v > 0 else v * slope

    @njit(nogil=True)
    def _leaky_grad(r, g, slope, out, lo, hi):   # pragma: no cover (compiled)
        rs, gs, dst = r[lo:hi], g[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            dst[i] = gs[i] if rs[i] > 0 else gs[i] * slope

    @njit(nogil=True)
    def _sigmoid_grad(y, g, one, out, lo, hi):   # pragma: no cover (compiled)
        ys, gs, dst = y[lo:hi], g[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            dst[i] = gs[i] * (one - ys[i]) * ys[i]

    @njit(nogil=True)
    def _tanh_grad(y, g, one, out, lo, hi):   # pragma: no cover (compiled)
        ys, gs, dst = y[lo:hi], g[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            dst[i] = gs[i] * (one - ys[i] * ys[i])

    return SimpleNamespace(relu=_relu, relu_grad=_relu_grad, leaky=_leaky,
                           leaky_grad=_leaky_grad, sigmoid_grad=_sigmoid_grad,
                           tanh_grad=_tanh_grad)


def _run(kernel, *arrays_and_scalars) -> None:
    """``kernel(*args, lo, hi)`` over the flat values, in chunks spread over the cores (the
    first argument's size sets the chunks)."""
    n = arrays_and_scalars[0].size
    count = chunk_count(n, max(1, n // 4096))
    spread(lambda i: kernel(*arrays_and_scalars, i * n // count, (i + 1) * n // count), count)


def _flat(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0) (NaN stays NaN) into ``out`` (a fresh array by default; may be x itself)."""
    out = np.empty_like(x) if out is None else out
    _run(_kernels().relu, x.reshape(-1), out.reshape(-1))
    return out


def relu_grad(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g where relu's output y ≠ 0 (x > 0 or NaN), else 0; a fresh array of y's shape."""
    out = np.empty_like(y)
    _run(_kernels().relu_grad, y.reshape(-1), _flat(g, y.dtype), out.reshape(-1))
    return out


def leaky(x: np.ndarray, slope: float, out: np.ndarray | None = None) -> np.ndarray:
    """x where x > 0, else slope·x (the slope rounded to x's dtype), into ``out``."""
    out = np.empty_like(x) if out is None else out
    _run(_kernels().leaky, x.reshape(-1), x.dtype.type(slope), out.reshape(-1))
    return out


def leaky_grad(r: np.ndarray, g: np.ndarray, slope: float) -> np.ndarray:
    """g where r > 0, else slope·g (r: leaky_relu's input, or its output for slope ≥ 0)."""
    out = np.empty_like(r)
    _run(_kernels().leaky_grad, r.reshape(-1), _flat(g, r.dtype), r.dtype.type(slope),
         out.reshape(-1))
    return out


def sigmoid_grad(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g·(1 − y)·y for sigmoid's output y; a fresh array of y's shape."""
    out = np.empty_like(y)
    _run(_kernels().sigmoid_grad, y.reshape(-1), _flat(g, y.dtype), y.dtype.type(1),
         out.reshape(-1))
    return out


def tanh_grad(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g·(1 − y²) for tanh's output y; a fresh array of y's shape."""
    out = np.empty_like(y)
    _run(_kernels().tanh_grad, y.reshape(-1), _flat(g, y.dtype), y.dtype.type(1),
         out.reshape(-1))
    return out
