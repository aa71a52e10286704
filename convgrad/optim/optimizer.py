r"""``torch.optim.Optimizer``: parameter groups, per-parameter state, state dicts.

Every optimizer here updates ``p.array`` in place (no graph is recorded) — by one compiled
kernel per parameter or NumPy's in-place ufuncs, as ``_foreach`` decides — and bumps each
updated parameter's version counter once per ``step()``, as one in-place write in torch.
State tensors (``exp_avg``, ``momentum_buffer``, the 0-d ``step`` …) are convgrad Tensors with
torch's names, so ``optimizer.state[p]["exp_avg"]`` and ``state_dict()`` read as in torch.
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from copy import deepcopy
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd import Tensor
from ..semantics import get_default_dtype

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class _RequiredParameter:
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _to_scalar(x: Any) -> Any:
    """A 1-element Tensor (a Tensor ``lr``/``beta``) as a Python number; others unchanged."""
    if isinstance(x, Tensor):
        return x.array.reshape(-1)[0].item()
    return x


def _typename(obj: Any) -> str:
    """torch.typename's spelling: builtins bare, others with their module."""
    if isinstance(obj, Tensor):
        return "convgrad.Tensor"
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else \
        f"{cls.__module__}.{cls.__qualname__}"


def _check_lr(lr: Any) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= _to_scalar(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonneg(value: float, what: str) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what} value: {value}")


def _check_betas(betas: tuple[float, float]) -> tuple[float, float]:
    for i in (0, 1):
        if not 0.0 <= _to_scalar(betas[i]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    return betas


def _step_tensor(value: float = 0.0) -> Tensor:
    """torch's 0-d ``step`` (and NAdam's ``mu_product``): float32, or float64 when that is
    the default dtype."""
    dtype = np.float64 if np.dtype(get_default_dtype()) == np.float64 else np.float32
    return Tensor.wrap(np.array(value, dtype=dtype))


def _buffer(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state tensor shaped and typed like ``p``."""
    return Tensor.wrap(np.full_like(p.array, fill))


class Optimizer:
    r"""Base class for all optimizers (torch's ``torch.optim.Optimizer``).

    ``params``: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
    groups: ``{"params": [...], "lr": ...}``); ``defaults``: the option values a group gets when
    it does not name them. Subclasses implement ``step(closure=None)``. Their ``foreach`` and
    ``fused`` arguments (where torch has them) are accepted with torch's checks and select our
    implementation, not torch's (``optim._foreach``): ``foreach=False`` the NumPy path,
    otherwise one compiled kernel per parameter where it applies — the same numbers either way.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__ and not getattr(cls.__dict__["step"], "_marks", False):
            step = cls.__dict__["step"]

            @functools.wraps(step)
            def marked(self, *args, **kw):
                self._opt_called = True         # lets a scheduler see the order of calls
                return step(self, *args, **kw)

            marked._marks = True
            cls.step = marked

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group; options it does not name take ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (``set_to_none=False``: zero it in place instead)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError

    @staticmethod
    def _closure_loss(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        from ..autograd import enable_grad  # noqa: PLC0415
        with enable_grad():
            return closure()

    def _params_with_grad(self, group: dict[str, Any]) -> list[Tensor]:
        ps = [p for p in group["params"] if p.grad is not None]
        for p in ps:
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
        return ps

    # -- state dicts ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, the
        parameters numbered in group order (the state's tensors are shared, as in torch)."""
        mapping: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            mapping.update({id(p): i for i, p in enumerate(group["params"], start)
                            if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Adopt a ``state_dict()``: group options and per-parameter state (floating state
        cast to its parameter's dtype, ``step`` kept as saved)."""
        state_dict = state_dict.copy()
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip((i for g in saved_groups for i in g["params"]),
                          (p for g in groups for p in g["params"])))
        state: defaultdict[Any, Any] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = _cast(id_map[k], v)
            else:
                state[k] = v

        def update_group(group: dict[str, Any], new_group: dict[str, Any]) -> dict[str, Any]:
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})


def _cast(param: Tensor, value: Any, key: Any = None) -> Any:
    """torch's load-time policy: floating state takes the parameter's dtype; ``step`` stays."""
    if isinstance(value, np.ndarray):
        value = Tensor.wrap(value)
    if isinstance(value, Tensor):
        if key == "step" or param.array.dtype.kind not in "fc" or \
                value.array.dtype == param.array.dtype:
            return value
        return Tensor.wrap(value.array.astype(param.array.dtype))
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value
