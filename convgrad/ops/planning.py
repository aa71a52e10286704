r"""``ops.plan``: which algorithm computes a convolution's forward, input gradient and weight
gradient, and why the others were not taken — without computing anything.

Each of the three is one or more correlations (``ops.conv``'s transpose rules):

* forward: x (N, g, C_in/g, *S) ⋆ w (g, C_out/g, C_in/g, *K), the layer's options;
* ∂L/∂w: x (C_in/g, g, N, *S) ⋆ ∂L/∂y (g, C_out/g, N, *M) — stride and dilation swapped;
* ∂L/∂x: ∂L/∂y (N, g, C_out/g, *M) ⋆ rot180(w) (g, C_in/g, C_out/g, *K) at stride 1 — one
  correlation per stride phase of x, which share one ``stacked`` matmul where it pays.

and each call may be cut into batch parts (the workspace cap; one part per core where that
pays). ``engine.plan`` decides each correlation; this module only builds the problems the
calls would build, so a plan is exactly what a call with these shapes runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import plan as plans
from ..engine.execute import batch_parts
from ..engine.problem import Problem
from ..engine.registry import mib
from ..engine.runtime import pool as parallel
from .geometry import (
    ConvGeometry,
    IntOrInts,
    Padding,
    conv_geometry,
    forward_problem,
    weight_problem,
)
from .input_grad import full_problem, phase_problems, scatters_depthwise


@dataclass(frozen=True)
class CallPlan:
    """The plans of one call (``kind``: forward, input gradient, weight gradient): the batch
    part sizes, whether they run at once on several cores, the plans of its correlations
    (one per distinct part size, and per stride phase of an input gradient), and a note on
    what the call itself decides (the shared phase matmul, a non-finite weight)."""

    kind: str
    parts: tuple[int, ...]
    concurrent: bool
    plans: tuple[plans.Plan, ...]
    note: str = ""
    shared: bool = False            # an input gradient's phases share one stacked matmul
    kernel: str = ""                # a compiled kernel computes the call itself (no plans)
    threads: int = 0                # the threads its parts run on (set from the settings)

    def __post_init__(self):
        if not self.threads:
            count = min(parallel.threads(), len(self.parts)) if self.concurrent else 1
            object.__setattr__(self, "threads", count)

    @property
    def workspace_bytes(self) -> int:
        """Scratch of the call at its peak: the largest plan's, once per thread running a
        part at the same time (an estimate: ``Algorithm.workspace``)."""
        largest = max((p.workspace_bytes for p in self.plans), default=0)
        return largest * self.threads

    @property
    def algorithm(self) -> str:
        """The algorithm (several joined by ``+`` where phases or parts differ)."""
        if self.shared:
            return "stacked"
        if self.kernel:
            return self.kernel
        names = list(dict.fromkeys(p.name for p in self.plans))
        return "+".join(names) if names else "none"

    def explain(self) -> str:
        if not self.plans and not self.shared and not self.kernel:
            return f"{self.kind}: nothing to compute (an empty batch)"
        lines = [f"{self.kind}: {self.algorithm} (workspace {mib(self.workspace_bytes)})"]
        if len(self.parts) > 1:
            sizes = ", ".join(str(n) for n in self.parts)
            how = (f"at once on {self.threads} threads, BLAS on one core each"
                   if self.concurrent else "one after another")
            lines.append(f"  batch in {len(self.parts)} parts ({sizes} images) {how}")
        if self.note:
            lines.append(f"  {self.note}")
        for plan in self.plans:
            lines.append(f"  {plan.problem}")
            lines.append(plan.explain("    "))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


@dataclass(frozen=True)
class ConvPlans:
    """``ops.plan``'s answer: ``forward``, ``input_grad``, ``weight_grad``."""

    geometry: ConvGeometry
    dtype: np.dtype
    forward: CallPlan
    input_grad: CallPlan
    weight_grad: CallPlan

    def __iter__(self):
        return iter((self.forward, self.input_grad, self.weight_grad))

    def __str__(self) -> str:
        geo = self.geometry
        head = (f"conv x {geo.input_shape} ⋆ w {geo.weight_shape}, stride {geo.stride}, "
                f"padding {geo.padding}, dilation {geo.dilation}, groups {geo.groups}, "
                f"{self.dtype}")
        return "\n".join([head, *(call.explain() for call in self)])


