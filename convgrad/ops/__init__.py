"""Pure NumPy convolution kernels: one N-d primitive, its two gradients, transposed conv."""

from ..engine.settings import settings
from .conv import conv, conv_grad_bias, conv_grad_input, conv_grad_weight, conv_transpose
from .correlate import forced_method, get_workspace_limit, set_workspace_limit
from .geometry import ConvGeometry, conv_geometry, effective_kernel, output_length, resolve_padding
from .planning import plan
from .windows import fold_windows, pad_or_crop, sliding_windows
from .winograd import use_winograd

__all__ = ["conv", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "conv_transpose",
           "settings", "plan", "forced_method", "use_winograd",
           "get_workspace_limit", "set_workspace_limit", "ConvGeometry", "conv_geometry",
           "effective_kernel", "output_length", "resolve_padding", "pad_or_crop",
           "sliding_windows", "fold_windows"]
