"""convgrad.engine.settings: one immutable value per thread (context) — two threads with
different settings each get their own numbers; the batch parts the engine runs on other cores
inherit the submitting thread's; bad settings are refused by name."""

import threading

import numpy as np
import pytest
from helpers import import_optional

from convgrad import engine, ops
from convgrad.ops import correlate, parallel


def test_settings_change_for_the_block_only():
    base = engine.current()
    with ops.settings(method="fft", winograd=False) as s:
        assert (s.method, s.winograd) == ("fft", False) and engine.current() is s
        with ops.forced_method("im2col"), ops.use_winograd(True):
            assert (engine.current().method, engine.current().winograd) == ("im2col", True)
        assert engine.current() is s
    assert engine.current() == base


def test_two_threads_with_different_settings_get_their_own_numbers():
    """float32 3×3 layer: Winograd's round-off differs from the direct sums'; one thread
    forbids Winograd while the other runs at the same time — each sees its own choice (a
    process-wide switch would leak from one thread into the other)."""
    import_optional("numba")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 10, 10)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    with ops.settings(winograd=True):
        winograd = ops.conv(x, w, padding=1)
    with ops.settings(winograd=False):
        direct = ops.conv(x, w, padding=1)
    assert not np.array_equal(winograd, direct), "the layer must take Winograd by default"
    start, problems = threading.Barrier(2), []

    def run(allowed: bool, want: np.ndarray) -> None:
        with ops.settings(winograd=allowed):
            for _ in range(20):
                start.wait()
                if not np.array_equal(ops.conv(x, w, padding=1), want):
                    problems.append(allowed)

    threads = [threading.Thread(target=run, args=(allowed, want))
               for allowed, want in ((False, direct), (True, winograd))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []


def test_batch_parts_on_other_cores_inherit_the_submitting_threads_settings(monkeypatch):
    seen = []
    monkeypatch.setattr(parallel, "THREADS", 2)
    import_optional("threadpoolctl")
    with ops.settings(method="shift", jit=False):
        parallel.map_parts(lambda part: seen.append((engine.current().method,
                                                     engine.current().jit,
                                                     threading.current_thread().name)),
                           [0, 1, 2, 3])
    assert {(m, j) for m, j, _ in seen} == {("shift", False)}
    assert len({name for _, _, name in seen}) == 2          # really on two threads
    assert engine.current().method is None


def test_a_new_thread_starts_from_the_environments_settings():
    got = []
    with ops.settings(method="fft"):
        t = threading.Thread(target=lambda: got.append(engine.current().method))
        t.start()
        t.join()
    assert got == [None]


@pytest.mark.parametrize("changes, error, message", [
    ({"methd": "fft"}, TypeError, "unknown setting 'methd'"),
    ({"method": "magic"}, ValueError, "unknown method 'magic'"),
    ({"winograd": 1}, TypeError, "winograd must be a bool"),
    ({"sharing": 0}, ValueError, "sharing must be a positive int"),
])
def test_bad_settings_are_refused_by_name(changes, error, message):
    with pytest.raises(error, match=message):
        with ops.settings(**changes):
            pass
    assert engine.current().method is None


def test_the_aliases_keep_their_messages():
    with pytest.raises(ValueError, match="forced_method: unknown method 'magic'"):
        ops.forced_method("magic")
    assert correlate.current_method() is None
