"""Optimizer steps and cross entropy: convgrad vs PyTorch, milliseconds per call.

    python benchmarks/bench_optim.py [--part optim|loss|step|all] [--repeat 7] [--json FILE]

Optimizers: one ``step()`` (gradients fixed, state warm) over two parameter lists, float32:

- ``mnist``: the classic PyTorch MNIST example's net — conv 1→32 3×3, conv 32→64 3×3,
  linear 9216→128, linear 128→10, with biases (8 tensors, 1.2 M parameters);
- ``resnet8``: a CIFAR ResNet-8's shapes (9 convs, 9 batch norms, a linear; 29 tensors,
  78 k parameters) — many small tensors, where the per-tensor overhead shows.

torch runs with ``foreach=False`` (its CPU default) and ``foreach=True``; the ratio is
convgrad / the faster of the two. Cross entropy: forward + backward of ``F.cross_entropy``
(class-index targets, mean) on logits of the listed shapes, float32; and the same for
``nll_loss(log_softmax(x, 1))`` as users write it (with ``activations.log_softmax``, and with
the fused node of ``losses_fused`` it may adopt).
``--part step``: training steps of the MNIST example itself (its net with dropout, batch 64
of 28×28, ``nll_loss(log_softmax(·))``, Adadelta lr 1): forward + backward and the
``opt.step()`` that follows it, each the best of the steps timed.
Best of ``--repeat`` interleaved rounds; the machine is shared, so compare ratios.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import convgrad as cg
import convgrad.functional as F

try:                                       # the fused node activations.log_softmax may adopt
    from convgrad.functional.losses_fused import log_softmax as fused_log_softmax
except ImportError:                        # (a checkout from before it)
    fused_log_softmax = None

MNIST = [(32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (128, 9216), (128,), (10, 128), (10,)]


def _resnet8() -> list[tuple[int, ...]]:
    shapes = [(16, 3, 3, 3), (16,), (16,)]
    for cin, cout in ((16, 16), (16, 32), (32, 64)):
        shapes += [(cout, cin, 3, 3), (cout,), (cout,), (cout, cout, 3, 3), (cout,), (cout,)]
        if cin != cout:
            shapes += [(cout, cin, 1, 1), (cout,), (cout,)]
    return shapes + [(10, 64), (10,)]


PARAMS = {"mnist": MNIST, "resnet8": _resnet8()}

OPTIMIZERS = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adam", dict(lr=1e-3)),
    ("Adam", dict(lr=1e-3, amsgrad=True, weight_decay=1e-4)),
    ("AdamW", dict(lr=1e-3)),
    ("Adamax", dict(lr=1e-3)),
    ("NAdam", dict(lr=1e-3)),
    ("RAdam", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=1e-2)),
    ("Adadelta", dict(lr=1.0)),
]

LOSS_SHAPES = [(64, 10), (128, 10), (256, 1000), (32, 21, 64, 64)]


def _best(fn, repeat: int, number: int) -> float:
    """Best mean time of ``number`` calls over ``repeat`` rounds, in ms."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e3


def _interleaved(fns: dict, repeat: int, number: int) -> dict:
    """Each function's best time, rounds interleaved so machine noise hits all alike."""
    for fn in fns.values():          # warm: state created, kernels compiled
        for _ in range(3):
            fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            best[k] = min(best[k], _best(fn, 1, number))
    return best


def optimizer_row(name: str, kwargs: dict, params: str, repeat: int) -> dict:
    import torch

    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) for s in PARAMS[params]]
    grads = [rng.standard_normal(s).astype(np.float32) for s in PARAMS[params]]

    def ours():
        ps = [cg.tensor(v.copy(), requires_grad=True) for v in values]
        for p, g in zip(ps, grads):
            p.grad = cg.tensor(g.copy())
        return getattr(cg.optim, name)(ps, **kwargs).step

    def theirs(foreach: bool):
        ps = [torch.tensor(v.copy(), requires_grad=True) for v in values]
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g.copy())
        return getattr(torch.optim, name)(ps, foreach=foreach, **kwargs).step

    number = 20 if params == "mnist" else 100
    t = _interleaved({"convgrad": ours(), "torch": theirs(False), "torch_foreach": theirs(True)},
                     repeat, number)
    label = name + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "lr") + ")"
    return {"case": label, "params": params, **t,
            "ratio": t["convgrad"] / min(t["torch"], t["torch_foreach"])}


