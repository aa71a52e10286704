"""nn.Module and the containers against torch.nn: the same model built in both libraries has the
same state-dict keys/order/shapes, repr, traversal, hooks and load_state_dict results."""

from collections import OrderedDict

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad import nn
from convgrad.nn import parallel

torch = import_torch()
tnn = torch.nn


def build(lib):
    """Nested Sequential / ModuleList / ModuleDict of Linear, Conv2d and BatchNorm2d."""
    shared = lib.Linear(3, 3)
    return lib.Sequential(OrderedDict([
        ("features", lib.Sequential(lib.Conv2d(2, 4, 3, padding=1), lib.BatchNorm2d(4),
                                    lib.ReLU())),
        ("blocks", lib.ModuleList([lib.Linear(4, 3), shared, shared, lib.Tanh()])),
        ("heads", lib.ModuleDict({"a": lib.Linear(3, 2), "b": lib.Sequential(lib.Linear(3, 1))})),
        ("extra", lib.ModuleList([lib.Linear(1, 1) for _ in range(3)])),
    ]))


def torch_repr(text: str) -> str:
    return text.replace("convgrad", "torch")


def test_state_dict_keys_order_shapes_and_repr_match_torch():
    ours, theirs = build(nn), build(tnn)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert [tuple(v.shape) for v in a.values()] == [tuple(v.shape) for v in b.values()]
    assert all(isinstance(v, cg.Tensor) and not v.requires_grad for v in a.values())
    assert repr(ours.blocks) == repr(theirs.blocks)          # (Conv/BatchNorm texts are
    assert repr(ours.heads) == repr(theirs.heads)            # the layers' own business)
    assert repr(ours).count("\n") == repr(theirs).count("\n")
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ([n for n, _ in ours.named_parameters(remove_duplicate=False)]
            == [n for n, _ in theirs.named_parameters(remove_duplicate=False)])
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ([n for n, _ in ours.named_modules(remove_duplicate=False)]
            == [n for n, _ in theirs.named_modules(remove_duplicate=False)])
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert ([n for n, _ in ours.named_parameters(prefix="m", recurse=False)]
            == [n for n, _ in theirs.named_parameters(prefix="m", recurse=False)])
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert [n for n, _ in ours.blocks.named_parameters()] == [
        n for n, _ in theirs.blocks.named_parameters()]


def test_a_state_dict_of_torch_tensors_loads_directly():
    """torch's own state_dict (torch tensors, not arrays) loads with strict=True, values and
    integer buffers kept; the loaded model computes torch's outputs."""
    ours, theirs = build(nn), build(tnn)
    result = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()) and a.numpy().dtype == b.numpy().dtype, name


def test_state_dict_round_trips_between_the_libraries():
    ours, theirs = build(nn), build(tnn)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                            ours.state_dict().items()})
    back = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert back.missing_keys == [] and back.unexpected_keys == []
    assert repr(back) == repr(theirs.load_state_dict(theirs.state_dict()))
    assert ours.state_dict(prefix="p.").keys() == theirs.state_dict(prefix="p.").keys()
    kept = ours.state_dict(keep_vars=True)
    assert kept["blocks.0.weight"] is ours.blocks[0].weight


def test_buffers_are_tensors_and_non_persistent_ones_are_not_saved():
    for lib, to in ((nn, np.zeros), (tnn, torch.zeros)):
        m = lib.Module()
        m.register_buffer("a", to(2))
        m.register_buffer("b", to(3), persistent=False)
        assert list(m.state_dict()) == ["a"]
        assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    m = nn.Module()
    m.register_buffer("a", np.zeros(2))
    assert isinstance(m.a, cg.Tensor)
    m.a = cg.ones(2)
    assert m.get_buffer("a").tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'a'"):
        m.a = 3


def test_batch_norm_buffers_update_in_place_as_tensors():
    bn = nn.BatchNorm2d(2)
    mean = bn.running_mean
    bn(np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32))
    assert bn.running_mean is mean and isinstance(mean, cg.Tensor)
    assert bn.num_batches_tracked.item() == 1


def errors(fn):
    try:
        fn()
    except Exception as e:                 # noqa: BLE001
        return type(e).__name__, torch_repr(str(e))
    return None


@pytest.mark.parametrize("action", [
    lambda lib, m: m.foo,
    lambda lib, m: m.train("yes"),
    lambda lib, m: m.get_submodule("0.x"),
    lambda lib, m: m.get_submodule("5"),
    lambda lib, m: m.get_parameter("0.foo"),
    lambda lib, m: m.get_buffer("0.weight"),
    lambda lib, m: m.get_submodule("0.weight"),
    lambda lib, m: m.register_parameter("x.y", None),
    lambda lib, m: m.register_parameter("", None),
    lambda lib, m: m.add_module("a.b", lib.ReLU()),
    lambda lib, m: m.add_module("c", 3),
    lambda lib, m: m.register_buffer("training", None),
    lambda lib, m: m.register_buffer(3, None),
    lambda lib, m: m[5],
    lambda lib, m: m.insert(3, lib.ReLU()),
    lambda lib, m: m + 3,
])
def test_errors_match_torch(action):
    ours, theirs = nn.Sequential(nn.Linear(2, 2)), tnn.Sequential(tnn.Linear(2, 2))
    assert errors(lambda: action(nn, ours)) == errors(lambda: action(tnn, theirs))


