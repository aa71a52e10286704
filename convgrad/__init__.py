"""convgrad: the forward pass of a convolution is a convolution, and so is its backward pass."""

from . import ops, tensor_ops  # noqa: F401  (tensor_ops attaches the Tensor operators)
from .autograd import Tensor, grad, is_grad_enabled, no_grad, set_grad_enabled, tensor

__version__ = "0.1.0"
__all__ = ["ops", "Tensor", "tensor", "grad", "no_grad", "set_grad_enabled", "is_grad_enabled",
           "__version__"]
