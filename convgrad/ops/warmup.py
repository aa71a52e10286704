"""Building the Winograd kernels' machine code without making a caller wait for it.

Compiling the generated Winograd functions (``codegen._build``) takes about a minute per
(kernel, dtype) on one core — ~70 s for 3×3 float32 — and numba keeps the result on disk for
later processes. So that a first call does not stall on the compiler, the method rule
(``engine.rule.choose_method``) takes Winograd only once its code is *ready*: until then it
picks a direct method, and the first such request starts one build of that (kernel, dtype)
in the background:

1. a separate process (``sys.executable``, niced) runs ``exercise`` — a tiny real forward
   and weight gradient through both of Winograd's routes (the shares that call gemm, the
   steps from Python) — which compiles every signature the real calls use into the cache
   folder (or a temporary one of this process where it cannot be written), then writes a
   marker next to the generated module. A process, not a thread: numba compiles under one
   global lock, so a compiling thread would stall this process's other first calls of
   compiled code (the depthwise kernels) for the whole build, and its Python would share the
   GIL with ours (measured: 120 s for the build instead of 70);
2. a daemon thread of this process then runs ``exercise`` itself, which now loads the
   machine code from the cache (well under a second), and marks the build ready; from the
   next method choice on, Winograd is taken. (If this process ends first, the build goes on
   and the next process finds the marker.)

Where the marker shows the cache already holds the code, the build is ready at once (no
direct-method interlude; numba loads each function from the cache at its first call, ~0.2 s).
If the separate process cannot run, the thread compiles in this process (slower, see above).
A failed build leaves the direct methods in charge and warns once.

``CONVGRAD_COMPILE=wait`` (or ``prepare()``) makes the caller wait for the build instead, so
that the method choice never depends on timing: the test suite, ``convgrad bench`` and the
benchmarks use it. The price of the default: in a process's first minute a float32 3×3 or
1-d 5-tap layer's numbers come from direct sums, which differ from Winograd's by round-off
(~1e-6 of the scale) only; ``CONVGRAD_WINOGRAD=0`` (never Winograd) or the wait setting make
the choice deterministic. ``forced_method("winograd")`` compiles what it needs on the spot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..engine.winograd import blocks, codegen

MODES = ("background", "wait")
# the (kernel, dtype) pairs the method rule may choose (``engine.tuning``'s ``winograd_rules``)
AUTOMATIC = (((3, 3), "float32"), ((1, 5), "float32"))
_BUILD_TIMEOUT = 1800                     # seconds for the separate process
_mode = os.environ.get("CONVGRAD_COMPILE", "background")
_builds: dict = {}
_starting = threading.Lock()


def mode() -> str:
    """``CONVGRAD_COMPILE``: ``background`` (the default) or ``wait``."""
    if _mode not in MODES:
        raise ValueError(f"convgrad: CONVGRAD_COMPILE={_mode!r} is not one of {MODES}")
    return _mode


def key(kernel: Sequence[int], dtype) -> tuple[tuple[int, int], str]:
    """The compiled functions' key: the kernel as 2-d (a 1-d kernel is one row) and the
    dtype's name."""
    kernel = tuple(int(k) for k in kernel)
    return (kernel if len(kernel) == 2 else (1, *kernel)), np.dtype(dtype).name


def ready(kernel: Sequence[int], dtype) -> bool:
    """Whether the Winograd code for this kernel and dtype can run without compiling. If not,
    its build starts (once; in the background, or here with ``CONVGRAD_COMPILE=wait``, which
    returns True once built)."""
    build = _build_for(key(kernel, dtype))
    if build.done.is_set():
        return build.ok
    if mode() == "wait" or build.cached():
        build.run()                      # (nothing to build where the cache is marked)
        return build.ok
    build.start()
    return False


def state(kernel: Sequence[int], dtype) -> str:
    """``absent`` (no build asked for), ``building``, ``ready`` or ``failed``."""
    build = _builds.get(key(kernel, dtype))
    if build is None:
        return "absent"
    if not build.done.is_set():
        return "building"
    return "ready" if build.ok else "failed"


def cached(kernel: Sequence[int], dtype) -> bool:
    """Whether this pair's code is ready or on disk (``prepare`` of it takes under a second)."""
    build = _build_for(key(kernel, dtype))
    return (build.done.is_set() and build.ok) or build.cached()


