"""The compiled normalisation kernels (``functional.norm_kernels``) against torch and against the
NumPy path: values, running statistics, first-order gradients by the fast closed form
(create_graph=False), the composed route (create_graph=True) and second derivatives — one line
per case, then hypothesis over kinds, shapes, eps, momentum, affine, tracking, train/eval and
dtypes; float32 round-off against float64 on badly centred data."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import pytest
from helpers import TOLERANCE, import_torch, rel_err
from hypothesis import given
from hypothesis import strategies as st

import convgrad as cg
import convgrad.functional as F
from convgrad.engine.settings import settings
from convgrad.functional import norm_kernels
from convgrad.ops import jit

torch = import_torch()
tF = torch.nn.functional  # noqa: N816
PATHS = ("numpy", "kernels")


@contextmanager
def path(name: str):
    """The NumPy path (jit off) or the kernels at every size."""
    if name == "numpy":
        with settings(jit=False):
            yield
        return
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    with norm_kernels.min_elements(0):
        yield


def call(lib, cfg, x, w, b, stats):
    """One normalisation of ``cfg`` by convgrad (lib=cg) or torch."""
    f = F if lib is cg else tF
    kind, eps = cfg["kind"], cfg["eps"]
    if kind == "batch":
        return f.batch_norm(x, *stats, w, b, cfg["training"], cfg["momentum"], eps)
    if kind == "instance":
        return f.instance_norm(x, *stats, w, b, cfg["training"], cfg["momentum"], eps)
    if kind == "layer":
        return f.layer_norm(x, cfg["normalized"], w, b, eps)
    return f.group_norm(x, cfg["groups"], w, b, eps)


def arrays(cfg, seed=0):
    """x, γ, β (None where absent), running statistics and the upstream gradient, seeded."""
    rng = np.random.default_rng(seed)
    dt, shape = cfg["dtype"], cfg["shape"]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dt)
    pshape = cfg["normalized"] if cfg["kind"] == "layer" else (shape[1],)
    w = (rng.standard_normal(pshape) + 1).astype(dt) if cfg["affine"] in ("weight", "both") \
        else None
    b = rng.standard_normal(pshape).astype(dt) if cfg["affine"] in ("bias", "both") else None
    c = shape[1]
    stats = ((rng.standard_normal(c) * 0.3).astype(dt), (rng.random(c) + 0.5).astype(dt)) \
        if cfg.get("tracked") else (None, None)
    return x, w, b, stats, rng.standard_normal(shape).astype(dt)


def run(lib, cfg, data, create_graph=False):
    """y, the running statistics after the call, and the gradients of every input (x, γ, β)
    for the upstream gradient; with ``create_graph`` also Σ grad·v's gradients (order 2)."""
    x, w, b, stats, g = data
    wrap = (lambda a: cg.tensor(a, requires_grad=True)) if lib is cg else \
        (lambda a: torch.tensor(a, requires_grad=True))
    inputs = [wrap(a) for a in (x, w, b) if a is not None]
    xs, rest = inputs[0], iter(inputs[1:])
    ws, bs = (next(rest) if w is not None else None), (next(rest) if b is not None else None)
    st_ = tuple(None if s is None else (s.copy() if lib is cg else torch.tensor(s))
                for s in stats)
    y = call(lib, cfg, xs, ws, bs, st_)
    grad = cg.grad if lib is cg else torch.autograd.grad
    gt = cg.tensor(g) if lib is cg else torch.tensor(g)
    grads = grad(y, inputs, gt, create_graph=create_graph)
    second = None
    if create_graph:
        rng = np.random.default_rng(1)
        new = cg.tensor if lib is cg else torch.tensor
        terms = [(gi * new(rng.standard_normal(gi.shape).astype(cfg["dtype"]))).sum()
                 for gi in grads if gi.requires_grad]        # (a linear map: ∂² = 0)
        second = [_np(a) for a in grad(sum(terms), inputs, allow_unused=True)] if terms \
            else [None] * len(inputs)
    stats_out = [None if s is None else _np(s) for s in st_]
    return _np(y), stats_out, [_np(a) for a in grads], second


def _np(a):
    if a is None:
        return None
    if isinstance(a, np.ndarray):
        return a
    return a.detach().numpy() if hasattr(a, "detach") else a.numpy()


def _err(got, want) -> float:
    """max |got − want| / max(|want|, 1) (a sum that cancels to ~0 is round-off in both)."""
    if not want.size:
        return 0.0
    scale = max(float(np.max(np.abs(want))), 1.0)
    return float(np.max(np.abs(got.astype(np.float64) - want))) / scale


