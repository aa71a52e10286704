"""Fuzz targets for the nn layers (all but Conv/ConvTranspose, fuzzed with ops):

- constructor arguments drawn from their rules build a layer that matches torch.nn's (same
  state dict → same outputs in float64); each argument broken by one rule is refused naming the
  layer;
- calls with the wrong rank, shape or dtype are refused naming the layer or its functional op;
- state_dict → load_state_dict round trips; a dict with a key dropped or added, a shape
  changed or a value that is not an array is refused and changes nothing.
"""

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
from convgrad import nn

torch = import_torch()

ANY = tuple(range(7))
BN = {"eps": Real(0.0), "momentum": Real(0.0, 1.0), "affine": Bool(),
      "track_running_stats": Bool()}
# layer: (rules of the positional arguments, of the keyword arguments, ranks of valid inputs,
#         whether any input rank is valid)
LAYERS = {
    "Linear": ([Int(0), Int(0)], {"bias": Bool()}, (1, 2, 3), False),
    "ReLU": ([], {}, (0, 1, 2, 3), True), "Sigmoid": ([], {}, (0, 1, 2, 3), True),
    "Tanh": ([], {}, (0, 1, 2, 3), True), "SiLU": ([], {}, (0, 1, 2, 3), True),
    "Identity": ([], {}, (0, 1, 2, 3), True),
    "LeakyReLU": ([], {"negative_slope": Real()}, (0, 1, 2, 3), True),
    "ELU": ([], {"alpha": Real()}, (0, 1, 2, 3), True),
    "Softplus": ([], {"beta": Real(), "threshold": Real()}, (0, 1, 2, 3), True),
    "Softmax": ([], {"dim": Int()}, (2, 3), True),
    "LogSoftmax": ([], {"dim": Int()}, (2, 3), True),
    "Flatten": ([], {"start_dim": Int(), "end_dim": Int()}, (2, 3, 4), True),
    "Dropout": ([], {"p": Real(0.0, 1.0)}, (1, 2, 3), True),
    "BatchNorm1d": ([Int(0)], BN, (2, 3), False),
    "BatchNorm2d": ([Int(0)], BN, (4,), False),
    "BatchNorm3d": ([Int(0)], BN, (5,), False),
    "CrossEntropyLoss": ([], {"ignore_index": Int(), "label_smoothing": Real(0.0, 1.0),
                              "reduction": Choice(("mean", "sum", "none"))}, (), False),
    "MSELoss": ([], {"reduction": Choice(("mean", "sum", "none"))}, (), False),
}
for _n in (1, 2, 3):
    _pool = {"padding": Ints(_n, 0), "ceil_mode": Bool()}
    LAYERS[f"MaxPool{_n}d"] = ([Ints(_n, 1), Ints(_n, 1)], {**_pool, "dilation": Ints(_n, 1)},
                               (_n + 2,), False)
    LAYERS[f"AvgPool{_n}d"] = ([Ints(_n, 1), Ints(_n, 1)],
                               {**_pool, "count_include_pad": Bool(),
                                "divisor_override": Int(1)}, (_n + 2,), False)
# the narrower ranges valid layers are drawn from (small sizes, parameters torch also takes)
NARROW = {"Linear": Int(0, 4), "BatchNorm": Int(1, 3), "beta": Real(0.5, 2.0),
          "threshold": Real(1.0, 20.0), "eps": Real(1e-5, 1e-1), "dim": Int(-2, 1),
          "start_dim": Int(0, 1), "end_dim": Int(-1, -1), "ignore_index": Int(-100, -100),
          "Pool": 2, "padding": 0, "divisor_override": Int(1, 3)}
# arguments that are also valid as None
NONE_OK = {("Softmax", "dim"), ("LogSoftmax", "dim"),
           *((f"BatchNorm{n}d", "momentum") for n in (1, 2, 3)),
           *((f"{k}Pool{n}d", 1) for k in ("Max", "Avg") for n in (1, 2, 3)),
           *((f"AvgPool{n}d", "divisor_override") for n in (1, 2, 3))}


def _narrow(name, arg, rule):
    if isinstance(rule, Ints):
        return Ints(rule.length, rule.low, 0 if arg == "padding" else 2)
    for key in (arg,) if isinstance(arg, str) else (name, name.rstrip("123d")):
        if isinstance(key, str) and key in NARROW and not isinstance(NARROW[key], int):
            return NARROW[key]
    return rule


def test_every_layer_but_the_convolutions_is_fuzzed():
    layers = {n for n in nn.__all__ if n[0].isupper() and not n.startswith("Conv")}
    assert layers - {"Module", "Sequential", "Parameter"} == set(LAYERS)


