"""The documentation site runs: every code block of every page under docs/ (mkdocs.yml), and the
site builds in strict mode.

How a page runs (one helper, ``run_page``): in a fresh temporary working folder that holds links
to the repository's ``examples/``, ``benchmarks/`` and ``tests/`` (so that pages name those files
as from the root of a checkout), its blocks in order, in one Python namespace:

- a ```python block is executed (the working folder is on ``sys.path``, as for a ``python``
  started there); a ```text block right after it must be what it printed on stdout;
- a ```bash block: each line is one command, run by ``subprocess`` (no shell) in the working
  folder, ``convgrad`` and ``python`` being this interpreter's; stdout and stderr together, in
  order; a ```text block right after the block must be what its commands printed. Each exit
  status must be 0, or N where the line ends with a comment ``# … exit N``. Commands of ``pip``
  and ``mkdocs`` are not run: they change the environment or serve until stopped (the site
  build is ``test_the_site_builds_in_strict_mode``);
- a ```text block whose first line starts with ``$ `` is a transcript: each ``$ command`` runs
  as above, and the lines up to the next ``$ `` are its output;
- outputs are compared exactly, except that a line ``…`` in the page stands for any number of
  lines (elided output: a long derivation, timings);
- a snippet line ``--8<-- "path"`` (pymdownx.snippets, as in the site build; ``path:start:end``
  for lines) is replaced by that file of the repository;
- front matter: ``test_requires: [module, …]`` — optional dependencies of the page (skipped
  locally without them, an error in CI, as every optional test dependency; ``numba`` also needs
  the compiled kernels switched on); ``test_browser: FILE`` — the python blocks get ``driver``,
  a headless Chromium (Selenium) showing FILE of the working folder (written by an earlier
  command of the page).

Outputs are deterministic by construction: seeded random numbers, rounded prints, and elided
lines where a command reports times.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import chromium, import_optional

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
LINKED = ("examples", "benchmarks", "tests")          # repository folders a page may name
NOT_RUN = {"pip", "mkdocs"}
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
SNIPPET = re.compile(r'^[ \t]*--8<-- "([^":]+)(?::(\d*))?(?::(\d*))?"[ \t]*$', re.M)
TRANSCRIPT = re.compile(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", re.M)
EXIT = re.compile(r"#.*\bexit (\d+)\s*$")


@dataclass
class Step:
    """One thing a page runs: python code or shell commands, and what it must print."""

    kind: str                       # "python" or "shell"
    code: str
    expected: str | None
    where: str


def front_matter(text: str) -> tuple[dict, str]:
    """(the YAML front matter, the rest) of a page."""
    if not text.startswith("---\n"):
        return {}, text
    head, _, rest = text[4:].partition("\n---\n")
    return import_optional("yaml").safe_load(head) or {}, rest


def expand_snippets(text: str) -> str:
    """``--8<-- "path[:start[:end]]"`` lines replaced by those lines of the file (1-based)."""
    def lines(m: re.Match) -> str:
        body = (ROOT / m.group(1)).read_text().splitlines()
        start, end = int(m.group(2) or 1), int(m.group(3) or len(body))
        return "\n".join(body[start - 1:end])
    return SNIPPET.sub(lines, text)


def page_steps(page: str) -> tuple[dict, list[Step]]:
    """The front matter and the steps of ``page``, in order."""
    full = (DOCS / page).read_text()
    meta, text = front_matter(full)
    offset = full[:len(full) - len(text)].count("\n") + 1         # the page's line numbers
    blocks = [(m.group(1), expand_snippets(m.group(3)), text[:m.start()].count("\n") + offset)
              for m in FENCE.finditer(text)]
    steps = []
    for i, (lang, body, line) in enumerate(blocks):
        follows = blocks[i + 1] if i + 1 < len(blocks) else None
        after = follows[1] if follows and follows[0] == "text" else None
        where = f"{page}:{line}"
        if lang in ("python", "bash"):
            steps.append(Step("python" if lang == "python" else "shell", body, after, where))
        elif lang == "text" and body.startswith("$ ") and (i == 0 or blocks[i - 1][0] not in
                                                            ("python", "bash")):
            steps += [Step("shell", m.group(1) + "\n", m.group(2), where)
                      for m in TRANSCRIPT.finditer(body)]
    return meta, steps


def run_commands(code: str, cwd: Path, where: str) -> str:
    """The commands of a bash block (one per line), run in ``cwd``; their output."""
    output = []
    for line in code.splitlines():
        argv = shlex.split(line, comments=True)
        if not argv or argv[0] in NOT_RUN:
            continue
        program = {"convgrad": [sys.executable, "-m", "convgrad"],
                   "python": [sys.executable]}.get(argv[0], argv[:1])
        done = subprocess.run(program + argv[1:], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600)
        exit_code = int(m.group(1)) if (m := EXIT.search(line)) else 0
        assert done.returncode == exit_code, (f"{where}: `{line}` exited with {done.returncode}, "
                                              f"not {exit_code}:\n{done.stdout}")
        output.append(done.stdout)
    return "".join(output)


def assert_prints(got: str, expected: str, where: str) -> None:
    """``got`` is ``expected``, where a line ``…`` of ``expected`` stands for any lines."""
    pattern = "".join(r"(?:.*\n)*?" if line == "…" else re.escape(line) + r"\n"
                      for line in expected.splitlines())
    if re.fullmatch(pattern, got) is None:
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), got.splitlines(),
                                              "the page", "printed", lineterm=""))
        pytest.fail(f"{where}: the output is not what the page says:\n{diff}")


def browser():
    """Headless system Chromium driven by Selenium (``helpers.chromium``)."""
    return chromium(what="this page's code")


def run_page(page: str, folder: Path) -> None:
    """Run every step of ``page`` in ``folder`` (see the module docstring)."""
    meta, steps = page_steps(page)
    for name in meta.get("test_requires", []):
        import_optional(name)
        if name == "numba":
            from convgrad.ops import jit  # noqa: PLC0415
            if not jit.available():
                pytest.skip(f"{page} shows the plans of the compiled kernels: numba is off")
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    namespace: dict = {"__name__": f"docs_{Path(page).stem}"}
    with contextlib.ExitStack() as stack:
        for step in steps:
            if step.kind == "shell":
                got = run_commands(step.code, folder, step.where)
            else:
                if "test_browser" in meta and "driver" not in namespace:
                    namespace["driver"] = stack.enter_context(browser())
                    namespace["driver"].get((folder / meta["test_browser"]).as_uri())
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    exec(compile(step.code, step.where, "exec"), namespace)
                got = out.getvalue()
            if step.expected is not None:
                assert_prints(got, step.expected, step.where)


@pytest.mark.parametrize("page", PAGES)
def test_every_code_block_runs_and_prints_what_the_page_says(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    run_page(page, tmp_path)


def test_the_runner_reads_every_kind_of_block():
    meta, steps = page_steps("explain-page.md")
    assert meta["test_browser"] == "explain/explain.html"
    assert [s.kind for s in steps] == ["shell", "python"]
    assert steps[0].expected.startswith("wrote explain.html")
    assert_prints("a\nb\nc\nd\n", "a\n…\nd\n", "elision")
    with pytest.raises(pytest.fail.Exception):
        assert_prints("a\nb\n", "a\nc\n", "mismatch")
    assert "def conv2d(" in expand_snippets('--8<-- "examples/naive_conv.py"')


def test_the_site_builds_in_strict_mode(tmp_path):
    """``mkdocs build --strict``: every page (with the API reference from the docstrings), the
    hook's explain page and figures, the benchmark table included from benchmarks/RESULTS.md."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python", "pymdownx"):
        import_optional(module)
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    for page in PAGES:
        assert (site / page.replace(".md", ".html")).is_file(), page
    for html in site.rglob("*.html"):
        if html.parent.name == "explain":
            continue
        for src in re.findall(r'<(?:iframe|img)\b[^>]*\bsrc="([^"#]+)"', html.read_text()):
            if not src.startswith(("http:", "https:", "data:")):
                assert (html.parent / src).is_file(), f"{html.relative_to(site)}: {src} missing"
    engine = (site / "engine.html").read_text()
    table_rows = [line for line in (ROOT / "benchmarks/RESULTS.md").read_text().splitlines()
                  if line.startswith("| mnist_small")]
    assert table_rows and all(f"<td>{r.split('|')[3].strip()}</td>" in engine for r in table_rows)
    assert 'id="convgrad.ops.conv_grad_input"' in (site / "api/ops.html").read_text()


def test_the_hook_runs_the_command_the_pages_show():
    """docs/hooks.py makes the site's explain page and figures with the command both pages
    show (and run, above)."""
    import_optional("mkdocs")
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    for page in ("why-backward-is-a-convolution.md", "explain-page.md"):
        assert hooks.COMMAND + "\n" in [s.code for s in page_steps(page)[1]], page
