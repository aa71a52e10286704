"""Normalisation against torch: values, gradients and gradients of gradients of every function
and option, running statistics over several steps, and the layers' signatures, reprs, state
and errors."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from helpers import check_op, import_torch, rel_err

import convgrad as cg
import convgrad.functional as F
from convgrad.engine.settings import settings
from convgrad.functional import norm_kernels
from convgrad.functional import normalization_more as FM
from convgrad.nn import normalization as NB
from convgrad.nn import normalization_more as NM
from convgrad.ops import jit

torch = import_torch()
tF, tnn = torch.nn.functional, torch.nn  # noqa: N816

LAYERS = {name: getattr(NB, name, None) or getattr(NM, name)
          for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm",
                       "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm",
                       "GroupNorm", "RMSNorm", "LocalResponseNorm")}


def stats(c, dtype, lib):
    """Running statistics (mean 0.3, variance 2) as ndarrays (ours) or tensors (torch)."""
    if lib is torch:
        return torch.full((c,), 0.3, dtype=dtype), torch.full((c,), 2.0, dtype=dtype)
    return np.full(c, 0.3, dtype), np.full(c, 2.0, dtype)


def bn(lib, training):
    f = F.batch_norm if lib is cg else tF.batch_norm
    return lambda x, *wb: f(x, *stats(x.shape[1], x.dtype, lib), *wb, training=training,
                            momentum=0.2, eps=1e-3)


def inorm(lib, use_input_stats, tracked):
    f = FM.instance_norm if lib is cg else tF.instance_norm
    return lambda x, *wb: f(x, *(stats(x.shape[1], x.dtype, lib) if tracked else (None, None)),
                            *wb, use_input_stats=use_input_stats)


CASES = {
    **{f"batch_norm_{'train' if t else 'eval'}_{len(s) - 2}d": (bn(cg, t), bn(torch, t),
                                                                 [s, (3,), (3,)])
       for t in (True, False) for s in ((5, 3), (4, 3, 5), (3, 3, 4, 2), (2, 3, 3, 2, 2))},
    "batch_norm_train_weight_only": (bn(cg, True), bn(torch, True), [(4, 3, 5), (3,)]),
    "batch_norm_train_no_affine": (bn(cg, True), bn(torch, True), [(4, 3, 5)]),
    "batch_norm_eval_no_affine": (bn(cg, False), bn(torch, False), [(4, 3, 5)]),
    "batch_norm_bias_only": (
        lambda x, b: F.batch_norm(x, None, None, None, b, True),
        lambda x, b: tF.batch_norm(x, None, None, None, b, True), [(4, 3, 5), (3,)]),
    **{f"instance_norm_{u}_{t}": (inorm(cg, u, t), inorm(torch, u, t), [(3, 4, 5, 2), (4,),
                                                                       (4,)])
       for u, t in ((True, False), (True, True), (False, True))},
    "instance_norm_1d_no_affine": (inorm(cg, True, False), inorm(torch, True, False),
                                   [(3, 4, 6)]),
    "instance_norm_3d": (inorm(cg, True, False), inorm(torch, True, False),
                         [(2, 3, 2, 3, 2), (3,), (3,)]),
    "layer_norm_int": (lambda x, w, b: FM.layer_norm(x, 6, w, b, 1e-3),
                       lambda x, w, b: tF.layer_norm(x, (6,), w, b, 1e-3), [(4, 3, 6), (6,),
                                                                             (6,)]),
    "layer_norm_tuple": (lambda x, w, b: FM.layer_norm(x, (3, 6), w, b),
                         lambda x, w, b: tF.layer_norm(x, (3, 6), w, b),
                         [(4, 3, 6), (3, 6), (3, 6)]),
    "layer_norm_list_weight_only": (lambda x, w: FM.layer_norm(x, [4, 3, 6], w),
                                    lambda x, w: tF.layer_norm(x, [4, 3, 6], w),
                                    [(4, 3, 6), (4, 3, 6)]),
    "layer_norm_no_affine": (lambda x: FM.layer_norm(x, (5,)),
                             lambda x: tF.layer_norm(x, (5,)), [(2, 3, 5)]),
    "group_norm": (lambda x, w, b: FM.group_norm(x, 2, w, b),
                   lambda x, w, b: tF.group_norm(x, 2, w, b), [(3, 4, 5), (4,), (4,)]),
    "group_norm_2d_no_affine": (lambda x: FM.group_norm(x, 3, eps=1e-2),
                                lambda x: tF.group_norm(x, 3, eps=1e-2), [(2, 6, 3, 2)]),
    "group_norm_one_group": (lambda x, w: FM.group_norm(x, 1, w),
                             lambda x, w: tF.group_norm(x, 1, w), [(2, 4, 3), (4,)]),
    "group_norm_instance_like": (lambda x, w, b: FM.group_norm(x, 4, w, b),
                                 lambda x, w, b: tF.group_norm(x, 4, w, b),
                                 [(2, 4, 3, 2), (4,), (4,)]),
    "group_norm_no_spatial": (lambda x: FM.group_norm(x, 2), lambda x: tF.group_norm(x, 2),
                              [(3, 6)]),
    "rms_norm": (lambda x, w: FM.rms_norm(x, (5,), w), lambda x, w: tF.rms_norm(x, (5,), w),
                 [(3, 4, 5), (5,)]),
    "rms_norm_eps_2d": (lambda x: FM.rms_norm(x, [4, 5], eps=1e-3),
                        lambda x: tF.rms_norm(x, [4, 5], eps=1e-3), [(3, 4, 5)]),
    "local_response_norm": (lambda x: FM.local_response_norm(x, 3),
                            lambda x: tF.local_response_norm(x, 3), [(3, 5, 4)]),
    "local_response_norm_2d_even": (
        lambda x: FM.local_response_norm(x, 2, 0.5, 0.6, 2.0),
        lambda x: tF.local_response_norm(x, 2, 0.5, 0.6, 2.0), [(2, 6, 3, 2)]),
    "local_response_norm_3d_wide": (
        lambda x: FM.local_response_norm(x, 7, 0.3, 0.75, 1.0),
        lambda x: tF.local_response_norm(x, 7, 0.3, 0.75, 1.0), [(2, 4, 2, 2, 3)]),
}


# torch's own double backward fails here ("Expected a proper Tensor but got None")
FIRST_ORDER_ONLY = {"batch_norm_bias_only"}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_to_second_order(name):
    ours, theirs, shapes = CASES[name]
    check_op(ours, theirs, *shapes, order=1 if name in FIRST_ORDER_ONLY else 2)


def test_float32_statistics_stay_within_round_off_of_torch():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 32, 24, 24)) * 3 + 100).astype(np.float32)
    ours = F.batch_norm(x, None, None, training=True).array
    exact = tF.batch_norm(torch.tensor(x.astype(np.float64)), None, None,
                          training=True).numpy()
    theirs = tF.batch_norm(torch.tensor(x), None, None, training=True).numpy()
    assert ours.dtype == np.float32
    assert rel_err(ours, exact) <= max(2 * rel_err(theirs, exact), 1e-5)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("layer, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm2d", (4, 3, 2, 2)),
                                          ("SyncBatchNorm", (4, 3, 5)),
                                          ("InstanceNorm1d", (4, 3, 5)),
                                          ("InstanceNorm2d", (3, 3, 4, 2))])
def test_running_statistics_follow_torch_over_steps(layer, shape, momentum):
    kwargs = {"momentum": momentum, "track_running_stats": True, "affine": True}
    ours, theirs = LAYERS[layer](3, **kwargs, dtype=np.float64), \
        getattr(tnn, layer)(3, **kwargs, dtype=torch.float64)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.standard_normal(shape) * 2 + 1
        assert rel_err(ours(x).array, theirs(torch.tensor(x)).detach().numpy()) < 1e-12
    ours.eval(), theirs.eval()
    assert rel_err(ours(x).array, theirs(torch.tensor(x)).detach().numpy()) < 1e-12
    state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(their_state)
    for k, v in state.items():
        np.testing.assert_allclose(np.asarray(v), their_state[k].numpy(), rtol=1e-12,
                                   err_msg=k)


def test_batch_norm_functional_running_update_in_place_on_tensors():
    x = np.random.default_rng(2).standard_normal((5, 3, 4))
    ours = [cg.tensor(np.zeros(3)), cg.tensor(np.ones(3))]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    for _ in range(3):
        F.batch_norm(x, *ours, training=True, momentum=0.3)
        tF.batch_norm(torch.tensor(x), *theirs, training=True, momentum=0.3)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.array, b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("track", [True, False])
def test_eval_without_tracking_uses_batch_statistics(track):
    ours = NB.BatchNorm2d(3, track_running_stats=track, dtype=np.float64).eval()
    theirs = tnn.BatchNorm2d(3, track_running_stats=track, dtype=torch.float64).eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 2, 2))
    assert rel_err(ours(x).array, theirs(torch.tensor(x)).detach().numpy()) < 1e-12


@pytest.mark.parametrize("name", LAYERS)
def test_signatures_equal_torch(name):
    ours, theirs = inspect.signature(LAYERS[name]), inspect.signature(getattr(tnn, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


BUILDS = [("BatchNorm2d", (3,), {}), ("BatchNorm1d", (3,), {"momentum": None}),
          ("BatchNorm3d", (4,), {"affine": False, "eps": 1e-3}),
          ("BatchNorm1d", (3,), {"bias": False}),
          ("BatchNorm2d", (3,), {"track_running_stats": False}),
          ("SyncBatchNorm", (3,), {}), ("InstanceNorm2d", (3,), {}),
          ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}),
          ("InstanceNorm3d", (2,), {"affine": True, "bias": False}),
          ("LayerNorm", (3,), {}), ("LayerNorm", ((3, 4),), {"bias": False}),
          ("LayerNorm", ([2, 3],), {"elementwise_affine": False}),
          ("GroupNorm", (2, 4), {}), ("GroupNorm", (3, 6), {"affine": False}),
          ("GroupNorm", (1, 2), {"bias": False}), ("RMSNorm", (3,), {}),
          ("RMSNorm", ([3, 4],), {"eps": 1e-3, "elementwise_affine": False}),
          ("LocalResponseNorm", (3,), {}), ("LocalResponseNorm", (2, 1e-3, 0.5, 2.0), {})]


@pytest.mark.parametrize("name, args, kwargs", BUILDS)
def test_repr_state_and_initial_values_equal_torch(name, args, kwargs):
    ours, theirs = LAYERS[name](*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(their_state)
    for k, v in state.items():
        v = np.asarray(getattr(v, "array", v))
        assert v.dtype == np.dtype(str(their_state[k].dtype).replace("torch.", "")), k
        np.testing.assert_array_equal(v, their_state[k].numpy(), err_msg=k)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@pytest.mark.parametrize("name, args, kwargs, shape", [
    ("LayerNorm", ((3, 4),), {}, (2, 3, 4)), ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("RMSNorm", (4,), {}, (2, 3, 4)), ("LocalResponseNorm", (3,), {}, (2, 5, 3)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("InstanceNorm2d", (3,), {}, (2, 3, 4, 4)), ("SyncBatchNorm", (3,), {}, (4, 3, 2, 2)),
])
def test_layers_match_torch_in_float64_with_gradients(name, args, kwargs, shape):
    ours = LAYERS[name](*args, **kwargs, **({} if name == "LocalResponseNorm"
                                           else {"dtype": np.float64}))
    theirs = getattr(tnn, name)(*args, **kwargs).double()
    rng = np.random.default_rng(4)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        p.array[...] = rng.standard_normal(p.shape)
        with torch.no_grad():
            tp.copy_(torch.tensor(p.array))
    x = rng.standard_normal(shape)
    xc, xt = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xc), theirs(xt)
    assert rel_err(y.array, ty.detach().numpy()) < 1e-12
    g = rng.standard_normal(shape)
    y.backward(cg.tensor(g)), ty.backward(torch.tensor(g))
    assert rel_err(xc.grad.array, xt.grad.numpy()) < 1e-10
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        assert rel_err(p.grad.array, tp.grad.numpy()) < 1e-10


def test_default_dtype_and_device_arguments():
    assert NM.LayerNorm(3).weight.dtype == np.float32
    assert NM.GroupNorm(1, 2, dtype=np.float64).weight.dtype == np.float64
    assert NB.BatchNorm1d(2, device="cpu").running_mean.dtype == np.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        NB.BatchNorm1d(2, device="cuda")


def _torch_error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (we want torch's type, whatever it is)
        return type(e)
    return None


ERRORS = [  # (ours, torch's, what our message says)
    (lambda lib: lib.BatchNorm2d(3)(np.ones((2, 4, 5, 5), np.float32)), "4 dims with 3 channels"),
    (lambda lib: lib.BatchNorm2d(3)(np.ones((2, 3, 5), np.float32)), "expected 4D input"),
    (lambda lib: lib.BatchNorm1d(3)(np.ones((2, 3, 5, 5), np.float32)),
     "expected 2D or 3D input"),
    (lambda lib: lib.BatchNorm1d(3)(np.ones((1, 3), np.float32)), "more than one value"),
    (lambda lib: lib.SyncBatchNorm(3)(np.ones(3, np.float32)), "at least 2D"),
    (lambda lib: lib.GroupNorm(3, 4), "must be divisible by num_groups"),
    (lambda lib: lib.GroupNorm(2, 4)(np.ones((2, 6, 3), np.float32)), "vector of size"),
    (lambda lib: lib.GroupNorm(2, 4, affine=False)(np.ones((2, 5, 3), np.float32)),
     "divisible by num_groups"),
    (lambda lib: lib.GroupNorm(2, 4)(np.ones(4, np.float32)), "at least 2 dimensions"),
    (lambda lib: lib.LayerNorm(3)(np.ones((2, 4), np.float32)), "normalized_shape=\\[3\\]"),
    (lambda lib: lib.LayerNorm([2, 3])(np.ones(3, np.float32)), "expected input with shape"),
    (lambda lib: lib.LayerNorm([])(np.ones(3, np.float32)), "at least 1-dimensional"),
    (lambda lib: lib.RMSNorm(3)(np.ones((2, 4), np.float32)), "normalized_shape=\\[3\\]"),
    (lambda lib: lib.InstanceNorm2d(3, affine=True)(np.ones((2, 4, 5, 5), np.float32)),
     "to match num_features"),
    (lambda lib: lib.InstanceNorm2d(3)(np.ones((2, 4), np.float32)), "expected 3D or 4D"),
    (lambda lib: lib.InstanceNorm2d(3)(np.ones((2, 3, 1, 1), np.float32)),
     "more than 1 spatial element"),
    (lambda lib: lib.LocalResponseNorm(3)(np.ones((2, 3), np.float32)), "3D or higher"),
    (lambda lib: lib.LocalResponseNorm(0)(np.ones((2, 3, 4), np.float32)),
     "greater than zero"),
]


class _Ours:
    def __getattr__(self, name):
        return LAYERS[name]


class _Theirs:
    def __getattr__(self, name):
        cls = getattr(tnn, name)

        def build(*args, **kwargs):
            layer = cls(*args, **kwargs)
            return lambda x: layer(torch.tensor(x))
        return build


@pytest.mark.parametrize("call, match", ERRORS)
def test_errors_have_torch_types(call, match):
    want = _torch_error(lambda: call(_Theirs()))
    assert want is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(want, match=match):
            call(_Ours())


@pytest.mark.parametrize("call, error", [
    (lambda: F.batch_norm(np.ones((2, 3)), np.zeros(3), np.ones(3), np.ones(2)), RuntimeError),
    (lambda: FM.layer_norm(np.ones((2, 3)), (3,), np.ones(2)), RuntimeError),
    (lambda: FM.instance_norm(np.ones((2, 3, 4)), use_input_stats=False), RuntimeError),
    (lambda: FM.group_norm(np.ones((2, 6, 3)), 4), RuntimeError),
    (lambda: FM.group_norm(np.ones((1, 2, 1)), 2), ValueError),
    (lambda: FM.layer_norm(np.ones((2, 3), np.float32), (3,), np.ones(3)), TypeError),
])
def test_functional_errors(call, error):
    with pytest.raises(error):
        call()


def test_instance_norm_warns_on_a_channel_mismatch_without_affine():
    with pytest.warns(UserWarning, match="does not match num_features"):
        NM.InstanceNorm2d(3)(np.ones((2, 4, 3, 3), np.float32))


def test_unbatched_instance_norm_is_a_batch_of_one():
    x = np.random.default_rng(5).standard_normal((3, 4, 4))
    ours = NM.InstanceNorm2d(3, dtype=np.float64)(x).array
    assert rel_err(ours, tnn.InstanceNorm2d(3)(torch.tensor(x)).numpy()) < 1e-12


def test_in_place_change_of_an_unaffine_output_is_refused_at_backward_by_the_numpy_path():
    """The NumPy path's backward reads its saved x̂, which is the unaffine output."""
    with settings(jit=False):
        x = cg.tensor(np.random.default_rng(6).standard_normal((4, 3)), requires_grad=True)
        y = F.batch_norm(x, None, None, training=True)
        y.mul_(2)
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_in_place_change_of_an_unaffine_output_is_torchs_gradient_by_the_kernels():
    """The kernels' backward reads x (as torch's), so the output may change in place."""
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    x = np.random.default_rng(6).standard_normal((4, 3))
    with norm_kernels.min_elements(0):
        xc = cg.tensor(x, requires_grad=True)
        y = F.batch_norm(xc, None, None, training=True)
        y.mul_(2)
        (y * y).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = tF.batch_norm(xt, None, None, training=True)
    yt.mul_(2)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xc.grad.array, xt.grad.numpy(), atol=1e-12)


def test_third_order_gradient_matches_torch():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((4, 3, 2)), rng.standard_normal(3)
    xs, ws = cg.tensor(x, requires_grad=True), cg.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (gx,) = cg.grad((F.batch_norm(xs, None, None, ws, None, True) ** 3).sum(), [xs],
                    create_graph=True)
    (tgx,) = torch.autograd.grad((tF.batch_norm(xt, None, None, wt, None, True) ** 3).sum(),
                                 [xt], create_graph=True)
    (gg,) = cg.grad((gx * gx).sum(), [xs], create_graph=True)
    (tgg,) = torch.autograd.grad((tgx * tgx).sum(), [xt], create_graph=True)
    v = rng.standard_normal(x.shape)
    (g3,) = cg.grad((gg * cg.tensor(v)).sum(), [ws])
    (tg3,) = torch.autograd.grad((tgg * torch.tensor(v)).sum(), [wt])
    assert rel_err(g3.array, tg3.numpy()) < 1e-9
