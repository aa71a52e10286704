"""Matrix ops (``convgrad/methods/matrix.py``) and ``convgrad.linalg`` against torch: one
``check_op`` line per differentiable op (batched where torch is), decompositions through
sign-invariant functions of their factors, and error-type parity (singular, non-square)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg

torch = import_torch()
L = cg.linalg
RNG = np.random.default_rng(3)
SQ = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)        # well-conditioned batch


def _spd(a):
    return a @ a.mT + cg.tensor(np.eye(a.shape[-1]), dtype=a.dtype)


def _tspd(a):
    return a @ a.mT + torch.eye(a.shape[-1], dtype=a.dtype)


def _sym(a):
    return a + a.mT


CASES = {
    "trace": (lambda a: a.trace(), lambda a: a.trace(), [(3, 4)]),
    "diag 1d": (lambda a: cg.diag(a, 1), lambda a: torch.diag(a, 1), [(3,)]),
    "diag 2d": (lambda a: a.diag(-1), lambda a: a.diag(-1), [(3, 4)]),
    "diag_embed": (lambda a: cg.diag_embed(a, 1, 0, 2), lambda a: torch.diag_embed(a, 1, 0, 2),
                   [(2, 3)]),
    "diagflat": (lambda a: cg.diagflat(a, -1), lambda a: torch.diagflat(a, -1), [(2, 2)]),
    "det": (lambda a: a.det(), lambda a: a.det(), [SQ]),
    "logdet": (lambda a: cg.logdet(_spd(a)), lambda a: torch.logdet(_tspd(a)), [SQ]),
    "slogdet": (lambda a: cg.slogdet(a).logabsdet, lambda a: torch.slogdet(a).logabsdet, [SQ]),
    "inverse": (lambda a: a.inverse(), lambda a: a.inverse(), [SQ]),
    "matrix_power 3": (lambda a: a.matrix_power(3), lambda a: a.matrix_power(3), [SQ]),
    "matrix_power -2": (lambda a: cg.matrix_power(a, -2), lambda a: torch.matrix_power(a, -2),
                        [SQ]),
    "kron": (lambda a, b: cg.kron(a, b), lambda a, b: torch.kron(a, b), [(2, 3), (3,)]),
    "cross": (lambda a, b: a.cross(b, dim=1), lambda a, b: a.cross(b, dim=1), [(2, 3), (1, 3)]),
    "inner": (lambda a, b: cg.inner(a, b), lambda a, b: torch.inner(a, b), [(2, 3), (4, 3)]),
    "vdot": (lambda a, b: a.vdot(b), lambda a, b: a.vdot(b), [(4,), (4,)]),
    "addmv": (lambda i, m, v: cg.addmv(i, m, v, beta=0.5, alpha=2),
              lambda i, m, v: torch.addmv(i, m, v, beta=0.5, alpha=2), [(3,), (3, 4), (4,)]),
    "addr": (lambda i, a, b: i.addr(a, b, alpha=3), lambda i, a, b: i.addr(a, b, alpha=3),
             [(3, 4), (3,), (4,)]),
    "baddbmm": (lambda i, a, b: cg.baddbmm(i, a, b, beta=2),
                lambda i, a, b: torch.baddbmm(i, a, b, beta=2), [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
    "addbmm": (lambda i, a, b: i.addbmm(a, b, alpha=0.5), lambda i, a, b: i.addbmm(a, b, alpha=0.5),
               [(3, 4), (2, 3, 5), (2, 5, 4)]),
    "dist": (lambda a, b: a.dist(b), lambda a, b: a.dist(b), [(3, 4), (4,)]),
    "dist p3": (lambda a, b: cg.dist(a, b, 3), lambda a, b: torch.dist(a, b, 3), [(3, 4), (4,)]),
    "block_diag": (lambda a, b, c: cg.block_diag(a, b, c),
                   lambda a, b, c: torch.block_diag(a, b, c),
                   [(2, 3), (3,), ()]),
    "cartesian_prod": (lambda a, b: cg.cartesian_prod(a, b),
                       lambda a, b: torch.cartesian_prod(a, b),
                       [(2,), (3,)]),
    "linalg.inv": (lambda a: L.inv(a), lambda a: torch.linalg.inv(a), [SQ]),
    "linalg.det": (lambda a: L.det(a), lambda a: torch.linalg.det(a), [SQ]),
    "linalg.solve": (lambda a, b: L.solve(a, b), lambda a, b: torch.linalg.solve(a, b),
                     [SQ, (2, 3, 2)]),
    "linalg.solve vector": (lambda a, b: L.solve(a, b), lambda a, b: torch.linalg.solve(a, b),
                            [SQ, (2, 3)]),
    "linalg.solve right": (lambda a, b: L.solve(a, b, left=False),
                           lambda a, b: torch.linalg.solve(a, b, left=False), [SQ, (2, 4, 3)]),
    "linalg.cholesky": (lambda a: L.cholesky(_spd(a)), lambda a: torch.linalg.cholesky(_tspd(a)),
                        [(2, 3, 3)]),
    "linalg.cholesky upper": (lambda a: L.cholesky(_spd(a), upper=True),
                              lambda a: torch.linalg.cholesky(_tspd(a), upper=True), [(3, 3)]),
    "linalg.eigvalsh": (lambda a: L.eigvalsh(_sym(a)), lambda a: torch.linalg.eigvalsh(_sym(a)),
                        [(2, 4, 4)]),
    "linalg.eigh vectors": (lambda a: L.eigh(_sym(a)).eigenvectors ** 2,
                            lambda a: torch.linalg.eigh(_sym(a)).eigenvectors ** 2, [(2, 4, 4)]),
    "linalg.svdvals": (lambda a: L.svdvals(a), lambda a: torch.linalg.svdvals(a), [(2, 4, 3)]),
    "linalg.svd U": (lambda a: L.svd(a, full_matrices=False).U ** 2,
                     lambda a: torch.linalg.svd(a, full_matrices=False).U ** 2, [(2, 4, 3)]),
    "linalg.svd Vh": (lambda a: L.svd(a, full_matrices=False).Vh ** 2,
                      lambda a: torch.linalg.svd(a, full_matrices=False).Vh ** 2, [(3, 5)]),
    "linalg.pinv": (lambda a: L.pinv(a), lambda a: torch.linalg.pinv(a), [(4, 3)]),
    "linalg.matrix_norm fro": (lambda a: L.matrix_norm(a), lambda a: torch.linalg.matrix_norm(a),
                               [(2, 3, 4)]),
    "linalg.matrix_norm nuc": (lambda a: L.matrix_norm(a, "nuc"),
                               lambda a: torch.linalg.matrix_norm(a, "nuc"), [(2, 3, 4)]),
    "linalg.matrix_norm 2": (lambda a: L.matrix_norm(a, 2),
                             lambda a: torch.linalg.matrix_norm(a, 2),
                             [(3, 4)]),
    "linalg.matrix_norm -2": (lambda a: L.matrix_norm(a, -2),
                              lambda a: torch.linalg.matrix_norm(a, -2), [(3, 4)]),
    "linalg.matrix_norm 1": (lambda a: L.matrix_norm(a, 1),
                             lambda a: torch.linalg.matrix_norm(a, 1),
                             [(2, 3, 4)]),
    "linalg.matrix_norm -inf": (lambda a: L.matrix_norm(a, -float("inf")),
                                lambda a: torch.linalg.matrix_norm(a, -float("inf")), [(3, 4)]),
    "linalg.norm": (lambda a: L.norm(a), lambda a: torch.linalg.norm(a), [(2, 3, 4)]),
    "linalg.norm dim": (lambda a: L.norm(a, 3, dim=1), lambda a: torch.linalg.norm(a, 3, dim=1),
                        [(2, 3, 4)]),
    "linalg.vector_norm": (lambda a: L.vector_norm(a, 1, (0, 2), keepdim=True),
                           lambda a: torch.linalg.vector_norm(a, 1, (0, 2), keepdim=True),
                           [(2, 3, 4)]),
    "linalg.matrix_power": (lambda a: L.matrix_power(a, 2),
                            lambda a: torch.linalg.matrix_power(a, 2), [SQ]),
    "linalg.cross": (lambda a, b: L.cross(a, b), lambda a, b: torch.linalg.cross(a, b),
                     [(2, 3), (2, 3)]),
    "linalg.vecdot": (lambda a, b: L.vecdot(a, b, dim=0),
                      lambda a, b: torch.linalg.vecdot(a, b, dim=0),
                      [(3, 2), (3, 2)]),
    "linalg.multi_dot": (lambda a, b, c: L.multi_dot([a, b, c]),
                         lambda a, b, c: torch.linalg.multi_dot([a, b, c]), [(3,), (3, 4), (4,)]),
    "linalg.diagonal": (lambda a: L.diagonal(a, offset=1),
                        lambda a: torch.linalg.diagonal(a, offset=1),
                        [(2, 3, 4)]),
}
FIRST_ORDER = {"linalg.vector_norm", "linalg.matrix_norm 1",
               "linalg.matrix_norm -inf"}


@pytest.mark.parametrize("name", CASES)
def test_op_matches_torch(name):
    cg_fn, torch_fn, inputs = CASES[name]
    check_op(cg_fn, torch_fn, *inputs, order=1 if name in FIRST_ORDER else 2)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), 0.0])
def test_cdist(p):
    check_op(lambda a, b: cg.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p),
             (2, 4, 3), (2, 5, 3), order=1)


def test_cdist_zero_distance_gradient():
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    check_op(lambda a, b: cg.cdist(a, b), lambda a, b: torch.cdist(a, b), x, x.copy(), order=1)


def test_indices_and_slogdet_sign():
    for fn in ("tril_indices", "triu_indices"):
        for args in ((3, 3), (4, 2, 1), (2, 5, -1)):
            assert getattr(cg, fn)(*args).tolist() == getattr(torch, fn)(*args).tolist()
    sign, logabs = cg.slogdet(cg.tensor(SQ * np.array([1, -1, 1])))
    tsign, tlog = torch.slogdet(torch.tensor(SQ * np.array([1, -1, 1])))
    np.testing.assert_allclose(sign.numpy(), tsign.numpy())
    np.testing.assert_allclose(logabs.numpy(), tlog.numpy())
    neg = cg.tensor(np.diag([-1.0, 2.0]))
    assert np.isnan(cg.logdet(neg).item()) and np.isnan(torch.logdet(torch.tensor(
        np.diag([-1.0, 2.0]))).item())


def test_decomposition_values():
    a = RNG.standard_normal((2, 5, 3))
    q, r = L.qr(cg.tensor(a))
    tq, tr = torch.linalg.qr(torch.tensor(a))
    np.testing.assert_allclose(np.abs(q.numpy()), np.abs(tq.numpy()), atol=1e-12)
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(tr.numpy()), atol=1e-12)
    u, s, vh = L.svd(cg.tensor(a))
    assert u.shape == (2, 5, 5) and vh.shape == (2, 3, 3)
    sol = L.lstsq(cg.tensor(a), cg.tensor(a[..., :1])).solution
    want = torch.linalg.lstsq(torch.tensor(a), torch.tensor(a[..., :1])).solution
    np.testing.assert_allclose(sol.numpy(), want.numpy(), atol=1e-12)
    assert L.matrix_rank(cg.tensor(a)).tolist() == torch.linalg.matrix_rank(
        torch.tensor(a)).tolist()


@pytest.mark.parametrize("fn, tfn", [(lambda a: L.inv(a), lambda a: torch.linalg.inv(a)),
                                     (lambda a: cg.inverse(a), lambda a: torch.inverse(a)),
                                     (lambda a: L.solve(a, a[..., 0]),
                                      lambda a: torch.linalg.solve(a, a[..., 0])),
                                     (lambda a: L.cholesky(a), lambda a: torch.linalg.cholesky(a))])
def test_singular_error_type(fn, tfn):
    z = np.zeros((2, 2, 2))
    with pytest.raises(RuntimeError) as theirs:
        tfn(torch.tensor(z))
    with pytest.raises(RuntimeError):
        fn(cg.tensor(z))
    assert isinstance(theirs.value, RuntimeError)


@pytest.mark.parametrize("name", ["det", "inverse", "slogdet", "logdet"])
def test_non_square(name):
    with pytest.raises(RuntimeError, match="square"):
        getattr(cg, name)(cg.tensor(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="square"):
        getattr(torch, name)(torch.ones(2, 3, dtype=torch.float64))


def test_errors():
    with pytest.raises(RuntimeError, match="matrix"):
        cg.trace(cg.tensor(np.ones((2, 2, 2))))
    x = cg.tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="lstsq"):
        L.lstsq(x, cg.tensor(np.ones((3, 1)))).solution.sum().backward()
    with pytest.raises(RuntimeError, match="qr"):
        L.qr(x).R.sum().backward()
    with pytest.raises(RuntimeError, match="length 3"):
        cg.cross(cg.tensor(np.ones((2, 4))), cg.tensor(np.ones((2, 4))), dim=1)
