"""``export``: a module's forward pass, traced once, as an ONNX model (torch.onnx.export's
signature).

The model runs in eval mode on ``args`` under ``no_grad`` while a ``Tracer`` records every op
(see ``convgrad.autograd.trace``); each op is translated to ONNX nodes
(``convgrad.onnx.symbolic``); parameters and buffers become initializers under their
state-dict names. The forward pass is traced a second time on perturbed inputs: a value that
reached the graph as a constant but changed between the two runs was computed from the input
by something the tracer cannot see, and the export is refused rather than freezing it. The
model is checked with ``onnx.checker.check_model`` before it is written.
"""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO, Mapping, Sequence

import numpy as np

from ..autograd import Tensor, no_grad
from ..autograd.trace import tracing
from .builder import Builder
from .symbolic import TRANSLATIONS, UnsupportedUse
from .tracer import STALE, Tracer, Value

DEFAULT_OPSET, OPSETS = 17, range(17, 22)
_IGNORED = {"export_params": True, "verbose": False, "training": None, "dynamo": False,
            "keep_initializers_as_inputs": False, "external_data": False,
            "operator_export_type": None}


class UnsupportedOperatorError(ValueError):
    """Raised by ``export`` for ops of the forward pass that have no ONNX translation."""


def supported_ops() -> list[str]:
    """The op kinds ``export`` translates (primitive op names and ``@traced`` kinds)."""
    return sorted(TRANSLATIONS)


def export(model: Any, args: Any, f: str | os.PathLike | BinaryIO,
           input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None,
           dynamic_axes: Mapping[str, Any] | None = None, opset_version: int | None = None,
           do_constant_folding: bool = True, **options: Any) -> None:
    """Write ``model``'s forward pass on ``args`` to ``f`` (a path or binary file) as ONNX.

    ``args``: a Tensor, or a tuple of positional arguments (a trailing dict: keyword
    arguments). ``input_names``/``output_names`` name the graph's tensor inputs and outputs
    (default ``input``/``input_1``… and ``output``/``output_1``…); ``dynamic_axes``
    ``{name: {axis: "label"}}`` or ``{name: [axis, ...]}`` leaves those axes free (the batch).
    ``opset_version`` 17-21 (default 17). ``do_constant_folding``: ops on constants only are
    computed once and stored. torch's ``export_params=True``, ``verbose``, ``training``
    (eval only), ``dynamo=False``, ``keep_initializers_as_inputs=False`` are accepted.
    """
    onnx = _import_onnx()
    _check_options(options)
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if isinstance(opset, bool) or not isinstance(opset, int) or opset not in OPSETS:
        raise ValueError(f"onnx.export: opset_version must be an int in {OPSETS.start}.."
                         f"{OPSETS.stop - 1}, got {opset_version!r}")
    positional, keywords = _split_args(args)
    names = _parameter_names(model)
    first, outputs, inputs = _trace(model, positional, keywords, names, do_constant_folding,
                                    input_names)
    out_names = _names(output_names, len(outputs), "output", "output_names")
    dynamic = _dynamic_axes(dynamic_axes, [v.name for v in inputs], out_names)
    grown = [dynamic.get(v.name, {}) for v in inputs]
    try:
        second = _trace(model, _perturbed(positional, grown), keywords, names,
                        do_constant_folding, input_names)[0]
    except Exception as e:
        raise ValueError(f"onnx.export: the forward pass fails on a second input with new "
                         f"values{' and other sizes of the dynamic axes' if dynamic else ''} "
                         f"({type(e).__name__}: {e}); it cannot be exported as one graph"
                         ) from e
    _compare(first, second, bool(dynamic))
    g = Builder(onnx, opset, dynamic=bool(dynamic))
    _translate(g, first)
    graph = _graph(g, inputs, outputs, out_names, dynamic)
    model_proto = onnx.helper.make_model(
        graph, producer_name="convgrad", opset_imports=[onnx.helper.make_opsetid("", opset)])
    model_proto.ir_version = min(model_proto.ir_version, _IR_FOR_OPSET.get(opset, 10))
    onnx.checker.check_model(model_proto, full_check=True)
    _write(model_proto.SerializeToString(), f)


_IR_FOR_OPSET = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


def _import_onnx():
    try:
        import onnx  # noqa: PLC0415
    except ImportError:
        raise ImportError("convgrad.onnx.export needs the onnx package: "
                          "pip install 'convgrad[onnx]'") from None
    return onnx


