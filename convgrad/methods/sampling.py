"""Random tensors (torch's names and rules): ``rand``, ``randn``, ``randint``, ``randperm``,
``normal``, ``bernoulli``, ``multinomial``, ``poisson``, the ``*_like`` twins; the in-place
fills ``normal_``, ``uniform_``, ``bernoulli_``, ``random_``, ``exponential_``, ``geometric_``,
``log_normal_``, ``cauchy_`` are in ``random_fills.py``, with the draws and checks made here.

Every draw comes from a ``convgrad.Generator``: ``generator=`` if given, else the default one
(``convgrad.manual_seed``). The bits are NumPy's PCG64, so a seed gives other numbers than in
torch (see ``convgrad.random``); the distributions, dtypes, shapes and errors are torch's.
Floats are drawn in the tensor's own precision: ``rand`` in float32 lies in [0, 1), never
rounded up to 1.

>>> from ..random import manual_seed
>>> _ = manual_seed(0); a = rand(3)
>>> _ = manual_seed(0); bool((a == rand(3)).all()), a.dtype
(True, dtype('float32'))

A random result of a tensor that requires grad (``normal(mean, std)``, ``bernoulli(p)``,
``poisson(rate)``) requires grad too, with a zero gradient, as in torch.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..random import numpy_rng
from .factory_args import _bound, _finish, _int, _keep, _like, _options, _size

__all__ = ["rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
           "rand_like", "randn_like", "randint_like", "poisson"]

_DIGITS = {np.dtype(np.float16): 11, np.dtype(np.float32): 24, np.dtype(np.float64): 53}


def _float_only(d: np.dtype, op: str, kernel: str) -> None:
    if d.kind != "f":
        raise NotImplementedError(f'{op}: "{kernel}" not implemented for \'{d}\' (a floating '
                                  f'dtype is needed)')


def _uniform(rng: np.random.Generator, shape: tuple, d: np.dtype) -> np.ndarray:
    """U[0, 1) in dtype d, exactly: float16 as k·2⁻¹¹ (a float64 draw could round to 1)."""
    if d == np.float16:
        return (rng.integers(0, 2 ** 11, shape) * 2.0 ** -11).astype(d)
    return rng.random(shape, dtype=d.type)


def _standard_normal(rng: np.random.Generator, shape: tuple, d: np.dtype) -> np.ndarray:
    if d == np.float16:
        return rng.standard_normal(shape, dtype=np.float32).astype(d)
    return rng.standard_normal(shape, dtype=d.type)


def _zero_grad(out: np.ndarray, parents: tuple, op: str) -> Tensor:
    """A random output of ``parents``: it requires grad when they do, with zero gradients."""
    tensors = tuple(p for p in parents if isinstance(p, Tensor))
    return make(out, tensors, lambda g: tuple(Tensor.wrap(np.zeros(p.shape, p.dtype))
                                              for p in tensors), op)


# -- continuous draws --------------------------------------------------------------------------

def rand(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False,
         layout=None, pin_memory: bool = False) -> Tensor:
    """Uniform samples on [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``; default dtype float32."""
    d = _options("rand", dtype, device, layout)
    _float_only(d, "rand", "check_uniform_bounds")
    shape = _size(sizes, "rand", size)
    return _finish(_uniform(numpy_rng(generator, "rand"), shape, d), requires_grad)


def randn(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False,
          layout=None, pin_memory: bool = False) -> Tensor:
    """Standard normal samples N(0, 1): ``randn(2, 3)`` or ``randn((2, 3))``."""
    d = _options("randn", dtype, device, layout)
    _float_only(d, "randn", "normal_kernel_cpu")
    shape = _size(sizes, "randn", size)
    return _finish(_standard_normal(numpy_rng(generator, "randn"), shape, d), requires_grad)


@traced("rand_like")
def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad: bool = False,
              layout=None, memory_format=None) -> Tensor:
    """``rand`` in ``input``'s shape and dtype."""
    t = _like(input, "rand_like")
    return rand(t.shape, generator=generator, dtype=_keep(dtype, t), device=device,
                requires_grad=requires_grad, layout=layout)


@traced("randn_like")
def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad: bool = False,
               layout=None, memory_format=None) -> Tensor:
    """``randn`` in ``input``'s shape and dtype."""
    t = _like(input, "randn_like")
    return randn(t.shape, generator=generator, dtype=_keep(dtype, t), device=device,
                 requires_grad=requires_grad, layout=layout)


