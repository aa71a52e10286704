"""Products with torch's rules: ``matmul``/``@`` (1-d operands, batched broadcasting), ``mm``,
``bmm``, ``mv``, ``dot``, ``outer``/``ger``, ``einsum``, ``tensordot``, ``addmm``.

Operands must share one dtype (torch's RuntimeError, never a silent promotion — except
``outer``, which promotes as torch's does). Every gradient is another product of the same kind
(``∂(A @ B)/∂A = G @ Bᵀ``; each operand's gradient of an einsum is an einsum of the upstream
gradient with the other operands), so double backward needs nothing more.

>>> a = Tensor(np.arange(6.0).reshape(2, 3))
>>> (a @ Tensor(np.ones(3))).tolist(), einsum("ij,ij->i", a, a).tolist()
([3.0, 12.0], [5.0, 50.0])
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from . import shape as _shape
from .reduction import unbroadcast

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "einsum", "tensordot", "addmm"]

_TORCH_NAME = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
               "float16": "c10::Half", "int16": "short int", "int8": "signed char",
               "uint8": "unsigned char", "bool": "bool"}
_SCALAR_NAME = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                "float16": "Half", "bool": "Bool"}


def _tensor(v, op: str, name: str) -> Tensor:
    if isinstance(v, Tensor):
        return v
    if isinstance(v, np.ndarray):
        return Tensor.wrap(v)
    raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(v).__name__}")


def _same_dtype(a: Tensor, b: Tensor, op: str) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(f"{op}: expected m1 and m2 to have the same dtype, but got: "
                           f"{_TORCH_NAME.get(a.dtype.name, a.dtype.name)} != "
                           f"{_TORCH_NAME.get(b.dtype.name, b.dtype.name)}")
    if a.dtype == bool:
        raise NotImplementedError(f"{op}: \"addmm_impl_cpu_\" not implemented for 'Bool'")


def _mat(shape) -> str:
    return "x".join(str(n) for n in shape)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for checked operands of ≥ 2 dims; the batch dims broadcast."""
    out = np.matmul(a.array, b.array)

    def backward(g):
        ga = gb = None
        if a._requires_grad:
            ga = unbroadcast(_matmul(g, b.transpose(-1, -2)), a.shape)
        if b._requires_grad:
            if b.ndim == 2 and a.ndim > 2:          # x (…, K) @ W: one GEMM over the rows
                k, n = b.shape
                gb = _matmul(a.reshape(-1, k).transpose(0, 1), g.reshape(-1, n))
            else:
                gb = unbroadcast(_matmul(a.transpose(-1, -2), g), b.shape)
        return ga, gb
    return make(out, (a, b), backward, "matmul")


