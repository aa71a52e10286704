"""The fuzz suite's shared pieces: its budget, the bounds every call runs under, the refusal rule,
and strategies that break one rule of one argument at a time.

Budget: ``@fuzz(n)`` runs n examples (derandomized, so CI is reproducible); with
``CONVGRAD_FUZZ=long`` it runs 20·n random ones (by hand: ``CONVGRAD_FUZZ=long pytest -k fuzz``).
Bounds: every call made through ``bounded``/``refused`` must finish within ``SECONDS`` and allocate
at most ``MEMORY`` bytes of NumPy/Python memory (tracemalloc sees NumPy's allocations) — a hang or
a multi-GiB allocation is a failure, not a slow test.

Invalid input is generated from the rules of an argument (its type, sign, range, rank, dtype,
length), never from a hand list: ``breaking(rule)`` yields values that violate exactly that rule.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import tracemalloc
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("CONVGRAD_FUZZ") == "long"
SECONDS = 20.0 if LONG else 10.0         # per call (the first call of a kernel may compile)
MEMORY = 512 * 2**20                     # bytes a single fuzzed call may allocate at its peak


def fuzz(examples: int = 50):
    """Hypothesis settings of a fuzz target: ``examples`` in CI, 20× that in the long profile."""
    return settings(max_examples=examples * 20 if LONG else examples, deadline=None,
                    derandomize=not LONG, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


class HangError(AssertionError):
    """A fuzzed call ran past ``SECONDS``."""


@contextlib.contextmanager
def time_limit(seconds: float = SECONDS):
    """Raise ``HangError`` in the main thread when the block runs past ``seconds`` (SIGALRM; a no-op
    off the main thread or without SIGALRM). Time spent while numba compiles a kernel extends
    the limit (up to six times): a first call on a cold cache is not a hang."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal,
                                                                                 "SIGALRM"):
        yield
        return

    grace = [6]

    def expire(signum, frame):
        if _jit_compiling() and grace[0]:       # a kernel's first call compiles (cold cache);
            grace[0] -= 1                       # interrupting numba mid-compile breaks it
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return
        raise HangError(f"call ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _jit_compiling() -> bool:
    """Whether numba is compiling a kernel now, in any thread."""
    lock = getattr(sys.modules.get("numba.core.compiler_lock"), "global_compiler_lock", None)
    if lock is None:
        return False
    if lock.is_locked():                        # this thread compiles
        return True
    if lock._lock.acquire(blocking=False):      # nobody compiles
        lock._lock.release()
        return False
    return True


@contextlib.contextmanager
def memory_limit(limit: int = MEMORY):
    """Fail when the block's peak traced allocation exceeds ``limit`` bytes."""
    running = tracemalloc.is_tracing()
    if not running:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] - base
        if not running:
            tracemalloc.stop()
    assert peak <= limit, f"call allocated {peak / 2**20:.0f} MiB at its peak (bound " \
                          f"{limit / 2**20:.0f} MiB)"


