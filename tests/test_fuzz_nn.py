"""Fuzz targets for the nn layers (all but Conv/ConvTranspose, fuzzed with ops):

- constructor arguments drawn from their rules build a layer that matches torch.nn's (same
  state dict → same outputs in float64); each argument broken by one rule is refused naming the
  layer;
- calls with the wrong rank, shape or dtype are refused naming the layer or its functional op;
- state_dict → load_state_dict round trips; a dict with a key dropped or added, a shape
  changed or a value that is not an array is refused and changes nothing.
"""

import math

import numpy as np
from fuzzing import (
    Array,
    Bool,
    Choice,
    Int,
    Ints,
    Real,
    assert_same,
    bounded,
    breaking,
    fuzz,
    refused,
    valid,
)
from helpers import import_torch
from hypothesis import assume, given
from hypothesis import strategies as st

import convgrad as cg
import convgrad.functional as F
from convgrad import nn

torch = import_torch()

ANY = tuple(range(7))
BN = {"eps": Real(0.0), "momentum": Real(0.0, 1.0), "affine": Bool(),
      "track_running_stats": Bool()}
RED = {"reduction": Choice(("mean", "sum", "none"))}
ELEMENTWISE = (0, 1, 2, 3)
# layer: (rules of the positional arguments, of the keyword arguments, ranks of valid inputs,
#         whether any input rank is valid); no ranks: a layer of several inputs (its calls are
#         fuzzed by the functional suite)
LAYERS = {
    "Linear": ([Int(0), Int(0)], {"bias": Bool()}, (1, 2, 3), False),
    "Bilinear": ([Int(0), Int(0), Int(0)], {"bias": Bool()}, (), False),
    "Identity": ([], {}, ELEMENTWISE, True),
    "Flatten": ([], {"start_dim": Int(), "end_dim": Int()}, (2, 3, 4), True),
    "Unflatten": ([Int(), Ints(2, -1, scalar=False)], {}, (2, 3), True),
    "Unfold": ([Ints(2, 1)], {"dilation": Ints(2, 1), "padding": Ints(2, 0),
                              "stride": Ints(2, 1)}, (3, 4), False),
    "Fold": ([Ints(2, 1), Ints(2, 1)], {"dilation": Ints(2, 1), "padding": Ints(2, 0),
                                        "stride": Ints(2, 1)}, (2, 3), False),
    "PairwiseDistance": ([], {"p": Real(finite=False), "eps": Real(), "keepdim": Bool()}, (),
                         False),
    "CosineSimilarity": ([], {"dim": Int(), "eps": Real(0.0)}, (), False),
    # activations
    "ReLU": ([], {}, ELEMENTWISE, True), "Sigmoid": ([], {}, ELEMENTWISE, True),
    "Tanh": ([], {}, ELEMENTWISE, True), "SiLU": ([], {}, ELEMENTWISE, True),
    "LeakyReLU": ([], {"negative_slope": Real()}, ELEMENTWISE, True),
    "ELU": ([], {"alpha": Real()}, ELEMENTWISE, True),
    "CELU": ([], {"alpha": Real()}, ELEMENTWISE, True),
    "Softplus": ([], {"beta": Real(), "threshold": Real()}, ELEMENTWISE, True),
    "Hardtanh": ([], {"min_val": Real(), "max_val": Real()}, ELEMENTWISE, True),
    "Threshold": ([Real(), Real(finite=False)], {}, ELEMENTWISE, True),
    "PReLU": ([], {"num_parameters": Int(0), "init": Real()}, (2, 3), False),
    "RReLU": ([], {"lower": Real(), "upper": Real()}, ELEMENTWISE, True),
    "Hardshrink": ([], {"lambd": Real()}, ELEMENTWISE, True),
    "Softshrink": ([], {"lambd": Real(0.0)}, ELEMENTWISE, True),
    "GELU": ([], {"approximate": Choice(("none", "tanh"))}, ELEMENTWISE, True),
    "GLU": ([], {"dim": Int()}, (1, 2, 3), False),
    "Softmax": ([], {"dim": Int()}, (2, 3), True),
    "LogSoftmax": ([], {"dim": Int()}, (2, 3), True),
    "Softmin": ([], {"dim": Int()}, (2, 3), True),
    "Softmax2d": ([], {}, (3, 4), False),
    **{n: ([], {}, ELEMENTWISE, True) for n in ("ReLU6", "Hardswish", "Hardsigmoid", "SELU",
                                                "Mish", "Softsign", "LogSigmoid",
                                                "Tanhshrink")},
    # dropout
    "Dropout": ([], {"p": Real(0.0, 1.0)}, (1, 2, 3), True),
    "Dropout1d": ([], {"p": Real(0.0, 1.0)}, (2, 3), False),
    "Dropout2d": ([], {"p": Real(0.0, 1.0)}, (3, 4), True),
    "Dropout3d": ([], {"p": Real(0.0, 1.0)}, (4, 5), True),
    "AlphaDropout": ([], {"p": Real(0.0, 1.0)}, (1, 2, 3), True),
    "FeatureAlphaDropout": ([], {"p": Real(0.0, 1.0)}, (2, 3, 4), True),
    # normalisation
    "BatchNorm1d": ([Int(0)], BN, (2, 3), False),
    "BatchNorm2d": ([Int(0)], BN, (4,), False),
    "BatchNorm3d": ([Int(0)], BN, (5,), False),
    "SyncBatchNorm": ([Int(0)], BN, (2, 3, 4), False),
    "LayerNorm": ([Int(0)], {"eps": Real(0.0), "elementwise_affine": Bool(), "bias": Bool()},
                  (1, 2, 3), False),
    "RMSNorm": ([Int(0)], {"eps": Real(0.0), "elementwise_affine": Bool()}, (1, 2, 3), False),
    "GroupNorm": ([Int(1), Int(0)], {"eps": Real(0.0), "affine": Bool()}, (3, 4), False),
    "LocalResponseNorm": ([Int(1)], {"alpha": Real(), "beta": Real(), "k": Real()}, (3, 4),
                          False),
    "PixelShuffle": ([Int(1)], {}, (3, 4), False),
    "PixelUnshuffle": ([Int(1)], {}, (3, 4), False),
    "Embedding": ([Int(0), Int(0)], {"padding_idx": Int(), "max_norm": Real(),
                                     "norm_type": Real(), "scale_grad_by_freq": Bool(),
                                     "sparse": Bool()}, (1, 2), True),
    "Upsample": ([], {"scale_factor": Real(0.0), "mode": Choice(
        ("nearest", "linear", "bilinear", "bicubic", "trilinear")), "align_corners": Bool()},
        (3, 4, 5), False),
    "UpsamplingNearest2d": ([], {"size": Ints(2, 1), "scale_factor": Real(0.0)}, (4,), False),
    "UpsamplingBilinear2d": ([], {"size": Ints(2, 1), "scale_factor": Real(0.0)}, (4,), False),
    # losses (their calls: the functional suite)
    "CrossEntropyLoss": ([], {"ignore_index": Int(), "label_smoothing": Real(0.0, 1.0), **RED},
                         (), False),
    "NLLLoss": ([], {"ignore_index": Int(), **RED}, (), False),
    "SmoothL1Loss": ([], {"beta": Real(0.0), **RED}, (), False),
    "HuberLoss": ([], {"delta": Real(0.0), **RED}, (), False),
    "KLDivLoss": ([], {"reduction": Choice(("mean", "sum", "none", "batchmean")),
                       "log_target": Bool()}, (), False),
    "MarginRankingLoss": ([], {"margin": Real(), **RED}, (), False),
    "HingeEmbeddingLoss": ([], {"margin": Real(), **RED}, (), False),
    "CosineEmbeddingLoss": ([], {"margin": Real(), **RED}, (), False),
    "MultiMarginLoss": ([], {"p": Int(1, 2), "margin": Real(), **RED}, (), False),
    "TripletMarginLoss": ([], {"margin": Real(0.0), "p": Real(finite=False), "eps": Real(),
                               "swap": Bool(), **RED}, (), False),
    "PoissonNLLLoss": ([], {"log_input": Bool(), "full": Bool(), "eps": Real(), **RED}, (),
                       False),
    "GaussianNLLLoss": ([], {"full": Bool(), "eps": Real(), **RED}, (), False),
    **{n: ([], dict(RED), (), False) for n in ("MSELoss", "L1Loss", "BCELoss",
                                                "BCEWithLogitsLoss", "SoftMarginLoss",
                                                "MultiLabelSoftMarginLoss")},
}
for _n in (1, 2, 3):
    _pool = {"padding": Ints(_n, 0), "ceil_mode": Bool()}
    LAYERS[f"MaxPool{_n}d"] = ([Ints(_n, 1), Ints(_n, 1)], {**_pool, "dilation": Ints(_n, 1)},
                               (_n + 2,), False)
    LAYERS[f"AvgPool{_n}d"] = ([Ints(_n, 1), Ints(_n, 1)],
                               {**_pool, "count_include_pad": Bool(),   # (1d: none, as torch)
                                **({"divisor_override": Int(1)} if _n > 1 else {})},
                               (_n + 2,), False)
    LAYERS[f"LPPool{_n}d"] = ([Real(finite=False), Ints(_n, 1)],
                              {"stride": Ints(_n, 1), "ceil_mode": Bool()}, (_n + 2,),
                              False)   # bug: unbatched (C, *) input refused (torch takes it)
    LAYERS[f"MaxUnpool{_n}d"] = ([Ints(_n, 1)], {"stride": Ints(_n, 1), "padding": Ints(_n, 0)},
                                 (), False)
    for _kind in ("Avg", "Max"):
        LAYERS[f"Adaptive{_kind}Pool{_n}d"] = ([Ints(_n, 0)], {}, (_n + 1, _n + 2), False)
    LAYERS[f"InstanceNorm{_n}d"] = ([Int(0)], BN, (_n + 1, _n + 2), False)
    for _kind in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
        LAYERS[f"{_kind}Pad{_n}d"] = ([Ints(2 * _n)] + ([Real(finite=False)]
                                                        if _kind == "Constant" else []),
                                      {}, (_n + 1, _n + 2), False)
