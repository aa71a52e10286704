"""Joining and splitting: cat/stack (and h/v/d-stack), the pieces of split/chunk/unbind/
tensor_split, and the copies of repeat/tile, with torch's rules.

cat's inputs are promoted to one dtype (torch's type promotion) and its backward hands each
input its slice of the gradient; a legacy empty 1-d tensor of shape (0,) is skipped (torch's
rule) but still takes part in the promotion. The pieces of split/chunk/unbind are views of the
input (basic indexing), so writing into a piece changes the input, as in torch.

>>> import numpy as np
>>> a, b = Tensor(np.zeros((2, 3))), Tensor(np.ones((1, 3)))
>>> cat([a, b]).shape, stack([a, a], 1).shape, [p.shape[0] for p in chunk(Tensor(np.ones(5)), 2)]
(convgrad.Size([3, 3]), convgrad.Size([2, 2, 3]), [3, 2])
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..autograd import Tensor, astype, make
from ..autograd.trace import traced
from ..semantics import normalize_dim, result_dtype
from . import reduction as _reduction
from . import shape as _shape

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "chunk",
           "split", "unbind", "tensor_split", "tile", "repeat_interleave"]


def _tensors(tensors, op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): expected a Tensor at position {i}, got "
                            f"{type(x).__name__}")
    return list(tensors)


def _along(d: int, index) -> tuple:
    return (slice(None),) * d + (index,)


# -- joining

@traced("cat")
def _cat(ts: list[Tensor], dim: int, op: str) -> Tensor:
    for i, x in enumerate(ts):
        if x.ndim == 0:
            raise RuntimeError(f"{op}: zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    dtype = result_dtype(*ts)
    ts = [astype(x, dtype) for x in ts]
    used = [i for i, x in enumerate(ts) if x.array.shape != (0,)]
    if not used:
        normalize_dim(dim, 1, op)
        return make(np.zeros((0,), dtype), ts, lambda g: tuple(g for _ in ts), op)
    ref = ts[used[0]].array.shape
    d = normalize_dim(dim, len(ref), op)
    for i in used:
        shape = ts[i].array.shape
        if len(shape) != len(ref):
            raise RuntimeError(f"{op}: Tensors must have same number of dimensions: got "
                               f"{len(ref)} and {len(shape)}")
        for k, (n, m) in enumerate(zip(ref, shape)):
            if k != d and n != m:
                raise RuntimeError(f"{op}: Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {n} but got size {m} for tensor number {i} "
                                   f"in the list.")
    ends = np.cumsum([ts[i].array.shape[d] for i in used]).tolist()
    where = {i: slice(end - ts[i].array.shape[d], end) for i, end in zip(used, ends)}

    def backward(g):
        return tuple(g[_along(d, where[i])] if i in where else
                     Tensor.wrap(np.zeros((0,), g.dtype)) for i in range(len(ts)))
    return make(np.concatenate([ts[i].array for i in used], axis=d), ts, backward, op)


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """The tensors joined along an existing dim ``dim`` (sizes must agree elsewhere):
    cat([(2, 3), (1, 3)]) → (3, 3). Mixed dtypes promote (float32 with int64 is float32)."""
    if out is not None:
        raise TypeError("cat(): out= is not supported; use the returned tensor")
    ts = _tensors(tensors, "cat")
    if not ts:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    return _cat(ts, dim, "cat")


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Equal-shaped tensors joined along a new dim ``dim`` ∈ [−n−1, n]:
    stack([(2, 3), (2, 3)], 1) → (2, 2, 3)."""
    if out is not None:
        raise TypeError("stack(): out= is not supported; use the returned tensor")
    ts = _tensors(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = ts[0].shape
    for i, x in enumerate(ts):
        if x.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(x.shape)} at entry {i}")
    d = normalize_dim(dim, len(shape) + 1, "stack")
    return _cat([_shape.unsqueeze(x, d) for x in ts], d, "stack")


