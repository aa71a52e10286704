"""Every threshold and cost constant of the engine, each with where it was measured.

The numbers come from the project machine (2-core Xeon, OpenBLAS, numba, scipy; ``convgrad
bench`` / ``benchmarks/bench_ops.py``, interleaved best-of rounds) and the commit that set
them. They are one immutable ``Tuning`` value per context, like ``engine.settings``:
``with tuned(tile_bytes=512): ...`` changes them for the block in this thread (tests that
force a path at small sizes), and the batch parts on other cores inherit it. The plans
(``engine.plan``) are cached per tuning value.

>>> with tuned(stack_rows=1):
...     current().stack_rows
1
>>> current().stack_rows
96
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Iterator, Mapping

_SCIPY = importlib.util.find_spec("scipy") is not None
_SERIALS = itertools.count()


def _winograd_rules() -> Mapping:
    return MappingProxyType({("forward", (3, 3)): (8, 6), ("weight", (3, 3)): (8, 6),
                             ("forward", (5,)): (16, 256), ("weight", (5,)): (8, 256)})


@dataclass(frozen=True, eq=False)
class Tuning:
    """The engine's thresholds (module docstring); each field's comment: what was measured."""

    # -- the method rule (engine.rule) -----------------------------------------------------
    # rows from 1600 outputs per image, C_in ≥ 16: 1/k₀ of im2col's copy (4d4dd46, resnet_3x3)
    rows_positions: int = 1600
    # compiled stacked/rows from 100 outputs per image: mnist_2 f32 fwd+bwd 12.0 → 10.8 ms,
    # dilated f64 23.4 → 20.8 (e541a18); below, im2col's batch-folded matmul
    small_positions: int = 100
    # a single window summed as matmuls up to 64 channels: pointwise f64 ∂w 2.26 → 1.9 ms
    # (4676500)
    window_channels: int = 64
    # rows stacks kernel axes until C_out·Πk reaches 96 matmul rows (a shorter matmul runs at
    # ~60 % of BLAS's speed): conv3d f32 fwd+bwd 23.7 → 17.8 ms (d2a008a)
    stack_rows: int = 96
    # outrows needs 64 matmul rows (B·ΠM'): resnet_3x3 ∂w 17.8 → 12 ms f32 (fd92e94)
    outrows_gemm_rows: int = 64
    # Winograd (float32) per (form, kernel): least channels, least output columns per
    # dilation phase — 3×3 batch 64: 8 → 16 ch on 8×8 0.64×, 4 ch or 2–3 columns 0.77–1.4×,
    # 4×4 images slowed `convgrad train` 10 % (from 6 columns); 1-d 5-tap 16 ch at 1024
    # columns 0.57×, its ∂w 8 ch at 256 columns 0.78× (1a00035, bench conv1d/mnist_2)
    winograd_rules: Mapping = field(default_factory=_winograd_rules)

    # -- the FFT rule's cost model (seconds; fitted on bench large_kernel, ffd6fd9) --------
    direct_mac: float = 1.2e-11           # one multiply-add of a direct method
    column_copy: float = 3.1e-10          # one element of im2col's column copy
    fft_fixed: float = 3e-4               # an FFT pass's fixed cost
    fft_mac: float = 6e-10                # a complex multiply-add of the channel contraction
    # a transformed spectrum element: scipy's pocketfft on both cores, else numpy.fft
    fft_element: float = 3e-9 if _SCIPY else 8e-9

    # -- compiled kernels and cache budgets -------------------------------------------------
    # compiled depthwise taps and adds only from 2¹⁶ elements: the call's overhead (d2cc223)
    jit_elements: int = 2**16
    # shift's running sum per block: about an L2 cache — depthwise 2× faster (e3c4459)
    shift_block_bytes: int = 256 * 2**10
    # im2col / stacked tiles: columns within the last-level cache (ffd6fd9, convgrad bench)
    tile_bytes: int = 16 * 2**20
    # im2col folds the batch into one matmul below 1600 outputs per image (1562629) when
    # Ci·ΠK ≥ 64: mnist_small fwd f64 2.7 → 1.1 ms (fd92e94)
    fold_positions: int = 1600
    fold_depth: int = 64
    # a weight gradient of up to this many input channels per group (its problem's images)
    # by im2col's matmuls batched over the layer's images: ResNet's 3-channel stem ∂w f32
    # 6.1 → 2.5 ms, f64 10.7 → 5.4; DCGAN's f64 5.2 → 4.1; 4 channels f64 16.4 → 8.5
    channel_batched_images: int = 4
    # a Winograd block's transformed operands: forward 6 MiB (mnist_2 fwd 2.32 → 2.11 ms
    # against 16), ∂w 16 MiB (deeper is better; baad579)
    winograd_forward_block_bytes: int = 6 * 2**20
    winograd_weight_block_bytes: int = 16 * 2**20

    # -- threads (ops.parallel) -------------------------------------------------------------
    # OpenBLAS's own threading threshold on M·N·K (its source; 9ab30ac)
    blas_threads_from: int = 4 * 65536
    # a stack of products worth a thread from 2²¹ multiply-adds: mnist_small f64 fwd+bwd
    # 4.4 → 3.9 ms (9ab30ac)
    min_work: int = 2**21
    # a share of a compiled elementwise pass (pooling) worth a thread from 2¹⁶ elements: a
    # thread's start ~30 µs, the kernels pass ~1 element per ns (benchmarks/bench_pooling.py)
    thread_elements: int = 2**16
    # fused kernels from this many values (below, NumPy's passes; the call's fixed cost wins):
    # activations 2¹⁶ (relu f32 fwd+bwd 16 K values 30 → 27 µs, 64 K 72 → 54), normalisation
    # 2¹⁴ (BatchNorm2d fwd+bwd 8×8×8×8 95 → 80 µs; from 16 K, not 4 K, so that test_ports' Adam
    # trajectories keep the NumPy path's rounding on their small layers), an optimizer's group
    # 2¹⁵ (so that `convgrad train` never compiles) — benchmarks/bench_norm.py, bench_optim.py
    activation_elements: int = 2**16
    norm_elements: int = 2**14
    optim_elements: int = 2**15
    # batch parts on every core from 2²⁴ multiply-adds: resnet_3x3 f32 fwd+bwd 46.8 → 33.9 ms,
    # dilated 17.3 → 12.2, conv3d 33.8 → 28.2 (2aae0a2)
    concurrent_macs: int = 2**24

    serial: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "serial", next(_SERIALS))     # the plans' cache key

    def winograd_rule(self, form: str | None, shape) -> tuple[float, int]:
        """(least channels, least columns) of Winograd's rule; (∞, 0) where none."""
        return self.winograd_rules.get((form, tuple(shape)), (math.inf, 0))

    def winograd_block_bytes(self, form: str) -> int:
        return (self.winograd_forward_block_bytes if form == "forward"
                else self.winograd_weight_block_bytes)


_CURRENT: ContextVar[Tuning] = ContextVar("convgrad_engine_tuning",
                                          default=Tuning())  # noqa: B039 (frozen)
_FIELDS = tuple(f.name for f in fields(Tuning) if f.init)


def current() -> Tuning:
    """The tuning in force in this context."""
    return _CURRENT.get()


@contextmanager
def tuned(**changes) -> Iterator[Tuning]:
    """The current tuning with ``changes`` for the duration of the block (this context)."""
    for name, value in changes.items():
        if name not in _FIELDS:
            raise TypeError(f"tuned: unknown constant {name!r}; choose from "
                            f"{', '.join(_FIELDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, Mapping)):
            raise TypeError(f"tuned: {name} must be a number, got {value!r}")
    token = _CURRENT.set(replace(current(), **changes))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)
