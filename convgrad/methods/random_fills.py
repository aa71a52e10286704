"""The in-place random fills, torch's Tensor methods ``normal_``, ``uniform_``, ``bernoulli_``,
``random_``, ``exponential_``, ``geometric_``, ``log_normal_`` and ``cauchy_``: each overwrites
the tensor through ``modify`` (torch's in-place rules), drawing from ``generator=`` or the
default generator in the tensor's own dtype, with the draws and checks of ``sampling.py``."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, modify
from ..random import numpy_rng
from .factory_args import _int
from .sampling import (
    _DIGITS,
    _float_only,
    _int_range,
    _probability,
    _standard_normal,
    _std,
    _uniform,
    _zero_grad,
)


def _fill(t: Tensor, draw, op: str) -> Tensor:
    """Overwrite t with ``draw(rng_shape, dtype)`` through ``modify`` (torch's in-place rules)."""
    return modify(t, lambda old: _zero_grad(draw(old.shape, old.dtype), (old,), op), op,
                  reads_self=False, fast=lambda a: a.__setitem__(..., draw(a.shape, a.dtype)))


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    _float_only(self.dtype, "normal_", "normal_kernel_cpu")
    _std(std, "normal")
    rng = numpy_rng(generator, "normal_")
    return _fill(self, lambda s, d: (mean + std * _standard_normal(rng, s, d)).astype(d),
                 "normal_")


def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator=None,
             **kwargs) -> Tensor:
    """Fill with samples of U[from, to) (``from`` is also accepted as a keyword)."""
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    _float_only(self.dtype, "uniform_", "check_uniform_bounds")
    for name, v in (("from", from_), ("to", to)):
        if not math.isfinite(v):
            raise RuntimeError(f"uniform_: {name} is out of bounds for {self.dtype} ({v})")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={from_} > to={to}")
    rng = numpy_rng(generator, "uniform_")
    return _fill(self, lambda s, d: (from_ + (to - from_) * _uniform(rng, s, d)).astype(d),
                 "uniform_")


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1, 1 with probability ``p`` (a number, or a tensor broadcast to self)."""
    if isinstance(p, Tensor):
        probs = p.array
        if not bool(((probs >= 0) & (probs <= 1)).all()):
            raise RuntimeError("bernoulli_: Expected p_in >= 0 && p_in <= 1 to be true, but "
                               "got false.")
        try:
            fits = np.broadcast_shapes(probs.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"bernoulli_: the expanded size of p {list(probs.shape)} must "
                               f"match the existing size {list(self.shape)}")
    else:
        probs = _probability(p, "bernoulli_")
    rng = numpy_rng(generator, "bernoulli_")
    return _fill(self, lambda s, d: (rng.random(s) < probs).astype(d), "bernoulli_")


def random_(self, *args, to=None, generator=None, **kwargs) -> Tensor:
    """Fill with uniform integers: ``random_()`` over [0, top] (top: the dtype's largest int,
    2^mantissa for floats), ``random_(to)`` over [0, to), ``random_(from, to)`` over
    [from, to) (``to=None``: [from, top])."""
    low = kwargs.pop("from", None)
    if kwargs or len(args) > 2:
        raise TypeError("random_(): expected random_(), random_(to) or random_(from, to)")
    if len(args) == 2:
        low, to = args
    elif len(args) == 1:
        low, to = (args[0], to) if (to is not None or low is not None) else (0, args[0])
    open_top = to is None and (len(args) == 2 or low is not None or not args)
    d = self.dtype
    top = 1 if d.kind == "b" else np.iinfo(d).max if d.kind in "iu" else 2 ** _DIGITS[d]
    low = 0 if low is None else _int(low, "random_", "from")
    high = top + 1 if open_top else _int(to, "random_", "to")
    _int_range(low, high, d, "random_")
    rng = numpy_rng(generator, "random_")
    return _fill(self, lambda s, dt: rng.integers(low, high, s, dtype=np.int64).astype(dt),
                 "random_")


def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of Exp(λ): density λ·e^(−λx) on x ≥ 0."""
    if self.dtype.kind != "f":
        raise RuntimeError(f"exponential_: Exponential distribution is a continuous "
                           f"probability distribution. dtype must be a floating point but you "
                           f"specified {self.dtype}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    rng = numpy_rng(generator, "exponential_")
    work = {np.dtype(np.float16): np.float32}
    return _fill(self, lambda s, d: (rng.standard_exponential(s, dtype=work.get(d, d.type))
                                     / lambd).astype(d), "exponential_")


def geometric_(self, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, …)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    rng = numpy_rng(generator, "geometric_")
    return _fill(self, lambda s, d: rng.geometric(p, s).astype(d), "geometric_")


def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with exp(N(mean, std²)) samples."""
    _float_only(self.dtype, "log_normal_", "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    rng = numpy_rng(generator, "log_normal_")
    return _fill(self, lambda s, d: rng.lognormal(mean, std, s).astype(d), "log_normal_")


def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy samples: density 1 / (πσ(1 + ((x − median)/σ)²))."""
    if self.dtype.kind != "f":
        raise RuntimeError(f"cauchy_: Cauchy distribution is a continuous probability "
                           f"distribution. dtype must be a floating point but you specified "
                           f"{self.dtype}")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    rng = numpy_rng(generator, "cauchy_")
    return _fill(self, lambda s, d: (median + sigma * rng.standard_cauchy(s)).astype(d),
                 "cauchy_")


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for fn in (normal_, uniform_, bernoulli_, random_, exponential_, geometric_, log_normal_,
               cauchy_):
        setattr(Tensor, fn.__name__, fn)