def matmul(input, other) -> Tensor:
    """torch.matmul: 1-d · 1-d is the dot product (0-d); a 1-d operand is a row (left) or a
    column (right) vector, removed from the result; ≥ 2-d operands multiply their last two
    dims, the batch dims broadcasting. ``(B, M, K) @ (K, N)`` → ``(B, M, N)``."""
    a, b = _tensor(input, "matmul", "input"), _tensor(other, "matmul", "other")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.ndim == 1 and b.ndim == 1:
        return dot(a, b)
    _same_dtype(a, b, "matmul")
    if a.ndim == 2 and b.ndim == 2:
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_mat(a.shape)} and "
                               f"{_mat(b.shape)})")
        return _matmul(a, b)
    if b.ndim == 1 and a.shape[-1] != b.shape[0]:
        raise RuntimeError(f"matmul: size mismatch, got input ({a.shape[-2]}), mat "
                           f"({_mat(a.shape[-2:])}), vec ({b.shape[0]})")
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        left = (int(np.prod(a2.shape[:-1])), a2.shape[-1]) if b2.ndim == 2 else a2.shape[-2:]
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_mat(left)} and "
                           f"{_mat(b2.shape[-2:])})")
    try:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: the batch dims {list(a.shape[:-2])} and "
                           f"{list(b.shape[:-2])} of {list(a.shape)} @ {list(b.shape)} do not "
                           f"broadcast") from None
    out = _matmul(a2, b2)
    if a.ndim == 1 or b.ndim == 1:
        keep = ((a2.shape[-2],) if a.ndim > 1 else ()) + ((b2.shape[-1],) if b.ndim > 1 else ())
        out = out.reshape(tuple(batch) + keep)
    return out


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The matrix product of two 2-d tensors (no broadcasting): (n, m) @ (m, p) → (n, p)."""
    a, b = _tensor(input, "mm", "input"), _tensor(mat2, "mm", "mat2")
    if a.ndim != 2:
        raise RuntimeError(f"mm: self must be a matrix (got {a.ndim}-d)")
    if b.ndim != 2:
        raise RuntimeError(f"mm: mat2 must be a matrix (got {b.ndim}-d)")
    return matmul(a, b)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of 3-d tensors with equal batch sizes (no broadcasting):
    (b, n, m) @ (b, m, p) → (b, n, p)."""
    a, b = _tensor(input, "bmm", "input"), _tensor(mat2, "bmm", "mat2")
    for t, name in ((a, "batch1"), (b, "batch2")):
        if t.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3D tensor (got {t.ndim}-d)")
    if a.dtype != b.dtype:
        raise RuntimeError(f"bmm: expected scalar type {_SCALAR_NAME.get(a.dtype.name)} but "
                           f"found {_SCALAR_NAME.get(b.dtype.name)}")
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise RuntimeError(f"bmm: Expected size for first two dimensions of batch2 tensor to "
                           f"be: [{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, "
                           f"{b.shape[1]}].")
    _same_dtype(a, b, "bmm")
    return _matmul(a, b)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix · vector: (n, m) @ (m,) → (n,)."""
    a, b = _tensor(input, "mv", "input"), _tensor(vec, "mv", "vec")
    if a.ndim != 2 or b.ndim != 1:
        raise RuntimeError(f"mv: vector + matrix @ vector expected, got 1, {a.ndim}, {b.ndim}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got input ({a.shape[0]}), mat ({_mat(a.shape)}), "
                           f"vec ({b.shape[0]})")
    return matmul(a, b)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Σᵢ aᵢbᵢ of two 1-d tensors of one size and dtype (0-d result; no broadcasting)."""
    a, b = _tensor(input, "dot", "input"), _tensor(tensor, "dot", "tensor")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_SCALAR_NAME.get(a.dtype.name)} and {_SCALAR_NAME.get(b.dtype.name)}")
    if a.shape != b.shape:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{a.shape[0]}] and "
                           f"src [{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    _same_dtype(a, b, "dot")
    return make(np.asarray(np.dot(a.array, b.array)), (a, b),
                lambda g: (g * b if a._requires_grad else None,
                           g * a if b._requires_grad else None), "dot")


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-d tensors, ``out[i, j] = a[i]·b[j]`` (dtypes promote, as
    torch's)."""
    a, b = _tensor(input, "outer", "input"), _tensor(vec2, "outer", "vec2")
    for t, name in ((a, "self"), (b, "vec2")):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return a.reshape(-1, 1) * b.reshape(1, -1)


ger = outer


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``β·input + α·(mat1 @ mat2)``; with β = 0 input is ignored (its NaNs too, as torch)."""
    product = mm(mat1, mat2)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    if input.dtype != product.dtype:
        raise RuntimeError(f"addmm: expected m1 and m2 to have the same dtype, but got: "
                           f"{_TORCH_NAME.get(input.dtype.name)} != "
                           f"{_TORCH_NAME.get(product.dtype.name)}")
    return (input if beta == 1 else input * beta) + product


# -- einsum

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """The equation with each ``...`` spelled out as letters (right-aligned, broadcast) and
    the output made explicit (implicit: ``...`` then the letters seen once, sorted)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        more = "fewer" if len(terms) > len(ndims) else "more"
        raise RuntimeError(f"einsum(): {more} operands were provided than specified in the "
                           f"equation {equation!r}")
    for part in terms + [rhs]:
        bad = part.replace("...", "").strip(_LETTERS)
        if bad or part.count("...") > 1 or "." in part.replace("...", ""):
            raise RuntimeError(f"einsum(): invalid subscript given in {equation!r} (letters "
                               f"a-z, A-Z and one '...' per operand)")
    ells = []
    for k, (term, n) in enumerate(zip(terms, ndims)):
        named = len(term.replace("...", ""))
        if "..." not in term and named != n or named > n:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({n}) for operand {k}"
                               f"{'' if '...' in term else ' and no ellipsis was given'}")
        ells.append(n - named if "..." in term else 0)
    free = [c for c in _LETTERS if c not in eq]
    span = "".join(free[:max(ells, default=0)])
    terms = [t.replace("...", span[len(span) - e:] if e else "") for t, e in zip(terms, ells)]
    if not arrow:
        counts = "".join(terms)
        named = sorted(c for c in set(counts) if counts.count(c) == 1 and c not in span)
        return terms, span + "".join(named)
    out = rhs.replace("...", span)
    for c in out:
        if out.count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the "
                               f"output")
        if not any(c in t for t in terms):
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                               f"for any input operand")
    return terms, out


