"""convgrad: the forward pass of a convolution is a convolution, and so is its backward pass."""

from . import ops

__version__ = "0.1.0"
__all__ = ["ops", "__version__"]
