"""interpolate (every mode × align_corners × size/scale_factor form), the upsample aliases and
layers, pixel (un)shuffle, grid_sample and affine_grid: values, first and second order gradients,
signatures, reprs and errors against torch."""

import inspect
import itertools
import warnings

import numpy as np
import pytest
from helpers import check_op, import_torch

from convgrad.functional import grid as FG
from convgrad.functional import resample as FR
from convgrad.nn import pixelshuffle as NPS
from convgrad.nn import upsampling as NU

torch = import_torch()
tF = torch.nn.functional  # noqa: N816  (torch's F)

SHAPES = {"linear": (2, 3, 5), "bilinear": (2, 2, 5, 4), "bicubic": (1, 2, 5, 4),
          "trilinear": (1, 2, 3, 4, 2), "nearest": (2, 2, 5, 4), "nearest-exact": (2, 2, 5, 4),
          "area": (2, 2, 7, 5)}
FORMS = [dict(size=7), dict(size=(3, 8, 5)), dict(size=(1, 2, 1)), dict(scale_factor=2),
         dict(scale_factor=1.7), dict(scale_factor=(0.6, 2.5, 1.3)),
         dict(scale_factor=(1.3, 2.0, 1.0)),
         dict(scale_factor=1.7, recompute_scale_factor=True),
         dict(scale_factor=0.75, recompute_scale_factor=False)]
CASES = [(mode, ac, i) for mode in SHAPES
         for ac in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True])
         for i in range(len(FORMS))]


@pytest.mark.parametrize("mode,align_corners,form", CASES)
def test_interpolate_matches_torch(mode, align_corners, form):
    shape = SHAPES[mode]
    d = len(shape) - 2
    kw = {k: (v[:d] if isinstance(v, tuple) else v) for k, v in FORMS[form].items()}
    check_op(lambda x: FR.interpolate(x, mode=mode, align_corners=align_corners, **kw),
             lambda x: tF.interpolate(x, mode=mode, align_corners=align_corners, **kw), shape)


def test_nearest_uses_torch_float32_source_index():
    x = np.arange(7.0).reshape(1, 1, 7)
    for size, scale in [(None, 1 / 3), (5, None), (11, None), (None, 2.9)]:
        got = FR.interpolate(x, size=size, scale_factor=scale).array
        want = tF.interpolate(torch.tensor(x), size=size, scale_factor=scale).numpy()
        np.testing.assert_array_equal(got, want)


