"""``torch.special``'s names over convgrad's own functions (differentiable as those are).

Most are aliases (``expit`` = sigmoid, ``gammaln`` = lgamma, ``psi`` = digamma); the normal
distribution's functions are one-liners over erf/erfc/erfinv:
ndtr(x) = ½·erfc(−x/√2), ndtri(p) = √2·erfinv(2p − 1), log_ndtr(x) = log ndtr(x), and
entr(x) = −x·log x (0 at 0, −inf below 0).

>>> import numpy as np
>>> from convgrad import tensor
>>> f"{ndtr(tensor(np.array(0.0))).item():.3f}", f"{ndtri(tensor(np.array(0.975))).item():.3f}"
('0.500', '1.960')
"""

from __future__ import annotations

import math

import numpy as np

from .autograd import Tensor, make
from .methods import elementwise as _ew
from .methods import logic as _logic
from .methods import pointwise as _pw
from .methods import reduction as _red
from .methods import transcendental as _tr

__all__ = ["expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma", "psi", "polygamma",
           "xlogy", "xlog1py", "log1p", "expm1", "exp2", "logsumexp", "softmax", "log_softmax",
           "sinc", "round", "i0", "i1", "entr", "ndtr", "ndtri", "log_ndtr"]

expit = _logic.sigmoid
logit, erfc, erfinv, polygamma = _tr.logit, _tr.erfc, _tr.erfinv, _tr.polygamma
gammaln, digamma, psi = _tr.lgamma, _tr.digamma, _tr.digamma
xlogy, xlog1py, sinc, i0, i1 = _tr.xlogy, _tr.xlog1py, _tr.sinc, _tr.i0, _tr.i1
erf, exp2, round = _pw.erf, _pw.exp2, _pw.round_  # noqa: A001  (torch's name)
log1p, expm1 = _logic.log1p, _logic.expm1
softmax, log_softmax = _logic.softmax, _logic.log_softmax
_SQRT2 = math.sqrt(2.0)


def logsumexp(input, dim, keepdim: bool = False) -> Tensor:
    """``log Σ exp(x)`` along dim, without overflow (``convgrad.logsumexp``)."""
    return _red.logsumexp(_pw.tensor_arg("logsumexp", input), dim, keepdim)


def entr(input) -> Tensor:
    """``−x·log x`` elementwise: 0 at x = 0, −inf for x < 0; ∂/∂x = −(1 + log x).
    entr(0.5) = 0.5·log 2 ≈ 0.3466."""
    a = _ew.floating(_pw.tensor_arg("entr", input))
    x = a.array
    with np.errstate(all="ignore"):
        data = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), np.where(x == 0, 0, -np.inf))
    data = np.where(np.isnan(x), np.nan, data).astype(a.dtype)
    return make(data, (a,), lambda g: (g * -(_ew.log(a) + 1),), "entr")


def ndtr(input) -> Tensor:
    """The standard normal CDF ``Φ(x) = ½·erfc(−x/√2)``. ndtr(0.) = 0.5."""
    a = _ew.floating(_pw.tensor_arg("ndtr", input))
    return _tr.erfc(a * (-1 / _SQRT2)) * 0.5


def ndtri(input) -> Tensor:
    """Φ⁻¹(p) = √2·erfinv(2p − 1), the normal quantile. ndtri(0.975) ≈ 1.96."""
    a = _ew.floating(_pw.tensor_arg("ndtri", input))
    return _tr.erfinv(a * 2 - 1) * _SQRT2


def log_ndtr(input) -> Tensor:
    """``log Φ(x)`` = log(½·erfc(−x/√2)) (erfc keeps the lower tail exact down to x ≈ −37).
    log_ndtr(0.) = −log 2."""
    return _ew.log(ndtr(input))
