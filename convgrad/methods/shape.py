"""Shape ops: views and rearrangements of the same elements (view, reshape, permute, expand …).

Ops whose result shares the input's memory are views (``make(view=…)``), as in torch: they
share its version counter and can be updated in place (``v = x.view(6); v[0] = 5`` changes
``x``). Their backward only reshapes, permutes or sums the gradient. Copies: ``flip``, ``roll``,
``contiguous`` of a non-contiguous tensor. ``expand`` is a broadcast view: writing into one whose
elements overlap is torch's RuntimeError. ``broadcast_to`` stays a copy (the library's own
backward passes use it and hand its result out as gradients); ``expand`` is the view.

>>> x = Tensor(np.arange(6.0))
>>> x.view(2, -1).shape, x.view(2, 3).t().shape, x.unsqueeze(0).expand(2, 6).shape
(convgrad.Size([2, 3]), convgrad.Size([3, 2]), convgrad.Size([2, 6]))
"""

from __future__ import annotations

import operator

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..semantics import normalize_dim
from . import reduction as _reduction
from .sizes import _dim_list, _infer, _sizes

__all__ = ["flatten", "reshape", "permute", "swapaxes", "swapdims", "transpose", "broadcast_to",
           "squeeze", "unsqueeze", "t", "narrow", "flip", "fliplr", "flipud", "roll", "movedim",
           "moveaxis", "unflatten"]


# -- arguments (their parsing: sizes.py)

def _as_shape(a: Tensor, shape: tuple, op: str) -> Tensor:
    """A view of a with ``shape`` (same elements, same order); RuntimeError if the strides do
    not allow one."""
    try:
        data = np.reshape(a.array, shape, copy=False)
    except ValueError:
        raise RuntimeError(f"{op}: view size is not compatible with input tensor's size and "
                           f"stride (at least one dimension spans across two contiguous "
                           f"subspaces): shape {list(a.shape)} with strides "
                           f"{[s // max(a.array.itemsize, 1) for s in a.array.strides]} cannot "
                           f"be viewed as {list(shape)}. Use .reshape(...) instead.") from None
    return make(data if data is not a.array else data.view(), (a,),
                lambda g: (reshape(g, a.shape),), op, view=lambda b: _as_shape(b, shape, op))


# -- views that change the shape

def view(a: Tensor, *shape, dtype=None) -> Tensor:
    """The same memory with another shape (one ``-1`` is inferred): ``view(2, -1)`` of 6
    elements is (2, 3). A non-contiguous input that cannot be viewed is torch's RuntimeError
    (use ``reshape``). ``view(dtype)`` reinterprets the bytes (not differentiable)."""
    if dtype is None and len(shape) == 1 and not isinstance(
            shape[0], (int, np.integer, tuple, list, Tensor)):
        dtype = shape[0]
    if dtype is not None:
        return _view_dtype(a, dtype)
    return _as_shape(a, _infer(_sizes(shape, "view"), a.array.size, "view"), "view")


def _view_dtype(a: Tensor, dtype) -> Tensor:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"view(): expected a dtype or a shape, got {dtype!r}") from None
    arr, old = a.array, a.array.dtype
    if dtype.itemsize != old.itemsize:
        rule = f"to view {old} as {dtype} (different element sizes)"
        if arr.ndim == 0:
            raise RuntimeError(f"view: self.dim() cannot be 0 {rule}")
        if arr.strides[-1] != arr.itemsize and arr.shape[-1] != 1:
            raise RuntimeError(f"view: self.stride(-1) must be 1 {rule}, but got "
                               f"{arr.strides[-1] // arr.itemsize}")
        if (arr.shape[-1] * old.itemsize) % dtype.itemsize:
            raise RuntimeError(f"view: self.size(-1) must be divisible by "
                               f"{dtype.itemsize // old.itemsize} {rule}, but got "
                               f"{arr.shape[-1]}")
    out = Tensor.wrap(arr.view(dtype))
    out._vc = a._vc
    return out


def reshape(a: Tensor, *shape) -> Tensor:
    """``shape`` (one ``-1`` inferred): a view when the strides allow one, else a copy."""
    sizes = _infer(_sizes(shape, "reshape"), a.array.size, "reshape")
    return make(a.array.reshape(sizes), (a,), lambda g: (reshape(g, a.shape),), "reshape",
                view=lambda b: _as_shape(b, sizes, "reshape"))


def view_as(a: Tensor, other: Tensor) -> Tensor:
    return view(a, tuple(other.shape))


def reshape_as(a: Tensor, other: Tensor) -> Tensor:
    return reshape(a, tuple(other.shape))


