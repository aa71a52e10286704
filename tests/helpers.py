"""The one test helper module: cases, the torch oracle, the tolerance rule, hypothesis strategies.

Torch is the semantic oracle. Locally a missing torch skips the torch tests; with
CONVGRAD_REQUIRE_TORCH=1 (set by .ci/run) it is an error instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import strategies as st

from convgrad.ops.configuration import ConvConfig, channel_aliases, fields_repr

TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


def import_torch():
    return import_optional("torch")


def import_optional(name: str):
    """An optional test dependency: skipped locally when missing, an error in CI
    (CONVGRAD_REQUIRE_TORCH=1 is CI's strict mode for every optional dependency)."""
    if os.environ.get("CONVGRAD_REQUIRE_TORCH"):
        import importlib  # noqa: PLC0415  (a missing module must fail the run)
        return importlib.import_module(name)
    return pytest.importorskip(name)


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max |got − want| / max |want| (0 when both are all zeros)."""
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    diff = float(np.max(np.abs(got - want))) if want.size else 0.0
    return diff / scale if scale > 0 else diff


def assert_close(got, want, dtype: str, what: str = "") -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {dtype}"
    err = rel_err(got.astype(np.float64), want.astype(np.float64))
    assert err <= TOLERANCE[dtype], f"{what}: relative error {err:.3g} > {TOLERANCE[dtype]}"


def check_op(cg_fn, torch_fn, *inputs, positive=False, order=2, seed=0,
             dtypes=("float64", "float32")):
    """One line per op: forward value and dtype, every input's gradient and (order 2, float64)
    the gradient of Σ grad·v with respect to the inputs, all equal to torch's — in each of
    ``dtypes`` (float64 to round-off, float32 to its tolerance).

    ``inputs``: shapes (random normal arrays are drawn) or ndarrays used as given; every input
    is differentiated. Non-differentiable arguments (targets, options) belong in the lambdas.
    """
    for dtype in dtypes:
        _check_op_in(dtype, cg_fn, torch_fn, inputs, positive, order if dtype == "float64"
                     else 1, seed)


def _check_op_in(dtype, cg_fn, torch_fn, inputs, positive, order, seed):
    import convgrad as cg  # noqa: PLC0415
    torch = import_torch()
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(s, dtype=np.float64) if isinstance(s, np.ndarray)
              else rng.standard_normal(s) for s in inputs]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    arrays = [a.astype(dtype) for a in arrays]
    xs = [cg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = cg_fn(*xs), torch_fn(*ts)
    _same(y.detach().numpy(), ty.detach().numpy(), f"{dtype} forward", dtype)
    g = rng.standard_normal(y.shape).astype(dtype)
    gs = cg.grad(y, xs, cg.tensor(g), create_graph=True, allow_unused=True)
    tgs = torch.autograd.grad(ty, ts, torch.tensor(g), create_graph=True, allow_unused=True)
    for i, (a, b) in enumerate(zip(gs, tgs)):
        _same(np.zeros(arrays[i].shape, dtype) if a is None else a.detach().numpy(),
              np.zeros(arrays[i].shape, dtype) if b is None else b.detach().numpy(),
              f"{dtype} grad {i}", dtype)
    if order == 2:
        vs = [rng.standard_normal(a.shape) for a in arrays]
        terms = [(gi * cg.tensor(v)).sum() for gi, v in zip(gs, vs)
                 if gi is not None and gi.requires_grad]
        t_terms = [(tg * torch.tensor(v)).sum() for tg, v in zip(tgs, vs)
                   if tg is not None and tg.requires_grad]
        tggs = (torch.autograd.grad(sum(t_terms), ts, allow_unused=True) if t_terms
                else [None] * len(ts))
        ggs = cg.grad(sum(terms), xs, allow_unused=True) if terms else [None] * len(xs)
        for i, (a, b) in enumerate(zip(ggs, tggs)):
            _same(np.zeros(arrays[i].shape) if a is None else a.numpy(),
                  np.zeros(arrays[i].shape) if b is None else b.numpy(),
                  f"grad of grad {i}", dtype)


def _same(got, want, what: str, dtype: str = "float64") -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != torch's {want.dtype}"
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    err = rel_err(got.astype(np.float64), want.astype(np.float64))
    assert err <= TOLERANCE[dtype], f"{what}: relative error {err:.3g}"


_CASE_FIELDS = ("size", "kernel", "cin", "cout", "batch", "stride", "padding", "dilation",
                "groups", "output_padding", "dtype", "seed")


@dataclass(frozen=True, init=False, repr=False)
class Case(ConvConfig):
    """One convolution configuration (``ConvConfig``: PyTorch's meaning for every field) with
    the test's seed; made as ``Case(size, kernel, cin=…, cout=…, …)``, float64 by default;
    frozen (adjust a drawn case with ``dataclasses.replace``)."""

    seed: int = 0

    def __init__(self, size=(), kernel=(), cin=None, cout=None, batch=1, stride=1, padding=0,
                 dilation=1, groups=1, output_padding=0, dtype="float64", seed=0, **fields):
        object.__setattr__(self, "seed", seed)
        super().__init__(size=size, kernel=kernel, batch=batch, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, output_padding=output_padding,
                         dtype=dtype, **channel_aliases(fields, cin, cout))

    def __repr__(self) -> str:
        return fields_repr(self, _CASE_FIELDS + (("transposed",) if self.transposed else ()))

    def arrays(self, transposed: bool | None = None):
        """Seeded x, w, b for conv (or conv_transpose, whose w is (C_in, C_out/g, *K));
        ``transposed`` defaults to the case's own."""
        transposed = self.transposed if transposed is None else transposed
        rng = np.random.default_rng(self.seed)
        w_shape = ((self.cin, self.cout // self.groups) if transposed
                   else (self.cout, self.cin // self.groups)) + tuple(self.kernel)
        x = rng.standard_normal((self.batch, self.cin, *self.size))
        w = rng.standard_normal(w_shape)
        b = rng.standard_normal(self.cout)
        return x.astype(self.dtype), w.astype(self.dtype), b.astype(self.dtype)

    def pairs(self):
        """(lo, hi) per dim, computed here from the rules as stated (independent of convgrad:
        the oracle of its padding resolution)."""
        return stated_pairs(self.size, self.kernel, self.stride, self.padding, self.dilation)


def stated_pairs(size, kernel, stride, padding, dilation):
    """(lo, hi) per dim of any padding spelling, from the rules as the docs state them."""
    d = len(size)
    as_dim = (lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * d)
    stride, dilation = as_dim(stride), as_dim(dilation)
    ke = [di * (k - 1) + 1 for di, k in zip(dilation, kernel)]
    if padding == "valid":
        return [(0, 0)] * d
    if padding == "full":
        return [(e - 1, e - 1) for e in ke]
    if padding == "same":
        totals = [max((math.ceil(n / s) - 1) * s + e - n, 0)
                  for n, s, e in zip(size, stride, ke)]
        return [(t // 2, t - t // 2) for t in totals]
    return [tuple(p) if isinstance(p, (tuple, list)) else (p, p) for p in as_dim(padding)]


def torch_conv_and_grads(case: Case, x, w, b, dy_seed: int = 1):
    """torch's forward, and its autograd ∂x, ∂w for a random ∂L/∂y; returns numpy arrays."""
    torch = import_torch()
    tf = torch.nn.functional
    conv = {1: tf.conv1d, 2: tf.conv2d, 3: tf.conv3d}[case.ndim]
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    pairs = case.pairs()
    symmetric = all(lo == hi for lo, hi in pairs)
    stride1 = case.stride == 1 or all(s == 1 for s in np.atleast_1d(case.stride))
    if case.padding in ("valid",) or (case.padding == "same" and stride1):
        inp, padding = tx, case.padding            # torch's own string rules
    elif symmetric:
        inp, padding = tx, [lo for lo, _ in pairs]
    else:
        inp = tf.pad(tx, [v for lo_hi in reversed(pairs) for v in lo_hi])
        padding = 0
    y = conv(inp, tw, tb, stride=case.stride, padding=padding, dilation=case.dilation,
             groups=case.groups)
    dy = np.random.default_rng(dy_seed).standard_normal(tuple(y.shape)).astype(case.dtype)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), dy, tx.grad.numpy(), tw.grad.numpy()


def torch_conv_transpose(case: Case, x, w, b):
    """torch's transposed conv; (lo, hi) pairs are applied by cropping an unpadded result."""
    torch = import_torch()
    tf = torch.nn.functional
    conv_t = {1: tf.conv_transpose1d, 2: tf.conv_transpose2d, 3: tf.conv_transpose3d}[case.ndim]
    pairs = case.pairs()
    y = conv_t(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=case.stride, padding=0,
               output_padding=case.output_padding, groups=case.groups,
               dilation=case.dilation).numpy()
    crop = tuple(slice(lo, y.shape[2 + i] - hi) for i, (lo, hi) in enumerate(pairs))
    return y[(slice(None), slice(None)) + crop]


# ----------------------------------------------------------------------------- strategies

@st.composite
def conv_cases(draw, dims=(1, 2, 3), dtype="float64", max_size=9, transposed=False):
    """A valid configuration: every padding spelling, strides above the kernel, odd remainders,
    dilation, groups (depthwise and channel multipliers), batch 1, non-square kernels."""
    d = draw(st.sampled_from(dims))
    small = max_size if d < 3 else min(max_size, 5)
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4 if d < 3 else 3)) for _ in range(d))
    per_dim = draw(st.booleans())
    ints = (lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(d)) if per_dim
            else draw(st.integers(lo, hi)))
    stride, dilation = ints(1, 4), ints(1, 3)
    kind = draw(st.sampled_from(["int", "per-dim", "pairs", "valid", "same", "full"]))
    if transposed and kind in ("same", "full"):
        kind = "valid"
    padding = {"int": draw(st.integers(0, 3)),
               "per-dim": tuple(draw(st.integers(0, 3)) for _ in range(d)),
               "pairs": tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3)))
                              for _ in range(d)),
               }.get(kind, kind)
    batch, seed = draw(st.integers(1, 3)), draw(st.integers(0, 99))
    dil = dilation if isinstance(dilation, tuple) else (dilation,) * d
    size = []
    for i, (k, di) in enumerate(zip(kernel, dil)):
        n = draw(st.integers(1, small))
        if transposed:
            size.append(n)
            continue
        ke = di * (k - 1) + 1
        lo, hi = (stated_pairs((1,) * d, kernel, stride, padding, dilation)[i]
                  if kind not in ("same", "full", "valid") else (0, 0))
        if kind in ("valid", "int", "per-dim", "pairs") and n + lo + hi < ke:
            n = ke - lo - hi + draw(st.integers(0, 3))   # the kernel must fit the padded input
        size.append(max(n, 1))
    output_padding = 0
    if transposed:
        strides = stride if isinstance(stride, tuple) else (stride,) * d
        output_padding = tuple(draw(st.integers(0, max(s, di) - 1))
                               for s, di in zip(strides, dil))
        pairs = stated_pairs(size, kernel, stride, padding, dilation)
        full = [(n - 1) * s + di * (k - 1) + 1 + e for n, s, di, k, e in
                zip(size, strides, dil, kernel, output_padding)]
        if any(f - lo - hi < 1 for f, (lo, hi) in zip(full, pairs)):
            padding = 0                           # padding would crop everything
    return Case(size=tuple(size), kernel=kernel, cin=cin, cout=cout, batch=batch, stride=stride,
                padding=padding, dilation=dilation, groups=groups,
                output_padding=output_padding, transposed=transposed, dtype=dtype, seed=seed)