def _quantities(r):
    y, stats, grads, second = r
    named = [("forward", y)] + [(f"running statistic {i}", v) for i, v in enumerate(stats)]
    named += [(f"grad {i}", v) for i, v in enumerate(grads)]
    return named + [(f"∂² {i}", v) for i, v in enumerate(second or [])]


def judge(ours, want, tol, label, dtype, theirs=None):
    """Every quantity of ``ours`` (in ``dtype``) within ``tol`` of ``want``'s — or, given
    ``theirs`` (torch in float32, ``want`` its float64 truth), within twice torch's own error."""
    others = dict(_quantities(theirs)) if theirs is not None else {}
    for (what, u), (_, v) in zip(_quantities(ours), _quantities(want)):
        if v is None or u is None:
            assert not np.any(u if u is not None else 0) and not np.any(v if v is not None
                                                                          else 0), what
            continue
        assert u.shape == v.shape and u.dtype == np.dtype(dtype), \
            f"{label} {what}: {u.shape} {u.dtype} vs {v.shape} {dtype}"
        limit = tol * (10 if what.startswith("∂²") else 1)
        if others.get(what) is not None:
            limit = max(limit, 2 * _err(others[what], v))
        err = _err(u, v)
        assert err <= limit, f"{label} {what}: error {err:.3g} > {limit:.3g}"


def _try(fn):
    try:
        return fn()
    except RuntimeError:     # torch's own backward fails: group norm with β but no γ, the
        return None          # double backward of a bias-only batch norm


def check(cfg, seed=0):
    """Each path (the kernels where numba runs, and NumPy) equals torch — first order by the
    fast backward and by the composed one, second order in float64 — and the two paths equal
    each other. float32 results must be within twice torch float32's error of the float64
    truth (torch in float64 on the same values)."""
    data = arrays(cfg, seed)
    dtype, tol = cfg["dtype"], TOLERANCE[cfg["dtype"]]
    wide = {**cfg, "dtype": "float64"}
    wide_data = tuple(tuple(None if a is None else a.astype(np.float64) for a in d)
                      if isinstance(d, tuple) else (None if d is None else d.astype(np.float64))
                      for d in data)
    truth = _try(lambda: run(torch, wide, wide_data, create_graph=dtype == "float64"))
    theirs = _try(lambda: run(torch, cfg, data)) if dtype == "float32" else None
    first = _try(lambda: run(torch, wide, wide_data)) if truth is None else truth
    runs = {}
    for name in PATHS if jit.available() else ("numpy",):
        with path(name):
            runs[name] = (run(cg, cfg, data), run(cg, cfg, data, create_graph=True))
    for name, (fast, composed) in runs.items():
        if first is not None:
            judge(fast, (*first[:3], None), tol, f"{name} vs torch", dtype, theirs)
            judge((*composed[:3], None), (*first[:3], None), tol, f"{name} composed", dtype,
                  theirs)
        if truth is not None and dtype == "float64":
            judge(composed, truth, tol, f"{name} ∂² vs torch", dtype)
    if len(runs) == 2 and dtype == "float64":
        judge(runs["kernels"][0], runs["numpy"][0], tol, "kernels vs numpy", dtype)


def bn(shape, training=True, affine="both", tracked=True, dtype="float64", **kw):
    return {"kind": "batch", "shape": shape, "training": training, "affine": affine,
            "tracked": tracked, "dtype": dtype, "eps": kw.get("eps", 1e-5),
            "momentum": kw.get("momentum", 0.1)}


def other(kind, shape, dtype="float64", affine="both", **kw):
    cfg = {"kind": kind, "shape": shape, "dtype": dtype, "affine": affine,
           "eps": kw.pop("eps", 1e-5), "momentum": kw.pop("momentum", 0.1),
           "training": kw.pop("training", True), "tracked": kw.pop("tracked", False)}
    cfg.update(kw)
    return cfg


