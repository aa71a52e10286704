"""MkDocs hook (mkdocs.yml ``hooks:``): explain's figures and interactive page, made at build time.

``on_files`` runs :data:`COMMAND` — ``convgrad explain … --format html --out explain/``, the
command that why-backward-is-a-convolution.md and explain-page.md show — into a temporary
folder, and adds what it writes (``explain.html`` and its four PNGs) to the site under
``explain/``. The pages use them as ``explain/full_convolution.png`` and
``<iframe src="explain/explain.html">``.

Why at build time, not committed copies: the page inlines the scripts of
``convgrad/explain/page/`` and the figures are drawn by ``convgrad/explain/figures.py``. A
committed copy would go stale without notice whenever one of them changes, and a 180 kB
generated HTML file (plus PNGs rewritten by every matplotlib release) would churn the history.
The cost is the ``explain`` extra (sympy, matplotlib: part of the ``docs`` extra) and about 3 s
of build time. tests/test_docs.py runs the same command from the pages and builds the site.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

COMMAND = ("convgrad explain --input 5x5 --kernel 3x3 --stride 2 --padding 1 --format html "
           "--out explain/")
SITE_FOLDER = "explain"
_TEMP: list[tempfile.TemporaryDirectory] = []     # kept until the build process ends


def on_files(files, config):
    """Run COMMAND and add its files to the site under ``explain/``."""
    from convgrad.cli import main  # noqa: PLC0415  (convgrad is imported only when building)

    temp = tempfile.TemporaryDirectory(prefix="convgrad-docs-")
    _TEMP.append(temp)
    out = Path(temp.name) / SITE_FOLDER
    argv = shlex.split(COMMAND)[1:-1] + [str(out)]
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"docs/hooks.py: `{COMMAND}` exited with {code}: {report.getvalue()}")
    for path in sorted(out.iterdir()):
        files.append(File.generated(config, f"{SITE_FOLDER}/{path.name}",
                                    abs_src_path=str(path)))
    return files
