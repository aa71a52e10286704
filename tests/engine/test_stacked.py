"""``stacked`` (engine/algorithms/stacked.py): the transpose of ``shift``, one matmul of every
tap's weights with the unpadded x, P[b, g, (j, o), q] = Σ_c w[g, o, c, j] · x[b, g, c, q],
then the products added where they land —

    y[b, g, o, p] = Σ_j P[b, g, (j, o), p + j·d − lo]

Tested: forced on small 1-d to 3-d problems (compiled and NumPy adds), forward, ∂x and ∂w vs
torch and the plain-loop definitions in float32 and float64; the compiled-rule boundaries
(table in boundaries.py); the compiled col2im of stacked and rows vs the NumPy adds; the
stride phases of an input gradient as one stacked matmul; the compiled tap-major copy."""

import importlib
from dataclasses import replace

import numpy as np
import pytest
from boundaries import COMPILED_BOUNDARIES
from helpers import Case, import_optional
from test_algorithms import check_forced
from test_ops_conv import check_against_torch

from convgrad import ops
from convgrad.engine.tuning import tuned
from convgrad.ops.correlate import choose_method


@pytest.mark.parametrize("x_shape, w_shape, compiled, numpy_only", COMPILED_BOUNDARIES)
def test_compiled_stacked_choice_boundaries(x_shape, w_shape, compiled, numpy_only):
    from convgrad.ops import jit

    import_optional("numba")
    ones = (1,) * (len(x_shape) - 3)
    assert choose_method(x_shape, w_shape, ones, ones) == compiled
    with jit.jit_enabled(False):
        assert choose_method(x_shape, w_shape, ones, ones) == numpy_only


@pytest.mark.parametrize("case", [
    Case(size=(9, 8), kernel=(3, 3), cin=6, cout=4, batch=2, padding=1),
    Case(size=(12,), kernel=(4,), cin=4, cout=6, batch=3, padding=((2, 1),), dilation=2),
    Case(size=(7, 9), kernel=(2, 3), cin=4, cout=4, padding=((1, 0), (2, 2)), groups=2),
    Case(size=(9, 9), kernel=(3, 3), cin=3, cout=5, batch=2, stride=2, padding=1),  # phases
    Case(size=(8, 7), kernel=(3, 3), cin=6, cout=2, padding="full", dtype="float32"),
    Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=4, cout=2, batch=2, padding=1,
         dilation=(1, 2, 1)),
    Case(size=(6, 5, 7), kernel=(2, 3, 3), cin=4, cout=4, stride=(2, 1, 2), padding=1,
         groups=2),
    Case(size=(6, 7, 5), kernel=(3, 3, 2), cin=3, cout=4, batch=2, stride=(1, 2, 1),
         padding=((1, 0), (1, 2), (0, 1)), dilation=(2, 1, 1)),
    Case(size=(7, 6, 6), kernel=(2, 3, 3), cin=4, cout=3, stride=(1, 1, 2), padding=(1, 0, 1),
         dilation=(1, 2, 1), dtype="float32"),
    Case(size=(8, 9), kernel=(1, 2), cin=3, cout=4, batch=2, stride=(2, 3)),   # phases w/o taps
    Case(size=(1,), kernel=(1,), cin=2, cout=3, stride=3, padding=((2, 0),)),  # ∂w crops into
    Case(size=(1, 5), kernel=(1, 2), cin=2, cout=2, stride=(3, 1), padding=((2, 0), (1, 1))),
    Case(size=(11, 10), kernel=(3, 2), cin=2, cout=3, stride=2, dilation=2, padding=2),
], ids=str)
@pytest.mark.parametrize("tile_bytes", [None, 512], ids=["whole", "tap-chunks"])
@pytest.mark.parametrize("method, stack_rows", [("stacked", None), ("rows", 1),
                                                ("rows", 10**6)],
                         ids=["stacked", "rows-split-1", "rows-split-most"])
def test_compiled_stacked_adds_match_numpy_and_torch(case, tile_bytes, method, stack_rows):
    """The numba col2im of the stacked method (1-d to 3-d) and of rows (one or, in 3-d, two
    leading kernel axes stacked, the rest as columns), with bias, groups, dilation, strides on
    the column axes and per-side padding, forced for forward and both gradients, agrees with
    the NumPy adds — also when a tiny cache budget makes it go one image and a few taps at a
    time."""
    from convgrad.ops import jit

    import_optional("numba")
    changes = dict(jit_elements=0)
    if tile_bytes:
        changes["tile_bytes"] = tile_bytes
    if stack_rows:
        changes["stack_rows"] = stack_rows
    with tuned(**changes):
        for on in (True, False):
            with jit.jit_enabled(on), ops.forced_method(method):
                check_against_torch(case)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_input_gradient_phases_share_one_matmul(dtype, monkeypatch):
    """At stride 2 the input gradient's four phases run as one stacked matmul of all nine taps
    (``correlate_phases``), the kernel copied tap-major by the compiled tiled copy; vs torch."""
    from convgrad.ops import correlate as core
    from convgrad.ops import jit

    import_optional("numba")
    used = []
    for name in ("correlate_phases", "_tap_major"):
        original = getattr(core, name)
        monkeypatch.setattr(core, name, lambda *a, _f=original, _n=name: used.append(_n) or _f(*a))
    monkeypatch.setattr(jit, "tap_major", lambda w, _f=jit.tap_major: used.append("jit") or _f(w))
    conv_module = importlib.import_module("convgrad.ops.input_grad")
    monkeypatch.setattr(conv_module, "correlate_phases", core.correlate_phases)
    check_against_torch(Case(size=(24, 24), kernel=(3, 3), cin=32, cout=64, batch=8, stride=2,
                             padding=1, dtype=dtype))
    assert {"correlate_phases", "_tap_major", "jit"} <= set(used)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_tap_major_copy_matches_numpy(dtype):
    from convgrad.ops import jit

    import_optional("numba")
    w = np.random.default_rng(0).standard_normal((2, 40, 24, 3, 2)).astype(dtype)
    for view in (w, w.swapaxes(1, 2)[..., ::-1, ::-1], w[:, ::3]):
        want = np.moveaxis(view.reshape(*view.shape[:3], -1), 3, 1)
        got = jit.tap_major(view)
        assert got.flags.c_contiguous and got.dtype == view.dtype
        np.testing.assert_array_equal(got, want)


# One line per case: stacked forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
STACKED_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(9,), kernel=(3,), cin=2, cout=3, batch=2, padding=1), "forward dx dw"),  # 1-d
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(8, 7), kernel=(3, 3), cin=4, cout=4, batch=2, groups=4, padding=1),
     "forward dx dw"),                                                      # depthwise
    (Case(size=(9, 8), kernel=(3, 2), cin=4, cout=6, batch=2, groups=2, dilation=(1, 2)),
     "forward dx"),                                          # ∂w: the dilation is its stride
]


@pytest.mark.parametrize("case, runs_in", STACKED_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("jit", [True, False], ids=["compiled", "numpy"])
def test_stacked_forced_matches_torch_and_reference(case, runs_in, dtype, jit):
    """Forward, ∂x and ∂w by stacked, vs torch and the plain loops."""
    check_forced("stacked", replace(case, dtype=dtype), runs_in, jit=jit)