# the narrower ranges valid layers are drawn from (small sizes, parameters torch also takes):
# by (layer, argument), by argument, by layer or by layer family
NARROW = {"Linear": Int(0, 4), "Bilinear": Int(1, 3), "BatchNorm": Int(1, 3),
          "SyncBatchNorm": Int(1, 3), "InstanceNorm": Int(1, 3), "LayerNorm": Int(1, 3),
          "RMSNorm": Int(1, 3), "GroupNorm": Int(1, 2), "LocalResponseNorm": Int(1, 3),
          "PixelShuffle": Int(1, 2), "PixelUnshuffle": Int(1, 2), "Embedding": Int(1, 4),
          "beta": Real(0.5, 2.0), "threshold": Real(1.0, 20.0), "eps": Real(1e-5, 1e-1),
          "dim": Int(-2, 1), "start_dim": Int(0, 1), "end_dim": Int(-1, -1),
          "ignore_index": Int(-100, -100), "divisor_override": Int(1, 3),
          "num_parameters": Int(1, 3), "lower": Real(0.0, 0.3), "upper": Real(0.3, 0.6),
          "lambd": Real(0.0, 1.0), "alpha": Real(0.5, 2.0), "min_val": Real(-3.0, -1.0),
          "max_val": Real(0.0, 3.0), "padding_idx": Int(-1, 0), "max_norm": Real(0.5, 2.0),
          "norm_type": Real(1.0, 3.0), "scale_factor": Real(1.0, 3.0), "size": Ints(2, 1, 5),
          "delta": Real(0.5, 2.0), "margin": Real(0.0, 2.0),
          ("GLU", "dim"): Int(-1, 0), ("Fold", 0): Ints(2, 3, 4),
          ("TripletMarginLoss", "margin"): Real(0.5, 2.0), ("Fold", 1): Ints(2, 1, 2),
          ("Unfold", 0): Ints(2, 1, 2), ("PairwiseDistance", "p"): Real(1.0, 3.0),
          ("CosineSimilarity", "eps"): Real(1e-8, 1e-6), ("Unflatten", 0): Int(0, 1),
          ("Unflatten", 1): Ints(2, 1, 2), ("LocalResponseNorm", "alpha"): Real(0.0, 1.0),
          ("LocalResponseNorm", "beta"): Real(0.5, 1.0), ("LocalResponseNorm", "k"):
          Real(1.0, 2.0), ("GroupNorm", 1): Int(1, 2),
          **{(f"LPPool{n}d", 0): Real(1.0, 3.0) for n in (1, 2, 3)},
          # torch's LPPool1d multiplies by its kernel_size: an int only, not (k,)
          ("LPPool1d", 1): Int(1, 2), ("LPPool1d", "stride"): Int(1, 2),
          **{(f"{k}Pad{n}d", 0): Ints(2 * n, 0, 1) for n in (1, 2, 3)
             for k in ("Zero", "Constant", "Reflection", "Replication", "Circular")},
          **{(f"MaxUnpool{n}d", a): Ints(n, lo, 2 if a != "padding" else 0)
             for n in (1, 2, 3) for a, lo in ((0, 1), ("stride", 1), ("padding", 0))},
          **{(f"Adaptive{k}Pool{n}d", 0): Ints(n, 1, 3) for n in (1, 2, 3)
             for k in ("Avg", "Max")}}