def test_load_state_dict_errors_and_results_match_torch():
    ours, theirs = nn.Sequential(nn.Conv2d(1, 2, 3)), tnn.Sequential(tnn.Conv2d(1, 2, 3))
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    cases = [{"0.weight": state["0.weight"]}, {**state, "1.weight": state["0.weight"]},
             {**state, "0.weight": np.zeros((2, 1, 2, 2), np.float32)},
             {"0.weight": np.zeros((2, 1, 2, 2), np.float32), "x": np.zeros(1, np.float32),
              "0.q.r": np.zeros(1, np.float32)}]
    for case in cases:
        for strict in (True, False):
            got = errors(lambda c=case, s=strict: ours.load_state_dict(c, strict=s))
            want = errors(lambda c=case, s=strict: theirs.load_state_dict(
                {k: torch.from_numpy(v) for k, v in c.items()}, strict=s))
            assert (got[1] if got else None) == (want[1] if want else None)
            if got:
                assert got[0] == "StateDictError" and want[0] == "RuntimeError"
    with pytest.raises(RuntimeError):               # torch's type (and a ValueError)
        ours.load_state_dict(cases[0])
    result = ours.load_state_dict({"0.weight": state["0.weight"], "x": state["0.bias"]},
                                  strict=False)
    assert result == theirs.load_state_dict({"0.weight": torch.from_numpy(state["0.weight"]),
                                             "x": torch.from_numpy(state["0.bias"])},
                                            strict=False)
    assert repr(result) == repr(theirs.load_state_dict({}, strict=False)).replace(
        "'0.weight', '0.bias'", "'0.bias'").replace("[]", "['x']")


def test_load_state_dict_copies_in_place_or_assigns():
    m = nn.Linear(2, 3)
    w = m.weight
    version = w._version
    m.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(3)})
    assert m.weight is w and w.dtype == np.float32 and w._version > version
    m.load_state_dict({"weight": cg.full((3, 2), 2.0), "bias": cg.zeros(3)}, assign=True)
    assert m.weight is not w and isinstance(m.weight, nn.Parameter) and m.weight.requires_grad


def test_hooks_run_in_torch_order_with_torch_values():
    assert rounded(hook_log(nn, cg.tensor)) == rounded(hook_log(tnn, torch.tensor))


def hook_log(lib, tensor) -> list:
    """What every kind of hook sees, in the order they run."""
    log = []
    m = lib.Sequential(lib.Linear(2, 2), lib.Tanh())
    with torch.no_grad() if lib is tnn else cg.no_grad():
        m[0].weight.copy_(tensor([[1.0, -2.0], [0.5, 0.25]]))
        m[0].bias.copy_(tensor([0.1, -0.1]))
    m[0].register_forward_pre_hook(lambda mod, args: log.append(("pre", args[0].tolist())))
    m[0].register_forward_pre_hook(lambda mod, args: log.append(("pre0",)), prepend=True)
    m[0].register_forward_pre_hook(lambda mod, args, kw: log.append(("prekw", kw)),
                                   with_kwargs=True)
    h = m[0].register_forward_hook(lambda mod, args, out: out * 2)
    m[0].register_forward_hook(lambda mod, a, out: log.append(("fwd", out.tolist())))
    m[1].register_full_backward_pre_hook(
        lambda mod, go: log.append(("bpre", [g.tolist() for g in go])))
    m[1].register_full_backward_hook(lambda mod, gi, go: log.append(
        ("bwd1", [g.tolist() for g in gi], [g.tolist() for g in go])))
    m[0].register_full_backward_hook(lambda mod, gi, go: log.append(
        ("bwd0", [g is None for g in gi], [g.tolist() for g in go])))
    x = tensor([[1.0, 2.0]], requires_grad=True)
    y = m(x)
    log.append(("y", y.tolist()))
    (y * tensor([[1.0, 3.0]])).sum().backward()
    log.append(("xgrad", x.grad.tolist()))
    h.remove()
    log.append(("after", m(x).tolist()))
    m.apply(lambda mod: log.append(("apply", type(mod).__name__)))
    return log


