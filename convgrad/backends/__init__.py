"""``convgrad.backends``: torch.backends' switches, so scripts that set them run unchanged
(``torch.backends.cudnn.benchmark = True``). convgrad computes with NumPy on the CPU: there is
no cuDNN, MPS, CUDA or oneDNN (mkldnn) behind it, so every ``is_available()`` answers False and
the flags are stored but change nothing.

>>> cudnn.benchmark = True; cudnn.benchmark, cudnn.is_available(), mps.is_available()
(True, False, False)
>>> cuda.matmul.allow_tf32
False
"""

from __future__ import annotations

import sys
from contextlib import contextmanager


class _Flags:
    """A namespace of named flags: setting a known one stores it, an unknown name is torch's
    AttributeError (a typo such as ``cudnn.benchmrk = True`` is not silently ignored)."""

    def __init__(self, name: str, **flags):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "__name__", name)   # importable as a module (sys.modules)
        object.__setattr__(self, "_flags", dict(flags))

    def __getattr__(self, key: str):
        flags = object.__getattribute__(self, "_flags")
        if key in flags:
            return flags[key]
        raise AttributeError(f"{object.__getattribute__(self, '_name')} has no attribute "
                             f"{key!r}")

    def __setattr__(self, key: str, value) -> None:
        if key in self._flags:
            self._flags[key] = value
        elif key in type(self).__dict__ or key in self.__dict__:
            object.__setattr__(self, key, value)
        else:
            raise AttributeError(f"{self._name}: Unknown attribute {key}")

    def __repr__(self) -> str:
        return f"<{self._name} {self._flags}>"


def _no() -> bool:
    return False


class _Cudnn(_Flags):
    """torch.backends.cudnn: no cuDNN here (``is_available()`` is False, ``version()`` None)."""

    def __init__(self):
        super().__init__("convgrad.backends.cudnn", enabled=True, benchmark=False,
                         deterministic=False, allow_tf32=True, benchmark_limit=10)

    is_available = staticmethod(_no)

    @staticmethod
    def version():
        return None

    @contextmanager
    def flags(self, enabled=False, benchmark=False, deterministic=False, allow_tf32=True):
        """Set the flags inside a ``with`` block, restoring them after (as torch)."""
        saved = dict(self._flags)
        self._flags.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic,
                           allow_tf32=allow_tf32)
        try:
            yield
        finally:
            self._flags.update(saved)


class _Cuda(_Flags):
    """torch.backends.cuda: not built with CUDA; ``matmul.allow_tf32`` and kin are stored."""

    def __init__(self):
        super().__init__("convgrad.backends.cuda")
        object.__setattr__(self, "matmul", _Flags(
            "convgrad.backends.cuda.matmul", allow_tf32=False,
            allow_fp16_reduced_precision_reduction=True,
            allow_bf16_reduced_precision_reduction=True, fp32_precision="none"))

    is_built = staticmethod(_no)
    flash_sdp_enabled = mem_efficient_sdp_enabled = math_sdp_enabled = staticmethod(_no)


class _Available(_Flags):
    """A backend that convgrad does not use: not built, not available."""

    is_available = is_built = staticmethod(_no)


cudnn = _Cudnn()
cuda = _Cuda()
mps = _Available("convgrad.backends.mps")
mkldnn = _Available("convgrad.backends.mkldnn", enabled=False)
openmp = _Available("convgrad.backends.openmp")

__all__ = ["cudnn", "cuda", "mps", "mkldnn", "openmp"]

for _name in __all__:                # `import convgrad.backends.cudnn as cudnn`, as torch's
    sys.modules[f"{__name__}.{_name}"] = globals()[_name]
