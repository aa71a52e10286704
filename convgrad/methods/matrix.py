"""Matrix ops (trace, diag, det, inverse, kron, cross, cdist, block_diag …), torch's names and
gradients, batched over leading dims where torch is; every backward is written with Tensor ops,
so second derivatives work.

Gradients: ∂det/∂A = det·A⁻ᵀ, ∂log|det|/∂A = A⁻ᵀ, ∂(A⁻¹) = −A⁻ᵀ·g·A⁻ᵀ. ``diagonal`` is the
writable view of ``methods/indexing`` (torch's), reused here.

>>> import numpy as np
>>> a = Tensor(np.array([[2.0, 1.0], [1.0, 3.0]]))
>>> round(det(a).item(), 12), trace(a).item(), inverse(a).tolist()[0]
(5.0, 5.0, [0.6, -0.2])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Tensor, astype, make
from ..semantics import normalize_dim, result_dtype
from . import elementwise as ew
from . import join, reduction, shape
from .gather import diagonal
from .linalg import matmul
from .pointwise import tensor_arg

__all__ = ["trace", "diag", "diag_embed", "diagflat", "det", "logdet", "slogdet", "inverse",
           "matrix_power", "kron", "cross", "inner", "vdot", "addmv", "addr", "baddbmm",
           "addbmm", "cdist", "dist", "block_diag", "cartesian_prod", "tril_indices",
           "triu_indices"]

SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


class LinAlgError(RuntimeError):
    """torch._C._LinAlgError: a singular or non-positive-definite input (a RuntimeError)."""


def square(a: Tensor, op: str) -> Tensor:
    """a itself when it is a float batch of square matrices, else torch's RuntimeError."""
    a = tensor_arg(op, a, "A")
    if a.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    if a.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{a.dtype}")
    return a


def eye_like(a: Tensor, n: int) -> Tensor:
    return Tensor.wrap(np.broadcast_to(np.eye(n, dtype=a.dtype), a.shape[:-2] + (n, n)).copy())


# -- diagonals ---------------------------------------------------------------------------------

def trace(input) -> Tensor:
    """``Σᵢ Aᵢᵢ`` of a 2-D tensor (any shape; the main diagonal). trace([[1, 2], [3, 4]]) = 5."""
    a = tensor_arg("trace", input)
    if a.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
    return reduction.sum_(diagonal(a))


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose (dim1, dim2) diagonals (``offset`` above the main one) are input's last
    dim, zeros elsewhere: diag_embed([1, 2]) = [[1, 0], [0, 2]]."""
    a = tensor_arg("diag_embed", input)
    nd = a.ndim + 1
    d1, d2 = (normalize_dim(d, nd, "diag_embed") for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = (a.shape[-1] if a.ndim else 1) + abs(offset)
    data = np.zeros(a.shape[:-1] + (n, n), a.dtype)
    target = np.diagonal(data, offset, -2, -1)
    target.flags.writeable = True
    target[...] = a.array
    data = np.moveaxis(data, (-2, -1), (d1, d2)).copy()
    return make(data, (a,), lambda g: (diagonal(g, offset, d1, d2),), "diag_embed")


def diag(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """1-D → the square matrix with input on its ``diagonal``-th diagonal; 2-D → that diagonal
    (a copy). diag([1, 2], 1) = [[0, 1, 0], [0, 0, 2], [0, 0, 0]]."""
    a = tensor_arg("diag", input)
    if a.ndim == 1:
        return diag_embed(a, diagonal)
    if a.ndim == 2:
        return shape.contiguous(_diagonal(a, diagonal)) * 1
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {a.ndim}D")


def _diagonal(a: Tensor, offset: int) -> Tensor:
    return diagonal(a, offset, 0, 1)


def diagflat(input, offset: int = 0) -> Tensor:
    """diag of the flattened input: diagflat([[1, 2]]) = [[1, 0], [0, 2]]."""
    return diag_embed(shape.flatten(tensor_arg("diagflat", input)), offset)


# -- determinants and inverses ------------------------------------------------------------------

def _lu_error(op: str, a: np.ndarray, what: str) -> LinAlgError:
    with np.errstate(all="ignore"):
        bad = np.flatnonzero(np.linalg.matrix_rank(a.reshape((-1,) + a.shape[-2:]))
                             < a.shape[-1])
    batch = f"(Batch element {int(bad[0])}): " if a.ndim > 2 and len(bad) else ""
    return LinAlgError(f"{op}: {batch}{what}")


def inverse(input) -> Tensor:
    """A⁻¹ for a batch of square matrices; a singular one is torch's LinAlgError (a
    RuntimeError). ∂: −A⁻ᵀ·g·A⁻ᵀ."""
    a = square(input, "linalg.inv")
    try:
        data = np.linalg.inv(a.array)
    except np.linalg.LinAlgError:
        raise _lu_error("linalg.inv", a.array, "The diagonal element is zero, the inversion "
                        "could not be completed because the input matrix is singular.") from None
    out = make(data, (a,), None, "linalg_inv", saves_output=True)
    if out.requires_grad:
        out._backward = lambda g: (-matmul(matmul(out.mT, g), out.mT),)
    return out


def det(input) -> Tensor:
    """det(A), batched; ∂/∂A = det·A⁻ᵀ (A must be invertible for the gradient)."""
    a = square(input, "linalg.det")
    out = make(np.asarray(np.linalg.det(a.array), a.dtype), (a,), None, "linalg_det",
               saves_output=True)
    if out.requires_grad:
        out._backward = lambda g: (shape.unsqueeze(shape.unsqueeze(g * out, -1), -1) *
                                   inverse(a).mT,)
    return out


def slogdet(input) -> SlogdetResult:
    """(sign, log|det A|), batched; ∂log|det|/∂A = A⁻ᵀ (sign has no gradient)."""
    a = square(input, "linalg.slogdet")
    sign, logabs = np.linalg.slogdet(a.array)
    logabs = make(np.asarray(logabs, a.dtype), (a,), lambda g: (
        shape.unsqueeze(shape.unsqueeze(g, -1), -1) * inverse(a).mT,), "linalg_slogdet")
    return SlogdetResult(Tensor.wrap(np.asarray(sign, a.dtype)), logabs)


def logdet(input) -> Tensor:
    """log det A: NaN where det < 0, −inf where det = 0 (torch's rule); ∂ = A⁻ᵀ."""
    a = square(input, "logdet")
    sign, logabs = slogdet(a)
    bad = np.where(sign.array < 0, np.nan, np.where(sign.array == 0, -np.inf, 0.0))
    return logabs + Tensor.wrap(bad.astype(a.dtype))


def matrix_power(input, n: int) -> Tensor:
    """Aⁿ by repeated squaring (n < 0: (A⁻¹)^|n|, n = 0: I). matrix_power(A, 3) = A·A·A."""
    a = tensor_arg("matrix_power", input)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {a.shape[-2] if a.ndim > 1 else 1} by {a.shape[-1]} "
                           f"matrices")
    if n == 0:
        return eye_like(a, a.shape[-1]) + a * 0
    base = inverse(a) if n < 0 else a
    result, n = None, abs(int(n))
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


