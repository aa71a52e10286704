"""``convgrad explain``: the symbolic derivation of conv backprop for one configuration."""

from __future__ import annotations

import numpy as np

from .usage import UsageError, output_dir, require


def run_explain(args) -> int:
    """Print the derivation (or write it with figures to --out); exit 2 on a bad config."""
    require("sympy", "explain")
    if args.out or args.format == "html":
        require("matplotlib", "explain", why="figures (--out, --format html) ")
    output_dir("--out", args.out)
    from .. import explain as ex  # noqa: PLC0415
    from ..explain import render  # noqa: PLC0415

    try:
        size = ex.parse_size(args.input, "--input")
        kernel = (ex.parse_size(args.kernel, "--kernel") if args.kernel else (2,) * len(size))
        if len(kernel) == 1 and len(size) == 2:
            kernel = kernel * 2
        stride, dilation = (_per_dim(ex.parse_size(v, name), len(size), name) for v, name in
                            ((args.stride, "--stride"), (args.dilation, "--dilation")))
        values = tuple(_number(v, "--values") for v in args.values.split(","))
        if len(values) != 3:
            raise ValueError(f"--values needs three numbers x,y,z, got {args.values!r}")
        report = ex.explain(size, kernel, stride, ex.parse_padding(args.padding), dilation,
                            args.in_channels, args.out_channels, args.groups, values,
                            args.max_equations, args.seed)
    except ValueError as e:
        raise UsageError(str(e).removeprefix("explain: ")) from None
    if args.out:
        written = render.write(report, args.format, args.out)
        print(f"wrote {', '.join(written)} to {args.out}")
    elif args.format == "html":
        import tempfile  # noqa: PLC0415

        from ..explain.figures import draw_all  # noqa: PLC0415
        with tempfile.TemporaryDirectory() as tmp:
            print(render.to_html(report, draw_all(report, tmp)), end="")
    else:
        print({"text": render.to_text, "markdown": render.to_markdown,
               "json": render.to_json}[args.format](report), end="")
    return 0 if all(report["verified"].values()) else 1


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: expected numbers, got {text!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected finite numbers, got {text!r}")
    return value


def _per_dim(values: tuple, ndim: int, name: str) -> tuple:
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise ValueError(f"{name} has {len(values)} values for a {ndim}-d input")
    return values
