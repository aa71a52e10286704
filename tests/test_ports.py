"""Real-shaped PyTorch programs port by changing only their imports: each script in tests/ports/
(pytorch/examples' MNIST, DCGAN, VAE, super-resolution, fast-neural-style, a CIFAR ResNet, a
UNet) is plain torch text, executed once with ``torch`` bound to torch and once with ``torch``,
``torch.nn``, ``torch.nn.functional``, ``torch.nn.init``, ``torch.optim``,
``torch.optim.lr_scheduler``, ``torch.utils``, ``torch.utils.data`` and ``torch.backends`` bound to
convgrad's modules (any other ``torch.X`` import resolves to ``convgrad.X``, never to torch).

The two runs start from the same weights: each script calls ``PREPARE(model)`` once its model is
built (a no-op by default); here the torch run records its model and the convgrad run loads that
model's ``state_dict()`` into its own. Then the per-step losses, the step-0 gradients of named
parameters, the eval outputs (and BatchNorm running statistics where a script logs them) and
the printed log's text (numbers masked) must agree to float32 round-off (relative 1e-4); the
final state_dicts must agree in keys, shapes, dtypes and integer buffers.

Two sources of randomness cannot agree between libraries, and are neutralised, never skipped:
  * ``torch.randn``/``rand``/``randn_like``/``rand_like`` (DCGAN's noise, the VAE's
    reparameterisation) draw from one seeded NumPy stream in both runs (as in test_tutorials.py);
    the stand-in refuses a name the library itself lacks, so a missing API still fails;
  * dropout masks (only mnist_cnn's Net has dropout): ``PREPARE`` sets every dropout module's
    ``p`` to 0 in both runs, so the layers run (in train mode) and pass everything through.
The data is synthetic (fixed NumPy arrays) and no loader shuffles, so both see the same batches.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.abc
import importlib.util
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import import_torch, rel_err

import convgrad

SCRIPTS = sorted(p for p in (Path(__file__).parent / "ports").glob("*.py")
                 if p.name != "conftest.py")
STEPS = 3
RTOL = 1e-4
ALLOWED = {"numpy"}  # the scripts' synthetic data; else the standard library or torch-named
SUBMODULES = ["nn", "nn.functional", "nn.init", "optim", "optim.lr_scheduler", "utils",
              "utils.data", "backends"]
NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


@contextlib.contextmanager
def _seeded(module, seed: int = 0):
    """``module``'s random constructors drawing from one NumPy stream for the duration (only
    those the module itself has: a missing ``randn_like`` stays missing). Patched in place and
    restored: torch's own lazy ``import torch.…`` lines need the real package in sys.modules."""
    rng = np.random.default_rng(seed)

    def draw(kind, size, dtype, requires_grad):
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        values = rng.random(size) if kind == "rand" else rng.standard_normal(size)
        t = module.tensor(values, dtype=dtype or module.get_default_dtype())
        return t.requires_grad_(requires_grad)

    def sized(kind):
        return lambda *s, dtype=None, requires_grad=False, **kw: draw(kind, s, dtype,
                                                                      requires_grad)

    def like(kind):
        return lambda t, dtype=None, requires_grad=False, **kw: draw(
            kind, tuple(t.shape), dtype or t.dtype, requires_grad)

    saved = {}
    for name, make, kind in [("rand", sized, "rand"), ("randn", sized, "randn"),
                             ("rand_like", like, "rand"), ("randn_like", like, "randn")]:
        if hasattr(module, name):
            saved[name] = getattr(module, name)
            setattr(module, name, make(kind))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import torch.X`` for a name not bound in sys.modules: the module ``convgrad.X`` (or
    ModuleNotFoundError, as ``import convgrad.X`` would raise), never torch's own."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("convgrad" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass


@contextlib.contextmanager
def _bound(lib):
    """``sys.modules['torch…']`` pointing at ``lib``'s modules (torch's own, or convgrad's) for
    the duration; every previous ``torch…`` entry (or its absence) is restored afterwards. For
    convgrad, torch's other submodules are hidden and any further ``torch.X`` import resolves
    to ``convgrad.X``."""
    saved = {name: module for name, module in sys.modules.items()
             if name == "torch" or name.startswith("torch.")}
    alias = _Alias()
    try:
        if lib.__name__ != "torch":
            for name in saved:
                del sys.modules[name]
            sys.meta_path.insert(0, alias)
        sys.modules["torch"] = lib
        for sub in SUBMODULES:
            with contextlib.suppress(ImportError):  # the script's import then fails
                sys.modules[f"torch.{sub}"] = importlib.import_module(f"{lib.__name__}.{sub}")
        with _seeded(lib):
            yield
    finally:
        if alias in sys.meta_path:
            sys.meta_path.remove(alias)
        for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
            if name not in saved and not sys.modules[name].__name__.startswith("torch"):
                del sys.modules[name]  # bound here to convgrad (torch's lazy imports stay)
        sys.modules.update(saved)


def _no_dropout(model):
    for m in model.modules():
        if type(m).__name__ in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d"):
            m.p = 0.0


