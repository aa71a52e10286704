"""The named bug patterns, the most specific first (registered in this order into
``diagnose.PATTERNS``). Each recomputes, with convgrad, what the user's code computes if it
has that bug, on the failing configuration's own arrays and on the probe configuration's
(``diagnose.probe_config``), and names the bug only when the user's results match it there."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from itertools import combinations, permutations

import numpy as np

from .. import ops
from .adapters import to_layout
from .diagnose import (
    Case,
    Context,
    bias_like,
    bias_where_wrong,
    close,
    counts,
    crop_text,
    factor,
    fits,
    got,
    holds,
    named,
    pattern,
    shape_text,
)

# --- the result is not a number, or nothing ------------------------------------------------


@pattern("nonfinite")
def _nonfinite(ctx: Context):
    f = ctx.f
    if f.kind != "values" or np.isfinite(f.got).all() or not np.isfinite(f.expected).all():
        return None
    bad = ~np.isfinite(f.got)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    what = "NaN" if np.isnan(f.got[where]) else "inf"
    cause = "uninitialised memory (np.empty) or entries never written, or a 0/0?" \
        if what == "NaN" else "an overflow or a division by zero?"
    return (f"{f.tensor} contains {what} at {f.tensor}{list(where)} ({int(bad.sum())} of "
            f"{bad.size} elements): {cause}")


@pattern("all_zero")
def _all_zero(ctx: Context):
    name = ctx.tensor

    def zero(case):
        g = got(case, name)
        return g is not None and g.shape == case.want[name].shape and not g.any() and \
            np.abs(case.want[name]).max() > 1e-9
    if ctx.f.kind != "values" or not ctx.both(zero):
        return None
    return (f"{name} is all zeros: never written? (the loop fills a copy — np.pad, fancy "
            f"indexing and arithmetic return new arrays — or a typo such as == for =)")


# --- padding and cropping ------------------------------------------------------------------


def padded_dx(case: Case) -> np.ndarray:
    """∂L/∂x_pad, the padded input's gradient before any cropping."""
    cfg = case.cfg
    shape = (cfg.batch, cfg.cin, *(n + 2 * cfg.padding for n in cfg.size))
    return ops.conv_grad_input(case.a["dout"], case.a["w"], shape, stride=cfg.stride,
                               dilation=cfg.dilation, groups=cfg.groups)


def cropped(case: Case, c: int) -> np.ndarray:
    """``dx_pad[..., c:-c, …]`` as written (empty when c is 0)."""
    return padded_dx(case)[(slice(None),) * 2 + (slice(c, -c),) * len(case.cfg.size)]


@pattern("uncropped")
def _uncropped(ctx: Context):
    if ctx.tensor != "dx" or not ctx.cfg.padding or not ctx.both(
            lambda case: fits(case, "dx", padded_dx)):
        return None
    padded = tuple(n + 2 * ctx.cfg.padding for n in ctx.cfg.size)
    return (f"∂X has the padded input's shape {padded}: the padding is not cropped — "
            f"return {crop_text(ctx)}")


@pattern("empty_crop")
def _empty_crop(ctx: Context):
    if ctx.tensor != "dx" or ctx.cfg.padding or not ctx.both(
            lambda case: fits(case, "dx", lambda k: cropped(k, 0))):
        return None
    return (f"dx has shape {shape_text(ctx)}: `pad:-pad` is empty when pad = 0 "
            f"(−0 is 0); crop with {crop_text(ctx, both=True)}")


@pattern("constant_crop")
def _constant_crop(ctx: Context):
    if ctx.tensor != "dx":
        return None
    for c in (1, 2):
        if c != ctx.cfg.padding and holds(ctx, "dx", partial(cropped, c=c)):
            return (f"dx has shape {shape_text(ctx)}: it is cropped by the "
                    f"constant `{c}:-{c}`, right only when pad = {c}, not {ctx.param()}; crop "
                    f"with {crop_text(ctx, both=True)}")
    return None


