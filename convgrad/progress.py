"""Training progress: a live bar on a terminal (tqdm, fitted to the terminal's width), and one
plain line per epoch — all a log file, a pipe or a terminal without tqdm sees."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO


def _tqdm():
    try:
        from tqdm import tqdm  # noqa: PLC0415
    except ImportError:
        return None
    return tqdm


class Progress:
    """``update`` advances the bar (terminals with tqdm installed only); ``finish`` ends the
    epoch with one line. The bar never wraps: tqdm trims it to the terminal's width (followed
    as the terminal is resized when the stream is the terminal itself)."""

    def __init__(self, epochs: int, batches: int, stream: TextIO | None = None,
                 tqdm=None, interval: float = 0.1):
        self.stream, self.interval = stream or sys.stdout, interval
        self.stream = stream or sys.stdout
        self.epochs, self.batches = epochs, batches
        live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.tqdm = (tqdm or _tqdm()) if live else None
        self.bar = None

    @property
    def live(self) -> bool:
        return self.tqdm is not None

    def begin(self) -> None:
        """Start the next epoch (the bar appears with its first update)."""
        self._close()

    def update(self, epoch: int, done: int, loss: float, accuracy: float, images: int) -> None:
        if not self.live:
            return
        if self.bar is None:
            self.bar = self.tqdm(
                total=self.batches, file=self.stream, leave=False, unit="img",
                ncols=shutil.get_terminal_size().columns, dynamic_ncols=self._resizable(),
                mininterval=self.interval, bar_format="{desc}  {bar}")
        self.bar.set_description_str(         # most telling first: a narrow terminal cuts the end
            f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}  "
            f"{done:>{len(str(self.batches))}}/{self.batches}  loss {loss:.4f}  "
            f"acc {accuracy:6.2%}", refresh=False)
        self.bar.update(done - self.bar.n)

    def finish(self, epoch: int, line: str) -> None:
        self._close()
        self.stream.write(f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}  "
                          f"{line}\n")
        self.stream.flush()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _resizable(self) -> bool:
        try:
            self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            return False
        return True
