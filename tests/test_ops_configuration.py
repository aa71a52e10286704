"""ConvConfig, the one conv configuration type: shapes against torch's, every padding spelling,
describe(), refused values, and the older names (CheckConfig, ExplainConfig, the tests' Case)."""

import dataclasses

import numpy as np
import pytest
from helpers import Case, conv_cases, import_torch
from hypothesis import given, settings

from convgrad import ops
from convgrad.ops.configuration import ConvConfig


def plain(case: Case) -> ConvConfig:
    """The drawn case as a bare ConvConfig (no test extras)."""
    return ConvConfig(size=case.size, kernel=case.kernel, in_channels=case.cin,
                      out_channels=case.cout, batch=case.batch, stride=case.stride,
                      padding=case.padding, dilation=case.dilation, groups=case.groups,
                      output_padding=case.output_padding, transposed=case.transposed,
                      dtype=case.dtype)


def torch_shape(case: Case) -> tuple:
    """torch's output shape, padding applied from the test's own (lo, hi) rule: F.pad before a
    conv, a crop after a transposed conv."""
    torch = import_torch()
    tf = torch.nn.functional
    d, pairs = case.ndim, case.pairs()
    if case.transposed:
        x = torch.zeros(case.batch, case.cin, *case.size, dtype=torch.float64)
        w = torch.zeros(case.cin, case.cout // case.groups, *case.kernel, dtype=torch.float64)
        y = getattr(tf, f"conv_transpose{d}d")(x, w, stride=case.stride,
                                                output_padding=case.output_padding,
                                                groups=case.groups, dilation=case.dilation)
        return (*y.shape[:2], *(m - lo - hi for m, (lo, hi) in zip(y.shape[2:], pairs)))
    x = torch.zeros(case.batch, case.cin, *case.size, dtype=torch.float64)
    w = torch.zeros(case.cout, case.cin // case.groups, *case.kernel, dtype=torch.float64)
    x = tf.pad(x, [v for lo_hi in reversed(pairs) for v in lo_hi])
    y = getattr(tf, f"conv{d}d")(x, w, stride=case.stride, dilation=case.dilation,
                                 groups=case.groups)
    return tuple(y.shape)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(conv_cases(max_size=7))
@settings(max_examples=150, deadline=None)
def test_conv_shapes_match_torch(case):
    config = plain(case)
    assert config.out_shape == torch_shape(case), config.describe()
    assert config.padding_pairs == tuple(case.pairs())
    assert config.x_shape == (case.batch, case.cin, *case.size)
    assert config.w_shape == (case.cout, case.cin // case.groups, *case.kernel)
    if case.padding == "same" and set(np.ravel(case.stride).tolist()) == {1}:
        torch = import_torch()
        x = torch.zeros(config.x_shape, dtype=torch.float64)
        w = torch.zeros(config.w_shape, dtype=torch.float64)
        y = getattr(torch.nn.functional, f"conv{case.ndim}d")(
            x, w, padding="same", dilation=case.dilation, groups=case.groups)
        assert config.out_shape == tuple(y.shape)       # torch's own 'same'
    assert ops.conv(np.zeros(config.x_shape), np.zeros(config.w_shape),
                    **config.opts).shape == config.out_shape


@given(conv_cases(max_size=7, transposed=True))
@settings(max_examples=150, deadline=None)
def test_conv_transpose_shapes_match_torch(case):
    config = plain(case)
    assert config.transposed and "output_padding" in config.opts
    assert config.out_shape == torch_shape(case), config.describe()
    assert config.w_shape == (case.cin, case.cout // case.groups, *case.kernel)
    assert ops.conv_transpose(np.zeros(config.x_shape), np.zeros(config.w_shape),
                              **config.opts).shape == config.out_shape


@pytest.mark.parametrize("padding, pairs, out_size", [
    (1, ((1, 1), (1, 1)), (4, 3)),
    ((2, 0), ((2, 2), (0, 0)), (5, 2)),
    ([2, 0], ((2, 2), (0, 0)), (5, 2)),                       # a list is kept as a tuple
    (((1, 0), (0, 2)), ((1, 0), (0, 2)), (3, 3)),
    ([[1, 0], [0, 2]], ((1, 0), (0, 2)), (3, 3)),
    ("valid", ((0, 0), (0, 0)), (3, 2)),
    ("same", ((1, 1), (0, 1)), (4, 3)),                      # ⌈n/s⌉, extra pixel high
    ("full", ((2, 2), (2, 2)), (5, 4)),
])
def test_every_padding_spelling(padding, pairs, out_size):
    config = ConvConfig(size=(7, 6), kernel=(3, 3), stride=2, padding=padding)
    assert config.padding_pairs == pairs and config.out_size == out_size
    assert hash(config) == hash(dataclasses.replace(config))   # hashable: lists became tuples
    assert config.remainders == tuple((n + lo + hi - 3) % 2 for n, (lo, hi) in
                                      zip((7, 6), pairs))


def test_derived_quantities_and_short_names():
    c = ConvConfig(size=(8, 6), kernel=(3, 2), in_channels=4, out_channels=6, batch=2,
                   groups=2, dilation=(2, 1), stride=3)
    assert (c.cin, c.cout, c.ndim) == (4, 6, 2)
    assert c.effective_kernel == (5, 2) and c.out_size == (2, 2) and c.remainders == (0, 1)
    assert not c.tiles and c.with_size((8, 5)).tiles
    assert c.x_shape == (2, 4, 8, 6) and c.w_shape == (6, 2, 3, 2)
    assert c.out_shape == (2, 6, 2, 2) and c.geometry().out_size == (2, 2)
    assert c.opts == dict(stride=3, padding=0, dilation=(2, 1), groups=2)
    assert ConvConfig(size=(3,), kernel=(2,), batch=0).out_shape == (0, 1, 2)  # empty batch
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.stride = 1


def test_describe():
    assert ConvConfig(size=(7, 6), kernel=(3, 3), in_channels=2, out_channels=4, stride=2,
                      padding=1).describe() == \
        "x (1, 2, 7, 6), w (4, 2, 3, 3), stride 2, padding 1 → out (1, 4, 4, 3)"
    assert ConvConfig(size=(5,), kernel=(4,), padding="same", dilation=2, in_channels=2,
                      out_channels=2, groups=2).describe() == \
        "x (1, 2, 5), w (2, 1, 4), stride 1, padding same ((3, 3),), dilation 2, groups 2 " \
        "→ out (1, 2, 5)"
    assert ConvConfig(size=(4, 4), kernel=(3, 3), stride=2, padding=1, output_padding=(1, 0),
                      transposed=True, out_channels=3).describe() == \
        "transposed: x (1, 1, 4, 4), w (1, 3, 3, 3), stride 2, padding 1, output_padding " \
        "(1, 0) → out (1, 3, 8, 7)"


GOOD = dict(size=(5, 5), kernel=(3, 3), in_channels=2, out_channels=2)


@pytest.mark.parametrize("field, changes", [
    ("size", dict(size=(5, 0))), ("size", dict(size=())), ("size", dict(size=(5.0, 5))),
    ("kernel", dict(kernel=(3, -1))), ("kernel", dict(kernel=(3,))),
    ("kernel", dict(kernel=(7, 3))),                      # larger than the padded input
    ("in_channels", dict(in_channels=0)), ("out_channels", dict(out_channels=True)),
    ("batch", dict(batch=-1)), ("stride", dict(stride=0)), ("stride", dict(stride="2")),
    ("stride", dict(stride=(1, 1, 1))), ("dilation", dict(dilation=(1, 0))),
    ("padding", dict(padding=-1)), ("padding", dict(padding="half")),
    ("padding", dict(padding=((1, 1),))), ("groups", dict(groups=0)),
    ("groups", dict(groups=3)), ("groups", dict(transposed=True, out_channels=3, groups=2)),
    ("output_padding", dict(output_padding=1)),
    ("output_padding", dict(output_padding=2, stride=2, transposed=True)),
    ("padding", dict(padding="same", transposed=True)),
    ("dtype", dict(dtype="int8")), ("dtype", dict(dtype="complex")), ("dtype", dict(dtype=None)),
    ("transposed", dict(transposed="yes")),
])
def test_bad_values_are_refused_naming_the_field(field, changes):
    with pytest.raises(ValueError, match=field):
        ConvConfig(**{**GOOD, **changes})
    good = ConvConfig(**GOOD)
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(good, **changes)             # replace checks again


def test_the_older_names_are_conv_configs():
    from convgrad.check import CheckConfig
    from convgrad.explain import ExplainConfig

    check = CheckConfig(2, 2, 4, (7, 6), (3, 3), 2, 1)          # batch, cin, cout, … positional
    assert isinstance(check, ConvConfig) and check.dtype == "float64"
    assert check.out_shape == (2, 4, 4, 3) and check.in_channels == check.cin == 2
    assert repr(check) == ("CheckConfig(batch=2, cin=2, cout=4, size=(7, 6), kernel=(3, 3), "
                           "stride=2, padding=1, dilation=1, groups=1)")
    assert dataclasses.replace(check, cin=1, cout=1).w_shape == (1, 1, 3, 3)
    explain = ExplainConfig((4, 3), (2, 2), 1, "same", 1, 1, 2)
    assert isinstance(explain, ConvConfig) and explain.input == explain.size == (4, 3)
    assert explain.out_size == (4, 3) and explain.values == (-2.0, 5.0, -4.0)
    with pytest.raises(ValueError, match="only 1-d and 2-d"):
        ExplainConfig((3, 3, 3), (2, 2, 2))
    case = Case(size=(7, 6), kernel=(3, 3), cin=2, cout=4, stride=2, padding=1, seed=3)
    assert case.out_shape == (1, 4, 4, 3) and case.seed == 3
    assert dataclasses.replace(case, dtype="float32").seed == 3