# -- products ----------------------------------------------------------------------------------

def kron(input, other) -> Tensor:
    """The Kronecker product: block (i, j) is aᵢⱼ·b. kron([1, 2], [1, 10]) = [1, 10, 2, 20]."""
    a, b = tensor_arg("kron", input), tensor_arg("kron", other, "other")
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    ai = shape.reshape(a, [v for s in sa for v in (s, 1)])
    bi = shape.reshape(b, [v for s in sb for v in (1, s)])
    return shape.reshape(ai * bi, [x * y for x, y in zip(sa, sb)])


def cross(input, other, dim: int | None = None) -> Tensor:
    """The 3-vector cross product along ``dim`` (None: the first dim of size 3, as torch),
    broadcasting the other dims. cross([1, 0, 0], [0, 1, 0]) = [0, 0, 1]."""
    a, b = ew._pair(tensor_arg("cross", input), tensor_arg("cross", other, "other"), "cross")
    full = np.broadcast_shapes(a.shape, b.shape)
    if dim is None:
        dims = [i for i, s in enumerate(full) if s == 3]
        if not dims:
            raise RuntimeError(f"no dimension of size 3 in input (shape {list(full)})")
        dim = dims[0]
    d = normalize_dim(dim, len(full), "cross")
    if full[d] != 3 or a.shape[d - len(full) + a.ndim] != 3 or b.shape[
            d - len(full) + b.ndim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d - len(full) + a.ndim]} and "
                           f"{b.shape[d - len(full) + b.ndim]}")
    a = shape.movedim(shape.broadcast_to(a, full), d, -1)
    b = shape.movedim(shape.broadcast_to(b, full), d, -1)
    x = [a[..., i] for i in range(3)]
    y = [b[..., i] for i in range(3)]
    parts = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]
    return shape.movedim(join.stack(parts, -1), -1, d)


def inner(input, other) -> Tensor:
    """Σ over the last dims of both: result shape a.shape[:-1] + b.shape[:-1] (a scalar
    operand multiplies). inner([1, 2], [3, 4]) = 11."""
    a, b = ew._pair(tensor_arg("inner", input), tensor_arg("inner", other, "other"), "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(a.shape)} and {list(b.shape)}")
    n = a.shape[-1]
    flat = matmul(shape.reshape(a, (-1, n)), shape.reshape(b, (-1, n)).mT)
    return shape.reshape(flat, a.shape[:-1] + b.shape[:-1])


def vdot(input, other) -> Tensor:
    """Σ xᵢyᵢ of two 1-D tensors of one dtype (real: dot). vdot([1, 2], [3, 4]) = 11."""
    from .linalg import dot  # noqa: PLC0415
    a, b = tensor_arg("vdot", input), tensor_arg("vdot", other, "other")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return dot(a, b)


