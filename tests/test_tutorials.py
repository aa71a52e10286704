"""PyTorch tutorials run unchanged under convgrad: each script in tests/tutorials/ is executed
twice, with ``torch`` bound to torch and to convgrad, and the two printed outputs must agree —
the same text, every number equal to float32 round-off.

Random draws cannot agree bit for bit (different generators), so both runs see the same
``rand``/``randn`` values: a stand-in module forwards everything to the real one except the
random constructors, which take their numbers from one seeded NumPy stream. The scripts
themselves are the tutorials' code (trimmed loops, prints kept).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import import_torch

import convgrad

SCRIPTS = sorted((Path(__file__).parent / "tutorials").glob("*.py"))
NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def _seeded(module, seed: int = 0):
    """``module`` with its random constructors drawing from one NumPy stream."""
    rng = np.random.default_rng(seed)
    proxy = types.ModuleType(module.__name__)
    proxy.__dict__.update({k: getattr(module, k) for k in dir(module) if not k.startswith("__")})

    def draw(kind, size, dtype, requires_grad):
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        values = rng.random(size) if kind == "rand" else rng.standard_normal(size)
        t = module.tensor(values, dtype=dtype or module.get_default_dtype())
        return t.requires_grad_(requires_grad)

    proxy.rand = lambda *s, dtype=None, requires_grad=False, **kw: draw("rand", s, dtype,
                                                                          requires_grad)
    proxy.randn = lambda *s, dtype=None, requires_grad=False, **kw: draw("randn", s, dtype,
                                                                           requires_grad)
    proxy.rand_like = lambda t, dtype=None, requires_grad=False, **kw: draw(
        "rand", tuple(t.shape), dtype or t.dtype, requires_grad)
    proxy.randn_like = lambda t, dtype=None, requires_grad=False, **kw: draw(
        "randn", tuple(t.shape), dtype or t.dtype, requires_grad)
    return proxy


def _run(path: Path, module) -> str:
    source = path.read_text()
    saved = sys.modules.get("torch")
    sys.modules["torch"] = _seeded(module)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, str(path), "exec"), {"__name__": "__main__"})
    finally:
        if saved is None:
            sys.modules.pop("torch", None)
        else:
            sys.modules["torch"] = saved
    return out.getvalue()


def _split(text: str) -> tuple[str, list[float]]:
    """The text with numbers replaced by #, and the numbers."""
    return NUMBER.sub("#", text), [float(v) for v in NUMBER.findall(text)]


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_tutorial_prints_what_torch_prints(path):
    torch = import_torch()
    want = _run(path, torch)
    # dtypes are NumPy's (a documented deviation): `print(t.dtype)` shows float32, not
    # torch.float32
    dtype = re.compile(r"\btorch\.(?=float|int|uint|bool)")
    want = dtype.sub("", want)
    got = dtype.sub("", _run(path, convgrad).replace("convgrad", "torch"))
    want_text, want_numbers = _split(want)
    got_text, got_numbers = _split(got)
    assert got_text == want_text, "\n".join(
        f"torch: {w!r}\nconvgrad: {g!r}" for w, g in zip(want.splitlines(), got.splitlines())
        if NUMBER.sub("#", w) != NUMBER.sub("#", g))
    np.testing.assert_allclose(got_numbers, want_numbers, rtol=2e-4, atol=1e-5)
