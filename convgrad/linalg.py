"""``torch.linalg``'s names: norms, inverses and solves, and the decompositions (svd, qr, eigh,
cholesky), batched over leading dims, with torch's gradients where the formula is standard.

Gradients (A = input, g = upstream): solve X = A⁻¹B: ∂B = A⁻ᵀg, ∂A = −∂B·Xᵀ. cholesky
A = LLᵀ: ∂A = L⁻ᵀ·Φ·L⁻¹ with Φ = ½(T + tril(T, −1)ᵀ), T = tril(Lᵀg). eigh A = V diag(w) Vᵀ:
∂A = V (diag(g_w) + skew(Vᵀg_V)/(wⱼ − wᵢ)) Vᵀ (distinct eigenvalues). svd A = U S Vᵀ: the
standard formula for distinct singular values (Townsend 2016, torch's svd_backward). qr and
lstsq have no gradient here: a RuntimeError at backward names them.

>>> import numpy as np
>>> from convgrad import tensor
>>> a = tensor(np.array([[4.0, 2.0], [2.0, 3.0]]))
>>> solve(a, tensor(np.array([2.0, 1.0]))).tolist(), cholesky(a).tolist()[1]
([0.5, 0.0], [1.0, 1.4142135623730951])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .autograd import Tensor, make
from .methods import reduction, shape
from .methods.gather import diagonal as _diagonal
from .methods.gather import tril
from .methods.linalg import matmul
from .methods.matrix import LinAlgError, det, diag_embed, inverse, matrix_power, slogdet, square
from .methods.matrix import cross as _cross
from .methods.pointwise import tensor_arg

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "lstsq",
           "svd", "svdvals", "qr", "eigh", "eigvalsh", "cholesky", "pinv", "matrix_rank",
           "matrix_power", "cross", "vecdot", "multi_dot", "diagonal", "LinAlgError"]

inv = inverse
SVDResult = namedtuple("svd", ["U", "S", "Vh"])
QRResult = namedtuple("qr", ["Q", "R"])
EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
LstsqResult = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def _no_grad(op: str):
    def backward(g):
        raise RuntimeError(f"{op}: the derivative is not implemented in convgrad (forward "
                           f"only); detach the inputs")
    return backward


# -- norms ---------------------------------------------------------------------------------

def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """(Σ|x|^ord)^(1/ord) over dim (all elements when None); ord ∈ ℝ ∪ {±inf}."""
    return reduction.norm(tensor_arg("linalg.vector_norm", x), ord, dim, keepdim, dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """'fro' = √Σa², 'nuc' = Σσ, 2/−2 = max/min σ, 1/−1 = max/min column |sum|, inf/−inf =
    max/min row |sum|, over the two dims ``dim``."""
    a = tensor_arg("linalg.matrix_norm", A)
    if a.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    d0, d1 = (d % a.ndim for d in dim)
    if dtype is not None:
        a = a.to(dtype)
    if ord == "fro":
        return reduction.norm(a, 2, (d0, d1), keepdim)
    m = shape.movedim(a, (d0, d1), (-2, -1))
    if ord in ("nuc", 2, -2):
        s = svdvals(m)
        out = (reduction.sum_(s, -1) if ord == "nuc" else
               (reduction.amax if ord == 2 else reduction.amin)(s, -1))
    elif ord in (1, -1, float("inf"), float("-inf")):
        sums = reduction.sum_(m.abs(), -2 if ord in (1, -1) else -1)
        out = (reduction.amax if ord > 0 else reduction.amin)(sums, -1)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if keepdim:
        for d in sorted((d0, d1)):
            out = shape.unsqueeze(out, d)
    return out


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """vector_norm, or matrix_norm when ord is a string, dim a pair, or A 2-D with an ord."""
    a = tensor_arg("linalg.norm", A)
    if isinstance(dim, int):
        dim = (dim,)
    if isinstance(ord, str) or (dim is not None and len(dim) == 2) or (
            dim is None and ord is not None and a.ndim == 2):
        return matrix_norm(a, "fro" if ord is None else ord, (-2, -1) if dim is None else dim,
                           keepdim, dtype=dtype)
    if ord is not None and dim is None and a.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {a.ndim}D.")
    return vector_norm(a, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# -- solving -------------------------------------------------------------------------------

def solve(A, B, *, left: bool = True) -> Tensor:
    """X with A·X = B (B a batch of vectors when B.ndim == A.ndim − 1), left=False: X·A = B."""
    a = square(A, "torch.linalg.solve")
    b = tensor_arg("linalg.solve", B, "B")
    if not left:
        return solve(a.mT, b.mT).mT
    vector = b.ndim == a.ndim - 1 or b.ndim == 1
    bm = shape.unsqueeze(b, -1) if vector else b
    try:
        data = np.linalg.solve(a.array, bm.array)
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                          "singular.") from None
    out = make(data, (a, bm), None, "linalg_solve", saves_output=True)
    if out.requires_grad:
        def backward(g):
            gb = solve(a.mT, g)
            ga = -matmul(gb, out.mT)
            return (reduction.unbroadcast(ga, a.shape), reduction.unbroadcast(gb, bm.shape))
        out._backward = backward
    return out[..., 0] if vector else out


def lstsq(A, B, rcond=None, *, driver=None) -> LstsqResult:
    """The least-squares solution min‖AX − B‖ (pinv(A)·B), forward only."""
    a, b = tensor_arg("linalg.lstsq", A), tensor_arg("linalg.lstsq", B, "B")
    vector = b.ndim == a.ndim - 1
    bm = b.array[..., None] if vector else b.array
    x = np.linalg.pinv(a.array) @ bm
    x = x[..., 0] if vector else x
    sol = make(x, (a, b), _no_grad("linalg_lstsq"), "linalg_lstsq")
    rank = np.linalg.matrix_rank(a.array)
    empty = Tensor.wrap(np.zeros((0,), a.dtype))
    return LstsqResult(sol, empty, Tensor.wrap(np.asarray(rank, np.int64)), empty)


# -- decompositions --------------------------------------------------------------------------

def cholesky(A, *, upper: bool = False) -> Tensor:
    """L lower-triangular with A = L·Lᵀ (upper=True: U = Lᵀ); not positive-definite → torch's
    LinAlgError."""
    a = square(A, "linalg.cholesky")
    try:
        data = np.linalg.cholesky(a.array)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.cholesky: The factorization could not be completed because "
                          "the input is not positive-definite.") from None
    out = make(data, (a,), None, "linalg_cholesky", saves_output=True)
    if out.requires_grad:
        def backward(g):
            t = tril(matmul(out.mT, g))
            phi = (t + tril(t, -1).mT) * 0.5
            li = inverse(out)
            return (matmul(matmul(li.mT, phi), li),)
        out._backward = backward
    return out.mT if upper else out


def eigh(A, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric A (its lower
    triangle is read, UPLO='U': the upper)."""
    a = square(A, "linalg.eigh")
    w, v = np.linalg.eigh(a.array, UPLO=UPLO)
    parent = (a,)
    n = a.shape[-1]
    both = make(np.concatenate([w[..., None, :], v], -2), parent, None, "linalg_eigh",
                saves_output=True)
    if both.requires_grad:
        def backward(g):
            gw, gv = g[..., 0, :], g[..., 1:, :]
            vec, val = both[..., 1:, :], both[..., 0, :]
            vgv = matmul(vec.mT, gv)
            skew = (vgv - vgv.mT) * 0.5
            gap = shape.unsqueeze(val, -2) - shape.unsqueeze(val, -1)
            gap = gap + Tensor.wrap(np.eye(n, dtype=a.dtype))
            inner = skew / gap * Tensor.wrap(1 - np.eye(n, dtype=a.dtype)) + diag_embed(gw)
            ga = matmul(matmul(vec, inner), vec.mT)
            return (tril(ga) + tril(ga, -1).mT if UPLO == "L" else
                    (ga - tril(ga, -1)) + (ga - tril(ga)).mT,)
        both._backward = backward
    return EighResult(both[..., 0, :], both[..., 1:, :])