def _check_options(options: dict) -> None:
    for key, value in options.items():
        if key not in _IGNORED:
            raise TypeError(f"onnx.export: unexpected keyword argument {key!r}")
        if key == "training" and value is not None and str(value).split(".")[-1] not in (
                "EVAL", "PRESERVE", "False"):
            raise ValueError("onnx.export: only eval-mode export is supported (training="
                             f"{value!r}); the model is exported as model.eval() runs it")
        elif key == "export_params" and value is not True:
            raise ValueError("onnx.export: export_params=False is not supported (the "
                             "parameters are stored as initializers)")
        elif key in ("dynamo", "external_data", "keep_initializers_as_inputs") and value:
            raise ValueError(f"onnx.export: {key}=True is not supported")


def _split_args(args: Any) -> tuple[tuple, dict]:
    if isinstance(args, Tensor):
        return (args,), {}
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"onnx.export: args must be a Tensor or a tuple of arguments, got "
                        f"{type(args).__name__}")
    args = tuple(args)
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _parameter_names(model: Any) -> dict[int, str]:
    names: dict[int, str] = {}
    for getter in ("named_parameters", "named_buffers"):
        for name, t in getattr(model, getter, lambda: ())():
            if t is not None:
                names.setdefault(id(t), name)
    return names


def _names(given, count: int, stem: str, what: str) -> list[str]:
    defaults = [stem if i == 0 else f"{stem}_{i}" for i in range(count)]
    if given is None:
        return defaults
    given = list(given)
    if not all(isinstance(n, str) and n for n in given) or len(set(given)) != len(given):
        raise ValueError(f"onnx.export: {what} must be distinct non-empty strings, got {given}")
    if len(given) > count:
        raise ValueError(f"onnx.export: {len(given)} {what} for {count} tensors")
    return given + defaults[len(given):]


def _trace(model, positional, keywords, names, fold, input_names):
    tracer = Tracer(names, fold=fold)
    tensors = [a for a in positional if isinstance(a, Tensor)]
    labels = _names(input_names, len(tensors), "input", "input_names")
    inputs, feed, k = [], [], 0
    for a in positional:
        if isinstance(a, Tensor):
            copy = Tensor(np.array(a.array, copy=True))
            inputs.append(tracer.input(copy, labels[k]))
            feed.append(copy)
            k += 1
        else:
            feed.append(a)
    training = getattr(model, "training", None)
    if training:
        model.eval()
    try:
        with no_grad(), tracing(tracer):
            result = model(*feed, **keywords)
    finally:
        if training:
            model.train(training)
    outputs = [tracer.value(t) for t in _flat_outputs(result)]
    return tracer, outputs, inputs


def _flat_outputs(result) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    items = result.values() if isinstance(result, dict) else result
    if isinstance(result, (tuple, list, dict)):
        return [t for item in items for t in _flat_outputs(item)]
    raise TypeError(f"onnx.export: the model returned {type(result).__name__}; expected "
                    f"Tensors (alone, or in tuples, lists or dicts)")


def _perturbed(positional: tuple, grown: list) -> tuple:
    """New inputs: floats drawn with each input's own mean and spread, integers within its
    own range (indices stay valid), bools at random — so a value computed from the input by
    an untraced op changes too; each dynamic axis (``grown[k]``: the k-th tensor's) one
    longer, so a size read from the input and frozen into the graph changes too."""
    rng = np.random.default_rng(0)
    out, k = [], 0
    for a in positional:
        if not isinstance(a, Tensor):
            out.append(a)
            continue
        shape = tuple(n + (i in grown[k]) for i, n in enumerate(a.shape))
        k += 1
        if not a.numel() or a.dtype.kind not in "fiub":
            out.append(a)
        elif a.dtype.kind == "f":
            values = a.array.astype(np.float64)
            finite = values[np.isfinite(values)]
            mean, spread = (finite.mean(), finite.std() + 1e-3) if finite.size else (0.0, 1.0)
            draw = mean + spread * rng.standard_normal(shape)
            out.append(Tensor(draw.astype(a.dtype)))
        elif a.dtype.kind == "b":
            out.append(Tensor(rng.random(shape) < 0.5))
        else:
            low, high = int(a.array.min()), int(a.array.max())
            out.append(Tensor(rng.integers(low, high, shape, endpoint=True).astype(a.dtype)))
    return tuple(out)


