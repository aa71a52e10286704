"""``Tensor``: an ndarray (``.array``) that remembers the op that made it, with torch's rules for
versions, views and in-place updates.

Each differentiable op computes its output and, right beside it, a closure that maps the
upstream gradient to one gradient per parent (``make``). The closures are written with Tensor
ops, so running them with the graph switched on (``create_graph=True``) records the backward
pass too: gradients of gradients need no extra code.

>>> x, y, z = (Tensor(np.array(v), requires_grad=True) for v in (-2.0, 5.0, -4.0))
>>> f = (x + y) * z
>>> f.backward()
>>> f.item(), x.grad.item(), y.grad.item(), z.grad.item()
(-12.0, -4.0, -4.0, 3.0)

Versions: every tensor counts its in-place modifications (``_version``, shared with its views),
and each node records its parents' versions, so a backward through a value that was modified
afterwards is torch's RuntimeError, never a wrong gradient.

The operators and most methods (``x + y``, ``x.sum()``, ``x[0]`` …) are defined in
``convgrad.methods``, one module per kind, and set on ``Tensor`` in one step, in a fixed order,
by ``convgrad.methods.attach_all()`` (run once, when ``convgrad`` is imported).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..device import CPU
from ..semantics import get_default_dtype
from .grad_mode import is_grad_enabled
from .trace import report_op
from .trace import state as _tracing


class Size(tuple):
    """torch.Size: the shape as a tuple of ints, with ``numel()``."""

    def numel(self) -> int:
        return math.prod(self)

    def __getitem__(self, i):
        got = tuple.__getitem__(self, i)
        return Size(got) if isinstance(i, slice) else got

    def __repr__(self) -> str:
        return f"convgrad.Size({list(self)})"


class Tensor:
    """An ndarray (``.array``) with an optional gradient (``.grad``) and the node that made it.

    ``Tensor(ndarray)`` wraps the array (its dtype kept); ``Tensor(2, 3)`` is a zero tensor of
    that shape and ``Tensor([1, 2])`` a default-dtype tensor, as torch's legacy constructor.
    """

    __array_priority__ = 1000          # ndarray ⊕ Tensor dispatches to Tensor
    grad = None
    _parents: tuple = ()
    _backward: Callable | None = None
    _op = ""
    _versions: tuple = ()              # the parents' versions when this node was made
    _out_version = None                # (own version counter, version) when the backward reads
                                       # the output: an in-place update of it is then refused
    _base = None                       # the tensor whose memory this view shares
    _view_fn = None                    # base → this view (replayed after an in-place update)
    _hooks = None
    _retains_grad = False

    def __init__(self, *data, requires_grad: bool = False):
        self.array = _legacy_array(data)
        self._vc = [0]
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def wrap(cls, array: np.ndarray) -> Tensor:
        """The fast constructor for an op's output: ``array`` as it is, no graph."""
        t = object.__new__(Tensor)
        t.array, t._vc, t._requires_grad = array, [0], False
        return t

    # -- facts
    shape = property(lambda self: Size(self.array.shape))
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    device = property(lambda self: CPU)
    is_cuda = property(lambda self: False)
    is_leaf = property(lambda self: self._backward is None)
    itemsize = property(lambda self: self.array.itemsize)
    nbytes = property(lambda self: self.array.nbytes)
    _version = property(lambda self: self._vc[0])

    def size(self, dim: int | None = None):
        """The shape (a ``Size``), or the length of dim ``dim``."""
        if dim is None:
            return self.shape
        from ..semantics import normalize_dim  # noqa: PLC0415
        return self.array.shape[normalize_dim(dim, self.ndim, "size")] if self.ndim else 1

    def dim(self) -> int:
        return self.array.ndim

    ndimension = dim

    def numel(self) -> int:
        return self.array.size

    nelement = numel

    def element_size(self) -> int:
        return self.array.itemsize

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return self.array.flags.c_contiguous

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and self.array.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(got dtype {self.array.dtype})")
        if not value and self._backward is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside the graph (changes to it are not tracked)."""
        return Tensor.wrap(self.array)

    @data.setter
    def data(self, value) -> None:
        self.array = value.array if isinstance(value, Tensor) else np.asarray(value)

    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf): ``grad_fn.name()`` names the op."""
        from .engine import Node  # noqa: PLC0415
        return None if self._backward is None else Node(self)

    # -- conversions to Python and NumPy
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The ndarray itself (shared memory); torch's error while it requires grad."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self.array

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted "
                               f"to Scalar")
        return self.array.item()

    def tolist(self):
        return self.array.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            what = "more than one value" if self.array.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self.array.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "biu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.array.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        if self.array.ndim == 0:
            return format(self.array.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__ (a tensor "
                            f"of shape {tuple(self.shape)}; format t.item() or t.tolist())")
        return str(self)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.array)))

    def __dlpack__(self, *args, **kwargs):
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    def __repr__(self) -> str:
        from .printing import tensor_repr  # noqa: PLC0415
        return tensor_repr(self)

    __hash__ = object.__hash__

    # -- the graph
    def detach(self) -> Tensor:
        """The same memory and version counter, outside the graph."""
        out = Tensor.wrap(self.array)
        out._vc = self._vc
        return out

    def detach_(self) -> Tensor:
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._parents, self._backward, self._op, self._versions = (), None, "", ()
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf after ``backward`` (leaves always keep it)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._backward is not None:
            self._retains_grad = True

    retains_grad = property(lambda self: self._retains_grad)

    def register_hook(self, hook: Callable) -> _HookHandle:
        """``hook(grad)`` runs when this tensor's gradient is computed; a non-None return
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate ∂self/∂leaf into every leaf's ``.grad`` (``+=``, as in PyTorch)."""
        from .engine import backward  # noqa: PLC0415
        backward(self, gradient, retain_graph, create_graph, inputs)

    # -- internal: adopting a new value's graph after an in-place update
    def _adopt(self, new: Tensor) -> None:
        self._requires_grad = new._requires_grad
        self._parents, self._backward, self._op = new._parents, new._backward, new._op
        self._versions, self._out_version = new._versions, new._out_version

    def _alias(self) -> Tensor:
        """A new tensor object standing for this one's current value and graph."""
        t = object.__new__(Tensor)
        t.__dict__.update(self.__dict__)
        t._vc = [0]
        t._hooks, t._retains_grad = None, False
        return t


