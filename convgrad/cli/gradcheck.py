"""``convgrad gradcheck``: every differentiable op against finite differences."""

from __future__ import annotations

from .usage import UsageError


def run_gradcheck(args) -> int:
    """Exit 0 when every op passes, 1 when one fails (the row says which and how)."""
    from .. import selfcheck  # noqa: PLC0415

    try:
        labels = selfcheck.select(args.ops)
    except ValueError as e:
        raise UsageError(str(e)) from None
    ok = selfcheck.run(tuple(args.order), labels, args.seed)
    print("all gradients agree with finite differences" if ok else "some gradients are wrong")
    return 0 if ok else 1
