"""``fft`` (engine/algorithms/fft.py): the correlation theorem, one complex matmul over
channels per frequency —

    Y[b, g, o, f] = Σ_c X[b, g, c, f] · conj(W[g, o, c, f])      y = irfft(Y)[: n − ke + 1]

Tested: forced on small 1-d to 3-d problems, forward, ∂x and ∂w vs torch and the plain-loop
definitions in float32 and float64; the kernel size where the rule takes FFT (and keeps it),
both sides of that boundary vs torch; scipy.fft and numpy.fft giving the same results."""

from dataclasses import replace

import pytest
from helpers import Case, import_optional
from test_algorithms import check_forced
from test_ops_conv import check_against_torch

from convgrad import ops
from convgrad.ops.correlate import choose_method


def fft_boundary(x_shape=(4, 1, 16, 74, 74), channels=16) -> int:
    """The smallest square kernel for which the rule picks FFT on this input."""
    for k in range(3, 30):
        if choose_method(x_shape, (1, channels, x_shape[2], k, k), (1, 1), (1, 1)) == "fft":
            return k
    raise AssertionError("FFT never chosen")


def test_fft_takes_over_at_one_kernel_size_and_stays():
    k = fft_boundary()
    assert 5 < k <= 11          # large_kernel's 11×11 is on the FFT side
    for bigger in range(k, k + 6):
        assert choose_method((4, 1, 16, 74, 74), (1, 16, 16, bigger, bigger), (1, 1),
                             (1, 1)) == "fft"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_sides_of_the_fft_boundary_match_torch(dtype):
    """Forward and both gradients at the last direct kernel size and the first FFT one, with the
    rule choosing (float32 within 1e-4 relative)."""
    k = fft_boundary((2, 1, 4, 40, 40), 4)
    for kernel in (k - 1, k):
        case = Case(size=(40 - kernel + 1 + 2 * (kernel // 2),) * 2, kernel=(kernel, kernel),
                    cin=4, cout=4, batch=2, padding=kernel // 2, dtype=dtype)
        check_against_torch(case)


@pytest.mark.parametrize("backend", ["scipy", "numpy"])
def test_fft_path_with_either_fft_library(backend, monkeypatch):
    """scipy.fft (the `fast` extra) and numpy.fft (core only) give the same FFT path results."""
    from convgrad.engine.algorithms import fft

    if backend == "scipy":
        import_optional("scipy")
        assert fft.FFT_OPTIONS
    else:
        monkeypatch.setattr(fft, "FFT_OPTIONS", {})
    for case in (Case(size=(12, 11), kernel=(5, 4), cin=2, cout=3, batch=2, padding=2,
                      dilation=(1, 2)),
                 Case(size=(16,), kernel=(7,), cin=4, cout=4, groups=2, padding=3,
                      dtype="float32")):
        with ops.forced_method("fft"):
            check_against_torch(case)


# One line per case: fft forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
FFT_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(16,), kernel=(7,), cin=4, cout=4, groups=2, padding=3), "forward dx dw"),  # 1-d
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(12, 11), kernel=(5, 4), cin=2, cout=3, batch=2, padding=2, dilation=(1, 2)),
     "forward dx"),                                          # ∂w: the dilation is its stride
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "dx dw"),  # s = 2
]


@pytest.mark.parametrize("case, runs_in", FFT_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fft_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by FFT, vs torch and the plain loops."""
    check_forced("fft", replace(case, dtype=dtype), runs_in)
