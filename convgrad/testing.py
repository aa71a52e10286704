"""torch.testing: ``assert_close`` (torch's rule, default tolerances and messages),
``make_tensor`` and the deprecated ``assert_allclose``.

>>> import convgrad as cg
>>> assert_close(cg.tensor([1.0, 2.0]), cg.tensor([1.0, 2.0 + 1e-6]))
>>> assert_close(cg.tensor([1.0, 2.0]), cg.tensor([1.0, 3.0]))
Traceback (most recent call last):
...
AssertionError: Tensor-likes are not close!
<BLANKLINE>
Mismatched elements: 1 / 2 (50.0%)
Greatest absolute difference: 1.0 at index (1,) (up to 1e-05 allowed)
Greatest relative difference: 0.3333333432674408 at index (1,) (up to 1.3e-06 allowed)

Inputs: convgrad Tensors, ndarrays (compared with ndarrays only, as torch compares them with
its tensors only), Python/NumPy numbers and bools, None, and nested sequences and mappings of
them. Closeness is ``|actual − expected| ≤ atol + rtol·|expected|`` computed in the inputs'
dtype, as torch computes it.
"""

from __future__ import annotations

import cmath
import collections.abc
import math
import warnings
from typing import Any, Callable

import numpy as np

from .autograd import Size, Tensor
from .device import check_device
from .semantics import _promote, get_default_dtype

__all__ = ["assert_close", "make_tensor", "assert_allclose"]

_PRECISIONS = {np.dtype(np.float16): (0.001, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
               np.dtype(np.complex128): (1e-7, 1e-7)}
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64),
                  complex: np.dtype(np.complex128)}


class _FailError(Exception):
    """A failure to report: its exception type, message and the item path inside the input."""

    def __init__(self, kind: type, msg: str, id: tuple = ()):
        super().__init__(msg)
        self.kind, self.msg, self.id = kind, msg, id

    def error(self, msg=None) -> Exception:
        if isinstance(msg, str):
            return self.kind(msg)
        text = self.msg
        if self.id:
            text += f"\n\nThe failure occurred for item {''.join(str([i]) for i in self.id)}"
        return self.kind(msg(text) if callable(msg) else text)


def _tolerances(dtypes, rtol, atol, id: tuple, table=None) -> tuple[float, float]:
    if (rtol is None) != (atol is None):
        raise _FailError(ValueError, f"Both 'rtol' and 'atol' must be either specified or omitted, "
                                f"but got no {'rtol' if rtol is None else 'atol'}.", id)
    if rtol is not None:
        return rtol, atol
    pairs = [(table or _PRECISIONS).get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _name(d: np.dtype) -> str:
    return f"convgrad.{np.dtype(d).name}"


def _diff_lines(abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol) -> str:
    equality = rtol == 0 and atol == 0
    out = ""
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol),
                                 ("relative", rel_diff, rel_idx, rtol)):
        line = (f"{kind.title()} difference: {diff}" if idx is None else
                f"Greatest {kind} difference: {diff} at index {idx}")
        out += line + ("" if equality else f" (up to {tol} allowed)") + "\n"
    return out


def _mismatch(what: str, extra: str, *diffs) -> str:
    rtol, atol = diffs[5], diffs[2]
    head = f"{what} are not {'equal' if rtol == 0 and atol == 0 else 'close'}!\n\n"
    return (head + extra.strip() + "\n" + _diff_lines(*diffs)).strip()


def _scalar_msg(actual, expected, rtol, atol) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch("Scalars", f"Expected {expected} but got {actual}.",
                     abs_diff, None, atol, rel_diff, None, rtol)


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float,
             equal_nan: bool) -> np.ndarray:
    """torch.isclose, with torch's arithmetic: float16 through float32 rounded after each op,
    integers and bools converted to the default float type first."""
    if rtol < 0 or atol < 0:
        name, value = ("rtol", rtol) if rtol < 0 else ("atol", atol)
        raise RuntimeError(f"assert_close: {name} must be greater than or equal to zero, but "
                           f"got {value}")
    close = a == e
    if equal_nan and a.dtype.kind in "fc":
        close |= np.isnan(a) & np.isnan(e)
    if rtol == 0 and atol == 0:
        return close
    if a.dtype.kind in "biu":
        a, e = a.astype(get_default_dtype()), e.astype(get_default_dtype())
    kind = a.dtype
    if kind == np.float16:
        f32 = np.float32
        allowed = np.abs((f32(rtol) * e.astype(f32)).astype(kind))
        allowed = (f32(atol) + allowed.astype(f32)).astype(kind)
        error = np.abs(a - e)
    else:
        scalar = kind.type if kind.kind == "f" else float
        allowed = scalar(atol) + np.abs(scalar(rtol) * e)
        error = np.abs(a - e)
    return close | (np.isfinite(error) & (error <= allowed))


class _Pair:
    def __init__(self, actual, expected, id: tuple, **options):
        self.actual, self.expected, self.id, self.options = actual, expected, id, options

    def fail(self, msg: str, kind: type = AssertionError):
        raise _FailError(kind, msg, self.id)


