"""``torch.optim``: optimizers with PyTorch's names, signatures, update rules and state dicts,
plus ``lr_scheduler``. Each optimizer updates its parameters' arrays in place: one compiled
pass per parameter (numba) or NumPy's in-place ufuncs — ``_foreach`` says which, and how
torch's ``foreach``/``fused`` arguments select between them."""

from . import lr_scheduler
from .adam import Adam, Adamax, AdamW, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam", "Optimizer",
           "RAdam", "RMSprop", "SGD", "lr_scheduler"]
