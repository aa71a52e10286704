"""Differentiable functions on Tensors (or ndarrays): ``import convgrad.functional as F``."""

from .activations import elu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh
from .basic import dropout, flatten, linear, pad
from .convolution import (
    conv,
    conv1d,
    conv2d,
    conv3d,
    conv_grad_bias,
    conv_grad_input,
    conv_grad_weight,
    conv_transpose,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .losses import cross_entropy, mse_loss, nll_loss
from .normalization import batch_norm
from .pooling import (
    avg_pool,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    fold,
    max_pool,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    unfold,
)

__all__ = ["conv", "conv1d", "conv2d", "conv3d", "conv_transpose", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "conv_grad_input", "conv_grad_weight",
           "conv_grad_bias",
           "linear", "flatten", "pad", "dropout", "relu", "leaky_relu", "elu", "silu",
           "softplus", "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "nll_loss",
           "mse_loss", "batch_norm", "max_pool", "max_pool1d", "max_pool2d", "max_pool3d",
           "avg_pool", "avg_pool1d", "avg_pool2d", "avg_pool3d", "unfold", "fold"]
