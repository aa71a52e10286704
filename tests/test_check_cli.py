"""`convgrad check` on student code as files: the right function is blamed (a course backward
is judged on a cache built from correct pieces), a wrong calling convention is a usage error
that proposes the flags (or is inferred), errors point at the student's line, the student's
prints are kept out of the report, exact tiling can be declared, and --kind both checks a pair.
"""

import textwrap

import pytest

from convgrad import check
from convgrad.check.config import strategy
from convgrad.cli import main

FAST = ["--max-examples", "40"]

FORWARD = '''
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    {check}
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + {bias}
    return out, (x, w, b, conv_param)
'''
BACKWARD = '''

def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
                    dxp[n, :, rows, cols] {assign} w[f] * dout[n, f, i, j]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
'''


def course(tmp_path, check="", bias="b[f]", assign="+=", name="mine.py"):
    path = tmp_path / name
    path.write_text(FORWARD.format(check=check or "pass", bias=bias)
                    + BACKWARD.format(assign=assign))
    return path


def write(tmp_path, code, name="mine.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return path


def run(capsys, argv):
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------- item 3: blame the right function
def test_a_correct_backward_is_not_failed_for_its_broken_forward(tmp_path, capsys):
    path = course(tmp_path, bias="2 * b[f]")             # the forward adds the bias twice
    code, out, err = run(capsys, [f"{path}:conv_backward_naive", "--kind", "backward", *FAST])
    forward, backward = out.split("\n\n")
    assert "conv_forward_naive — forward" in forward and "FAILED" in forward
    assert "conv_backward_naive — backward" in backward and "passed: 40 configurations" in \
        backward
    assert "documented form (x, w, b, conv_param)" in backward and "FAILED (see its report)" in \
        backward
    assert code == 0, "--kind backward: the backward's verdict decides"
    code, out, _ = run(capsys, [f"{path}:conv_backward_naive", "--kind", "both", *FAST])
    assert code == 1 and out.count("FAILED") == 2 and "passed: 40" in out


def test_a_forward_that_raises_is_named_not_the_backward(tmp_path, capsys):
    path = course(tmp_path, check="assert stride == 1, 'stride not supported yet'")
    code, out, _ = run(capsys, [f"{path}:conv_backward_naive", "--kind", "backward", *FAST])
    forward, backward = out.split("\n\n")
    assert "AssertionError: stride not supported yet" in forward
    assert "passed: 40 configurations" in backward and "AssertionError" not in backward
    assert code == 0


def test_without_the_documented_cache_the_forward_is_blamed(tmp_path, capsys):
    code = FORWARD.format(check="assert stride == 1, 'no stride'", bias="b[f]").replace(
        "return out, (x, w, b, conv_param)", "return out, {'x': x, 'w': w, 'b': b, 'p': "
                                             "conv_param}")
    code += BACKWARD.format(assign="+=").replace(
        "x, w, b, conv_param = cache", "x, w, b, conv_param = (cache[k] for k in 'xwbp')")
    path = write(tmp_path, code)
    status, out, _ = run(capsys, [f"{path}:conv_backward_naive", "--kind", "backward", *FAST])
    backward = out.split("\n\n")[1]
    assert "not the documented (x, w, b, conv_param)" in backward
    assert "NOT CHECKED" in backward and "conv_forward_naive, which makes the cache, failed: " \
        "AssertionError: no stride" in backward
    assert status == 1


def test_the_api_reports_both_verdicts(tmp_path):
    namespace = {}
    exec(FORWARD.format(check="pass", bias="2 * b[f]") + BACKWARD.format(assign="+="),
         namespace)
    report = check.conv_backward(namespace["conv_backward_naive"],
                                 namespace["conv_forward_naive"], max_examples=30)
    assert report.style == "course" and report.cache == "documented"
    assert report.passed and not report.forward_report.passed


# ----------------------------------------------------------- item 5: the calling convention
@pytest.mark.parametrize("target, flags, message", [
    ("conv_forward_naive", ["--style", "torch"],
     "conv_forward_naive takes (x, w, b, conv_param): run with --style course"),
    ("conv_backward_naive", ["--kind", "forward"],
     "conv_backward_naive takes (dout, cache): run with --kind backward"),
    ("conv_backward_naive", ["--style", "torch", "--kind", "backward"],
     "conv_backward_naive takes (dout, cache): run with --style course"),
])
def test_a_wrong_convention_is_a_usage_error_proposing_the_flags(tmp_path, capsys, target,
                                                                 flags, message):
    path = course(tmp_path)
    code, out, err = run(capsys, [f"{path}:{target}", *flags, *FAST])
    assert code == 2 and out == ""
    assert err == f"convgrad check: {message}\n"


@pytest.mark.parametrize("code, flags, message", [
    ("def conv2d(x, w, b, stride, padding):\n    return x\n", ["--style", "course"],
     "conv2d takes (x, w, b, stride, padding): run with --style torch"),
    ("def conv2d(x, w, b, stride, padding):\n    return x, None\n", [],
     "a torch-style forward returns the output array alone, got a tuple of 2"),
    ("def conv_backward(dout, x, w, b, stride, padding):\n    return x, w\n", [],
     "backward must return (dx, dw, db), got a tuple of 2"),
    ("def conv(x, w, b, stride, padding):\n    return x\n", ["--features", "dilation"],
     "conv does not follow the torch-style forward convention f(x, w, b, stride, padding, "
     "dilation=…): TypeError: conv() got an unexpected keyword argument 'dilation'"),
])
def test_first_call_mismatches(tmp_path, capsys, code, flags, message):
    path = write(tmp_path, code)
    name = code.split("(")[0].removeprefix("def ")
    status, out, err = run(capsys, [f"{path}:{name}", *flags, *FAST])
    assert status == 2 and message in err and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_the_style_and_kind_are_read_from_the_signature(tmp_path, capsys):
    path = course(tmp_path)
    code, out, _ = run(capsys, [f"{path}:conv_forward_naive", *FAST])   # no flags: both
    assert code == 0 and out.count("course style") == 2 and out.count("passed: 40") == 2
    torch_only = write(tmp_path, """
        from convgrad import ops

        def my_conv_grad(dout, x, w, b, stride, padding):
            return (ops.conv_grad_input(dout, w, x.shape, stride=stride, padding=padding),
                    ops.conv_grad_weight(x, dout, w.shape, stride=stride, padding=padding),
                    dout.sum(axis=(0, 2, 3)))
        """, "grad.py")
    code, out, _ = run(capsys, [f"{torch_only}:my_conv_grad", *FAST])
    assert code == 0 and "backward (dx, dw, db), torch style" in out
    assert check.conventions.guess(lambda x, w, b, conv_param: 0) == ("course", "forward")
    assert check.conventions.guess(lambda dout, cache: 0) == ("course", "backward")
    assert check.conventions.guess(lambda x, w, b, stride=1, padding=0: 0) == \
        ("torch", "forward")


def test_explicit_flags_stay_authoritative_but_are_questioned(tmp_path, capsys):
    path = write(tmp_path, """
        from convgrad import ops

        def conv_backward_fake(x, w, b, stride, padding):     # a forward, whatever its name
            return ops.conv(x, w, b, stride=stride, padding=padding)
        """)
    code, out, _ = run(capsys, [f"{path}:conv_backward_fake", "--kind", "forward", *FAST])
    assert code == 0 and "warning: conv_backward_fake takes (x, w, b, stride, padding), " \
        "which looks like a backward; checking it as declared: torch-style forward" in out


# ----------------------------------------------------------- items 6, 7: location, prints
def test_an_error_points_at_the_students_line(tmp_path, capsys):
    path = write(tmp_path, """
        import numpy as np

        def conv2d(x, w, b, stride, padding):
            total = np.sum(x, axis=7)
            return total
        """)
    code, out, _ = run(capsys, [f"{path}:conv2d", *FAST])
    assert code == 1
    assert f"(at {path}:5: total = np.sum(x, axis=7))" in out and "fromnumeric" not in out


def test_the_students_prints_are_captured(tmp_path, capsys):
    path = write(tmp_path, """
        from convgrad import ops
        print("loading my module")

        def conv2d(x, w, b, stride, padding):
            print("shapes", x.shape, w.shape)
            return ops.conv(x, w, b, stride=stride, padding=padding)
        """)
    code, out, _ = run(capsys, [f"{path}:conv2d", "--kind", "forward", *FAST])
    assert code == 0 and "shapes" not in out and "loading" not in out
    assert "your function printed" in out and "lines (--show-output to see them)" in out
    assert "printed 1 line (--show-output" in out.splitlines()[0]          # the import
    code, out, _ = run(capsys, [f"{path}:conv2d", "--kind", "forward", "--show-output", *FAST])
    lines = out.splitlines()
    report_end = next(i for i, line in enumerate(lines) if line.startswith("passed:"))
    shown = [line for line in lines if line.startswith("  | shapes")]
    assert len(shown) == 40 and all(lines.index(s) > report_end for s in shown[:1])
    assert "  | loading my module" in lines


# ----------------------------------------------------------- item 4: declared exact tiling
def test_the_tiled_feature_draws_only_exact_tilings_and_keeps_strides():
    from hypothesis import given, settings

    seen = []

    @settings(max_examples=150, database=None, derandomize=True)
    @given(strategy(2, ("stride", "padding", "nonsquare", "tiled")))
    def draw(config):
        assert config.tiles and min(config.size) >= 1
        seen.append(config.stride)

    draw()
    assert max(seen) == 3


def test_assume_tiling_lets_exact_tiling_code_pass(tmp_path, capsys):
    path = course(tmp_path, check="assert (H + 2 * pad - HH) % stride == 0, 'does not tile'")
    code, out, _ = run(capsys, [f"{path}:conv_forward_naive", "--kind", "forward", *FAST])
    assert code == 1 and "mod s ≠ 0" in out and "--assume-tiling" in out
    code, out, _ = run(capsys, [f"{path}:conv_forward_naive", "--assume-tiling", *FAST])
    assert code == 0 and out.count("passed: 40") == 2 and "tiled" in out
    code, _, _ = run(capsys, [f"{path}:conv_forward_naive", "--features",
                              "stride,padding,tiled", *FAST])
    assert code == 0


# ----------------------------------------------------------- --kind both, arrays, exit codes
def test_kind_both_checks_the_pair_and_shows_small_arrays(tmp_path, capsys):
    path = course(tmp_path, assign="=")             # the accumulation bug in the backward
    code, out, _ = run(capsys, [f"{path}:conv_forward_naive", *FAST])
    forward, backward = out.split("\n\n")
    assert "passed: 40" in forward and "FAILED" in backward and code == 1
    assert "accumulation (+=)" in backward
    assert "arrays of the failing configuration" in backward
    for name in ("x", "w", "b", "dout", "expected dx", "got dx"):
        assert f"\n    {name} (" in backward, name


def test_large_arrays_are_not_printed():
    def wrong(x, w, b, stride, padding):
        from convgrad import ops
        return ops.conv(x, w, b, stride=stride, padding=padding) + (x.shape[2] > 5)

    report = check.conv_forward(wrong, max_examples=40, features=())
    text = check.render_text(report)
    assert not report.passed and report.failure.config.size == (6, 6)
    assert report.failure.expected.size > 30 and "expected out (" not in text
    assert "    x (" not in text and "    b (1,) = [" in text     # the small ones still are


@pytest.mark.parametrize("code, argv, message", [
    ("def conv2d(x, w, b, stride, padding):\n    return x\n", ["conv2d", "--kind", "both"],
     "--kind both: {where} has no backward 'conv2d_backward' to go with 'conv2d'"),
    ("def conv_backward(dout, cache):\n    return dout\n", ["conv_backward"],
     "the course style backward needs its forward: {where} has no function 'conv_forward' "
     "(pass --forward NAME)"),
    ("def conv_backward(dout, cache):\n    return dout\n", ["conv_backward", "--kind", "both"],
     "--kind both: {where} has no forward to go with 'conv_backward' (pass --forward NAME)"),
])
def test_usage_errors_are_one_line(tmp_path, capsys, code, argv, message):
    path = write(tmp_path, code)
    status, out, err = run(capsys, [f"{path}:{argv[0]}", *argv[1:], *FAST])
    assert status == 2 and out == ""
    assert err == f"convgrad check: {message.format(where=path)}\n"


def test_the_tiling_hint_follows_the_remainder_variant():
    from convgrad.check.config import CheckConfig
    from convgrad.check.render import TILING_HINT
    from convgrad.check.runner import Failure, Report

    tiles, rest = CheckConfig(1, 1, 1, (3, 3), (1, 1), 2), CheckConfig(1, 1, 1, (2, 2), (1, 1), 2)
    for config, variant, diagnosis, shown in [
            (rest, "remainder", "wrong only when …", True),
            (rest, "stride", "wrong only when stride > 1", False),
            (rest, None, "wrong only when (n + 2p − d·(k − 1) − 1) mod s ≠ 0", True),
            (tiles, None, "wrong only when stride > 1", False),
            (rest, "remainder", "… declare it with --assume-tiling", False)]:
        report = Report("f", "forward", "torch", "nchw", 2, ("stride",), 3, 0.0,
                        Failure(config, "raised", None, "boom", diagnosis=diagnosis,
                                variant=variant))
        assert (TILING_HINT in check.render_text(report)) == shown, (variant, diagnosis)