def padded_alternative(case: Case, q: int, name: str):
    """What the code computes if it pads by the constant q (its loops run over the declared
    output size, so it sees the top-left part of the pad-q result; in a backward, dout lands in
    the top-left corner of the pad-q output)."""
    cfg, a = case.cfg, case.a
    alt = replace(cfg, padding=q)
    corner = (slice(None),) * 2 + tuple(slice(0, m) for m in cfg.out_size)
    try:
        if name == "out":
            out = ops.conv(a["x"], a["w"], a["b"], **alt.opts)
            g = got(case, "out")
            smaller = g is not None and g.shape == case.want["out"].shape != out.shape
            return out[corner] if smaller and all(map(int.__le__, g.shape, out.shape)) else \
                None if smaller else out
        if any(m > n for m, n in zip(cfg.out_size, alt.out_size)):
            return None
        dout = np.zeros(alt.out_shape)
        dout[corner] = a["dout"]
        return ops.conv_grad_input(dout, a["w"], cfg.x_shape, **alt.opts) if name == "dx" \
            else ops.conv_grad_weight(a["x"], dout, cfg.w_shape, **alt.opts)
    except ValueError:              # pad q is not a valid convolution here
        return None


@pattern("hardcoded_pad")
def _hardcoded_pad(ctx: Context):
    name = ctx.tensor
    if name not in ("out", "dx", "dw"):
        return None
    for q in (1, 0, 2):
        if q == ctx.cfg.padding or not holds(ctx, name, partial(padded_alternative, q=q,
                                                                  name=name)):
            continue
        if q == 0:
            return (f"{name} is the convolution without padding: the padding is never applied "
                    f"(right only when pad = 0) — pad the spatial sides by {ctx.param()}")
        text = f"{name} is right only when pad = {q}: the padding is a constant, not " \
               f"{ctx.param()}"
        if name == "out" and ctx.cfg.padding == 0 and bias_where_wrong(ctx.main):
            text += (" — at pad 0 the extra zeros make the wrong outputs exactly the bias "
                     "(their windows read only padding)")
        return text
    return None


# --- the right numbers in the wrong place --------------------------------------------------


@pattern("dx_dw_swapped")
def _swapped(ctx: Context):
    if ctx.kind != "backward" or ctx.tensor not in ("dx", "dw"):
        return None
    layout = ctx.checker.layout

    def crossed(case, strict):
        if case.got is None:
            return False
        gx = to_layout(case.got["dx"], layout) if case.got["dx"].ndim == ctx.dims + 2 else None
        gw = to_layout(case.got["dw"], layout, weight=True) \
            if case.got["dw"].ndim == ctx.dims + 2 else None
        ex, ew = to_layout(case.want["dx"], layout), to_layout(case.want["dw"], layout, True)
        hits = [close(gx, ew), close(gw, ex)]
        return all(hits) if strict else any(hits)
    if crossed(ctx.main, False) and crossed(ctx.probe, True):
        return ("dx and dw are swapped: dx holds ∂L/∂w and dw holds ∂L/∂x — return "
                "(dx, dw, db) in this order")
    return None


@pattern("layout")
def _layout(ctx: Context):
    name, layout = ctx.tensor, ctx.checker.layout
    if name == "db":
        return None
    other = "nhwc" if layout == "nchw" else "nchw"
    weight = name == "dw"

    def in_other(case):
        g = got(case, name)
        return g is not None and g.ndim == ctx.dims + 2 and close(
            to_layout(g, layout, weight), to_layout(case.want[name], other, weight))
    if not ctx.both(in_other):
        return None
    names = {("nchw", False): "(N, C, H, W)", ("nhwc", False): "(N, H, W, C)",
             ("nchw", True): "(F, C, KH, KW)", ("nhwc", True): "(KH, KW, C, F)"}
    return (f"{name} comes back in the {other.upper()} layout {names[other, weight]}, but "
            f"{layout.upper()} {names[layout, weight]} was declared: transpose it back before "
            f"returning")


@pattern("transposed")
def _transposed(ctx: Context):
    name = ctx.tensor
    if name == "db" or ctx.dims < 2:
        return None
    letters = "DHW"[-ctx.dims:] if ctx.dims <= 3 else ""
    for perm in permutations(range(ctx.dims)):
        if perm == tuple(range(ctx.dims)):
            continue
        axes = (0, 1, *(2 + i for i in perm))
        e = ctx.main.want[name]
        if not close(e, e.transpose(axes)) and holds(
                ctx, name, lambda k, axes=axes: k.want[name].transpose(axes)):
            moved = " ↔ ".join(letters[i] for i in range(ctx.dims) if perm[i] != i)
            return (f"{name} is transposed: it equals the expected with its spatial axes "
                    f"swapped ({moved}) — rows and columns exchanged (an index pair (i, j) "
                    f"swapped, or a reshape/transpose in the wrong order)")
    return None