def bounded(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` within the time and memory bounds; its result."""
    with time_limit(), memory_limit():
        return fn(*args, **kwargs)


def refused(fn, *args, op: str | tuple[str, ...], allowed=(ValueError, TypeError), **kwargs):
    """Assert that the call is refused clearly: it raises one of ``allowed`` (ValueError or
    TypeError unless stated: IndexError only where torch raises it) within the bounds, and the
    message names the op (``op``: a name, or several of which one must appear). Returns the
    exception."""
    names = (op,) if isinstance(op, str) else tuple(op)
    try:
        bounded(fn, *args, **kwargs)
    except allowed as e:
        message = str(e)
        assert any(n in message for n in names), \
            f"{type(e).__name__} does not name {' or '.join(names)}: {message!r}"
        return e
    except (HangError, AssertionError):
        raise
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"expected {' or '.join(a.__name__ for a in allowed)} naming "
                             f"{names[0]}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"{names[0]}: invalid input was accepted (args {args!r:.200}, "
                         f"kwargs {kwargs!r:.200})")


# ------------------------------------------------------------------------- argument rules
@dataclass(frozen=True)
class Int:
    """An integer argument (bool is not an integer here) in [low, high]."""
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Real:
    """A real-number argument in [low, high] (finite unless ``finite=False``)."""
    low: float | None = None
    high: float | None = None
    finite: bool = True


@dataclass(frozen=True)
class Ints:
    """A tuple of ``length`` integers, each an ``Int(low, high)``; a bare int is allowed when
    ``scalar`` (stride=2 for (2, 2))."""
    length: int
    low: int | None = None
    high: int | None = None
    scalar: bool = True


@dataclass(frozen=True)
class Array:
    """An array argument: ``ndim`` one of the ranks allowed, dtype kind in ``kinds``."""
    ndim: tuple[int, ...]
    kinds: str = "f"
    shape: tuple[int | None, ...] | None = None     # None in a slot: any length


@dataclass(frozen=True)
class Choice:
    """One of a few strings (a reduction, a padding mode)."""
    options: tuple[str, ...]


@dataclass(frozen=True)
class Bool:
    """True or False (not 0/1, not None)."""


_NOT_A_NUMBER = st.sampled_from(["2", b"2", None, [1], {"a": 1}, object(), 1 + 2j])


def breaking(rule) -> st.SearchStrategy:
    """Values that violate ``rule`` (one of the dataclasses above) in one respect each: wrong
    type, bool for an int, outside the range, wrong length, wrong rank, wrong dtype."""
    if isinstance(rule, Int):
        options = [_NOT_A_NUMBER, st.sampled_from([True, False]),
                   st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer()),
                   st.sampled_from([1.0, 2.0])]
        if rule.low is not None:
            options.append(st.integers(max_value=rule.low - 1).filter(
                lambda v: v < rule.low).map(lambda v: max(v, rule.low - 10**20)))
        if rule.high is not None:
            options.append(st.integers(min_value=rule.high + 1, max_value=rule.high + 10**20))
        return st.one_of(options)
    if isinstance(rule, Real):
        options = [_NOT_A_NUMBER]
        if rule.finite:
            options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
        if rule.low is not None:
            options.append(st.floats(max_value=rule.low, exclude_max=True, allow_nan=False,
                                     allow_infinity=False))
        if rule.high is not None:
            options.append(st.floats(min_value=rule.high, exclude_min=True, allow_nan=False,
                                     allow_infinity=False))
        return st.one_of(options)
    if isinstance(rule, Ints):
        element = Int(rule.low, rule.high)
        good = valid(element)
        options = [
            st.tuples(*[good] * rule.length).flatmap(      # one element broken
                lambda t: st.tuples(st.integers(0, rule.length - 1), breaking(element)).map(
                    lambda ib: tuple(ib[1] if i == ib[0] else v for i, v in enumerate(t)))),
            st.lists(good, min_size=rule.length + 1, max_size=rule.length + 2).map(tuple),
            st.sampled_from(["2", None, 1 + 2j, {"a": 1}]),
        ]
        if rule.length > 1:
            options.append(st.lists(good, min_size=2, max_size=rule.length - 1).map(tuple)
                           if rule.length > 2 else st.just(()))
        if not rule.scalar:
            options.append(good)
        return st.one_of(options)
    if isinstance(rule, Array):
        ranks = [r for r in range(0, 7) if r not in rule.ndim]
        wrong_rank = st.sampled_from(ranks or [0]).map(lambda r: np.ones((2,) * r))
        bad_kinds = [k for k in "fiubcOU" if k not in rule.kinds]
        samples = {"f": np.ones(2), "i": np.ones(2, np.int64), "u": np.ones(2, np.uint8),
                   "b": np.ones(2, bool), "c": np.ones(2, complex), "O": np.array([None, 1]),
                   "U": np.array(["a", "b"])}
        good_rank = rule.ndim[0]
        wrong_kind = st.sampled_from(bad_kinds).map(
            lambda k: np.resize(samples[k], (2,) * good_rank))
        options = [wrong_kind, st.sampled_from([None, "x", 3 + 0j])]
        return st.one_of(options + [wrong_rank] if ranks else options)
    if isinstance(rule, Choice):
        return st.one_of(st.text(max_size=8).filter(lambda v: v not in rule.options),
                         st.sampled_from([o.upper() for o in rule.options if o.upper() not in
                                          rule.options] or [None]), _NOT_A_NUMBER)
    if isinstance(rule, Bool):
        return st.one_of(st.sampled_from([0, 1, None, "True", 1.0]), _NOT_A_NUMBER)
    raise TypeError(f"breaking: unknown rule {rule!r}")


def valid(rule) -> st.SearchStrategy:
    """Small values that satisfy ``rule`` (for the arguments not under test)."""
    if isinstance(rule, Int):
        low = rule.low if rule.low is not None else -3
        return st.integers(low, rule.high if rule.high is not None else low + 4)
    if isinstance(rule, Real):
        low = rule.low if rule.low is not None else -3.0
        high = rule.high if rule.high is not None else low + 4.0
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if isinstance(rule, Ints):
        return st.tuples(*[valid(Int(rule.low, rule.high))] * rule.length)
    if isinstance(rule, Choice):
        return st.sampled_from(rule.options)
    if isinstance(rule, Bool):
        return st.booleans()
    raise TypeError(f"valid: unknown rule {rule!r}")


def assert_same(got, want, what: str = "", tol: float = 1e-10, floor: float = 0.0) -> None:
    """Same shape and dtype, NaN and ±inf at the same places, the finite rest within ``tol``
    of the largest finite magnitude (relative; a magnitude below ``floor`` counts as ``floor``,
    for results that are all round-off of O(1) terms)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    if got.dtype.kind != "f":
        assert np.array_equal(got, want), f"{what}: {got} != {want}"
        return
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{what}: NaN at other places " \
                                                          f"({got} vs {want})"
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]) and not np.isinf(got[~inf]).any(), \
        f"{what}: ±inf at other places ({got} vs {want})"
    finite = np.isfinite(want)
    if finite.any():
        g, w = got[finite].astype(np.float64), want[finite].astype(np.float64)
        scale = max(float(np.abs(w).max()), floor, np.finfo(want.dtype).tiny)
        err = float(np.abs(g - w).max()) / scale
        assert err <= tol, f"{what}: relative error {err:.3g} > {tol}"
