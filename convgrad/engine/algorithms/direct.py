r"""``direct``: the correlation exactly as written — one einsum over every window of x.

    y[b, g, o, m] = Σ_{c, k} x[b, g, c, m·s + k·d] · w[g, o, c, k]

x (B, G, Ci, *S) is the padded input, w (G, Co, Ci, *K) the grouped weight, y (B, G, Co, *M)
with M = ⌊(S − d·(K − 1) − 1)/s⌋ + 1 per axis. ``sliding_windows`` views x as
(B, G, Ci, *M, *K) with ``view[b, g, c, m, k] = x[b, g, c, m·s + k·d]`` (no copy), and the sum
over c and k is one ``np.einsum``. This is the readable oracle the fast algorithms are tested
against: ``ops.settings(method="direct")`` forces it; the method rule never chooses it.

>>> import numpy as np
>>> x = np.arange(5.0).reshape(1, 1, 1, 5); w = np.array([1.0, -1.0]).reshape(1, 1, 1, 2)
>>> correlate_direct(x, w, (1,), (1,))[0, 0, 0]
array([-1., -1., -1., -1.])
>>> correlate_direct(x, w, (2,), (2,))[0, 0, 0]      # m·2 + k·2: x[0] − x[2], x[2] − x[4]
array([-2., -2.])
"""

from __future__ import annotations

import string

import numpy as np

from ...ops.windows import sliding_windows
from ..registry import Algorithm, direct_run


def correlate_direct(x: np.ndarray, w: np.ndarray, stride, dilation) -> np.ndarray:
    """``y[b, g, o, m] = Σ_{c, k} x[b, g, c, m·s + k·d] · w[g, o, c, k]`` for a padded x."""
    ndim = x.ndim - 3
    m, k = string.ascii_letters[:ndim], string.ascii_letters[ndim:2 * ndim]
    windows = sliding_windows(x, w.shape[3:], stride, dilation)     # (B, G, Ci, *M, *K)
    return np.einsum(f"BGC{m}{k},GOC{k}->BGO{m}", windows, w, optimize=True)


class Direct(Algorithm):
    name = "direct"
    summary = "the definition: one einsum over the windows of x (the tests' oracle)"

    def applies(self, problem, settings):
        return None                       # every problem; but never chosen by the rule

    def declined(self, problem, settings):
        return "the readable oracle: only settings(method='direct') runs it"

    def run(self, plan, x, w, bias=None, out=None):
        return direct_run(correlate_direct, plan, x, w, bias)
