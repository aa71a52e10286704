"""The README's runnable example stays runnable and says what it claims."""

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "conv_backprop.py"
NAIVE = EXAMPLE.parent / "naive_conv.py"


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


def test_the_hand_written_example_passes_convgrad_check(capsys):
    """CI's smoke run of `convgrad check` uses this example: it must pass, both directions."""
    from convgrad.cli import main

    assert main(["check", f"{NAIVE}:conv2d", "--max-examples", "20"]) == 0   # both: the
    assert capsys.readouterr().out.count("passed: 20 configurations") == 2   # module has both
    assert main(["check", f"{NAIVE}:conv2d_backward", "--kind", "backward",
                 "--max-examples", "20"]) == 0
    assert capsys.readouterr().out.count("passed: 20 configurations") == 1
