"""The one error style of the command line and the checks every command makes before doing any
work: ``UsageError`` (one line on stderr, exit code 2), ``require`` (an optional dependency),
``output_file`` and ``output_dir`` (a path the command will write)."""

from __future__ import annotations

import os
import sys


class UsageError(Exception):
    """Bad arguments or unusable data: reported as one line, exit code 2. ``command``: the
    subcommand it belongs to (None: the top level)."""

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command


def require(module: str, extra: str, package: str | None = None, why: str = ""):
    """Import an optional dependency, or refuse with the extra that installs it."""
    try:
        __import__(module)
    except ImportError:
        raise UsageError(f"{why}needs {package or module}: pip install "
                         f"\"convgrad[{extra}]\"") from None
    return sys.modules[module]


def output_file(option: str, path: str | None) -> None:
    """A file the command will write: its folder exists and is writable, it is not a folder."""
    if path is None:
        return
    if not path or os.path.isdir(path):
        raise UsageError(f"{option} {path!r}: is a folder, not a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path,
                                                                                  os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")


def output_dir(option: str, path: str | None) -> None:
    """A folder the command will write into (created if missing): nothing in the way."""
    if path is None:
        return
    if not path:
        raise UsageError(f"{option}: empty folder name")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option} {path}: exists and is not a folder")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise UsageError(f"{option} {path}: {existing} is not writable")