def test_upsample_aliases_match_torch():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    pairs = [(lambda a: FR.upsample(a, scale_factor=2, mode="bilinear"),
              lambda a: tF.upsample(a, scale_factor=2, mode="bilinear")),
             (lambda a: FR.upsample_nearest(a, size=(5, 7)),
              lambda a: tF.upsample_nearest(a, size=(5, 7))),
             (lambda a: FR.upsample_bilinear(a, scale_factor=1.5),
              lambda a: tF.upsample_bilinear(a, scale_factor=1.5))]
    for ours, theirs in pairs:
        with pytest.warns(UserWarning, match="deprecated"):
            ours(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_op(ours, theirs, x)


@pytest.mark.parametrize("call,error,match", [
    (lambda F, x: F.interpolate(x, 3, align_corners=True), ValueError, "align_corners option"),
    (lambda F, x: F.interpolate(x, 3, mode="area", align_corners=False), ValueError,
     "align_corners option"),
    (lambda F, x: F.interpolate(x, 3, 2.0), ValueError, "only one of size or scale_factor"),
    (lambda F, x: F.interpolate(x), ValueError, "either size or scale_factor"),
    (lambda F, x: F.interpolate(x, (3,)), ValueError, "same number of spatial dimensions"),
    (lambda F, x: F.interpolate(x, scale_factor=(2.0,)), ValueError, "same number of spatial"),
    (lambda F, x: F.interpolate(x, 3, recompute_scale_factor=True), ValueError, "not meaningful"),
    (lambda F, x: F.interpolate(x, 3, mode="linear"), NotImplementedError, "linear mode needs 3D"),
    (lambda F, x: F.interpolate(x, 3, mode="trilinear"), NotImplementedError, "needs 5D"),
    (lambda F, x: F.interpolate(x, 3, mode="cubic"), NotImplementedError, "Input Error"),
    (lambda F, x: F.interpolate(x, 3, mode="nearest", antialias=True), ValueError, "Anti-alias"),
    (lambda F, x: F.interpolate(x, (0, 3), mode="bilinear"), RuntimeError, "greater than 0"),
    (lambda F, x: F.interpolate(x, scale_factor=0.1), RuntimeError, "greater than 0"),
    (lambda F, x: F.pixel_shuffle(x, 3), RuntimeError, "divisible by the square"),
    (lambda F, x: F.pixel_unshuffle(x, 3), RuntimeError, "divisible by downscale_factor"),
    (lambda F, x: F.pixel_shuffle(x[0][0], 2), RuntimeError, "at least 3 dimensions"),
    (lambda F, x: F.pixel_shuffle(x, 0), RuntimeError, "positive upscale_factor"),
])
def test_errors_match_torch_types(call, error, match):
    x = np.ones((1, 4, 4, 4))
    with pytest.raises(error, match=match):
        call(FR, x)
    with pytest.raises(error):         # torch raises the same type (its words may differ)
        call(tF, torch.tensor(x))


def test_pixel_shuffle_matches_torch():
    check_op(lambda x: FR.pixel_shuffle(x, 2), lambda x: tF.pixel_shuffle(x, 2), (2, 8, 3, 4))
    check_op(lambda x: FR.pixel_shuffle(x, 2), lambda x: tF.pixel_shuffle(x, 2), (4, 3, 2))
    check_op(lambda x: FR.pixel_unshuffle(x, 3), lambda x: tF.pixel_unshuffle(x, 3),
             (2, 2, 6, 9))


GRID = list(itertools.product((2, 3), ("bilinear", "nearest"), ("zeros", "border", "reflection"),
                              (False, True)))


@pytest.mark.parametrize("d,mode,padding_mode,align_corners", GRID)
def test_grid_sample_matches_torch(d, mode, padding_mode, align_corners):
    rng = np.random.default_rng(d)
    x = rng.standard_normal((2, 3, 5, 4) if d == 2 else (2, 2, 4, 3, 5))
    grid = rng.uniform(-1.6, 1.6, (2, 3, 4, 2) if d == 2 else (2, 3, 2, 4, 3))   # incl. outside
    check_op(lambda a, g: FG.grid_sample(a, g, mode, padding_mode, align_corners),
             lambda a, g: tF.grid_sample(a, g, mode, padding_mode, align_corners), x, grid)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 3, 4, 2, 3)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, align_corners):
    theta = (2, 2, 3) if len(size) == 4 else (2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda t: FG.affine_grid(t, size, align_corners),
                 lambda t: tF.affine_grid(t, size, align_corners), theta)


def test_grid_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        FG.grid_sample(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 1, 2)), padding_mode="wrap")
    with pytest.raises(ValueError, match="expected mode"):
        FG.grid_sample(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 1, 2)), mode="area")
    with pytest.raises(ValueError, match="Nx2x3"):
        FG.affine_grid(np.zeros((1, 3, 4)), (1, 1, 2, 2))
    with pytest.raises(NotImplementedError, match="4D and 5D"):
        FG.affine_grid(np.zeros((1, 2, 3)), (1, 1, 2))


LAYERS = [("Upsample", (), dict(scale_factor=2)), ("Upsample", (3,), dict(mode="bilinear")),
          ("Upsample", ((3, 4),), dict(mode="bilinear", align_corners=True)),
          ("Upsample", (), dict(scale_factor=(2, 1.5), mode="bicubic")),
          ("Upsample", (), dict(scale_factor=1.5, mode="area", recompute_scale_factor=True)),
          ("UpsamplingNearest2d", (), dict(scale_factor=2)), ("UpsamplingBilinear2d", (3,), {}),
          ("PixelShuffle", (2,), {}), ("PixelUnshuffle", (2,), {})]
