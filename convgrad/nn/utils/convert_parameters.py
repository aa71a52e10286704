"""``parameters_to_vector`` / ``vector_to_parameters`` (torch.nn.utils)."""

from __future__ import annotations

from typing import Iterable

from ...autograd import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (differentiable, as torch's ``cat``)."""
    from ... import cat  # noqa: PLC0415
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Overwrite the parameters' data with consecutive slices of ``vec`` (``param.data =``,
    as torch: no graph, the slices share vec's memory)."""
    if not isinstance(vec, Tensor):
        from ..module import typename  # noqa: PLC0415
        raise TypeError(f"expected convgrad.Tensor, but got: {typename(vec)}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec.array[pointer:pointer + n].reshape(tuple(param.shape))
        pointer += n
