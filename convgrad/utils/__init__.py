"""torch.utils's names that convgrad carries: ``convgrad.utils.data`` (datasets, samplers and
the ``DataLoader``).

>>> from convgrad.utils.data import TensorDataset
>>> len(TensorDataset(__import__("convgrad").zeros(3, 2)))
3
"""

from . import data

__all__ = ["data"]
