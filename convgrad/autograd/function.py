r"""torch.autograd.Function: an op whose forward and backward the user writes.

``y = F.apply(*args)`` runs ``F.forward`` with recording switched off and returns its outputs
attached to the graph; backward calls ``F.backward(ctx, *grad_outputs)`` once, with one gradient
per output (zeros for outputs that got none, unless ``ctx.set_materialize_grads(False)``), and
expects one gradient (or None) per argument of ``forward``. For a conv written by hand:

    y = x ⋆ w,   ∂L/∂x = conv_transpose(∂L/∂y, w),   ∂L/∂w = x ⋆ ∂L/∂y   (batch ↔ channel)

Because ``backward`` runs with the graph on under ``create_graph=True``, and the tensors saved
with ``ctx.save_for_backward`` keep their graph (a saved *output* is the graph-carrying output),
a backward written in differentiable ops gives correct second derivatives.

>>> import numpy as np
>>> class Cube(Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return g * 3 * x * x
>>> x = Tensor(np.array([2.0]), requires_grad=True)
>>> Cube.apply(x).sum().backward(); x.grad.tolist()
[12.0]

Design: all outputs hang off one hidden node whose "gradient" is the collection of the outputs'
gradients (``_OutputGrads``), so the user's backward runs once per backward pass, as in torch.
"""

from __future__ import annotations

import functools
import inspect
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from .grad_mode import is_grad_enabled, no_grad
from .tensor import Tensor, astype, make

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
          "backward through the graph a second time or if you need to access saved tensors after "
          "calling backward.")


class FunctionCtx:
    """The ``ctx`` of ``forward``/``setup_context``/``backward``: saved tensors, flags, and any
    attribute the user sets (``ctx.k = 3``)."""

    def __init__(self) -> None:
        self._to_save: tuple = ()
        self._saved: list | None = None     # (tensor, version) after apply, outputs swapped in
        self._non_differentiable: set[int] = set()
        self._materialize = True
        self._node_ref = None               # weakref to the hidden node, to detect freeing
        self.needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (Tensors or None) for ``backward`` as ``ctx.saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors; torch's errors once the graph was freed or one was modified."""
        node = self._node_ref() if self._node_ref is not None else None
        if self._node_ref is not None and (node is None or
                                           getattr(node._backward, "_ctx", None) is not self):
            self._saved = None
            raise RuntimeError(_FREED)
        if self._saved is None:
            return tuple(self._to_save)
        for t, version in self._saved:
            if t is not None and t._vc[0] != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a {t.array.dtype} tensor of shape "
                    f"{list(t.array.shape)}, saved by {node._op}, is at version {t._vc[0]}; "
                    f"expected version {version} instead.")
        return tuple(t for t, _ in self._saved)

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *outputs) -> None:
        """These outputs get no gradient (their ``requires_grad`` is False); ``backward`` still
        receives a (zero) gradient for each of them."""
        self._non_differentiable.update(id(o) for o in outputs)

    def mark_dirty(self, *tensors) -> None:
        raise NotImplementedError(
            "mark_dirty: in-place custom Functions are not supported by convgrad; compute a new "
            "tensor in forward (out of place) and return it instead of modifying an input")

    def save_for_forward(self, *tensors) -> None:
        raise NotImplementedError("save_for_forward: forward-mode AD is not supported by "
                                  "convgrad")

    def set_materialize_grads(self, value: bool) -> None:
        """False: ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self._materialize = bool(value)


class _OutputGrads:
    """The gradients of a Function's outputs, by output index; ``+`` merges (the engine sums
    the gradients a node receives)."""

    __slots__ = ("grads",)

    def __init__(self, grads: dict):
        self.grads = grads

    def __add__(self, other: _OutputGrads) -> _OutputGrads:
        merged = dict(self.grads)
        for i, g in other.grads.items():
            merged[i] = g if i not in merged else merged[i] + g
        return _OutputGrads(merged)


class _FunctionMeta(type):
    pass


class Function(metaclass=_FunctionMeta):
    """Subclass with ``@staticmethod forward(ctx, *args)`` (or ``forward(*args)`` plus
    ``@staticmethod setup_context(ctx, inputs, output)``) and ``@staticmethod backward(ctx,
    *grad_outputs)``; call ``YourFunction.apply(*args)``."""

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions "
                      f"are all static, so you should invoke them on the class itself.",
                      DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: https://pytorch.org/docs/stable/"
                           "autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` under no_grad and attach its tensor outputs to the graph."""
        new_style = cls.setup_context is not Function.setup_context
        inputs, extra = _bind(cls.forward, args, kwargs, new_style)
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in inputs)
        recording = is_grad_enabled() and any(ctx.needs_input_grad)
        with no_grad():
            if new_style:
                output = cls.forward(*inputs, **extra)
                cls.setup_context(ctx, tuple(inputs), output)
            else:
                output = cls.forward(ctx, *inputs, **extra)
        if not recording:
            return output
        return _attach(cls, ctx, inputs, output)