def _draw_like(rng, x, n: int):
    """A batch of ``n`` values like ``x``: floats normal, integers within x's own range (valid
    indices stay valid), bools at random."""
    shape = (n, *x.shape[1:])
    a = x.numpy()
    if a.dtype.kind in "iu":
        return rng.integers(int(a.min()), int(a.max()), shape, endpoint=True).astype(a.dtype)
    if a.dtype.kind == "b":
        return rng.random(shape) < 0.5
    return rng.standard_normal(shape).astype(a.dtype)


def check_onnx(model, *inputs, batch_sizes=(), rtol: float = 1e-5, atol: float = 1e-5,
               **export_options) -> None:
    """``convgrad.onnx.export`` of ``model`` on ``inputs``, run by onnxruntime (the independent
    client), reproduces the model's eval-mode output; with ``batch_sizes`` the batch axis of
    every input and output is dynamic and each other batch size is checked too."""
    import io  # noqa: PLC0415

    import convgrad as cg  # noqa: PLC0415

    ort = import_optional("onnxruntime")
    import_optional("onnx")
    names = [f"x{i}" for i in range(len(inputs))]
    if batch_sizes:
        export_options.setdefault("dynamic_axes", {n: {0: "batch"} for n in names})
    buffer = io.BytesIO()
    cg.onnx.export(model, tuple(inputs), buffer, input_names=names, **export_options)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feeds = [inputs] + [[cg.tensor(_draw_like(rng, x, n)) for x in inputs] for n in batch_sizes]
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        for feed in feeds:
            got = session.run(None, {n: x.numpy() for n, x in zip(names, feed)})
            with cg.no_grad():
                want = model(*feed)
            want = [want] if isinstance(want, cg.Tensor) else list(want)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w.numpy(), rtol=rtol, atol=atol)
    finally:
        if was_training:
            model.train()


@contextlib.contextmanager
def chromium(*args: str, what: str = "the browser tests"):
    """Headless system Chromium driven by Selenium (Debian's ``chromium`` + ``chromium-driver``;
    ``.ci/run`` installs them), its console log kept; ``args``: more Chromium switches. Without
    them: a failure under ``CONVGRAD_REQUIRE_TORCH`` (CI), else a skip."""
    webdriver = import_optional("selenium.webdriver")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (binary and chromedriver):
        message = f"{what} need Chromium and its driver: apt-get install chromium chromium-driver"
        if os.environ.get("CONVGRAD_REQUIRE_TORCH"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                *args):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
