"""``direct`` (engine/algorithms/direct.py): the correlation exactly as written, one einsum
over every window of x — the readable oracle the fast algorithms are tested against —

    y[b, g, o, m] = Σ_{c, k} x[b, g, c, m·s + k·d] · w[g, o, c, k]

Tested: forced (the rule never chooses it) on small 1-d to 3-d problems, every stride,
dilation, padding and groups, forward, ∂x and ∂w vs torch and the plain-loop definitions
(ops/reference.py) in float32 and float64."""

from dataclasses import replace

import pytest
from helpers import Case
from test_algorithms import check_forced

# One line per case: direct forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
DIRECT_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "forward dx dw"),
    (Case(size=(12,), kernel=(4,), cin=4, cout=6, batch=3, padding=((2, 1),), dilation=2),
     "forward dx dw"),                                                      # 1-d, per side
    (Case(size=(6, 6), kernel=(3, 3), cin=4, cout=6, groups=2, stride=2, dilation=2, padding=2),
     "forward dx dw"),                                                      # groups
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, stride=(1, 2, 1), padding=1),
     "forward dx dw"),                                                      # 3-d
    (Case(size=(12,), kernel=(4,), cin=2, cout=2, stride=6, dilation=4, padding=(3,)),
     "forward dx dw"),                                                      # phases w/o taps
]


@pytest.mark.parametrize("case, runs_in", DIRECT_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_direct_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by direct, vs torch and the plain loops (the oracle checked itself)."""
    check_forced("direct", replace(case, dtype=dtype), runs_in)