def loss_row(shape: tuple[int, ...], repeat: int) -> dict:
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    t = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    tx, tt = torch.tensor(x, requires_grad=True), torch.from_numpy(t)
    cx = cg.tensor(x, requires_grad=True)

    def ours():
        cx.grad = None
        F.cross_entropy(cx, t).backward()

    def ours_composed():
        cx.grad = None
        F.nll_loss(F.log_softmax(cx, 1), t).backward()

    def ours_fused_log_softmax():
        cx.grad = None
        F.nll_loss(fused_log_softmax(cx, 1), t).backward()

    def theirs():
        tx.grad = None
        torch.nn.functional.cross_entropy(tx, tt).backward()

    number = max(1, int(2e6 // x.size))
    fns = {"convgrad": ours, "convgrad_nll_log_softmax": ours_composed, "torch": theirs}
    if fused_log_softmax is not None:
        fns["convgrad_nll_fused_log_softmax"] = ours_fused_log_softmax
    times = _interleaved(fns, repeat, number)
    return {"case": "cross_entropy " + "×".join(map(str, shape)), **times,
            "ratio": times["convgrad"] / times["torch"],
            "ratio_nll": times["convgrad_nll_log_softmax"] / times["torch"]}


def _mnist_net(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):                 # pytorch/examples mnist/main.py
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
            self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
            x = F.relu(self.fc1(lib.flatten(self.dropout1(x), 1)))
            return F.log_softmax(self.fc2(self.dropout2(x)), dim=1)
    return Net()


def step_row(repeat: int) -> dict:
    """Seconds of forward + backward and of ``opt.step()`` within each training step (the
    step right after backward's BLAS calls, as in training), best of ``5·repeat`` steps."""
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    row = {"case": "MNIST example step (Adadelta)"}
    for lib, name in ((cg, "convgrad"), (torch, "torch")):
        net = _mnist_net(lib)
        opt = lib.optim.Adadelta(net.parameters(), lr=1.0)
        data, target = lib.tensor(x), lib.tensor(y)
        best = {"fwd_bwd": float("inf"), "opt": float("inf")}
        for _ in range(3 + 5 * repeat):
            start = time.perf_counter()
            opt.zero_grad()
            lib.nn.functional.nll_loss(net(data), target).backward()
            middle = time.perf_counter()
            opt.step()
            end = time.perf_counter()
            best["fwd_bwd"] = min(best["fwd_bwd"], (middle - start) * 1e3)
            best["opt"] = min(best["opt"], (end - middle) * 1e3)
        row.update({f"{name}_{k}": v for k, v in best.items()})
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("optim", "loss", "step", "all"), default="all")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--params", nargs="+", default=list(PARAMS), choices=list(PARAMS))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    import torch

    from convgrad.ops import jit

    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy "
          f"{np.__version__}, compiled kernels: {'yes' if jit.available() else 'no'}\n")
    rows: list[dict] = []
    if args.part in ("optim", "all"):
        print("| optimizer | params | convgrad ms | torch ms | torch foreach ms | ratio |")
        print("|---|---|---|---|---|---|")
        for params in args.params:
            for name, kwargs in OPTIMIZERS:
                r = optimizer_row(name, kwargs, params, args.repeat)
                rows.append(r)
                print(f"| {r['case']} | {params} | {r['convgrad']:.3f} | {r['torch']:.3f} | "
                      f"{r['torch_foreach']:.3f} | {r['ratio']:.2f} |", flush=True)
        print()
    if args.part in ("loss", "all"):
        print("| loss fwd+bwd (float32) | convgrad ms | nll(log_softmax) ms | nll(fused "
              "log_softmax) ms | torch ms | ratio | ratio nll |")
        print("|---|---|---|---|---|---|---|")
        for shape in LOSS_SHAPES:
            r = loss_row(shape, args.repeat)
            rows.append(r)
            fused = r.get("convgrad_nll_fused_log_softmax")
            print(f"| {r['case']} | {r['convgrad']:.3f} | {r['convgrad_nll_log_softmax']:.3f} | "
                  f"{'—' if fused is None else f'{fused:.3f}'} | {r['torch']:.3f} | "
                  f"{r['ratio']:.2f} | {r['ratio_nll']:.2f} |", flush=True)
    if args.part in ("step", "all"):
        r = step_row(args.repeat)
        rows.append(r)
        print("\n| MNIST example, batch 64, float32 | convgrad ms | torch ms | ratio |")
        print("|---|---|---|---|")
        for part, label in (("fwd_bwd", "forward + backward"), ("opt", "Adadelta step")):
            print(f"| {label} | {r['convgrad_' + part]:.2f} | {r['torch_' + part]:.2f} | "
                  f"{r['convgrad_' + part] / r['torch_' + part]:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
