"""The ``convgrad`` command line (the console script is ``convgrad.cli:main``).

``parser`` builds the argument tree; ``usage`` holds the one error style and the checks every
command makes before doing any work (optional dependencies, output paths); each command is its
own module (``train``, ``explain``, ``bench``, ``check``, ``gradcheck``) with ``run_<command>``,
imported only when that command runs.

Every user error — a bad argument, unusable data, a missing optional dependency, an output path
that cannot be written — is one line on stderr, ``convgrad <command>: <message>``, and exit
code 2, before any work is done.
"""

from __future__ import annotations

import importlib
import sys
from typing import Sequence

from .parser import COMMANDS, build_parser
from .usage import UsageError, output_dir, output_file, require

__all__ = ["main", "build_parser", "COMMANDS", "UsageError", "require", "output_file",
           "output_dir"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 done, 1 a check failed, 2 a user error)."""
    from ..data import DataError  # noqa: PLC0415

    parser = build_parser()
    command = None
    try:
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as e:                    # --help, --version
            return e.code if isinstance(e.code, int) else 0
        command = args.command
        if extra:
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}", command)
        if command is None:
            raise UsageError(f"choose a command: {', '.join(COMMANDS)} (see convgrad --help)")
        module = importlib.import_module(f"{__name__}.{command}")
        return getattr(module, f"run_{command}")(args)
    except (UsageError, DataError) as e:
        where = getattr(e, "command", None) or command
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"convgrad {where}: {message}" if where else f"convgrad: {message}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"convgrad {command or ''}: interrupted".replace(" :", ":"), file=sys.stderr)
        return 130