def _scaled(op: str, input, product: Tensor, beta, alpha) -> Tensor:
    """beta·input + alpha·product (beta = 0 ignores input, NaN included, as torch)."""
    inp = tensor_arg(op, input)
    if np.broadcast_shapes(inp.shape, product.shape) != product.shape:
        raise RuntimeError(f"{op}: the input of shape {list(inp.shape)} does not broadcast to "
                           f"the product's shape {list(product.shape)}")
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled
    return (inp if beta == 1 else inp * beta) + scaled


def addmv(input, mat, vec, *, beta=1, alpha=1) -> Tensor:
    """``beta·input + alpha·(mat @ vec)``."""
    from .linalg import mv  # noqa: PLC0415
    return _scaled("addmv", input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1) -> Tensor:
    """``beta·input + alpha·outer(vec1, vec2)``."""
    from .linalg import outer  # noqa: PLC0415
    return _scaled("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    """``beta·input + alpha·bmm(batch1, batch2)`` (per batch)."""
    from .linalg import bmm  # noqa: PLC0415
    return _scaled("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    """``beta·input + alpha·Σ_b batch1[b] @ batch2[b]``."""
    from .linalg import bmm  # noqa: PLC0415
    return _scaled("addbmm", input, reduction.sum_(bmm(batch1, batch2), 0), beta, alpha)


# -- distances ---------------------------------------------------------------------------------

def cdist(x1, x2, p: float = 2.0, compute_mode=None) -> Tensor:
    """Pairwise p-norm distances: out[..., i, j] = ‖x1[..., i, :] − x2[..., j, :]‖_p (p ≥ 0,
    inf allowed); the gradient is 0 where a distance is 0, as torch's."""
    a, b = tensor_arg("cdist", x1, "x1"), tensor_arg("cdist", x2, "x2")
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{a.shape[-1]} X2: {b.shape[-1]}")
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {a.dtype}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values (got p = {p})")
    diff = shape.unsqueeze(a, -2) - shape.unsqueeze(b, -3)
    return reduction.norm(diff, p, -1)


def dist(input, other, p: float = 2) -> Tensor:
    """‖input − other‖_p over all elements (broadcast). dist([0, 0], [3, 4]) = 5."""
    return reduction.norm(tensor_arg("dist", input) - other, p)


# -- assembling --------------------------------------------------------------------------------

def block_diag(*tensors) -> Tensor:
    """The block-diagonal matrix of the inputs (0-D → 1×1, 1-D → 1×n), promoted dtype."""
    ts = [tensor_arg("block_diag", t, "tensors") for t in tensors]
    if not ts:
        return Tensor.wrap(np.zeros((1, 0), np.float32))
    dtype = result_dtype(*ts)
    mats = []
    for t in ts:
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input has {t.ndim} dimensions")
        mats.append(shape.reshape(astype(t, dtype), (1, -1) if t.ndim < 2 else t.shape))
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        pieces = [Tensor.wrap(np.zeros((r, left), dtype)), m,
                  Tensor.wrap(np.zeros((r, width - left - c), dtype))]
        rows.append(join.cat(pieces, 1))
        left += c
    return join.cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of the 1-D inputs' elements, one per row (itertools.product order);
    one input is returned as it is."""
    ts = [tensor_arg("cartesian_prod", t, "tensors") for t in tensors]
    if any(t.ndim != 1 for t in ts):
        raise RuntimeError("Expect a 1D vector, but got shape "
                           f"{[list(t.shape) for t in ts if t.ndim != 1][0]}")
    if len(ts) == 1:
        return ts[0]
    dtype = result_dtype(*ts)
    sizes = [t.shape[0] for t in ts]
    cols = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = sizes[i]
        cols.append(shape.flatten(shape.broadcast_to(shape.reshape(astype(t, dtype), view),
                                                     sizes)))
    return join.stack(cols, 1)


def _indices(op: str, row: int, col: int, offset: int, dtype, pick) -> Tensor:
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative (got {row}, {col})")
    i, j = pick(row, offset, col)
    return Tensor.wrap(np.stack([i, j]).astype(np.int64 if dtype is None else np.dtype(
        getattr(dtype, "name", dtype))))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (2, N) row/col indices of the lower triangle (j − i ≤ offset), row-major."""
    return _indices("tril_indices", row, col, offset, dtype, np.tril_indices)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (2, N) row/col indices of the upper triangle (j − i ≥ offset), row-major."""
    return _indices("triu_indices", row, col, offset, dtype, np.triu_indices)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("trace", "diag", "diag_embed", "diagflat", "det", "logdet", "slogdet",
                 "inverse", "matrix_power", "kron", "cross", "inner", "vdot", "addmv", "addr",
                 "baddbmm", "addbmm", "dist"):
        setattr(Tensor, name, globals()[name])
