"""Linear layers, flattening, padding and dropout."""

from __future__ import annotations

import numpy as np

from .. import random
from ..autograd import Tensor, as_tensor, make
from ..ops.geometry import check_arrays
from ..ops.windows import pad_or_crop

PAD_MODES = {"constant": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def linear(input, weight, bias=None) -> Tensor:
    """``y = x wᵀ + b``: x (*, in), w (out, in), b (out,) → (*, out)."""
    x, w = as_tensor(input), as_tensor(weight)
    check_arrays("linear", input=x.data, weight=w.data,
                 bias=None if bias is None else as_tensor(bias).data)
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input (*, in_features) and weight (out_features, in_features) "
                         f"must agree on in_features, got input {x.shape}, weight {w.shape}")
    y = (x.reshape(1, -1) @ w.T).reshape(-1) if x.ndim == 1 else x @ w.T
    if bias is not None:
        b = as_tensor(bias)
        if b.shape != (w.shape[0],):
            raise ValueError(f"linear: bias must have shape (out_features,) = ({w.shape[0]},), "
                             f"got {b.shape}")
        y = y + b
    return y


def flatten(input, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one (PyTorch's ``flatten``)."""
    x = as_tensor(input)
    start, end = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    if start > end:
        raise ValueError(f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for an "
                         f"input of {x.ndim} dims")
    return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])


def pad(input, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) pairs starting from the *last* axis.

    Modes: ``constant`` (``value``; negative pads crop), ``reflect`` (mirror without the edge),
    ``replicate`` (repeat the edge), ``circular`` (wrap around).
    """
    x = as_tensor(input)
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: needs (left, right) pairs for at most {x.ndim} axes, got "
                         f"pad={pad}")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
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
        return make(pad_or_crop(x.data, pads, value), (x,),
                    lambda g: (pad_sides(g, back),), "pad")
    for n, (lo, hi) in zip(x.shape[lead:], pads):
        limit = n - 1 if mode == "reflect" else n
        if min(lo, hi) < 0 or max(lo, hi) > limit:
            raise ValueError(f"pad: {mode} padding of ({lo}, {hi}) on an axis of length {n} "
                             f"(input shape {x.shape}) must be non-negative and at most "
                             f"{limit}")
    for axis, (lo, hi) in enumerate(pads):       # one gather per axis; its backward scatters
        index = np.pad(np.arange(x.shape[lead + axis]), (lo, hi), mode=PAD_MODES[mode])
        x = x[(slice(None),) * (lead + axis) + (index,)]
    return x


def dropout(input, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p) (training only).
    The mask comes from convgrad's generator, so ``cg.manual_seed`` makes it repeatable."""
    x = as_tensor(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * Tensor(np.zeros(x.shape, dtype=x.dtype))
    keep = random.generator().random(x.shape) >= p
    return x * Tensor((keep / (1.0 - p)).astype(x.dtype))
