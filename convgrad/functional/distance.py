r"""Distances, normalisation, one-hot codes and embedding lookup (torch's names)::

    normalize(x, p, dim, eps)        x / max(‖x‖_p, eps)
    cosine_similarity(x₁, x₂, dim)   Σ (x₁/max(‖x₁‖, eps)) · (x₂/max(‖x₂‖, eps))
                                     (the clamp does not enter the gradient, as in torch)
    pairwise_distance(x₁, x₂, p)     ‖x₁ − x₂ + eps‖_p over the last axis
    embedding(i, W)                  W[i]; the padding row gets no gradient, and with
                                     ``max_norm`` the rows looked up are first renormed in
                                     place to norm ≤ max_norm (scale max_norm / (‖w‖ + 1e−7))
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..methods.gather import index_add
from . import checks

__all__ = ["one_hot", "normalize", "cosine_similarity", "pairwise_distance", "embedding"]


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 codes of shape ``(*tensor.shape, num_classes)`` (``-1``: max + 1)."""
    t = tensor.array if isinstance(tensor, Tensor) else np.asarray(tensor)
    num_classes = checks.integer("one_hot", "num_classes", num_classes)
    if t.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if not t.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    elif num_classes < -1:
        raise RuntimeError("one_hot: num_classes should be -1 or a non-negative int")
    if t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor((t[..., None] == np.arange(num_classes)).astype(np.int64))


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``x / max(‖x‖_p, eps)`` along ``dim`` (the clamp is part of the gradient, as torch)."""
    x = checks.tensor("normalize", "input", input)
    p = checks.real("normalize", "p", p, finite=False)
    eps = checks.real("normalize", "eps", eps)
    if out is not None:
        raise TypeError("normalize: out= is not supported by convgrad")
    with _named("normalize"):
        norm = x.norm(p, dim, keepdim=True)
    return x / norm.clamp_min(eps)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle along ``dim`` after broadcasting x₁ and x₂; each norm is clamped at
    ``eps`` in value only (torch clamps it under no_grad)."""
    a, b = (checks.tensor("cosine_similarity", n, v) for n, v in (("x1", x1), ("x2", x2)))
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"cosine_similarity: argument 'dim' must be int, not "
                        f"{type(dim).__name__}")
    eps = checks.real("cosine_similarity", "eps", eps)
    if eps < 0:
        raise RuntimeError(f"cosine_similarity: eps must be non-negative, got {eps:g}")
    shape = _broadcast("cosine_similarity", a, b)
    a, b = a.expand(*shape), b.expand(*shape)
    with _named("cosine_similarity"):
        na, nb = (_clamped(t.norm(2, dim, keepdim=True), eps) for t in (a, b))
    return ((a / na) * (b / nb)).sum(dim)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``‖x₁ − x₂ + eps‖_p`` over the last axis of the broadcast pair."""
    a, b = (checks.tensor("pairwise_distance", n, v) for n, v in (("x1", x1), ("x2", x2)))
    p = checks.real("pairwise_distance", "p", p, finite=False)
    eps = checks.real("pairwise_distance", "eps", eps)
    keepdim = checks.boolean("pairwise_distance", "keepdim", keepdim)
    _broadcast("pairwise_distance", a, b)
    dim = max(a.ndim, b.ndim) - 1
    return (a - b + eps).norm(p, dim if dim >= 0 else None, keepdim=keepdim)


@traced("embedding")
def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Rows ``weight[input]`` (shape ``(*input.shape, D)``). The gradient scatters back onto
    the rows looked up, except ``padding_idx``'s; ``scale_grad_by_freq`` divides each row's
    gradient by how often it occurs in ``input``. ``max_norm`` renorms (in place, outside the
    graph) each looked-up row whose ``norm_type``-norm exceeds it. ``sparse`` is accepted; the
    gradient is dense."""
    w = checks.tensor("embedding", "weight", weight)
    idx = input.array if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.dtype} instead "
                           f"(while checking arguments for embedding)")
    if w.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got a {w.ndim}-D weight")
    rows = w.shape[0]
    if padding_idx is not None:
        padding_idx = checks.integer("embedding", "padding_idx", padding_idx)
        if not -rows <= padding_idx < rows:
            raise PaddingIndexError(f"embedding: Padding_idx must be within num_embeddings "
                                 f"(got padding_idx={padding_idx} for {rows} embeddings)")
        padding_idx %= rows
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise IndexError("index out of range in self")
    checks.boolean("embedding", "scale_grad_by_freq", scale_grad_by_freq)
    checks.boolean("embedding", "sparse", sparse)
    if max_norm is not None:
        renorm_(w, idx, checks.real("embedding", "max_norm", max_norm),
                checks.real("embedding", "norm_type", norm_type, finite=False))
    flat = idx.reshape(-1).astype(np.int64)
    scale = np.ones(flat.shape, w.dtype)
    if padding_idx is not None:
        scale[flat == padding_idx] = 0
    if scale_grad_by_freq:
        scale /= np.bincount(flat, minlength=rows)[flat]
    dim = w.shape[1]

    def backward(g):
        g = g.reshape(-1, dim) * Tensor(scale[:, None])
        return (index_add(Tensor(np.zeros(w.shape, w.dtype)), 0, flat, g),)
    return make(w.array[idx], (w,), backward, "embedding")


class PaddingIndexError(ValueError, AssertionError):
    """A ``padding_idx`` outside ``[-num_embeddings, num_embeddings)``: torch's AssertionError,
    and a ValueError (a bad argument value) like convgrad's other argument errors."""


def renorm_(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """torch's ``embedding_renorm_``: rows of ``idx`` with norm > max_norm are scaled by
    ``max_norm / (norm + 1e−7)``, in place and outside the graph."""
    rows = np.unique(idx)
    if not rows.size:
        return
    block = weight.array[rows]
    norms = np.linalg.norm(block, ord=norm_type, axis=1) if norm_type not in (0,) else \
        np.count_nonzero(block, axis=1).astype(block.dtype)
    big = norms > max_norm
    if big.any():
        factor = (max_norm / (norms[big] + 1e-7)).astype(block.dtype)
        weight.array[rows[big]] = block[big] * factor[:, None]
        weight._vc[0] += 1


@contextlib.contextmanager
def _named(op: str):
    """Re-raise the errors of the ``norm`` helper (a bad ``dim``) under the op's name, with the
    same type and wording."""
    try:
        yield
    except (IndexError, TypeError, ValueError, RuntimeError) as e:
        message = str(e)
        message = f"{op}: {message[len('norm: '):] if message.startswith('norm: ') else message}"
        raise type(e)(message) from None


def _clamped(t: Tensor, low: float) -> Tensor:
    """``max(t, low)`` in value; the gradient passes unchanged (torch's no-grad clamp_)."""
    return make(np.maximum(t.array, low), (t,), lambda g: (g,), "clamp_min_no_grad")


def _broadcast(op: str, a: Tensor, b: Tensor) -> tuple:
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"{op}: the size of x1 {list(a.shape)} must match the size of x2 "
                           f"{list(b.shape)} (or broadcast)") from None
