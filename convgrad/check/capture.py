"""What the checked code prints, kept out of the report: while a ``Capture`` is active, every
write to ``sys.stdout`` or ``sys.stderr`` from a thread other than the one that entered it (the
user's calls run on their own threads) is kept, not printed; the checker's own thread writes
through."""

from __future__ import annotations

import sys
import threading

SHOWN = 40                      # lines of captured output that --show-output prints


class _Stream:
    """Stands in for sys.stdout / sys.stderr: the owner's writes go to the real stream."""

    def __init__(self, real, capture: Capture):
        self._real, self._capture = real, capture

    def write(self, text) -> int:
        if threading.get_ident() == self._capture.owner:
            return self._real.write(text)
        with self._capture.lock:
            self._capture.parts.append(str(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if threading.get_ident() == self._capture.owner:
            self._real.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


class Capture:
    """``with Capture() as c: ...`` then ``c.lines``: the lines the other threads printed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.parts: list[str] = []
        self.owner = None
        self._saved = None

    def __enter__(self) -> Capture:
        self.owner = threading.get_ident()
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = _Stream(sys.stdout, self), _Stream(sys.stderr, self)
        return self

    def __exit__(self, *exc) -> None:
        out, err = self._saved
        if isinstance(sys.stdout, _Stream) and sys.stdout._capture is self:
            sys.stdout = out
        if isinstance(sys.stderr, _Stream) and sys.stderr._capture is self:
            sys.stderr = err

    @property
    def lines(self) -> list[str]:
        with self.lock:
            return "".join(self.parts).splitlines()


def summary(lines: list[str], who: str, show: bool) -> list[str]:
    """The report's lines about captured output: a count, or (``show``) the first lines."""
    if not lines:
        return []
    count = f"{len(lines)} line{'s' if len(lines) != 1 else ''}"
    if not show:
        return [f"{who} printed {count} (--show-output to see them)"]
    head = f"{who} printed {count}" + (f"; the first {SHOWN}:" if len(lines) > SHOWN else ":")
    return [head, *(f"  | {line}" for line in lines[:SHOWN])]
