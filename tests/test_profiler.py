"""convgrad.autograd.profiler: what it records (every op run, once, forward and backward), that
its times partition part of the span, nesting and disabling, and that it changes nothing."""

import threading
import time

import numpy as np
import pytest
from helpers import import_torch

import convgrad
import convgrad.nn.functional as F
from convgrad.autograd import trace
from convgrad.autograd.profiler import profile, record_function


def counts(prof) -> dict:
    return {e.key: e.count for e in prof.key_averages()}


def small_graph(x):
    return ((x * 2 + 1).relu() * x).sum()


def leaf(*shape, seed=0):
    return convgrad.tensor(np.random.default_rng(seed).standard_normal(shape).astype("float32"),
                           requires_grad=True)


def test_counts_of_a_known_graph_are_the_ops_run_forward_and_backward():
    x = leaf(5)
    with profile() as prof:
        small_graph(x).backward()
    # x is used twice: the engine adds its two gradients (the second "add")
    assert counts(prof) == {"mul": 2, "add": 2, "relu": 1, "sum": 1, "SumBackward0": 1,
                            "MulBackward0": 2, "ReluBackward0": 1, "AddBackward0": 1}


def test_backward_node_names_are_torchs():
    torch = import_torch()
    x = leaf(5)
    with profile() as prof:
        small_graph(x).backward()
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    names, stack = set(), [small_graph(tx).grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and type(node).__name__ != "AccumulateGrad":
            names.add(node.name())
            stack.extend(n for n, _ in node.next_functions)
    assert names == {k for k in counts(prof) if k.endswith("Backward0")}


def test_a_traced_function_is_one_op_and_hides_its_inner_ops():
    x, w = leaf(2, 3, 8, 8), leaf(4, 3, 3, 3, seed=1)
    with profile() as prof:
        F.max_pool2d(F.conv2d(x, w, padding=1), 2).sum().backward()
    got = counts(prof)
    assert got["conv"] == 1 and got["max_pool"] == 1 and got["ConvolutionBackward0"] == 1
    assert not {"matmul", "reshape", "permute"} & set(got)          # conv's inside, unseen


def test_times_are_non_negative_and_sum_to_at_most_the_wall_time():
    x, w = leaf(2, 3, 8, 8), leaf(4, 3, 3, 3, seed=1)
    start = time.perf_counter()
    with profile() as prof:
        for _ in range(3):
            small_graph(F.conv2d(x, w)).backward()
    wall_us = (time.perf_counter() - start) * 1e6
    events = prof.key_averages()
    assert all(e.self_cpu_time_total >= 0 and e.cpu_time_total >= e.self_cpu_time_total
               for e in events)
    assert 0 < events.self_cpu_time_total == pytest.approx(prof.self_cpu_time_total)
    assert prof.self_cpu_time_total <= wall_us


def test_record_function_self_time_excludes_the_ops_inside():
    x = leaf(50)
    with profile() as prof:
        with record_function("mine"):
            small_graph(x).backward()
            time.sleep(0.002)
    mine = next(e for e in prof.key_averages() if e.key == "mine")
    inside = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key != "mine")
    assert mine.count == 1 and mine.self_cpu_time_total >= 2000 * 0.9
    assert mine.cpu_time_total == pytest.approx(mine.self_cpu_time_total + inside, rel=1e-6)


def test_record_function_as_a_decorator_and_without_a_profiler():
    @record_function("step")
    def step(x):
        return small_graph(x)

    x = leaf(3)
    assert step(x).item() == small_graph(x).item()            # nothing profiles: no effect
    with profile() as prof:
        step(x)
        step(x)
    assert counts(prof)["step"] == 2 and counts(prof)["mul"] == 4


def test_disabled_records_nothing_and_installs_nothing():
    x = leaf(4)
    with profile(enabled=False) as prof:
        assert trace.state[0] == 0 and trace._local.profiler is None
        small_graph(x).backward()
    assert len(prof.key_averages()) == 0 and prof.self_cpu_time_total == 0


