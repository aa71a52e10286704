"""Fuzz: every subcommand's arguments, generated from their rules. An invalid value of any
option (drawn by ``fuzzing.breaking`` from the option's rule and written as a command-line
string), with valid values for others, gives exit 2 and one stderr line ``convgrad <command>:``
naming the option, no traceback, and no work started (training, benchmarking, searching and the
gradient suite are forbidden while they run). Valid runs of each cheap command are tiny and
must exit 0. ``main`` runs in-process for speed."""

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import Int, Real, bounded, breaking, fuzz, valid
from helpers import import_optional
from hypothesis import given
from hypothesis import strategies as st

from convgrad import selfcheck
from convgrad.bench import load_configs
from convgrad.check import FEATURES
from convgrad.cli import main

for heavy in ("sklearn.datasets", "sympy", "matplotlib.pyplot"):    # imported once, here: the
    import_optional(heavy)                          # per-call bounds measure convgrad, not them
FOLDER = Path(tempfile.mkdtemp(prefix="convgrad-fuzz-cli-"))
(FOLDER / "a-file").write_text("in the way")
(FOLDER / "garbage.npz").write_bytes(b"PK\x03\x04 not really")
NAIVE = Path(__file__).resolve().parent.parent / "examples" / "naive_conv.py"


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = bounded(main, argv)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def no_work():
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")
    with pytest.MonkeyPatch.context() as mp:
        for target in ("convgrad.train.fit", "convgrad.bench.run", "convgrad.check.conv_forward",
                       "convgrad.check.conv_backward", "convgrad.selfcheck.run"):
            mp.setattr(target, forbidden)
        yield


def refused_cli(argv, command, names=()):
    with no_work():
        code, out, err = run(argv)
    assert code == 2, (argv, code, out, err)
    assert err.startswith(f"convgrad {command}: ") and err.count("\n") == 1, (argv, err)
    assert "Traceback" not in err and out == "", (argv, out)
    if names:
        assert any(n in err for n in names), (argv, err)


# ------------------------------------------------------------- rules, as command-line text
def _int_ok(low):
    def ok(text):
        try:
            return int(text) >= low
        except ValueError:
            return False
    return ok


def _positive_ok(text):
    try:
        value = float(text)
    except ValueError:
        return False
    return bool(np.isfinite(value) and value > 0)


def bad_int(low):
    """Text that is not an integer ≥ low: from breaking(Int(low)), as the shell passes it."""
    return breaking(Int(low)).map(str).filter(lambda t: not _int_ok(low)(t))


BAD_POSITIVE = st.one_of(breaking(Real(low=0.0)).map(str), st.sampled_from(["0", "0.0", "-0"])
                         ).filter(lambda t: not _positive_ok(t))


def bad_choice(options):
    return st.text(max_size=8).filter(lambda t: t not in options)


def good_int(low):
    return valid(Int(low, low + 3)).map(str)


TRAIN = {"--epochs": bad_int(1), "--batch-size": bad_int(1), "--lr": BAD_POSITIVE,
         "--seed": bad_int(0), "--augment": bad_choice(("auto", "shift", "none")),
         "--schedule": bad_choice(("auto", "cosine", "constant"))}
EXPLAIN_TYPED = {"--in-channels": bad_int(1), "--out-channels": bad_int(1),
                 "--groups": bad_int(1), "--max-equations": bad_int(1), "--seed": bad_int(0),
                 "--format": bad_choice(("text", "markdown", "html", "json"))}
BENCH = {"--repeat": bad_int(1), "--dtype": bad_choice(("float32", "float64")),
         "--configs": bad_choice([c["name"] for c in load_configs()]),
         "--compare": bad_choice(("torch",))}
CHECK = {"--max-examples": bad_int(1), "--timeout": BAD_POSITIVE, "--rtol": BAD_POSITIVE,
         "--seed": bad_int(0), "--kind": bad_choice(("forward", "backward", "both")),
         "--style": bad_choice(("torch", "course")), "--layout": bad_choice(("nchw", "nhwc")),
         "--dims": bad_int(1).filter(lambda t: t not in ("1", "2", "3")) | st.just("4"),
         "--features": st.text(min_size=1, max_size=10).filter(
             lambda t: t != "none" and any(f.strip() not in FEATURES
                                           for f in t.split(",") if f.strip()))}
