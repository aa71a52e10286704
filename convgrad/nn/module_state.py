"""``Module.state_dict`` / ``load_state_dict`` (torch's keys, order, messages and results).

``state_dict``: per module its parameters then its persistent buffers, then each child's under
``name.``; values are detached Tensors sharing the module's memory (``keep_vars=True``: the
Parameters themselves). ``load_state_dict`` copies under ``no_grad`` (``copy_``: cast to the
model's dtype), or with ``assign=True`` puts the given tensors in place. Unlike torch it
checks every entry before it changes anything, so a refused state dict leaves the model as it
was; the error (a ``StateDictError``, which is both torch's RuntimeError and a ValueError)
carries torch's text.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Mapping, NamedTuple

import numpy as np

from ..autograd import Tensor, no_grad

if TYPE_CHECKING:
    from .module import Module


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (torch's ``_IncompatibleKeys``)."""
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")

    __str__ = __repr__


class StateDictError(RuntimeError, ValueError):
    """``load_state_dict`` refused the state dict (torch raises RuntimeError)."""


def _state_tensor(op: str, key: str, value) -> Tensor:
    """A state-dict entry as a Tensor (a Tensor, an ndarray or a number; bool, int or float)."""
    if isinstance(value, Tensor):
        array = value.array
    else:
        if value is None or isinstance(value, (str, bytes, dict, set)):
            raise TypeError(f"{op}: '{key}' must be an array, got {type(value).__name__}")
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{op}: '{key}' is not an array ({e})") from None
        value = Tensor.wrap(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: '{key}' has non-numeric dtype {array.dtype}")
    return value


def local_state(module: Module) -> dict:
    """A module's own parameters and persistent buffers (None left out), in order."""
    state = {k: v for k, v in module._parameters.items() if v is not None}
    state.update((k, v) for k, v in module._buffers.items()
                 if v is not None and k not in module._non_persistent_buffers_set)
    return state


def state_dict(module: Module, destination=None, prefix: str = "",
               keep_vars: bool = False) -> OrderedDict:
    """The recursive state dict (see the module docstring)."""
    if destination is None:
        destination = OrderedDict()
    for name, value in local_state(module).items():
        destination[prefix + name] = value if keep_vars else value.detach()
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(destination=destination, prefix=prefix + name + ".",
                             keep_vars=keep_vars)
    return destination


def _targets(module: Module, prefix: str, given: dict, plan: list, missing: list,
             unexpected: list, errors: list) -> None:
    """torch's ``_load_from_state_dict`` walk: what to copy where, and what is wrong."""
    own = local_state(module)
    for name, current in own.items():
        key = prefix + name
        if key not in given:
            missing.append(key)
            continue
        value = given[key]
        if current.ndim == 0 and tuple(value.shape) == (1,):     # torch: 0.3-era scalars
            value = Tensor.wrap(value.array[0])
        if value.shape != current.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} "
                          f"from checkpoint, the shape in current model is {current.shape}.")
            continue
        plan.append((module, name, current, value))
    for key in given:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)
            if (len(head) > 1 and head[0] not in module._modules) or (
                    len(head) == 1 and head[0] not in own):
                unexpected.append(key)
    for name, child in module._modules.items():
        if child is not None:
            child_prefix = prefix + name + "."
            _targets(child, child_prefix, {k: v for k, v in given.items()
                                           if k.startswith(child_prefix)},
                     plan, missing, unexpected, errors)


def load_state_dict(module: Module, state, strict: bool = True,
                    assign: bool = False) -> IncompatibleKeys:
    """Copy (or assign) ``state`` into ``module``; see the module docstring."""
    from .module import Parameter  # noqa: PLC0415
    op = "load_state_dict"
    for flag, value in (("strict", strict), ("assign", assign)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{op}: {flag} must be True or False, got {value!r}")
    if not isinstance(state, Mapping):
        raise TypeError(f"{op}: expected a mapping of names to arrays (a state dict), got "
                        f"{type(state).__name__}")
    given = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"{op}: keys must be str, got {key!r}")
        given[key] = _state_tensor(op, key, value)
    plan, missing, unexpected, errors = [], [], [], []
    _targets(module, "", given, plan, missing, unexpected, errors)
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in missing)))
    if errors:
        raise StateDictError("Error(s) in loading state_dict for {}:\n\t{}".format(
            type(module).__name__, "\n\t".join(errors)))
    with no_grad():
        for owner, name, current, value in plan:
            if not assign:
                current.copy_(value)
            elif isinstance(current, Parameter):
                if isinstance(value, Parameter):
                    value.requires_grad_(current.requires_grad)
                else:
                    value = Parameter(value, requires_grad=current.requires_grad)
                setattr(owner, name, value)
            else:
                setattr(owner, name, value)
    return IncompatibleKeys(missing, unexpected)
