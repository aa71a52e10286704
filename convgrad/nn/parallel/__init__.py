"""``nn.parallel`` for scripts written for GPUs: ``DataParallel`` wraps a module and runs it on
the CPU (as torch does on a machine without accelerators: no replicas, the state-dict keys
prefixed ``module.``); ``data_parallel`` calls the module once."""

from __future__ import annotations

from typing import Any, Sequence

from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: ``forward`` is
    ``module(*inputs, **kwargs)``; ``.module`` is the wrapped module."""

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None,
                 output_device: Any = None, dim: int = 0):
        super().__init__()
        self.module = module
        self.device_ids: list = []
        self.dim, self.output_device = dim, output_device

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[Any] | None = None,
                  output_device: Any = None, dim: int = 0, module_kwargs: Any = None) -> Any:
    """``module(*inputs, **module_kwargs)`` on the CPU (torch without GPUs raises instead)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
