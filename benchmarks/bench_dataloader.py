from __future__ import annotations

import sys
import time

import numpy as np

import convgrad
from convgrad.utils.data import DataLoader, Dataset, TensorDataset


class SleepDataset(Dataset):
    def __init__(self, n: int, seconds: float) -> None:
        self.n, self.seconds = n, seconds

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        time.sleep(self.seconds)
        return convgrad.tensor([float(i)])


class NumpyDataset(Dataset):
    def __init__(self, n: int, side: int) -> None:
        self.data = np.random.default_rng(0).random((n, side, side), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        x = self.data[i]
        y = np.sort(np.sqrt(x * 2.0 + 1.0), axis=1)
        return convgrad.Tensor.wrap(y)


class PerSample(TensorDataset):
    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)


def epoch(loader: DataLoader, consumer_seconds: float = 0.0) -> float:
    start = time.perf_counter()
    for _ in loader:
        if consumer_seconds:
            time.sleep(consumer_seconds)
    return time.perf_counter() - start


def best(loader: DataLoader, consumer_seconds: float = 0.0, repeat: int = 3) -> float:
    return min(epoch(loader, consumer_seconds) for _ in range(repeat))


def main() -> None:
    x = convgrad.randn(20000, 64)
    y = convgrad.randint(0, 10, (20000,))
    cases = [
        ("sleep 1 ms/sample, batch 8", SleepDataset(256, 0.001), 8, 0.0),
        ("numpy 512x512 sqrt+sort/sample, batch 8", NumpyDataset(256, 512), 8, 0.0),
        ("sleep 1 ms/sample + consumer 8 ms/batch", SleepDataset(256, 0.001), 8, 0.008),
        ("TensorDataset 20000x64, batch 64 (fancy index)", TensorDataset(x, y), 64, 0.0),
        ("TensorDataset 20000x64, batch 64 (per sample)", PerSample(x, y), 64, 0.0),
    ]
    workers = [int(w) for w in sys.argv[1:]] or [0, 2, 4]
    print(f"{'case':50s} {'workers':>7s} {'epoch s':>9s} {'speedup':>8s}")
    for name, dataset, batch_size, consumer in cases:
        base = None
        for n in workers:
            loader = DataLoader(dataset, batch_size=batch_size, num_workers=n,
                                persistent_workers=n > 0)
            seconds = best(loader, consumer)
            base = base or seconds
            print(f"{name:50s} {n:7d} {seconds:9.4f} {base / seconds:7.2f}x")


if __name__ == "__main__":
    main()
