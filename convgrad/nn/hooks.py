"""Module hooks as torch's: ``RemovableHandle`` and ``BackwardHook`` (the machinery behind
``register_full_backward_hook`` / ``register_full_backward_pre_hook``).

A full backward hook sees ``grad_input`` (the gradients w.r.t. the module's positional inputs,
None where an input is not a Tensor or needs no gradient) and ``grad_output``. As in torch, the
inputs and outputs pass through an identity autograd Function (``BackwardHookFunction``)
whose backward is where the hooks run: the output one records ``grad_output`` (and runs the
pre-hooks, which may replace it), the input one calls the hooks with both and lets them
replace ``grad_input``.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any, Callable

from ..autograd import Function, Tensor, is_grad_enabled


class RemovableHandle:
    """What ``register_*_hook`` returns: ``remove()`` unregisters; also a context manager."""

    next_id = 0

    def __init__(self, hooks_dict: OrderedDict, *, extra_dict=None):
        self.hooks_dict_ref = hooks_dict
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        self.extra_dicts = [] if extra_dict is None else (
            list(extra_dict) if isinstance(extra_dict, (list, tuple)) else [extra_dict])

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        for d in (self.hooks_dict_ref, *self.extra_dicts):
            d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def add_hook(hooks: OrderedDict, hook: Callable, prepend: bool, extra=None) -> RemovableHandle:
    """Store ``hook`` under a new handle (first when ``prepend``)."""
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class HookMixin:
    """``Module``'s hook registration (torch's signatures; the dicts are set in ``__init__``)."""

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` (or ``(module, args, kwargs)``) before ``forward``."""
        handle = add_hook(self._forward_pre_hooks, hook, prepend,
                          [self._forward_pre_hooks_with_kwargs])
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` (or ``(module, args, kwargs, output)``) after."""
        handle = add_hook(self._forward_hooks, hook, prepend,
                          [self._forward_hooks_with_kwargs, self._forward_hooks_always_called])
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)``, may return a new grad_output."""
        return add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)``, may return a new grad_input."""
        return add_hook(self._backward_hooks, hook, prepend)


class BackwardHookFunction(Function):
    """The identity, one output per tensor; its backward calls ``on_grads`` (given first)."""

    @staticmethod
    def forward(ctx, on_grads, *args):
        ctx.on_grads = on_grads
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.on_grads(grads))


def _apply_on_tensors(args: tuple, on_grads: Callable) -> tuple[tuple, list | None]:
    """``args`` with its Tensors passed through ``BackwardHookFunction`` (when grad is on
    and one of them requires grad), and the tensors' positions (None when not wrapped)."""
    index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensors = [args[i] for i in index]
    if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
        return args, None
    new = BackwardHookFunction.apply(on_grads, *tensors)
    new = new if isinstance(new, tuple) else (new,)
    out = list(args)
    for i, t in zip(index, new):
        out[i] = t
    return tuple(out), index


class BackwardHook:
    """One forward call's backward hooks (torch's ``torch.utils.hooks.BackwardHook``)."""

    def __init__(self, module, user_hooks: list, user_pre_hooks: list):
        self.module, self.user_hooks, self.user_pre_hooks = module, user_hooks, user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = 0
        self.input_tensors_index = self.output_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size: int) -> tuple:
        res = [None] * size
        for i, v in zip(indices, values):
            res[i] = v
        return tuple(res)

    def setup_input_hook(self, args: tuple) -> tuple:
        """The inputs, wrapped so that their gradients reach the hooks."""
        self.n_inputs = len(args)

        def on_grads(grads: tuple) -> tuple:
            if self.grad_outputs is None:
                return grads
            res = self._pack_with_none(self.input_tensors_index, grads, self.n_inputs)
            for hook in self.user_hooks:
                out = hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError(f"Backward hook returned an invalid number of "
                                       f"grad_input, got {len(out)}, but expected {len(res)}")
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_tensors_index)
        new, self.input_tensors_index = _apply_on_tensors(args, on_grads)
        return new

    def setup_output_hook(self, result):
        """The output(s), wrapped so that their gradients reach the hooks."""
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)

        def on_grads(grads: tuple) -> tuple:
            self.grad_outputs = self._pack_with_none(self.output_tensors_index, grads,
                                                     self.n_outputs)
            for pre_hook in self.user_pre_hooks:
                got = pre_hook(self.module, self.grad_outputs)
                if got is None:
                    continue
                if len(got) != len(self.grad_outputs):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(got)}, but expected "
                                       f"{len(self.grad_outputs)}")
                self.grad_outputs = tuple(got)
            local = self.grad_outputs
            if self.input_tensors_index is None:
                warnings.warn("Full backward hook is firing when gradients are computed with "
                              "respect to module outputs since no inputs require gradients.",
                              stacklevel=2)
                grad_inputs = (None,) * self.n_inputs
                for hook in self.user_hooks:
                    res = hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple)
                                                and all(r is None for r in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires "
                                           "gradient should always return None or None for "
                                           "all gradients.")
                self.grad_outputs = None
            return tuple(local[i] for i in self.output_tensors_index)
        new, self.output_tensors_index = _apply_on_tensors(outputs, on_grads)
        return new[0] if single else new
