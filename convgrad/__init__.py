"""convgrad: the forward pass of a convolution is a convolution, and so is its backward pass.

The top-level namespace is torch's: ``import convgrad as torch`` ports a script (see the
README's "PyTorch compatibility"). Each module below lists its public names in ``__all__``.
"""

from . import methods  # noqa: F401, I001  (first: attaches the Tensor's methods)
from . import accelerator, autograd, cuda, functional, nn, ops, optim
from .autograd import (Size, Tensor, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .creation import *  # noqa: F403
from .device import device
from .dtypes import *  # noqa: F403
from .gradcheck import GradcheckError, gradcheck
from .methods.elementwise import *  # noqa: F403
from .methods.indexing import *  # noqa: F403
from .methods.inplace_ops import *  # noqa: F403
from .methods.linalg import *  # noqa: F403
from .methods.ordering import *  # noqa: F403
from .methods.reduction import *  # noqa: F403
from .methods.shape import *  # noqa: F403
from .random import *  # noqa: F403
from .semantics import get_default_dtype, set_default_dtype
from .serialization import load, save
from . import creation, dtypes, random

__version__ = "0.1.0"
__all__ = ["autograd", "ops", "functional", "nn", "optim", "Tensor", "Size", "grad", "no_grad",
           "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled", "device",
           "gradcheck", "GradcheckError", "get_default_dtype", "set_default_dtype", "save",
           "load", "__version__",
           "cuda", "accelerator",
           *creation.__all__, *dtypes.__all__, *random.__all__,
           *(name for module in methods.MODULES for name in module.__all__)]
