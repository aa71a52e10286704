"""`convgrad explain`: the textbook equations, generated configurations that verify, the JSON
schema, reports with figures, caps and errors."""

import base64
import json

import numpy as np
import pytest

from convgrad import ops
from convgrad.cli import main
from convgrad.explain import explain
from convgrad.explain.derive import derive

TEXTBOOK = {
    "forward": [
        "O₁₁ = X₁₁·F₁₁ + X₁₂·F₁₂ + X₂₁·F₂₁ + X₂₂·F₂₂",
        "O₁₂ = X₁₂·F₁₁ + X₁₃·F₁₂ + X₂₂·F₂₁ + X₂₃·F₂₂",
        "O₂₁ = X₂₁·F₁₁ + X₂₂·F₁₂ + X₃₁·F₂₁ + X₃₂·F₂₂",
        "O₂₂ = X₂₂·F₁₁ + X₂₃·F₁₂ + X₃₂·F₂₁ + X₃₃·F₂₂",
    ],
    "grad_weight": [
        "∂L/∂F₁₁ = ∂L/∂O₁₁·X₁₁ + ∂L/∂O₁₂·X₁₂ + ∂L/∂O₂₁·X₂₁ + ∂L/∂O₂₂·X₂₂",
        "∂L/∂F₁₂ = ∂L/∂O₁₁·X₁₂ + ∂L/∂O₁₂·X₁₃ + ∂L/∂O₂₁·X₂₂ + ∂L/∂O₂₂·X₂₃",
        "∂L/∂F₂₁ = ∂L/∂O₁₁·X₂₁ + ∂L/∂O₁₂·X₂₂ + ∂L/∂O₂₁·X₃₁ + ∂L/∂O₂₂·X₃₂",
        "∂L/∂F₂₂ = ∂L/∂O₁₁·X₂₂ + ∂L/∂O₁₂·X₂₃ + ∂L/∂O₂₁·X₃₂ + ∂L/∂O₂₂·X₃₃",
    ],
    "grad_input": [
        "∂L/∂X₁₁ = ∂L/∂O₁₁·F₁₁",
        "∂L/∂X₁₂ = ∂L/∂O₁₁·F₁₂ + ∂L/∂O₁₂·F₁₁",
        "∂L/∂X₁₃ = ∂L/∂O₁₂·F₁₂",
        "∂L/∂X₂₁ = ∂L/∂O₁₁·F₂₁ + ∂L/∂O₂₁·F₁₁",
        "∂L/∂X₂₂ = ∂L/∂O₁₁·F₂₂ + ∂L/∂O₁₂·F₂₁ + ∂L/∂O₂₁·F₁₂ + ∂L/∂O₂₂·F₁₁",
        "∂L/∂X₂₃ = ∂L/∂O₁₂·F₂₂ + ∂L/∂O₂₂·F₁₂",
        "∂L/∂X₃₁ = ∂L/∂O₂₁·F₂₁",
        "∂L/∂X₃₂ = ∂L/∂O₂₁·F₂₂ + ∂L/∂O₂₂·F₂₁",
        "∂L/∂X₃₃ = ∂L/∂O₂₂·F₂₂",
    ],
}


def test_default_case_is_the_textbook_derivation():
    report = explain()
    for key, lines in TEXTBOOK.items():
        assert report[key] == lines, key
    assert report["patterns"]["F_rotated"] == [["F₂₂", "F₂₁"], ["F₁₂", "F₁₁"]]
    assert report["grad_input_convolution"][0] == "∂L/∂X₁₁ = 0·F₂₂ + 0·F₂₁ + 0·F₁₂ + ∂L/∂O₁₁·F₁₁"
    assert report["verified"] == {"symbolic": True, "numeric": True}
    chain = report["chain_rule"]
    assert chain["values"]["f"] == -12 and chain["grads"] == {"x": -4, "y": -4, "z": 3,
                                                               "q": -4, "f": 1}


@pytest.mark.parametrize("config", [
    dict(input=(5, 5), kernel=(2, 2), stride=2),
    dict(input=(6, 5), kernel=(3, 2), dilation=2),
    dict(input=(5, 4), kernel=(3, 3), padding="same"),
    dict(input=(7,), kernel=(3,), stride=2, padding=((2, 1),)),
    dict(input=(4, 4), kernel=(2, 2), in_channels=2, out_channels=4, groups=2),
    dict(input=(6, 6), kernel=(3, 2), stride=(2, 3), padding=1, dilation=(1, 2)),
    dict(input=(5,), kernel=(2,), padding="full", stride=3),
])
def test_configurations_verify_symbolically_and_numerically(config):
    report = explain(**config)
    assert report["verified"] == {"symbolic": True, "numeric": True}
    assert max(report["numeric_errors"].values()) < 1e-12