FLIP = (slice(None, None, -1),)


@pattern("flipped_kernel")
def _flipped_kernel(ctx: Context):
    if ctx.tensor != "out":
        return None
    flip = (slice(None),) * 2 + FLIP * ctx.dims

    def flipped(case):
        return ops.conv(case.a["x"], case.a["w"][flip], case.a["b"], **case.cfg.opts)
    if not ctx.both(lambda case: fits(case, "out", flipped)):
        return None
    return ("the forward flips the kernel: that is true convolution; deep-learning "
            "frameworks (and this check) use cross-correlation, O = X ⋆ F without rot180")


@pattern("mirrored")
def _mirrored(ctx: Context):
    name = ctx.tensor
    flip = (slice(None),) * 2 + FLIP * ctx.dims
    if name not in ("dx", "dw") or not ctx.both(
            lambda case: fits(case, name, lambda k: k.want[name][flip])):
        return None
    if name == "dw":
        return ("∂F is rot180 of the expected: correlation arguments swapped (∂L/∂F = X ⋆ ∂L/∂O, "
                "not ∂L/∂O ⋆ X) or the kernel flipped where it must not be")
    return ("∂X is mirrored: the full convolution needs rot180(F) (or, without "
            "flipping, the transposed index arithmetic)")


# --- the bias, the batch, the reduction axes, a constant factor -----------------------------


@pattern("bias_count")
def _bias_count(ctx: Context):
    if ctx.tensor != "out":
        return None

    def times(case):           # how many times the bias is in the user's output
        g = got(case, "out")
        c = None if g is None or g.shape != case.want["out"].shape else factor(
            g - case.want["out"], bias_like(case))
        return None if c is None or not np.isclose(c, round(c)) else round(c) + 1
    per = {"(C − 1)·b": "added once per input channel, inside the loop over channels",
           "(KH·KW − 1)·b": "added once per kernel tap, inside the loop over the kernel",
           "(C·KH·KW − 1)·b": "added once per window element, inside the loops over "
                              "channels and taps"}
    label = named(ctx, times, [("missing", lambda cfg: 0),
                               *((text, lambda cfg, i=i: counts(cfg)[i][1])
                                 for i, text in enumerate(per)), ("b", lambda cfg: 2)])
    k = times(ctx.main)
    if label is None and (k is None or k != times(ctx.probe)):
        return None
    if label == "missing":
        return "out + b = expected: the bias is missing (add b[f] to every output of filter f)"
    how = per.get(label, "added twice" if label == "b" else "subtracted instead of added"
                  if k == -1 else f"added {k} times")
    return (f"out − expected = {label or f'{k - 1}·b'} per filter: the bias is {how} — add "
            f"it once per output")


@pattern("dw_batch")
def _dw_batch(ctx: Context):
    if ctx.tensor != "dw" or ctx.cfg.batch < 2:
        return None

    def grad(case, images):
        x, dout = case.a["x"][images], case.a["dout"][images]
        return ops.conv_grad_weight(x, dout, case.cfg.w_shape, **case.cfg.opts)
    for alternative, text in [
            (lambda k: grad(k, slice(0, 1)), "dw is only image 0's contribution: sum over the "
                                              "batch (dw += … for every image n)"),
            (lambda k: grad(k, slice(-1, None)), "dw is only the last image's contribution: it "
                                                  "is reset or overwritten for each image — "
                                                  "initialise it once and accumulate (+=) over "
                                                  "the batch"),
            (lambda k: k.want["dw"] / k.cfg.batch, "dw is the mean over the batch, not the sum: "
                                                   "drop the division by N")]:
        if holds(ctx, "dw", alternative):
            return text
    return None