# arguments that are also valid as None
NONE_OK = {("Softmax", "dim"), ("LogSoftmax", "dim"), ("Softmin", "dim"),
           *((n, "momentum") for n in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
                                       "SyncBatchNorm")),
           *((f"{k}Pool{n}d", 1) for k in ("Max", "Avg") for n in (1, 2, 3)),
           *((f"{k}Pool{n}d", "stride") for k in ("LP", "MaxUnpool") for n in (1, 2, 3)),
           *((f"MaxUnpool{n}d", "stride") for n in (1, 2, 3)),
           *((f"AvgPool{n}d", "divisor_override") for n in (1, 2, 3)),
           *((f"InstanceNorm{n}d", "momentum") for n in (1, 2, 3)),
           ("Embedding", "padding_idx"), ("Embedding", "max_norm"), ("RMSNorm", "eps"),
           ("Upsample", "scale_factor"), ("Upsample", "align_corners"),
           *((f"Upsampling{k}2d", a) for k in ("Nearest", "Bilinear")
             for a in ("size", "scale_factor"))}
# (layer, argument): why its rule is not fuzzed — "message:" where the library refuses with
# torch's words, which name no layer or op
EXCLUDED = {
    ("Embedding", "norm_type"): "not a finding: torch reads norm_type only with a max_norm",
    ("MultiMarginLoss", "p"): "message: torch's 'only p == 1 and p == 2 supported'",
    ("Unflatten", 1): "message: torch's 'unflattened_size must be a tuple of ints, …'",
    ("Upsample", "mode"): "message: torch's NotImplementedError 'Input Error: Only 3D…'",
    **{(n, "scale_factor"): "message: torch's float() TypeError for scale_factor=[1]"
       for n in ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d")},
}
# layers that, as torch's, check their arguments on the first call, not in the constructor:
# a broken argument is refused there, naming the layer or these functional ops
LAZY = {"Fold": ("fold",), "Unfold": ("unfold",), "PixelShuffle": ("pixel_shuffle",),
        "PixelUnshuffle": ("pixel_unshuffle",), "Unflatten": ("unflatten",),
        "Upsample": ("interpolate", "upsample"),
        "UpsamplingNearest2d": ("interpolate", "upsample"),
        "UpsamplingBilinear2d": ("interpolate", "upsample"), "HuberLoss": ("huber_loss",),
        "SmoothL1Loss": ("smooth_l1_loss",), "LocalResponseNorm": ("local_response_norm",),
        **{f"{k}Pad{n}d": ("pad",) for k in ("Zero", "Constant", "Reflection", "Replication",
                                             "Circular") for n in (1, 2, 3)}}
RANDOM = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
          "FeatureAlphaDropout", "RReLU"}


