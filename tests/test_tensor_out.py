"""torch's ``out=`` on the top-level functions: the result written into the given tensor (resized,
with torch's warning, when its shape differs), its dtype kept, autograd refused."""

import warnings

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg

torch = import_torch()


def both(values, dtype="float32"):
    a = np.asarray(values, dtype=dtype)
    return cg.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("fn, args", [("mul", 2), ("add", 2), ("matmul", 2), ("exp", 1),
                                      ("tanh", 1)])
def test_out_receives_the_result_and_is_returned(fn, args):
    c, t = both(np.arange(4.0).reshape(2, 2) / 4)
    c_out, t_out = both(np.zeros((2, 2)))
    got = getattr(cg, fn)(*[c] * args, out=c_out)
    getattr(torch, fn)(*[t] * args, out=t_out)
    assert got is c_out
    np.testing.assert_allclose(c_out.numpy(), t_out.numpy(), rtol=1e-6)


def test_out_of_another_shape_is_resized_with_torchs_warning():
    c, t = both(np.ones((2, 2)))
    c_out, t_out = both(np.zeros(3))
    with warnings.catch_warnings(record=True) as w_cg:
        warnings.simplefilter("always")
        cg.mul(c, c, out=c_out)
    with warnings.catch_warnings(record=True) as w_t:
        warnings.simplefilter("always")
        torch.mul(t, t, out=t_out)
    assert c_out.shape == tuple(t_out.shape) and len(w_cg) == len(w_t) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # an empty out: no warning
        cg.mul(c, c, out=cg.tensor(np.zeros(0, np.float32)))


def test_out_keeps_its_dtype_and_refuses_a_narrower_category():
    c, t = both(np.ones(2))
    wide = cg.tensor(np.zeros(2))
    cg.mul(c, c, out=wide)
    assert wide.dtype == cg.float64
    with pytest.raises(RuntimeError, match="can't be cast"):
        cg.mul(c, c, out=cg.tensor(np.zeros(2, np.int64)))
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.mul(t, t, out=torch.zeros(2, dtype=torch.int64))


def test_out_refuses_autograd_as_torch():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cg.mul(x, x, out=cg.tensor([0.0, 0.0]))
    with cg.no_grad():
        out = cg.tensor([0.0, 0.0])
        cg.mul(x, x, out=out)
    assert out.tolist() == [1.0, 4.0] and not out.requires_grad


def test_tuple_results_fill_a_tuple_of_outs():
    c, _ = both([[1.0, 5.0], [7.0, 2.0]])
    values, indices = cg.tensor([0.0, 0.0]), cg.tensor([0, 0])
    r = cg.max(c, 1, out=(values, indices))
    assert r.values is values and r.indices is indices
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        cg.exp(c, out=np.zeros((2, 2)))