def _execute(path: Path, lib, prepare):
    """Exec the script with ``torch`` bound to ``lib``, ``PREPARE`` set, and ``run(STEPS)``
    called; returns (the log, the printed text, the models PREPARE saw)."""
    models = []

    def hook(model):
        _no_dropout(model)
        prepare(model, len(models))
        models.append(model)

    namespace = {"__name__": f"ports_{path.stem}", "__file__": str(path)}
    out = io.StringIO()
    with _bound(lib), contextlib.redirect_stdout(out):
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        namespace["PREPARE"] = hook
        log = namespace["run"](STEPS)
    return log, out.getvalue(), models


def _numpy(value):
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


def _mismatches(got, want, where="log"):
    """Every leaf of ``want`` compared with ``got``: a list of messages, empty when they agree."""
    if isinstance(want, dict):
        problems = [] if set(got) == set(want) else [
            f"{where}: keys {sorted(got)} != {sorted(want)}"]
        return problems + [p for k in want if k in got
                           for p in _mismatches(got[k], want[k], f"{where}[{k!r}]")]
    if isinstance(want, (list, tuple)) and want and isinstance(want[0], (int, float)):
        # per-step scalars (losses, lrs, D(x)…): each relative to itself
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return [f"{where}: length {got.shape} != {want.shape}"]
        err = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)))
        return [] if err <= RTOL else [
            f"{where}: relative error {err:.3g} > {RTOL} (got {got.tolist()}, "
            f"want {want.tolist()})"]
    if isinstance(want, (list, tuple)):
        if len(got) != len(want):
            return [f"{where}: length {len(got)} != {len(want)}"]
        return [p for i, (g, w) in enumerate(zip(got, want))
                for p in _mismatches(g, w, f"{where}[{i}]")]
    got, want = _numpy(got), _numpy(want)
    if got.shape != want.shape:
        return [f"{where}: shape {got.shape} != {want.shape}"]
    if want.dtype.kind in "iub":
        return [] if np.array_equal(got, want) else [f"{where}: {got} != {want}"]
    if got.dtype != want.dtype:
        return [f"{where}: dtype {got.dtype} != {want.dtype}"]
    err = rel_err(got.astype(np.float64), want.astype(np.float64))  # max|diff| / max|want|
    return [] if err <= RTOL else [f"{where}: relative error {err:.3g} > {RTOL}"]


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or ""


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_port_imports_only_torch(path):
    """The port rule: the script is a torch program (torch-named imports, plus the standard
    library and NumPy for its synthetic data), with no mention of convgrad."""
    source = path.read_text()
    names = list(_imports(ast.parse(source)))
    assert "torch" in names
    foreign = [n for n in names if n.split(".")[0] != "torch" and n not in ALLOWED
               and n.split(".")[0] not in sys.stdlib_module_names]
    assert not foreign, f"non-torch imports: {foreign}"
    assert "convgrad" not in source


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_port_trains_like_torch(path):
    torch = import_torch()
    initial = []  # torch's weights as PREPARE saw them (before training)
    want, want_text, torch_models = _execute(
        path, torch, lambda model, i: initial.append(
            {k: v.detach().clone() for k, v in model.state_dict().items()}))

    def load_torch_weights(model, i):
        sd = initial[i]
        assert list(model.state_dict()) == list(sd), "state_dict keys differ from torch's"
        model.load_state_dict({k: convgrad.tensor(v.numpy()) for k, v in sd.items()})

    got, got_text, models = _execute(path, convgrad, load_torch_weights)
    assert len(models) == len(torch_models)
    assert all(isinstance(m, convgrad.nn.Module) for m in models), "the port ran torch's nn"
    problems = _mismatches(got, want)
    for i, (m, t) in enumerate(zip(models, torch_models)):  # the state after training
        # Keys, shapes, dtypes and the integer buffers (num_batches_tracked) exactly; the float
        # values are not compared here: Adam and RMSprop normalise each gradient element, so an
        # element whose gradient is round-off noise in both libraries (a bias in front of a
        # normalisation has a true gradient of 0) takes a ±lr step either way. The later steps'
        # losses and the eval outputs check the updates in aggregate.
        final, want_final = m.state_dict(), t.state_dict()
        problems += [] if list(final) == list(want_final) else [f"model[{i}]: keys differ"]
        for k, v in want_final.items():
            if k in final:
                g, w = _numpy(final[k]), v.numpy()
                if g.shape != w.shape or g.dtype != w.dtype:
                    problems.append(f"model[{i}].state_dict()[{k!r}]: {g.dtype}{g.shape} "
                                    f"!= {w.dtype}{w.shape}")
                elif w.dtype.kind in "iub" and not np.array_equal(g, w):
                    problems.append(f"model[{i}].state_dict()[{k!r}]: {g} != {w}")
    got_text = got_text.replace("convgrad", "torch")
    if NUMBER.sub("#", got_text) != NUMBER.sub("#", want_text):  # numbers: compared in the log
        problems.append(f"printed text differs:\n--- torch\n{want_text}--- convgrad\n{got_text}")
    assert not problems, "\n".join(problems)