class _HookHandle:
    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _legacy_array(data: tuple) -> np.ndarray:
    if len(data) == 1:
        (value,) = data
        if isinstance(value, (np.ndarray, np.generic)):
            return np.asarray(value)
        if isinstance(value, Tensor):
            return value.array
        if isinstance(value, (list, tuple, float, int)) and not isinstance(value, Size):
            return np.array(value, dtype=get_default_dtype())
    if all(isinstance(n, int) and not isinstance(n, bool) for n in data) or (
            len(data) == 1 and isinstance(data[0], Size)):
        shape = data[0] if len(data) == 1 and isinstance(data[0], Size) else data
        if any(n < 0 for n in shape):
            raise RuntimeError(f"Tensor: negative dimension in shape {tuple(shape)}")
        return np.zeros(shape if data else (0,), dtype=get_default_dtype())
    raise TypeError(f"Tensor: expected an ndarray, a sequence of numbers or a shape, got "
                    f"{', '.join(type(d).__name__ for d in data)}")


def make(data: np.ndarray, parents, backward, op: str, *, view: Callable | None = None,
         saves_output: bool = False) -> Tensor:
    """The output of an op: records parents, their versions and ``backward`` only when some
    parent needs a grad.

    ``view``: for ops whose output shares the first parent's memory (reshape, indexing …), the
    op itself as ``base → view``; the output then shares the parent's version counter and can
    be updated in place. An output that shares a parent's memory without ``view`` is copied
    (so an in-place update of it cannot change the parent behind the graph's back).
    ``saves_output``: the backward reads the output, so modifying it in place is refused.
    """
    if type(data) is not np.ndarray:
        data = np.asarray(data)                       # NumPy reductions return scalars
    elif data.base is not None:
        first = parents[0].array if parents else None
        if view is not None and first is not None and np.may_share_memory(data, first):
            return _view(data, parents, backward, op, view)
        if any(np.may_share_memory(data, p.array) for p in parents):
            data = data.copy()
    out = Tensor.wrap(data)
    if is_grad_enabled() and any(p._requires_grad for p in parents):
        out._requires_grad = True
        out._parents, out._backward, out._op = tuple(parents), backward, op
        out._versions = tuple(p._vc[0] for p in parents)
        if saves_output:
            out._out_version = (out._vc, 0)
    if _tracing[0]:
        report_op(out, parents, op)
    return out


def _view(data, parents, backward, op, replay) -> Tensor:
    parent = parents[0]
    out = Tensor.wrap(data)
    out._vc = parent._vc
    if parent._base is None:
        out._base, out._view_fn = parent, replay
    else:
        chain = parent._view_fn
        out._base, out._view_fn = parent._base, lambda b: replay(chain(b))
    if is_grad_enabled() and any(p._requires_grad for p in parents):
        out._requires_grad = True
        out._parents, out._backward, out._op = tuple(parents), backward, op
        out._versions = tuple(p._vc[0] for p in parents)
    if _tracing[0]:
        report_op(out, parents, op)
    return out


def astype(a: Tensor, dtype) -> Tensor:
    """``a`` cast to ``dtype``; the gradient is cast back to a's dtype."""
    dtype = np.dtype(dtype)
    if a.array.dtype == dtype:
        return a
    return make(a.array.astype(dtype), (a,), lambda g: (astype(g, a.array.dtype),), "to")