def _at_least(x: Tensor, n: int) -> Tensor:
    """x with dims added as torch.atleast_{1,2,3}d: () → (1,)…, (k,) → (1, k) / (1, k, 1),
    (m, k) → (m, k, 1)."""
    if x.ndim >= n:
        return x
    if x.ndim == 0:
        return _shape.reshape(x, (1,) * n)
    if n == 2 or x.ndim == 2:
        return _shape.unsqueeze(x, 0 if n == 2 else -1)
    return _shape.reshape(x, (1, x.shape[0], 1))


def _stacked(tensors, op: str, n: int) -> list[Tensor]:
    ts = _tensors(tensors, op)
    if not ts:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return [_at_least(x, n) for x in ts]


def hstack(tensors) -> Tensor:
    """Joined column-wise: 1-d tensors end to end, others along dim 1."""
    ts = _stacked(tensors, "hstack", 1)
    return _cat(ts, 0 if ts[0].ndim == 1 else 1, "hstack")


def vstack(tensors) -> Tensor:
    """Joined row-wise (along dim 0), 1-d tensors as rows: vstack([(3,), (3,)]) → (2, 3)."""
    return _cat(_stacked(tensors, "vstack", 2), 0, "vstack")


def dstack(tensors) -> Tensor:
    """Joined depth-wise (along dim 2), each made ≥3-d first: dstack([(2, 3)] * 2) → (2, 3, 2)."""
    return _cat(_stacked(tensors, "dstack", 3), 2, "dstack")


# -- splitting (the pieces are views)

def _pieces(a: Tensor, d: int, sizes: list[int]) -> tuple[Tensor, ...]:
    ends = np.cumsum(sizes).tolist() if sizes else []
    return tuple(a[_along(d, slice(end - n, end))] for n, end in zip(sizes, ends))


def _split_dim(a: Tensor, dim: int, op: str) -> int:
    if a.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")
    return normalize_dim(dim, a.ndim, op)