def _narrow(name, arg, rule):
    family = name.rstrip("123d")
    keys = ((name, arg), arg) if isinstance(arg, str) else ((name, arg), name, family)
    for key in keys:
        if key in NARROW and not isinstance(NARROW[key], int):
            return NARROW[key]
    if isinstance(rule, Ints):
        return Ints(rule.length, rule.low, 0 if arg == "padding" else 2)
    return rule


def _also_valid(name, slot, bad):
    """Broken values that torch's layer takes after all (a list for a shape, None for a
    default, a longer unflattened size)."""
    if bad is None and (name, slot) in NONE_OK:
        return True
    if name in ("LayerNorm", "RMSNorm") and slot == 0 and isinstance(bad, (list, bytes)):
        return True                       # a sequence normalized_shape (b"2": (50,), as torch)
    if name == "Unflatten" and slot == 1 and isinstance(bad, (tuple, list)) and bad and all(
            type(v) is int and v >= -1 for v in bad):
        return True                       # any number of sizes
    if name.startswith("Adaptive") and (bad is None or isinstance(bad, tuple) and None in bad):
        return True                       # None: keep that side
    return False


def test_every_layer_but_the_convolutions_is_fuzzed():
    layers = {n for n in nn.__all__ if n[0].isupper() and not n.startswith("Conv")}
    containers = {"Module", "Sequential", "Parameter", "ModuleList", "ModuleDict",
                  "ParameterList", "ParameterDict",     # they hold modules: no numeric options
                  "DataParallel"}                       # (it wraps one: devices, no numbers)
    assert layers - containers == set(LAYERS)


