"""Autograd: tensors that remember how they were made, and the chain rule over that graph
(torch.autograd's names: ``grad``, ``backward``, ``Function``, ``gradcheck``; ``profiler``:
per-op time of a forward and backward, ``with profiler.profile() as prof: …``)."""

from . import function, profiler  # noqa: F401  (torch.autograd.function, .profiler)
from .engine import backward, grad
from .function import Function
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck
from .inplace import modify
from .tensor import Size, Tensor, astype, make  # noqa: I001  (before Function and gradcheck)

__all__ = ["Tensor", "Size", "make", "astype", "modify", "grad", "backward", "no_grad",
           "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled", "Function",
           "function", "profiler", "gradcheck", "gradgradcheck"]
