r"""Batch normalization with PyTorch's semantics.

Training: per channel c, over the batch and spatial axes,
``y = (x − μ_c)/√(σ²_c + ε)·γ_c + β_c`` with the biased variance σ²; the running statistics
move by ``momentum``: ``r ← (1 − m)·r + m·stat`` (the running variance takes the unbiased
σ²·n/(n − 1)). Evaluation: μ, σ² are the running statistics.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad
from ..ops.geometry import check_arrays
from . import checks


def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) per channel; updates ``running_mean``/``running_var`` in place
    (ndarrays or Tensors of shape (C,)) when training."""
    op = "batch_norm"
    x = checks.tensor(op, "input", input)
    training = checks.boolean(op, "training", training)
    momentum = checks.real(op, "momentum", momentum, 0.0, 1.0)
    eps = checks.real(op, "eps", eps, 0.0)
    given = {}
    for name, s in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if s is not None:
            if name.startswith("running") and not isinstance(s, (Tensor, np.ndarray)):
                raise TypeError(f"{op}: {name} must be an ndarray or a Tensor (it is updated in "
                                f"place), got {type(s).__name__}")
            given[name] = checks.tensor(op, name, s)
    check_arrays(op, input=x.array, **{k: v.array for k, v in given.items()})
    running_mean, running_var = given.get("running_mean"), given.get("running_var")
    weight, bias = given.get("weight"), given.get("bias")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, *), got shape {x.shape}")
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    view = (1, channels) + (1,) * (x.ndim - 2)
    stats = [running_mean, running_var]
    for name, s in given.items():
        if s.shape != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape (C,) = ({channels},) for "
                             f"input {x.shape}")
    if training:
        count = int(np.prod([x.shape[i] for i in axes]))
        if count < 2:
            raise ValueError(f"batch_norm: training needs more than one value per channel, "
                             f"got input {x.shape}")
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        with no_grad():
            for s, value in zip(stats, (mean.array, var.array * count / (count - 1))):
                if s is not None:
                    s.array[...] = (1 - momentum) * s.array + momentum * value.reshape(-1)
    else:
        if stats[0] is None or stats[1] is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean and "
                             "running_var")
        centered = x - stats[0].reshape(view)
        var = stats[1].reshape(view)
    y = centered / (var + eps) ** 0.5
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y
