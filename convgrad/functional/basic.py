r"""Linear and bilinear maps, flattening, padding and the dropout family.

    linear:    y = x Wᵀ + b                      bilinear: y_o = x₁ᵀ W_o x₂ + b_o
    dropout:   x·m/(1 − p), m ~ Bernoulli(1 − p) per element (dropout1d/2d/3d: per channel)
    alpha_dropout: a(x·m + α'(1 − m)) + b with α' = −1.7581 (SELU's negative saturation),
               a = ((1 − p)(1 + pα'²))^−½, b = −a·α'·p  — keeps zero mean and unit variance
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import random
from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..ops.geometry import check_arrays
from ..ops.windows import pad_or_crop
from ..semantics import normalize_dim
from . import checks

__all__ = ["linear", "bilinear", "flatten", "pad", "dropout", "dropout1d", "dropout2d",
           "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

PAD_MODES = {"constant": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def linear(input, weight, bias=None) -> Tensor:
    """``y = x wᵀ + b``: x (*, in), w (out, in), b (out,) → (*, out)."""
    x, w = checks.tensor("linear", "input", input), checks.tensor("linear", "weight", weight)
    b = None if bias is None else checks.tensor("linear", "bias", bias)
    check_arrays("linear", input=x.array, weight=w.array, bias=None if b is None else b.array)
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input (*, in_features) and weight (out_features, in_features) "
                         f"must agree on in_features, got input {x.shape}, weight {w.shape}")
    y = (x.reshape(1, -1) @ w.T).reshape(-1) if x.ndim == 1 else x @ w.T
    if b is not None:
        if b.shape != (w.shape[0],):
            raise ValueError(f"linear: bias must have shape (out_features,) = ({w.shape[0]},), "
                             f"got {b.shape}")
        y = y + b
    return y


def flatten(input, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one (PyTorch's ``flatten``)."""
    x = checks.tensor("flatten", "input", input, "fiub")
    start, end = (normalize_dim(d, x.ndim, "flatten") for d in (start_dim, end_dim))
    if x.ndim == 0:
        return x.reshape(1)
    if start > end:
        raise ValueError(f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for an "
                         f"input of {x.ndim} dims")
    return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])


@traced("pad")
def pad(input, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) pairs starting from the *last* axis.

    Modes: ``constant`` (``value``), ``reflect`` (mirror without the edge), ``replicate``
    (repeat the edge), ``circular`` (wrap around). A negative pad crops (torch's rule: reflect
    and replicate pad the whole axis first, circular wraps the cropped axis); an axis may be
    cropped to length 0 but not past it.
    """
    x = checks.tensor("pad", "input", input, "fiu")
    if not isinstance(pad, (tuple, list)) or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_))
            for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: needs (left, right) pairs for at most {x.ndim} axes, got "
                         f"pad={pad}")
    checks.choice("pad", "mode", mode, PAD_MODES)
    value = checks.real("pad", "value", 0.0 if value is None else value, finite=False)
    if x.dtype.kind != "f" and not value.is_integer():
        raise ValueError(f"pad: value={value} would be truncated in an {x.dtype} tensor")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    for n, (lo, hi) in zip(x.shape[x.ndim - len(pairs):], pairs):
        if mode in ("constant", "circular") and n + min(lo, 0) + min(hi, 0) < 0:
            raise ValueError(f"pad: padding ({lo}, {hi}) crops an axis of length {n} past its "
                             f"size (input shape {x.shape})")
        if mode in ("reflect", "replicate") and n + lo + hi < 1:
            raise ValueError(f"pad: {mode} padding ({lo}, {hi}) leaves nothing of an axis of "
                             f"length {n} (input shape {x.shape}); the output must keep ≥ 1")
    return pad_sides(x, pairs, mode, value)


def pad_sides(x: Tensor, pads, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the trailing ``len(pads)`` axes by ``(lo, hi)`` each: the backward crops (constant)
    or adds every copied cell back onto its source (reflect, replicate, circular)."""
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(PAD_MODES)}, got {mode!r}")
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    if mode == "constant":
        back = [(-lo, -hi) for lo, hi in pads]
        return make(pad_or_crop(x.array, pads, value), (x,),
                    lambda g: (pad_sides(g, back),), "pad")
    crops = [(min(lo, 0), min(hi, 0)) for lo, hi in pads]
    grows = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    if mode == "circular":                      # torch wraps the cropped axis
        x = pad_sides(x, crops)
    for n, (lo, hi) in zip(x.shape[lead:], grows):
        limit = {"reflect": n - 1, "circular": n}.get(mode, n * 2**62)   # replicate: any
        if max(lo, hi) > max(limit, 0):
            raise ValueError(f"pad: {mode} padding of ({lo}, {hi}) on an axis of length {n} "
                             f"(input shape {x.shape}) must be at most {limit}")
    for axis, (lo, hi) in enumerate(grows):      # one gather per axis; its backward scatters
        index = np.pad(np.arange(x.shape[lead + axis]), (lo, hi), mode=PAD_MODES[mode])
        x = x[(slice(None),) * (lead + axis) + (index,)]
    return x if mode == "circular" else pad_sides(x, crops)


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """``y[..., o] = Σ_ij x₁[..., i] W[o, i, j] x₂[..., j] + b[o]``: x₁ (*, I), x₂ (*, J),
    W (O, I, J), b (O,) → (*, O); one matrix product, then a sum over j."""
    x1, x2 = (checks.tensor("bilinear", n, v) for n, v in (("input1", input1), ("input2", input2)))
    w = checks.tensor("bilinear", "weight", weight)
    b = None if bias is None else checks.tensor("bilinear", "bias", bias)
    check_arrays("bilinear", input1=x1.array, input2=x2.array, weight=w.array,
                 bias=None if b is None else b.array)
    if x1.ndim != x2.ndim or x1.ndim < 1:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {x1.ndim} and "
                           f"{x2.ndim}")
    for d in range(x1.ndim - 1):
        if x1.shape[d] != x2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: "
                               f"got {x1.shape[d]} and {x2.shape[d]}")
    if w.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-d (out, in1, in2), got {w.ndim}-d")
    out, i, j = w.shape
    if x1.shape[-1] != i:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{x1.shape[-1]} but expected {i}")
    if x2.shape[-1] != j:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{x2.shape[-1]} but expected {j}")
    lead = x1.shape[:-1]
    a, c = x1.reshape(-1, i), x2.reshape(-1, j)
    mixed = (a @ w.permute(1, 0, 2).reshape(i, out * j)).reshape(-1, out, j)
    y = (mixed * c.reshape(-1, 1, j)).sum(axis=2)
    if b is not None:
        if b.shape != (out,):
            raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                               f"{b.shape[-1] if b.ndim else 0} but expected {out}")
        y = y + b
    return y.reshape(*lead, out)


