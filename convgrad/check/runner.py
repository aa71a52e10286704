"""Search the claimed configuration space for the smallest configuration where a user's
convolution disagrees with convgrad, and describe that failure."""

from __future__ import annotations

import inspect
import os
import threading
import traceback
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from .. import ops
from .adapters import UserCodeError, documented_cache, run_backward, run_forward
from .config import CheckConfig, strategy

TENSORS = {"forward": ("out",), "backward": ("dx", "dw", "db")}


@dataclass
class Failure:
    """What went wrong at one configuration."""

    config: CheckConfig
    kind: str                       # values | shape | dtype | raised | returned | hang | forward
    #                                 ('forward': the course forward making the cache failed)
    tensor: str | None
    message: str
    index: tuple | None = None      # first wrong element (NCHW / OIHW)
    expected_value: float | None = None
    got_value: float | None = None
    error: float = float("nan")
    expected: np.ndarray | None = None
    got: np.ndarray | None = None
    equation: str | None = None
    diagnosis: str | None = None
    variant: str | None = None      # the variants() entry whose success gave the diagnosis
    inputs: dict | None = None      # x, w, b, dout of the failing configuration (NCHW / OIHW)
    forward_wrong: bool = False     # course backward: the forward making its cache is wrong here


@dataclass
class Report:
    name: str
    kind: str
    style: str
    layout: str
    dims: int
    features: tuple
    configurations: int = 0
    max_error: float = 0.0
    failure: Failure | None = None
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)   # flags the signature contradicts
    output: list = field(default_factory=list)     # lines the checked code printed
    cache: str | None = None        # course backward: 'documented' or 'student' (see Checker)
    forward_name: str | None = None
    forward_report: Report | None = None           # course backward: its forward's verdict

    @property
    def passed(self) -> bool:
        return self.failure is None


class Checker:
    """Evaluates one configuration: the user's function against convgrad's ops.

    A course-style backward takes a cache. ``cache='documented'``: its forward's cache has the
    documented form (x, w, b, conv_param), so every check builds one from the correct pieces —
    the backward is judged on its own. ``cache='student'``: the cache comes from the student's
    forward; where that forward fails to make one, the failure is the forward's (kind
    'forward'), and a backward failure where the forward's output is wrong says so
    (``Failure.forward_wrong``)."""

    def __init__(self, fn, kind, style, layout, dims, features, forward=None, timeout=10.0,
                 rtol=1e-6, seed=0, name=None, forward_name=None, cache="student"):
        self.fn, self.kind, self.style, self.layout = fn, kind, style, layout
        self.dims, self.features, self.forward = dims, tuple(features), forward
        self.timeout, self.rtol, self.seed = timeout, rtol, seed
        self.name = name or getattr(fn, "__name__", kind)
        self.forward_name = forward_name or getattr(forward, "__name__", "its forward")
        self.cache = cache
        self.files = user_files(fn, forward)
        self.hung, self.hang_message = False, ""
        self._forward_wrong = False

    def arrays(self, config: CheckConfig) -> dict:
        key = zlib.crc32(repr((self.seed, config)).encode())
        rng = np.random.default_rng(key)
        return {"x": rng.standard_normal(config.x_shape), "w": rng.standard_normal(
            config.w_shape), "b": rng.standard_normal(config.cout),
            "dout": rng.standard_normal(config.out_shape)}

    def expected(self, config: CheckConfig, a: dict) -> dict:
        opts = config.opts
        if self.kind == "forward":
            return {"out": ops.conv(a["x"], a["w"], a["b"], **opts)}
        return {"dx": ops.conv_grad_input(a["dout"], a["w"], config.x_shape, **opts),
                "dw": ops.conv_grad_weight(a["x"], a["dout"], config.w_shape, **opts),
                "db": a["dout"].sum(axis=(0, *range(2, 2 + self.dims)))}

    def got(self, config: CheckConfig, a: dict) -> dict:
        if self.kind == "forward":
            out, _ = run_forward(self.fn, self.style, self.layout, self.features, config,
                                 a["x"], a["w"], a["b"], self.call)
            return {"out": out}
        cache = self.make_cache(config, a) if self.style == "course" else None
        dx, dw, db = run_backward(self.fn, self.style, self.layout, self.features, config,
                                  a["x"], a["w"], a["b"], a["dout"], self.call, cache)
        return {"dx": dx, "dw": dw, "db": db}

    def make_cache(self, config: CheckConfig, a: dict):
        """The course backward's cache (see the class); notes a wrong forward output."""
        self._forward_wrong = False
        if self.cache == "documented":
            return documented_cache(self.layout, self.features, config, a["x"], a["w"], a["b"])
        try:
            out, cache = run_forward(self.forward, "course", self.layout, self.features,
                                     config, a["x"], a["w"], a["b"], self.call)
        except UserCodeError as e:
            if e.kind == "hang":
                raise
            blamed = UserCodeError("forward", f"{self.forward_name}, which makes the cache, "
                                              f"failed: {e}")
            blamed.cause = e.cause
            raise blamed from None
        want = ops.conv(a["x"], a["w"], a["b"], **config.opts)
        self._forward_wrong = out.shape != want.shape or not np.allclose(
            out, want, rtol=self.rtol, atol=self.rtol * max(float(np.max(np.abs(want))), 1e-300))
        return cache

    def evaluate(self, config: CheckConfig) -> tuple[Failure | None, float]:
        """(the failure at this configuration or None, the largest relative error seen)."""
        failure, worst = self._evaluate(config)
        if failure is not None and failure.kind != "forward":
            failure.forward_wrong = self._forward_wrong
        return failure, worst

    def _evaluate(self, config: CheckConfig) -> tuple[Failure | None, float]:
        self._forward_wrong = False
        a = self.arrays(config)
        want = self.expected(config, a)
        try:
            got = self.got(config, a)
        except UserCodeError as e:
            return Failure(config, e.kind, None, str(e)), 0.0
        worst = 0.0
        for name in TENSORS[self.kind]:
            g, e = got[name], want[name]
            if g.shape != e.shape:
                return Failure(config, "shape", name, f"{name} has shape {g.shape}, expected "
                                                      f"{e.shape}", expected=e, got=g), worst
            if g.dtype != np.float64:
                return Failure(config, "dtype", name, f"{name} has dtype {g.dtype}; float64 "
                                                      f"inputs should give float64"), worst
            scale = max(float(np.max(np.abs(e))) if e.size else 0.0, 1e-300)
            diff = np.abs(g - e)
            error = float(np.max(diff)) / scale if e.size else 0.0
            if not np.isfinite(error) or error > self.rtol:
                wrong = np.argwhere(~(diff <= self.rtol * scale))[0]
                index = tuple(int(i) for i in wrong)
                return Failure(config, "values", name, f"{name} is wrong", index,
                               float(e[index]), float(g[index]), error, e, g), max(worst, error)
            worst = max(worst, error)
        return None, worst

    def call(self, fn, *args, **kwargs):
        """Run user code with a time limit; its exceptions become UserCodeError."""
        if self.hung:
            raise UserCodeError("hang", "an earlier call is still running")
        try:
            return call_with_timeout(fn, self.timeout, *args, files=self.files, **kwargs)
        except UserCodeError as e:
            if e.kind == "hang":
                self.hung, self.hang_message = True, str(e)
            raise


