"""convgrad.onnx.export of layers one line per case: activations, normalizations (eval mode,
trained running statistics), softmaxes, reductions, dropout, embedding, resampling, pixel
shuffle, linear and shape layers — onnxruntime reproduces each one's output at two batch
sizes (``check_onnx``)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import check_onnx, import_optional

import convgrad as cg
import convgrad.nn as nn
import convgrad.nn.functional as F


class Fn(nn.Module):
    """A function as a module (for the functional cases)."""

    def __init__(self, fn, *params):
        super().__init__()
        self.fn = fn
        self.ps = nn.ParameterList([nn.Parameter(p) for p in params])

    def forward(self, x):
        return self.fn(x, *self.ps)


ACTIVATIONS = [
    (nn.ReLU(), (2, 3, 4)), (nn.ReLU6(), (2, 5)), (nn.LeakyReLU(0.2), (2, 5)),
    (nn.ELU(0.7), (2, 5)), (nn.SELU(), (2, 5)), (nn.CELU(1.5), (2, 5)), (nn.GELU(), (2, 5)),
    (nn.GELU(approximate="tanh"), (2, 5)), (nn.SiLU(), (2, 5)), (nn.Mish(), (2, 5)),
    (nn.Sigmoid(), (2, 5)), (nn.Tanh(), (2, 5)), (nn.Hardtanh(-0.5, 2.0), (2, 5)),
    (nn.Hardsigmoid(), (2, 5)), (nn.Hardswish(), (2, 5)), (nn.Hardshrink(0.7), (2, 5)),
    (nn.Softshrink(0.3), (2, 5)), (nn.Softplus(), (2, 5)), (nn.Softplus(2.0, 3.0), (2, 5)),
    (nn.Softsign(), (2, 5)), (nn.LogSigmoid(), (2, 5)), (nn.Tanhshrink(), (2, 5)),
    (nn.Threshold(0.1, -2.0), (2, 5)), (nn.RReLU(0.1, 0.3), (2, 5)), (nn.PReLU(), (2, 3, 4)),
    (nn.PReLU(3, 0.1), (2, 3, 4)), (nn.GLU(1), (2, 6)),
    (nn.Softmax(1), (2, 3, 4)), (nn.Softmax(-1), (2, 3, 4)), (nn.LogSoftmax(1), (2, 5)),
    (nn.Softmin(0), (2, 5)), (nn.Softmax2d(), (2, 3, 4, 4)),
]


@pytest.mark.parametrize("module,shape", ACTIVATIONS, ids=lambda c: getattr(c, "__class__",
                                                                             type(c)).__name__)
def test_activations(module, shape):
    cg.manual_seed(0)
    check_onnx(module, cg.randn(*shape) * 3, batch_sizes=(3,))


def _trained(norm, shape):
    """``norm`` after two training steps: running statistics away from 0 and 1, affine
    parameters away from 1 and 0."""
    with cg.no_grad():
        for p in norm.parameters():
            p.copy_(cg.randn(*p.shape) * 0.5 + 1)
    norm.train()
    for _ in range(2):
        norm(cg.randn(*shape) * 2 + 3)
    return norm.eval()


NORMS = [
    (nn.BatchNorm1d(3), (4, 3)), (nn.BatchNorm1d(3), (4, 3, 5)), (nn.BatchNorm2d(3), (4, 3, 5, 5)),
    (nn.BatchNorm3d(2), (4, 2, 3, 3, 3)), (nn.BatchNorm2d(3, affine=False), (4, 3, 5, 5)),
    (nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 5, 5)),
    (nn.InstanceNorm1d(3, affine=True), (4, 3, 6)), (nn.InstanceNorm2d(3), (4, 3, 5, 5)),
    (nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (4, 3, 5, 5)),
    (nn.LayerNorm(5), (4, 3, 5)), (nn.LayerNorm([3, 5], elementwise_affine=False), (4, 3, 5)),
    (nn.LayerNorm([2, 3], bias=False), (4, 2, 3)), (nn.GroupNorm(2, 4), (4, 4, 5, 5)),
    (nn.GroupNorm(3, 6, affine=False), (4, 6, 7)), (nn.RMSNorm(5), (4, 3, 5)),
]


@pytest.mark.parametrize("module,shape", NORMS, ids=lambda c: getattr(c, "__class__",
                                                                       type(c)).__name__)
def test_normalizations_in_eval_mode(module, shape):
    cg.manual_seed(0)
    check_onnx(_trained(module, shape), cg.randn(*shape) * 2 + 1, batch_sizes=(2,),
               rtol=1e-4, atol=1e-5)


FUNCTIONS = [
    (lambda x: x.sum(1), (2, 3, 4)), (lambda x: x.sum((1, 2), keepdim=True), (2, 3, 4)),
    (lambda x: x.mean(-1), (2, 3, 4)), (lambda x: x.mean(), (2, 3)),
    (lambda x: x.amax(1), (2, 3, 4)), (lambda x: x.amin((0, 2), True), (2, 3, 4)),
    (lambda x: x.max(), (2, 3)), (lambda x: x.prod(1), (2, 3)),
    (lambda x: x.logsumexp(1), (2, 3, 4)), (lambda x: x.argmax(1), (2, 3, 4)),
    (lambda x: x.argmin(-1, keepdim=True), (2, 3)), (lambda x: x.argmax(), (2, 3)),
    (lambda x: x.var(1), (2, 3, 4)), (lambda x: x.std((1, 2), correction=0), (2, 3, 4)),
    (lambda x: x.var(unbiased=False, dim=-1, keepdim=True), (2, 5)),
    (lambda x: cg.sum(x, dim=1, dtype=cg.float64), (2, 3)),
    (lambda x: (x > 0).sum(1), (2, 3)),
    (lambda x: F.softmax(x, 1, dtype=cg.float64), (2, 3)),
    (lambda x: F.dropout(x, 0.5, training=False) + F.alpha_dropout(x, 0.2), (2, 3)),
    (lambda x: F.normalize(x, dim=1), (2, 3)), (lambda x: x.norm(1, 1), (2, 3)),
    (lambda x: x.norm(float("inf"), (0, 1)), (2, 3)), (lambda x: x.norm(3, -1, True), (2, 3)),
    (lambda x: x.norm(0, 1), (2, 3)), (lambda x: x.norm(), (2, 3)),
    (lambda x: F.interpolate(x, scale_factor=2), (2, 3, 4, 4)),
    (lambda x: F.interpolate(x, size=(5, 7)), (2, 3, 4, 4)),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (2, 3, 4, 4)),
    (lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True), (2, 3, 4, 4)),
    (lambda x: F.interpolate(x, scale_factor=1.5, mode="bicubic"), (2, 3, 4, 4)),
    (lambda x: F.interpolate(x, size=7, mode="linear"), (2, 3, 4)),
    (lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), (2, 2, 3, 3, 3)),
    (lambda x: F.interpolate(x, size=(3, 5), mode="nearest-exact"), (2, 3, 4, 4)),
    (lambda x: F.pixel_shuffle(x, 2), (2, 8, 3, 3)),
    (lambda x: F.pixel_unshuffle(x, 2), (2, 2, 4, 6)),
    (lambda x: cg.flatten(x, 1) @ cg.ones(12, 2), (2, 3, 4)),
    (lambda x: nn.Unflatten(1, (2, 3))(x).transpose(1, 2).reshape(-1, 6), (2, 6)),
    (lambda x: cg.matmul(x, x.transpose(-1, -2)), (2, 3, 4)),
    (lambda x: cg.stack([x, x * 2], 1).chunk(2, 2)[1], (2, 3, 4)),
    (lambda x: x + cg.zeros_like(x) + cg.full_like(x, 2.5) * cg.ones_like(x), (2, 3)),
    (lambda x: (x * 3) // 0.7 + (x * 3) % 0.7 + 7 // (x.abs() + 1), (2, 3)),
    (lambda x: cg.fmod(x * 3, -1.5) + cg.remainder(x * 5, cg.tensor([2.0, -3.0, 4.0])), (2, 3)),
]


def test_integer_division_takes_the_floor():
    x = cg.tensor([[-7, 7, -6], [5, -1, 0]])
    check_onnx(Fn(lambda x: (x // 3) * 100 + x % -3 + cg.fmod(x, 4) * 1000), x, batch_sizes=(4,))


@pytest.mark.parametrize("i", range(len(FUNCTIONS)))
def test_functions(i):
    fn, shape = FUNCTIONS[i]
    cg.manual_seed(i)
    check_onnx(Fn(fn), cg.randn(*shape), batch_sizes=(3,))


def test_linear_bilinear_and_embedding():
    cg.manual_seed(0)
    check_onnx(nn.Sequential(nn.Linear(5, 4), nn.Flatten(), nn.Identity()), cg.randn(2, 3, 5),
               batch_sizes=(3,))
    check_onnx(nn.Embedding(10, 4, padding_idx=0), cg.tensor([[1, 2, 0], [9, 3, 3]]),
               batch_sizes=(5,))


def test_prelu_slopes_are_the_parameter():
    """The exported PRelu reads the module's weight (an initializer under its name)."""
    onnx = import_optional("onnx")
    buffer = io.BytesIO()
    cg.onnx.export(nn.PReLU(3), cg.randn(2, 3, 4), buffer)
    names = [i.name for i in onnx.load_from_string(buffer.getvalue()).graph.initializer]
    assert "weight" in names


