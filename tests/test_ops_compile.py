"""The first call does not wait on the compiler (convgrad/ops/warmup.py): until a (kernel, dtype)'s
Winograd code is built, the method rule serves a direct method and builds it in the background;
``CONVGRAD_COMPILE=wait`` (this suite's setting, tests/conftest.py) builds on the spot; once
built, the real calls compile nothing new — read-only inputs included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close, import_optional, import_torch

from convgrad import ops
from convgrad.ops import correlate, warmup, winograd

LAYER = ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), (1, 1), (1, 1), "float32")   # winograd's

FIRST_CALL = textwrap.dedent("""
    import json, sys
    import numpy as np
    from numba.core import event
    import convgrad as cg
    from convgrad import nn
    from convgrad.engine.winograd import blocks
    from convgrad.ops import warmup

    data = dict(np.load(sys.argv[1]))
    ran = []
    for name in ("forward", "weight"):          # the Winograd computations that ran
        setattr(blocks, name, (lambda f, n: lambda *a: ran.append(n) or f(*a))(
            getattr(blocks, name), name))

    def passes():
        x = cg.tensor(data["x"], requires_grad=True)
        c, d = nn.Conv2d(16, 16, 3), nn.Conv2d(16, 16, 3, groups=16)
        for m, p in ((c, "c"), (d, "d")):
            m.weight.array, m.bias.array = data[p + "w"], data[p + "b"]
        y = d(c(x))
        y.sum().backward()
        return [y.array, x.grad.array, c.weight.grad.array, c.bias.grad.array,
                d.weight.grad.array]

    first = passes()
    report = {"first": warmup.state((3, 3), "float32"), "ran_first": sorted(set(ran))}
    warmup.prepare([((3, 3), "float32")])         # wait for the background build
    report["built"] = warmup.state((3, 3), "float32")
    ran.clear()
    with event.install_recorder("numba:compile") as compiles:
        second = passes()
    report.update(ran_second=sorted(set(ran)), compiles=len(compiles.buffer))
    np.savez(sys.argv[2], *first, *second)
    print(json.dumps(report))