def test_nested_profiles_inner_sees_its_span_outer_sees_all():
    x = leaf(4)
    with profile() as outer:
        small_graph(x)
        with profile() as inner:
            (x * 3).sum()
        small_graph(x)
    assert counts(inner) == {"mul": 1, "sum": 1}
    assert counts(outer) == {"mul": 5, "add": 2, "relu": 2, "sum": 3}    # (no backward)
    assert trace.state[0] == 0 and trace._local.profiler is None


def test_not_reentrant_and_key_averages_only_after_the_block():
    prof = profile()
    with prof:
        with pytest.raises(RuntimeError, match="not reentrant"):
            prof.__enter__()
        with pytest.raises(RuntimeError, match="didn't finish"):
            prof.key_averages()
    with pytest.raises(RuntimeError, match="not reentrant"):
        with prof:
            pass


def test_an_exception_inside_an_op_leaves_the_profiler_consistent():
    x = leaf(1, 2, 3, 3)
    with profile() as prof:
        with pytest.raises((RuntimeError, ValueError)):
            F.conv2d(x, leaf(1, 5, 3, 3))                        # channels do not match
        assert trace._local.profiler.depth == 0
        (x * 2).sum()
    assert counts(prof)["conv"] == 1 and counts(prof)["mul"] == 1
    assert trace.state[0] == 0


def test_only_the_entering_thread_is_recorded():
    x = leaf(4)
    with profile() as prof:
        worker = threading.Thread(target=lambda: small_graph(x).backward())
        worker.start()
        worker.join()
        (x * 2).sum()
    assert counts(prof) == {"mul": 1, "sum": 1}


def test_gradients_and_double_backward_are_unchanged_under_the_profiler():
    x = leaf(6)
    (g,) = convgrad.autograd.grad(small_graph(x), x, create_graph=True)
    (gg,) = convgrad.autograd.grad(g.sum(), x)
    with profile() as prof:
        (pg,) = convgrad.autograd.grad(small_graph(x), x, create_graph=True)
        (pgg,) = convgrad.autograd.grad(pg.sum(), x)
    np.testing.assert_array_equal(pg.detach().numpy(), g.detach().numpy())
    np.testing.assert_array_equal(pgg.numpy(), gg.numpy())
    assert counts(prof)["MulBackward0"] >= 2


def test_a_tracer_still_sees_every_op_while_profiling():
    class Ops:
        depth = 0

        def __init__(self):
            self.seen = []

        def op(self, out, parents, op):
            self.seen.append(op)

        def region(self, kind, arguments, out):
            self.seen.append(kind)

        def inplace(self, target, new):
            pass

    x, w = leaf(1, 2, 5, 5), leaf(3, 2, 3, 3, seed=1)
    plain, profiled = Ops(), Ops()
    with trace.tracing(plain):
        F.relu(F.conv2d(x, w)).sum()
    with profile() as prof, trace.tracing(profiled):
        F.relu(F.conv2d(x, w)).sum()
    assert profiled.seen == plain.seen == ["conv", "relu", "sum"]
    assert counts(prof) == {"conv": 1, "relu": 1, "sum": 1}


def test_the_table_sorts_limits_and_names_torchs_columns():
    x = leaf(4)
    with profile() as prof:
        for _ in range(3):
            small_graph(x).backward()
    text = prof.key_averages().table(sort_by="count", row_limit=2)
    header, first = text.splitlines()[1], text.splitlines()[3]
    for column in ("Name", "Self CPU %", "Self CPU", "CPU total", "CPU time avg", "# of Calls"):
        assert column in header
    assert first.split()[0] in ("mul", "MulBackward0") and first.split()[-1] == "6"
    lines = text.splitlines()                   # rule, header, rule, two rows, rule, total
    assert len(lines) == 7 and lines[-1].startswith("Self CPU time total:")
    with pytest.raises(ValueError, match="sort_by='cuda_time'"):
        prof.key_averages().table(sort_by="cuda_time")


def test_no_profiler_leaves_the_fast_path_in_place():
    """While nothing profiles, ``make`` and ``@traced`` read one zero (trace.state) and skip
    everything else — the hooks cost nothing then."""
    with profile():
        assert trace.state[0] == 1
    assert trace.state[0] == 0 and trace._local.profiler is None