class _NonePair(_Pair):
    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            self.fail(f"None mismatch: {self.actual} is not {self.expected}")


class _BoolPair(_Pair):
    def compare(self) -> None:
        a, e = bool(self.actual), bool(self.expected)
        if a is not e:
            self.fail(f"Booleans mismatch: {a} is not {e}")


class _NumberPair(_Pair):
    def __init__(self, actual, expected, id: tuple, *, rtol, atol, **options):
        actual, expected = (v.item() if isinstance(v, np.number) else v
                            for v in (actual, expected))
        for v in (actual, expected):
            if type(v) not in _NUMBER_DTYPES:
                raise _FailError(RuntimeError, f"Unknown number type {type(v)} (a bool meets "
                                               f"a number: compare bools with bools)", id)
        super().__init__(actual, expected, id, **options)
        self.rtol, self.atol = _tolerances([_NUMBER_DTYPES[type(v)] for v in (actual, expected)],
                                           rtol, atol, id)

    def compare(self) -> None:
        a, e, o = self.actual, self.expected, self.options
        if o["check_dtype"] and type(a) is not type(e):
            self.fail(f"The (d)types do not match: {type(a)} != {type(e)}.")
        if a == e or (o["equal_nan"] and cmath.isnan(a) and cmath.isnan(e)):
            return
        diff = abs(a - e)
        if cmath.isfinite(diff) and diff <= self.atol + self.rtol * abs(e):
            return
        self.fail(_scalar_msg(a, e, self.rtol, self.atol))


class _TensorPair(_Pair):
    def __init__(self, actual, expected, id: tuple, *, rtol, atol, **options):
        super().__init__(actual, expected, id, **options)
        self.a, self.e = (v.array if isinstance(v, Tensor) else v for v in (actual, expected))
        for v in (self.a, self.e):
            if v.dtype.kind not in "biufc":
                raise _FailError(TypeError, f"No comparison pair was able to handle inputs of type "
                                       f"{type(actual)} and {type(expected)}.", id)
        self.rtol, self.atol = _tolerances([self.a.dtype, self.e.dtype], rtol, atol, id)

    def compare(self) -> None:
        a, e, o = self.a, self.e, self.options
        if a.shape != e.shape:
            self.fail(f"The values for attribute 'shape' do not match: {Size(a.shape)} != "
                      f"{Size(e.shape)}.")
        strides = [tuple(s // v.itemsize for s in v.strides) for v in (a, e)]
        if o["check_stride"] and strides[0] != strides[1]:
            self.fail(f"The values for attribute 'stride()' do not match: {strides[0]} != "
                      f"{strides[1]}.")
        if o["check_dtype"] and a.dtype != e.dtype:
            self.fail(f"The values for attribute 'dtype' do not match: {_name(a.dtype)} != "
                      f"{_name(e.dtype)}.")
        if a.dtype != e.dtype:
            common = _promote(a.dtype, e.dtype)
            a, e = a.astype(common), e.astype(common)
        with np.errstate(all="ignore"):
            matches = _isclose(a, e, self.rtol, self.atol, o["equal_nan"])
            if matches.all():
                return
            if a.ndim == 0:
                self.fail(_scalar_msg(a.item(), e.item(), self.rtol, self.atol))
            self.fail(self._message(a, e, matches))

    def _message(self, a: np.ndarray, e: np.ndarray, matches: np.ndarray) -> str:
        total, bad = matches.size, int(matches.size - matches.sum())
        extra = f"Mismatched elements: {bad} / {total} ({bad / total:.1%})"
        a, e, m = a.ravel(), e.ravel(), matches.ravel()
        if a.dtype.kind not in "fc":
            a, e = a.astype(np.int64), e.astype(np.int64)
        abs_diff = np.abs(a - e)
        abs_diff[m] = 0
        division = abs_diff.astype(get_default_dtype()) if a.dtype.kind in "iu" else abs_diff
        rel_diff = division / np.abs(e).astype(division.dtype)
        rel_diff[m] = 0

        def where(v: np.ndarray) -> tuple[int, ...]:
            return tuple(int(i) for i in np.unravel_index(int(np.argmax(v)), matches.shape))

        abs_i, rel_i = where(abs_diff), where(rel_diff)
        return _mismatch("Tensor-likes", extra,
                         abs_diff[np.ravel_multi_index(abs_i, matches.shape)].item(), abs_i,
                         self.atol, rel_diff[np.ravel_multi_index(rel_i, matches.shape)].item(),
                         rel_i, self.rtol)


def _pair(actual, expected, id: tuple, options: dict) -> _Pair:
    if actual is None or expected is None:
        return _NonePair(actual, expected, id, **options)
    bools = (bool, np.bool_)
    if isinstance(actual, bools) and isinstance(expected, bools):
        return _BoolPair(actual, expected, id, **options)
    numbers = (int, float, complex, np.number)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        return _NumberPair(actual, expected, id, **options)
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if related and isinstance(actual, (Tensor, np.ndarray)):
        return _TensorPair(actual, expected, id, **options)
    raise _FailError(TypeError, f"No comparison pair was able to handle inputs of type "
                           f"{type(actual)} and {type(expected)}.", id)


def _pairs(actual, expected, id: tuple, options: dict) -> list[_Pair]:
    seq, mapping = collections.abc.Sequence, collections.abc.Mapping
    if (isinstance(actual, seq) and not isinstance(actual, str) and isinstance(expected, seq)
            and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _FailError(AssertionError, f"The length of the sequences mismatch: {len(actual)} "
                                        f"!= {len(expected)}", id)
        return [p for i in range(len(actual))
                for p in _pairs(actual[i], expected[i], (*id, i), options)]
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        keys, other = set(actual.keys()), set(expected.keys())
        if keys != other:
            raise _FailError(AssertionError, f"The keys of the mappings do not match:\n"
                                        f"Missing keys in the actual mapping: "
                                        f"{sorted(other - keys)}\nAdditional keys in the "
                                        f"actual mapping: {sorted(keys - other)}", id)
        try:
            ordered = sorted(keys)
        except TypeError:
            ordered = list(keys)
        return [p for k in ordered for p in _pairs(actual[k], expected[k], (*id, k), options)]
    return [_pair(actual, expected, id, options)]


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, msg: str | Callable[[str], str] | None = None
                 ) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close: same shape and (by
    default) dtype, and ``|a − e| ≤ atol + rtol·|e|`` elementwise, with torch's default
    tolerances per dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7; float16:
    1e-3, 1e-5; integers and bools exact). ``msg``: a string that replaces the message, or a
    function of it. Devices and layouts always match (the CPU, strided)."""
    __tracebackhide__ = True
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype,
                   check_stride=check_stride)
    try:
        pairs = _pairs(actual, expected, (), options)
    except _FailError as fail:
        raise fail.error() from None
    for pair in pairs:
        try:
            pair.compare()
        except _FailError as fail:
            raise fail.error(msg) from None


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None,
                    atol: float | None = None, equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated (as in torch): ``assert_close`` with looser defaults, any dtypes, NaN equal."""
    warnings.warn("`convgrad.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `convgrad.testing.assert_close()` "
                  "instead.", FutureWarning, stacklevel=2)
    from .creation import tensor  # noqa: PLC0415
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        table = {np.dtype(np.float16): (1e-3, 1e-3), np.dtype(np.float32): (1e-4, 1e-5),
                 np.dtype(np.float64): (1e-5, 1e-8)}
        rtol, atol = _tolerances([actual.dtype, expected.dtype], None, None, (), table)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_dtype=False, msg=msg or None)


