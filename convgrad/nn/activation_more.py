"""The smooth activation layers (Sigmoid, Tanh, ELU, SELU, CELU, GELU, SiLU, Mish, Softplus,
Softsign, LogSigmoid, Tanhshrink, GLU) and what every activation layer shares (``Pointwise``)."""

from __future__ import annotations

from .. import functional as F
from ..functional import checks
from .module import Module

__all__ = ["Sigmoid", "Tanh", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus",
           "Softsign", "LogSigmoid", "Tanhshrink", "GLU"]


def flag(layer: Module, inplace) -> bool:
    """``inplace`` checked (True or False), naming the layer."""
    return checks.boolean(type(layer).__name__, "inplace", inplace)


def inplace_repr(layer: Module, sep: str = "") -> str:
    """torch's ``inplace=True`` suffix (nothing when False)."""
    return f"{sep}inplace=True" if layer.inplace else ""


class Pointwise(Module):
    """An activation layer: options only, no parameters (PReLU adds its weight)."""

    def extra_repr(self) -> str:
        return ""


class Sigmoid(Pointwise):
    """``σ(x) = 1/(1 + e^−x)``."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Pointwise):
    """``tanh x``."""

    def forward(self, input):
        return F.tanh(input)


class ELU(Pointwise):
    """``x`` for x > 0, ``α(eˣ − 1)`` otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        checks.real("ELU", "alpha", alpha)
        self.alpha, self.inplace = alpha, flag(self, inplace)

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{inplace_repr(self, ', ')}"


class CELU(Pointwise):
    """``x`` for x > 0, ``α(e^{x/α} − 1)`` otherwise (α ≠ 0)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if checks.real("CELU", "alpha", alpha) == 0:
            raise ValueError("CELU: alpha cannot be 0 for CELU (it divides x)")
        self.alpha, self.inplace = alpha, flag(self, inplace)

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{inplace_repr(self, ', ')}"


class SELU(Pointwise):
    """``λ·x`` for x > 0, ``λ·α(eˣ − 1)`` otherwise (α ≈ 1.6733, λ ≈ 1.0507)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self)


class GELU(Pointwise):
    """``x·Φ(x)``; ``approximate='tanh'``: ``½x(1 + tanh(√(2/π)(x + 0.044715x³)))``."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = checks.choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Pointwise):
    """``x·σ(x)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self)


class Mish(Pointwise):
    """``x·tanh(softplus(x))``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.mish(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self)


class Softplus(Pointwise):
    """``log(1 + e^{βx})/β``, and x where ``βx > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        if checks.real("Softplus", "beta", beta) == 0:
            raise ValueError(f"Softplus: beta must be non-zero (it divides), got {beta}")
        checks.real("Softplus", "threshold", threshold)
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Pointwise):
    """``x/(1 + |x|)``."""

    def forward(self, input):
        return F.softsign(input)


class LogSigmoid(Pointwise):
    """``log σ(x)``."""

    def forward(self, input):
        return F.logsigmoid(input)


class Tanhshrink(Pointwise):
    """``x − tanh x``."""

    def forward(self, input):
        return F.tanhshrink(input)


class GLU(Pointwise):
    """``a ⊗ σ(b)``, a and b the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = checks.integer("GLU", "dim", dim)

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
