"""`convgrad train`: accuracy on real data, outputs, determinism, data formats, user errors."""

import gzip
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import import_optional
from sklearn.datasets import load_digits

import convgrad as cg
from convgrad.cli import main
from convgrad.data import load
from convgrad.progress import Progress
from convgrad.train import build_model, evaluate


def run(capsys, *argv):
    code = main(["train", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_reaches_97_percent_and_writes_its_outputs(tmp_path, capsys):
    code, out, _ = run(capsys, "--out", str(tmp_path))
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.97
    for key in ("train_loss", "train_accuracy", "test_accuracy_per_epoch"):
        assert len(metrics[key]) == 30
    assert metrics["seconds"] > 0 and out.count("\nepoch ") + out.startswith("epoch") >= 30
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = build_model((1, 8, 8), 10)
    model.load_state_dict(cg.load(tmp_path / "model.npz"))
    data = load("digits", seed=0)
    assert evaluate(model, data.x_test, data.y_test)[1] == metrics["test_accuracy"]


def test_same_seed_same_numbers(tmp_path, capsys):
    runs = []
    for name in ("a", "b"):
        assert run(capsys, "--epochs", "2", "--seed", "5", "--out", str(tmp_path / name))[0] == 0
        m = json.loads((tmp_path / name / "metrics.json").read_text())
        runs.append({k: m[k] for k in ("train_loss", "train_accuracy", "test_loss",
                                       "test_accuracy_per_epoch")})
    assert runs[0] == runs[1]


def mnist_style(writers, n, seed):
    """28×28 uint8 images: digits of the given sklearn indices upscaled 3× (24×24) and placed
    ±1 px off centre in a 28×28 frame. Disjoint ``writers`` keep test digits unseen."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    pick = rng.choice(writers, n)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, j in enumerate(pick):
        dy, dx = rng.integers(1, 4, 2)
        images[i, dy:dy + 24, dx:dx + 24] = np.kron(digits.images[j], np.ones((3, 3))) * 255 / 16
    return images, digits.target[pick].astype(np.uint8)


def write_idx(path, array, gz):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    (gzip.open if gz else open)(path, "wb").write(header + array.tobytes())


def test_mnist_style_idx_folder_trains_and_gz_is_optional(tmp_path, capsys):
    """No MNIST offline: a 28×28 IDX set of 2 000 upscaled digits, tested on 400 digits of other
    writers. Measured with the defaults (shift augmentation, cosine schedule): 0.865 after 4
    epochs, 0.945 after the default 30 (without augmentation 0.92–0.94)."""
    parts = {"train": mnist_style(np.arange(1400), 2000, 0),
             "t10k": mnist_style(np.arange(1400, 1797), 400, 1)}
    for prefix, (x, y) in parts.items():
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", x, True)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", y, True)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", y, False)
    code, out, _ = run(capsys, "--data", str(tmp_path), "--epochs", "4")
    assert code == 0 and "2000 train / 400 test images of 1×28×28, 10 classes" in out
    accuracy = float(out.split("test accuracy ")[1].split("%")[0]) / 100
    assert accuracy >= 0.85
    plain = tmp_path / "plain"
    plain.mkdir()
    for prefix, (x, y) in parts.items():
        write_idx(plain / f"{prefix}-images.idx3-ubyte", x, False)
        write_idx(plain / f"{prefix}-labels.idx1-ubyte", y, False)
    a, b = load(str(tmp_path)), load(str(plain))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.x_train.dtype == np.float32 and a.x_train.max() == 1.0


def test_npz_with_channels_float_and_given_test_set(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.random((60, 3, 12, 10)).astype(np.float32)
    y = rng.integers(0, 4, 60)
    np.savez(tmp_path / "d.npz", x=x[:50], y=y[:50], x_test=x[50:], y_test=y[50:])
    code, out, _ = run(capsys, "--data", str(tmp_path / "d.npz"), "--epochs", "1",
                       "--batch-size", "16")
    assert code == 0 and "50 train / 10 test images of 3×12×10, 4 classes" in out
    np.savez(tmp_path / "split.npz", x=(x[:, 0] * 255).astype(np.uint8), y=y.astype(float))
    code, out, _ = run(capsys, "--data", str(tmp_path / "split.npz"), "--epochs", "1")
    assert code == 0 and "48 train / 12 test images of 1×12×10" in out


def test_onnx_export_of_the_trained_net_runs_in_onnxruntime(tmp_path, capsys):
    """``--onnx``: the trained net as ONNX (any batch size); onnxruntime, a client nobody here
    wrote, gives the saved model's logits."""
    ort = import_optional("onnxruntime")
    path = tmp_path / "digits.onnx"
    code, out, _ = run(capsys, "--epochs", "2", "--out", str(tmp_path), "--onnx", str(path))
    assert code == 0 and f"wrote {path} (ONNX); onnxruntime reproduces the logits" in out
    model = build_model((1, 8, 8), 10)
    model.load_state_dict(cg.load(tmp_path / "model.npz"))
    model.eval()
    data = load("digits", seed=0)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 7, len(data.x_test)):
        images = data.x_test[:n].astype(np.float32)
        got = session.run(["logits"], {"images": images})[0]
        with cg.no_grad():
            want = model(cg.tensor(images)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arrays, argv, message", [
    (None, ["--data", "absent.npz"], "no such file or folder"),
    ({"x": np.zeros((4, 8, 8))}, [], "missing array 'y'"),
    ({"x": np.zeros((4, 8, 8)), "y": np.array([0.5, 1, 2, 3])}, [], "labels must be integers"),
    ({"x": np.zeros((4, 8)), "y": np.arange(4)}, [], "must be (N, H, W) or (N, C, H, W)"),
    ({"x": np.zeros((4, 8, 8)), "y": np.arange(5)}, [], "4 images but y has 5 labels"),
    ({"x": np.zeros((4, 8, 8)), "y": np.arange(4), "x_test": np.zeros((2, 8, 8))}, [],
     "both x_test and y_test"),
    ({"x": np.zeros((4, 2, 2)), "y": np.arange(4)}, [], "too small"),
    ({"x": np.zeros((4, 8, 8)), "y": -np.arange(4)}, [], "must be ≥ 0"),
    (b"garbage", [], "not a readable .npz"),
    (None, ["--epochs", "0"], "--epochs: expected a positive integer"),
    (None, ["--lr", "-1"], "--lr: expected a positive finite number"),
    (None, ["--batch-size", "x"], "--batch-size: expected a positive integer"),
    (None, ["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (None, ["--onnx", "absent/m.onnx"], "--onnx absent/m.onnx: folder"),
    (None, ["--onnx", "."], "--onnx '.': is a folder"),
])
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch, arrays, argv, message):
    monkeypatch.chdir(tmp_path)
    if isinstance(arrays, dict):
        np.savez(tmp_path / "d.npz", **arrays)
    elif isinstance(arrays, bytes):
        (tmp_path / "d.npz").write_bytes(arrays)
    if arrays is not None:
        argv = ["--data", "d.npz", *argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_idx_folder_errors(tmp_path, capsys):
    code, _, err = run(capsys, "--data", str(tmp_path))
    assert code == 2 and "no 'train*images*' IDX file" in err
    x, y = mnist_style(np.arange(10), 10, 0)
    write_idx(tmp_path / "train-images-idx3-ubyte", x, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y, False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y, False)
    data = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(data[:-5])
    code, _, err = run(capsys, "--data", str(tmp_path))
    assert code == 2 and "truncated?" in err


def test_the_command_is_installed_and_errors_have_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "convgrad", "train", "--data",
                           str(tmp_path / "none.npz")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("convgrad train: --data")


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("columns", [30, 80, 200])
def test_progress_bar_fits_the_terminal_and_plain_lines_elsewhere(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    for stream, bar_kind, live in ((Terminal(), None, True), (io.StringIO(), None, False),
                                   (Terminal(), False, False)):
        if bar_kind is False:                       # a terminal without tqdm installed
            monkeypatch.setattr("convgrad.progress._tqdm", lambda: None)
        bar = Progress(epochs=20, batches=300, stream=stream, interval=0)
        for done in range(1, 301):
            bar.update(0, done, 0.5, 0.75, 64 * done)
        bar.finish(0, "loss 0.5")
        text = stream.getvalue()
        shown = "299/300  loss 0.5" if columns < 40 else "299/300  loss 0.5000  acc 75.00%"
        assert ("\r" in text and shown in text) == live
        assert text.split("\r")[-1] == "epoch  1/20  loss 0.5\n"
        assert max(len(line) for line in text.split("\r")) <= columns, "the bar wraps"


def test_float_images_in_0_255_are_mapped_like_bytes(tmp_path, capsys):
    digits = load_digits()
    x = (digits.images * (255 / 16)).astype(np.float64)          # floats, not bytes
    np.savez(tmp_path / "f.npz", x=x, y=digits.target)
    np.savez(tmp_path / "b.npz", x=x.astype(np.uint8), y=digits.target)
    accuracies = []
    for name in ("f.npz", "b.npz"):
        code, out, _ = run(capsys, "--data", str(tmp_path / name), "--epochs", "10")
        assert code == 0
        accuracies.append(float(out.split("test accuracy ")[1].split("%")[0]))
    assert "mapped onto [0, 1]" in run(capsys, "--data", str(tmp_path / "f.npz"), "--epochs",
                                       "1")[1]
    assert min(accuracies) >= 95 and abs(accuracies[0] - accuracies[1]) <= 2
    data = load(str(tmp_path / "f.npz"))
    assert data.x_train.min() == 0 and data.x_train.max() == 1 and data.scale == (0.0, 255.0)


def test_shift_augmentation_moves_each_image_within_bounds():
    from convgrad.train import resolve_augment, resolve_schedule, shift_batch

    images = np.zeros((50, 1, 9, 9), np.float32)
    images[:, 0, 4, 4] = 1.0                                    # one bright pixel, centred
    moved = shift_batch(images, np.random.default_rng(0))
    assert moved.shape == images.shape and moved.dtype == np.float32
    where = np.argwhere(moved[:, 0] == 1.0)
    assert len(where) == 50                                     # nothing lost at ±2
    assert np.abs(where[:, 1:] - 4).max() == 2 and len({tuple(p) for p in where[:, 1:]}) > 5
    again = shift_batch(images, np.random.default_rng(0))
    np.testing.assert_array_equal(moved, again)                 # seeded
    assert not resolve_augment("auto", (1, 8, 8)) and resolve_augment("auto", (1, 28, 28))
    assert resolve_schedule("auto", True) == "cosine"
    assert resolve_schedule("auto", False) == "constant"