def make_tensor(*shape, dtype, device, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format=None) -> Tensor:
    """A tensor of ``shape`` with values drawn uniformly from ``[low, high)`` (defaults: bool
    [0, 2), unsigned [0, 10), signed [−9, 10), floats [−9, 9)), from convgrad's generator.

    >>> import convgrad as cg
    >>> t = make_tensor(2, 3, dtype=cg.int64, device="cpu", low=0, high=1); t.tolist()
    [[0, 0, 0], [0, 0, 0]]
    """
    from .random import generator  # noqa: PLC0415
    check_device(device, "make_tensor")
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = None
    if d is None or d.kind not in "biuf":
        raise TypeError(f"The requested dtype '{dtype}' is not supported by "
                        f"convgrad.testing.make_tensor().")
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(int(s) for s in shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually "
                         f"exclusive, but got noncontiguous={noncontiguous} and "
                         f"memory_format={memory_format}")
    if requires_grad and d.kind != "f":
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={_name(d)}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    if d.kind == "b":
        lo_hi, default = (0, 2), (0, 2)
    elif d.kind in "iu":
        info = np.iinfo(d)
        lo_hi = (int(info.min), int(info.max) + (d != np.int64))
        default = (-9, 10)
    else:
        lo_hi, default = (float(np.finfo(d).min), float(np.finfo(d).max)), (-9, 9)
    low = default[0] if low is None else low
    high = default[1] if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and d.kind == "f":
        warnings.warn("Passing `low==high` to `make_tensor` for floating types is deprecated. "
                      "Use `convgrad.full(...)` instead.", FutureWarning, stacklevel=2)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lo_hi[0] or low >= lo_hi[1]:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but {_name(d)} only supports [{lo_hi[0]}, {lo_hi[1]})")
    low, high = (min(max(v, lo_hi[0]), lo_hi[1]) for v in (low, high))
    rng = generator()
    if d.kind in "biu":
        lo, hi = math.ceil(low), math.ceil(high)
        array = rng.integers(lo, hi, size=shape, dtype=np.int64 if d.kind == "b" else d)
        array = array.astype(d)
    elif high - low >= np.finfo(d).max:
        array = (rng.uniform(low / 2, high / 2, size=shape) * 2).astype(d)
    else:
        array = rng.uniform(low, high, size=shape).astype(d)
    if noncontiguous:
        array = array[..., 1::2]
    if exclude_zero:
        array[array == 0] = 1 if d.kind != "f" else np.finfo(d).smallest_normal
    t = Tensor(array)
    if d.kind == "f":
        t.requires_grad = requires_grad
    return t