@st.composite
def layer_args(draw, name):
    positional, keywords, _, _ = LAYERS[name]
    args = [draw(valid(_narrow(name, i, r))) for i, r in enumerate(positional)]
    kwargs = {k: draw(valid(_narrow(name, k, r))) for k, r in keywords.items()
              if draw(st.booleans())}
    if name == "GroupNorm":                      # channels: a multiple of the groups
        args[1] *= args[0]
    if name == "Hardtanh":                       # torch asserts max_val > min_val
        kwargs.setdefault("min_val", -1.0), kwargs.setdefault("max_val", 1.0)
    if name.startswith("Upsampling"):            # exactly one of size and scale_factor
        kwargs.pop(draw(st.sampled_from(["size", "scale_factor"])), None)
        assume(kwargs)
    if name == "Upsample":
        kwargs.setdefault("scale_factor", 2.0)
        if kwargs.get("mode", "nearest") == "nearest":
            kwargs.pop("align_corners", None)    # (only the interpolating modes take it)
    if name == "AvgPool1d":
        kwargs.pop("divisor_override", None)     # (torch's AvgPool1d has none)
    return args, kwargs


def _sides(draw, rank, low=2, high=4):
    return tuple(draw(st.integers(low, high)) for _ in range(rank))


def _input_for(name, args, kwargs, draw):
    """Valid input for the layer (a list: its positional inputs)."""
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    rank = draw(st.sampled_from(LAYERS[name][2])) if LAYERS[name][2] else 0
    family = name.rstrip("123d")
    if name == "Linear":
        shape = _sides(draw, rank - 1, 1, 3) + (args[0],)
    elif name == "Bilinear":
        n = draw(st.integers(1, 3))
        return [rng.standard_normal((n, args[0])), rng.standard_normal((n, args[1]))]
    elif name in ("PairwiseDistance", "CosineSimilarity"):
        shape = _sides(draw, draw(st.integers(2, 3)))
        return [rng.standard_normal(shape), rng.standard_normal(shape)]
    elif name == "Unfold":
        shape = _sides(draw, rank, 3, 4)
    elif name == "Fold":
        o, k = (np.broadcast_to(v, (2,)) for v in args)
        d, p, s = (np.broadcast_to(kwargs.get(a, v), (2,)) for a, v in
                   (("dilation", 1), ("padding", 0), ("stride", 1)))
        blocks = np.floor((o + 2 * p - d * (k - 1) - 1) / s + 1).astype(int)
        assume((blocks > 0).all())
        shape = _sides(draw, rank - 2, 1, 2) + (2 * int(np.prod(k)), int(np.prod(blocks)))
    elif family in ("BatchNorm", "SyncBatchNorm", "GroupNorm"):
        c = args[1] if name == "GroupNorm" else args[0]
        low = 2 if name == "GroupNorm" else 1    # (a group of one value: no variance)
        shape = (draw(st.integers(2, 3)), c) + _sides(draw, rank - 2, low, 3)
    elif family == "InstanceNorm":
        d = int(name[-2])
        shape = _sides(draw, rank - d - 1, 2, 3) + (args[0],) + _sides(draw, d, 2, 3)
    elif name in ("LayerNorm", "RMSNorm"):
        shape = _sides(draw, rank - 1) + (args[0],)
    elif name == "PReLU":
        shape = (2, kwargs.get("num_parameters", 1)) + _sides(draw, rank - 2)
    elif name == "GLU":
        shape = tuple(draw(st.sampled_from([2, 4])) for _ in range(rank))
    elif name == "Unflatten":
        dim, sizes = args
        shape = list(_sides(draw, rank))
        shape[dim] = math.prod(sizes)
        shape = tuple(shape)
    elif name == "PixelShuffle":
        r = args[0]
        shape = _sides(draw, rank - 3, 1, 2) + (draw(st.integers(1, 2)) * r * r,) + _sides(
            draw, 2, 1, 3)
    elif name == "PixelUnshuffle":
        r = args[0]
        shape = _sides(draw, rank - 2, 1, 2) + tuple(r * draw(st.integers(1, 2))
                                                      for _ in range(2))
    elif family == "LPPool":
        ks = np.broadcast_to(args[1], (int(name[-2]),))
        shape = _sides(draw, rank - len(ks), 1, 2) + tuple(
            int(k) + draw(st.integers(0, 2)) for k in ks)
    elif family.startswith("Adaptive"):
        shape = _sides(draw, rank, 1, 4)
    elif family.startswith("MaxUnpool"):
        d = int(name[-2])
        ks = np.broadcast_to(args[0], (d,))
        ss = np.broadcast_to(kwargs.get("stride", args[0]), (d,))
        x = rng.standard_normal((1, 2) + tuple(int(k + s * draw(st.integers(0, 2)))  # (sizes
                                               for k, s in zip(ks, ss)))   # unpool restores)
        pool = getattr(torch.nn, f"MaxPool{d}d")(tuple(ks), tuple(ss), kwargs.get("padding", 0),
                                                 return_indices=True)
        y, idx = pool(torch.tensor(x))
        return [y.numpy(), idx.numpy()]
    elif name == "Embedding":
        return [rng.integers(0, args[0], _sides(draw, rank, 1, 3))]
    elif name == "Upsample":
        mode = kwargs.get("mode", "nearest")
        rank = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}.get(mode, rank)
        shape = _sides(draw, rank, 1, 3)
    else:
        shape = _sides(draw, rank)
    return [rng.standard_normal(shape)]


