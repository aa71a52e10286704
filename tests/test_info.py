"""convgrad.methods.info (type facts, legacy types, asarray/frombuffer, threads, stand-ins) vs
torch. Classes are taken from the module: the top-level twins need convgrad/__init__.py to
leave non-functions unwrapped (test_top_level_names_are_the_objects)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad.methods import info

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def kind(fn):
    try:
        fn()
    except Exception as e:          # noqa: BLE001
        return type(e).__name__
    return "ok"


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_promote_types_and_can_cast(a, b):
    torch = import_torch()
    ta, tb = getattr(torch, a), getattr(torch, b)
    assert str(info.promote_types(np.dtype(a), np.dtype(b))) == str(
        torch.promote_types(ta, tb)).removeprefix("torch.")
    assert info.can_cast(np.dtype(a), np.dtype(b)) == torch.can_cast(ta, tb)


@pytest.mark.parametrize("args", [(1, 2), (1, 2.0), (True, 1), ("t_int", 1.0), ("t_f64", 1),
                                  ("t_int", "t0_f64"), ("t_f16", 2.5), ("t0_int", 2.5)])
def test_result_type(args):
    torch = import_torch()

    def make(v, lib):
        table = {"t_int": ([1], lib.int8), "t_f64": ([1.0], lib.float64),
                 "t0_f64": (1.0, lib.float64), "t_f16": ([1.0], lib.float16),
                 "t0_int": (1, lib.int32)}
        return lib.tensor(*table[v][:1], dtype=table[v][1]) if isinstance(v, str) else v
    got = info.result_type(*(make(v, cg) for v in args))
    assert str(got) == str(torch.result_type(*(make(v, torch) for v in args))).split(".")[1]


@pytest.mark.parametrize("call", ["numel", "is_floating_point", "is_complex", "is_nonzero",
                                  "is_signed"])
def test_non_tensor_arguments_are_type_errors(call):
    torch = import_torch()
    assert kind(lambda: getattr(info, call)([1])) == kind(lambda: getattr(torch, call)([1]))


@pytest.mark.parametrize("data", [[0.0], [2], [True], [], [1, 2], [float("nan")]])
def test_is_nonzero(data):
    torch = import_torch()
    assert kind(lambda: info.is_nonzero(cg.tensor(data))) == kind(
        lambda: torch.is_nonzero(torch.tensor(data)))
    if len(data) == 1:
        assert cg.tensor(data).is_nonzero() == torch.tensor(data).is_nonzero()


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    torch = import_torch()
    mine, ref = info.finfo(np.dtype(name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(mine, attr) == getattr(ref, attr), attr
    assert repr(mine) == repr(ref)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    torch = import_torch()
    mine, ref = info.iinfo(np.dtype(name)), torch.iinfo(getattr(torch, name))
    assert (mine.bits, mine.max, mine.min, mine.dtype) == (ref.bits, ref.max, ref.min, ref.dtype)
    assert repr(mine) == repr(ref)


def test_info_defaults_and_errors():
    assert info.finfo() == info.finfo(cg.float32)
    for bad in (lambda: info.finfo(cg.int32), lambda: info.iinfo(cg.float32),
                lambda: info.iinfo(cg.bool), lambda: info.finfo("float32")):
        assert kind(bad) == "TypeError"


@pytest.mark.parametrize("obj, want", [(1, "int"), ([1], "list"), (np.zeros(1), "numpy.ndarray")])
def test_typename(obj, want):
    assert info.typename(obj) == want


def test_typename_of_tensors_and_dtype():
    assert info.typename(cg.zeros(1)) == "convgrad.FloatTensor"
    assert info.typename(cg.zeros(1, dtype=cg.uint8)) == "convgrad.ByteTensor"
    assert isinstance(cg.float32, info.dtype) and info.is_storage(cg.zeros(1)) is False


@pytest.mark.parametrize("name", info._it._TYPES)
@pytest.mark.parametrize("data", [[1, 2], [1.7, -1.0], (3,), [[1, 0], [2, 5]], [True]])
def test_legacy_constructors_from_data(name, data):
    torch = import_torch()
    outcome = kind(lambda: getattr(torch, name)(data))
    assert kind(lambda: getattr(info, name)(data)) == outcome
    if outcome != "ok":
        return
    got, ref = getattr(info, name)(data), getattr(torch, name)(data)
    assert got.tolist() == ref.tolist() and str(got.dtype) == str(ref.dtype).split(".")[1]


@pytest.mark.parametrize("args", [(3,), (2, 3), (0,), (), (-1,), (2.5,), (True,), ("ab",),
                                  (2, [3])])
def test_legacy_constructors_from_size(args):
    torch = import_torch()
    assert kind(lambda: info.LongTensor(*args)) == kind(lambda: torch.LongTensor(*args))
    if kind(lambda: torch.LongTensor(*args)) == "ok":
        assert tuple(info.LongTensor(*args).shape) == tuple(torch.LongTensor(*args).shape)
        assert (info.LongTensor(*args).numpy() == 0).all()


def test_legacy_types_isinstance():
    x = cg.zeros(2)
    assert isinstance(x, info.FloatTensor) and not isinstance(x, info.DoubleTensor)
    assert isinstance(cg.zeros(2, requires_grad=True), info.FloatTensor)
    assert isinstance(cg.nn.Parameter(cg.zeros(2)), info.FloatTensor)
    assert isinstance(cg.tensor([1]), info.LongTensor) and not isinstance(1, info.LongTensor)
    assert not issubclass(info.FloatTensor, cg.Tensor) and not issubclass(cg.Tensor,
                                                                          info.FloatTensor)
    assert info.FloatTensor.dtype == cg.float32 and type(info.FloatTensor([1])) is cg.Tensor


def test_legacy_constructor_of_a_tensor_shares_memory():
    x = cg.zeros(2)
    y = info.FloatTensor(x)
    y.array[0] = 1
    assert y is not x and x.tolist() == [1.0, 0.0]
    with pytest.raises(TypeError):
        info.FloatTensor(cg.zeros(2, dtype=cg.float64))
    with pytest.raises(TypeError):
        info.FloatTensor([1], requires_grad=True)


def test_top_level_names_are_the_objects():
    for name in ("FloatTensor", "dtype", "finfo", "iinfo", "autocast", "strided"):
        assert getattr(cg, name) is getattr(info, name, None) or name == "strided", name
    assert isinstance(cg.zeros(2), cg.FloatTensor)


def test_asarray_shares_and_copies():
    a = np.zeros(3, np.float32)
    t = info.asarray(a)
    a[0] = 1
    assert t.tolist() == [1.0, 0.0, 0.0]
    assert info.asarray(a, copy=True).array is not a
    assert info.asarray(a, dtype=cg.float64).dtype == cg.float64
    with pytest.raises(ValueError):
        info.asarray(a, dtype=cg.float64, copy=False)
    with pytest.raises(ValueError):
        info.asarray([1, 2], copy=False)
    x = cg.zeros(2)
    assert info.asarray(x) is x and info.asarray(x, copy=True) is not x
    assert info.asarray(3).dtype == cg.int64 and info.asarray(3.0).dtype == cg.float32
    assert info.asarray([1.0, 2], requires_grad=True).requires_grad


def test_asarray_requires_grad_rules_like_torch():
    x = cg.zeros(2, requires_grad=True)
    with pytest.warns(UserWarning):
        assert info.asarray(x) is x
    y = info.asarray(x * 2, requires_grad=False)
    assert not y.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = info.asarray(x, copy=True)
    assert c.requires_grad and not c.is_leaf


def test_asarray_of_a_buffer_shares_memory():
    b = bytearray(np.arange(4, dtype=np.float32).tobytes())
    t = info.asarray(b)
    b[0:4] = np.float32(9).tobytes()
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("kw", [{}, {"count": 2, "offset": 4}, {"count": 10}, {"offset": 30},
                                {"offset": -1}, {"count": 0}, {"count": 2, "offset": 3}])
def test_frombuffer_like_torch(kw):
    torch = import_torch()
    b = bytearray(np.arange(6, dtype=np.int32).tobytes())
    mine = kind(lambda: info.frombuffer(b, dtype=cg.int32, **kw))
    assert mine == kind(lambda: torch.frombuffer(b, dtype=torch.int32, **kw))
    if mine == "ok":
        assert info.frombuffer(b, dtype=cg.int32, **kw).tolist() == torch.frombuffer(
            b, dtype=torch.int32, **kw).tolist()


def test_frombuffer_errors_and_sharing():
    assert kind(lambda: info.frombuffer(bytearray(5), dtype=cg.int32)) == "ValueError"
    assert kind(lambda: info.frombuffer(bytearray(0), dtype=cg.int32)) == "ValueError"
    assert kind(lambda: info.frombuffer([1, 2], dtype=cg.uint8)) == "ValueError"
    b = bytearray(4)
    t = info.frombuffer(b, dtype=cg.uint8)
    b[1] = 7
    assert t.tolist() == [0, 7, 0, 0]


@pytest.mark.parametrize("n, error", [(0, "RuntimeError"), (-1, "RuntimeError"),
                                      (2.0, "RuntimeError"), (True, "RuntimeError")])
def test_set_num_threads_refuses_like_torch(n, error):
    assert kind(lambda: info.set_num_threads(n)) == error
    assert kind(lambda: info.set_num_interop_threads(n)) == error


def test_set_num_threads_is_remembered():
    before = info.get_num_threads()
    try:
        info.set_num_threads(1)
        assert info.get_num_threads() == 1
        controller = cg.ops.parallel.blas_controller()
        if controller is not None:
            assert all(lib["num_threads"] == 1 for lib in controller.info()
                       if lib["user_api"] == "blas")
    finally:
        info.set_num_threads(before)
    info.set_num_interop_threads(2)
    assert info.get_num_interop_threads() == 2


def test_compile_and_autocast_are_stand_ins():
    f = lambda x: x
    assert info.compile(f) is f and info.compile(fullgraph=True)(f) is f
    with info.autocast("cpu"):
        assert not info.is_autocast_enabled() and not info.is_autocast_enabled("cpu")
        assert (cg.ones(2) @ cg.ones(2)).dtype == cg.float32
    with pytest.warns(UserWarning):
        info.autocast("cpu", dtype=cg.float64)
    assert info.autocast("cpu")(f) is f
    with pytest.raises(RuntimeError):
        info.autocast("xpu2")


def test_tensor_facts():
    torch = import_torch()
    x, r = cg.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    assert x.H.tolist() == r.H.tolist() and x.adjoint().tolist() == r.adjoint().tolist()
    assert x.conj() is x and x.resolve_conj() is x and x.resolve_neg() is x and x.real is x
    assert not x.is_conj() and not x.is_neg() and x.output_nr == 0
    assert x.layout == cg.methods.factory.strided
    assert x.is_same_size(cg.zeros(2, 3, dtype=cg.int64)) and not x.is_same_size(cg.zeros(3))
    assert x.data_ptr() == x.array.ctypes.data and x[1].data_ptr() - x.data_ptr() == 12
    assert not x.is_pinned() and not x.is_shared() and x.share_memory_() is x and x.is_shared()
    assert [cg.zeros(1, dtype=np.dtype(n)).is_signed() for n in NAMES] == [
        torch.zeros(1, dtype=getattr(torch, n)).is_signed() for n in NAMES]
    assert not x.is_complex() and not x.is_inference() and x.nelement() == 6


@pytest.mark.parametrize("expr", ["v.H", "v.mH", "v.adjoint()", "z3.H", "x.imag", "x.pin_memory()",
                                  "s.H", "x.is_same_size([1])"])
def test_tensor_fact_errors_like_torch(expr):
    torch = import_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = kind(lambda: eval(expr, {"v": cg.zeros(3), "z3": cg.zeros(2, 2, 2),
                                        "x": cg.zeros(2, 2), "s": cg.tensor(1.0)}))
        theirs = kind(lambda: eval(expr, {"v": torch.zeros(3), "z3": torch.zeros(2, 2, 2),
                                          "x": torch.zeros(2, 2), "s": torch.tensor(1.0)}))
    assert mine == theirs


@pytest.mark.parametrize("data, fn", [([0.0, 1, 2], lambda v: v * 2), ([1, 2], lambda v: v + 0.7),
                                      ([1, 2], lambda v: "a"), ([1.0], lambda v: None),
                                      ([True], lambda v: 5), ([1, 2], lambda v: 2 ** 70)])
def test_apply_like_torch(data, fn):
    torch = import_torch()
    mine, ref = cg.tensor(data), torch.tensor(data)
    assert kind(lambda: mine.apply_(fn)) == kind(lambda: ref.apply_(fn))
    assert mine.tolist() == ref.tolist()


def test_apply_refuses_requires_grad():
    with pytest.raises(RuntimeError, match="apply_"):
        cg.ones(2, requires_grad=True).apply_(lambda v: v)
