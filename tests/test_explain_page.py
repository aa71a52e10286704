"""The interactive explain page (convgrad/explain/page.py) in a real browser: headless Chromium
from the system packages, driven by Selenium.

Clicking a cell must highlight exactly the chain-rule terms of the SymPy derivation; the page's
own index arithmetic (page/arith.js) must reproduce the derivation's term sets for many
configurations and its numbers must be the engine's; keyboard, ARIA, animation, the form; no
network request and no console error. Screenshots go to $CONVGRAD_SCREENSHOTS (or a temporary
folder). Without chromium/chromedriver the browser tests skip locally and fail in CI
(CONVGRAD_REQUIRE_TORCH=1, as for every optional test dependency).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import chromium
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convgrad import ops
from convgrad.explain.page import ASSETS, asset, term_sets
from convgrad.explain.render import to_html

sympy = pytest.importorskip("sympy")
from convgrad.explain import explain  # noqa: E402
from convgrad.explain.derive import derive, equation_count  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CELLS = ("return Array.from(document.querySelectorAll('#sections ' + arguments[0]))"
         ".map(e => [e.dataset.tensor, e.dataset.index]);")

CLICKED = {   # id → explain() keywords: stride, padding, dilation, non-square, 1×1, 1-d, groups
    "textbook": {},
    "stride2": dict(input=(5, 5), kernel=(2, 2), stride=2),
    "pad-lo-hi": dict(input=(4, 3), kernel=(3, 2), padding=((1, 0), (2, 1))),
    "dilation": dict(input=(6, 5), kernel=(3, 2), dilation=2),
    "non-square-all": dict(input=(6, 5), kernel=(3, 2), stride=(2, 3), padding=1,
                           dilation=(1, 2)),
    "one-by-one": dict(input=(3, 3), kernel=(3, 3)),
    "one-by-one-remainder": dict(input=(4, 4), kernel=(2, 2), stride=3),
    "1d": dict(input=(7,), kernel=(3,), stride=2, padding=((2, 1),)),
    "groups": dict(input=(3, 3), kernel=(2, 2), in_channels=2, out_channels=4, groups=2),
}


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def browser():
    with chromium("--window-size=1400,1000", "--force-device-scale-factor=1") as driver:
        yield driver


@pytest.fixture
def driver(browser):
    """The browser; after the test, no console error (CSP violations, exceptions) was logged."""
    browser.get_log("browser")
    yield browser
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("explain_pages")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    path = os.environ.get("CONVGRAD_SCREENSHOTS")
    if path:
        os.makedirs(path, exist_ok=True)
        return Path(path)
    return tmp_path_factory.mktemp("screenshots")


_REPORTS: dict = {}


def report_for(name: str) -> dict:
    if name not in _REPORTS:
        _REPORTS[name] = explain(**CLICKED[name])
    return _REPORTS[name]


def open_page(driver, folder: Path, name: str) -> dict:
    report = report_for(name)
    path = folder / f"{name}.html"
    if not path.exists():
        path.write_text(to_html(report), encoding="utf-8")
    driver.get(path.as_uri())
    return report


def ensure_page(driver, folder):
    if not driver.execute_script("return !!window.convgradExplain"):
        open_page(driver, folder, "textbook")


def elements(pairs) -> set:
    return {(t, i) for a, ia, b, ib in pairs for t, i in ((a, ia), (b, ib))}


def marked(driver, selector: str) -> set:
    return {tuple(x) for x in driver.execute_script(CELLS, selector)}


def by_css(driver, selector: str):
    return driver.find_element("css selector", selector)


def canonical(sets: dict) -> dict:
    return {t: {i: sorted(map(tuple, pairs)) for i, pairs in m.items()} for t, m in sets.items()}


def js_config(**kw) -> dict:
    """explain() keywords → the page's configuration (per-dim lists; padding as given)."""
    n = list(kw.get("input", (3, 3)))
    per = lambda v: list(v) if isinstance(v, (tuple, list)) else [v] * len(n)
    padding = kw.get("padding", 0)
    if isinstance(padding, (tuple, list)):
        padding = [list(p) if isinstance(p, (tuple, list)) else p for p in padding]
    return {"input": n, "kernel": list(kw.get("kernel", (2,) * len(n))),
            "stride": per(kw.get("stride", 1)), "padding": padding,
            "dilation": per(kw.get("dilation", 1)), "in_channels": kw.get("in_channels", 1),
            "out_channels": kw.get("out_channels", 1), "groups": kw.get("groups", 1)}


