"""The command line as a whole: one error style for every command, exit 2 before any work for
bad arguments, unwritable outputs, missing optional dependencies and unusable data."""

import builtins
import gzip
import os

import numpy as np
import pytest

from convgrad import bench
from convgrad.cli import COMMANDS, main


def fails(capsys, argv, command):
    """Run ``argv``; assert exit 2 and one stderr line in the common style; the message."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    prefix = f"convgrad {command}: " if command else "convgrad: "
    assert err.startswith(prefix), err
    return err[len(prefix):].strip()


@pytest.mark.parametrize("command, argv", [
    ("train", ["--epochs", "zero"]),
    ("train", ["--augment", "sideways"]),
    ("explain", ["--in-channels", "-1"]),
    ("explain", ["--format", "pdf"]),
    ("bench", ["--repeat", "0"]),
    ("bench", ["--dtype", "int8"]),
    ("check", []),                                   # the target is required
    ("check", ["f.py:f", "--dims", "4"]),
    ("gradcheck", ["--order", "3"]),
    ("gradcheck", ["--seed", "-1"]),
])
def test_argparse_errors_of_every_command_share_one_style(capsys, command, argv):
    message = fails(capsys, [command, *argv], command)
    assert "argument" in message or "required" in message


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_options_are_named_under_their_command(capsys, command):
    extra = ["x.py:f"] if command == "check" else []
    assert fails(capsys, [command, *extra, "--frobnicate"], command) == \
        "unrecognized arguments: --frobnicate"


def test_no_command_or_an_unknown_one(capsys):
    assert "choose a command: train, explain" in fails(capsys, [], None)
    assert "invalid choice: 'frob'" in fails(capsys, ["frob"], None)
    assert main(["--help"]) == 0 and "train" in capsys.readouterr().out
    assert main(["train", "--help"]) == 0 and "--epochs" in capsys.readouterr().out


@pytest.fixture
def no_work(monkeypatch):
    """Any benchmark, training or derivation started means the check came too late."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")
    monkeypatch.setattr(bench, "run", forbidden)
    monkeypatch.setattr("convgrad.train.fit", forbidden)
    monkeypatch.setattr("convgrad.explain.explain", forbidden)
    monkeypatch.setattr("convgrad.check.conv_forward", forbidden)


@pytest.mark.parametrize("argv, command, message", [
    (["bench", "--configs", "conv1d", "--json", "/no/such/dir/r.json"], "bench",
     "--json /no/such/dir/r.json: folder /no/such/dir does not exist"),
    (["bench", "--markdown", "{tmp}"], "bench", "is a folder, not a file name"),
    (["bench", "--plot", "{tmp}/none/p.png"], "bench", "does not exist"),
    (["explain", "--out", "{tmp}/file"], "explain", "exists and is not a folder"),
    (["explain", "--out", "{tmp}/file/below"], "explain", "is a file, not a folder"),
    (["train", "--out", "{tmp}/file"], "train", "exists and is not a folder"),
    (["check", "x.py:f", "--out", "{tmp}/file"], "check", "exists and is not a folder"),
])
def test_output_paths_are_checked_before_any_work(tmp_path, capsys, no_work, argv, command,
                                                  message):
    (tmp_path / "file").write_text("already here")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert message in fails(capsys, argv, command)
    assert (tmp_path / "file").read_text() == "already here"


@pytest.mark.parametrize("argv, module, message", [
    (["check", "x.py:f"], "hypothesis", 'needs hypothesis: pip install "convgrad[check]"'),
    (["explain"], "sympy", 'needs sympy: pip install "convgrad[explain]"'),
    (["explain", "--out", "d"], "matplotlib", 'needs matplotlib: pip install "convgrad[explain]"'),
    (["bench", "--plot", "p.png"], "matplotlib", 'needs matplotlib: pip install "convgrad[plot]"'),
    (["bench", "--compare", "torch"], "torch", 'needs PyTorch: pip install "convgrad[bench]"'),
    (["bench", "--networks", "lenet5", "--compare", "torch"], "torch",
     'needs PyTorch: pip install "convgrad[bench]"'),
    (["train"], "sklearn", 'needs scikit-learn: pip install "convgrad[data]"'),
])
def test_a_missing_optional_dependency_names_its_extra(capsys, monkeypatch, no_work, argv,
                                                       module, message):
    real = builtins.__import__

    def without(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named {module!r}")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", without)
    assert message in fails(capsys, argv, argv[0])


def test_check_refuses_a_module_that_exits_loops_or_fails_at_import(tmp_path, capsys):
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(0)\n")
    assert "called sys.exit(0); a module to check must not exit at import" in fails(
        capsys, ["check", f"{exits}:f"], "check")
    stop = tmp_path / "stop"
    loops = tmp_path / "loops.py"
    loops.write_text(f"import os, time\nwhile not os.path.exists({str(stop)!r}):\n"
                     f"    time.sleep(0.01)\n")
    try:
        assert "did not finish within 0.5 s (--timeout)" in fails(
            capsys, ["check", f"{loops}:f", "--timeout", "0.5"], "check")
    finally:
        stop.write_text("")                     # let the abandoned import thread end
    raises = tmp_path / "raises.py"
    raises.write_text("1 / 0\n")
    assert "importing" in fails(capsys, ["check", f"{raises}:f"], "check")


