"""The ``convgrad`` argument parser: the tree of subcommands, one function per command,
and the value checks its options use (argparse errors become one-line ``UsageError``s)."""

from __future__ import annotations

import argparse
import math

from .. import __version__
from .usage import UsageError

COMMANDS = ("train", "explain", "bench", "check", "gradcheck")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):                 # one line instead of usage + message
        command = self.prog.split()[-1] if " " in self.prog else None
        raise UsageError(message, command)


def _integer(minimum: int, meaning: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {meaning} integer, got {text!r}")
        return value
    return parse


_positive_int, _seed = _integer(1, "positive"), _integer(0, "non-negative")


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="convgrad", description="Convolution forward and backward, as "
                     "convolutions: train a CNN, and more.")
    parser.add_argument("--version", action="version", version=f"convgrad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (_train, _explain, _bench, _check, _gradcheck):
        add(commands)
    return parser


def _train(commands) -> None:
    train = commands.add_parser(
        "train", help="train a small CNN on bundled digits, a .npz file or MNIST IDX files",
        description="Train conv(3×3)–ReLU–maxpool–conv(3×3)–ReLU–maxpool–linear with Adam. "
                    "Default data: scikit-learn's 8×8 digits (80/20 split by --seed).")
    train.add_argument("--data", default="digits", metavar="digits|FILE.npz|IDX-DIR",
                       help="'digits' (default); a .npz with x (N,H,W)/(N,C,H,W), integer y and "
                            "optional x_test, y_test; or a folder of MNIST IDX files")
    train.add_argument("--epochs", type=_positive_int, default=30)
    train.add_argument("--batch-size", type=_positive_int, default=64)
    train.add_argument("--lr", type=_learning_rate, default=1e-2, help="Adam learning rate")
    train.add_argument("--seed", type=_seed, default=0, help="governs init, split and order")
    train.add_argument("--augment", choices=("auto", "shift", "none"), default="auto",
                       help="random shifts of up to ±2 pixels per image and batch; auto: for "
                            "images of at least 16×16")
    train.add_argument("--schedule", choices=("auto", "cosine", "constant"), default="auto",
                       help="learning rate per epoch; auto: cosine decay when augmenting")
    train.add_argument("--out", metavar="DIR",
                       help="write model.npz, metrics.json and curves.png here")
    train.add_argument("--onnx", metavar="FILE.onnx",
                       help="export the trained net to ONNX (images → logits, any batch size)")


def _explain(commands) -> None:
    ex = commands.add_parser(
        "explain", help="derive conv backprop for a configuration (symbolic, verified, drawn)",
        description="Build O = X ⋆ F from the definition with SymPy, differentiate it, show "
                    "∂L/∂F and ∂L/∂X for every element, recognise the two convolution patterns "
                    "and verify them symbolically and against convgrad's engine. Defaults: the "
                    "textbook X 3×3, F 2×2.")
    ex.add_argument("--input", default="3x3", help="input size: 5 (1-d) or 3x3 (2-d)")
    ex.add_argument("--kernel", default=None, help="kernel size, e.g. 2x2 (default 2 per dim)")
    ex.add_argument("--stride", default="1", help="S or SxS")
    ex.add_argument("--padding", default="0",
                    help="P, PxP, LO:HI per dim (e.g. 1:0x0:1), same, valid or full")
    ex.add_argument("--dilation", default="1", help="D or DxD (1 = none)")
    ex.add_argument("--in-channels", type=_positive_int, default=1)
    ex.add_argument("--out-channels", type=_positive_int, default=1)
    ex.add_argument("--groups", type=_positive_int, default=1)
    ex.add_argument("--values", default="-2,5,-4", metavar="X,Y,Z",
                    help="x, y, z of the chain-rule prelude f = (x + y)·z")
    ex.add_argument("--format", choices=("text", "markdown", "html", "json"), default="text")
    ex.add_argument("--out", metavar="DIR", help="write the report and its figures here")
    ex.add_argument("--max-equations", type=_positive_int, default=300,
                    help="refuse configurations with more equations than this (default 300)")
    ex.add_argument("--seed", type=_seed, default=0, help="random numbers of the numeric check")


def _bench(commands) -> None:
    bench = commands.add_parser(
        "bench", help="time convolutions (forward, forward+backward) against the GEMM peak "
                      "and, optionally, PyTorch",
        description="Time the benchmark configurations through the autograd path: ms, GFLOP/s, "
                    "%% of the NumPy GEMM peak measured in the same run, peak extra memory, and "
                    "with --compare torch the time ratio to PyTorch (CPU).")
    bench.add_argument("--configs", nargs="+", metavar="NAME", help="a subset (default: all)")
    bench.add_argument("--dtype", nargs="+", choices=("float32", "float64"),
                       help="default: both; float32 with --networks")
    bench.add_argument("--networks", nargs="*", metavar="NAME",
                       help="time whole training steps of these networks instead (mnist, "
                            "resnet8, dcgan, lenet5, mobilenet; none named: all) — "
                            "benchmarks/bench_networks.py of a source checkout")
    bench.add_argument("--steps", type=_positive_int, default=10,
                       help="with --networks: timed training steps per network (median)")
    bench.add_argument("--compare", choices=("torch",), help="also time PyTorch, interleaved")
    bench.add_argument("--repeat", type=_positive_int, default=5,
                       help="interleaved rounds (each case runs back to back for 0.2 s per round)")
    bench.add_argument("--json", metavar="FILE", help="write the rows and machine facts")
    bench.add_argument("--plot", metavar="FILE.png", help="bar chart of the ratios (or GFLOP/s)")
    bench.add_argument("--markdown", metavar="FILE", help="a results page (benchmarks/RESULTS.md)")
    bench.add_argument("--explain", action="store_true",
                       help="print each configuration's plans (the algorithm of the forward, "
                            "input and weight gradient, and why the others were not taken) "
                            "instead of timing")


def _check(commands) -> None:
    chk = commands.add_parser(
        "check", help="verify your own conv forward/backward; find the smallest failing case",
        description="Search the configurations your function claims (hypothesis, shrinking) for "
                    "the smallest one where it disagrees with convgrad; report the first wrong "
                    "element, its expected equation and a diagnosis. Exit 0 pass, 1 a checked "
                    "function is wrong, 2 a usage error (a wrong calling convention included).")
    chk.add_argument("target", help="FILE.py:FUNCTION or package.module:FUNCTION")
    chk.add_argument("--kind", choices=("forward", "backward", "both"), default=None,
                     help="default: both when the module also has the other function of the "
                          "pair (conv_forward_naive / conv_backward_naive, f / f_backward), "
                          "else read from the name and the signature")
    chk.add_argument("--style", choices=("torch", "course"), default=None,
                     help="torch: f(x, w, b, stride, padding); course: conv_forward(x, w, b, "
                          "conv_param) -> (out, cache), conv_backward(dout, cache); default: "
                          "read from the signature")
    chk.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw",
                     help="nhwc takes weights as (KH, KW, C_in, C_out)")
    chk.add_argument("--forward", metavar="NAME",
                     help="course style backward: the forward that makes the cache (default: "
                          "the backward's name with forward for backward, else conv_forward)")
    chk.add_argument("--dims", type=int, choices=(1, 2, 3), default=2)
    chk.add_argument("--features", default="stride,padding,nonsquare",
                     help="what the function supports, comma-separated from stride, padding, "
                          "dilation, groups, nonsquare, tiled (or 'none')")
    chk.add_argument("--assume-tiling", action="store_true",
                     help="the code assumes (n + 2p - k) %% stride == 0, as the course "
                          "assignment states: keep strides, draw only sizes that tile exactly "
                          "(the feature 'tiled')")
    chk.add_argument("--show-output", action="store_true",
                     help="print (the first 40 lines of) what your functions printed")
    chk.add_argument("--max-examples", type=_positive_int, default=200)
    chk.add_argument("--timeout", type=_learning_rate, default=10.0,
                     help="seconds the import of the target and each call may take before "
                          "they count as a hang")
    chk.add_argument("--rtol", type=_learning_rate, default=1e-6)
    chk.add_argument("--seed", type=_seed, default=0)
    chk.add_argument("--out", metavar="DIR", help="write check_failure.png (expected/got/diff)")


def _gradcheck(commands) -> None:
    check = commands.add_parser(
        "gradcheck", help="check every differentiable op against finite differences",
        description="Compare the analytic first and second derivatives of every differentiable "
                    "op with float64 central differences along random directions.")
    check.add_argument("--order", type=int, choices=(1, 2), nargs="+", default=[1, 2])
    check.add_argument("--ops", nargs="+", metavar="NAME",
                       help="only these ops: op names (conv2d, relu, …) or rows of the table")
    check.add_argument("--seed", type=_seed, default=0)
