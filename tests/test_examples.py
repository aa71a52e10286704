"""The README's runnable example stays runnable and says what it claims."""

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "conv_backprop.py"


def test_conv_backprop_example_runs(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "∂L/∂F = X ⋆ ∂L/∂O" in out and "[14.   15.75]" in out
    assert "max |∂x − chain rule| = " in out


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = [b.split("```")[0] for b in readme.split("```python\n")[1:]]
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "model.npz").exists()
