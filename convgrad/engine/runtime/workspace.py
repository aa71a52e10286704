"""What the algorithms share at run time: each thread's kept scratch buffers within the
workspace cap, the padded copy of x, im2col-style column matrices, and two small helpers
(``finite``: the guard of the data-dependent fallbacks; ``add_bias``).

The cap (``Settings.workspace_limit``, 256 MiB by default; ``set_workspace_limit`` changes the
process's default) bounds one call's column buffer; batch parts running at once on several
cores split it (``Settings.sharing``, ``workspace_share``).
"""

from __future__ import annotations

import math
import threading
from typing import Sequence

import numpy as np

from ...ops.windows import pad_or_crop
from ..settings import current, set_defaults, settings

_state = threading.local()            # each thread's kept column buffers
_generation = 0                       # bumped by set_workspace_limit


def set_workspace_limit(nbytes: int) -> int:
    """Cap (bytes) on the column buffer of one call; returns the previous cap.

    ``im2col`` tiles over the batch so each tile's buffer fits, and keeps one buffer of at most
    this size per thread for reuse (a fresh buffer costs page faults). Setting the cap drops
    the kept buffers.
    """
    global _generation
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1:
        raise ValueError(f"set_workspace_limit: nbytes must be a positive int, got {nbytes!r}")
    old = set_defaults(workspace_limit=nbytes).workspace_limit
    _generation += 1                      # every thread drops its kept buffers
    return old


def workspace_share() -> int:
    """This thread's share of the workspace cap: batch parts that run at once on several
    cores (``ops.parallel``) split it between them (``Settings.sharing``)."""
    now = current()
    return now.workspace_limit // now.sharing


def shared_workspace(parts: int):
    """In this context, budget for 1/``parts`` of the workspace cap (``parts`` run at once):
    ``settings(sharing=parts)``."""
    return settings(sharing=parts)


def get_workspace_limit() -> int:
    """The current cap (bytes) on one call's column buffer."""
    return current().workspace_limit


def pad(x: np.ndarray, pads) -> np.ndarray:
    """x padded (or cropped) by ``pads`` on its last ``len(pads)`` axes into the reused padding
    buffer, copied in x's own memory order (a transposed view stays a sequential copy)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = sorted(range(x.ndim - len(pads)), key=lambda a: -x.strides[a])
    order = (*lead, *range(x.ndim - len(pads), x.ndim))
    padded = pad_or_crop(x.transpose(order), pads, allocate=padding_buffer)
    return padded.transpose(np.argsort(order))


def column_matrix(part: np.ndarray, order: Sequence[int], matrix: Sequence[int], axis: int,
             extra: int) -> np.ndarray:
    """The column matrix: ``part.transpose(order)`` copied into a workspace of shape ``matrix``
    (whose ``axis`` is the contracted Ci·ΠK), with ``extra`` more entries of ones along that
    axis — the bias, contracted with a last weight column."""
    shape = list(matrix)
    shape[axis] += extra
    cols = workspace(part.dtype, shape)
    index = [slice(None)] * len(shape)
    index[axis] = slice(0, matrix[axis])
    target = cols[tuple(index)].view()
    target.shape = [part.shape[i] for i in order]     # a view by construction (else raises)
    np.copyto(target, part.transpose(order))
    if extra:
        index[axis] = slice(matrix[axis], None)
        cols[tuple(index)] = 1
    return cols


def workspace(dtype: np.dtype, shape: Sequence[int], slot: str = "columns") -> np.ndarray:
    """A scratch array of this shape from this thread's kept buffer for ``slot`` (grown as
    needed; callers keep requests within the workspace cap by tiling). Reuse saves the page
    faults of a fresh allocation; nothing returned to a caller may alias it."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    buffers = getattr(_state, "buffers", None)
    if buffers is None or getattr(_state, "generation", None) != _generation:
        buffers = _state.buffers = {}
        _state.generation = _generation
    buffer = buffers.get(slot)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = buffers[slot] = np.empty(nbytes, dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def padding_buffer(shape: Sequence[int], dtype) -> np.ndarray:
    """Scratch for a padded operand (``pad_or_crop(..., allocate=padding_buffer)``): used only
    until the correlation that reads it returns."""
    return workspace(dtype, shape, slot="padding")


def finite(a: np.ndarray) -> bool:
    """Whether every element of ``a`` is finite: its largest and smallest element are (NaN
    propagates through both; +inf is the largest, −inf the smallest) — two vectorised passes
    without temporaries, faster than a sum and never fooled by an overflow."""
    if not a.size:
        return True
    return bool(np.isfinite(np.maximum.reduce(a, axis=None))
                and np.isfinite(np.minimum.reduce(a, axis=None)))


def add_bias(y: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """y (B, G, Co, *M) += bias (G, Co), in place (every method returns a fresh array)."""
    if bias is not None:
        y += bias.reshape(bias.shape + (1,) * (y.ndim - 3))
    return y
