"""The registered correlation algorithms, one module each, in the order the plans list them
(``engine.registry`` has the protocol). im2col comes first: it applies to every problem;
``direct`` (the definition, the oracle) last: only a forced method runs it."""

from .depthwise import Depthwise
from .direct import Direct
from .fft import Fft
from .im2col import IM2COL
from .outrows import Outrows
from .rows import Rows
from .shift import Shift
from .stacked import Stacked
from .window import Window
from .winograd import Winograd

REGISTRY = {a.name: a for a in (IM2COL, Rows(), Outrows(), Shift(), Stacked(), Window(), Fft(),
                                Winograd(), Depthwise(), Direct())}


def names() -> tuple[str, ...]:
    """Every registered algorithm's name (``settings(method=...)`` takes each)."""
    return tuple(REGISTRY)


def get(name: str):
    return REGISTRY[name]


__all__ = ["IM2COL", "REGISTRY", "names", "get"]
