"""torch's dtype names, as NumPy dtypes (so ``t.dtype == convgrad.float32 == np.float32``).

>>> float32 == np.float32, long == np.int64
(True, True)
"""

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)       # noqa: A001  (torch's names)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)             # noqa: A001
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)                    # noqa: A001

__all__ = ["float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short",
           "int32", "int", "int64", "long", "uint8", "bool"]