def test_gradcheck_takes_op_names(capsys):
    assert main(["gradcheck", "--ops", "conv2d", "relu", "--order", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok") == 3 and "conv2d per-side padding" in out and "relu, leaky" in out
    message = fails(capsys, ["gradcheck", "--ops", "conv9d"], "gradcheck")
    assert "unknown op 'conv9d'; choose from" in message and "conv2d" in message \
        and "relu" in message


def write_idx(path, header, data=b"", gz=False):
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + data)


def idx_header(type_code, shape):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(int(n).to_bytes(4, "big")
                                                             for n in shape)


def good(n=8, classes=4, **changes):
    rng = np.random.default_rng(0)
    arrays = {"x": rng.random((n, 8, 8)), "y": np.arange(n) % classes}
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize("arrays, message", [
    (good(y=np.array([0, 1, 2, 10**9] * 2)), "labels go up to 1000000000 but there are only 8"),
    (good(y=np.array([0, 1, 2, 2**63 - 1] * 2)), "is not a usable class index"),
    (good(y=np.array([0, 1, 2, 1e300] * 2)), "label 1e+300 is not a usable class index"),
    (good(y=np.array([0, 1, np.nan, 1] * 2)), "float labels must be whole numbers"),
    (good(y=np.array([True, False] * 4)), "labels must be integers"),
    (good(x=np.full((8, 8, 8), np.nan)), "images contain NaN or infinity"),
    (good(x=np.full((8, 8, 8), 1e300)), "images contain NaN or infinity"),
    (good(x=np.zeros((0, 8, 8)), y=np.zeros(0, int)), "must be (N, H, W) or (N, C, H, W)"),
    (good(x_test=np.zeros((0, 8, 8)), y_test=np.zeros(0, int)), "x_test: images must be"),
    (good(x_test=np.zeros((2, 8, 8)), y_test=np.zeros(3, int)), "2 images but y_test has 3"),
    (good(x=np.zeros((8, 1, 1, 8, 8))), "must be (N, H, W) or (N, C, H, W)"),
    (good(y=np.zeros((8, 1), int)), "shape (N,)"),
    (good(x=np.zeros((8, 8, 8), complex)), "images must be numbers"),
    (good(x=np.zeros((8, 2, 2, 2))), "too small for two 2×2 poolings"),   # found by fuzzing
])
def test_train_refuses_unusable_npz_data(tmp_path, capsys, no_work, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    assert message in fails(capsys, ["train", "--data", str(tmp_path / "d.npz")], "train")


def test_train_refuses_corrupt_files_before_reading_them_whole(tmp_path, capsys, no_work):
    np.savez(tmp_path / "d.npz", **good())
    data = (tmp_path / "d.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    assert "not a readable .npz file" in fails(
        capsys, ["train", "--data", str(tmp_path / "cut.npz")], "train")
    np.savez(tmp_path / "objects.npz", x=np.array([None] * 8), y=np.arange(8))
    assert "pickled objects" in fails(
        capsys, ["train", "--data", str(tmp_path / "objects.npz")], "train")
    folder = tmp_path / "idx"
    folder.mkdir()
    for prefix in ("train", "t10k"):              # 2**32 × 2**32 images declared, 16 bytes held
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", idx_header(8, (2**32 - 1,) * 3),
                  bytes(16), gz=True)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", idx_header(8, (4,)), bytes(4))
    assert "(truncated?)" in fails(capsys, ["train", "--data", str(folder)], "train")
    os.remove(folder / "train-images-idx3-ubyte.gz")
    write_idx(folder / "train-images-idx3-ubyte", idx_header(8, (4, 8)), bytes(32))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", b"\x00\x00\x08\x03\x00", gz=True)
    assert "IDX header ends early" in fails(capsys, ["train", "--data", str(folder)], "train")
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not gzip")
    assert "cannot read" in fails(capsys, ["train", "--data", str(folder)], "train")


def test_bench_explain_prints_the_plans_without_timing(capsys, monkeypatch):
    """``convgrad bench --explain``: each configuration's forward, input- and weight-gradient
    algorithm and why the others were not taken; nothing is timed."""
    from convgrad.cli import main

    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("bench --explain timed"))
    assert main(["bench", "--explain", "--configs", "conv1d", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== conv1d (float64) ==")
    for part in ("forward: ", "input gradient: ", "weight gradient: ", "not fft"):
        assert part in out


@pytest.mark.parametrize("argv, message", [
    (["--networks", "alexnet"], "unknown network 'alexnet'; choose from mnist, resnet8"),
    (["--networks", "--plot", "p.png"], "--plot applies to the configurations, not to "
                                        "--networks"),
    (["--networks", "lenet5", "--steps", "0"], "expected a positive integer"),
])
def test_bench_networks_refuses_bad_arguments_before_any_work(capsys, no_work, argv, message):
    assert message in fails(capsys, ["bench", *argv], "bench")


def test_bench_networks_times_convgrad_alone_without_compare(capsys, tmp_path):
    """Without --compare torch only convgrad runs (torch's columns stay empty)."""
    import json

    out = tmp_path / "rows.json"
    assert main(["bench", "--networks", "lenet5", "--steps", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "## float32" in text and "| lenet5 | 64 |" in text and "| – | – |" in text
    (row,) = json.loads(out.read_text())
    assert row["network"] == "lenet5" and row["convgrad_ms"] > 0 and "torch_ms" not in row
