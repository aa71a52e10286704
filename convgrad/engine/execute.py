"""How one convolution call is executed: cut along its batch into parts — to keep each part's
padded copy within the workspace cap, or to run the parts at once, one per core — and the
parts' results gathered (written into slices of one result, or summed).

The rules of ``ops.conv`` say *what* each part computes (``compute(rows, out)``); this module
says how many parts there are and on which threads they run:

``batch_parts(geo, dtype, problem)``           the batch slices (and whether they run at once)
``into_parts(geo, dtype, problem, compute, shape)``  the parts' results as slices of one array
``summed_parts(geo, dtype, problem, compute)``       the parts' results summed (∂L/∂w)
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..ops.correlate import threads_itself
from ..ops.geometry import ConvGeometry, padded_image_bytes
from . import tuning
from .runtime import get_workspace_limit
from .runtime import pool as parallel
from .settings import settings


class _Parts(list):
    """Batch slices; ``concurrent``: one per core, to run at once."""
    concurrent = False


def batch_parts(geo: ConvGeometry, dtype, problem: Callable = lambda: None) -> _Parts:
    """Batch slices whose padded copy (and the temporaries of the same order of size that a
    contraction makes) fit in a quarter of the workspace cap, run one after another. For
    usual sizes that is one slice, which is cut into one part per core instead when the
    call is worth running on several (``concurrent``) — unless the correlation of
    ``problem()`` (asked only then; None: none to ask) spreads its work over the cores
    itself (Winograd). One image whose padded copy alone breaks the cap is one part
    (``geometry.check_memory`` has made sure it fits the machine)."""
    per_image = max(1, padded_image_bytes(geo, np.dtype(dtype).itemsize))
    step = max(1, get_workspace_limit() // (4 * per_image))
    run_at_once = step >= geo.batch and concurrent(geo)
    if run_at_once:
        whole = problem()
        run_at_once = whole is None or not threads_itself(whole)
    if run_at_once:
        step = -(-geo.batch // parallel.threads())
    parts = _Parts(slice(i, min(i + step, geo.batch)) for i in range(0, geo.batch, step))
    parts.concurrent = run_at_once and len(parts) > 1
    return parts


def concurrent(geo: ConvGeometry) -> bool:
    """Split the batch over the cores (one-core BLAS each): several images, enough work per
    call for the threads to pay, not depthwise (the compiled kernels use every core), not
    pointwise (one plain matmul, which BLAS threads well) and not a large kernel (FFTs,
    threaded by scipy)."""
    macs = (geo.batch * geo.out_channels * geo.in_channels // geo.groups
            * math.prod(geo.kernel) * math.prod(geo.out_size))
    return (parallel.threads() > 1 and geo.batch > 1 and macs >= tuning.current().concurrent_macs
            and geo.in_channels // geo.groups > 1 and math.prod(geo.kernel) > 1
            and max(geo.kernel) <= 5
            and parallel.blas_controller() is not None)


def map_parts(fn, parts: _Parts) -> list:
    """``fn`` over the batch parts, at once on several cores when ``parts.concurrent`` — each
    part within its share of the workspace cap (the workers run in this thread's settings)."""
    with settings(sharing=len(parts) if parts.concurrent else 1):
        return parallel.map_parts(fn, parts, concurrent=parts.concurrent)


def into_parts(geo: ConvGeometry, dtype, problem: Callable, compute: Callable,
               shape) -> np.ndarray:
    """``compute(rows, out)`` for each batch part ``rows``: with one part, ``compute(all,
    None)`` returns the result; else each part writes ``out`` — its C-contiguous slice of
    one array of ``shape``."""
    parts = batch_parts(geo, dtype, problem)
    if len(parts) == 1:
        return compute(parts[0], None)
    y = np.empty(shape, dtype=dtype)
    map_parts(lambda rows: compute(rows, y[rows]), parts)
    return y


def summed_parts(geo: ConvGeometry, dtype, problem: Callable, compute: Callable) -> np.ndarray:
    """The sum of ``compute(rows)`` over the batch parts (the batch is a contracted axis)."""
    sums = map_parts(compute, batch_parts(geo, dtype, problem))
    total = sums[0]
    for other in sums[1:]:
        total += other
    return total
