"""``Module``: a tree of layers that owns Parameters and buffers, named the way PyTorch names
them (``features.0.weight``), so state dicts move between convgrad and ``torch.nn`` unchanged."""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Mapping, NamedTuple

import numpy as np

from ..autograd import Tensor
from ..semantics import get_default_dtype


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (torch's names)."""
    missing_keys: list
    unexpected_keys: list


def _state_array(op: str, key: str, value) -> np.ndarray:
    """A state-dict entry as a numeric ndarray (bool, integer or float), or a TypeError."""
    if isinstance(value, Tensor):
        value = value.array
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{op}: '{key}' must be an array, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{op}: '{key}' is not an array ({e})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: '{key}' has non-numeric dtype {array.dtype}")
    return array


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``)."""

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.zeros(0, dtype=get_default_dtype())
        super().__init__(data.array if isinstance(data, Tensor) else data,   # shares memory
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        from ..autograd.printing import parameter_repr  # noqa: PLC0415
        return parameter_repr(self)


class Module:
    """Base class: assign Parameters, sub-Modules and ``register_buffer`` arrays as attributes;
    implement ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning "
                               f"attributes")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = value                    # re-assigning a buffer keeps it one
            object.__setattr__(self, name, value)
            return
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray | None) -> None:
        """State that is saved but not trained (e.g. batch-norm running statistics)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        setattr(self, name, param)
        self._parameters[name] = param

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- the tree
    def named_children(self) -> Iterator[tuple[str, Module]]:
        return iter(self._modules.items())

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{prefix}.{name}" if prefix else name), b

    # -- modes and gradients
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, dtype) -> Module:
        """Cast every floating parameter and buffer to ``dtype`` (float32 or float64)."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"Module.to: dtype must be float32 or float64, got {dtype}")
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.array, p.grad = p.array.astype(dtype), None
            for name, b in list(m._buffers.items()):
                if b is not None and b.dtype.kind == "f":
                    m.register_buffer(name, b.astype(dtype))
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, in PyTorch's order and with its names."""
        state = OrderedDict()
        for prefix, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None:
                        array = value.array if isinstance(value, Tensor) else value
                        state[f"{prefix}.{name}" if prefix else name] = np.array(array)
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers of the same names (cast to their dtype,
        as torch's ``copy_`` does); returns ``(missing_keys, unexpected_keys)``.

        Refused, with nothing changed unless every entry fits: a state dict that is not a
        mapping of str keys to numeric arrays (TypeError); missing or unexpected keys when
        ``strict`` (ValueError listing them); an entry whose shape differs (ValueError naming
        the key and both shapes).
        """
        op = "load_state_dict"
        if not isinstance(strict, (bool, np.bool_)):
            raise TypeError(f"{op}: strict must be True or False, got {strict!r}")
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{op}: expected a mapping of names to arrays (a state dict), got "
                            f"{type(state_dict).__name__}")
        targets = {}
        for prefix, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None:
                        targets[f"{prefix}.{name}" if prefix else name] = (module, registry,
                                                                            name, value)
        given = {}
        for key, value in state_dict.items():
            if not isinstance(key, str):
                raise TypeError(f"{op}: keys must be str, got {key!r}")
            given[key] = _state_array(op, key, value)
        missing = [k for k in targets if k not in given]
        unexpected = [k for k in given if k not in targets]
        if strict and (missing or unexpected):
            raise ValueError(f"{op}: state dict does not match {type(self).__name__}: "
                             f"missing keys {missing}, unexpected keys {unexpected}")
        for key, array in given.items():
            if key not in targets:
                continue
            current = targets[key][3]
            current = current.array if isinstance(current, Tensor) else current
            if array.shape != current.shape:
                raise ValueError(f"{op}: shape mismatch for '{key}': checkpoint has "
                                 f"{array.shape}, the model has {current.shape}")
        for key, array in given.items():
            if key not in targets:
                continue
            module, registry, name, current = targets[key]
            if isinstance(current, Tensor):
                current.array = array.astype(current.dtype, copy=True)
            else:
                module.register_buffer(name, array.astype(current.dtype, copy=True))
        return IncompatibleKeys(missing, unexpected)

    # -- display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n  " + "\n  ".join(lines) + "\n)" if lines else ")")


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", … (or by an OrderedDict)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            items = modules[0].items()
        else:
            items = ((str(i), m) for i, m in enumerate(modules))
        for name, module in items:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: element {name} is a {type(module).__name__}, "
                                f"not a Module")
            setattr(self, name, module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