MODULES = {**{n: NU for n in NU.__all__}, **{n: NPS for n in NPS.__all__}}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layer_signatures_equal_torch(name):
    def params(cls):
        return [(p.name, p.default, p.kind) for p in inspect.signature(cls).parameters.values()]
    assert params(getattr(MODULES[name], name)) == params(getattr(torch.nn, name))


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layer_reprs_and_outputs_equal_torch(name, args, kwargs):
    ours = getattr(MODULES[name], name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    check_op(lambda a: ours(a), lambda a: theirs(a), (2, 4, 4, 6))



@pytest.mark.parametrize("call,match", [
    (lambda F, x: F.interpolate(x, scale_factor=-1e308, mode="bilinear"), "interpolate"),
    (lambda F, x: F.interpolate(x, scale_factor=1e308, mode="bilinear"), "interpolate"),
    (lambda F, x: F.interpolate(x[0, 0], 3), "interpolate: Input Error: Only 3D"),
    (lambda F, x: F.interpolate(x, 3, mode="cubic"), "interpolate: Input Error: Only 3D"),
    (lambda F, x: F.upsample(x, scale_factor=(2.0,)), "upsample: Input and scale_factor"),
    (lambda F, x: F.upsample(x[0, 0], 3), "upsample: Input Error"),
    (lambda F, x: F.upsample_nearest(x, (3,)), "upsample_nearest: Input and output"),
    (lambda F, x: F.upsample_bilinear(x, (3,)), "upsample_bilinear: Input and output"),
])
def test_resize_errors_have_torchs_type_and_name_the_op(call, match):
    x = np.ones((1, 4, 4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            call(tF, torch.tensor(x))
        with pytest.raises(theirs.type, match=match):
            call(FR, x)


@pytest.mark.parametrize("theta,size,error,match", [
    (np.eye(2, 3, dtype=np.int64)[None], (1, 1, 2, 2), ValueError,
     "affine_grid: Expected theta to have floating point type"),
    (np.eye(2, 3)[None], {"a": 1}, TypeError, "affine_grid: size must be a tuple of ints"),
    (np.eye(2, 3)[None], (1, 1, float("nan"), 2), TypeError, "affine_grid: size must be"),
    (np.eye(2, 3)[None], (1, 1, 2.0, 2), TypeError, "affine_grid: size must be"),
    (np.eye(2, 3)[None], (1, 1, True, 2), TypeError, "affine_grid: size must be"),
    (np.eye(2, 3)[None], (1, 1, 0, 2), ValueError,
     "affine_grid: Expected non-zero, positive output size"),
    (np.eye(2, 3)[None], (1, 1, 2, 2, 2), ValueError, "affine_grid: Expected a batch of 3D"),
])
def test_affine_grid_errors_name_the_op(theta, size, error, match):
    with pytest.raises(error, match=match):
        FG.affine_grid(theta, size, align_corners=False)


@pytest.mark.parametrize("shape", [(1, 1, 10), (1, 1, 3), (1, 1, 10, 10), (1, 1, 6, 7, 5)])
@pytest.mark.parametrize("scale", [1.05, 1.25, 2.05, 2.0, 0.9, 3.3])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_with_a_scale_that_keeps_or_doubles_a_length_is_torchs(shape, scale, mode):
    # torch's 2-d nearest kernel leaves an unchanged axis alone and halves a doubled one
    # whatever the scale; its 1-d and 3-d kernels compute floor(j / scale) everywhere
    x = np.arange(float(np.prod(shape))).reshape(shape)
    want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=scale, mode=mode)
    got = FR.interpolate(x, scale_factor=scale, mode=mode)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
