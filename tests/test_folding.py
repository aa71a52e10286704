"""torch's F.unfold (im2col) / F.fold (col2im) and their layers, against torch: values, every
gradient, second order, argument forms, errors; the Unfold/Fold/CosineSimilarity/
PairwiseDistance layers' signatures and reprs."""

import inspect

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad.nn as nn
import convgrad.nn.functional as F

torch = import_torch()

OPTIONS = [((2,), {}), ((3,), {"dilation": 2, "padding": 1, "stride": 2}),
           (((2, 3),), {"padding": (1, 0), "stride": (2, 1)}), ((1,), {"stride": 3})]


@pytest.mark.parametrize("args, kwargs", OPTIONS)
@pytest.mark.parametrize("shape", [(2, 3, 6, 5), (3, 6, 5)])
def test_unfold_matches_torch(args, kwargs, shape):
    check_op(lambda x: F.unfold(x, *args, **kwargs),
             lambda x: torch.nn.functional.unfold(x, *args, **kwargs), shape)


@pytest.mark.parametrize("args, kwargs", OPTIONS)
@pytest.mark.parametrize("batched", [True, False])
def test_fold_matches_torch(args, kwargs, batched):
    cols = torch.nn.functional.unfold(torch.zeros(2, 3, 6, 5), *args, **kwargs)
    shape = tuple(cols.shape) if batched else tuple(cols.shape[1:])
    check_op(lambda c: F.fold(c, (6, 5), *args, **kwargs),
             lambda c: torch.nn.functional.fold(c, (6, 5), *args, **kwargs), shape)


@pytest.mark.parametrize("call", [
    lambda L: L.nn.functional.unfold(L.ones(3, 5), 2),
    lambda L: L.nn.functional.unfold(L.ones(1, 1, 2, 2), 3),
    lambda L: L.nn.functional.fold(L.ones(1, 4, 5), (3, 3), 2),
    lambda L: L.nn.functional.fold(L.ones(1, 5, 4), (3, 3), 2),
])
def test_bad_shapes_are_refused_as_torch(call):
    import convgrad
    with pytest.raises((RuntimeError, IndexError)):
        call(torch)
    with pytest.raises(RuntimeError):
        call(convgrad)


@pytest.mark.parametrize("name, args", [("Unfold", (2,)), ("Fold", ((4, 4), 2)),
                                        ("CosineSimilarity", ()), ("PairwiseDistance", ())])
def test_layers_have_torchs_signature_and_repr(name, args):
    def params(cls):
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]
    assert params(getattr(nn, name)) == params(getattr(torch.nn, name))
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_distance_layers_match_torch():
    a, b = np.random.default_rng(0).standard_normal((2, 4, 3))
    for name in ("CosineSimilarity", "PairwiseDistance"):
        got = getattr(nn, name)()(a, b).numpy()
        want = getattr(torch.nn, name)()(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12)