def _std(std, op: str) -> None:
    if isinstance(std, Tensor):
        if not bool((std.array >= 0).all()):
            raise RuntimeError(f"{op} expects all elements of std >= 0.0")
    elif not std >= 0:
        raise RuntimeError(f"{op} expects std >= 0.0, but found std {std}")


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False, layout=None, pin_memory: bool = False) -> Tensor:
    """Samples of N(mean, std²), torch's four forms: ``normal(mean_t, std_t)`` (broadcast),
    ``normal(mean_t, std=1.0)``, ``normal(mean, std_t)`` — the dtype of the (first) tensor —
    and ``normal(mean, std, size)`` with numbers (default dtype)."""
    rng = numpy_rng(generator, "normal")
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a float mean and std, size is required "
                            "(normal(mean, std, size))")
        mean, std = _bound(mean, "normal", "mean"), _bound(std, "normal", "std")
        _std(std, "normal")
        d = _options("normal", dtype, device, layout)
        _float_only(d, "normal", "normal_kernel_cpu")
        z = _standard_normal(rng, _size((size,), "normal", sequence_only=True), d)
        return _finish(mean + std * z, requires_grad)
    if size is not None or dtype is not None:
        raise TypeError("normal(): size= and dtype= only go with a float mean and std; a "
                        "tensor mean or std gives the shape and dtype")
    d = tensors[0].dtype
    _float_only(d, "normal", "normal_kernel_cpu")
    _std(std, "normal")
    m, s = (v.array if isinstance(v, Tensor) else v for v in (mean, std))
    try:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    except ValueError:
        raise RuntimeError(f"normal: the shape of mean {list(np.shape(m))} and of std "
                           f"{list(np.shape(s))} must broadcast") from None
    z = _standard_normal(rng, shape, d)
    return _zero_grad((m + s * z).astype(d, copy=False), (mean, std), "normal")


# -- discrete draws ----------------------------------------------------------------------------

def _int_range(low: int, high: int, d: np.dtype, op: str) -> None:
    """torch's checks of [low, high) against dtype d: low < high, both ends representable."""
    if low >= high:
        raise RuntimeError(f"{op}: random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    if d.kind in "biu":
        lo, hi = (0, 1) if d.kind == "b" else (np.iinfo(d).min, np.iinfo(d).max)
        if not lo <= low <= hi:
            raise RuntimeError(f"{op}: from is out of bounds for {d} ({low} not in "
                               f"[{lo}, {hi}])")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"{op}: to - 1 is out of bounds for {d} ({high - 1} not in "
                               f"[{lo}, {hi}])")


def _randint_args(args: tuple, low, high, size) -> tuple:
    """torch's two forms: ``randint(high, size)`` and ``randint(low, high, size)``."""
    given = list(args)
    if size is None and given:
        size = given.pop()
    if high is None and given:
        high = given.pop()
    if low is None and given:
        low = given.pop()
    if given or high is None or size is None:
        raise TypeError("randint(): expected randint(high, size) or randint(low, high, size) "
                        "(size a tuple of ints)")
    return (0 if low is None else low), high, size


def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad: bool = False, layout=None, pin_memory: bool = False) -> Tensor:
    """Uniform integers in [low, high): ``randint(10, (3,))``, ``randint(2, 5, (3,))``;
    int64 unless ``dtype=``."""
    low, high, size = _randint_args(args, low, high, size)
    low, high = _int(low, "randint", "low"), _int(high, "randint", "high")
    d = _options("randint", dtype, device, layout, np.dtype(np.int64))
    shape = _size((size,), "randint", sequence_only=True)
    _int_range(low, high, d, "randint")
    draw = numpy_rng(generator, "randint").integers(low, high, shape, dtype=np.int64)
    return _finish(draw.astype(d), requires_grad)


