"""Search the claimed configuration space for the smallest configuration where a user's
convolution disagrees with convgrad, and describe that failure."""

from __future__ import annotations

import threading
import traceback
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from .. import ops
from .adapters import UserCodeError, run_backward, run_forward
from .config import CheckConfig, strategy

TENSORS = {"forward": ("out",), "backward": ("dx", "dw", "db")}


@dataclass
class Failure:
    """What went wrong at one configuration."""

    config: CheckConfig
    kind: str                       # values | shape | dtype | raised | returned | hang
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

    @property
    def passed(self) -> bool:
        return self.failure is None


class Checker:
    """Evaluates one configuration: the user's function against convgrad's ops."""

    def __init__(self, fn, kind, style, layout, dims, features, forward=None, timeout=10.0,
                 rtol=1e-6, seed=0):
        self.fn, self.kind, self.style, self.layout = fn, kind, style, layout
        self.dims, self.features, self.forward = dims, tuple(features), forward
        self.timeout, self.rtol, self.seed = timeout, rtol, seed
        self.hung = False

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
        dx, dw, db = run_backward(self.fn, self.forward, self.style, self.layout,
                                  self.features, config, a["x"], a["w"], a["b"], a["dout"],
                                  self.call)
        return {"dx": dx, "dw": dw, "db": db}

    def evaluate(self, config: CheckConfig) -> tuple[Failure | None, float]:
        """(the failure at this configuration or None, the largest relative error seen)."""
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
            return call_with_timeout(fn, self.timeout, *args, **kwargs)
        except UserCodeError as e:
            self.hung = e.kind == "hang"
            raise


def call_with_timeout(fn, timeout: float, *args, **kwargs):
    """``fn(*args, **kwargs)`` on a daemon thread, waited for ``timeout`` seconds. A call that
    does not return raises UserCodeError('hang') (the thread cannot be cancelled; it dies with
    the process); anything it raises — SystemExit included — becomes UserCodeError('raised')
    with the exception as ``cause``."""
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
        frame = traceback.extract_tb(e.__traceback__)[-1]
        error = UserCodeError("raised", f"{type(e).__name__}: {e} (at {frame.filename}:"
                                        f"{frame.lineno}: {frame.line})")
        error.cause = e
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
               seed: int = 0) -> Report:
    from .diagnose import diagnose  # noqa: PLC0415

    checker = Checker(fn, kind, style, layout, dims, features, forward, timeout, rtol, seed)
    failure, count, worst = search(checker, max_examples)
    report = Report(name, kind, style, layout, dims, tuple(features), count, worst, failure)
    if failure is not None and failure.kind != "hang":
        diagnose(checker, failure)
    return report