def eigvalsh(A, UPLO: str = "L") -> Tensor:
    """The eigenvalues of a symmetric A, ascending (differentiable)."""
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices: bool = True, *, driver=None) -> SVDResult:
    """A = U·diag(S)·Vh, S descending; differentiable (for distinct singular values) when
    full_matrices=False or A is square."""
    a = tensor_arg("linalg.svd", A)
    if a.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, vh = np.linalg.svd(a.array, full_matrices=full_matrices)
    if not a.requires_grad:
        return SVDResult(*(Tensor.wrap(np.ascontiguousarray(x)) for x in (u, s, vh)))
    if full_matrices and m != n:
        def refuse(g):
            raise RuntimeError("linalg_svd_backward: gradients of svd with full_matrices=True "
                               "are not defined for non-square input; use full_matrices=False")
        return SVDResult(*(make(x, (a,), refuse, "linalg_svd") for x in (u, s, vh)))
    pack = np.concatenate([u, s[..., None, :], np.swapaxes(vh, -1, -2)], -2)
    both = make(pack, (a,), None, "linalg_svd", saves_output=True)
    U, S, V = both[..., :m, :], both[..., m, :], both[..., m + 1:, :]

    def backward(g):
        gu, gs, gv = g[..., :m, :], g[..., m, :], g[..., m + 1:, :]
        s2 = S * S
        eye = Tensor.wrap(np.eye(k, dtype=a.dtype))
        gap = shape.unsqueeze(s2, -2) - shape.unsqueeze(s2, -1) + eye
        off = Tensor.wrap(1 - np.eye(k, dtype=a.dtype))
        f = off / gap
        uu, vv = matmul(U.mT, gu), matmul(V.mT, gv)
        sr, sc = shape.unsqueeze(S, -2), shape.unsqueeze(S, -1)
        inner = (f * (uu - uu.mT)) * sr + sc * (f * (vv - vv.mT)) + diag_embed(gs)
        ga = matmul(matmul(U, inner), V.mT)
        if m > k:
            proj = gu - matmul(U, uu)
            ga = ga + matmul(proj / sr, V.mT)
        if n > k:
            proj = gv - matmul(V, vv)
            ga = ga + matmul(U / sr, proj.mT)
        return (ga,)
    both._backward = backward
    return SVDResult(U, S, V.mT)


