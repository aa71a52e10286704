"""``winograd`` (engine/algorithms/winograd.py; matrices and compiled transforms in
engine/winograd/): F(4, 3) per axis, F(4, 5) in 1-d —

    Y = A₀ᵀ·[Σ_c (G₀·g·G₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·A₁        per tile d, one matmul per position

Tested: forced on small 3×3, 1×3, 3- and 5-tap problems, forward, ∂x and ∂w vs torch and the
plain-loop definitions in float32 and float64; the matrices are minimal filters; each route
(threads, compiled, python) vs torch; blocks and a tiny workspace give the same numbers; the
float32 error bound; the rule's forward and weight-gradient boundaries (tables in
boundaries.py); the fallback where it does not apply; switching it off; the generated code's
cache folder."""

import os
from dataclasses import replace

import numpy as np
import pytest
from boundaries import WINOGRAD_BOUNDARIES, WINOGRAD_WEIGHT_BOUNDARIES
from helpers import Case, import_optional, rel_err, torch_conv_and_grads
from test_algorithms import check_forced
from test_ops_conv import check_against_reference, check_against_torch

from convgrad import ops
from convgrad.engine.tuning import tuned
from convgrad.ops.correlate import choose_method


@pytest.mark.parametrize("r, alpha, m", [(1, 1, 1), (2, 6, 5), (3, 6, 4), (4, 7, 4),
                                         (5, 8, 4)])
def test_winograd_matrices_are_minimal_filters(r, alpha, m):
    """Aᵀ·[(G·g) ⊙ (Bᵀ·d)] is the m-output correlation of an α-tile d with r taps g, with
    α = m + r − 1 multiplies — F(4, 3) on 0, ±1, ±2, ∞; F(4, 5) adds ±½ — and Aᵀ, Bᵀ in
    binary fractions (exact in floats: the transforms add no round-off of their own)."""
    from convgrad.ops import winograd

    b_t, g, a_t = winograd.matrices(r)
    assert (winograd.alpha(r), b_t.shape, g.shape, a_t.shape) == (
        alpha, (alpha, alpha), (alpha, r), (m, alpha))
    for exact in (a_t, b_t):
        assert np.array_equal(exact * 64, np.round(exact * 64))
    rng = np.random.default_rng(r)
    d, taps = rng.standard_normal(b_t.shape[0]), rng.standard_normal(r)
    np.testing.assert_allclose(a_t @ ((g @ taps) * (b_t @ d)), np.correlate(d, taps, "valid"),
                               rtol=1e-13, atol=1e-13)


WINOGRAD_CASES = [
    Case(size=(9, 11), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1),   # partial tiles
    Case(size=(8, 8), kernel=(3, 3), cin=4, cout=6, batch=3, padding=(2, 0), groups=2),
    Case(size=(13, 10), kernel=(3, 3), cin=2, cout=3, batch=2, padding=2, dilation=2),
    Case(size=(12, 15), kernel=(3, 3), cin=2, cout=2, padding=((0, 3), (2, 1)),
         dilation=(3, 2)),                                                  # 6 phases
    Case(size=(8, 7), kernel=(3, 3), cin=2, cout=3, padding=3),   # ∂x crops (pads −1)
    Case(size=(10, 9), kernel=(3, 3), cin=3, cout=2, batch=2, padding="same"),
    Case(size=(7, 12), kernel=(1, 3), cin=2, cout=3, padding=(0, 3)),       # a row kernel
    Case(size=(23,), kernel=(3,), cin=3, cout=4, batch=2, padding=2),       # 1-d
    Case(size=(17,), kernel=(3,), cin=2, cout=2, padding="full", dilation=2),
    Case(size=(30,), kernel=(5,), cin=3, cout=4, batch=2, padding=2),       # F(4, 5)
    Case(size=(21,), kernel=(5,), cin=2, cout=3, padding=((1, 6),), dilation=3),
    Case(size=(9,), kernel=(5,), cin=2, cout=2, padding="full"),
    Case(size=(26,), kernel=(5,), cin=4, cout=6, batch=2, padding="same", groups=2),
    Case(size=(3, 3), kernel=(3, 3)),                                       # one output
]


def record_winograd_kernels(monkeypatch) -> list[tuple[str, str]]:
    """(name, thread) of each compiled Winograd function called from Python from now on."""
    import threading
    from types import SimpleNamespace

    from convgrad.engine.winograd import codegen

    ran, original = [], codegen._kernels

    def spy(name, f):
        return lambda *args: ran.append((name, threading.current_thread().name)) or f(*args)

    def spying(kernel, dtype):
        compiled = original(kernel, dtype)
        return SimpleNamespace(**{name: spy(name, getattr(compiled, name))
                                  for name in codegen._NAMES})

    monkeypatch.setattr(codegen, "_kernels", spying)
    return ran