CASES = {
    "bn2d_train": bn((8, 16, 8, 8)),
    "bn2d_train_f32": bn((8, 16, 8, 8), dtype="float32"),
    "bn2d_eval": bn((8, 16, 8, 8), training=False),
    "bn2d_eval_f32": bn((8, 16, 8, 8), training=False, dtype="float32"),
    "bn2d_eval_weight_only": bn((4, 6, 5, 5), training=False, affine="weight"),
    "bn1d_2d_input": bn((32, 12)),
    "bn1d_3d_input_untracked": bn((6, 5, 20), tracked=False),
    "bn3d_train": bn((3, 4, 3, 5, 4), momentum=0.5, eps=1e-3),
    "bn_no_affine": bn((8, 3, 6, 6), affine="none"),
    "bn_bias_only": bn((8, 3, 6, 6), affine="bias"),
    "bn_momentum_one": bn((4, 3, 4, 4), momentum=1.0),
    "instance2d": other("instance", (4, 6, 7, 7)),
    "instance2d_tracked_f32": other("instance", (4, 6, 7, 7), dtype="float32", tracked=True),
    "instance1d_eval": other("instance", (3, 4, 9), training=False, tracked=True),
    "layer_last": other("layer", (6, 5, 32), normalized=(32,)),
    "layer_two_axes_f32": other("layer", (6, 5, 4, 8), normalized=(4, 8), dtype="float32"),
    "layer_weight_only": other("layer", (6, 40), normalized=(40,), affine="weight"),
    "group2d": other("group", (4, 8, 5, 5), groups=4),
    "group_one_group_f32": other("group", (3, 6, 4, 4), groups=1, dtype="float32"),
    "group_no_spatial": other("group", (5, 6), groups=3, affine="none"),
}


@pytest.mark.parametrize("name", CASES)
def test_kernels_match_torch_and_the_numpy_path(name):
    check(CASES[name])


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(["batch", "instance", "layer", "group"]))
    dtype = draw(st.sampled_from(["float64", "float32"]))
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    spatial = tuple(draw(st.lists(st.integers(1, 5), min_size=int(kind == "instance"),
                                  max_size=3)))
    length = int(np.prod(spatial, dtype=np.int64))
    training = draw(st.booleans()) if kind in ("batch", "instance") else True
    tracked = True if not training else draw(st.booleans())
    if kind == "batch" and n * length < 2:
        n = 2
    if kind == "instance" and length < 2:
        spatial, length = spatial[:-1] + (2,), length * 2
    cfg = {"kind": kind, "dtype": dtype, "shape": (n, c, *spatial), "training": training,
           "tracked": tracked and kind in ("batch", "instance"),
           "affine": draw(st.sampled_from(["none", "weight", "bias", "both"])),
           "eps": draw(st.sampled_from([1e-5, 1e-3, 0.5])),
           "momentum": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))}
    if kind == "layer":
        cfg["normalized"] = cfg["shape"][draw(st.integers(1, len(cfg["shape"]) - 1)):]
        if int(np.prod(cfg["normalized"])) < 2:
            cfg["normalized"] = cfg["shape"][1:]
    if kind == "group":
        cfg["groups"] = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        if c // cfg["groups"] * length < 2:
            cfg["shape"] = (n, c, *spatial, 2)
    return cfg


@given(cfg=configs(), seed=st.integers(0, 2**16))
def test_drawn_configurations_match_torch_and_the_numpy_path(cfg, seed):
    check(cfg, seed)


@pytest.mark.parametrize("shape", [(128, 16, 32, 32), (64, 128, 16, 16)])
def test_realistic_batch_norm_takes_the_kernels_and_matches_torch(shape):
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    assert norm_kernels.use(int(np.prod(shape)), np.float32)
    cfg = bn(shape, dtype="float32")
    data = arrays(cfg)
    judge(run(cg, cfg, data), run(torch, cfg, data), TOLERANCE["float32"], "kernels", "float32")


