"""A per-epoch progress bar on a terminal; plain lines (one per epoch) anywhere else."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``update`` redraws the bar in place (terminals only, at most ~10 times a second);
    ``finish`` ends the epoch with one line that is also all a log file or pipe sees."""

    def __init__(self, epochs: int, batches: int, stream: TextIO | None = None,
                 width: int = 24):
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.epochs, self.batches, self.width = epochs, batches, width
        self.start = self.last_draw = time.perf_counter()

    def begin(self) -> None:
        self.start = time.perf_counter()

    def update(self, epoch: int, done: int, loss: float, accuracy: float, images: int) -> None:
        now = time.perf_counter()
        if not self.live or (now - self.last_draw < 0.1 and done < self.batches):
            return
        self.last_draw = now
        filled = round(self.width * done / self.batches)
        bar = "█" * filled + "·" * (self.width - filled)
        rate = images / max(now - self.start, 1e-9)
        self.stream.write(f"\repoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs} {bar} "
                          f"{done}/{self.batches}  loss {loss:.4f}  acc {accuracy:6.2%}  "
                          f"{rate:,.0f} img/s ")
        self.stream.flush()

    def finish(self, epoch: int, line: str) -> None:
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}  "
                          f"{line}\n")
        self.stream.flush()