def user_files(*functions) -> set:
    """The source files of the checked functions (where an error is located)."""
    files = set()
    for fn in functions:
        code = _code(fn)
        if code is not None:
            files.add(os.path.normcase(os.path.realpath(code.co_filename)))
    return files


def _code(fn):
    if fn is None:
        return None
    try:
        fn = inspect.unwrap(fn)
    except ValueError:
        pass
    code = getattr(fn, "__code__", None)
    if code is None and not inspect.isroutine(fn):
        code = getattr(type(fn).__dict__.get("__call__"), "__code__", None)
    return code


def location(tb, files=()) -> str:
    """'mine.py:23: out[n, f] = np.sum(...)': the innermost frame inside ``files`` (the checked
    code), else the innermost frame."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return "?"
    inside = [f for f in frames if os.path.normcase(os.path.realpath(f.filename)) in files]
    frame = (inside or frames)[-1]
    text = f"{_short(frame.filename)}:{frame.lineno}"
    return f"{text}: {frame.line.strip()}" if frame.line else text


def _short(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def call_with_timeout(fn, timeout: float, *args, files=None, **kwargs):
    """``fn(*args, **kwargs)`` on a daemon thread, waited for ``timeout`` seconds. A call that
    does not return raises UserCodeError('hang') (the thread cannot be cancelled; it dies with
    the process); anything it raises — SystemExit included — becomes UserCodeError('raised')
    with the exception as ``cause``, located at its innermost frame in ``files`` (default: the
    file of ``fn``)."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001  (user code may raise anything)
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise UserCodeError("hang", f"{getattr(fn, '__name__', 'function')} did not return "
                                    f"within {timeout:g} s (--timeout)")
    if "error" in box:
        e = box["error"]
        where = location(e.__traceback__, user_files(fn) if files is None else files)
        error = UserCodeError("raised", f"{type(e).__name__}: {e} (at {where})")
        error.cause = e
        code = _code(fn)
        if code is not None:
            error.entered = any(frame.f_code is code
                                for frame, _ in traceback.walk_tb(e.__traceback__))
        raise error
    return box["value"]