def _sizes(terms: list[str], ops) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for k, (term, t) in enumerate(zip(terms, ops)):
        mine: dict[str, int] = {}
        for c, n in zip(term, t.shape):
            if c in mine and mine[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                   f"sizes don't match, {n} != {mine[c]}")
            mine[c] = n
            seen = sizes.get(c, 1)
            if n != 1 and seen != 1 and n != seen:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which "
                                   f"does not broadcast with previously seen size {seen}")
            sizes[c] = max(seen, n)
    return sizes


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, torch's (``einsum("bij,bjk->bik", a, b)``; also the list form
    ``einsum(eq, [a, b])``): letters shared by operands multiply, letters missing from the output
    are summed; ``...`` stands for broadcast dims; size-1 dims broadcast."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    ops = [_tensor(t, "einsum", "operands") for t in operands]
    if any(t.dtype != ops[0].dtype for t in ops):
        other = next(t.dtype for t in ops if t.dtype != ops[0].dtype)
        raise RuntimeError(f"einsum(): expected scalar type {_SCALAR_NAME.get(ops[0].dtype.name)} "
                           f"but found {_SCALAR_NAME.get(other.name)} (operands must share a "
                           f"dtype)")
    terms, out = _parse(equation, [t.ndim for t in ops])
    _sizes(terms, ops)
    return _einsum(terms, out, ops)


def _einsum(terms: list[str], out: str, ops: list[Tensor]) -> Tensor:
    spec = ",".join(terms) + "->" + out
    value = np.einsum(spec, *(t.array for t in ops), optimize=len(ops) > 1)

    def backward(g):
        return tuple(_einsum_grad(k, terms, out, ops, g) if t._requires_grad else None
                     for k, t in enumerate(ops))
    return make(np.asarray(value, dtype=ops[0].dtype), tuple(ops), backward, "einsum")


def _einsum_grad(k: int, terms: list[str], out: str, ops: list[Tensor], g: Tensor) -> Tensor:
    """∂/∂operand k: the einsum of g (output letters) with the other operands into operand k's
    letters. A repeated letter (``ii``) gets a fresh name tied by an identity; a letter only
    operand k has is spread by a ones vector; broadcast size-1 dims are summed back."""
    target, fresh = "", [c for c in _LETTERS if c not in "".join(terms) + out]
    sizes = _sizes(terms, ops)
    extra_terms, extra_ops = [], []
    for c, n in zip(terms[k], ops[k].shape):
        if c in target:
            name = fresh.pop()
            extra_terms.append(c + name)
            extra_ops.append(Tensor.wrap(np.eye(n, dtype=g.dtype)))
            c = name
        target += c
    inputs = [out] + [t for j, t in enumerate(terms) if j != k] + extra_terms
    arrays = [g] + [t for j, t in enumerate(ops) if j != k] + extra_ops
    for c in dict.fromkeys(target):
        if not any(c in t for t in inputs):
            inputs.append(c)
            arrays.append(Tensor.wrap(np.ones(sizes.get(c, 1), dtype=g.dtype)))
    full = _einsum(inputs, target, arrays)
    shape = tuple(ops[k].shape)
    axes = tuple(i for i, (m, n) in enumerate(zip(full.shape, shape)) if n == 1 and m != 1)
    if axes:
        full = full.sum(axes, True)
    return full if tuple(full.shape) == shape else _shape.broadcast_to(full, shape)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of a with the first ``dims`` of b, or the dims listed in
    ``dims = (dims_a, dims_b)``; the rest of a's dims, then the rest of b's, form the result."""
    a, b = _tensor(a, "tensordot", "a"), _tensor(b, "tensordot", "b")
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"both dimension lists should have same length (got {da} and {db})")
    from ..semantics import normalize_dim  # noqa: PLC0415
    da = [normalize_dim(d, a.ndim, "tensordot") for d in da]
    db = [normalize_dim(d, b.ndim, "tensordot") for d in db]
    letters = iter(_LETTERS)
    ta, tb = [next(letters) for _ in range(a.ndim)], [""] * b.ndim
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {i} and second has size {b.shape[j]} in dim "
                               f"{j}")
        tb[j] = ta[i]
    tb = [c or next(letters) for c in tb]
    out = "".join(c for i, c in enumerate(ta) if i not in da) + "".join(
        c for j, c in enumerate(tb) if j not in db)
    return einsum("".join(ta) + "," + "".join(tb) + "->" + out, a, b)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.__matmul__ = lambda self, other: matmul(self, other)
    Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
    for name in ("matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "addmm"):
        setattr(Tensor, name, globals()[name])
