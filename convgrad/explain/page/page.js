/* convgrad explain page — the controller: the selection, the equation, the animations, the form
 * and the events (the grids are built by view.js, the arithmetic is arith.js).
 * The DOM contract (docs/explain-page.md): every element cell has data-tensor (X, F, O, dO, dX,
 * dF) and data-index (1-based, comma-separated, the text equations' index order); the clicked
 * cell gets the class "selected", every cell of its equation "term"; the equation is shown in
 * #equation. window.convgradExplain exposes the arithmetic and the state to tests. */
(function () {
  "use strict";
  const A = ConvArith;
  const DATA = JSON.parse(document.getElementById("explain-data").textContent);
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const state = {form: null, cfg: null, geo: null, secs: null, vals: null, cells: new Map(),
                 elements: new Map(), outputs: new Map(), terms: [], pair: null, anim: {}};

  const {SECTIONS, num, keyOf, cellKey, position, label, makeSection, mathName, text, mathOf,
         mnum, windowText} = ExplainView(A, state);

  function render() {
    stopAll();
    state.cells = new Map();
    state.elements = new Map();
    state.outputs = new Map();
    state.anim = {};
    const root = $("#sections");
    root.textContent = "";
    SECTIONS.forEach((sec, i) => root.appendChild(makeSection(sec, i + 1)));
    $$(".cell", root).forEach(label);
    clearSelection();
  }

  /* ---------------- selection and the equation ---------------- */

  function clearMarks(classes) {
    for (const c of classes) $$(`#sections .${c}`).forEach((el) => el.classList.remove(c));
  }

  function clearSelection() {
    clearMarks(["selected", "term", "window", "current"]);
    $$("#sections [aria-selected]").forEach((el) => el.removeAttribute("aria-selected"));
    state.terms = [];
    state.pair = null;
    $("#equation").innerHTML = `<p class="hint">Click an element of O, ∂L/∂F or ∂L/∂X (or focus ` +
      `it with Tab and the arrow keys and press Enter) to see its equation; click a term of the ` +
      `equation to see that pair alone.</p>`;
  }

  function markTerms(terms) {
    clearMarks(["term"]);
    for (const pair of terms) {
      for (const [t, full] of pair) {
        for (const el of state.elements.get(keyOf(t, A.displayIndex(state.geo, t, full))) || []) {
          el.classList.add("term");
        }
      }
    }
  }

  const KIND = {O: "forward: Σ X·F over the window of F",
                dF: "by the chain rule, Σ ∂L/∂O·∂O/∂F = Σ ∂L/∂O·X",
                dX: "by the chain rule, Σ ∂L/∂O·∂O/∂X = Σ ∂L/∂O·F"};

  function select(el, fromAnimation = false) {
    const entry = state.outputs.get(el);
    if (!entry || !el.dataset.tensor) return;
    clearMarks(["selected"]);
    $$("#sections [aria-selected]").forEach((c) => c.removeAttribute("aria-selected"));
    el.classList.add("selected");
    el.setAttribute("aria-selected", "true");
    const geo = state.geo, item = entry.item, t = el.dataset.tensor;
    const terms = A.terms(geo, item.window);
    state.terms = terms;
    state.pair = null;
    markTerms(terms);
    const lhs = mathName(geo, t, el.dataset.index);
    const sym = terms.map((pair, k) => `<mrow class="eq-term" data-term="${k}" tabindex="0" ` +
      `role="button" aria-pressed="false" aria-label="term ${k + 1}: ${text(pair[0])}·${text(pair[1])}">` +
      `${mathOf(pair[0])}<mo>·</mo>${mathOf(pair[1])}</mrow>`).join("<mo>+</mo>");
    const nums = terms.map((pair, k) => `<mrow class="eq-term" data-term="${k}">` +
      `${mnum(A.valueOf(state.vals, pair[0]))}<mo>·</mo>${mnum(A.valueOf(state.vals, pair[1]))}</mrow>`)
      .join("<mo>+</mo>");
    const value = A.valueOf(state.vals, [t, cellElement(el)]);
    const head = `<p class="eq-title"><strong>${A.label(geo, t, cellElement(el))}</strong> — ${KIND[t]}` +
      `${terms.length ? `, ${terms.length} product${terms.length > 1 ? "s" : ""}` : ""}</p>`;
    const body = terms.length
      ? `<div class="eq-line"><math displaystyle="true">${lhs}<mo>=</mo>${sym}</math></div>` +
        `<div class="eq-line"><math displaystyle="true"><mo>=</mo>${nums}<mo>=</mo>` +
        `<mn class="eq-value">${num(value)}</mn></math></div>`
      : `<div class="eq-line"><math displaystyle="true">${lhs}<mo>=</mo>` +
        `<mn class="eq-value">0</mn></math></div>` +
        `<p class="note">No window reaches this element: its gradient is 0.</p>`;
    const windowLine = fromAnimation ? `<p class="eq-window">As the correlation window, zeros ` +
      `included: <code>${windowText(item)}</code></p>` : "";
    $("#equation").innerHTML = head + body + windowLine;
  }

  function cellElement(el) {
    const entry = state.outputs.get(el), o = entry.item.out;
    return A.cellOf(state.geo, o.panel, o.slice, o.r, o.c).element[1];
  }

  function showPair(k) {
    if (state.pair === k) {
      state.pair = null;
      markTerms(state.terms);
    } else {
      state.pair = k;
      markTerms([state.terms[k]]);
    }
    $$("#equation .eq-term").forEach((m) => {
      const on = state.pair !== null && Number(m.dataset.term) === state.pair;
      m.classList.toggle("active", on);
      if (m.hasAttribute("aria-pressed")) m.setAttribute("aria-pressed", String(on));
    });
  }

  /* ---------------- animation ---------------- */

  function anim(sec) {
    if (!state.anim[sec]) state.anim[sec] = {pos: -1, timer: null, speed: 4};
    return state.anim[sec];
  }

  const outputsOf = (sec) => state.secs[SECTIONS.find((s) => s.id === sec).list];
  const box = (sec) => $(`.anim[data-sec="${sec}"]`);

  function begin(sec) {
    for (const other of Object.keys(state.anim)) if (other !== sec) reset(other);
    clearSelection();
    for (const item of outputsOf(sec)) {
      const el = state.cells.get(cellKey(sec, item.out));
      el.classList.add("pending");
      el.classList.remove("filled");
      label(el);
    }
    anim(sec).pos = -1;
  }

  function step(sec) {
    const a = anim(sec), list = outputsOf(sec);
    if (a.pos < 0 || a.pos >= list.length) begin(sec);
    clearMarks(["window", "current"]);
    a.pos += 1;
    const status = $(".anim-status", box(sec));
    if (a.pos >= list.length) {
      pause(sec);
      status.textContent = `done: all ${list.length} outputs computed`;
      return;
    }
    const item = list[a.pos];
    for (const pair of item.window) {
      for (const c of pair) state.cells.get(cellKey(sec, c)).classList.add("window");
    }
    const out = state.cells.get(cellKey(sec, item.out));
    out.classList.remove("pending");
    out.classList.add("current", "filled");
    label(out);
    if (out.dataset.tensor) select(out, true);
    else {
      clearMarks(["selected", "term"]);
      $("#equation").innerHTML = `<p class="eq-title"><strong>cropped</strong> — the full ` +
        `correlation at a padding position (${position(state.geo, item.out.r, item.out.c)}): the ` +
        `gradient of a padding zero, not of X, so it is cropped</p>` +
        `<p class="eq-window"><code>${windowText(item)} = ${num(item.value)}</code></p>`;
    }
    status.textContent = `output ${a.pos + 1} of ${list.length}`;
  }

  function play(sec) {
    const a = anim(sec);
    if (a.timer) return pause(sec);
    if (a.pos < 0 || a.pos >= outputsOf(sec).length) begin(sec);
    a.timer = setInterval(() => step(sec), 2000 / a.speed);
    const b = $('[data-act="play"]', box(sec));
    b.textContent = "❚❚ Pause";
    b.setAttribute("aria-pressed", "true");
    step(sec);
  }

  function pause(sec) {
    const a = anim(sec);
    clearInterval(a.timer);
    a.timer = null;
    const b = box(sec) && $('[data-act="play"]', box(sec));
    if (b) {
      b.textContent = "▶ Play";
      b.setAttribute("aria-pressed", "false");
    }
  }

  function reset(sec) {
    pause(sec);
    anim(sec).pos = -1;
    for (const item of outputsOf(sec)) {
      const el = state.cells.get(cellKey(sec, item.out));
      if (!el) continue;
      el.classList.remove("pending", "current", "filled");
      label(el);
    }
    clearMarks(["window", "current"]);
    const b = box(sec);
    if (b) $(".anim-status", b).textContent = "";
  }

  function stopAll() {
    for (const sec of Object.keys(state.anim)) pause(sec);
  }

  /* ---------------- configuration ---------------- */

  const FIELDS = ["input", "kernel", "stride", "padding", "dilation", "in_channels",
                  "out_channels", "groups", "seed"];

  function command(form) {
    const parts = ["convgrad explain", `--input ${form.input}`, `--kernel ${form.kernel}`];
    const defaults = {stride: "1", padding: "0", dilation: "1", in_channels: "1",
                      out_channels: "1", groups: "1", seed: "0"};
    for (const [k, d] of Object.entries(defaults)) {
      if (String(form[k]).trim() !== d) parts.push(`--${k.replace("_", "-")} ${String(form[k]).trim()}`);
    }
    return parts.join(" ") + " --format html --out DIR";
  }

  function title(geo) {
    const real = geo.ndim === 1 ? [geo.axes[1]] : geo.axes, size = (f) => real.map(f).join("×");
    return `X ${size((a) => a.n)} ⋆ F ${size((a) => a.k)} → O ${size((a) => a.m)}`;
  }

  function apply(form) {
    const cfg = A.parseConfig(form);
    const seed = Number(form.seed ?? 0);
    if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`--seed: expected a non-negative integer, got '${form.seed}'`);
    const geo = A.geometry(cfg);
    Object.assign(state, {form: {...form}, cfg, geo, seed, secs: A.sections(geo)});
    state.vals = A.evaluate(geo, state.secs, A.values(geo, seed));
    render();
    $("#title").textContent = title(geo);
    $("#command").textContent = command(form);
    $("#padding-resolved").textContent = `padding (lo, hi) per axis: ` +
      geo.padding.map(([lo, hi]) => `(${lo}, ${hi})`).join(" × ");
  }

  function readForm() {
    const form = {};
    for (const f of FIELDS) form[f] = $(`#cfg-${f}`).value;
    return form;
  }

  function canonical(sets) {
    const out = {};
    for (const t of Object.keys(sets).sort()) {
      out[t] = {};
      for (const idx of Object.keys(sets[t]).sort()) out[t][idx] = sets[t][idx].map((p) => p.join("|")).sort();
    }
    return JSON.stringify(out);
  }

  function checkDerivation() {
    const badge = $("#derivation-check");
    const same = canonical(A.termSets(state.cfg)) === canonical(DATA.terms);
    const n = Object.values(DATA.terms).reduce((acc, m) => acc + Object.keys(m).length, 0);
    badge.className = same ? "ok" : "bad";
    badge.textContent = same
      ? `✓ The page's index arithmetic gives the same ${n} equations as the SymPy derivation of convgrad explain for this configuration.`
      : `✗ The page's index arithmetic differs from the SymPy derivation for this configuration.`;
  }

  /* ---------------- events ---------------- */

  function onKey(ev) {
    const el = ev.target.closest && ev.target.closest(".cell");
    if (!el) {
      const term = ev.target.closest && ev.target.closest(".eq-term");
      if (term && (ev.key === "Enter" || ev.key === " ")) {
        showPair(Number(term.dataset.term));
        ev.preventDefault();
      }
      return;
    }
    const grid = el.closest('[role="grid"]');
    let r = Number(el.dataset.r), c = Number(el.dataset.c);
    const rows = $$('[role="row"]', grid).length, cols = $$(".cell", grid).length / rows;
    switch (ev.key) {
      case "ArrowLeft": c -= 1; break;
      case "ArrowRight": c += 1; break;
      case "ArrowUp": r -= 1; break;
      case "ArrowDown": r += 1; break;
      case "Home": c = 0; break;
      case "End": c = cols - 1; break;
      case "Enter": case " ":
        select(el);
        ev.preventDefault();
        return;
      default: return;
    }
    ev.preventDefault();
    const next = $(`.cell[data-r="${Math.max(0, Math.min(rows - 1, r))}"][data-c="${Math.max(0, Math.min(cols - 1, c))}"]`, grid);
    next.focus();
  }

  function onFocus(ev) {
    const el = ev.target.closest && ev.target.closest(".cell");
    if (!el) return;
    const grid = el.closest('[role="grid"]');
    $$(".cell", grid).forEach((c) => { c.tabIndex = -1; });
    el.tabIndex = 0;
  }

  function onClick(ev) {
    const term = ev.target.closest(".eq-term");
    if (term) return showPair(Number(term.dataset.term));
    const el = ev.target.closest(".cell");
    if (el) return select(el);
    const button = ev.target.closest(".anim [data-act]");
    if (!button) return;
    const sec = button.closest(".anim").dataset.sec, act = button.dataset.act;
    if (act === "play") play(sec);
    else if (act === "step") { pause(sec); step(sec); }
    else if (act === "reset") { reset(sec); clearSelection(); }
  }

  function onInput(ev) {
    if (!ev.target.matches('.anim [data-act="speed"]')) return;
    const sec = ev.target.closest(".anim").dataset.sec, a = anim(sec);
    a.speed = Number(ev.target.value);
    if (a.timer) {
      clearInterval(a.timer);
      a.timer = setInterval(() => step(sec), 2000 / a.speed);
    }
  }

  function onSubmit(ev) {
    ev.preventDefault();
    const error = $("#config-error");
    try {
      apply(readForm());
      error.textContent = "";
      $("#derivation-check").className = "";
      $("#derivation-check").textContent = `Recomputed in the page. The SymPy derivation was ` +
        `checked for the configuration this file was generated for; to derive and verify this one, run:`;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      error.textContent = e.message;
    }
  }

  function init() {
    for (const f of FIELDS) $(`#cfg-${f}`).value = DATA.form[f];
    apply(DATA.form);
    checkDerivation();
    document.addEventListener("click", onClick);
    document.addEventListener("keydown", onKey);
    document.addEventListener("focusin", onFocus);
    document.addEventListener("input", onInput);
    $("#config").addEventListener("submit", onSubmit);
  }

  window.convgradExplain = {arith: A, state, apply, select, step, play, pause, reset, readForm};
  init();
})();