@st.composite
def layer_args(draw, name):
    positional, keywords, _, _ = LAYERS[name]
    args = [draw(valid(_narrow(name, i, r))) for i, r in enumerate(positional)]
    kwargs = {k: draw(valid(_narrow(name, k, r))) for k, r in keywords.items()
              if draw(st.booleans())}
    return args, kwargs


def _input_for(name, layer, args, draw):
    rank = draw(st.sampled_from(LAYERS[name][2]))
    if name == "Linear":
        shape = tuple(draw(st.integers(1, 3)) for _ in range(rank - 1)) + (args[0],)
    elif name.startswith("BatchNorm"):
        shape = (draw(st.integers(2, 3)), args[0]) + tuple(
            draw(st.integers(1, 3)) for _ in range(rank - 2))
    else:
        shape = tuple(draw(st.integers(2, 4)) for _ in range(rank))
    return np.random.default_rng(draw(st.integers(0, 99))).standard_normal(shape)


@fuzz(150)
@given(st.data())
def test_layers_from_valid_arguments_match_torch(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if "Loss" not in n)),
                     label="layer")
    args, kwargs = data.draw(layer_args(name), label="arguments")
    if name == "AvgPool1d":
        kwargs.pop("divisor_override", None)           # (torch's AvgPool1d has none)
    cg.manual_seed(0)
    ours = bounded(getattr(nn, name), *args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours.double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    if name == "Dropout":
        ours.eval(), theirs.eval()
    x = _input_for(name, ours, args, data.draw)
    if name.startswith("BatchNorm") and data.draw(st.booleans()):
        ours.eval(), theirs.eval()
    if name.startswith(("MaxPool", "AvgPool")):
        ks, ss = (np.broadcast_to(v, (len(x.shape) - 2,)) for v in args)
        dil = np.broadcast_to(kwargs.get("dilation", 1), ks.shape)
        assume(all(n >= d * (k - 1) + 1 for n, k, d in zip(x.shape[2:], ks, dil)))
    y, ty = ours(x), theirs(torch.tensor(x))
    assert_same(y.array, ty.detach().numpy(), name, 1e-10, 1e-6)
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert_same(a, b.numpy(), f"{name} {k}", 1e-10, 1e-6)


@fuzz(250)
@given(st.data())
def test_each_constructor_argument_broken_by_a_rule_is_refused(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if LAYERS[n][0] or LAYERS[n][1])),
                     label="layer")
    positional, keywords, _, _ = LAYERS[name]
    args, _ = data.draw(layer_args(name))
    slots = list(range(len(positional))) + sorted(keywords)
    slot = data.draw(st.sampled_from(slots), label="argument")
    rule = positional[slot] if isinstance(slot, int) else keywords[slot]
    bad = data.draw(breaking(rule), label="value")
    assume(not (bad is None and (name, slot) in NONE_OK))
    if isinstance(slot, int):
        args = [bad if i == slot else a for i, a in enumerate(args)]
        refused(getattr(nn, name), *args, op=name)
    else:
        refused(getattr(nn, name), *args, op=name, **{slot: bad})


@fuzz(120)
@given(st.data())
def test_calls_with_the_wrong_rank_or_dtype_are_refused(data):
    name = data.draw(st.sampled_from(sorted(n for n in LAYERS if LAYERS[n][2])),
                     label="layer")
    args, kwargs = data.draw(layer_args(name))
    assume(name != "Identity")
    layer = getattr(nn, name)(*args, **kwargs)
    _, _, ranks, any_rank = LAYERS[name]
    ranks = ANY if any_rank else tuple(range(1, 7)) if name == "Linear" else ranks
    kinds = "fiu" if name == "ReLU" else "fiub" if name in ("Sigmoid", "Tanh", "Flatten") \
        else "f"
    bad = data.draw(breaking(Array(ranks, kinds)), label="input")
    ops = (name, name.lower(), "linear", "batch_norm", "softmax", "log_softmax", "flatten",
           "dropout", "leaky_relu", "max_pool", "avg_pool", "relu", "sigmoid", "tanh", "silu",
           "elu", "softplus")
    refused(layer, bad, op=ops, allowed=(ValueError, TypeError, IndexError))


def test_a_float32_layer_refuses_a_float64_batch():
    for layer in (nn.Linear(3, 2), nn.BatchNorm1d(3)):
        refused(layer, np.ones((4, 3)), op=("linear", "batch_norm"))


@fuzz(80)
@given(st.data())
def test_state_dicts_round_trip_and_bad_ones_change_nothing(data):
    name = data.draw(st.sampled_from(["Linear", "BatchNorm1d", "BatchNorm2d"]), label="layer")
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
    refused(clone.load_state_dict, broken, op="load_state_dict")
    for k, v in clone.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
