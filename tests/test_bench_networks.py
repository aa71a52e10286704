"""benchmarks/bench_networks.py: every network's convgrad port computes torch's losses and
weights from the same start and batches (so the benchmark compares like with like), and the
script, its peak-RSS subprocess and its breakdown run. Small batches keep this quick."""

import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import TOLERANCE, import_torch, rel_err

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_networks  # noqa: E402

import convgrad  # noqa: E402


def without_dropout(load) -> None:
    """Dropout draws from each framework's own generator: switch it off to compare."""
    for module in load.modules.values():
        for m in module.modules():
            if type(m).__name__ == "Dropout":
                m.p = 0.0


def two_steps(name: str, dtype: str, batch: int = 4):
    torch = import_torch()
    ours, twin = bench_networks.pair(name, dtype, compare=True)
    without_dropout(ours)
    without_dropout(twin)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(2):                   # the second loss sees the first optimizer step
        arrays = ours.batch(rng, batch, dtype)
        losses.append((ours.step(*bench_networks.as_inputs(convgrad, arrays)),
                       twin.step(*bench_networks.as_inputs(torch, arrays))))
    return ours, twin, losses


@pytest.mark.parametrize("name", bench_networks.NAMES)
def test_the_port_computes_torchs_losses_and_weights(name):
    ours, twin, losses = two_steps(name, "float32")
    for got, want in losses:
        np.testing.assert_allclose(got, want, rtol=TOLERANCE["float32"])
    for key, module in ours.modules.items():
        theirs = twin.modules[key].state_dict()
        for k, v in module.state_dict().items():
            assert_same_weights(v.numpy(), theirs[k].numpy(), (key, k))


def assert_same_weights(got: np.ndarray, want: np.ndarray, where) -> None:
    """The same weights after the two steps: within 1e-3 relative error — or, for Adam (the
    DCGAN's), all but a few elements within float32 round-off. Adam's first updates are
    ±lr·sign(g) per element, so where a gradient element is itself round-off sized, a sum in
    another order flips its sign and that weight moves 2·lr the other way (one element of
    netG's 409 600 by 3.3e-4, when ∂x's algorithm changed): round-off, not a wrong port."""
    if rel_err(got, want) < 1e-3:
        return
    off = np.abs(got - want) > 1e-5 * (1 + np.abs(want))
    assert off.mean() < 1e-4 and np.abs(got - want).max() < 1e-3, (where, off.sum(), off.size)


def test_float64_losses_agree_to_float64_round_off():
    _, _, losses = two_steps("resnet8", "float64", batch=2)
    for got, want in losses:
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_the_script_prints_one_table_per_dtype_with_the_summary(capsys, tmp_path):
    import_torch()
    out, page = tmp_path / "rows.json", tmp_path / "NETWORKS.md"
    rows = bench_networks.main(["--networks", "lenet5", "--steps", "1", "--warmup", "0",
                                "--batch-size", "2", "--no-rss", "--settle", "0.01", "--json",
                                str(out), "--markdown", str(page)])
    text = capsys.readouterr().out
    assert "| lenet5 | 2 |" in text and "geometric mean ratio convgrad/torch" in text
    (row,) = rows
    assert row["convgrad_ms"] > 0 and row["torch_infer_ms"] > 0 and row["ratio"] > 0
    assert out.read_text().startswith("[")
    written = page.read_text()                  # the page: the command, machine, the table
    assert written.startswith("# Whole training steps") and "--markdown" in written
    assert "- PyTorch 2." in written and "| lenet5 | 2 |" in written


def test_peak_rss_comes_from_a_subprocess_of_one_framework():
    rss = bench_networks.measure_rss("lenet5", "convgrad", "float32", steps=1, warmup=1,
                                     batch_size=2)
    assert rss["peak_mb"] > 10 and rss["lifetime_peak_mb"] >= rss["peak_mb"] * 0.99
    assert rss["step_mb"] is None or rss["step_mb"] >= 0


def test_the_breakdown_names_each_frameworks_op_kinds():
    import_torch()
    result = bench_networks.breakdown("lenet5", "float32", steps=1, batch_size=2, compare=True)
    ours = {row["op"] for row in result["convgrad"]["top"]}
    assert {"conv", "ConvolutionBackward0"} <= ours
    assert "Optimizer.step#SGD.step" in result["convgrad"]["table"]
    assert any(row["op"].startswith("aten::") for row in result["torch"]["top"])
    for b in result.values():
        assert 0 < b["recorded_ms_per_step"] <= b["wall_ms_per_step"] * 1.05
