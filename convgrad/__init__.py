"""convgrad: the forward pass of a convolution is a convolution, and so is its backward pass.

The top-level namespace is torch's: ``import convgrad as torch`` ports a script (see the
README's "PyTorch compatibility"). Each module below lists its public names in ``__all__``.
"""

from . import methods  # noqa: F401, I001  (first: its attach_all() equips Tensor)
from . import (accelerator, autograd, backends, cuda, functional, linalg, nn, onnx, ops, optim,
               special, testing, utils)
from .autograd import (Size, Tensor, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .creation import *  # noqa: F403
from .device import device
from .dtypes import *  # noqa: F403
from .gradcheck import GradcheckError, gradcheck
from .random import *  # noqa: F403
from .methods.out import with_out as _with_out
from .semantics import get_default_dtype, set_default_dtype
from .serialization import load, save
from . import creation, dtypes, random
from .engine.runtime import memory as _engine_memory

__version__ = "0.1.0"
_engine_memory.apply_default()               # freed arrays reused by the next step (see there)
for _module in methods.MODULES:              # the top-level twins, functions with torch's out=
    globals().update({_name: _with_out(_obj, _name) if callable(_obj) and not isinstance(
        _obj, type) else _obj for _name in _module.__all__ for _obj in [getattr(_module, _name)]})
__all__ = ["autograd", "ops", "functional", "nn", "optim", "Tensor", "Size", "grad", "no_grad",
           "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled", "device",
           "gradcheck", "GradcheckError", "get_default_dtype", "set_default_dtype", "save",
           "load", "__version__",
           "cuda", "accelerator", "backends", "linalg", "onnx", "special", "testing", "utils",
           *creation.__all__, *dtypes.__all__, *random.__all__,
           *(name for module in methods.MODULES for name in module.__all__)]