def squeeze(a: Tensor, dim=None) -> Tensor:
    """Size-1 dims removed (all of them, or those among ``dim``: an int or a tuple; naming a
    dim whose size is not 1 is a no-op, as in torch): (1, 3, 1) → (3,)."""
    dims = range(a.ndim) if dim is None else _dim_list(dim, a.ndim, "squeeze")
    drop = {d for d in dims if a.ndim and a.array.shape[d] == 1}
    return _as_shape(a, tuple(n for i, n in enumerate(a.array.shape) if i not in drop),
                     "squeeze")


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    """A size-1 dim inserted at ``dim`` ∈ [−n−1, n]: (2, 3).unsqueeze(-1) → (2, 3, 1)."""
    d = normalize_dim(dim, a.ndim + 1, "unsqueeze")
    return _as_shape(a, a.array.shape[:d] + (1,) + a.array.shape[d:], "unsqueeze")


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim … end_dim`` merged into one (torch.flatten); a 0-d tensor becomes 1-d."""
    if a.ndim == 0:
        return reshape(a, 1)
    lo, hi = (normalize_dim(d, a.ndim, "flatten") for d in (start_dim, end_dim))
    if lo > hi:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim})")
    return reshape(a, *a.shape[:lo], -1, *a.shape[hi + 1:])


def unflatten(a: Tensor, dim: int, sizes) -> Tensor:
    """Dim ``dim`` split into ``sizes`` (one ``-1`` inferred): (2, 12).unflatten(1, (3, -1))
    → (2, 3, 4)."""
    if a.ndim == 0:
        raise RuntimeError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim(dim, a.ndim, "unflatten")
    sizes = _sizes((sizes,), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = a.array.shape[d]
    sizes = _infer(sizes, n, "unflatten", f"unflatten: Provided sizes {list(sizes)} don't "
                   f"multiply up to the size of dim {dim} ({n}) in the input tensor")
    return _as_shape(a, a.array.shape[:d] + sizes + a.array.shape[d + 1:], "unflatten")


# -- views that reorder the dims

@traced("permute")
def permute(a: Tensor, *axes) -> Tensor:
    """Dim i of the result is dim ``axes[i]`` of a (no axes: all of them reversed, as ``T``)."""
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    if not axes:
        axes = tuple(range(a.ndim))[::-1]
    elif len(axes) != a.ndim:
        raise RuntimeError(f"permute: needs one dim per axis of the input ({a.ndim}), got "
                           f"{tuple(axes)}")
    else:
        axes = tuple(normalize_dim(i, a.ndim, "permute") for i in axes)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"permute: duplicate dims are not allowed, got {axes}")
    inverse = tuple(int(i) for i in np.argsort(axes))
    return make(a.array.transpose(axes), (a,), lambda g: (permute(g, inverse),), "permute",
                view=lambda b: permute(b, axes))


def _identity(a: Tensor, op: str) -> Tensor:
    """A new view of all of a (what torch returns for t() of a 1-d tensor, …)."""
    return make(a.array.view(), (a,), lambda g: (g,), op, view=lambda b: _identity(b, op))


@traced("transpose")
def swapaxes(a: Tensor, dim0: int, dim1: int) -> Tensor:
    """Dims ``dim0`` and ``dim1`` exchanged (torch.transpose): a view; its own inverse, so the
    backward swaps them back."""
    i, j = normalize_dim(dim0, a.ndim, "transpose"), normalize_dim(dim1, a.ndim, "transpose")
    if a.ndim == 0:
        return _identity(a, "transpose")
    return make(a.array.swapaxes(i, j), (a,), lambda g: (swapaxes(g, i, j),), "transpose",
                view=lambda b: swapaxes(b, i, j))


transpose = swapdims = swapaxes


def t(a: Tensor) -> Tensor:
    """The transpose of a matrix; a ≤1-d tensor as it is; more dims is torch's error."""
    if a.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {a.ndim}D "
                           f"(use transpose(dim0, dim1) or mT)")
    return swapaxes(a, 0, 1) if a.ndim == 2 else _identity(a, "t")


def _matrix_t(a: Tensor) -> Tensor:
    if a.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {a.ndim}-D tensor.")
    return swapaxes(a, -2, -1)


def movedim(a: Tensor, source, destination) -> Tensor:
    """Dims ``source`` moved to positions ``destination`` (ints or equal-length sequences), the
    others kept in order: (2, 3, 4).movedim(0, -1) → (3, 4, 2)."""
    many = isinstance(source, (tuple, list))
    if many != isinstance(destination, (tuple, list)):
        raise TypeError("movedim(): source and destination must both be ints or both be "
                        f"sequences of ints, got {source!r} and {destination!r}")
    src, dst = (tuple(v) if many else (v,) for v in (source, destination))
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    s, d = (tuple(normalize_dim(i, a.ndim, "movedim") for i in v) for v in (src, dst))
    for name, given, got in (("source", src, s), ("destination", dst, d)):
        if len(set(got)) != len(got):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    if a.ndim == 0:
        return _identity(a, "movedim")
    order = [i for i in range(a.ndim) if i not in s]
    for to, frm in sorted(zip(d, s)):
        order.insert(to, frm)
    return permute(a, order)


moveaxis = movedim


# -- broadcasting

def _broadcast_view(arr: np.ndarray, shape: tuple, replay: bool = False) -> np.ndarray:
    """``np.broadcast_to``, writeable when no two elements of the result share memory (or when
    replayed by an in-place update, which only marks the region it covers)."""
    out = np.broadcast_to(arr, shape)
    overlap = any(s == 0 and n > 1 for n, s in zip(out.shape, out.strides))
    if arr.flags.writeable and (replay or not overlap):
        out = np.lib.stride_tricks.as_strided(arr, out.shape, out.strides, writeable=True)
    return out


