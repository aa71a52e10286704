"""Every network of the ported tutorial scripts (tests/ports/: MNIST CNN, DCGAN generator and
discriminator, VAE, super-resolution, fast-neural-style, CIFAR ResNet, UNet), trained one step
in convgrad, exports to ONNX; onnxruntime reproduces its eval-mode output on the batch it saw
and at another batch size (the batch axis dynamic)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from helpers import check_onnx, import_optional
from test_ports import SCRIPTS, _bound

import convgrad

# outputs drawn at random inside forward (the VAE's reparameterisation): not compared by value
RANDOM_OUTPUTS = {("vae", "VAE"): {0}}


def _trained_models(path):
    """The models the script builds, after one training step, each with the first input it
    was given."""
    models, inputs = [], {}

    def prepare(model):
        models.append(model)
        model.register_forward_pre_hook(lambda m, args: inputs.setdefault(id(m), args) and None)

    namespace = {"__name__": f"onnx_ports_{path.stem}", "__file__": str(path)}
    with _bound(convgrad), contextlib.redirect_stdout(io.StringIO()):
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        namespace["PREPARE"] = prepare
        namespace["run"](1)
    return [(m, tuple(a[:2].detach() for a in inputs[id(m)])) for m in models]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_every_ported_network_runs_in_onnxruntime(path):
    for model, args in _trained_models(path):
        random = RANDOM_OUTPUTS.get((path.stem, type(model).__name__))
        if random is None:
            check_onnx(model, *args, batch_sizes=(3,), rtol=1e-4, atol=1e-5)
        else:
            _check_deterministic_outputs(model, args, random)


def _check_deterministic_outputs(model, args, random):
    ort = import_optional("onnxruntime")
    buffer = io.BytesIO()
    convgrad.onnx.export(model, args, buffer)
    got = ort.InferenceSession(buffer.getvalue()).run(
        None, {"input": args[0].numpy()})
    model.eval()
    with convgrad.no_grad():
        want = model(*args)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == tuple(w.shape)
        if i not in random:
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)
