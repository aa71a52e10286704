"""Tensor facts about memory (``stride``, ``storage_offset``, ``get_device``, ``is_cpu``), the
legacy ``new``, and the shape changes that act on the tensor itself (``unsqueeze_``,
``squeeze_``, ``t_``, ``transpose_``, ``swapaxes_``, ``swapdims_``), torch's way: the tensor
object takes the new shape (a view of the same memory), its version bumps, and in a graph it
takes the view op's node (a leaf that requires grad is refused, as for any in-place op).

>>> x = Tensor(np.zeros((2, 3)))
>>> x.stride(), x[1, 1:].storage_offset(), x.unsqueeze_(0).shape
((3, 1), 4, convgrad.Size([1, 2, 3]))
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, is_grad_enabled, no_grad
from ..semantics import normalize_dim
from . import shape as _shape


def stride(self: Tensor, dim: int | None = None):
    """The step in elements between neighbours along each dim (a tuple), or along ``dim``:
    a contiguous (2, 3) has strides (3, 1), its transpose (1, 3)."""
    steps = tuple(s // self.array.itemsize for s in self.array.strides)
    if dim is None:
        return steps
    return steps[normalize_dim(dim, self.ndim, "stride")] if self.ndim else 1


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def storage_offset(self: Tensor) -> int:
    """Elements from the start of the base tensor's memory to this view's first element (0
    for a tensor that is not a view; the base's own offset within a NumPy array it wraps is
    not counted)."""
    if self._base is None or self.array.size == 0:
        return 0
    return (_address(self.array) - _address(self._base.array)) // self.array.itemsize


def get_device(self: Tensor) -> int:
    """-1: the tensor is on the CPU (torch's answer for CPU tensors)."""
    return -1


def new(self: Tensor, *args) -> Tensor:
    """Legacy constructor with self's dtype: ``new()`` an empty (0,) tensor, ``new(2, 3)`` or
    ``new(Size)`` zeros of that shape, ``new(data)`` (a list or tuple) the data cast to self's
    dtype, ``new(tensor)`` that tensor's memory (its dtype must equal self's)."""
    from ..autograd import Size  # noqa: PLC0415
    dtype = self.dtype
    if not args:
        return Tensor.wrap(np.zeros((0,), dtype))
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != dtype:
            raise TypeError(f"new(): expected a tensor of dtype {dtype} (self's), got "
                            f"{args[0].dtype}")
        return args[0].detach()
    if len(args) == 1 and isinstance(args[0], Size):
        return Tensor.wrap(np.zeros(tuple(args[0]), dtype))
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
        return Tensor.wrap(np.array(args[0]).astype(dtype))
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in args):
        if any(n < 0 for n in args):
            raise RuntimeError(f"new(): Trying to create tensor with negative dimension "
                               f"{min(args)}: {list(args)}")
        return Tensor.wrap(np.zeros(args, dtype))
    raise TypeError(f"new(): expected sizes, a Size, data or a Tensor, got "
                    f"{', '.join(type(a).__name__ for a in args)}")


# ----------------------------------------------------------------------------- shape in place

def _reshape_self(t: Tensor, fn, op: str) -> Tensor:
    """t takes the shape of the view ``fn(t)`` in place: same memory, version bumped, and in a
    graph t's node becomes the view op's (on a snapshot of t's old node)."""
    recording = is_grad_enabled() and t._requires_grad
    if recording and t._backward is None:
        raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                           f"in-place operation.")
    if recording:
        new = fn(t._alias())
        t.array = new.array
        t._adopt(new)
    else:
        with no_grad():
            t.array = fn(Tensor.wrap(t.array)).array
    if t._base is not None:
        chain = t._view_fn
        t._view_fn = lambda b: fn(chain(b))
    t._vc[0] += 1
    return t


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """In-place ``unsqueeze``: a size-1 dim inserted at ``dim``."""
    normalize_dim(dim, self.ndim + 1, "unsqueeze_")
    return _reshape_self(self, lambda b: _shape.unsqueeze(b, dim), "unsqueeze_")


def squeeze_(self: Tensor, dim=None) -> Tensor:
    """In-place ``squeeze``: size-1 dims (all, or those among ``dim``) removed."""
    _shape.squeeze(Tensor.wrap(self.array), dim)              # torch's errors, up front
    return _reshape_self(self, lambda b: _shape.squeeze(b, dim), "squeeze_")


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``transpose``: dims ``dim0`` and ``dim1`` exchanged."""
    _shape.swapaxes(Tensor.wrap(self.array), dim0, dim1)
    return _reshape_self(self, lambda b: _shape.swapaxes(b, dim0, dim1), "transpose_")


def t_(self: Tensor) -> Tensor:
    """In-place ``t``: a matrix transposed (≤1-d unchanged; more dims is torch's error)."""
    if self.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is "
                           f"{self.ndim}D")
    return _reshape_self(self, _shape.t, "t_")


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.stride, Tensor.storage_offset, Tensor.get_device, Tensor.new = (
        stride, storage_offset, get_device, new)
    Tensor.is_cpu = property(lambda self: True)
    Tensor.unsqueeze_, Tensor.squeeze_, Tensor.t_ = unsqueeze_, squeeze_, t_
    Tensor.transpose_ = Tensor.swapaxes_ = Tensor.swapdims_ = transpose_