def _expand(a: Tensor, shape: tuple, replay: bool = False) -> Tensor:
    return make(_broadcast_view(a.array, shape, replay), (a,),
                lambda g: (_reduction.unbroadcast(g, a.shape),), "expand",
                view=lambda b: _expand(b, shape, True))


def expand(a: Tensor, *sizes) -> Tensor:
    """A broadcast view: size-1 dims stretched, new leading dims added, ``-1`` keeps a size:
    (3, 1).expand(2, -1, 4) → (2, 3, 4). The gradient is summed back to a's shape."""
    sizes = _sizes(sizes, "expand")
    lead = len(sizes) - a.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({a.ndim}); sizes {list(sizes)}, tensor shape {list(a.shape)}")
    have = (None,) * lead + a.array.shape
    shape = []
    for i, (n, h) in enumerate(zip(sizes, have)):
        if h is None and n < 0:
            raise RuntimeError(f"expand: the expanded size of the tensor ({n}) isn't allowed "
                               f"in a leading, non-existing dimension {i}")
        if n < -1:
            raise RuntimeError(f"expand: invalid size {n} at dim {i} of {list(sizes)}")
        if h is not None and n not in (-1, h) and h != 1:
            raise RuntimeError(f"expand: The expanded size of the tensor ({n}) must match the "
                               f"existing size ({h}) at non-singleton dimension {i}.  Target "
                               f"sizes: {list(sizes)}.  Tensor sizes: {list(a.shape)}")
        shape.append(h if n == -1 else n)
    return _expand(a, tuple(shape))


def expand_as(a: Tensor, other: Tensor) -> Tensor:
    return expand(a, tuple(other.shape))


def broadcast_to(a: Tensor, shape) -> Tensor:
    """a broadcast to ``shape`` (NumPy's = torch's rule), as a copy (see the module doc)."""
    shape = tuple(shape)
    try:
        data = np.broadcast_to(a.array, shape)
    except ValueError:
        raise RuntimeError(f"broadcast_to: the shape {list(a.shape)} cannot be broadcast to "
                           f"{list(shape)}") from None
    return make(data.copy(), (a,), lambda g: (_reduction.unbroadcast(g, a.shape),),
                "broadcast_to")


# -- slices and rearrangements

def narrow(a: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start … start+length−1`` of dim ``dim`` (a view; negative start counts from
    the end): (5,).narrow(0, 1, 2) is a[1:3]."""
    if a.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, a.ndim, "narrow")
    n, start, length = a.array.shape[d], operator.index(start), operator.index(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], "
                         f"but got {start})")
    start = start + n if start < 0 else start
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}")
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({n}).")
    return a[(slice(None),) * d + (slice(start, start + length),)]


def contiguous(a: Tensor, memory_format=None) -> Tensor:
    """a itself when C-contiguous, else a contiguous copy (gradient passes through)."""
    if a.array.flags.c_contiguous:
        return a
    return make(np.ascontiguousarray(a.array), (a,), lambda g: (g,), "clone")


def flip(a: Tensor, dims) -> Tensor:
    """The order of the elements reversed along each of ``dims`` (a copy, as in torch)."""
    axes = _dim_list(dims, a.ndim, "flip")
    data = np.flip(a.array, axes) if a.ndim else a.array.copy()
    return make(data, (a,), lambda g: (flip(g, axes),), "flip")


def fliplr(a: Tensor) -> Tensor:
    if a.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d (got {a.ndim}-d).")
    return flip(a, 1)


def flipud(a: Tensor) -> Tensor:
    if a.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d (got 0-d).")
    return flip(a, 0)


def roll(a: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted cyclically by ``shifts[i]`` along ``dims[i]``; without dims over the
    flattened tensor: roll([1, 2, 3], 1) → [3, 1, 2]. The backward rolls back."""
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = () if dims is None else tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if not shifts:
        raise RuntimeError("roll: `shifts` required")
    shifts = tuple(operator.index(s) for s in shifts)
    if not dims and len(shifts) == 1:
        return reshape(roll(reshape(a, -1), shifts, 0), a.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if a.ndim == 0:
        raise IndexError(f"roll: Dimension specified as {dims[0]} but tensor has no dimensions")
    axes = tuple(normalize_dim(d, a.ndim, "roll") for d in dims)
    back = tuple(-s for s in shifts)
    return make(np.roll(a.array, shifts, axes), (a,), lambda g: (roll(g, back, axes),), "roll")


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("reshape", "permute", "swapaxes", "swapdims", "transpose", "flatten", "view",
                 "view_as", "reshape_as", "squeeze", "unsqueeze", "unflatten", "t", "movedim",
                 "moveaxis", "expand", "expand_as", "broadcast_to", "narrow", "contiguous",
                 "flip", "fliplr", "flipud", "roll"):
        setattr(Tensor, name, globals()[name])
    Tensor.T = property(lambda self: permute(self))
    Tensor.mT = property(_matrix_t)
