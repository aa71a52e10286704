"""The benchmark stays runnable, and its straightforward baseline computes the right thing."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import import_torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_ops  # noqa: E402
import straightforward  # noqa: E402

from convgrad import ops  # noqa: E402


@pytest.mark.parametrize("shape, k, stride, padding, dilation, groups", [
    ((2, 4, 9, 8), 3, 2, 1, 1, 2), ((2, 4, 12), 3, 1, 2, 2, 4), ((1, 2, 5, 6, 7), 3, 2, 1, 1, 1),
])
def test_straightforward_baseline_is_correct(shape, k, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((6 if groups != 4 else 4, shape[1] // groups, *[k] * (len(shape) - 2)))
    b = rng.standard_normal(w.shape[0])
    opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y, cols = straightforward.forward(x, w, b, stride, padding, dilation, groups)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = straightforward.backward(x, w, dy, cols, stride, padding, dilation, groups)
    np.testing.assert_allclose(y, ops.conv(x, w, b, **opts), atol=1e-12)
    np.testing.assert_allclose(dx, ops.conv_grad_input(dy, w, x.shape, **opts), atol=1e-12)
    np.testing.assert_allclose(dw, ops.conv_grad_weight(x, dy, w.shape, **opts), atol=1e-12)


def test_bench_ops_prints_a_row(capsys):
    import_torch()
    rows = bench_ops.main(["--configs", "mnist_small", "--dtype", "float32", "--repeat", "1"])
    assert len(rows) == 1 and rows[0]["cg_fwdbwd"] > 0 and rows[0]["torch_fwdbwd"] > 0
    assert rows[0]["sf_fwdbwd"] > 0
    assert "| mnist_small | float32 |" in capsys.readouterr().out


def test_convgrad_bench_cli_writes_table_json_markdown_and_plot(tmp_path, capsys):
    import json

    from convgrad.cli import main

    import_torch()
    out = tmp_path / "r.json"
    assert main(["bench", "--configs", "pointwise", "conv1d", "--dtype", "float64",
                 "--compare", "torch", "--repeat", "1", "--json", str(out), "--markdown",
                 str(tmp_path / "RESULTS.md"), "--plot", str(tmp_path / "bars.png")]) == 0
    text = capsys.readouterr().out
    assert "| pointwise | float64 |" in text and "geometric mean" in text
    result = json.loads(out.read_text())
    row = result["rows"][0]
    assert row["gflops_fwdbwd"] > 0 and 0 < row["peak_percent"] and row["extra_mib"] >= 0
    assert row["layer_gemm_percent"] == pytest.approx(
        100 * row["gflops_fwdbwd"] / row["layer_gemm_gflops"])
    assert result["meta"]["gemm_peak_gflops"]["float64"] > 0
    page = (tmp_path / "RESULTS.md").read_text()
    assert "Regenerate with `convgrad bench --compare torch --markdown" in page
    assert "| conv1d |" in page and "FFT: " in page
    assert (tmp_path / "bars.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["bench", "--configs", "nonsense"]) == 2


def test_bench_train_runs_both_frameworks_from_the_same_start(capsys):
    import_torch()
    import bench_train  # noqa: PLC0415

    rows = bench_train.main(["--epochs", "2", "--seeds", "0"])
    row = rows[0]
    assert row["convgrad_s_per_epoch"] > 0 and row["torch_s_per_epoch"] > 0
    # same weights, same batches: the two runs may differ only by float32 round-off
    assert abs(row["convgrad_test_accuracy"] - row["torch_test_accuracy"]) <= 0.02
    assert "| 0 |" in capsys.readouterr().out


def test_layer_gemm_times_the_layers_own_im2col_product(monkeypatch):
    """The ceiling matmul has the layer's shape: (C_out/g) × (C_in/g·ΠK) × (N·ΠM) per group."""
    from convgrad import bench

    shapes = []
    real = np.matmul
    monkeypatch.setattr(bench.np, "matmul", lambda a, b: shapes.append((a.shape, b.shape))
                        or real(a, b))
    cfg = {"name": "t", "dims": 2, "N": 2, "Cin": 4, "Cout": 6, "size": [7, 5], "k": 3,
           "stride": 2, "padding": 1, "dilation": 1, "groups": 2}
    assert bench.layer_gemm(cfg, "float64", repeat=1) > 0
    assert shapes[0] == ((2, 3, 18), (2, 18, 2 * 4 * 3))          # out 4×3 per image
    shapes.clear()
    bench.layer_gemm(cfg, "float32", max_bytes=18 * 4 * 5, repeat=1)   # only 5 columns fit
    assert shapes[0] == ((2, 3, 18), (2, 18, 5))


def test_best_times_runs_each_case_in_bursts_and_keeps_the_best():
    from convgrad import bench

    calls = {"a": 0, "b": 0}
    durations = iter([0.0] + [0.002, 0.0005] * 3)        # warm-up, then slow/fast per burst

    def case_a():
        calls["a"] += 1
        end = time.perf_counter() + next(durations)
        while time.perf_counter() < end:
            pass

    def case_b():
        calls["b"] += 1

    t = bench.best_times({"a": case_a, "b": case_b}, repeat=3, burst_seconds=0.0)
    assert calls == {"a": 7, "b": 7}                      # warm-up + 3 rounds × 2 calls
    assert 0.0004 < t["a"] < 0.0015 and t["b"] < t["a"]   # the fast call of a burst counts