# How a Winograd computation runs: the batch in shares, one per core, each share one compiled
# call that calls gemm itself (``threads``); one such call on one thread (``compiled``); or
# each block's steps called from Python, its products by np.matmul (``python``: no gemm).
WINOGRAD_ROUTES = ("threads", "compiled", "python")


@pytest.mark.parametrize("route", WINOGRAD_ROUTES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=str)
def test_winograd_matches_torch(case, dtype, route, monkeypatch):
    """Forward, ∂x and ∂w (the transposed transforms) by Winograd, each route — and they
    really ran that way (one image cannot be shared: it takes the one-thread route)."""
    from convgrad.ops import blas

    import_optional("numba")
    import_optional("threadpoolctl")
    if route != "python":
        assert blas.gemm(dtype) is not None, "no gemm symbol in NumPy's BLAS"
    ran = record_winograd_kernels(monkeypatch)
    with ops.settings(method="winograd", blas_calls=route != "python",
                      threads=2 if route == "threads" else 1), tuned(
            concurrent_macs=0):                            # threads for these small layers
        check_against_torch(replace(case, dtype=dtype))
    names = {name for name, _ in ran}
    if route == "python":
        assert {"transform_output", "transform_gradient"} <= names
        assert not names & {"forward_share", "weight_share"}
    else:
        assert names == {"forward_share", "weight_share"}
        threads = {thread for _, thread in ran}
        assert len(threads) == (2 if route == "threads" and case.batch > 1 else 1)


def test_winograd_blocks_and_workspace_give_the_same_numbers():
    """One tile row per block and a tiny workspace cap: the same float64 numbers, forward
    and weight gradient (to round-off of the output's scale: ∂w adds its blocks)."""
    import_optional("numba")
    case = Case(size=(14, 13), kernel=(3, 3), cin=4, cout=6, batch=3, padding=1, dilation=(1, 2))
    x, w, b = case.arrays()
    dy = np.random.default_rng(1).standard_normal(ops.conv(x, w, b, **case.opts).shape)

    def both():
        return (ops.conv(x, w, b, **case.opts),
                ops.conv_grad_weight(x, dy, w.shape, **case.opts))

    with ops.forced_method("winograd"):
        whole = both()
        old = ops.set_workspace_limit(1)
        try:
            with tuned(tile_bytes=1):
                blocks = both()
        finally:
            ops.set_workspace_limit(old)
    for got, expected in zip(blocks, whole):       # ∂w: sums in another order (round-off)
        np.testing.assert_allclose(got, expected, rtol=1e-13,
                                   atol=1e-13 * np.abs(expected).max())


@pytest.mark.parametrize("size, kernel", [((30, 30), (3, 3)), ((300,), (5,))])
def test_winograd_float32_error_stays_small(size, kernel):
    """F(4×4, 3×3) and F(4, 5) in float32 on a 64-channel layer: within 3e-5 of the output's
    scale (direct sums: ~3e-7), as documented."""
    import_optional("numba")
    case = Case(size=size, kernel=kernel, cin=64, cout=64, batch=2, padding=kernel[0] // 2,
                dtype="float32")
    x, w, b = case.arrays()
    y_t = torch_conv_and_grads(replace(case, dtype="float64"), *(a.astype(np.float64)
                                                                  for a in (x, w, b)))[0]
    with ops.forced_method("winograd"):
        err = rel_err(ops.conv(x, w, b, **case.opts).astype(np.float64), y_t)
    assert 1e-8 < err < 3e-5


@pytest.mark.parametrize("x_shape, w_shape, dtype, dilation, want", WINOGRAD_BOUNDARIES)
def test_winograd_choice_boundaries(x_shape, w_shape, dtype, dilation, want):
    """The forward form (3×3 kernel); the weight form's cases are below."""
    from convgrad.ops import jit

    import_optional("numba")
    ones = (1,) * len(dilation)
    got = choose_method(x_shape, w_shape, ones, dilation, dtype)
    assert got != "winograd" if want == "direct" else got == want
    assert choose_method(x_shape, w_shape, (2, *ones[1:]), dilation, dtype) in ("im2col",
                                                                                 "outrows")
    with jit.jit_enabled(False):
        assert choose_method(x_shape, w_shape, ones, dilation, dtype) != "winograd"
        with ops.forced_method("winograd"):      # falls back without the compiled transforms
            x = np.ones((1, 1, 5, 5), dtype)
            np.testing.assert_allclose(ops.conv(x, np.ones((1, 1, 3, 3), dtype)), 9.0)