@pytest.mark.parametrize("name", PATHS)
def test_float32_batch_norm_is_within_round_off_of_float64(name):
    """Data centred far from 0 (mean 100, sd 3): the float64 sums keep the float32 result
    within twice torch's own error of the exact one (forward and ∂x)."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((32, 8, 12, 12)) * 3 + 100).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = (rng.standard_normal(8) + 1).astype(np.float32)

    def torch_run(a, dt):
        xt = torch.tensor(a.astype(dt), requires_grad=True)
        y = tF.batch_norm(xt, None, None, torch.tensor(w.astype(dt)), None, True)
        y.backward(torch.tensor(g.astype(dt)))
        return y.detach().numpy(), xt.grad.numpy()

    exact, theirs = torch_run(x, np.float64), torch_run(x, np.float32)
    with path(name):
        xc = cg.tensor(x, requires_grad=True)
        y = F.batch_norm(xc, None, None, w, None, True)
        y.backward(cg.tensor(g))
    for got, want, their in zip((y.array, xc.grad.array), exact, theirs):
        assert got.dtype == np.float32
        assert rel_err(got, want) <= max(2 * rel_err(their, want), 1e-5)


@pytest.mark.parametrize("name", PATHS)
def test_backward_after_an_in_place_change_of_the_input_is_refused(name):
    with path(name):
        h = cg.tensor(np.random.default_rng(3).standard_normal((4, 3, 5)), requires_grad=True) * 1
        y = F.batch_norm(h, None, None, np.ones(3), None, True)
        h.mul_(2)
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_nan_and_constant_channels_follow_torch():
    x = np.random.default_rng(4).standard_normal((4, 3, 5, 5))
    x[:, 1] = 2.0                              # σ² = 0: x̂ = 0, y = β
    x[0, 2, 0, 0] = np.nan                     # NaN spreads over its channel
    with path("kernels"):
        ours = F.batch_norm(x, None, None, np.ones(3), np.full(3, 0.5), True).array
    theirs = tF.batch_norm(torch.tensor(x), None, None, torch.ones(3, dtype=torch.float64),
                           torch.full((3,), 0.5, dtype=torch.float64), True).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=1e-12)


def test_a_non_contiguous_input_and_gradient():
    x = np.random.default_rng(5).standard_normal((6, 5, 4, 3)).transpose(0, 3, 2, 1)
    with path("kernels"):
        xc = cg.tensor(x, requires_grad=True)
        y = F.batch_norm(xc, None, None, training=True)
        (y * cg.tensor(x[::-1].copy())).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    (tF.batch_norm(xt, None, None, training=True) * torch.tensor(x[::-1].copy())).sum().backward()
    assert rel_err(y.array, tF.batch_norm(torch.tensor(x), None, None, training=True).numpy()) \
        < 1e-12
    assert rel_err(xc.grad.array, xt.grad.numpy()) < 1e-10


def test_the_gamma_table_of_each_layer():
    from convgrad.functional.normalization import _gamma_table
    assert _gamma_table((8, 16, 64), (8, 16, 64)) == (16, 1)          # batch norm
    assert _gamma_table((1, 8 * 16, 64), (8, 16, 64)) == (16, 1)      # instance norm
    assert _gamma_table((1, 8 * 4, 4 * 64), (8, 16, 64)) == (4, 4)    # group norm, 4 groups
    assert _gamma_table((1, 30, 40), (30, 40, 1)) == (1, 40)          # layer norm


# ------------------------------------------------------------------ sharing the cores
def test_spread_runs_every_chunk_exactly_once_on_several_threads():
    seen, lock = [], threading.Lock()
    threads = set()

    def run(i):
        with lock:
            seen.append(i)
            threads.add(threading.get_ident())
    with settings(threads=2):
        norm_kernels.spread(run, 200)
    assert sorted(seen) == list(range(200)) and len(threads) <= 2


def test_spread_passes_an_error_on():
    def run(i):
        if i == 7:
            raise ValueError("chunk 7")
    with settings(threads=2), pytest.raises(ValueError, match="chunk 7"):
        norm_kernels.spread(run, 40)


def test_one_thread_means_one_chunk():
    with settings(threads=1):
        assert norm_kernels.chunk_count(1 << 24, 64) == 1
    with settings(threads=2):
        assert norm_kernels.chunk_count(1 << 24, 64) == 2 * norm_kernels.CHUNKS
        assert norm_kernels.chunk_count(norm_kernels.SPREAD_ELEMENTS - 1, 64) == 1


LARGE = {  # ≥ SPREAD_ELEMENTS values: cut into chunks that two threads share
    "batch_norm": bn((32, 16, 24, 24)),
    "batch_norm_eval": bn((32, 16, 24, 24), training=False),
    "layer_norm": other("layer", (64, 4096), normalized=(4096,)),
    "group_norm": other("group", (32, 32, 16, 16), groups=8),
    "instance_norm_f32": other("instance", (32, 32, 16, 16), dtype="float32", tracked=True),
}


@pytest.mark.parametrize("name", LARGE)
def test_chunks_on_two_threads_match_one_thread_and_the_numpy_path(name):
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    cfg = LARGE[name]
    assert int(np.prod(cfg["shape"])) >= norm_kernels.SPREAD_ELEMENTS
    data, tol = arrays(cfg), TOLERANCE[cfg["dtype"]] / 10
    with settings(threads=2):
        two = run(cg, cfg, data)
    with settings(threads=1):
        one = run(cg, cfg, data)
    with path("numpy"):
        reference = run(cg, cfg, data)
    judge(two, one, 1e-12 if cfg["dtype"] == "float64" else 1e-6, "two vs one thread",
          cfg["dtype"])
    judge(two, reference, tol, "kernels vs numpy", cfg["dtype"])
