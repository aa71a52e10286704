"""`convgrad check` names the bug of student-style convolutions (tests/check_corpus/: loops,
im2col, einsum, stride tricks; NCHW and NHWC; course and torch style) and passes the correct
ones. Each corpus file's docstring starts with ``CORRECT`` or ``BUG: <class>`` and its
``kind=`` / ``layout=`` / ``style=``; every bug class has a phrase its diagnosis must contain.

Run as a script to print the corpus table: ``python tests/test_check_diagnose.py``."""

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from convgrad import check, ops
from convgrad.check import diagnose as dg
from convgrad.check.config import strategy
from convgrad.check.runner import Checker, Failure

CORPUS = Path(__file__).parent / "check_corpus"
SMALL = dict(max_examples=60)
NAMES = {"course": ("conv_forward_naive", "conv_backward_naive"),
         "torch": ("conv_forward", "conv_backward")}

PHRASES = {               # bug class → what its diagnosis must say
    "empty_crop": "`pad:-pad` is empty when pad = 0 (−0 is 0); crop with `pad:pad + H`",
    "constant_crop": "cropped by the constant `1:-1`, right only when pad = 1",
    "hardcoded_pad": "right only when pad = 1: the padding is a constant, not ",
    "all_zero": "is all zeros: never written?",
    "dx_dw_swapped": "dx and dw are swapped",
    "dw_last_image": "dw is only the last image's contribution",
    "dw_image0": "dw is only image 0's contribution: sum over the batch",
    "db_axes": "db is dout.sum(axis=(2, 3)); ∂b sums over the batch and every position",
    "db_mean": "db is dout.mean(axis=(0, 2, 3)), not a sum",
    "scaled_batch": "dx is the expected divided by the batch size N",
    "mean_window": "divided by the window size C·KH·KW",
    "layout": "comes back in the NCHW layout",
    "transposed": "out is transposed",
    "bias_twice": "the bias is added twice",
    "bias_per_channel": "the bias is added once per input channel",
    "bias_missing": "the bias is missing",
    "nonfinite": "out contains NaN at",
    "assignment": "an assignment (=) where accumulation (+=) is needed",
    "flipped": "the forward flips the kernel",
    "remainder": "--assume-tiling",
}


def header(path: Path) -> dict:
    """{'verdict': 'CORRECT' | class, 'kind', 'layout', 'style'} from the docstring's line 1."""
    line = path.read_text().split('"""')[1].splitlines()[0]
    words = line.replace("BUG:", "BUG").split()
    info = dict(w.split("=") for w in words if "=" in w)
    info["verdict"] = "CORRECT" if words[0] == "CORRECT" else words[1]
    return {"kind": "both", "layout": "nchw", "style": "course", **info}


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"corpus_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reports(path: Path) -> list:
    """The check's reports for one corpus file (forward and/or backward, as its header says)."""
    info, module = header(path), load(path)
    forward, backward = (getattr(module, n, None) for n in NAMES[info["style"]])
    opts = dict(style=info["style"], layout=info["layout"], **SMALL)
    out = []
    if info["kind"] in ("forward", "both"):
        out.append(check.conv_forward(forward, **opts))
    if info["kind"] in ("backward", "both"):
        if info["style"] == "course":
            out.append(check.conv_backward(backward, forward, **opts))
        else:
            out.append(check.conv_backward(backward, **opts))
    return out


FILES = sorted(p for p in CORPUS.glob("*.py") if p.name not in ("conftest.py", "__init__.py"))


def test_the_corpus_is_large_and_varied():
    verdicts = [header(p)["verdict"] for p in FILES]
    assert len(FILES) >= 12 and verdicts.count("CORRECT") >= 4
    assert set(verdicts) - {"CORRECT"} <= set(PHRASES)
    assert {header(p)["layout"] for p in FILES} == {"nchw", "nhwc"}
    assert {header(p)["style"] for p in FILES} == {"course", "torch"}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_verdict_and_diagnosis(path):
    verdict = header(path)["verdict"]
    for report in reports(path):
        text = check.render_text(report)
        if verdict == "CORRECT":
            assert report.passed, text
        else:
            assert not report.passed, text
            assert report.failure.diagnosis and PHRASES[verdict] in report.failure.diagnosis, \
                text


# --- the patterns themselves --------------------------------------------------------------


def test_patterns_are_named_in_order():
    names = [name for name, _ in dg.PATTERNS]
    assert len(names) == len(set(names))
    for earlier, later in [("nonfinite", "all_zero"), ("empty_crop", "hardcoded_pad"),
                           ("dx_dw_swapped", "scaled"), ("dw_batch", "scaled"),
                           ("hardcoded_pad", "bias_only"), ("scaled", "assignment")]:
        assert names.index(earlier) < names.index(later)


@settings(max_examples=80, deadline=None, database=None)
@given(strategy(2, ("stride", "padding", "dilation", "groups", "nonsquare")))
def test_the_probe_keeps_what_the_failure_depends_on(cfg):
    probe = dg.probe_config(cfg)
    assert (probe.stride, probe.padding, probe.dilation, probe.groups) == \
        (cfg.stride, cfg.padding, cfg.dilation, cfg.groups)
    assert probe.remainders == cfg.remainders
    assert probe.batch > cfg.batch and probe.cin > cfg.cin and probe.cout > cfg.cout
    assert all(n > m for n, m in zip(probe.size, cfg.size))
    assert all(o >= 1 for o in probe.out_size)


