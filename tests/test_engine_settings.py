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


def test_batch_parts_on_other_cores_inherit_the_submitting_threads_settings():
    seen = []
    import_optional("threadpoolctl")
    with ops.settings(method="shift", jit=False, threads=2):
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
    ({"threads": 0}, ValueError, "threads must be a positive int"),
    ({"threads": 17}, ValueError, "threads must be at most 16"),
    ({"threads": True}, ValueError, "threads must be a positive int"),
    ({"workspace_limit": 2.5}, ValueError, "workspace_limit must be a positive int"),
    ({"cache_dir": 3}, TypeError, "cache_dir must be a folder path"),
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


def test_the_process_defaults_show_through_a_blocks_own_changes():
    """``set_defaults`` (``set_num_threads``, ``set_workspace_limit``) changes every thread
    that did not set the same field itself; a block's own fields stay."""
    before = engine.defaults()
    try:
        with ops.settings(method="fft"):
            engine.set_defaults(threads=1, workspace_limit=2**20)
            assert (engine.current().method, engine.current().threads) == ("fft", 1)
            with ops.settings(threads=2):
                engine.set_defaults(threads=3)
                assert engine.current().threads == 2
            assert engine.current().threads == 3
        got = []
        t = threading.Thread(target=lambda: got.append(
            (engine.current().threads, ops.get_workspace_limit())))
        t.start()
        t.join()
        assert got == [(3, 2**20)]
    finally:
        engine.set_defaults(threads=before.threads,
                                     workspace_limit=before.workspace_limit)
    assert engine.current() == before


def test_set_num_threads_is_the_engines_default_thread_count():
    import convgrad

    before = convgrad.get_num_threads()
    try:
        convgrad.set_num_threads(1)
        assert parallel.threads() == 1 and engine.current().threads == 1
        convgrad.set_num_threads(99)                       # torch takes any count; we cap
        assert convgrad.get_num_threads() == 99 and parallel.threads() == 16
    finally:
        convgrad.set_num_threads(before)
    assert parallel.threads() == before


def test_two_threads_with_different_thread_counts_split_their_own_way():
    """One caller splits its batch over two parts, another (at the same time) keeps one."""
    import_optional("threadpoolctl")
    from convgrad.engine import execute

    geo = ops.conv_geometry("conv", (8, 16, 32, 32), (16, 16, 3, 3), 1, 1, 1, 1)
    start, seen = threading.Barrier(2), {}

    def run(count: int) -> None:
        with ops.settings(threads=count):
            start.wait()
            seen[count] = [len(execute.batch_parts(geo, np.float64)) for _ in range(50)]

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {1: [1] * 50, 2: [2] * 50}


@pytest.mark.parametrize("environ, threads", [
    ({"CONVGRAD_THREADS": "1"}, 1), ({"CONVGRAD_THREADS": "64"}, 16),
    ({"CONVGRAD_THREADS": "0"}, None), ({}, None)])
def test_the_thread_count_comes_from_the_environment(environ, threads):
    import os

    got = engine.Settings.from_environment(environ).threads
    assert got == (threads or min(16, len(os.sched_getaffinity(0))))


def test_a_malformed_thread_count_in_the_environment_is_refused():
    with pytest.raises(ValueError, match="CONVGRAD_THREADS='two' is not a number"):
        engine.Settings.from_environment({"CONVGRAD_THREADS": "two"})


def test_the_cache_folder_comes_from_the_environment(tmp_path):
    s = engine.Settings.from_environment({"CONVGRAD_CACHE_DIR": str(tmp_path)})
    assert s.cache_dir == str(tmp_path)
    s = engine.Settings.from_environment({"XDG_CACHE_HOME": str(tmp_path)})
    assert s.cache_dir == str(tmp_path / "convgrad")
    with ops.settings(cache_dir=tmp_path / "k"):
        from convgrad.engine.winograd import codegen

        assert codegen._cache_dir() == tmp_path / "k"