def _compare(first: Tracer, second: Tracer, dynamic: bool) -> None:
    """Refuse a graph that would freeze what depends on the input: the two traces must run the
    same ops, with the same constants (and the same literal arrays as op arguments)."""
    kinds = [op.kind for op in first.ops], [op.kind for op in second.ops]
    if kinds[0] != kinds[1]:
        raise ValueError("onnx.export: the forward pass ran different ops on a second, "
                         "perturbed input (control flow that depends on the data cannot be "
                         "traced into one graph)")
    consts = [t.constants() for t in (first, second)]
    literals = [[a for op in t.ops for a in _literals(op.args)] for t in (first, second)]
    for a, b in zip(consts[0] + literals[0], consts[1] + literals[1]):
        a_array, b_array = (v.array if isinstance(v, Value) else v for v in (a, b))
        if a_array.shape != b_array.shape and dynamic:
            raise ValueError("onnx.export: a tensor whose shape follows a dynamic axis of the "
                             "input (made from x.shape or x.size(), e.g. zeros(x.size(0), n)) "
                             "would be frozen into the graph at the traced size; make it with "
                             "an op on the input (zeros_like, expand_as, …) or export without "
                             "dynamic_axes")
        if a_array.shape != b_array.shape or not np.array_equal(a_array, b_array,
                                                                   equal_nan=True):
            users = sorted({op.kind for op in first.ops if any(i is a for i in op.inputs)})
            raise ValueError(f"onnx.export: a tensor computed by an op the exporter cannot "
                             f"trace (its value changed with the input, or it is random) would "
                             f"be frozen into the graph as a constant; it feeds "
                             f"{', '.join(users) or 'the output'}")


def _literals(args: dict) -> list[np.ndarray]:
    """The NumPy arrays among an op's arguments (masks, indices computed outside the graph)."""
    found = []
    for v in args.values():
        items = v if isinstance(v, (list, tuple)) else [v]
        found.extend(a for a in items if isinstance(a, np.ndarray))
    return found


def _translate(g: Builder, tracer: Tracer) -> None:
    missing: dict[str, int] = {}
    problems: list[str] = []
    for op in tracer.ops:
        if op.kind == STALE:
            problems.append(STALE)
            continue
        translation = TRANSLATIONS.get(op.kind)
        if translation is None:
            missing[op.kind] = missing.get(op.kind, 0) + 1
            continue
        try:
            translation(g, op)
        except UnsupportedUse as e:
            problems.append(f"{op.kind}: {e}")
    if missing or problems:
        listed = [f"{k!r} (×{n})" if n > 1 else repr(k) for k, n in missing.items()]
        raise UnsupportedOperatorError(
            "onnx.export: cannot export this forward pass: "
            + "; ".join(([f"no ONNX translation for {', '.join(listed)}"] if listed else [])
                        + sorted(set(problems)))
            + " (convgrad.onnx.supported_ops() lists what is translated)")


def _value_info(onnx, name: str, v: Value, axes: dict[int, str] | None, unknown: bool):
    dtype = onnx.helper.np_dtype_to_tensor_dtype(v.dtype)
    if unknown:
        shape = [None] * v.ndim
    else:
        shape = [(axes or {}).get(i, n) for i, n in enumerate(v.shape)]
    return onnx.helper.make_tensor_value_info(name, dtype, shape)


def _graph(g: Builder, inputs: list[Value], outputs: list[Value], out_names, dynamic):
    onnx = g.onnx
    out_infos = []
    renamed: set[str] = set()
    for v, name in zip(outputs, out_names):
        if v.const or v.name in renamed or any(v is i for i in inputs):
            g.op("Identity", [v], name)                 # an input, a constant, a repeat
        elif v.name != name:
            _rename(g.nodes, v.name, name)              # the producing node writes the output
            renamed.add(v.name)
            v.name = name
        axes = dynamic.get(name)
        out_infos.append(_value_info(onnx, name, v, axes, unknown=bool(dynamic) and not axes))
    in_infos = [_value_info(onnx, v.name, v, dynamic.get(v.name), False) for v in inputs]
    return onnx.helper.make_graph(g.nodes, "convgrad", in_infos, out_infos,
                                  initializer=list(g.initializers.values()))


def _rename(nodes, old: str, new: str) -> None:
    for node in nodes:
        for field in (node.input, node.output):
            for i, name in enumerate(field):
                if name == old:
                    field[i] = new


def _dynamic_axes(given, inputs: list[str], outputs: list[str]) -> dict[str, dict[int, str]]:
    if not given:
        return {}
    if not isinstance(given, Mapping):
        raise TypeError(f"onnx.export: dynamic_axes must be a dict, got {type(given).__name__}")
    axes: dict[str, dict[int, str]] = {}
    for name, spec in given.items():
        if name not in inputs and name not in outputs:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is neither an "
                             f"input ({inputs}) nor an output ({outputs})")
        if isinstance(spec, Mapping):
            axes[name] = {int(a): str(label) for a, label in spec.items()}
        elif isinstance(spec, (list, tuple)):
            axes[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}
        else:
            raise TypeError(f"onnx.export: dynamic_axes[{name!r}] must be a dict or a list of "
                            f"axes, got {type(spec).__name__}")
    return axes


def _write(data: bytes, f) -> None:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as out:
            out.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"onnx.export: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
