"""Batch parts: how one convolution call is cut along its batch — to keep each part's padded
copy within the workspace cap, or to run the parts at once, one per core."""

from __future__ import annotations

import math

import numpy as np

from ..engine import tuning
from ..engine.settings import settings
from . import parallel
from .correlate import get_workspace_limit
from .geometry import ConvGeometry, padded_image_bytes


class _Parts(list):
    """Batch slices; ``concurrent``: one per core, to run at once."""
    concurrent = False


def _batch_parts(geo: ConvGeometry, dtype, threads_itself=lambda: False) -> _Parts:
    """Batch slices whose padded copy (and the temporaries of the same order of size that a
    contraction makes) fit in a quarter of the workspace cap, run one after another. For
    usual sizes that is one slice, which is cut into one part per core instead when the
    call is worth running on several (``_concurrent``) — unless the correlation spreads its
    work over the cores itself (``threads_itself()``, asked only then: Winograd). One image
    whose padded copy alone breaks the cap is one part (``geometry.check_memory`` has made
    sure it fits the machine)."""
    per_image = max(1, padded_image_bytes(geo, np.dtype(dtype).itemsize))
    step = max(1, get_workspace_limit() // (4 * per_image))
    concurrent = step >= geo.batch and _concurrent(geo) and not threads_itself()
    if concurrent:
        step = -(-geo.batch // parallel.THREADS)
    parts = _Parts(slice(i, min(i + step, geo.batch)) for i in range(0, geo.batch, step))
    parts.concurrent = concurrent and len(parts) > 1
    return parts


def _concurrent(geo: ConvGeometry) -> bool:
    """Split the batch over the cores (one-core BLAS each): several images, enough work per
    call for the threads to pay, not depthwise (the compiled kernels use every core), not
    pointwise (one plain matmul, which BLAS threads well) and not a large kernel (FFTs,
    threaded by scipy)."""
    macs = (geo.batch * geo.out_channels * geo.in_channels // geo.groups
            * math.prod(geo.kernel) * math.prod(geo.out_size))
    return (parallel.THREADS > 1 and geo.batch > 1 and macs >= tuning.current().concurrent_macs
            and geo.in_channels // geo.groups > 1 and math.prod(geo.kernel) > 1
            and max(geo.kernel) <= 5
            and parallel.blas_controller() is not None)


def _map_parts(fn, parts: _Parts) -> list:
    """``fn`` over the batch parts, at once on several cores when ``parts.concurrent`` — each
    part within its share of the workspace cap (the workers run in this thread's settings)."""
    with settings(sharing=len(parts) if parts.concurrent else 1):
        return parallel.map_parts(fn, parts, concurrent=parts.concurrent)
