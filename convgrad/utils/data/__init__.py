"""torch.utils.data for convgrad: ``Dataset`` s, ``Sampler`` s, ``DataLoader``,
``default_collate``; a torch script ports by its imports
(``from convgrad.utils.data import DataLoader, TensorDataset``).

>>> import convgrad
>>> ds = TensorDataset(convgrad.ones(4, 3), convgrad.arange(4))
>>> [x.shape for x, _ in DataLoader(ds, batch_size=3)]
[convgrad.Size([3, 3]), convgrad.Size([1, 3])]
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
                      ChainDataset,
                      ConcatDataset,
                      Dataset,
                      IterableDataset,
                      StackDataset,
                      Subset,
                      TensorDataset,
                      random_split,
)
from .sampler import (
                      BatchSampler,
                      RandomSampler,
                      Sampler,
                      SequentialSampler,
                      SubsetRandomSampler,
                      WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset",
           "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "WorkerInfo", "default_collate", "default_convert", "get_worker_info",
           "random_split"]