def split(tensor: Tensor, split_size_or_sections=None, dim: int = 0, *,
          split_size=None) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last one smaller), or of the listed sizes
    (which must sum to the dim's size): a (5,) split(2) → (2,), (2,), (1,)."""
    s = split_size if split_size_or_sections is None else split_size_or_sections
    if s is None:
        raise TypeError("split() missing 1 required positional argument: "
                        "'split_size_or_sections'")
    d = _split_dim(tensor, dim, "split")
    n = tensor.array.shape[d]
    if isinstance(s, (tuple, list)):
        sizes = [operator.index(k) for k in s]
        if any(k < 0 for k in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        return _pieces(tensor, d, sizes)
    s = operator.index(s)
    if s < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
    if s == 0 and n:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else []
    return _pieces(tensor, d, sizes or [0])


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of ⌈n / chunks⌉ along ``dim`` (the last smaller; possibly
    fewer pieces): a (5,) chunk(4) → (2,), (2,), (1,)."""
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _split_dim(input, dim, "chunk")
    n = input.array.shape[d]
    if n == 0:
        return _pieces(input, d, [0] * chunks)
    return split(input, math.ceil(n / chunks), d)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """``sections`` pieces as equal as possible (the first n % sections one longer), or the
    pieces between the given indices (Python slicing: x[:i0], x[i0:i1], …, x[ik:])."""
    d = normalize_dim(dim, input.ndim, "tensor_split") if input.ndim else None
    if d is None:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    s = indices_or_sections
    if isinstance(s, Tensor):
        if s.dtype.kind not in "iu" or s.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional integer tensor, but got a "
                               f"{s.ndim}-d {s.dtype} tensor")
        s = s.array.tolist()
    n = input.array.shape[d]
    if isinstance(s, (tuple, list)):
        bounds = [0, *(operator.index(i) for i in s), None]
        return tuple(input[_along(d, slice(lo, hi))] for lo, hi in zip(bounds, bounds[1:]))
    s = operator.index(s)
    if s <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {s}")
    return _pieces(input, d, [n // s + 1] * (n % s) + [n // s] * (s - n % s))


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, that dim removed: a (3, 4) unbind(1) → four (3,) views."""
    if input.ndim == 0:
        raise IndexError(f"unbind: Dimension specified as {dim} but tensor has no dimensions")
    d = normalize_dim(dim, input.ndim, "unbind")
    return tuple(input[_along(d, i)] for i in range(input.array.shape[d]))


# -- copies of the whole tensor

def repeat(input: Tensor, *sizes) -> Tensor:
    """The tensor tiled ``sizes[i]`` times along dim i (extra leading sizes add dims):
    (2, 3).repeat(2, 1, 2) → (2, 2, 6). The backward sums the copies."""
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    reps = _shape._sizes(sizes, "repeat")
    if len(reps) < input.ndim:
        raise RuntimeError(f"repeat: Number of dimensions of repeat dims ({len(reps)}) can not "
                           f"be smaller than number of dimensions of tensor ({input.ndim})")
    x = _shape.reshape(input, (1,) * (len(reps) - input.ndim) + tuple(input.shape))
    out_shape = [r * n for r, n in zip(reps, x.shape)]
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: Trying to create tensor with negative dimension "
                           f"{min(out_shape)}: {out_shape}")
    pairs = tuple(v for r, n in zip(reps, x.shape) for v in (r, n))
    axes = tuple(range(0, len(pairs), 2))

    def backward(g):
        return (_reduction.sum_(_shape.reshape(g, pairs), axes) if axes else g,)
    return make(np.tile(x.array, reps), (x,), backward, "repeat")


def tile(input: Tensor, dims) -> Tensor:
    """repeat with ``dims`` padded by leading 1s to the tensor's rank: (2, 3).tile((2,)) →
    (2, 6)."""
    reps = _shape._sizes((dims,), "tile")
    return repeat(input, (1,) * (input.ndim - len(reps)) + reps)


def repeat_interleave(input, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place, torch's
    ``repeat_interleave``: [1, 2] with repeats 2 → [1, 1, 2, 2]; ``repeats`` an int or one count
    per slice; no ``dim``: the flattened input. ``repeat_interleave(counts)`` alone gives the
    indices ``[0]*counts[0] + [1]*counts[1] + …``. The gradient sums the copies back."""
    from .gather import index_select  # noqa: PLC0415  (gather imports this module's users)
    if repeats is None:                                      # repeat_interleave(counts)
        counts = _counts(input, None, "repeat_interleave")
        return Tensor.wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    if not isinstance(input, Tensor):
        raise TypeError(f"repeat_interleave(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if dim is None:
        input, dim = _shape.reshape(input, -1), 0
    d = normalize_dim(dim, input.ndim, "repeat_interleave")
    counts = _counts(repeats, input.shape[d] if input.ndim else 1, "repeat_interleave")
    index = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"sum of repeats {index.size}")
    return index_select(input, d, Tensor.wrap(index))


def _counts(repeats, length: int | None, op: str) -> np.ndarray:
    """``repeats`` as a non-negative int64 count per slice (an int is broadcast)."""
    r = np.asarray(repeats.array if isinstance(repeats, Tensor) else repeats)
    if r.dtype.kind not in "iu" or r.ndim > 1:
        raise RuntimeError(f"{op}: repeats must be an int or a 0-dim or 1-dim integer tensor, "
                           f"got {r.dtype} of shape {list(r.shape)}")
    if (r < 0).any():
        raise RuntimeError(f"{op}: repeats can not be negative")
    if length is None:
        return r.reshape(-1).astype(np.int64)
    if r.ndim == 1 and r.size not in (1, length):
        raise RuntimeError(f"{op}: repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {r.size} and input.size({length})")
    return np.broadcast_to(r.reshape(-1), (length,)).astype(np.int64)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.repeat_interleave = repeat_interleave
    Tensor.chunk, Tensor.split, Tensor.unbind = chunk, split, unbind
    Tensor.tensor_split, Tensor.repeat, Tensor.tile = tensor_split, repeat, tile
