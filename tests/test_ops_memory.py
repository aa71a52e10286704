"""Extra memory of every call stays within the workspace cap (plus the outputs), measured with
tracemalloc (NumPy reports its allocations to it)."""

import tracemalloc

import numpy as np

from convgrad import ops

MiB = 2**20


def extra_bytes(fn, warm_up=None) -> tuple[int, object]:
    """Peak bytes allocated during fn beyond what it returns. ``warm_up`` (the same call on
    one image) runs first, unmeasured: numba compiles a kernel on its first call, and the
    compiler's own allocations are not the convolution's."""
    if warm_up is not None:
        warm_up()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return peak - result.nbytes, result


def test_a_224x224x64_batch_32_layer_stays_within_the_default_cap():
    """The issue's case: 3×3, 64 → 64 channels, 224×224, batch 32, float32 (x alone is 411 MB);
    forward, ∂x and ∂w each allocate at most the cap (256 MiB) beyond their output."""
    cap = ops.get_workspace_limit()
    assert cap == 256 * MiB
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64, 224, 224), dtype=np.float32)
    w = rng.standard_normal((64, 64, 3, 3), dtype=np.float32)
    extra, y = extra_bytes(lambda: ops.conv(x, w, padding=1),
                           lambda: ops.conv(x[:1], w, padding=1))
    assert extra <= cap, f"forward: {extra / MiB:.0f} MiB extra"
    extra, dx = extra_bytes(lambda: ops.conv_grad_input(y, w, x.shape, padding=1),
                            lambda: ops.conv_grad_input(y[:1], w, x[:1].shape, padding=1))
    assert extra <= cap, f"input gradient: {extra / MiB:.0f} MiB extra"
    del dx
    extra, _ = extra_bytes(lambda: ops.conv_grad_weight(x, y, w.shape, padding=1),
                           lambda: ops.conv_grad_weight(x[:1], y[:1], w.shape, padding=1))
    assert extra <= cap, f"weight gradient: {extra / MiB:.0f} MiB extra"


def test_a_smaller_cap_is_respected_too():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 16, 64, 64))
    w = rng.standard_normal((16, 16, 3, 3))
    calls = [
        lambda n: ops.conv(x[:n], w, padding=1, stride=2),
        lambda n: ops.conv_grad_input(np.ones((n, 16, 32, 32)), w, x[:n].shape, padding=1,
                                      stride=2),
        lambda n: ops.conv_grad_weight(x[:n], np.ones((n, 16, 32, 32)), w.shape, padding=1,
                                       stride=2)]
    old = ops.set_workspace_limit(8 * MiB)
    try:
        for call in calls:
            extra, _ = extra_bytes(lambda c=call: c(8), lambda c=call: c(1))
            assert extra <= 8 * MiB, f"{extra / MiB:.1f} MiB extra"
    finally:
        ops.set_workspace_limit(old)


def forced_under_cap(method: str, cap: int, x, w, padding: int) -> float:
    """Extra bytes of ``ops.conv`` with ``method`` forced and the workspace cap set to ``cap``;
    its result must equal the automatic choice's under the default cap."""
    want = ops.conv(x, w, padding=padding)
    old = ops.set_workspace_limit(cap)
    try:
        with ops.forced_method(method):
            extra, got = extra_bytes(lambda: ops.conv(x, w, padding=padding),
                                     lambda: ops.conv(x[:1], w, padding=padding))
    finally:
        ops.set_workspace_limit(old)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    return extra


def test_rows_method_falls_back_to_tiled_columns_under_a_small_cap():
    """"rows" keeps a whole image's column rows; when that breaks the cap, im2col's row tiles
    take over (same numbers, memory within the cap)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 32, 40, 40))
    w = rng.standard_normal((8, 32, 3, 3))
    extra = forced_under_cap("rows", MiB, x, w, padding=1)
    assert extra <= 2 * MiB, f"{extra / MiB:.1f} MiB extra"


def test_stacked_products_are_tiled_within_the_cap():
    """"stacked" makes ΠK products per output element (49× the output here, 90 MB for the
    batch, 22 MB for the batch chunk of an 8 MiB cap); they go through one reused buffer, a
    few images at a time, within the cap."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 32, 30, 30))
    w = rng.standard_normal((16, 32, 7, 7))
    extra = forced_under_cap("stacked", 8 * MiB, x, w, padding=3)
    assert extra <= 8 * MiB, f"{extra / MiB:.1f} MiB extra"


def test_strided_input_gradient_phases_stay_within_the_cap(monkeypatch):
    """At stride 2 the input gradient's phases share one stacked matmul of all taps when one
    image's products (1.2 MB here) fit the cache budget under the cap, and run phase by phase
    when they do not — within the cap, with the same numbers, either way."""
    from helpers import import_optional

    from convgrad.ops import correlate as core

    import_optional("numba")                 # the shared matmul's adds are compiled
    conv_module = __import__("convgrad.ops.input_grad", fromlist=["_input_grad"])
    combined = []
    original = core.correlate_phases
    monkeypatch.setattr(conv_module, "correlate_phases",
                        lambda *a: combined.append(original(*a)) or combined[-1])
    rng = np.random.default_rng(4)
    dy = rng.standard_normal((8, 32, 32, 32))
    w = rng.standard_normal((32, 16, 3, 3))
    shape = (8, 16, 64, 64)
    want = ops.conv_grad_input(dy, w, shape, stride=2, padding=1)
    for cap, shared in ((2 * MiB, False), (8 * MiB, True)):
        combined.clear()
        old = ops.set_workspace_limit(cap)
        try:
            with ops.forced_method("stacked"):
                extra, got = extra_bytes(
                    lambda: ops.conv_grad_input(dy, w, shape, stride=2, padding=1),
                    lambda: ops.conv_grad_input(dy[:1], w, (1, *shape[1:]), stride=2,
                                                padding=1))
        finally:
            ops.set_workspace_limit(old)
        assert extra <= cap, f"{extra / MiB:.1f} MiB extra under a {cap / MiB:.0f} MiB cap"
        assert combined and all(done == shared for done in combined)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
