"""``Embedding``: a lookup table of ``num_embeddings`` rows of size ``embedding_dim``
(torch's ``nn.Embedding``: N(0, 1) init, the ``padding_idx`` row zeroed and never trained)."""

from __future__ import annotations

import numpy as np

from .. import random
from ..autograd import Tensor
from ..functional import checks
from ..functional.distance import embedding
from .module import Module, Parameter
from .options import factory_dtype

__all__ = ["Embedding"]


class Embedding(Module):
    """``weight[input]`` with ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1).

    ``padding_idx``: that row starts at zero and gets no gradient (a negative index counts from
    the end). ``max_norm``: rows looked up are renormed in place to norm ≤ max_norm.
    ``_weight``/``_freeze``: start from given values (``from_pretrained``)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False, _weight=None,
                 _freeze: bool = False, device=None, dtype=None):
        super().__init__()
        op = "Embedding"
        self.num_embeddings = checks.integer(op, "num_embeddings", num_embeddings, 0)
        self.embedding_dim = checks.integer(op, "embedding_dim", embedding_dim, 0)
        if padding_idx is not None:
            padding_idx = checks.integer(op, "padding_idx", padding_idx)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = None if max_norm is None else checks.real(op, "max_norm", max_norm)
        self.norm_type = checks.real(op, "norm_type", norm_type, finite=False)
        self.scale_grad_by_freq = checks.boolean(op, "scale_grad_by_freq", scale_grad_by_freq)
        self.sparse = checks.boolean(op, "sparse", sparse)
        freeze = checks.boolean(op, "_freeze", _freeze)
        if _weight is None:
            dtype = factory_dtype(op, device, dtype)
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype),
                                    requires_grad=not freeze)
            self.reset_parameters()
        else:
            w = checks.tensor(op, "_weight", _weight)
            if tuple(w.shape) != (self.num_embeddings, self.embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(w, requires_grad=not freeze)

    def reset_parameters(self) -> None:
        """N(0, 1) draws from convgrad's generator; the padding row set to zero."""
        shape = self.weight.shape
        self.weight.array[...] = random.generator().standard_normal(shape)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, input) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (2-D; shared, not copied), frozen unless
        ``freeze=False``; the padding row keeps its given values."""
        w = checks.tensor("Embedding.from_pretrained", "embeddings", embeddings)
        if w.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = w.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=w, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