def test_stride_shows_the_gaps_dilation_the_spread_taps_padding_the_crop():
    strided = explain(input=(5,), kernel=(2,), stride=2)
    spread = strided["patterns"]["dO_spread"]
    # ke − 1 = 1 zero each side, one gap between the two elements, remainder r = 1 more high
    assert spread == ["0", "∂L/∂O₁", "0", "∂L/∂O₂", "0", "0"]
    assert strided["grad_input_convolution"][1] == "∂L/∂X₂ = ∂L/∂O₁·F₂ + 0·F₁"
    assert any("stride 2" in n for n in strided["notes"])
    dilated = explain(input=(5,), kernel=(2,), dilation=2)
    assert dilated["forward"][0] == "O₁ = X₁·F₁ + X₃·F₂"
    assert dilated["patterns"]["F_rotated_dilated"] == ["F₂", "0", "F₁"]
    padded = explain(input=(3,), kernel=(2,), padding=1)
    assert padded["patterns"]["full_size"] == [5] and padded["patterns"]["crop"] == [[1, 1]]
    assert padded["forward"][0] == "O₁ = X₁·F₂"                     # the padding tap vanishes
    remainder = explain(input=(4,), kernel=(2,), stride=2, padding=((0, 1),))
    assert remainder["grad_input"][-1].startswith("∂L/∂X₄ = ∂L/∂O₂·F₂")
    unreached = explain(input=(5,), kernel=(1,), stride=2)
    assert "no window reaches" in unreached["grad_input"][1]


def test_symbolic_check_detects_a_wrong_pattern():
    der = derive((3, 3), (2, 2))
    assert der.symbolic_ok
    der.grad_input_conv = der.grad_input_conv[:, ::-1, ::-1]      # forget to rotate
    assert not der.symbolic_ok