def _outputs(y):
    return list(y) if isinstance(y, tuple) else [y]


@fuzz(150)
@given(st.data())
def test_layers_from_valid_arguments_match_torch(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if "Loss" not in n)), label="layer")
    args, kwargs = data.draw(layer_args(name), label="arguments")
    cg.manual_seed(0)
    ours = bounded(getattr(nn, name), *args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours.double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    if name in RANDOM:
        ours.eval(), theirs.eval()
    xs = _input_for(name, args, kwargs, data.draw)
    if "Norm" in name and data.draw(st.booleans()):
        ours.eval(), theirs.eval()
    if name.startswith(("MaxPool", "AvgPool")):
        x = xs[0]
        ks, ss = (np.broadcast_to(v, (len(x.shape) - 2,)) for v in args)
        dil = np.broadcast_to(kwargs.get("dilation", 1), ks.shape)
        assume(all(n >= d * (k - 1) + 1 for n, k, d in zip(x.shape[2:], ks, dil)))
    y = bounded(ours, *xs)
    ty = theirs(*(torch.tensor(x) for x in xs))
    for a, b in zip(_outputs(y), _outputs(ty), strict=True):
        assert_same(a.array, b.detach().numpy(), name, 1e-10, 1e-6)
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert_same(a, b.numpy(), f"{name} {k}", 1e-10, 1e-6)


def _loss_inputs(name, kwargs, rng):
    """Valid (input, target, …) of a loss, in the order its forward takes them."""
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    sign = np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0)
    classes = rng.integers(0, 4, 3)
    if name in ("CrossEntropyLoss", "MultiMarginLoss"):
        return [x, classes]
    if name == "NLLLoss":
        return [x - np.log(np.exp(x).sum(1, keepdims=True)), classes]
    if name == "BCELoss":
        return [1 / (1 + np.exp(-x)), rng.random((3, 4))]
    if name in ("BCEWithLogitsLoss", "MultiLabelSoftMarginLoss"):
        return [x, (rng.random((3, 4)) < 0.5).astype(float)]
    if name == "KLDivLoss":
        p = np.exp(t) / np.exp(t).sum(1, keepdims=True)
        return [x - np.log(np.exp(x).sum(1, keepdims=True)),
                np.log(p) if kwargs.get("log_target") else p]
    if name in ("SoftMarginLoss", "HingeEmbeddingLoss"):
        return [x, sign]
    if name == "MarginRankingLoss":
        return [x[0], t[0], sign[0]]
    if name == "CosineEmbeddingLoss":
        return [x, t, sign[:, 0]]
    if name == "TripletMarginLoss":
        return [x, t, rng.standard_normal((3, 4))]
    if name == "PoissonNLLLoss":
        return [x if kwargs.get("log_input", True) else np.exp(x), rng.poisson(2.0, (3, 4))
                .astype(float)]
    if name == "GaussianNLLLoss":
        return [x, t, np.exp(rng.standard_normal((3, 4)))]
    return [x, t]


