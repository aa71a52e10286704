"""Counting and binning, with torch's return forms and errors: ``unique``,
``unique_consecutive``, ``bincount``, ``histc``, ``histogram``, ``searchsorted``, ``bucketize``,
``mode`` and ``msort`` (the differentiable statistics — quantile, cov, diff … — are in
``statistics.py``, listed here too).

The counting results are integer data, outside the graph (torch's ``unique`` output keeps a
``grad_fn`` whose backward is not implemented; here it simply has none). ``mode``'s value is a
pick, so its gradient goes to the index it came from, as ``max(dim)``.

>>> x = Tensor(np.array([3, 1, 3, 2]))
>>> unique(x, return_counts=True)[1].tolist(), bincount(x).tolist()
([1, 1, 2], [0, 1, 1, 2])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Tensor
from ..semantics import normalize_dim
from . import ordering as _ordering

__all__ = ["unique", "unique_consecutive", "bincount", "histc", "histogram", "searchsorted",
           "bucketize", "mode", "msort"]

_INT64 = np.dtype(np.int64)
histogram_type = namedtuple("histogram", ("hist", "bin_edges"))
mode_type = namedtuple("mode", ("values", "indices"))


def _arr(x) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


def _results(out: np.ndarray, inverse, counts, return_inverse: bool, return_counts: bool):
    """torch's return form: the values alone, or a tuple with the inverse and/or counts."""
    parts = [Tensor.wrap(out)]
    if return_inverse:
        parts.append(Tensor.wrap(np.asarray(inverse, _INT64)))
    if return_counts:
        parts.append(Tensor.wrap(np.asarray(counts, _INT64)))
    return parts[0] if len(parts) == 1 else tuple(parts)


# ----------------------------------------------------------------------------- unique