def test_json_schema(capsys):
    assert main(["explain", "--input", "4x3", "--kernel", "2x2", "--stride", "2",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["input"] == [4, 3] and data["config"]["index_base"] == 1
    assert len(data["forward"]) == 2 * 1 and data["forward"][0].startswith("O₁₁ = ")
    assert [g.split(" = ")[0] for g in data["grad_weight"]] == ["∂L/∂F₁₁", "∂L/∂F₁₂",
                                                                  "∂L/∂F₂₁", "∂L/∂F₂₂"]
    assert len(data["grad_input"]) == 12 and data["grad_input"][11].startswith("∂L/∂X₄₃")
    assert data["verified"] == {"symbolic": True, "numeric": True}
    assert all(isinstance(v, str) for v in data["grad_input"])


def test_html_report_contains_its_figures(tmp_path, capsys):
    assert main(["explain", "--input", "5x5", "--kernel", "3x3", "--stride", "2", "--padding",
                 "1", "--format", "html", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "explain.html").read_text()
    images = page.split('src="data:image/png;base64,')[1:]
    assert len(images) == 4
    for chunk in images:
        assert base64.b64decode(chunk.split('"')[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "∂L/∂X₁₁" in page and "rot180(F)" in page
    for name in ("graph", "sliding_window", "flipped_filter", "full_convolution"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000


def test_markdown_links_figures_beside_it(tmp_path, capsys):
    assert main(["explain", "--format", "markdown", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "explain.md").read_text()
    for name in ("graph", "sliding_window", "flipped_filter", "full_convolution"):
        assert f"({name}.png)" in text and (tmp_path / f"{name}.png").exists()


def test_text_is_the_default_and_values_are_the_users(capsys):
    assert main(["explain", "--values", "1,2,3"]) == 0
    out = capsys.readouterr().out
    assert "f = q·z = 3·3 = 9" in out and "∂L/∂X₂₂ = ∂L/∂O₁₁·F₂₂" in out
    assert "symbolic ✓" in out and "numeric  ✓" in out


def test_too_many_equations_is_refused_with_a_cap_option(capsys):
    assert main(["explain", "--input", "30x30"]) == 2
    err = capsys.readouterr().err
    assert "over the cap of 300" in err and "--max-equations" in err and err.count("\n") == 1
    assert main(["explain", "--input", "12x12", "--kernel", "2x2", "--max-equations", "400",
                 "--format", "json"]) == 0


@pytest.mark.parametrize("argv, engine_call", [
    (["--input", "3x3", "--kernel", "5x5"], lambda: ops.conv(np.ones((1, 1, 3, 3)),
                                                             np.ones((1, 1, 5, 5)))),
    (["--input", "4", "--kernel", "2", "--in-channels", "3", "--groups", "2"],
     lambda: ops.conv(np.ones((1, 3, 4)), np.ones((1, 1, 2)), groups=2)),
])
def test_invalid_configurations_get_the_engines_errors(capsys, argv, engine_call):
    with pytest.raises(ValueError) as engine:
        engine_call()
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    rule = str(engine.value).split(": ", 1)[1].split(" (")[0].split(",")[0]
    assert rule[:40] in err


@pytest.mark.parametrize("argv, message", [
    (["--input", "3xq"], "--input must look like 5 or 3x3"),
    (["--padding", "1:2:3"], "--padding must be"),
    (["--input", "3x3", "--stride", "1x1x1"], "--stride has 3 values for a 2-d input"),
    (["--input", "3x3x3", "--kernel", "2x2x2"], "only 1-d and 2-d"),
    (["--values", "1,2"], "--values needs three numbers"),
])
def test_bad_options(capsys, argv, message):
    assert main(["explain", *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_sympy_names_the_extra(capsys, monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "sympy":
            raise ImportError("No module named 'sympy'")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake)
    assert main(["explain"]) == 2
    assert 'pip install "convgrad[explain]"' in capsys.readouterr().err


def _drawn_texts(monkeypatch, figure, **config):
    """The strings a figure draws (titles and captions), captured instead of saving it."""
    from convgrad.explain import figures

    monkeypatch.setattr(figures, "_finish", lambda plt, fig, ax, path: (
        plt.close(fig), [t.get_text() for t in ax.texts])[1])
    return getattr(figures, figure)(explain(**config), "unused.png")


def test_one_by_one_figures_name_only_what_they_draw(monkeypatch):
    window = " ".join(_drawn_texts(monkeypatch, "sliding_window", input=(3, 3), kernel=(3, 3)))
    assert "dashed" not in window and "the only output" in window and "padding" not in window
    full = _drawn_texts(monkeypatch, "full_convolution", input=(3, 3), kernel=(3, 3))
    assert "∂L/∂X" in full and not any("hatched" in t or "gaps" in t for t in full)
    column = " ".join(_drawn_texts(monkeypatch, "sliding_window", input=(4, 3), kernel=(2, 3),
                                   stride=2, padding=((0, 1), (0, 0))))
    assert "next output (dashed)" in column and "X, padded (grey: padding)" in column
    padded = _drawn_texts(monkeypatch, "full_convolution", input=(4, 3), kernel=(2, 3),
                          stride=2, padding=((0, 1), (0, 0)))
    assert "∂L/∂X (hatched: padding, cropped)" in padded
    assert "∂L/∂O: gaps (white), padding (grey)" in padded


def test_verified_wraps_in_text_and_html():
    from convgrad.explain.render import static_html, to_text

    report = explain(input=(4, 4), kernel=(2, 2), stride=2, padding=1)
    text = to_text(report)
    verified = text.split("Verified\n")[1]
    assert max(len(line) for line in verified.splitlines()) <= 100
    assert "symbolic ✓" in verified and "numeric  ✓" in verified
    page = static_html(report)
    assert '<ul class="verified"><li>symbolic ✓' in page and "<h2>Verified</h2><pre>" not in page


def test_html_is_the_interactive_page_with_the_derivations_terms(tmp_path):
    from convgrad.explain.page import term_sets
    from convgrad.explain.render import to_html

    report = explain(input=(4, 3), kernel=(2, 2), stride=(2, 1), padding=((1, 0), (0, 1)))
    page = to_html(report)
    assert "default-src 'none'" in page and 'id="equation"' in page
    data = json.loads(page.split('id="explain-data">')[1].split("</script>")[0])
    assert data["terms"] == json.loads(json.dumps(term_sets(report["_derivation"])))
    assert data["form"] == {"input": "4x3", "kernel": "2x2", "stride": "2x1",
                            "padding": "1:0x0:1", "dilation": "1", "in_channels": "1",
                            "out_channels": "1", "groups": "1", "seed": "0"}
    assert "ConvArith" in page and "<link" not in page and "http" not in page.split("<body>")[1]
    assert len(page.encode()) < 100_000                 # no figures: the page alone
