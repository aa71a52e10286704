"""convgrad.ops.blas: NumPy's gemm as a function compiled code can call, against np.matmul."""

import ctypes
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from helpers import Case, assert_close, import_optional, torch_conv_and_grads

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


@pytest.mark.parametrize("blas_calls", [True, False])
@pytest.mark.parametrize("case, by_gemm", [
    (Case(size=(5, 6), kernel=(1, 1), cin=7, cout=6, batch=3), True),          # pointwise
    (Case(size=(4, 4), kernel=(1, 1), cin=4, cout=6, batch=5, groups=2), True),
    (Case(size=(6, 5), kernel=(1, 1), cin=2, cout=3, batch=4, stride=2), True),  # rows copied
    (Case(size=(9,), kernel=(1,), cin=3, cout=4, batch=2, stride=2), False),   # a strided view
], ids=str)
def test_single_position_weight_gradient_by_gemm_or_numpy(case, by_gemm, blas_calls,
                                                          monkeypatch):
    """The weight gradient of a 1×1 layer — one position of the ``window`` method — summed by
    gemm (β = 1) reading both operands in place where their last axis is contiguous (a 2-d
    strided window is copied into rows first; a 1-d one stays a strided view), by NumPy
    products otherwise or without gemm; torch's numbers either way, in both dtypes."""
    import_optional("threadpoolctl")
    from convgrad import ops
    from convgrad.engine.algorithms import window

    summed = []
    original = window.gemm_sum
    monkeypatch.setattr(window, "gemm_sum", lambda *a: summed.append(original(*a)) or summed[-1])
    for dtype in ("float64", "float32"):
        c = replace(case, dtype=dtype)
        x, w, b = c.arrays()
        _, dy, _, dw = torch_conv_and_grads(c, x, w, b)
        with ops.settings(method="window", blas_calls=blas_calls):
            got = ops.conv_grad_weight(x, dy, w.shape, **c.opts)
        assert_close(got, dw, dtype, f"{c} ∂w")
    assert summed == [blas_calls and by_gemm] * 2