def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    """The distinct values in ascending order (``dim``: the distinct slices along ``dim``, in
    lexicographic order); ``return_inverse`` gives each element's (slice's) position in the
    output, ``return_counts`` each value's multiplicity. NaNs are all distinct, as torch;
    ``sorted=False`` still sorts (what torch does on CPU).

    >>> unique(Tensor(np.array([2, 1, 2])), return_inverse=True)[1].tolist()
    [1, 0, 1]
    """
    a = input.array
    if dim is None:
        out, inv, cnt = np.unique(a.reshape(-1), return_inverse=True, return_counts=True,
                                  equal_nan=False)
        return _results(out, inv.reshape(a.shape), cnt, return_inverse, return_counts)
    d = normalize_dim(dim, a.ndim, "unique")
    if a.ndim == 0:
        return _results(a.reshape(1), np.zeros((), _INT64), np.ones(1, _INT64), return_inverse,
                        return_counts)
    if a.shape[d] == 0 or a.size == 0:
        shape = list(a.shape)
        shape[d] = 0 if a.shape[d] == 0 else min(a.shape[d], 1)
        return _results(a[(slice(None),) * d + (slice(0, shape[d]),)],
                        np.zeros(a.shape[d], _INT64), np.full(shape[d], a.shape[d], _INT64),
                        return_inverse, return_counts)
    out, inv, cnt = np.unique(a, return_inverse=True, return_counts=True, axis=d)
    return _results(out, inv.reshape(-1), cnt, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Each run of equal consecutive values (slices along ``dim``) collapsed to one:
    [1, 1, 2, 1] → [1, 2, 1]; inverse and counts as ``unique``.

    >>> unique_consecutive(Tensor(np.array([1, 1, 2, 1])), return_counts=True)[1].tolist()
    [2, 1, 1]
    """
    a = input.array
    if dim is None:
        flat = a.reshape(-1)
        rows, shape, take = flat.reshape(-1, 1), a.shape, (lambda keep: flat[keep])
    else:
        d = normalize_dim(dim, a.ndim, "unique_consecutive")
        if a.ndim == 0:
            return _results(a.reshape(1), np.zeros((), _INT64), np.ones(1, _INT64),
                            return_inverse, return_counts)
        rows = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
        shape, take = (a.shape[d],), (lambda keep: np.take(a, np.flatnonzero(keep), axis=d))
    n = rows.shape[0]
    change = np.ones(n, bool)
    if n > 1:
        change[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
    starts = np.flatnonzero(change)
    inverse = (np.cumsum(change) - 1).reshape(shape)
    counts = np.diff(np.append(starts, n))
    return _results(take(change), inverse, counts, return_inverse, return_counts)


# ----------------------------------------------------------------------------- binning

def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """``out[v]`` = the number of times v occurs in the 1-d non-negative integer ``input``
    (Σ weights there, with ``weights``); length max(input) + 1, at least ``minlength``. Weights
    keep a float dtype (float32 stays float32), integer weights give float64.

    >>> bincount(Tensor(np.array([0, 2, 2]))).tolist()
    [1, 0, 2]
    """
    a = input.array
    if a.dtype.kind in "bf":
        name = "Bool" if a.dtype.kind == "b" else {4: "Float", 8: "Double"}.get(a.itemsize, "Half")
        raise NotImplementedError(f'"bincount_cpu" not implemented for \'{name}\'')
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return Tensor.wrap(np.bincount(a, minlength=minlength).astype(_INT64))
    w = _arr(weights)
    if w.ndim != 1 or w.shape[0] != a.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return Tensor.wrap(np.bincount(a, weights=w, minlength=minlength).astype(dtype))


def _float_input(a: np.ndarray, op: str) -> None:
    if a.dtype.kind != "f":
        name = {"b": "Bool", "i": "Long", "u": "Byte"}[a.dtype.kind]
        raise NotImplementedError(f'"{op}" not implemented for \'{name}\'')


def _counts(x: np.ndarray, edges: np.ndarray, weight) -> np.ndarray:
    """Σ weight per bin ``[e_i, e_{i+1})`` (the last bin closed); outside values and NaN skip."""
    bins = len(edges) - 1
    pos = np.searchsorted(edges, x, side="right") - 1
    pos[x == edges[-1]] = bins - 1
    ok = (pos >= 0) & (pos < bins) & ~np.isnan(x)
    w = None if weight is None else weight[ok]
    return np.bincount(pos[ok], weights=w, minlength=bins)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts in ``bins`` equal bins over [min, max] (min = max: the data's range, widened by
    ±1 if constant); values outside and NaN are ignored; float input only, same dtype out.

    >>> histc(Tensor(np.array([1.0, 2.0, 1.0])), bins=2, min=0, max=2).tolist()
    [0.0, 3.0]
    """
    a = input.array
    _float_input(a, "histogram_cpu")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.histc: max must be larger than min (got min {lo}, max {hi})")
    edges = np.linspace(lo, hi, bins + 1).astype(a.dtype)
    return Tensor.wrap(_counts(a.reshape(-1), edges, None).astype(a.dtype))


def histogram(input: Tensor, bins=100, *, range=None, weight=None,  # noqa: A002
              density: bool = False):
    """The named tuple ``(hist, bin_edges)``: ``bins`` equal bins over ``range`` (default the
    data's, ±0.5 if constant) or the given edges tensor; last bin closed; ``weight`` sums per
    bin; ``density`` divides by Σ·width (each bin's width).

    >>> histogram(Tensor(np.array([1.0, 2.0, 1.0])), bins=2).hist.tolist()
    [2.0, 1.0]
    """
    a = input.array
    _float_input(a, "histogram_cpu")
    x = a.reshape(-1)
    if isinstance(bins, Tensor):
        if bins.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but "
                               f"got {bins.ndim} dimensions in the bins tensor for dimension 0")
        if bins.dtype != a.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have "
                               f"the same dtype, but got input with dtype {a.dtype} and bins "
                               f"for dimension 0 with dtype {bins.dtype}")
        edges = bins.array
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                               f"dimension 0")
        if range is not None:
            lo, hi = (float(v) for v in range)
            if lo > hi:
                raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                                   f"{lo:g} max {hi:g} for dimension 0")
        else:
            lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1).astype(a.dtype)
    w = None
    if weight is not None:
        w = _arr(weight).reshape(-1)
        if w.shape != x.shape:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                               f"the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape {list(a.shape)} and weight "
                               f"with shape {list(_arr(weight).shape)}")
    hist = _counts(x, edges, w).astype(np.float64)
    if density:
        with np.errstate(invalid="ignore", divide="ignore"):
            hist = hist / (hist.sum() * np.diff(edges.astype(np.float64)))
    return histogram_type(Tensor.wrap(hist.astype(a.dtype)), Tensor.wrap(edges.copy()))


# ----------------------------------------------------------------------------- searching