def plan(x_shape, w_shape, *, stride: IntOrInts = 1, padding: Padding = 0,
         dilation: IntOrInts = 1, groups: int = 1, dtype=np.float32) -> ConvPlans:
    """The plans of ``conv``, ``conv_grad_input`` and ``conv_grad_weight`` for these shapes
    (PyTorch's: x (N, C_in, *S), w (C_out, C_in/groups, *K)) in the current settings: for
    each, the algorithm of every correlation it runs and why; ``str()`` also says, for every
    other algorithm, why it was not taken (it does not apply, or it costs more). Nothing is
    computed; the checks are ``conv``'s.

    >>> plans = plan((8, 128, 28, 28), (256, 128, 3, 3), stride=2, padding=1,
    ...              dtype=np.float64)
    >>> plans.forward.algorithm, plans.weight_grad.algorithm
    ('im2col', 'im2col')
    >>> print(plans.forward.plans[0].explain().splitlines()[0])
    im2col: stride (2, 2) > 1: im2col is the method for strided windows (workspace 10.4 MiB)
    >>> "not shift: needs stride 1" in str(plans)
    True
    """
    geo = conv_geometry("plan", x_shape, w_shape, stride, padding, dilation, groups)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"plan: dtype must be float32 or float64, got {dtype}")
    return ConvPlans(geo, dtype, forward_plan(geo, dtype), input_grad_plan(geo, dtype),
                     weight_grad_plan(geo, dtype))


def _sizes(parts) -> tuple[int, ...]:
    return tuple(p.stop - p.start for p in parts)


def _distinct(problems: list[Problem]) -> tuple[plans.Plan, ...]:
    return tuple(plans.plan_for(p) for p in dict.fromkeys(problems))


def forward_plan(geo: ConvGeometry, dtype) -> CallPlan:
    if geo.batch == 0:
        return CallPlan("forward", (), False, ())
    parts = batch_parts(geo, dtype, lambda: forward_problem(geo, dtype))
    sizes = _sizes(parts)
    return CallPlan("forward", sizes, parts.concurrent,
                    _distinct([forward_problem(geo, dtype, n) for n in sizes]))


def weight_grad_plan(geo: ConvGeometry, dtype) -> CallPlan:
    if geo.batch == 0:
        return CallPlan("weight gradient", (), False, ())
    parts = batch_parts(geo, dtype, lambda: weight_problem(geo, dtype))
    sizes = _sizes(parts)
    note = f"the {len(sizes)} parts' weight gradients summed" if len(sizes) > 1 else ""
    return CallPlan("weight gradient", sizes, parts.concurrent,
                    _distinct([weight_problem(geo, dtype, n) for n in sizes]), note)


def input_grad_plan(geo: ConvGeometry, dtype) -> CallPlan:
    kind = "input gradient"
    if geo.batch == 0:
        return CallPlan(kind, (), False, ())
    stride_one = all(s == 1 for s in geo.stride)
    parts = batch_parts(geo, dtype, lambda: full_problem(geo, dtype) if stride_one else None)
    sizes = _sizes(parts)
    scatter = "at run time: a non-finite w: tap by tap (input_grad._scatter, torch's products)"
    if scatters_depthwise(geo):
        return CallPlan(kind, sizes, parts.concurrent, (),
                        "a strided depthwise layer: each plane's products of ∂L/∂y with its "
                        "taps added where they land in its padded ∂L/∂x, in cache, on every "
                        "core (compiled; torch's products, so a non-finite w stays local)",
                        kernel="depthwise")
    if stride_one:
        return CallPlan(kind, sizes, parts.concurrent,
                        _distinct([full_problem(geo, dtype, n) for n in sizes]), scatter)
    count = len(phase_problems(geo, dtype, sizes[0]))
    if not count:
        return CallPlan(kind, sizes, parts.concurrent, (), "no phase meets a tap: zeros")
    g, ci, co = geo.groups, geo.in_channels // geo.groups, geo.out_channels // geo.groups
    apart = {}              # part size → why its phases do not share the stacked matmul
    for n in dict.fromkeys(sizes):
        why = plans.shared_phases((n, g, co, *geo.out_size), (g, ci, co, *geo.kernel),
                                  geo.dilation, dtype)
        if why is not None:
            apart[n] = why
    if not apart:           # the rule's plan of the stride-1 correlation with all of w
        full = plans.full_pads(geo.kernel, geo.dilation)
        whole = Problem.of((sizes[0], g, co, *geo.out_size), (g, ci, co, *geo.kernel),
                           (1,) * geo.ndim, geo.dilation, full)
        note = (f"the {count} stride phases share one stacked matmul of all taps with ∂L/∂y "
                f"(the plan of that stride-1 correlation below), each phase's products "
                f"added into its strided view of ∂L/∂x; {scatter}")
        return CallPlan(kind, sizes, parts.concurrent, (plans.plan_for(whole),), note,
                        shared=True)
    why = "; ".join(dict.fromkeys(apart.values()))
    note = f"{count} stride phases, one correlation each (not shared: {why}); {scatter}"
    problems = [p for n in apart for p in phase_problems(geo, dtype, n)]
    return CallPlan(kind, sizes, parts.concurrent, _distinct(problems), note)
