"""Helpers of ``Module``: parsing ``Module.to``'s arguments and calling with hooks (torch's
``_call_impl`` order: forward pre-hooks, backward-hook setup on the inputs, ``forward``,
forward hooks, backward-hook setup on the output; ``always_call`` hooks run even when
``forward`` raised)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from ..autograd import Tensor
from ..device import check_device, device
from ..methods.conversion import _as_dtype, _is_device, _is_dtype

if TYPE_CHECKING:
    from .module import Module


def get_submodule(module: Module, target: str) -> Module:
    """``Module.get_submodule`` (torch's messages)."""
    from .module import Module  # noqa: PLC0415
    mod = module
    for item in target.split(".") if target else ():
        if not hasattr(mod, item):
            raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
        mod = getattr(mod, item)
        if not isinstance(mod, Module):
            raise AttributeError(f"`{item}` is not an nn.Module")
    return mod


def get_member(module: Module, target: str, kind: str):
    """``Module.get_parameter`` / ``get_buffer`` (torch's messages)."""
    from .module import Parameter  # noqa: PLC0415
    path, _, name = target.rpartition(".")
    mod = get_submodule(module, path)
    if not hasattr(mod, name):
        raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
    if kind == "buffer" and name not in mod._buffers:
        raise AttributeError(f"`{name}` is not a buffer")
    value = getattr(mod, name)
    if kind == "parameter" and not isinstance(value, Parameter):
        raise AttributeError(f"`{name}` is not an nn.Parameter")
    return value


def parse_to(args: tuple, kwargs: dict) -> tuple:
    """(device, dtype) of ``Module.to(*args, **kwargs)`` (torch's ``_parse_to``)."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "memory_format"}
    if unknown:
        raise TypeError(f"to() received an invalid combination of arguments: unexpected "
                        f"keyword {sorted(unknown)[0]!r}")
    where, dtype = kwargs.get("device"), kwargs.get("dtype")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        where, dtype = other.device, other.dtype
    elif rest and _is_dtype(rest[0]):
        dtype = rest.pop(0)
    elif rest and (rest[0] is None or _is_device(rest[0])):
        where = rest.pop(0)
        if rest and (rest[0] is None or _is_dtype(rest[0])):
            dtype = rest.pop(0)
    if len(rest) > 1 or any(not isinstance(v, (bool, np.bool_)) for v in rest):
        raise TypeError(f"to() received an invalid combination of arguments: got "
                        f"({', '.join(type(a).__name__ for a in args)}), expected (device, "
                        f"dtype, non_blocking), (dtype, non_blocking) or (tensor, "
                        f"non_blocking)")
    if isinstance(where, int) and not isinstance(where, bool):
        where = device("cuda", where)
    check_device(where, "to")
    dtype = _as_dtype(dtype, "to")
    if dtype is not None and dtype.kind not in "fc":
        raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got "
                        f"desired dtype={dtype}")
    return where, dtype


def call_with_hooks(module: Module, backward_hook_cls, args: tuple, kwargs: dict):
    """``module(*args, **kwargs)`` with its hooks, in torch's order."""
    for hook_id, hook in list(module._forward_pre_hooks.items()):
        if hook_id in module._forward_pre_hooks_with_kwargs:
            got = hook(module, args, kwargs)
            if got is not None:
                if isinstance(got, tuple) and len(got) == 2:
                    args, kwargs = got
                else:
                    raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {got}.")
        else:
            got = hook(module, args)
            if got is not None:
                args = got if isinstance(got, tuple) else (got,)
    bw_hook = None
    if module._backward_hooks or module._backward_pre_hooks:
        bw_hook = backward_hook_cls(module, list(module._backward_hooks.values()),
                                    list(module._backward_pre_hooks.values()))
        args = bw_hook.setup_input_hook(args)
    called, result = set(), None
    try:
        result = module.forward(*args, **kwargs)
        for hook_id, hook in list(module._forward_hooks.items()):
            called.add(hook_id)
            if hook_id in module._forward_hooks_with_kwargs:
                got = hook(module, args, kwargs, result)
            else:
                got = hook(module, args, result)
            if got is not None:
                result = got
    except Exception:
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called and hook_id not in called:
                try:
                    got = (hook(module, args, kwargs, result)
                           if hook_id in module._forward_hooks_with_kwargs
                           else hook(module, args, result))
                    result = result if got is None else got
                except Exception as e:
                    warnings.warn(f"forward hook with ``always_call=True`` raised an exception "
                                  f"that was silenced as another error was raised in forward: "
                                  f"{e}", stacklevel=2)
        raise
    if bw_hook is not None:
        if not isinstance(result, (Tensor, tuple)):
            warnings.warn(f"For backward hooks to be called, module output should be a Tensor "
                          f"or a tuple of Tensors but received {type(result)}", stacklevel=2)
        else:
            result = bw_hook.setup_output_hook(result)
    return result