@pattern("db_axes")
def _db_axes(ctx: Context):
    if ctx.tensor != "db":
        return None
    nd = ctx.dims + 2
    channel = 1 if ctx.checker.layout == "nchw" else nd - 1
    right = tuple(i for i in range(nd) if i != channel)

    def user_db(case, reduce, axes, images=slice(None)):
        d = to_layout(case.a["dout"], ctx.checker.layout)[images]
        r = getattr(d, reduce)(axis=axes)
        return r.reshape(-1) if r.size == case.cfg.cout else r
    options = [("mean", right, f"db is dout.mean(axis={right}), not a sum: ∂b = "
                               f"dout.sum(axis={right})")]
    options += [("sum", axes, f"db is dout.sum(axis={axes}); ∂b sums over the batch and every "
                              f"position, per filter: dout.sum(axis={right})")
                for r in range(1, nd + 1) for axes in combinations(range(nd), r) if axes != right]
    for reduce, axes, text in options:
        if holds(ctx, "db", partial(user_db, reduce=reduce, axes=axes)):
            return text
    if holds(ctx, "db", partial(user_db, reduce="sum", axes=right, images=slice(0, 1))):
        return f"db is only image 0's sum: sum over the batch too, dout.sum(axis={right})"
    return None


@pattern("scaled")
def _scaled(ctx: Context):
    name = ctx.tensor
    relations = [(f"divided by {label}", lambda cfg, i=i: 1 / counts(cfg)[i][1])
                 for i, (label, _) in enumerate(counts(ctx.cfg))]
    relations += [(f"multiplied by {label}", lambda cfg, i=i: counts(cfg)[i][1])
                  for i, (label, _) in enumerate(counts(ctx.cfg))]
    relations += [("negated (the sign is flipped)", lambda cfg: -1.0),
                  ("doubled", lambda cfg: 2.0), ("halved", lambda cfg: 0.5)]
    forms = [(name, lambda case: factor(got(case, name), case.want[name]), "expected")]
    if name == "out":
        forms.append(("out − b", lambda case: None if got(case, "out") is None or got(
            case, "out").shape != case.want["out"].shape else factor(
            got(case, "out") - bias_like(case), case.want["out"] - bias_like(case)),
            "(expected − b)"))
    for what, value, rhs in forms:
        c = value(ctx.main)
        if c is None or abs(c) < 1e-9 or np.isclose(c, 1):
            continue
        label = named(ctx, value, relations)
        if label is None and c is not None and np.isclose(c, value(ctx.probe) or np.nan):
            label = f"off by the constant factor {c:.4g}"
        if label:
            hint = " (np.mean where np.sum is meant?)" if "window" in label and \
                label.startswith("divided") else ""
            the = "the " if rhs == "expected" else ""
            return f"{what} is {the}{rhs} {label}: {what} = {c:.4g} × {rhs}{hint}"
    return None


@pattern("bias_only")
def _bias_only(ctx: Context):
    hit = ctx.tensor == "out" and bias_where_wrong(ctx.main)
    if not hit:
        return None
    count, where = hit
    return (f"out is exactly the bias at the {count} wrong position(s) (first out{list(where)}): "
            f"the window sum there is 0, the window read only zeros — padding added where "
            f"none is asked (a constant pad?) or an empty/misplaced window slice")


# --- heuristics that the numbers support but do not prove: last -----------------------------


@pattern("assignment")
def _assignment(ctx: Context):
    f, cfg = ctx.f, ctx.cfg
    if f.tensor != "dx" or f.kind != "values":
        return None
    count = np.rint(ops.conv_grad_input(np.ones(cfg.out_shape), np.ones(cfg.w_shape),
                                        cfg.x_shape, **cfg.opts))    # terms reaching each
    wrong = ~np.isclose(f.got, f.expected, rtol=1e-6, atol=1e-9)
    if wrong.any() and (count[wrong] >= 2).all() and (count >= 2).any():
        return ("∂X is wrong only where several terms meet (overlapping windows or several "
                "filters), right where one term lands: an assignment (=) where accumulation "
                "(+=) is needed")
    return None


@pattern("db_sum")
def _db_sum(ctx: Context):
    if ctx.tensor == "db" and ctx.f.kind == "values":
        return "∂b must be Σ ∂L/∂O over the batch and every output position, per filter"
    return None