def search(checker: Checker, max_examples: int = 200) -> tuple[Failure | None, int, float]:
    """Hypothesis search with shrinking: (minimal failure or None, configurations, max error)."""
    from hypothesis import HealthCheck, find, settings  # noqa: PLC0415
    from hypothesis.errors import NoSuchExample  # noqa: PLC0415

    count, worst, failures, first_hang = 0, 0.0, {}, []

    class HungError(Exception):
        """A call did not return: stop searching (its thread cannot be cancelled)."""

    def fails(config: CheckConfig) -> bool:
        nonlocal count, worst
        count += 1
        failure, error = checker.evaluate(config)
        if failure is not None and failure.kind == "hang":
            first_hang.append(failure)          # hypothesis may replay: keep the first
            raise HungError()
        worst = max(worst, error)
        if failure is not None:
            failures[config] = failure
        return failure is not None

    strategy_ = strategy(checker.dims, checker.features)
    try:
        minimal = find(strategy_, fails, settings=settings(
            max_examples=max_examples, database=None, derandomize=True, deadline=None,
            suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return None, count, worst
    except HungError:
        return first_hang[0], count, worst
    return failures.get(minimal) or checker.evaluate(minimal)[0], count, worst


def variants(config: CheckConfig) -> dict[str, CheckConfig]:
    """The failing configuration with one feature taken away, each still valid."""
    out = {}                    # most specific first: the remainder keeps the stride
    if any(config.remainders):
        out["remainder"] = config.with_size(
            n + (config.stride - r) % config.stride for n, r in zip(config.size,
                                                                     config.remainders))
    if config.stride > 1:
        out["stride"] = replace(config, stride=1)
    if config.dilation > 1:
        out["dilation"] = replace(config, dilation=1)
    if config.groups > 1:
        out["groups"] = replace(config, groups=1)
    if config.padding:
        out["padding"] = replace(config, padding=0, size=tuple(
            max(n, config.dilation * (k - 1) + 1) for n, k in zip(config.size, config.kernel)))
    if len(set(config.kernel)) > 1 or len(set(config.size)) > 1:
        k = max(config.kernel)          # the largest side keeps whatever else made it fail
        n = max(max(config.size), config.dilation * (k - 1) + 1 - 2 * config.padding)
        out["square"] = replace(config, kernel=(k,) * len(config.kernel),
                                size=(n,) * len(config.size))
    if config.cout > 1 or config.cin > 1:
        out["channels"] = replace(config, cin=config.groups, cout=config.groups)
    return out


def report_for(fn, name: str, kind: str, style: str = "torch", layout: str = "nchw",
               dims: int = 2, features=("stride", "padding", "nonsquare"), forward=None,
               max_examples: int = 200, timeout: float = 10.0, rtol: float = 1e-6,
               seed: int = 0, forward_name: str | None = None) -> Report:
    """Check ``fn``: the first call confirms the convention (ConventionError if not), then the
    search. What the checked code prints is captured into ``Report.output``."""
    from .capture import Capture  # noqa: PLC0415
    from .conventions import cache_form, contradiction  # noqa: PLC0415

    report = Report(name, kind, style, layout, dims, tuple(features))
    with Capture() as captured:
        checker = Checker(fn, kind, style, layout, dims, features, forward, timeout, rtol,
                          seed, name, forward_name)
        if kind == "backward" and style == "course":
            checker.cache = report.cache = cache_form(checker)
            report.forward_name = checker.forward_name
        failure = first_call(checker)
        warning = contradiction(fn, name, style, kind)
        if warning:
            report.warnings.append(warning)
        if failure is None:
            failure, report.configurations, report.max_error = search(checker, max_examples)
        else:
            report.configurations = 1
        report.failure = failure
        if failure is not None and failure.kind not in ("hang", "forward"):
            _diagnose(checker, failure, report)
        if failure is not None:
            failure.inputs = checker.arrays(failure.config)
    report.output = captured.lines
    return report


def _diagnose(checker: Checker, failure: Failure, report: Report) -> None:
    """The diagnosis is an explanation: if it breaks, the report keeps the failure."""
    from .diagnose import diagnose  # noqa: PLC0415

    try:
        diagnose(checker, failure)
    except Exception as e:  # noqa: BLE001
        failure.diagnosis = None
        report.notes.append(f"no diagnosis: it failed with {type(e).__name__}: {e}")


def first_call(checker: Checker) -> Failure | None:
    """Call the function once on a small configuration: a wrong calling convention raises
    ConventionError; a hang there is the report's failure (nothing more can be called)."""
    from .conventions import probe_config, refuse  # noqa: PLC0415

    config = probe_config(checker.dims)
    if checker.hung:                                    # the course forward, probed first
        return Failure(config, "hang", None, checker.hang_message)
    try:
        checker.got(config, checker.arrays(config))
    except UserCodeError as e:
        if e.kind == "hang":
            return Failure(config, "hang", None, str(e))
        refuse(e, checker.fn, checker.name, checker.style, checker.kind, checker.features)
    return None
