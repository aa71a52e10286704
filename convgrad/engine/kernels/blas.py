"""BLAS's ``cblas_?gemm`` as a function compiled code can call — the library NumPy's matmul calls.

A Winograd block is two transforms and α₀α₁ small products (``winograd.py``). Run from Python,
each of those calls returns to the interpreter and must take the GIL again — when the batch
parts run on two threads, a wait for the other thread's Python each time. Compiled code that
calls gemm itself runs a whole block without the GIL. The function comes from the BLAS that
threadpoolctl found loaded (NumPy's: its thread limits then apply to these calls too), its
integer width from the symbol's name (``…64_``: ILP64) or the library's build, and is checked
once on a small product before it is trusted; without threadpoolctl, or where no symbol
matches, ``gemm`` is None and the blocks call ``np.matmul`` from Python.

>>> f = gemm("float64")
>>> f is None or callable(f)
True
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from ..runtime import pool as parallel
from ..settings import current

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112      # CBLAS_ORDER, CBLAS_TRANSPOSE


def gemm(dtype) -> ctypes._CFuncPtr | None:
    """``cblas_sgemm`` (float32) or ``cblas_dgemm`` (float64) of NumPy's BLAS, with its
    argument types set: (order, trans_a, trans_b, M, N, K, α, A, lda, B, ldb, β, C, ldc) —
    ``C ← α·op(A)·op(B) + β·C`` — or None (see the module's note; ``CONVGRAD_BLAS_CALLS=0``
    also gives None)."""
    return _gemm(np.dtype(dtype).name) if current().blas_calls else None


@functools.cache
def _gemm(dtype: str):
    if dtype not in ("float32", "float64"):
        return None
    controller = parallel.blas_controller()
    if controller is None:
        return None
    libraries = sorted((lib for lib in controller.lib_controllers if lib.user_api == "blas"),
                       key=lambda lib: "numpy" not in lib.filepath)   # NumPy's own first
    for lib in libraries:
        function = _bind(lib, "s" if dtype == "float32" else "d", dtype)
        if function is not None and _agrees(function, dtype):
            return function
    return None


def _bind(lib, letter: str, dtype: str):
    """The library's gemm symbol with argument types, or None when its name or integer width
    is not known for sure."""
    prefix = getattr(lib, "_symbol_prefix", "")
    suffix = getattr(lib, "_symbol_suffix", "")
    try:
        cdll = ctypes.CDLL(lib.filepath)
        function = getattr(cdll, f"{prefix}cblas_{letter}gemm{suffix}")
    except (OSError, AttributeError):
        return None
    if suffix.endswith("64_"):
        integer = ctypes.c_int64
    elif lib.internal_api == "openblas":
        get_config = getattr(cdll, f"{prefix}openblas_get_config{suffix}", None)
        if get_config is None:
            return None
        get_config.restype = ctypes.c_char_p
        integer = ctypes.c_int64 if b"USE64BITINT" in get_config() else ctypes.c_int32
    elif lib.internal_api == "mkl":
        integer = ctypes.c_int32            # mkl_rt's default (LP64) interface
    else:
        return None
    real = ctypes.c_float if dtype == "float32" else ctypes.c_double
    enum, pointer = ctypes.c_int, ctypes.c_void_p
    function.argtypes = [enum, enum, enum, integer, integer, integer, real, pointer, integer,
                         pointer, integer, real, pointer, integer]
    function.restype = None
    return function


def _agrees(function, dtype: str) -> bool:
    """One small product with every argument distinct (2×3 @ (4×3)ᵀ into a 2×4 block of a
    wider C, β = 1) against NumPy's."""
    a = np.arange(1, 7, dtype=dtype).reshape(2, 3)
    b = np.arange(2, 14, dtype=dtype).reshape(4, 3)
    c = np.ones((2, 5), dtype=dtype)
    pointer = ctypes.c_void_p
    function(ROW_MAJOR, NO_TRANS, TRANS, 2, 4, 3, 2.0, pointer(a.ctypes.data), 3,
             pointer(b.ctypes.data), 3, 1.0, pointer(c.ctypes.data), 5)
    expected = np.ones((2, 5), dtype=dtype)
    expected[:, :4] += 2 * a @ b.T
    return bool(np.array_equal(c, expected))