def prepare(pairs: Iterable = AUTOMATIC) -> None:
    """Build the Winograd code of these (kernel, dtype) pairs now — by default every one the
    method rule may choose — waiting for builds already running: afterwards the method
    choice is the steady state's. (About a minute per pair on an empty cache, instant on a
    warm one.)"""
    for kernel, dtype in pairs:
        _build_for(key(kernel, dtype)).run()


def exercise(kernel: Sequence[int], dtype: str) -> None:
    """A tiny forward (with and without bias) and weight gradient by Winograd through both
    routes — the compiled shares and the steps from Python — so that numba compiles (or
    loads) every signature that real calls use: the arrays they hand the compiled code are
    C-contiguous and writeable (``blocks._operand``), the integers int64."""
    from ..engine.algorithms import winograd as algorithm  # noqa: PLC0415  (it imports this)

    two_d = kernel[0] != 1
    taps = tuple(kernel) if two_d else tuple(kernel[1:])
    ones, pads = (1,) * len(taps), ((1, 1),) * len(taps)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 2, *(k + 4 for k in taps))).astype(dtype)
    w = rng.standard_normal((1, 2, 2, *taps)).astype(dtype)
    bias = np.ones((1, 2), dtype)
    outputs = (n + 2 - t + 1 for n, t in zip(x.shape[3:], taps))
    dy = rng.standard_normal((1, 2, 2, *outputs)).astype(dtype)
    for steps in (nullcontext, blocks.python_steps):
        with steps():
            algorithm.forward(x, w, ones, pads, bias)
            algorithm.forward(x, w, ones, pads)
            algorithm.weight(x.swapaxes(0, 2), dy, ones, pads)


class _Build:
    """One (kernel, dtype)'s build: run once (``run``, any thread; later callers wait for
    it), ``done`` set when finished, ``ok`` whether the code is ready."""

    def __init__(self, pair):
        self.pair = pair
        self.done = threading.Event()
        self.ok = False
        self._running = threading.Lock()
        self._thread = None

    def marker(self) -> Path | None:
        """The file that says this folder's cache holds the code (None: built in memory)."""
        compiled = codegen._kernels(*self.pair)
        folder = getattr(compiled, "folder", None)
        return None if folder is None else folder / f"{compiled.name}.built"

    def cached(self) -> bool:
        marker = self.marker()
        return marker is not None and marker.exists()

    def start(self) -> None:
        with _starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self.run, daemon=True,
                                                name=f"convgrad-build-{self.pair}")
                self._thread.start()

    def run(self) -> None:
        with self._running:
            if self.done.is_set():
                return
            try:
                marker = self.marker()
                if marker is None or not marker.exists():     # else: loaded at first use
                    if marker is not None:
                        _in_other_process(self.pair, marker)
                    exercise(*self.pair)         # loads what that process compiled
                    if marker is not None:
                        marker.touch()
                self.ok = True
            except Exception as error:  # noqa: BLE001  (the direct methods stay in charge)
                warnings.warn(f"convgrad: building the Winograd code for {self.pair} failed "
                              f"({error}); the direct methods are used instead", RuntimeWarning,
                              stacklevel=2)
            finally:
                self.done.set()


def _build_for(pair) -> _Build:
    build = _builds.get(pair)
    if build is None:
        with _starting:
            build = _builds.setdefault(pair, _Build(pair))
    return build


def _in_other_process(pair, marker: Path) -> None:
    """Run ``exercise`` in a separate, niced Python whose cache folder is the marker's, which
    it creates when done (also if this process has ended by then); where that cannot run,
    warn and leave the compiling to this process."""
    kernel, dtype = pair
    folder = marker.parent
    code = ("import os; os.nice(10) if hasattr(os, 'nice') else None; "
            f"from convgrad.ops import warmup; warmup.exercise({kernel!r}, {dtype!r}); "
            f"open({str(marker)!r}, 'a').close()")
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "CONVGRAD_CACHE_DIR": str(folder), "CONVGRAD_COMPILE": "wait",
           "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                        os.environ.get("PYTHONPATH")]))}
    # its output to an unnamed file, not a pipe: if this process ends first, the build goes on
    # (niced) and fills the cache for the next one
    with tempfile.TemporaryFile("w+") as log:
        try:
            done = subprocess.run([sys.executable, "-c", code], env=env, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log, timeout=_BUILD_TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            failure = str(error)
        else:
            if done.returncode == 0:
                return
            log.seek(0)
            failure = (log.read().strip().splitlines() or ["no output"])[-1]
    warnings.warn(f"convgrad: the separate build of the Winograd code for {pair} failed "
                  f"({failure}); compiling in this process", RuntimeWarning, stacklevel=2)
