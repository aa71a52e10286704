"""``convgrad check``: verify a user's conv forward/backward and report the smallest failing
case."""

from __future__ import annotations

import os

from .usage import UsageError, output_dir, require


def run_check(args) -> int:
    """Exit 0: every checked function passed; 1: one is wrong (with ``--kind backward`` the
    backward's verdict decides, its forward's is reported); 2: a usage error."""
    require("hypothesis", "check")
    if args.out:
        require("matplotlib", "plot", why="--out (the failure's figure) ")
    output_dir("--out", args.out)
    from .. import check  # noqa: PLC0415
    from ..check.capture import summary  # noqa: PLC0415
    from ..check.conventions import guess, partner  # noqa: PLC0415

    features = () if args.features == "none" else tuple(
        f.strip() for f in args.features.split(",") if f.strip())
    unknown = [f for f in features if f not in check.FEATURES]
    if unknown:
        raise UsageError(f"unknown feature {unknown[0]!r}; choose from "
                         f"{', '.join(check.FEATURES)} (or 'none')")
    if args.assume_tiling and "tiled" not in features:
        features += ("tiled",)
    module, name, printed = _load_target(args.target, args.timeout)
    where = args.target.rsplit(":", 1)[0]
    fn = getattr(module, name)
    style_guess, role = guess(fn, name)
    role = role or "forward"
    if args.kind in ("forward", "backward"):
        role = args.kind
    other = partner(module, name, role, args.forward if role == "backward" else None)
    kind = args.kind or ("both" if other else role)
    if kind == "both" and other is None:
        if role == "forward":
            looked = name.replace("forward", "backward") if "forward" in name else \
                f"{name}_backward"
            raise UsageError(f"--kind both: {where} has no backward {looked!r} to go with "
                             f"{name!r}")
        raise UsageError(f"--kind both: {where} has no forward to go with {name!r} (pass "
                         f"--forward NAME)")
    names = {role: name, ("backward" if role == "forward" else "forward"): other}
    functions = {k: getattr(module, v) if v else None for k, v in names.items()}
    style = args.style or style_guess or (guess(functions["forward"])[0]
                                          if functions["forward"] else None) or "torch"
    if kind == "backward" and style == "course" and functions["forward"] is None:
        forward_name = args.forward or name.replace("backward", "forward")
        raise UsageError(f"the course style backward needs its forward: {where} has no "
                         f"function {forward_name!r} (pass --forward NAME)")
    options = dict(style=style, layout=args.layout, dims=args.dims, features=features,
                   max_examples=args.max_examples, timeout=args.timeout, rtol=args.rtol,
                   seed=args.seed)
    try:
        if kind == "forward":
            reports = [check.conv_forward(functions["forward"], **options)]
            deciding = reports
        elif kind == "backward":
            report = check.conv_backward(functions["backward"], functions["forward"],
                                         **options)
            deciding = [report]
            reports = [r for r in (report.forward_report, report) if r is not None]
        else:
            reports = deciding = list(check.conv_pair(functions["forward"],
                                                      functions["backward"], **options))
    except check.CheckError as e:
        raise UsageError(str(e).removeprefix("check: ")) from None
    for report in reports:
        report.name = names[report.kind]
        if report.forward_name is not None:
            report.forward_name = names["forward"]
    for line in summary(printed, f"importing {where}", args.show_output):
        print(line)
    print("\n".join(check.render_text(r, args.show_output) for r in reports), end="")
    failed = [r for r in deciding if not r.passed]
    if args.out and failed:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "check_failure.png")
        if check.save_figure(failed[0], path):
            print(f"wrote {path}")
    return 1 if failed else 0


def _load_target(target: str, timeout: float):
    """(module, function name, the lines the import printed) from FILE.py:FUNCTION or
    package.module:FUNCTION; the import runs under the same time limit as the checked calls,
    and may not exit."""
    import importlib  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    from ..check.adapters import UserCodeError  # noqa: PLC0415
    from ..check.capture import Capture  # noqa: PLC0415
    from ..check.runner import call_with_timeout  # noqa: PLC0415

    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"target must be FILE.py:FUNCTION or package.module:FUNCTION, got "
                         f"{target!r}")
    if where.endswith(".py") and not os.path.isfile(where):
        raise UsageError(f"{where}: no such file")

    def import_target():
        if not where.endswith(".py"):
            return importlib.import_module(where)
        spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(where))[0], where)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    files = {os.path.normcase(os.path.realpath(where))} if where.endswith(".py") else set()
    try:
        with Capture() as printed:
            module = call_with_timeout(import_target, timeout, files=files)
    except UserCodeError as e:
        if e.kind == "hang":
            raise UsageError(f"importing {where} did not finish within {timeout:g} s "
                             f"(--timeout); does it run something at import?") from None
        if isinstance(e.cause, SystemExit):
            raise UsageError(f"importing {where} called sys.exit({e.cause.code!r}); a module "
                             f"to check must not exit at import (put its script part under "
                             f"if __name__ == '__main__':)") from None
        raise UsageError(f"importing {where} failed: {e}") from None
    if not callable(getattr(module, name, None)):
        raise UsageError(f"{where} has no function {name!r}")
    return module, name, printed.lines