def svdvals(A, *, driver=None) -> Tensor:
    """The singular values, descending (differentiable: ∂A = U·diag(g)·Vᵀ)."""
    return svd(A, full_matrices=False).S


def qr(A, mode: str = "reduced") -> QRResult:
    """A = Q·R (mode 'reduced', 'complete' or 'r'), forward only here."""
    a = tensor_arg("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    q, r = np.linalg.qr(a.array, mode="complete" if mode == "complete" else "reduced")
    back = _no_grad("linalg_qr")
    return QRResult(make(q if mode != "r" else np.zeros((0,), a.dtype), (a,), back,
                         "linalg_qr"), make(r, (a,), back, "linalg_qr"))


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore–Penrose pseudo-inverse V·diag(1/σ)·Uᵀ, σ ≤ max(atol, rtol·σ_max) dropped
    (rtol default: eps·max(m, n))."""
    a = tensor_arg("linalg.pinv", A)
    u, s, vh = svd(a, full_matrices=False)
    smax = s.array[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), a.dtype)
    if rtol is None:
        rtol = 0.0 if atol not in (None, 0) else np.finfo(a.dtype).eps * max(a.shape[-2:])
    cut = np.maximum(0.0 if atol is None else atol, rtol * smax)
    keep = s.array > cut
    inv_s = (1 / (s + Tensor.wrap(np.where(keep, 0, 1).astype(a.dtype)))) * Tensor.wrap(
        keep.astype(a.dtype))
    return matmul(vh.mT * shape.unsqueeze(inv_s, -2), u.mT)


def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values above max(atol, rtol·σ_max) (int64)."""
    a = tensor_arg("linalg.matrix_rank", A)
    s = np.linalg.svd(a.array, compute_uv=False)
    if rtol is None:
        rtol = 0.0 if atol not in (None, 0) else np.finfo(a.dtype).eps * max(a.shape[-2:])
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    cut = np.maximum(0.0 if atol is None else atol, rtol * smax)
    return Tensor.wrap(np.asarray((s > cut).sum(-1), np.int64))


# -- products --------------------------------------------------------------------------------

def cross(input, other, *, dim: int = -1) -> Tensor:
    """The cross product along dim (default −1), broadcasting."""
    return _cross(input, other, dim)


def vecdot(x, y, *, dim: int = -1) -> Tensor:
    """Σ x·y along dim (broadcast). vecdot([1, 2], [3, 4]) = 11."""
    return reduction.sum_(tensor_arg("linalg.vecdot", x) * y, dim)


def multi_dot(tensors) -> Tensor:
    """A₁·A₂·…·Aₙ (a 1-D first/last is a row/column vector, dropped from the result)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first, last = ts[0].ndim == 1, ts[-1].ndim == 1
    mats = ([shape.unsqueeze(ts[0], 0)] if first else [ts[0]]) + ts[1:-1] + (
        [shape.unsqueeze(ts[-1], -1)] if last else [ts[-1]])
    out = mats[0]
    for m in mats[1:]:
        out = matmul(out, m)
    if first:
        out = out[0]
    if last:
        out = out[..., 0]
    return out


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The (dim1, dim2) diagonal (default: of the last two dims), as a view."""
    return _diagonal(tensor_arg("linalg.diagonal", A), offset, dim1, dim2)


_ = (det, slogdet, matrix_power)   # re-exported names
