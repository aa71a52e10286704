r"""``rows``: im2col over the trailing axes, the leading kernel axis's taps stacked.

    cols over the trailing axes (Ci·ΠK' rows), P = w stacked over j₀ (k₀·C_out rows) @ cols,
    y[…, p₀, p'] = Σ_{j₀} P[…, (j₀, o), p₀ + j₀·d₀ − lo₀, p']

im2col and ``stacked`` combined: 1/k₀ of im2col's copy and a matmul k₀ times taller — for
16–64 channels the shape BLAS runs fastest (C_out = 32: 105 → 142 GFLOP/s on one core). In
3-d, when C_out is small, two leading axes are stacked (``row_split``). Stride 1 on the
stacked axes; best for C_in ≥ 16 from 1600 outputs per image and, with the adds compiled,
from 100 outputs when C_out ≥ C_in.
"""

from __future__ import annotations

import math
from typing import Sequence

from .. import tuning
from ..registry import column_count, mib
from ..runtime import workspace_share
from .stacked import Stacked


def row_split(co: int, kernel: Sequence[int], stride: Sequence[int]) -> int:
    """How many leading kernel axes ``rows`` stacks into its matmul: enough for C_out·Πk rows
    (a matmul that short runs BLAS at ~60 % of its speed on tall ones), at least one, never
    all, and only axes of stride 1."""
    split, limit = 1, len(kernel) - 1
    least = tuning.current().stack_rows
    while split < limit and stride[split] == 1 and co * math.prod(kernel[:split]) < least:
        split += 1
    return split


def row_columns_bytes(problem) -> int:
    """Bytes of one image's row columns (split 1 bounds any split): G·Ci·ΠK'·S₀·ΠM'·itemsize
    (the unpadded leading axis, the trailing axes' outputs)."""
    if problem.ndim < 2:
        return 0
    return (problem.groups * problem.in_channels * math.prod(problem.kernel[1:])
            * problem.x_shape[3] * math.prod(problem.out_size[1:]) * problem.itemsize)


class Rows(Stacked):
    name = "rows"
    summary = ("im2col over the trailing axes, the leading kernel axis's taps stacked into "
               "the matmul rows and added by a col2im")

    def applies(self, problem, settings):
        if problem.stride[0] != 1:
            return f"needs stride 1 on the first axis (stride {problem.stride})"
        if problem.ndim < 2:
            return "needs two or more spatial axes"
        need, share = row_columns_bytes(problem), workspace_share() // 2
        if need > share:
            return (f"one image's row columns ({mib(need)}) exceed half this thread's "
                    f"workspace share ({mib(share)})")
        return None

    def copied(self, problem):
        return column_count(problem) // problem.kernel[0]

    def split(self, problem) -> int:
        return row_split(problem.out_channels, problem.kernel, problem.stride)

    def stacked_axes(self, problem) -> int:
        return self.split(problem)
