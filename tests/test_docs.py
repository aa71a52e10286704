"""The documentation pages run: every ```python block of docs/saving.md is executed in order in
one namespace (in a temporary folder), and a ```text block right after a code block must be
exactly what that code printed."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from helpers import import_torch

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["saving.md"]
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)


def blocks(page: str) -> list[tuple[str, str | None]]:
    """(code, expected output or None) for each python block of ``page``."""
    found = [(m.group(1), m.group(2)) for m in BLOCK.finditer((DOCS / page).read_text())]
    pairs = []
    for i, (kind, text) in enumerate(found):
        if kind == "python":
            after = found[i + 1] if i + 1 < len(found) else None
            pairs.append((text, after[1] if after and after[0] == "text" else None))
    return pairs


@pytest.mark.parametrize("page", PAGES)
def test_every_code_block_runs_and_prints_what_the_page_says(page, tmp_path, monkeypatch):
    import_torch()
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page}"}
    pairs = blocks(page)
    assert pairs, f"{page} has no python blocks"
    for number, (code, expected) in enumerate(pairs, 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page} block {number}", "exec"), namespace)
        if expected is not None:
            assert out.getvalue() == expected, f"{page} block {number} printed {out.getvalue()!r}"