@fuzz(60)
@given(st.data())
def test_losses_from_valid_arguments_match_torch(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if n.endswith("Loss"))),
                     label="loss")
    _, kwargs = data.draw(layer_args(name), label="arguments")
    xs = _loss_inputs(name, kwargs, np.random.default_rng(data.draw(st.integers(0, 99))))
    y = bounded(getattr(nn, name)(**kwargs), *xs)
    ty = getattr(torch.nn, name)(**kwargs)(*(torch.tensor(x) for x in xs))
    assert_same(y.array, ty.numpy(), name, 1e-10, 1e-6)


@fuzz(250)
@given(st.data())
def test_each_constructor_argument_broken_by_a_rule_is_refused(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if LAYERS[n][0] or LAYERS[n][1])),
                     label="layer")
    positional, keywords, _, _ = LAYERS[name]
    args, kwargs = data.draw(layer_args(name))
    slots = [s for s in list(range(len(positional))) + sorted(keywords)
             if (name, s) not in EXCLUDED]
    slot = data.draw(st.sampled_from(slots), label="argument")
    rule = positional[slot] if isinstance(slot, int) else keywords[slot]
    bad = data.draw(breaking(rule), label="value")
    assume(not _also_valid(name, slot, bad))
    if name.startswith("Upsampling"):          # (size and scale_factor: one, not both)
        kwargs = {}
    if name == "Upsample" and slot == "align_corners":
        kwargs["mode"] = "bilinear"              # (only the interpolating modes take it)
    allowed = (ValueError, TypeError, RuntimeError, IndexError)
    build = getattr(nn, name)
    if name in LAZY:                             # constructed, then called on valid input
        xs = (_loss_inputs(name, kwargs, np.random.default_rng(0)) if name.endswith("Loss")
              else _input_for(name, args, kwargs, data.draw))

        def build(*a, **k):
            return getattr(nn, name)(*a, **k)(*xs)
    if isinstance(slot, int):
        args = [bad if i == slot else a for i, a in enumerate(args)]
    else:
        kwargs = {**kwargs, slot: bad}
    if name in LAZY and isinstance(bad, tuple) and all(type(v) is int for v in bad):
        try:                                     # a padding of other length: torch takes some
            getattr(torch.nn, name)(*args, **kwargs)(*(torch.tensor(x) for x in xs))
        except Exception:  # noqa: BLE001  (torch refuses it: so must we)
            pass
        else:
            assume(False)
    refused(build, *args, op=(name, *LAZY.get(name, ())), allowed=allowed, **kwargs)


