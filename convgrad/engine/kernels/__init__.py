"""The compiled glue behind the algorithms: ``jit`` (numba kernels of the depthwise taps and
the stacked adds, loaded lazily) and ``blas`` (BLAS's gemm called directly through ctypes)."""