def reference(x, w, b, stride, padding):
    return ops.conv(x, w, b, stride=stride, padding=padding)


def overflowing(x, w, b, s, p):
    with np.errstate(over="ignore"):
        return reference(x, w, b, s, p) * 1e308 * 1e308


def last_column_is_the_bias(x, w, b, s, p):
    out = reference(x, w, b, s, p)
    out[..., -1] = b[:, None]            # the loop wrote the bias, never the window sum
    return out


@pytest.mark.parametrize("fn, phrase", [
    (overflowing, "out contains inf at out[0, 0, 0, 0] (1 of 1 elements): an overflow"),
    (last_column_is_the_bias, "out is exactly the bias at the 1 wrong position(s)"),
    (lambda x, w, b, s, p: reference(x, w, b, s, 1), "not the `padding` argument"),
    (lambda x, w, b, s, p: reference(x, w, b, s, p) - b[:, None, None] * 2,
     "out − expected = -2·b per filter: the bias is subtracted instead of added"),
    (lambda x, w, b, s, p: -reference(x, w, b, s, p), "negated (the sign is flipped)"),
    (lambda x, w, b, s, p: reference(x, w, b, s, p) * 1.5,
     "off by the constant factor 1.5"),
    (lambda x, w, b, s, p: np.ascontiguousarray(np.swapaxes(reference(x, w, b, s, p), 2, 3)),
     "out is transposed: it equals the expected with its spatial axes swapped (H ↔ W)"),
])
def test_torch_style_forward_patterns(fn, phrase):
    report = check.conv_forward(fn, max_examples=40)
    assert phrase in report.failure.diagnosis, check.render_text(report)


def test_a_hard_coded_pad_that_leaves_only_the_bias_says_so():
    """Shrinking takes the hard-coded pad 1 to pad 0 and a 1×1 kernel: the output is exactly
    the bias (the window reads only the added zeros)."""
    f = reports(CORPUS / "im2col_hardcoded_pad.py")[0].failure
    assert f.config.padding == 0 and f.got.size == 1
    assert "at pad 0 the extra zeros make the wrong outputs exactly the bias" in f.diagnosis


@pytest.mark.parametrize("fn", [
    lambda x, w, b, s, p: reference(x, w, b, s, p) + 0.5,
    lambda x, w, b, s, p: reference(x, w, b, s, p) + 1e-3 * x.sum(),
    lambda x, w, b, s, p: reference(x, w, b, s, p) ** 3,
])
def test_no_pattern_claims_an_unrelated_bug(fn):
    checker = Checker(fn, "forward", "torch", "nchw", 2, ("stride", "padding", "nonsquare"))
    failure, _ = checker.evaluate(check.CheckConfig(2, 2, 2, (3, 4), (2, 2), 1, 1))
    assert failure is not None and dg.match(checker, failure) is None


def test_a_single_element_coincidence_is_not_a_diagnosis():
    """At a 1-element failure any wrong value is a 'constant factor' of the expected: the probe
    configuration refuses it."""
    def wrong(x, w, b, s, p):
        out = reference(x, w, b, s, p)
        out.flat[0] += 1.0
        return out
    checker = Checker(wrong, "forward", "torch", "nchw", 2, ("stride", "padding"))
    failure, _ = checker.evaluate(check.CheckConfig(1, 1, 1, (1, 1), (1, 1)))
    assert failure.got.size == 1 and dg.match(checker, failure) is None


def test_remainder_hint_is_worded_per_kind():
    forward, backward = dg.hint("remainder", "forward"), dg.hint("remainder", "backward")
    assert "gradient" not in forward and "gradient" in backward
    assert "⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1" in forward and "last rows/columns" in forward
    assert "--assume-tiling" in forward and "--assume-tiling" in backward
    assert dg.hint("stride", "forward") == dg.VARIANT_HINTS["stride"]


def test_patterns_only_explain_values_and_shapes():
    checker = Checker(reference, "forward", "torch", "nchw", 2, ())
    cfg = check.CheckConfig(1, 1, 1, (2, 2), (1, 1))
    assert dg.match(checker, Failure(cfg, "raised", None, "boom")) is None
    assert dg.match(checker, replace(Failure(cfg, "dtype", "out", "float32"))) is None


def table() -> list:
    rows = []
    for path in FILES:
        verdict = header(path)["verdict"]
        for report in reports(path):
            f = report.failure
            got = "pass" if f is None else f"FAIL {f.tensor or f.kind}"
            text = "" if f is None else (f.diagnosis or "(no diagnosis)")
            ok = (f is None) if verdict == "CORRECT" else \
                (f is not None and bool(f.diagnosis) and PHRASES[verdict] in f.diagnosis)
            rows.append((path.name, report.kind, verdict, got, ok, text))
    return rows


if __name__ == "__main__":
    rows = table()
    print(f"{'file':32} {'kind':8} {'class':17} {'verdict':10} ok  diagnosis")
    for name, kind, verdict, got, ok, text in rows:
        print(f"{name:32} {kind:8} {verdict:17} {got:10} {'✓' if ok else '✗'}   {text[:80]}")
    buggy = [r for r in rows if r[2] != "CORRECT"]
    print(f"\nbuggy checks with the right diagnosis: {sum(r[4] for r in buggy)}/{len(buggy)}; "
          f"correct checks passed: {sum(r[4] for r in rows if r[2] == 'CORRECT')}/"
          f"{len(rows) - len(buggy)}")
