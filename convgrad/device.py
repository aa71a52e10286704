"""Devices: convgrad computes on the CPU. ``device('cuda')`` can be named (scripts written for
a GPU build one), but a tensor can only live on ``cpu``; moving one elsewhere is torch's error on
a machine without CUDA.

>>> device("cpu"), str(device("cuda:0"))
(device(type='cpu'), 'cuda:0')
"""

from __future__ import annotations

_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # noqa: N801  (torch's name)
    """torch.device: a type (``'cpu'``, ``'cuda'``, …) and an optional index."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):    # noqa: A002 (torch's name)
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        elif not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {type!r}")
        name, _, number = type.partition(":")
        if name not in _TYPES or (number and not number.isdigit()):
            raise RuntimeError(f"device: expected one of {', '.join(_TYPES)} device type at "
                               f"start of device string: {type}")
        if number:
            if index is not None:
                raise RuntimeError(f"device: type (string) must not include an index because "
                                   f"index was passed explicitly: {type}")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: index must be a non-negative int, got {index!r}")
        self.type, self.index = name, index

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


CPU = device("cpu")


def check_device(where, op: str) -> None:
    """None or the CPU; anything else is torch's error on a machine without that device."""
    if where is None:
        return
    if not isinstance(where, device):
        where = device(where)
    if where.type != "cpu":
        raise RuntimeError(f"{op}: convgrad computes on the CPU only; device '{where}' is not "
                           f"available (convgrad.cuda.is_available() is False). Pick the "
                           f"device as tutorials do: device = 'cuda' if "
                           f"convgrad.cuda.is_available() else 'cpu'")