def assert_js_matches_sympy(driver, **kw):
    der = derive(kw.get("input", (3, 3)), kw.get("kernel", (2, 2)), kw.get("stride", 1),
                 kw.get("padding", 0), kw.get("dilation", 1), kw.get("in_channels", 1),
                 kw.get("out_channels", 1), kw.get("groups", 1))
    got = driver.execute_script("return convgradExplain.arith.termSets(arguments[0])",
                                js_config(**kw))
    assert canonical(got) == canonical(term_sets(der)), kw


# ---------------------------------------------------------------- clicking

CLICK_ALL = """
const marks = (c) => Array.from(document.querySelectorAll('#sections .' + c))
  .map(e => [e.dataset.tensor, e.dataset.index]);
return Array.from(document.querySelectorAll('#sections [data-tensor=O], #sections [data-tensor=dF],'
  + ' #sections [data-tensor=dX]')).map(el => {
  el.click();
  return [el.dataset.tensor, el.dataset.index, marks('selected'), marks('term'),
          document.querySelector('#equation .eq-value').textContent, el.lastChild.textContent];
});"""


@pytest.mark.parametrize("name", list(CLICKED))
def test_clicking_each_output_highlights_exactly_its_chain_rule_terms(driver, folder, name):
    report = open_page(driver, folder, name)
    expected = term_sets(report["_derivation"])
    assert "✓" in by_css(driver, "#derivation-check").text
    for tensor in ("O", "dF", "dX"):                 # real mouse clicks: first, middle, last
        cells = driver.find_elements("css selector", f'#sections [data-tensor="{tensor}"]')
        for cell in {0: cells[0], 1: cells[len(cells) // 2], 2: cells[-1]}.values():
            index = cell.get_attribute("data-index")
            cell.click()
            assert marked(driver, ".selected") == {(tensor, index)}
            assert marked(driver, ".term") == elements(expected[tensor][index]), (tensor, index)
    assert driver.find_elements("css selector", "#equation math")
    clicked = driver.execute_script(CLICK_ALL)       # every cell, clicked from the page
    assert len(clicked) == sum(len(m) for m in expected.values())
    for tensor, index, selected, terms, value, shown in clicked:
        assert selected == [[tensor, index]]
        assert {tuple(t) for t in terms} == elements(expected[tensor][index]), (tensor, index)
        assert value == shown                        # the equation's value is the cell's


def test_clicking_an_equation_term_highlights_that_pair_alone(driver, folder):
    report = open_page(driver, folder, "textbook")
    by_css(driver, '#sections [data-tensor="dX"][data-index="2,2"]').click()
    terms = driver.find_elements("css selector", '#equation [role="button"].eq-term')
    assert len(terms) == 4
    pairs = term_sets(report["_derivation"])["dX"]["2,2"]
    terms[1].click()
    shown = marked(driver, ".term")
    assert shown in [elements([p]) for p in pairs] and len(shown) == 2
    assert terms[1].get_attribute("aria-pressed") == "true"
    terms[1].click()                                       # again: the whole equation
    assert marked(driver, ".term") == elements(pairs)
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415

    driver.execute_script("arguments[0].focus()", terms[2])  # the keyboard way: Enter on a term
    terms[2].send_keys(Keys.ENTER)
    assert terms[2].get_attribute("aria-pressed") == "true" and len(marked(driver, ".term")) == 2


# ---------------------------------------------------------------- the arithmetic vs SymPy

MANY = [
    dict(input=(5, 5), kernel=(2, 2), stride=2),
    dict(input=(6, 5), kernel=(3, 2), dilation=2),
    dict(input=(5, 4), kernel=(3, 3), padding="same"),
    dict(input=(5, 4), kernel=(2, 3), stride=2, padding="same"),
    dict(input=(4,), kernel=(2,), padding="full", stride=3),
    dict(input=(7,), kernel=(3,), stride=2, padding=((2, 1),)),
    dict(input=(4, 4), kernel=(2, 2), in_channels=2, out_channels=4, groups=2),
    dict(input=(3, 4), kernel=(2, 2), in_channels=3, out_channels=2),
    dict(input=(4, 3), kernel=(1, 2), in_channels=2, out_channels=2, groups=2, stride=2),
    dict(input=(6, 6), kernel=(3, 2), stride=(2, 3), padding=1, dilation=(1, 2)),
    dict(input=(4, 4), kernel=(3, 3), padding=2, dilation=2),
    dict(input=(5, 5), kernel=(1, 1), stride=2),
    dict(input=(2, 2), kernel=(2, 2), stride=5),
    dict(input=(3, 7), kernel=(2, 3), stride=(1, 2), padding=((0, 1), (2, 0))),
    dict(input=(1, 5), kernel=(1, 3), dilation=(1, 2)),
    dict(input=(6,), kernel=(2,), stride=2, dilation=3, padding=1),
]


@pytest.mark.parametrize("config", MANY, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_page_arithmetic_reproduces_the_sympy_term_sets(driver, folder, config):
    ensure_page(driver, folder)
    assert_js_matches_sympy(driver, **config)


@st.composite
def configurations(draw):
    ndim = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    axes = [dict(n=draw(st.integers(1, 6)), k=draw(st.integers(1, 3)), s=draw(st.integers(1, 3)),
                 d=draw(st.integers(1, 2)), lo=draw(st.integers(0, 2)), hi=draw(st.integers(0, 2)))
            for _ in range(ndim)]
    for a in axes:
        assume(a["d"] * (a["k"] - 1) + 1 <= a["n"] + a["lo"] + a["hi"])
    out = [(a["n"] + a["lo"] + a["hi"] - a["d"] * (a["k"] - 1) - 1) // a["s"] + 1 for a in axes]
    assume(equation_count([a["n"] for a in axes], [a["k"] for a in axes], out, cin, cout,
                          groups) <= 120)
    return dict(input=tuple(a["n"] for a in axes), kernel=tuple(a["k"] for a in axes),
                stride=tuple(a["s"] for a in axes), dilation=tuple(a["d"] for a in axes),
                padding=tuple((a["lo"], a["hi"]) for a in axes), in_channels=cin,
                out_channels=cout, groups=groups)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(config=configurations())
def test_page_arithmetic_matches_sympy_on_random_configurations(browser, folder, config):
    ensure_page(browser, folder)
    assert_js_matches_sympy(browser, **config)


@pytest.mark.parametrize("name", ["textbook", "non-square-all", "1d", "groups"])
def test_page_numbers_are_the_engines(driver, folder, name):
    report = open_page(driver, folder, name)
    geo = report["_derivation"].geo
    vals = driver.execute_script("const v = convgradExplain.state.vals; return {X: v.X, F: v.F, "
                                 "dO: v.dO, O: v.O, dF: v.dF, dX: v.dX};")
    x = np.array(vals["X"], dtype=np.float64).reshape(geo.in_channels, *geo.in_size)
    w = np.array(vals["F"], dtype=np.float64).reshape(geo.weight_shape)
    g = np.array(vals["dO"], dtype=np.float64).reshape(geo.out_channels, *geo.out_size)
    assert set(np.unique(np.concatenate([x.ravel(), w.ravel(), g.ravel()]))) <= {-3, -2, -1, 1,
                                                                                 2, 3}
    opts = dict(stride=geo.stride, padding=geo.padding, dilation=geo.dilation, groups=geo.groups)
    np.testing.assert_array_equal(np.reshape(vals["O"], g.shape), ops.conv(x[None], w, **opts)[0])
    np.testing.assert_array_equal(np.reshape(vals["dF"], w.shape),
                                  ops.conv_grad_weight(x[None], g[None], w.shape, **opts))
    np.testing.assert_array_equal(np.reshape(vals["dX"], x.shape),
                                  ops.conv_grad_input(g[None], w, x[None].shape, **opts)[0])


# ---------------------------------------------------------------- keyboard, ARIA, animation

def test_keyboard_navigation_and_visible_focus(driver, folder):
    from selenium.webdriver.common.action_chains import ActionChains  # noqa: PLC0415
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415

    report = open_page(driver, folder, "textbook")
    keys = lambda *k: ActionChains(driver).send_keys(*k).perform()
    active = lambda: driver.execute_script(
        "const e = document.activeElement; return [e.dataset.tensor, e.dataset.index, "
        "e.closest('[role=grid]') && e.closest('[role=grid]').dataset.panel, "
        "getComputedStyle(e).outlineStyle];")
    driver.execute_script("document.querySelector('#sec-forward [data-act=speed]').focus()")
    keys(Keys.TAB)
    assert active() == ["X", "1,1", "xpad", "solid"]            # visible focus ring
    keys(Keys.ARROW_RIGHT, Keys.ARROW_DOWN)
    assert active()[:2] == ["X", "2,2"]
    keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN)      # clamped at the edge
    assert active()[:2] == ["X", "3,2"]
    keys(Keys.TAB)
    assert active()[:3] == ["F", "1,1", "f"]
    keys(Keys.TAB, Keys.ARROW_RIGHT, Keys.ENTER)
    assert active()[:2] == ["O", "1,2"]
    assert marked(driver, ".selected") == {("O", "1,2")}
    assert marked(driver, ".term") == elements(term_sets(report["_derivation"])["O"]["1,2"])
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert active()[:3] == ["F", "1,1", "f"]                     # back to F, where it was left


def test_every_cell_is_labelled(driver, folder):
    open_page(driver, folder, "textbook")
    label = lambda sel: by_css(driver, sel).get_attribute("aria-label")
    assert label('[data-tensor="dX"][data-index="2,3"]').startswith("∂L/∂X row 2 column 3, value")
    assert label('[data-tensor="F"][data-index="1,2"]').startswith("F row 1 column 2")
    missing = driver.execute_script(
        "return Array.from(document.querySelectorAll('#sections [role=gridcell]'))"
        ".filter(e => !e.getAttribute('aria-label')).length + Array.from(document"
        ".querySelectorAll('#sections [role=grid]')).filter(e => !e.getAttribute('aria-label'))"
        ".length;")
    assert missing == 0
    open_page(driver, folder, "groups")
    assert label('[data-tensor="dF"][data-index="3,1,1,2"]').startswith(
        "∂L/∂F output channel 3 input channel 1 row 1 column 2")
    open_page(driver, folder, "1d")
    assert label('[data-tensor="X"][data-index="4"]').startswith("X position 4")


def test_step_through_each_convolution(driver, folder):
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    report = open_page(driver, folder, "textbook")
    forward = lambda sel: by_css(driver, f'#sec-forward [data-act="{sel}"]')
    for _ in range(3):
        forward("step").click()
    assert by_css(driver, "#sec-forward .anim-status").text == "output 3 of 4"
    window = marked(driver, "#sec-forward .window")
    assert window == {("X", i) for i in ("2,1", "2,2", "3,1", "3,2")} | {
        ("F", i) for i in ("1,1", "1,2", "2,1", "2,2")}
    assert marked(driver, ".current") == {("O", "2,1")} == marked(driver, ".selected")
    assert len(marked(driver, ".pending")) == 1                 # O₂₂ is not computed yet
    for i, line in enumerate(report["grad_weight_convolution"]):   # the window form, zeros too
        by_css(driver, '#sec-weight [data-act="step"]').click()
        assert by_css(driver, "#equation .eq-window code").text == line
        assert by_css(driver, "#sec-weight .anim-status").text == f"output {i + 1} of 4"
    assert not marked(driver, "#sec-forward .pending")            # starting one resets others
    speed = by_css(driver, '#sec-input [data-act="speed"]')
    driver.execute_script("arguments[0].value = 10; arguments[0].dispatchEvent(new Event('input',"
                          " {bubbles: true}))", speed)
    by_css(driver, '#sec-input [data-act="play"]').click()
    WebDriverWait(driver, 10).until(
        lambda d: by_css(d, "#sec-input .anim-status").text.startswith("done"))
    assert not marked(driver, ".pending")
    assert by_css(driver, '#sec-input [data-act="play"]').get_attribute("aria-pressed") == "false"


def test_the_full_correlation_steps_through_the_cropped_border(driver, folder):
    report = open_page(driver, folder, "pad-lo-hi")
    step = by_css(driver, '#sec-input [data-act="step"]')
    step.click()                                          # (1, 1) of the padded grid: cropped
    assert "cropped" in by_css(driver, "#equation").text
    lines = iter(report["grad_input_convolution"])
    for _ in range(int(np.prod(report["patterns"]["full_size"])) - 1):
        step.click()
        if marked(driver, ".current") != {(None, None)}:
            assert by_css(driver, "#equation .eq-window code").text == next(lines)
    assert next(lines, None) is None


# ---------------------------------------------------------------- the form

def test_the_form_recomputes_in_place(driver, folder):
    open_page(driver, folder, "textbook")
    driver.execute_script("window.marker = 42")
    for field, value in (("input", "5x4"), ("kernel", "3x2"), ("stride", "2"),
                         ("padding", "same"), ("dilation", "1")):
        box = by_css(driver, f"#cfg-{field}")
        box.clear()
        box.send_keys(value)
    by_css(driver, '#config button[type="submit"]').click()
    assert driver.execute_script("return window.marker") == 42       # no reload
    der = derive((5, 4), (3, 2), 2, "same")
    assert by_css(driver, "#padding-resolved").text.endswith(
        " × ".join(f"({lo}, {hi})" for lo, hi in der.geo.padding))
    assert by_css(driver, "#command").text == ("convgrad explain --input 5x4 --kernel 3x2 "
                                               "--stride 2 --padding same --format html --out DIR")
    expected = term_sets(der)
    assert len(driver.find_elements("css selector", '#sections [data-tensor="O"]')) == 6
    for tensor, index in (("O", "2,2"), ("dF", "3,1"), ("dX", "5,4")):
        by_css(driver, f'#sections [data-tensor="{tensor}"][data-index="{index}"]').click()
        assert marked(driver, ".term") == elements(expected[tensor][index])
    for field, value in (("kernel", "9x9"), ("padding", "valid")):
        box = by_css(driver, f"#cfg-{field}")
        box.clear()
        box.send_keys(value)
    by_css(driver, '#config button[type="submit"]').click()
    assert "kernel larger than the padded input" in by_css(driver, "#config-error").text
    assert len(driver.find_elements("css selector", '#sections [data-tensor="O"]')) == 6


# ---------------------------------------------------------------- offline, size, screenshots

def test_the_page_is_offline_and_self_contained(driver, folder, tmp_path):
    from convgrad.explain.render import write  # noqa: PLC0415

    write(explain(input=(5, 5), kernel=(3, 3), stride=2, padding=1), "html", str(tmp_path))
    page = tmp_path / "explain.html"
    assert page.stat().st_size < 400_000
    driver.get(page.as_uri())
    csp = by_css(driver, 'meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert "default-src 'none'" in csp and "unsafe" not in csp
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    sources = driver.execute_script(
        "return Array.from(document.querySelectorAll('[src], link[href]')).map(e => "
        "e.getAttribute('src') || e.getAttribute('href'));")
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "✓" in by_css(driver, "#derivation-check").text


def test_screenshots(driver, folder, shots):
    def shoot(name: str) -> Path:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(height, 2600))
        driver.execute_script("window.scrollTo(0, 0)")
        path = shots / f"{name}.png"
        driver.save_screenshot(str(path))
        driver.set_window_size(1400, 1000)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        return path

    open_page(driver, folder, "textbook")
    by_css(driver, '[data-tensor="dX"][data-index="2,2"]').click()
    shoot("textbook-dX22")
    open_page(driver, folder, "non-square-all")
    for _ in range(5):
        by_css(driver, '#sec-input [data-act="step"]').click()
    shoot("stride-padding-dilation-dX-step5")
    open_page(driver, folder, "one-by-one")
    by_css(driver, '[data-tensor="dF"][data-index="2,3"]').click()
    shoot("one-by-one-dF23")
    open_page(driver, folder, "groups")
    by_css(driver, '[data-tensor="O"][data-index="3,1,2"]').click()
    shoot("groups-O312")


# ---------------------------------------------------------------- package data

def test_page_assets_are_package_data():
    tomllib = pytest.importorskip("tomllib")
    for name in ASSETS:                                   # what the installed package holds
        assert asset(name).strip()
    shipped = {p.name for p in (ROOT / "convgrad" / "explain" / "page").iterdir()}
    assert shipped == set(ASSETS)
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["convgrad.explain"]
    assert all(any(fnmatch.fnmatch(f"page/{n}", g) for g in globs) for n in ASSETS)
    extra = data["project"]["optional-dependencies"]["test"]
    assert any(e.startswith("selenium") for e in extra)