""")


def torch_two_layers(data: dict) -> list[np.ndarray]:
    """The script's two layers in torch (float64): y, ∂x, ∂w and ∂b of the first, ∂w of the
    depthwise one (∂L = Σ y)."""
    torch = import_torch()
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in data.items()}
    y = torch.nn.functional.conv2d(torch.nn.functional.conv2d(t["x"], t["cw"], t["cb"]),
                                   t["dw"], t["db"], groups=16)
    y.sum().backward()
    return [a.detach().numpy() for a in (y, t["x"].grad, t["cw"].grad, t["cb"].grad,
                                         t["dw"].grad)]


def test_a_fresh_process_answers_before_winograd_is_built_then_uses_it(tmp_path):
    """A fresh process with an empty cache folder: the first forward + backward of a 3×3 layer
    (which the rule gives to Winograd) and a depthwise one returns — torch's numbers — while
    the Winograd build is still running (the old code compiled ~70 s first); once built,
    Winograd runs the forward and weight gradient and nothing is compiled any more."""
    import_optional("numba")
    rng = np.random.default_rng(0)
    data = {"x": rng.random((4, 16, 24, 24)), "cw": rng.standard_normal((16, 16, 3, 3)) / 12,
            "cb": rng.standard_normal(16), "dw": rng.standard_normal((16, 1, 3, 3)) / 3,
            "db": rng.standard_normal(16)}
    data = {k: v.astype(np.float32) for k, v in data.items()}
    np.savez(tmp_path / "in.npz", **data)
    env = {**os.environ, "CONVGRAD_CACHE_DIR": str(tmp_path / "cache"),
           "CONVGRAD_COMPILE": "background",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", FIRST_CALL, str(tmp_path / "in.npz"),
                           str(tmp_path / "out.npz")], env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first"] == "building" and report["ran_first"] == []
    assert report["built"] == "ready" and report["compiles"] == 0
    assert report["ran_second"] == ["forward", "weight"]
    got = np.load(tmp_path / "out.npz")
    want = torch_two_layers(data)
    for i in range(2 * len(want)):
        assert_close(got[f"arr_{i}"], want[i % len(want)], "float32", f"output {i}")


@pytest.fixture
def fake_builds(monkeypatch, tmp_path):
    """No real compiling: a fresh build table, ``exercise`` recording its thread, the separate
    process waiting for ``release`` and counting its runs, the marker in tmp_path."""
    import_optional("numba")
    record = {"exercised": [], "processes": 0, "release": threading.Event()}

    def other_process(pair, folder):
        record["processes"] += 1
        assert record["release"].wait(30)

    monkeypatch.setattr(warmup, "_builds", {})
    monkeypatch.setattr(warmup, "_in_other_process", other_process)
    monkeypatch.setattr(warmup, "exercise", lambda *pair: record["exercised"].append(
        threading.current_thread().name))
    monkeypatch.setattr(warmup._Build, "marker", lambda self: tmp_path / "code.built")
    return record


def test_until_built_the_rule_serves_a_direct_method_and_builds_once(fake_builds, monkeypatch):
    monkeypatch.setattr(warmup, "_mode", "background")
    assert correlate.choose_method(*LAYER) == "rows"          # the build has started …
    assert warmup.state((3, 3), "float32") == "building"
    assert correlate.choose_method(*LAYER) == "rows"          # … once
    assert not warmup.ready((3, 3), np.float32)
    fake_builds["release"].set()
    warmup.prepare([((3, 3), "float32")])                     # waits for it
    assert warmup.state((3, 3), "float32") == "ready"
    assert correlate.choose_method(*LAYER) == "winograd"
    assert fake_builds["processes"] == 1
    assert fake_builds["exercised"] == ["convgrad-build-((3, 3), 'float32')"]
    assert (Path(warmup._Build.marker(None))).exists()        # the next process loads it


def test_a_marked_cache_is_taken_at_once(fake_builds, monkeypatch):
    """Where an earlier process built the code, the first request takes Winograd (no
    direct-method interlude, no separate process; numba loads it at its first call)."""
    monkeypatch.setattr(warmup, "_mode", "background")
    warmup._Build.marker(None).touch()
    assert correlate.choose_method(*LAYER) == "winograd"
    assert fake_builds["processes"] == 0 and fake_builds["exercised"] == []


def test_the_wait_setting_builds_on_the_caller_once_for_all_threads(fake_builds, monkeypatch):
    monkeypatch.setattr(warmup, "_mode", "wait")
    fake_builds["release"].set()
    chosen = []
    threads = [threading.Thread(target=lambda: chosen.append(correlate.choose_method(*LAYER)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert chosen == ["winograd"] * 4
    assert fake_builds["processes"] == 1 and len(fake_builds["exercised"]) == 1


def test_a_failed_build_warns_once_and_leaves_the_direct_methods(fake_builds, monkeypatch):
    monkeypatch.setattr(warmup, "_mode", "wait")
    fake_builds["release"].set()

    def broken(*pair):
        raise RuntimeError("no compiler")

    monkeypatch.setattr(warmup, "exercise", broken)
    with pytest.warns(RuntimeWarning, match=r"Winograd code for \(\(3, 3\), 'float32'\) failed"):
        assert correlate.choose_method(*LAYER) == "rows"
    assert warmup.state((3, 3), "float32") == "failed"
    assert correlate.choose_method(*LAYER) == "rows"          # no second try, no warning
    assert fake_builds["processes"] == 1


def test_an_unknown_compile_setting_is_refused(fake_builds, monkeypatch):
    monkeypatch.setattr(warmup, "_mode", "later")
    with pytest.raises(ValueError, match=r"CONVGRAD_COMPILE='later' is not one of"):
        warmup.ready((3, 3), "float32")


@pytest.mark.parametrize("steps", ["compiled", "python"])
def test_built_code_takes_read_only_arrays_without_compiling(steps):
    """Read-only (and strided) inputs reach the compiled code as the writeable C-contiguous
    arrays it was built for: no compile on the caller's thread, torch's numbers."""
    import_optional("numba")
    from numba.core import event

    torch = import_torch()
    warmup.prepare([((3, 3), "float32")])
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 8, 10, 10)), rng.standard_normal((8, 8, 3, 3))
    dy, b = rng.standard_normal((2, 8, 10, 10)), rng.standard_normal(8)
    frozen = []
    for a in (x, w, dy, b):
        a = a.astype(np.float32)
        a.flags.writeable = False
        frozen.append(a)
    fx, fw, fdy, fb = frozen
    tx, tw = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w))
    ty = torch.nn.functional.conv2d(tx, tw, torch.tensor(b), padding=1)
    ty.backward(torch.tensor(dy))
    with (ops.forced_method("winograd"), event.install_recorder("numba:compile") as compiles,
          winograd.python_steps() if steps == "python" else ops.use_winograd(True)):
        got = (ops.conv(fx, fw, fb, padding=1), ops.conv_grad_input(fdy, fw, x.shape, padding=1),
               ops.conv_grad_weight(fx, fdy, w.shape, padding=1),
               ops.conv(fx[:, :, ::-1], fw, padding=1))          # strided
    want = (ty, tx.grad, tw.grad,
            torch.nn.functional.conv2d(torch.tensor(x[:, :, ::-1].copy()), tw, padding=1))
    for g, t in zip(got, want):
        assert_close(g, t.detach().numpy(), "float32")
    assert compiles.buffer == []


def test_convgrad_bench_builds_before_it_times(monkeypatch):
    """``convgrad bench`` times the steady state: the Winograd code is built before anything
    is measured."""
    from convgrad import bench

    class BuiltError(Exception):
        pass

    def prepare(*args):
        raise BuiltError

    monkeypatch.setattr(warmup, "prepare", prepare)
    monkeypatch.setattr(bench, "gemm_peak", lambda *a: pytest.fail("timed before building"))
    with pytest.raises(BuiltError):
        bench.run(names=["mnist_2"], dtypes=("float32",), report=lambda line: None)
