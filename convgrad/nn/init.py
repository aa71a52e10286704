"""``nn.init`` (torch's names and formulas): in-place initialisation of a Tensor under
``no_grad``, drawn from convgrad's generator (``generator=`` for another one). The numbers differ
from torch's (NumPy's PCG64), the distributions do not.

Also the small ndarray helpers the layers use (``uniform(shape, bound)``,
``kaiming_uniform(shape)``, ``fan_in(shape)``); given a Tensor first, ``uniform`` and
``kaiming_uniform`` are torch's deprecated aliases of ``uniform_`` / ``kaiming_uniform_``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import random
from ..autograd import Tensor, no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant", "eye",
           "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
           "orthogonal", "sparse"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d")


def _write(tensor: Tensor, array: np.ndarray) -> Tensor:
    """``tensor.copy_(array)`` under no_grad (a version bump, as torch's in-place init)."""
    with no_grad():
        return tensor.copy_(Tensor.wrap(np.asarray(array)))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity`` (torch's table)."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param,
                                                                                    float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std²)."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with N(mean, std²) truncated to [a, b] (rejection sampling, as torch 2.13)."""
    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    rng = random.numpy_rng(generator, "trunc_normal_")
    shape = tuple(tensor.shape)
    if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:     # resample what falls outside
        out = rng.normal(mean, std, shape)
        bad = (out < a) | (out > b)
        while bad.any():
            out[bad] = rng.normal(mean, std, int(bad.sum()))
            bad = (out < a) | (out > b)
    else:                         # uniform proposals on [a, b], accepted by density ratio
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        out = np.empty(shape)
        pending = np.ones(shape, bool)
        while pending.any():
            n = int(pending.sum())
            x = rng.uniform(a, b, n)
            accept = np.log(rng.random(n)) <= -0.5 * ((x - mean) / std) ** 2 - log_peak
            idx = np.flatnonzero(pending)[accept]
            out.reshape(-1)[idx] = x[accept]
            pending.reshape(-1)[idx] = False
    return _write(tensor, out.astype(tensor.dtype))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    with no_grad():
        return tensor.zero_()


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-D tensors only)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor.shape, dtype=tensor.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta of a 3-, 4- or 5-D conv weight: identity on ``min(out/groups, in)``
    channels per group, 1 at the kernel's centre."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    out = np.zeros(sizes, tensor.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min(per_group, sizes[1])):
            out[(g * per_group + d, d, *centre)] = 1
    return _write(tensor, out)


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) = (size(1), size(0)) · ∏ kernel (a Tensor or an ndarray)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in_, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in_ if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(−a, a), ``a = gain·√(6/(fan_in + fan_out))``."""
    fan_in_, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in_ + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std²), ``std = gain·√(2/(fan_in + fan_out))``."""
    fan_in_, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in_ + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(−b, b), ``b = gain·√(3/fan)`` (He et al.)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std²), ``std = gain/√fan`` (He et al.)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    return tensor if std is None else normal_(tensor, 0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix (the tensor flattened to rows × rest), times ``gain``."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    rng = random.numpy_rng(generator, "orthogonal_")
    flat = rng.standard_normal((rows, cols)).astype(tensor.dtype).astype(np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q.reshape(tuple(tensor.shape)) * gain).astype(tensor.dtype))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """N(0, std²) with ⌈sparsity·rows⌉ zeros in each column (2-D tensors only)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tuple(tensor.shape)
    num_zeros = math.ceil(sparsity * rows)
    rng = random.numpy_rng(generator, "sparse_")
    out = rng.normal(0, std, (rows, cols))
    for col in range(cols):
        out[rng.permutation(rows)[:num_zeros], col] = 0
    return _write(tensor, out.astype(tensor.dtype))


def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{new_name}`.", FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)
    deprecated_init.__name__ = old_name
    deprecated_init.__doc__ = f"Deprecated alias of ``{new_name}``."
    return deprecated_init


normal, constant, eye, dirac = (_make_deprecate(f) for f in (normal_, constant_, eye_, dirac_))
xavier_uniform, xavier_normal, kaiming_normal, orthogonal, sparse = (
    _make_deprecate(f) for f in (xavier_uniform_, xavier_normal_, kaiming_normal_,
                                 orthogonal_, sparse_))
_uniform_alias, _kaiming_uniform_alias = _make_deprecate(uniform_), _make_deprecate(
    kaiming_uniform_)


# -- ndarray helpers of the layers ------------------------------------------------------------
def uniform(shape, *args, **kwargs):
    """``uniform(shape, bound, dtype=np.float32)``: U(−bound, bound) samples (an ndarray).
    Given a Tensor: torch's deprecated ``nn.init.uniform(tensor, a=0, b=1, generator=None)``."""
    if isinstance(shape, Tensor):
        return _uniform_alias(shape, *args, **kwargs)
    return _ndarray_uniform(shape, *args, **kwargs)


def _ndarray_uniform(shape, bound: float, dtype=np.float32) -> np.ndarray:
    return random.generator().uniform(-bound, bound, size=shape).astype(dtype)


def fan_in(shape) -> int:
    """Inputs feeding one output: ``shape[1]·∏ kernel`` (torch's ``_calculate_fan_in``)."""
    return int(shape[1] * math.prod(shape[2:]))


def kaiming_uniform(shape, *args, **kwargs):
    """``kaiming_uniform(shape, a=√5, dtype=np.float32)``: U(−b, b) samples (an ndarray) with
    ``b = gain·√(3/fan_in)``, ``gain = √(2/(1 + a²))`` — torch's Conv/Linear default, a = √5,
    gives ``b = 1/√fan_in``; fan_in = 0 has no elements. Given a Tensor: torch's deprecated
    ``nn.init.kaiming_uniform(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')``."""
    if isinstance(shape, Tensor):
        return _kaiming_uniform_alias(shape, *args, **kwargs)
    return _ndarray_kaiming_uniform(shape, *args, **kwargs)


def _ndarray_kaiming_uniform(shape, a: float = math.sqrt(5), dtype=np.float32) -> np.ndarray:
    gain = math.sqrt(2.0 / (1 + a * a))
    n = fan_in(shape)
    return _ndarray_uniform(shape, gain * math.sqrt(3.0 / n) if n else 0.0, dtype)
