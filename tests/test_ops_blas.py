"""convgrad.ops.blas: NumPy's gemm as a function compiled code can call, against np.matmul."""

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import import_optional

from convgrad.ops import blas, parallel


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_computes_a_strided_transposed_product_with_alpha_and_beta(dtype):
    """C ← α·A·Bᵀ + β·C on sub-blocks of larger row-major arrays (lda, ldb, ldc > widths)."""
    import_optional("threadpoolctl")
    gemm = blas.gemm(dtype)
    assert gemm is not None, "no gemm symbol in NumPy's BLAS"
    rng = np.random.default_rng(0)
    a_big, b_big = rng.standard_normal((5, 9)).astype(dtype), rng.standard_normal((6, 8)).astype(
        dtype)
    c_big = rng.standard_normal((5, 10)).astype(dtype)
    a, b = a_big[:, :7], b_big[:, :7]            # A (5×7), B (6×7): C (5×6) = A·Bᵀ
    want = c_big.copy()
    want[:, :6] = 0.5 * a @ b.T + 2.0 * c_big[:, :6]
    pointer = ctypes.c_void_p
    gemm(blas.ROW_MAJOR, blas.NO_TRANS, blas.TRANS, 5, 6, 7, 0.5, pointer(a_big.ctypes.data), 9,
         pointer(b_big.ctypes.data), 8, 2.0, pointer(c_big.ctypes.data), 10)
    np.testing.assert_allclose(c_big, want, rtol=1e-5 if dtype == "float32" else 1e-13)


def test_gemm_is_none_for_other_dtypes_without_threadpoolctl_and_when_switched_off(monkeypatch):
    assert blas.gemm("int64") is None and blas.gemm("float16") is None
    blas._gemm.cache_clear()
    monkeypatch.setattr(parallel, "blas_controller", lambda: None)
    try:
        assert blas.gemm("float64") is None
    finally:
        blas._gemm.cache_clear()
    code = "from convgrad.ops import blas; print(blas.gemm('float64') is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "CONVGRAD_BLAS_CALLS": "0"})
    assert out.stdout.strip() == "True"