GRADCHECK = {"--order": bad_choice(("1", "2")), "--seed": bad_int(0),
             "--ops": bad_choice(list(selfcheck.SUITE) + sorted(
                 {op for ops in selfcheck.OPS.values() for op in ops}))}
COMMANDS = {"train": TRAIN, "explain": EXPLAIN_TYPED, "bench": BENCH, "check": CHECK,
            "gradcheck": GRADCHECK}


def option_value(option, text):
    """``--opt=value`` keeps a value starting with '-' a value; argparse then judges it."""
    return [f"{option}={text}"]


@fuzz(150)
@given(st.sampled_from(sorted(COMMANDS)), st.data())
def test_an_invalid_option_value_is_refused_before_any_work(command, data):
    rules = COMMANDS[command]
    option = data.draw(st.sampled_from(sorted(rules)), label="option")
    text = data.draw(rules[option], label="value")
    argv = [command] + ([f"{NAIVE}:conv2d"] if command == "check" else [])
    for other in data.draw(st.lists(st.sampled_from(sorted(rules)), max_size=2, unique=True)):
        if other != option and other.startswith(("--seed", "--epochs", "--repeat")):
            argv += [other, data.draw(good_int(1))]
    refused_cli(argv + option_value(option, text), command, (option, "argument", "unknown"))


# ------------------------------------------------------------- values checked by the command
def sizes(bad):
    """NxM text with one bad side, or three sides (explain draws 1-d and 2-d only)."""
    good = st.integers(1, 4).map(str)
    return st.one_of(bad, st.tuples(good, bad).map("x".join), st.tuples(bad, good).map("x".join),
                     st.tuples(good, good, good).map("x".join))


EXPLAIN_GEOMETRY = {"--input": sizes(bad_int(1)), "--kernel": sizes(bad_int(1)),
                    "--stride": sizes(bad_int(1)), "--dilation": sizes(bad_int(1)),
                    "--padding": sizes(bad_int(0)).filter(
                        lambda t: t not in ("same", "valid", "full")),
                    "--values": st.one_of(
                        st.lists(st.floats(-9, 9).map(str), max_size=5).filter(
                            lambda v: len(v) != 3).map(",".join),
                        st.tuples(st.floats(-9, 9).map(str), st.sampled_from(
                            ["nan", "inf", "-inf", "x", ""])).map(",".join).map(
                            lambda t: t + ",1"))}


@fuzz(60)
@given(st.sampled_from(sorted(EXPLAIN_GEOMETRY)), st.data())
def test_explain_refuses_invalid_geometry(option, data):
    text = data.draw(EXPLAIN_GEOMETRY[option], label="value")
    refused_cli(["explain"] + option_value(option, text), "explain")


def path_rule(kind):
    """Paths that cannot be written: under a file; a file in a missing folder (a missing
    output folder is created, so it is valid); a folder given for a file; a file for a
    folder."""
    names = st.text("abcxyz", min_size=1, max_size=6)
    options = [names.map(lambda n: str(FOLDER / "a-file" / n))]
    if kind == "file":
        options += [names.map(lambda n: str(FOLDER / "missing" / n / "r.out")),
                    st.just(str(FOLDER))]
    else:
        options.append(st.just(str(FOLDER / "a-file")))
    return st.one_of(options)


OUTPUTS = [("bench", "--json", "file"), ("bench", "--markdown", "file"),
           ("bench", "--plot", "file"), ("train", "--out", "dir"),
           ("explain", "--out", "dir"), ("check", "--out", "dir")]


@fuzz(40)
@given(st.sampled_from(OUTPUTS), st.data())
def test_unwritable_outputs_are_refused_before_any_work(where, data):
    command, option, kind = where
    path = data.draw(path_rule(kind), label="path")
    argv = [command] + ([f"{NAIVE}:conv2d"] if command == "check" else [])
    refused_cli(argv + [option, path], command, (option,))