def rounded(value):
    """Floats rounded to 5 decimals, everywhere in a nested structure."""
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, (list, tuple)):
        return type(value)(rounded(v) for v in value)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def test_backward_hook_can_replace_grad_input():
    m = nn.Linear(2, 1)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 7,))
    x = cg.ones(1, 2, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.tolist() == [[7.0, 7.0]]


def test_to_keeps_the_parameters_and_converts_buffers():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    m(np.ones((3, 2), np.float32)).sum().backward()
    assert m.to(cg.float64) is m and m[0].weight is w
    assert w.dtype == np.float64 and w.grad.dtype == np.float64
    assert m[1].running_mean.dtype == np.float64 and m[1].num_batches_tracked.dtype == np.int64
    m.float()
    assert w.dtype == np.float32
    m.to("cpu", cg.float64)
    m.to(cg.zeros(1, dtype=cg.float32))
    assert w.dtype == np.float32
    m.half()
    assert w.dtype == np.float16
    m.type(cg.float64)
    assert m[1].num_batches_tracked.dtype == np.float64
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        m.to(cg.int64)
    with pytest.raises(RuntimeError):
        m.cuda()
    assert m.cpu() is m and m.share_memory() is m


def test_modes_grad_flags_dir_and_delattr():
    for lib in (nn, tnn):
        m = lib.Sequential(lib.Linear(2, 2), lib.Dropout())
        assert m.eval() is m and not m[1].training
        m.train()
        assert all(x.training for x in m.modules())
        m.requires_grad_(False)
        assert not any(p.requires_grad for p in m.parameters())
        m.requires_grad_()
        m(lib.Linear(2, 2).weight).sum().backward()
        m.zero_grad(set_to_none=False)
        assert all(float(abs(p.grad).sum()) == 0 for p in m.parameters())
        m.zero_grad()
        assert all(p.grad is None for p in m.parameters())
        lin = m[0]
        assert "weight" in dir(lin) and "0" not in dir(m)
        del lin.bias
        assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_sequential_api_matches_torch():
    def ops(lib):
        s = lib.Sequential(lib.ReLU(), lib.Tanh(), lib.Sigmoid(), lib.Identity())
        out = [repr(s[-1]), repr(s[1:3]), repr(s[::2])]
        s[0] = lib.ELU()
        del s[1]
        out.append(repr(s))
        s.append(lib.ReLU()).insert(1, lib.Softplus()).extend([lib.Tanh()])
        out.append(repr(s.pop(0)))
        out += [repr(s), len(s), [type(x).__name__ for x in s]]
        out.append(repr(s + lib.Sequential(lib.ReLU())))
        out.append(repr(lib.Sequential(lib.ReLU()) * 2))
        del s[1:3]
        out.append(repr(s))
        return out
    assert ops(nn) == ops(tnn)


def test_module_list_and_dict_api_match_torch():
    def ops(lib):
        ml = lib.ModuleList([lib.ReLU(), lib.Tanh()])
        ml += [lib.Sigmoid()]
        ml.append(lib.ReLU()).extend([lib.ReLU(), lib.ReLU()])
        ml.insert(1, lib.Identity())
        out = [repr(ml), repr(ml[1:3]), repr(ml[-1]), len(ml), repr(ml + [lib.Tanh()])]
        del ml[0]
        out.append(repr(ml.pop(-1)))
        out.append(repr(ml))
        md = lib.ModuleDict([("x", lib.ReLU()), ("y", lib.Tanh())])
        md.update({"z": lib.Sigmoid()})
        md["w"] = lib.Identity()
        out += [list(md.keys()), "x" in md, repr(md.pop("y")), len(md), repr(md),
                [k for k, _ in md.items()], [type(v).__name__ for v in md.values()]]
        return out
    assert ops(nn) == ops(tnn)


def test_parameter_list_and_dict_match_torch():
    def ops(lib, zeros):
        pl = lib.ParameterList([lib.Parameter(zeros(2, 3)), zeros(2)])
        pl.append(lib.Parameter(zeros(1)))
        pd = lib.ParameterDict({"b": lib.Parameter(zeros(2)), "a": zeros(3)})
        pd["c"] = lib.Parameter(zeros(1))
        m = lib.Module()
        m.pl, m.pd = pl, pd
        return [torch_repr(repr(pl)), torch_repr(repr(pd)), list(m.state_dict()),
                [tuple(v.shape) for v in m.state_dict().values()], len(pl), len(pd),
                list(pd.keys()), type(pl[1]).__name__, len(pl[1:]), "a" in pd,
                tuple(pd.pop("a").shape), list(pd)]
    assert ops(nn, cg.zeros) == ops(tnn, torch.zeros)


def test_parallel_wraps_the_module_with_module_prefix():
    ours = parallel.DataParallel(nn.Linear(2, 3))
    theirs = tnn.DataParallel(tnn.Linear(2, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight",
                                                                    "module.bias"]
    assert repr(ours) == repr(theirs)
    x = np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(ours(x).array, ours.module(x).array)
    np.testing.assert_array_equal(parallel.data_parallel(ours.module, cg.tensor(x)).array,
                                  ours.module(x).array)