# the ranks a layer takes beyond those its valid inputs are drawn from
ACCEPTS = {"Linear": tuple(range(1, 7)), "LocalResponseNorm": tuple(range(3, 7)),
           "LayerNorm": tuple(range(1, 7)), "RMSNorm": tuple(range(1, 7)),
           "GroupNorm": tuple(range(2, 7)), "PixelShuffle": tuple(range(3, 7)),
           "PixelUnshuffle": tuple(range(3, 7)), "SyncBatchNorm": tuple(range(2, 7)),
           "PReLU": tuple(range(1, 7)), "GLU": tuple(range(1, 7)),
           **{f"LPPool{n}d": (n + 1, n + 2) for n in (1, 2, 3)},   # (n + 1: the bug above)
           **{f"{k}Pad{n}d": tuple(range(n, 7)) for k in ("Zero", "Constant")
              for n in (1, 2, 3)}}
KINDS = {**dict.fromkeys(("ReLU", "ReLU6", "Hardtanh", "Threshold", "Softsign", "Tanhshrink",
                          "Identity"), "fiu"),
         **dict.fromkeys(("Sigmoid", "Tanh", "Flatten", "Unflatten", "PixelShuffle",
                          "PixelUnshuffle"), "fiub"),
         "Embedding": "iu",
         **{f"{k}Pad{n}d": "fiu" for k in ("Zero", "Constant", "Reflection", "Replication",
                                           "Circular") for n in (1, 2, 3)}}
OPS = (*F.__all__, "max_pool", "avg_pool", "pad")


@fuzz(120)
@given(st.data())
def test_calls_with_the_wrong_rank_or_dtype_are_refused(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if LAYERS[n][2]
                                            and (n, "input") not in EXCLUDED)), label="layer")
    args, kwargs = data.draw(layer_args(name))
    assume(name != "Identity")
    layer = getattr(nn, name)(*args, **kwargs)
    _, _, ranks, any_rank = LAYERS[name]
    ranks = ANY if any_rank else ACCEPTS.get(name, ranks)
    bad = data.draw(breaking(Array(ranks, KINDS.get(name, "f"))), label="input")
    try:                                         # torch's layer takes it (a 3-d input of
        getattr(torch.nn, name)(*args, **kwargs)(torch.tensor(bad))    # UpsamplingNearest2d)
    except Exception:  # noqa: BLE001  (torch refuses it: so must we)
        pass
    else:
        assume(False)
    refused(layer, bad, op=(name, name.lower(), *OPS),
            allowed=(ValueError, TypeError, RuntimeError, IndexError))


def test_a_float32_layer_refuses_a_float64_batch():
    for layer in (nn.Linear(3, 2), nn.BatchNorm1d(3)):
        refused(layer, np.ones((4, 3)), op=("linear", "batch_norm"))


STATEFUL = ["Linear", "Bilinear", "BatchNorm1d", "BatchNorm2d", "SyncBatchNorm",
            "InstanceNorm1d", "LayerNorm", "RMSNorm", "GroupNorm", "PReLU", "Embedding"]


@fuzz(80)
@given(st.data())
def test_state_dicts_round_trip_and_bad_ones_change_nothing(data):
    name = data.draw(st.sampled_from(STATEFUL), label="layer")
    args, kwargs = data.draw(layer_args(name))
    cg.manual_seed(data.draw(st.integers(0, 9)))
    model = nn.Sequential(getattr(nn, name)(*args, **kwargs))
    assume(model.state_dict())
    state = model.state_dict()
    clone = nn.Sequential(getattr(nn, name)(*args, **kwargs))
    clone.load_state_dict(state)
    for k, v in clone.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    keys = sorted(state)
    key = data.draw(st.sampled_from(keys), label="key")
    broken = dict(state)
    how = data.draw(st.sampled_from(["drop", "add", "shape", "value", "container"]),
                    label="how")
    if how == "drop":
        del broken[key]
    elif how == "add":
        broken[key + "_extra"] = state[key]
    elif how == "shape":
        broken[key] = np.zeros(state[key].shape + (2,))
    elif how == "value":
        broken[key] = data.draw(st.sampled_from([None, "w", {"a": 1}, [[1], [1, 2]],
                                                 np.ones(state[key].shape, complex)]))
    else:
        broken = data.draw(st.sampled_from([list(state.items()), None, "state", 3]))
    before = clone.state_dict()
    refused(clone.load_state_dict, broken, op=("load_state_dict", "loading state_dict"))
    for k, v in clone.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