@st.composite
def bad_datasets(draw):
    """A .npz that breaks one rule of --data: labels (integer, ≥ 0, fewer classes than images,
    one per image), images (rank, dtype, finite, non-empty) or the file itself."""
    n = draw(st.integers(2, 6))
    x, y = np.zeros((n, 8, 8), np.float32), np.arange(n) % 2
    broken = draw(st.sampled_from(["negative", "fraction", "huge", "shape", "kind", "nan",
                                   "rank", "empty", "length", "missing", "garbage", "none"]))
    if broken == "negative":
        y[draw(st.integers(0, n - 1))] = draw(st.integers(-2**63, -1))
    elif broken == "fraction":
        y = y + draw(st.sampled_from([0.5, np.nan, np.inf, -0.25]))
    elif broken == "huge":
        y[0] = draw(st.integers(n + 1, 2**63 - 1))
    elif broken == "shape":
        y = y[:, None]
    elif broken == "kind":
        y = draw(st.sampled_from([y.astype(bool), y.astype(complex), y.astype(str)]))
    elif broken == "nan":
        x[draw(st.integers(0, n - 1)), 3, 3] = draw(st.sampled_from([np.nan, np.inf]))
    elif broken == "rank":
        x = np.zeros((n,) + (2,) * draw(st.sampled_from([0, 1, 3, 4])), np.float32)
    elif broken == "empty":
        x, y = x[:0], y[:0]
    elif broken == "length":
        y = np.arange(n + draw(st.integers(1, 3))) % 2
    if broken == "garbage":
        return str(FOLDER / "garbage.npz")
    if broken == "none":
        return str(FOLDER / "does-not-exist.npz")
    path = FOLDER / f"data-{broken}.npz"
    np.savez(path, **({"x": x} if broken == "missing" else {"x": x, "y": y}))
    return str(path)


@fuzz(40)
@given(bad_datasets())
def test_train_refuses_unusable_data_before_training(path):
    refused_cli(["train", "--data", path], "train", ("--data", "images", "labels", "y"))


@fuzz(20)
@given(st.sampled_from(["no-colon", ":f", "json:", "missing.py:f", "json:no_such_fn",
                        "no_such_module_xyz:f"]))
def test_check_refuses_targets_it_cannot_load(target):
    if target == "missing.py:f":
        target = str(FOLDER / target)
    refused_cli(["check", target], "check")


# ------------------------------------------------------------- tiny valid runs: exit 0
@fuzz(8)
@given(st.sampled_from(sorted({op for ops in selfcheck.OPS.values() for op in ops})),
       valid(Int(0, 99)))
def test_gradcheck_valid_runs(op, seed):
    code, out, err = run(["gradcheck", "--ops", op, "--order", "1", "--seed", str(seed)])
    assert code == 0 and "all gradients agree" in out and err == "", (out, err)


@st.composite
def small_geometry(draw):
    dims = draw(st.sampled_from([1, 2]))
    size = [draw(st.integers(1, 4)) for _ in range(dims)]
    kernel = [draw(st.integers(1, n)) for n in size]
    return ["--input", "x".join(map(str, size)), "--kernel", "x".join(map(str, kernel)),
            "--stride", str(draw(st.integers(1, 2))),
            "--format", draw(st.sampled_from(["text", "markdown", "json"]))]


@fuzz(8)
@given(small_geometry())
def test_explain_valid_runs(argv):
    code, out, err = run(["explain", *argv])
    assert code == 0 and out and err == "", (argv, out[-300:], err)


@fuzz(5)
@given(st.integers(4, 12), st.integers(2, 3), st.integers(1, 8), valid(Int(0, 9)))
def test_train_valid_runs(n, classes, batch, seed):
    rng = np.random.default_rng(seed)
    path = FOLDER / "tiny.npz"
    np.savez(path, x=rng.random((n, 8, 8)), y=np.arange(n) % classes)
    code, out, err = run(["train", "--data", str(path), "--epochs", "1", "--batch-size",
                          str(batch), "--seed", str(seed)])
    assert code == 0 and "test accuracy" in out and err == "", (out, err)


@pytest.mark.parametrize("seed", [0, 7])       # check runs hypothesis itself: no @given here
def test_check_valid_runs(seed):
    code, out, err = run(["check", f"{NAIVE}:conv2d", "--max-examples", "3", "--seed",
                          str(seed)])
    assert code == 0 and "passed: 3 configurations" in out, (out, err)


def test_the_fixture_folder_is_as_the_rules_assume():
    assert (FOLDER / "a-file").is_file() and not os.path.exists(FOLDER / "missing")