def test_random_draws_like_a_tensor_export_as_runtime_sampling():
    """A VAE's reparameterisation (``randn_like`` inside forward) becomes RandomNormalLike:
    the deterministic outputs match, the sampled one has the right shape and range."""
    ort = import_optional("onnxruntime")

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(6, 4), nn.Linear(2, 6)

        def forward(self, x):
            mu, logvar = self.enc(x).chunk(2, 1)
            z = mu + cg.randn_like(mu) * cg.exp(0.5 * logvar)
            return cg.sigmoid(self.dec(z)), mu, logvar

    cg.manual_seed(0)
    model, x = Tiny(), cg.randn(3, 6)
    buffer = io.BytesIO()
    cg.onnx.export(model, x, buffer)
    got = ort.InferenceSession(buffer.getvalue()).run(None, {"input": x.numpy()})
    recon, mu, logvar = model(x)
    np.testing.assert_allclose(got[1], mu.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], logvar.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert got[0].shape == (3, 6) and ((got[0] > 0) & (got[0] < 1)).all()
    assert b"RandomNormalLike" in buffer.getvalue()


@pytest.mark.parametrize("make,message", [
    (lambda: Fn(lambda x: F.rrelu(x, training=True)), "rrelu with training=True"),
    (lambda: nn.Embedding(5, 2, max_norm=1.0), "max_norm"),
    (lambda: Fn(lambda x: x + cg.randn(3)), "frozen into the graph"),
    (lambda: Fn(lambda x: x + x.new_zeros(x.shape)), "follows a dynamic axis"),
    (lambda: Fn(lambda x: x.view(2, 3)), "fails on a second input"),
])
def test_refused_uses_are_named(make, message):
    x = cg.tensor([[1, 2, 3], [0, 4, 1]]) if "max_norm" in message else cg.randn(2, 3)
    with pytest.raises(ValueError, match=message):
        cg.onnx.export(make(), x, io.BytesIO(), input_names=["x"],
                       dynamic_axes={"x": {0: "batch"}})
