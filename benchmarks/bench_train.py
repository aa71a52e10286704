"""End-to-end training: convgrad vs PyTorch on the training anchor of shared/bench/ANCHORS.md.

    python benchmarks/bench_train.py [--epochs 10] [--seeds 0 1 2] [--json FILE]

Architecture conv(1→8, 3, pad 1)–ReLU–maxpool 2–conv(8→16, 3, pad 1)–ReLU–maxpool 2–flatten–
linear(64→10) (``convgrad.train.build_model``), Adam lr 1e-2, batch 64, scikit-learn digits
with the 80/20 split of ``convgrad train``. Both frameworks start from the *same* initial
weights and see the *same* batches; their epochs alternate, so machine noise hits both alike.
Reported: seconds per training epoch (median; evaluation excluded), the ratio convgrad/torch,
and final test accuracy of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import convgrad as cg
import convgrad.functional as F
from convgrad.data import load_digits
from convgrad.ops import warmup
from convgrad.train import build_model, evaluate


def torch_twin(state):
    import torch

    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 10))
    model.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return model


def run(seed: int, epochs: int, batch_size: int = 64, lr: float = 1e-2) -> dict:
    import torch

    data = load_digits(seed=seed)
    cg.manual_seed(seed)
    rng = cg.random.generator()
    model = build_model(data.image_shape, data.classes)
    twin = torch_twin(model.state_dict())
    opt = cg.optim.Adam(model.parameters(), lr=lr)
    topt = torch.optim.Adam(twin.parameters(), lr=lr)
    x, y = data.x_train, data.y_train
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    times = {"convgrad": [], "torch": []}
    for _ in range(epochs):
        order = rng.permutation(len(x))
        batches = [order[i:i + batch_size] for i in range(0, len(x), batch_size)]
        start = time.perf_counter()
        model.train()
        for idx in batches:
            loss = F.cross_entropy(model(cg.Tensor(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times["convgrad"].append(time.perf_counter() - start)
        start = time.perf_counter()
        twin.train()
        for idx in batches:
            tidx = torch.from_numpy(idx)
            loss = torch.nn.functional.cross_entropy(twin(tx[tidx]), ty[tidx])
            topt.zero_grad()
            loss.backward()
            topt.step()
        times["torch"].append(time.perf_counter() - start)
    twin.eval()
    with torch.no_grad():
        t_acc = (twin(torch.from_numpy(data.x_test)).argmax(1).numpy() == data.y_test).mean()
    cg_time, t_time = (statistics.median(times[k]) for k in ("convgrad", "torch"))
    return {"seed": seed, "epochs": epochs, "convgrad_s_per_epoch": cg_time,
            "torch_s_per_epoch": t_time, "ratio": cg_time / t_time,
            "convgrad_test_accuracy": evaluate(model, data.x_test, data.y_test)[1],
            "torch_test_accuracy": float(t_acc)}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    warmup.prepare()         # time the steady state, not the compiler (ops/warmup.py)
    import torch

    rows = [run(seed, args.epochs) for seed in args.seeds]
    print(f"training anchor, {args.epochs} epochs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}\n")
    print("| seed | convgrad s/epoch | torch s/epoch | ratio cg/torch | convgrad test acc | "
          "torch test acc |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['convgrad_s_per_epoch']:.4f} | {r['torch_s_per_epoch']:.4f} | "
              f"{r['ratio']:.2f} | {r['convgrad_test_accuracy']:.3f} | "
              f"{r['torch_test_accuracy']:.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
