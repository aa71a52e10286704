r"""The ``Algorithm`` protocol: what every correlation algorithm answers about a problem.

Every algorithm computes the same correlation (``engine.problem``)::

    y[b, g, o, p] = Σ_{c, j} x_pad[b, g, c, p·s + j·d] · w[g, o, c, j]

and differs in what it copies or how many multiplies it needs (each module of
``engine/algorithms/`` states its own form of the sum). An ``Algorithm`` answers:

``applies(problem, settings)``  None where it computes this problem, else the reason it
                                cannot (the plan then takes im2col, which always applies)
``declined(problem, settings)`` where it applies but the method rule did not take it and the
                                rule has a measured reason (Winograd's, the FFT's model)
``cost(problem, tuning)``       an estimate in seconds from the measured cost model of the
                                FFT rule (multiply-adds + copied elements); the rule, not this
                                estimate, decides between the direct methods
``workspace(problem)``          bytes of scratch it uses besides the operands and the result
                                (a padded copy, column tiles within the workspace share)
``runtime(problem)``            the data- or layout-dependent decisions left to the call (a
                                non-finite value falls back to im2col's exact products)
``run(plan, x, w, bias, out)``  compute it

The registered algorithms, in order, are ``engine.algorithms.REGISTRY``; adding one is one
module there and one line in its ``__init__``.
"""

from __future__ import annotations

import math

from . import tuning as _tuning
from .problem import Problem
from .runtime import add_bias, pad, workspace_share


class Algorithm:
    """One way to compute a correlation (module docstring)."""

    name = ""
    summary = ""

    def applies(self, problem: Problem, settings) -> str | None:
        return None

    def declined(self, problem: Problem, settings) -> str | None:
        return None

    def copied(self, problem: Problem) -> int:
        """Elements copied besides the operands (the direct model's second term)."""
        return 0

    def cost(self, problem: Problem, tuning) -> float:
        """macs·t_mac + copied·t_copy (seconds; the FFT rule's direct model)."""
        return problem.macs * tuning.direct_mac + self.copied(problem) * tuning.column_copy

    def workspace(self, problem: Problem) -> int:
        """Scratch bytes: the padded copy of x (where padded) and the copied elements, tiled
        within the cache budget and this thread's workspace share."""
        budget = min(workspace_share(), _tuning.current().tile_bytes)
        return (padding_bytes(problem)
                + min(self.copied(problem) * problem.itemsize, budget))

    def runtime(self, problem: Problem) -> tuple[str, ...]:
        return ()

    def run(self, plan, x, w, bias=None, out=None):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<algorithm {self.name}>"


def needs_stride_one(problem: Problem) -> str | None:
    return None if problem.stride_one else f"needs stride 1 (stride {problem.stride})"


def padding_bytes(problem: Problem) -> int:
    """The padded copy of x, where the problem pads (a crop is a view)."""
    if not any(lo > 0 or hi > 0 for lo, hi in problem.pads):
        return 0
    return math.prod(problem.padded_shape) * problem.itemsize


def column_count(problem: Problem) -> int:
    """B·G·Ci·ΠK·ΠM: im2col's column matrix."""
    return (problem.batch * problem.groups * problem.in_channels * problem.taps
            * problem.outputs)


def direct_run(kernel, plan, x, w, bias):
    """``kernel(x_padded, w, stride, dilation)`` of a plan's problem, the bias added."""
    p = plan.problem
    return add_bias(kernel(pad(x, p.pads), w, p.stride, p.dilation), bias)


def mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.3g} MiB"
