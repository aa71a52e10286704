"""Linear layers, flattening, padding and dropout."""

from __future__ import annotations

import numpy as np

from .. import random
from ..autograd import Tensor, make
from ..ops.geometry import check_arrays
from ..ops.windows import pad_or_crop
from ..semantics import normalize_dim
from . import checks

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


def pad(input, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
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
    value = checks.real("pad", "value", value, finite=False)
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


def dropout(input, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p) (training only).
    The mask comes from convgrad's generator, so ``cg.manual_seed`` makes it repeatable."""
    x = checks.tensor("dropout", "input", input)
    p = checks.real("dropout", "p", p, 0.0, 1.0)
    training = checks.boolean("dropout", "training", training)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * Tensor(np.zeros(x.shape, dtype=x.dtype))
    keep = random.generator().random(x.shape) >= p
    return x * Tensor((keep / (1.0 - p)).astype(x.dtype))