def _bind(forward: Callable, args: tuple, kwargs: dict, new_style: bool):
    """forward's arguments by position (keywords moved into place; defaults too in the
    setup_context form, as torch's ``bind_default_args``) and the leftover ``**kwargs``."""
    try:
        signature = inspect.signature(forward)
    except (TypeError, ValueError):
        return list(args), kwargs
    bound = signature.bind(*args, **kwargs) if new_style else signature.bind(None, *args,
                                                                               **kwargs)
    if new_style:
        bound.apply_defaults()
    positional = list(bound.args if new_style else bound.args[1:])
    return positional, dict(bound.kwargs)


def _attach(cls, ctx: FunctionCtx, inputs: list, output):
    name = f"{cls.__name__}Backward"
    user_backward = _user_backward(cls)
    single = not isinstance(output, tuple)
    outs = (output,) if single else output
    parents = [a for a in inputs if isinstance(a, Tensor)]
    saved_ids = {id(t) for t in ctx._to_save if t is not None}

    def run(packed: _OutputGrads):
        grads = []
        for i, o in enumerate(outs):
            g = packed.grads.get(i)
            if g is None and ctx._materialize and isinstance(o, Tensor):
                g = Tensor.wrap(np.zeros_like(o.array))
            grads.append(g)
        result = user_backward(ctx, *grads)
        return _check_grads(name, result, inputs)

    run._ctx = ctx
    hidden = make(np.empty(0), parents, run, name)
    ctx._node_ref = weakref.ref(hidden)
    swapped, final = {}, []
    for i, o in enumerate(outs):
        if (not isinstance(o, Tensor) or id(o) in ctx._non_differentiable
                or o.array.dtype.kind != "f"):
            final.append(o)
            continue
        y = _graph_output(o, inputs, hidden, i, name, id(o) in saved_ids)
        swapped[id(o)] = y
        final.append(y)
    ctx._saved = [(None, 0) if t is None else (swapped.get(id(t), t), swapped.get(id(t), t)._vc[0])
                  for t in ctx._to_save]
    return final[0] if single else tuple(final)


def _graph_output(o: Tensor, inputs: list, hidden: Tensor, i: int, name: str,
                  saved: bool) -> Tensor:
    """Output ``i`` on the graph: a new tensor on o's memory (a copy when that memory is an
    input's, so an in-place update of the output cannot reach the input behind the graph's
    back); ``saved``: the backward reads it, so in-place updates of it are detected."""
    def backward(g):
        return (_OutputGrads({i: g}),)
    array = o.array
    if any(np.may_share_memory(array, a.array) for a in inputs if isinstance(a, Tensor)):
        array = array.copy()
    return make(array, (hidden,), backward, name, saves_output=saved)


def _user_backward(cls) -> Callable:
    overrides_backward = cls.backward is not Function.backward
    overrides_vjp = cls.vjp is not Function.vjp
    if overrides_backward and overrides_vjp:
        raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not "
                           "allowed. You should only implement one of them.")
    return cls.vjp if overrides_vjp else cls.backward


def _check_grads(name: str, result, inputs: list) -> tuple:
    """One gradient per tensor input, in torch's rules: the count, None for non-tensors,
    shapes (a larger broadcast shape is summed back), dtype (cast)."""
    result = result if isinstance(result, tuple) else (result,)
    n = len(inputs)
    if len(result) < n or any(r is not None for r in result[n:]):
        raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                           f"(expected {n}, got {len(result)})")
    grads = []
    for i, (a, r) in enumerate(zip(inputs, result)):
        if r is not None and not isinstance(r, Tensor):
            raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
        if not isinstance(a, Tensor):
            if r is not None:
                raise RuntimeError(f"function {name} returned a gradient different than None at "
                                   f"position {i + 1}, but the corresponding forward input was "
                                   f"not a Variable")
            continue
        if r is None or not a._requires_grad:
            grads.append(None)
            continue
        if r.shape != a.shape:
            if not _expandable(a.shape, r.shape):
                raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} "
                                   f"- got {list(r.shape)} but expected shape compatible with "
                                   f"{list(a.shape)}")
            from ..methods.reduction import unbroadcast  # noqa: PLC0415  (import cycle)
            r = unbroadcast(r, tuple(a.shape))
        grads.append(astype(r, a.array.dtype) if r.array.dtype != a.array.dtype else r)
    return tuple(grads)


def _expandable(shape: tuple, to: tuple) -> bool:
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(to)))


def once_differentiable(fn: Callable) -> Callable:
    """For a ``backward`` not written in differentiable ops: it runs under no_grad, and
    differentiating its result again is torch's RuntimeError (never a silent zero)."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not is_grad_enabled() or not any(isinstance(a, Tensor) and a._requires_grad
                                            for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        wrapped = tuple(_delayed_error(o) for o in ((outputs,) if single else outputs))
        return wrapped[0] if single else wrapped
    return wrapper


def _delayed_error(v):
    if not isinstance(v, Tensor) or v.array.dtype.kind != "f":
        return v

    def backward(g):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
    leaf = Tensor.wrap(v.array)
    leaf._requires_grad = True
    return make(v.array, (leaf,), backward, "Error")