def randint_like(input, *args, low=None, high=None, generator=None, dtype=None, device=None,
                 requires_grad: bool = False, layout=None, memory_format=None) -> Tensor:
    """``randint`` in ``input``'s shape and dtype: ``randint_like(t, high)`` or
    ``randint_like(t, low, high)``."""
    t = _like(input, "randint_like")
    return randint(*args, low=low, high=high, size=t.shape, generator=generator,
                   dtype=_keep(dtype, t), device=device, requires_grad=requires_grad,
                   layout=layout)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad: bool = False,
             layout=None, pin_memory: bool = False) -> Tensor:
    """A random permutation of 0 … n − 1 (int64 unless ``dtype=``)."""
    n = _int(n, "randperm", "n")
    d = _options("randperm", dtype, device, layout, np.dtype(np.int64))
    if n < 0:
        raise RuntimeError(f"randperm: Trying to create tensor with negative dimension {n}: "
                           f"[{n}]")
    if d.kind == "b":
        raise NotImplementedError("randperm: \"randperm\" not implemented for 'Bool'")
    top = np.iinfo(d).max if d.kind in "iu" else 2 ** _DIGITS[d]
    if n - 1 > top:
        raise RuntimeError(f"randperm: n cannot be greater than {top + 1} for {d}, got {n}")
    return _finish(numpy_rng(generator, "randperm").permutation(n).astype(d), requires_grad)


def _probability(p, op: str) -> float:
    p = _bound(p, op, "p")
    if not 0 <= p <= 1:
        raise RuntimeError(f"{op} expects p to be in [0, 1], but got p={p}")
    return p


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 samples, 1 with probability ``input`` (elementwise, in [0, 1]), or with the one
    probability ``p`` in ``input``'s shape and dtype."""
    t = _like(input, "bernoulli")
    rng = numpy_rng(generator, "bernoulli")
    if p is None:
        _float_only(t.dtype, "bernoulli", "bernoulli_tensor_cpu_p_")
        probs = t.array
        if not bool(((probs >= 0) & (probs <= 1)).all()):
            raise RuntimeError("bernoulli: Expected p_in >= 0 && p_in <= 1 to be true "
                               "(every probability in [0, 1]), but got false.")
    else:
        probs = _probability(p, "bernoulli")
    out = (rng.random(t.shape) < probs).astype(t.dtype)
    return _zero_grad(out, (t,), "bernoulli") if t.dtype.kind == "f" else Tensor.wrap(out)


def poisson(input, generator=None) -> Tensor:
    """Poisson samples with rates ``input`` (≥ 0), in its dtype."""
    t = _like(input, "poisson")
    _float_only(t.dtype, "poisson", "poisson_cpu")
    if not bool((t.array >= 0).all()):
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    draw = numpy_rng(generator, "poisson").poisson(t.array.astype(np.float64))
    return _zero_grad(draw.astype(t.dtype), (t,), "poisson")


def multinomial(input, num_samples, replacement: bool = False, *, generator=None) -> Tensor:
    """``num_samples`` category indices per row of ``input`` (1-d: one distribution; 2-d: one
    per row), category j with probability pⱼ / Σp; without replacement each index at most once
    (the exponential race: the k largest pⱼ / Eⱼ, Eⱼ ~ Exp(1), as torch). int64."""
    t = _like(input, "multinomial")
    k = _int(num_samples, "multinomial", "num_samples")
    if t.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {t.ndim} dims")
    if t.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{t.dtype}")
    if k <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got {k})")
    n = t.shape[-1]
    if not replacement and k > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement ({k} > {n})")
    p = t.array.astype(np.float64).reshape((1, n) if t.ndim == 1 else t.shape)
    if not bool((np.isfinite(p) & (p >= 0)).all()):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    total = p.sum(axis=1, keepdims=True)
    if not bool((total > 0).all()):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    rng = numpy_rng(generator, "multinomial")
    rows = p.shape[0]
    if not replacement:
        with np.errstate(divide="ignore"):
            keys = p / rng.standard_exponential(p.shape)
        out = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    else:
        # inverse CDF, all rows in one search: row r's CDF is shifted into (r, r + 1]
        cdf = np.cumsum(p, axis=1)
        cdf /= cdf[:, -1:]                   # the last entry exactly 1; zero-p classes repeat
        offset = np.arange(rows, dtype=np.float64)[:, None]
        u = rng.random((rows, k)) + offset
        flat = np.searchsorted((cdf + offset).ravel(), u.ravel(), side="right")
        last = n - 1 - np.argmax(p[:, ::-1] > 0, axis=1)          # the last possible class
        out = np.minimum(flat.reshape(rows, k) - (offset * n).astype(np.int64), last[:, None])
    return Tensor.wrap(out.reshape(t.shape[:-1] + (k,)).astype(np.int64))


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.bernoulli, Tensor.multinomial = bernoulli, multinomial