@pytest.mark.parametrize("x_shape, w_shape, stride, want", WINOGRAD_WEIGHT_BOUNDARIES)
def test_winograd_weight_choice_boundaries(x_shape, w_shape, stride, want):
    import_optional("numba")
    ones, twos = (1,) * len(stride), (2,) * len(stride)
    got = choose_method(x_shape, w_shape, stride, ones, "float32")
    assert got != "winograd" if want == "direct" else got == want
    assert choose_method(x_shape, w_shape, stride, ones, "float64") != "winograd"
    assert choose_method(x_shape, w_shape, stride, twos, "float32") != "winograd"  # s = 2


@pytest.mark.parametrize("kernel", [(5, 5), (2, 3), (3, 1), (3, 3, 3), (4,), (1, 5)])
def test_winograd_falls_back_where_it_does_not_apply(kernel, monkeypatch):
    """Forced on other kernels than 3×3, 1×3, 3 and 5 (1-d), it is im2col: no transform
    runs."""
    from convgrad.engine.winograd import blocks

    ran = []
    monkeypatch.setattr(blocks, "transform_input", lambda *a: ran.append(1))
    case = Case(size=(7,) * len(kernel), kernel=kernel, cin=2, cout=3, padding=1)
    with ops.forced_method("winograd"):
        check_against_reference(case)
    assert not ran


def test_winograd_automatic_choice_can_be_switched_off():
    """``use_winograd(False)`` and ``CONVGRAD_WINOGRAD=0``: float32 gets the direct methods."""
    import subprocess
    import sys

    import_optional("numba")
    x_shape, w_shape = (8, 1, 64, 58, 58), (1, 64, 64, 3, 3)
    assert choose_method(x_shape, w_shape, (1, 1), (1, 1), "float32") == "winograd"
    with ops.use_winograd(False):
        assert choose_method(x_shape, w_shape, (1, 1), (1, 1), "float32") == "rows"
    assert choose_method(x_shape, w_shape, (1, 1), (1, 1), "float32") == "winograd"
    code = ("from convgrad.ops.correlate import choose_method; print(choose_method("
            f"{x_shape}, {w_shape}, (1, 1), (1, 1), 'float32'))")
    for value, want in (("0", "rows"), ("1", "winograd")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "CONVGRAD_WINOGRAD": value}, check=True)
        assert out.stdout.strip() == want


def test_winograd_kernels_are_cached_on_disk_or_built_in_memory(tmp_path, monkeypatch):
    """The generated module goes to Settings.cache_dir (numba keeps its machine code there);
    an unwritable cache folder falls back to a temporary folder of this process (where the
    background build can put the machine code), else to compiling in memory; all compute."""
    from convgrad.engine.winograd import codegen
    from convgrad.ops import winograd

    import_optional("numba")
    (tmp_path / "file").touch()
    x = np.arange(40.0).reshape(1, 1, 1, 5, 8)       # one 5×8 image, a 1×3 kernel
    private = tmp_path / "private"
    monkeypatch.setattr(codegen, "_private_dir", lambda: private)
    for folder, lands in ((tmp_path / "cache", tmp_path / "cache"),
                          (tmp_path / "file" / "x", private), (tmp_path / "file" / "x", None)):
        if lands is None:
            private = tmp_path / "file" / "y"            # not writable either
        with ops.settings(cache_dir=folder):
            compiled = codegen._build((1, 3), "float64")
        transform_input = compiled.transform_input
        assert compiled.folder == lands
        assert len(list(folder.glob("winograd_1x3_float64_*.py"))) == (lands == folder)
        out = np.zeros((1, 6, 1, 10))
        parts = np.array([[0, 0, 8, 0, 1, 0, 5, 0]])   # 5 rows of 6 outputs + 2: 10 tiles
        transform_input(x, 0, 0, 1, 1, parts, out)
        for row in range(5):        # row r starts at position 8r: the tile in slot 2r
            np.testing.assert_allclose(out[0, :, 0, 2 * row],
                                       winograd.matrices(3)[0] @ x[0, 0, 0, row, :6])


# One line per case: winograd forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
WINOGRAD_FORCED = [
    (Case(size=(9, 11), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(9, 11), kernel=(3, 3), cin=4, cout=6, batch=2, padding=1, groups=2),
     "forward dx dw"),                                                      # groups
    (Case(size=(13, 10), kernel=(3, 3), cin=2, cout=3, batch=2, padding=2, dilation=2),
     "forward dx dw"),                                                      # phases
    (Case(size=(7, 12), kernel=(1, 3), cin=2, cout=3, padding=(0, 1)), "forward dx dw"),
    (Case(size=(23,), kernel=(3,), cin=3, cout=4, batch=2, padding=2), "forward dx dw"),  # 1-d
    (Case(size=(30,), kernel=(5,), cin=3, cout=4, batch=2, padding=2), "forward dx dw"),
]


@pytest.mark.parametrize("case, runs_in", WINOGRAD_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_winograd_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by Winograd (the weight form for ∂w), vs torch and the plain loops."""
    import_optional("numba")
    check_forced("winograd", replace(case, dtype=dtype), runs_in)