def _side(right: bool, side: str | None) -> str:
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        return side
    return "right" if right else "left"


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter=None) -> Tensor:
    """Where each value of ``input`` would go in the (last dim of) ``sorted_sequence`` to keep
    it sorted: left (``s[i-1] < v ≤ s[i]``) or ``right``/``side='right'`` (``s[i-1] ≤ v <
    s[i]``). An N-d sequence searches row by row (its leading dims must equal input's);
    ``sorter`` holds the indices that sort an unsorted sequence. int64 (int32 with
    ``out_int32``). A batched search compares every pair (O(n·m) memory per row).

    >>> searchsorted(Tensor(np.array([1, 3, 5])), Tensor(np.array([3, 4]))).tolist()
    [1, 2]
    """
    if not isinstance(sorted_sequence, Tensor):
        raise TypeError(f"searchsorted(): argument 'sorted_sequence' must be Tensor, not "
                        f"{type(sorted_sequence).__name__}")
    how = _side(right, side)
    s, v = sorted_sequence.array, _arr(input)
    if s.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if s.ndim > 1 and (v.ndim != s.ndim or v.shape[:-1] != s.shape[:-1]):
        if v.ndim == 0:
            raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when "
                               f"boundaries tensor dimension is 1, but we got boundaries tensor "
                               f"dim({s.ndim}) and input value's dim(0) numel(1)")
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor {list(s.shape)} and "
                           f"input value tensor {list(v.shape)}")
    if sorter is not None:
        o = _arr(sorter)
        if o.shape != s.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(s.shape)}and got sorter "
                               f"tensor {list(o.shape)}")
        if o.dtype != _INT64:
            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got dtype {o.dtype}")
        if o.size and (o.min() < 0 or o.max() >= s.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        s = np.take_along_axis(s, o, -1)
    if s.ndim == 1:
        out = np.searchsorted(s, v, side=how)
    else:
        before = np.less_equal if how == "right" else np.less
        out = before(s[..., None, :], v[..., :, None]).sum(axis=-1)
    return Tensor.wrap(np.asarray(out, np.int32 if out_int32 else _INT64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value for the 1-d ascending ``boundaries``: i with
    ``b[i-1] < x ≤ b[i]`` (``right``: ``b[i-1] ≤ x < b[i]``), i.e. ``searchsorted``.

    >>> bucketize(Tensor(np.array([3, 6])), Tensor(np.array([1, 3, 5, 7]))).tolist()
    [1, 3]
    """
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ----------------------------------------------------------------------------- mode, msort

def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones, as
    torch) and the last index where it occurs, as ``(values, indices)``; the gradient goes to
    that index.

    >>> r = mode(Tensor(np.array([3.0, 1.0, 3.0, 1.0, 2.0]))); r.values.item(), r.indices.item()
    (1.0, 3)
    """
    a = input
    d = normalize_dim(dim, a.ndim, "mode")
    if a.ndim == 0:
        r = _ordering._scalar_pick("max", a)
        return mode_type(*r)
    _ordering._nonempty("mode", a, d)
    x = np.moveaxis(a.array, d, -1)
    n = x.shape[-1]
    srt = np.sort(x, axis=-1)
    pos = np.broadcast_to(np.arange(n), srt.shape)
    start = np.ones(srt.shape, bool)
    start[..., 1:] = srt[..., 1:] != srt[..., :-1]
    end = np.ones(srt.shape, bool)
    end[..., :-1] = start[..., 1:]
    first = np.maximum.accumulate(np.where(start, pos, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(end, pos, n), -1), axis=-1), -1)
    best = np.argmax(last - first, axis=-1)[..., None]          # first max: the smallest
    value = np.take_along_axis(srt, best, -1)
    hit = x == value
    idx = n - 1 - np.argmax(np.flip(hit, -1), axis=-1)[..., None]   # the last occurrence
    idx = np.moveaxis(idx, -1, d)
    values = _ordering._select(a, idx, d, "mode", keepdim)
    return mode_type(values, Tensor.wrap(idx if keepdim else idx.squeeze(d)))


def msort(input: Tensor) -> Tensor:
    """``sort(input, dim=0).values``: each column in ascending order."""
    return _ordering.sort(input, 0).values


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("unique", "unique_consecutive", "bincount", "histc", "histogram", "mode",
                 "msort"):
        setattr(Tensor, name, globals()[name])
    # torch has no Tensor.searchsorted / Tensor.bucketize methods: top-level only