def _probability(op: str, p) -> float:
    """torch's rule for a dropout probability (a real number in [0, 1]; ValueError outside)."""
    p = checks.real(op, "p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be in [0, 1] (dropout probability has to be between 0 "
                         f"and 1, but got {p})")
    return p


def _apply(x: Tensor, scale: np.ndarray, shift, inplace: bool) -> Tensor:
    """``x·scale (+ shift)``, in place (``mul_``/``add_``, versioned) or not."""
    scale = Tensor(scale.astype(x.dtype))
    if inplace:
        x = x.mul_(scale)
        return x if shift is None else x.add_(Tensor(shift.astype(x.dtype)))
    y = x * scale
    return y if shift is None else y + Tensor(shift.astype(x.dtype))


def _dropout(op: str, input, p, training, inplace, feature: bool, alpha: bool) -> Tensor:
    x = checks.tensor(op, "input", input)
    p = _probability(op, p)
    training = checks.boolean(op, "training", training)
    inplace = checks.boolean(op, "inplace", inplace)
    if feature and x.ndim < 2:
        raise RuntimeError(f"{op}: Feature dropout requires at least 2 dimensions in the "
                           f"input")
    if not training or p == 0.0 or x.numel() == 0:
        return x
    if p == 1.0:
        return _apply(x, np.zeros(()), None, inplace)
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    keep = (random.generator().random(shape) >= p).astype(np.float64)
    if not alpha:
        return _apply(x, keep / (1.0 - p), None, inplace)
    a_ = 1.7580993408473766
    a = 1.0 / np.sqrt((a_ * a_ * p + 1) * (1 - p))
    shift = (keep - 1) * (a_ * a) + a_ * a * p
    return _apply(x, keep * a, shift, inplace)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p) (training only).
    The mask comes from convgrad's generator, so ``cg.manual_seed`` makes it repeatable."""
    return _dropout("dropout", input, p, training, inplace, False, False)


def _channel_dropout(op: str, input, p, training, inplace, spatial: int) -> Tensor:
    """dropout1d/2d/3d: one draw per (sample, channel); torch's rules for unbatched input."""
    x = checks.tensor(op, "input", input)
    _probability(op, p)
    batched = x.ndim == spatial + 2
    if spatial == 1 and x.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D "
                           f"input. Note that dropout1d exists to provide channel-wise dropout "
                           f"on inputs with 1 spatial dimension, a channel dimension, and an "
                           f"optional batch dimension (i.e. 2D or 3D inputs).")
    if spatial > 1 and x.ndim not in (spatial + 1, spatial + 2):
        warnings.warn(f"{op}: Received a {x.ndim}-D input to {op}, which is deprecated and will "
                      f"result in an error in a future release. To retain the behavior and "
                      f"silence this warning, please use dropout instead. Note that {op} exists "
                      f"to provide channel-wise dropout on inputs with {spatial} spatial "
                      f"dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{spatial + 1}D or {spatial + 2}D inputs).", UserWarning, stacklevel=3)
    if spatial == 2:
        if x.ndim == 3:
            warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                          "channel-wise 1D dropout behavior is desired - input is interpreted "
                          "as shape (N, C, L), where C is the channel dim. This behavior will "
                          "change in a future release to interpret the input as one without a "
                          "batch dimension, i.e. shape (C, H, W). To maintain the 1D "
                          "channel-wise dropout behavior, please switch to using dropout1d "
                          "instead.", UserWarning, stacklevel=3)
        return _dropout(op, x, p, training, inplace, True, False)
    if batched or inplace:
        if not batched:
            x = x.unsqueeze_(0)
            return _dropout(op, x, p, training, True, True, False).squeeze_(0)
        return _dropout(op, x, p, training, inplace, True, False)
    return _dropout(op, x.unsqueeze(0), p, training, False, True, False).squeeze(0)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability p (scaled 1/(1 − p))."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input (a 3-D input is read as (N, C, L), with
    torch's warning)."""
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    return _channel_dropout("dropout3d", input, p, training, inplace, 3)


def alpha_dropout(input, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """SELU-preserving dropout: dropped elements take ``−1.7581`` before the affine map that
    restores zero mean and unit variance (see the module docstring)."""
    return _dropout("alpha_dropout", input, p, training, inplace, False, True)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` with one draw per (sample, channel)."""
    return _dropout("feature_alpha_dropout", input, p, training, inplace, True, True)
