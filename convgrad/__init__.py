"""convgrad: the forward pass of a convolution is a convolution, and so is its backward pass."""

from . import tensor_ops  # noqa: F401, I001  (first: attaches the Tensor operators)
from . import functional, nn, ops, optim
from .autograd import Tensor, grad, is_grad_enabled, no_grad, set_grad_enabled, tensor
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .serialization import load, save

__version__ = "0.1.0"
__all__ = ["ops", "functional", "nn", "optim", "Tensor", "tensor", "grad", "no_grad",
           "set_grad_enabled", "is_grad_enabled", "gradcheck", "GradcheckError", "manual_seed",
           "save", "load", "__version__"]
