"""`convgrad check` catches every classic bug with the right diagnosis, passes correct code in
both conventions and layouts, and reports crashes, wrong shapes, dtypes and hangs."""

import check_fixtures as fx
import pytest

from convgrad import check
from convgrad.cli import main

SMALL = dict(max_examples=60)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_correct_course_style_code_passes(layout):
    forward, backward = fx.make(layout=layout)
    for report in (check.conv_forward(forward, style="course", layout=layout, **SMALL),
                   check.conv_backward(backward, forward, style="course", layout=layout,
                                       **SMALL)):
        assert report.passed, check.render_text(report)
        assert report.configurations == 60 and report.max_error < 1e-12


def test_correct_torch_style_code_passes():
    assert check.conv_forward(fx.torch_forward, **SMALL).passed
    report = check.conv_backward(fx.torch_backward, **SMALL)
    assert report.passed
    assert "passed: 60 configurations" in check.render_text(report)


@pytest.mark.parametrize("bug, tensor, diagnosis", [
    ("assign", "dx", "an assignment (=) where accumulation (+=) is needed"),
    ("no_stride", "dx", "misses a ·stride"),
    ("swapped", "dw", "∂F is rot180 of the expected: correlation arguments swapped"),
    ("remainder", "dx", "mod s ≠ 0"),
    ("uncropped", "dx", "the padding is not cropped"),
    ("square_only", None, "square-only indexing"),
])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_each_backward_bug_is_caught_and_named(bug, tensor, diagnosis, layout):
    forward, backward = fx.make(bug, layout)
    correct_forward = fx.make(None if bug != "square_only" else bug, layout)[0]
    report = check.conv_backward(backward, correct_forward, style="course", layout=layout,
                                 **SMALL)
    assert not report.passed
    failure = report.failure
    assert diagnosis in failure.diagnosis, check.render_text(report)
    if tensor:
        assert failure.tensor == tensor
    assert sum(failure.config.size) <= 8, "the failing configuration is minimal"


def test_minimal_case_and_equation_for_the_accumulation_bug():
    report = check.conv_backward(fx.make("assign")[1], fx.correct_forward, style="course",
                                 **SMALL)
    f = report.failure
    assert f.config.batch == 1 and f.config.stride == 1 and f.config.padding == 0
    assert f.equation.startswith("∂L/∂X") and "+" in f.equation.split(" = ")[1]
    text = check.render_text(report)
    assert "minimal failing configuration" in text and "expected:" in text


def test_flipped_forward_is_named():
    report = check.conv_forward(fx.make("flipped")[0], style="course", **SMALL)
    assert "true convolution" in report.failure.diagnosis
    assert report.failure.equation.startswith("O₁₁ = X₁₁·F₁₁")


@pytest.mark.parametrize("fn, kind, message", [
    (fx.forward_returning_float32, "dtype", "out has dtype float32"),
    (fx.forward_that_raises, "raised", "RuntimeError: not implemented yet"),
    (lambda x, w, b, stride, padding: x[..., :0], "shape", "out has shape"),
    (lambda x, w, b, stride, padding: [1.0], "returned", "must be a NumPy array"),
])
def test_broken_functions_are_reported_not_crashing_the_checker(fn, kind, message):
    report = check.conv_forward(fn, max_examples=10)
    assert report.failure.kind == kind and message in report.failure.message


def test_a_hanging_function_is_stopped_by_the_timeout():
    report = check.conv_forward(fx.forward_that_hangs, timeout=0.3, max_examples=5)
    assert report.failure.kind == "hang" and "did not return within 0.3 s" in \
        report.failure.message


def test_claimed_features_limit_the_search():
    """A function that only handles stride 1 passes when it claims no stride."""
    forward = fx.make("no_stride")[1]
    report = check.conv_backward(forward, fx.correct_forward, style="course",
                                 features=("padding", "nonsquare"), **SMALL)
    assert report.passed


def test_cli_file_target_exit_codes_and_figure(tmp_path, capsys):
    target = f"{fx.__file__}:correct_backward"
    assert main(["check", target, "--kind", "backward", "--style", "course", "--forward",
                 "correct_forward", "--max-examples", "30"]) == 0
    assert "passed: 30 configurations" in capsys.readouterr().out
    buggy = tmp_path / "mine.py"
    buggy.write_text(f"import sys; sys.path.insert(0, {str(tmp_path.parent)!r})\n"
                     f"from check_fixtures import make\n"
                     f"conv_forward, conv_backward = make('assign')\n")
    import shutil
    shutil.copy(fx.__file__, tmp_path.parent / "check_fixtures.py")
    code = main(["check", f"{buggy}:conv_backward", "--kind", "backward", "--style", "course",
                 "--max-examples", "40", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1 and "diagnosis:" in out and "accumulation (+=)" in out
    assert (tmp_path / "out" / "check_failure.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv, message", [
    (["check", "nowhere.py:f"], "no such file"),
    (["check", "json:nothing_here"], "has no function 'nothing_here'"),
    (["check", "json"], "FILE.py:FUNCTION or package.module:FUNCTION"),
    (["check", "json:dumps", "--features", "stride,warp"], "unknown feature 'warp'"),
])
def test_cli_usage_errors(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_torch_style_bug_is_caught_too():
    _, backward = fx.torch_style("swapped")
    report = check.conv_backward(backward, **SMALL)
    assert report.failure.tensor == "dw" and "rot180" in report.failure.diagnosis


@pytest.mark.parametrize("dims", [1, 3])
def test_other_ranks_dilation_and_groups_are_explored(dims):
    from convgrad import ops

    def forward(x, w, b, stride, padding, dilation=1, groups=1):
        return ops.conv(x, w, b, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)

    features = ("stride", "padding", "dilation", "groups", "nonsquare")
    report = check.conv_forward(forward, dims=dims, features=features, max_examples=40)
    assert report.passed and report.configurations == 40

    def ignores_dilation(x, w, b, stride, padding, dilation=1, groups=1):
        return forward(x, w, b, stride, padding, 1, groups)

    report = check.conv_forward(ignores_dilation, dims=dims, features=features,
                                max_examples=40)
    assert not report.passed and "dilation" in report.failure.diagnosis
