/* convgrad explain page — the view: the grids, their cells and labels, the section texts and
 * the pieces of the equation (MathML). ExplainView(ConvArith, state) returns the builders;
 * page.js (selection, animation, the form) drives them. Cells follow the DOM contract of
 * docs/explain-page.md: data-tensor, data-index, an aria-label naming the cell. */
"use strict";

function ExplainView(A, state) {
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const SHORT = {X: "X", F: "F", O: "O", dO: "∂O", dX: "∂X", dF: "∂F"};
  const SECTIONS = [
    {id: "forward", list: "forward", title: "Forward: O = X ⋆ F",
     panels: [["xpad", "X, padded"], ["f", "F"], ["o", "O"]], ops: ["⋆", "="]},
    {id: "weight", list: "weight", title: "∂L/∂F = X ⋆ ∂L/∂O",
     panels: [["xpad", "X, padded"], ["do", "∂L/∂O"], ["df", "∂L/∂F"]], ops: ["⋆", "="]},
    {id: "input", list: "input",
     title: "∂L/∂X = full correlation of the spread ∂L/∂O with rot180(F)",
     panels: [["spread", "∂L/∂O, spread and padded"], ["rot", "rot180(F)"],
              ["dxfull", "∂L/∂X (hatched border: cropped)"]], ops: ["⋆", "="]},
  ];
  const num = (v) => String(v).replace("-", "−");
  const keyOf = (t, index) => `${t}:${index}`;
  const cellKey = (sec, c) => `${sec}/${c.panel}/${c.slice}/${c.r}/${c.c}`;

  /* ---------------- the grids ---------------- */

  function sliceShapes(geo, panel) {
    const [a0, a1] = geo.axes;
    return {
      xpad: [geo.cin, a0.P, a1.P], dxfull: [geo.cin, a0.P, a1.P],
      f: [geo.cout * geo.cinG, a0.k, a1.k], df: [geo.cout * geo.cinG, a0.k, a1.k],
      o: [geo.cout, a0.m, a1.m], do: [geo.cout, a0.m, a1.m],
      spread: [geo.cout, a0.S, a1.S], rot: [geo.cin * geo.coutG, a0.k, a1.k],
    }[panel];
  }

  function sliceCaption(geo, panel, slice) {
    const fShaped = (outer, inner) => `${outer} ${Math.floor(slice / inner) + 1}, ` +
                                      `${outer === "o" ? "c" : "o"} ${(slice % inner) + 1}`;
    if (panel === "f" || panel === "df") return geo.lead.F ? fShaped("o", geo.cinG) : "";
    if (panel === "rot") return geo.cin > 1 || geo.coutG > 1 ? fShaped("c", geo.coutG) : "";
    if (panel === "xpad" || panel === "dxfull") return geo.lead.X ? `c ${slice + 1}` : "";
    return geo.lead.O ? `o ${slice + 1}` : "";
  }

  function position(geo, r, c) {
    return geo.ndim === 1 ? `position ${c + 1}` : `row ${r + 1} column ${c + 1}`;
  }

  function ariaName(geo, t, full) {
    const base = {X: "X", dX: "X", O: "O", dO: "O", F: "F", dF: "F"}[t];
    const parts = [A.NAMES[t]];
    if (base === "F" && geo.lead.F) parts.push(`output channel ${full[0] + 1} input channel ${full[1] + 1}`);
    if (base !== "F" && geo.lead[base]) parts.push(`channel ${full[0] + 1}`);
    const spatial = full.slice(base === "F" ? 2 : 1);
    parts.push(position(geo, spatial[0], spatial[1]));
    return parts.join(" ");
  }

  function subscript(geo, index) {
    return geo.compact ? index.replace(/,/g, "") : index;
  }

  function makeCell(sec, panel, slice, r, c) {
    const geo = state.geo, info = A.cellOf(geo, panel, slice, r, c);
    const el = document.createElement("div");
    el.className = `cell k-${info.kind}`;
    el.setAttribute("role", "gridcell");
    el.tabIndex = -1;
    el.dataset.r = r;
    el.dataset.c = c;
    const lab = document.createElement("span"), val = document.createElement("span");
    lab.className = "lab";
    val.className = "val";
    let name;
    if (info.element) {
      const [t, full] = info.element, index = A.displayIndex(geo, t, full);
      el.dataset.tensor = t;
      el.dataset.index = index;
      lab.textContent = SHORT[t];
      const sub = document.createElement("sub");
      sub.textContent = subscript(geo, index);
      lab.appendChild(sub);
      val.textContent = num(A.valueOf(state.vals, info.element));
      name = ariaName(geo, t, full);
      const key = keyOf(t, index);
      if (!state.elements.has(key)) state.elements.set(key, []);
      state.elements.get(key).push(el);
    } else {
      lab.textContent = {pad: "pad", gap: "gap", crop: "crop"}[info.kind];
      val.textContent = "0";
      const where = position(geo, r, c);
      name = {pad: `padding zero, ${where}`, gap: `inserted zero (gap), ${where}`,
              crop: `cropped border of the full correlation (gradient of a padding position), ${where}`}[info.kind];
    }
    el.dataset.name = name;
    el.append(lab, val);
    state.cells.set(cellKey(sec, {panel, slice, r, c}), el);
    return el;
  }

  function label(el) {
    const pending = el.classList.contains("pending");
    el.setAttribute("aria-label", `${el.dataset.name}, ${pending ? "not computed yet" : "value " + el.lastChild.textContent}`);
  }

  function makePanel(sec, panel, title) {
    const fig = document.createElement("figure");
    fig.className = `panel panel-${panel}`;
    const cap = document.createElement("figcaption");
    const padded = state.geo.axes.some((a) => a.lo || a.hi);
    if (!padded) title = {xpad: "X", dxfull: "∂L/∂X"}[panel] || title;
    cap.textContent = title;
    fig.appendChild(cap);
    const [slices, rows, cols] = sliceShapes(state.geo, panel);
    for (let s = 0; s < slices; s++) {
      const grid = document.createElement("div");
      const caption = sliceCaption(state.geo, panel, s);
      grid.className = "grid";
      grid.setAttribute("role", "grid");
      grid.setAttribute("aria-label", `${title}${caption ? ", " + caption : ""}`);
      grid.dataset.panel = panel;
      grid.dataset.slice = s;
      if (caption) {
        const c = document.createElement("div");
        c.className = "slice-caption";
        c.setAttribute("aria-hidden", "true");
        c.textContent = caption;
        grid.appendChild(c);
      }
      for (let r = 0; r < rows; r++) {
        const row = document.createElement("div");
        row.className = "row";
        row.setAttribute("role", "row");
        for (let c = 0; c < cols; c++) row.appendChild(makeCell(sec, panel, s, r, c));
        grid.appendChild(row);
      }
      grid.querySelector(".cell").tabIndex = 0;
      fig.appendChild(grid);
    }
    return fig;
  }

  function describe(sec) {
    const geo = state.geo, real = geo.ndim === 1 ? [geo.axes[1]] : geo.axes;
    const list = (f) => {
      const v = real.map(f);
      return v.every((x) => x === v[0]) ? String(v[0]) : `(${v.join(", ")})`;
    };
    const taps = list((a) => a.d), step = list((a) => a.s);
    const padded = real.some((a) => a.lo || a.hi), single = real.every((a) => a.m === 1);
    const x = padded ? "the padded X (grey, hatched: padding)" : "X";
    if (sec.id === "forward") {
      return (single ? `The window of F — taps ${taps} apart — fits ${x} once: a single output.`
                     : `The window of F — taps ${taps} apart — moves ${step} at a time over ${x}.`) +
             ` Each O element is the sum of the products under it.`;
    }
    if (sec.id === "weight") {
      return single
        ? `∂L/∂F is again a correlation; with a single ∂L/∂O element each ∂L/∂F element is one ` +
          `product: ∂L/∂O times the X under that tap (the window moves by ${taps}, the dilation).`
        : `∂L/∂F is again a correlation: the elements of ∂L/∂O land ${step} apart on ` +
          `${padded ? "the padded " : ""}X (the stride), and the window moves by ${taps} (the ` +
          `dilation) from one ∂L/∂F element to the next.`;
    }
    const strided = real.some((a) => a.s > 1), remainder = real.some((a) => a.r > 0);
    return (strided ? `∂L/∂O with stride − 1 = ${list((a) => a.s - 1)} zero(s) between ` +
                      `elements (white, dotted: the gaps), ` : `∂L/∂O (stride 1: no gaps) `) +
           `padded by ke − 1 = ${list((a) => a.ke - 1)}` +
           (remainder ? ` (+ the remainder ${list((a) => a.r)} on the high side)` : "") +
           `, correlated at stride 1 with rot180(F), taps ${taps} apart. The result is the ` +
           `gradient of the ${padded ? "padded input; its hatched border belongs to the padding " +
                                       "and is cropped" : "input (no padding: nothing to crop)"}.`;
  }

  function makeSection(sec, number) {
    const el = document.createElement("section");
    el.className = "conv";
    el.id = `sec-${sec.id}`;
    el.setAttribute("aria-labelledby", `h-${sec.id}`);
    const h = document.createElement("h2");
    h.id = `h-${sec.id}`;
    h.textContent = `${number}. ${sec.title}`;
    const p = document.createElement("p");
    p.textContent = describe(sec);
    el.append(h, p, makeControls(sec));
    const row = document.createElement("div");
    row.className = "panels";
    sec.panels.forEach(([panel, title], i) => {
      row.appendChild(makePanel(sec.id, panel, title));
      if (i < sec.ops.length) {
        const op = document.createElement("span");
        op.className = "op";
        op.setAttribute("aria-hidden", "true");
        op.textContent = sec.ops[i];
        row.appendChild(op);
      }
    });
    el.appendChild(row);
    for (const item of state.secs[sec.list]) {
      const out = state.cells.get(cellKey(sec.id, item.out));
      state.outputs.set(out, {sec: sec.id, item});
      if (item.out.panel === "dxfull" && !out.dataset.tensor) out.lastChild.textContent = num(item.value);
    }
    return el;
  }

  function makeControls(sec) {
    const box = document.createElement("div");
    box.className = "anim";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", `Step through: ${sec.title}`);
    box.dataset.sec = sec.id;
    box.innerHTML = `<button type="button" data-act="play" aria-pressed="false">▶ Play</button>` +
      `<button type="button" data-act="step">Step ▸</button>` +
      `<button type="button" data-act="reset">Show all</button>` +
      `<label>speed <input type="range" data-act="speed" min="1" max="10" value="4"></label>` +
      `<span class="anim-status" aria-live="polite"></span>`;
    return box;
  }

  /* ---------------- the equation's pieces ---------------- */

  const MI = (t) => `<mi>${t}</mi>`;

  function mathName(geo, t, index) {
    const sub = geo.compact ? `<mn>${index.replace(/,/g, "")}</mn>`
      : `<mrow>${index.split(",").map((v) => `<mn>${v}</mn>`).join('<mo separator="true">,</mo>')}</mrow>`;
    const base = {dO: "O", dX: "X", dF: "F"}[t];
    if (!base) return `<msub>${MI(t)}${sub}</msub>`;
    return `<mfrac><mrow><mo>∂</mo>${MI("L")}</mrow><mrow><mo>∂</mo><msub>${MI(base)}${sub}</msub></mrow></mfrac>`;
  }

  const text = (e) => A.label(state.geo, e[0], e[1]);
  const mathOf = (e) => mathName(state.geo, e[0], A.displayIndex(state.geo, e[0], e[1]));
  const mnum = (v) => (v < 0 ? `<mrow><mo>(</mo><mn>${num(v)}</mn><mo>)</mo></mrow>` : `<mn>${v}</mn>`);

  function windowText(item) {
    const geo = state.geo, o = item.out, e = A.cellOf(geo, o.panel, o.slice, o.r, o.c).element;
    const f = (c) => {
      const x = A.cellOf(geo, c.panel, c.slice, c.r, c.c).element;
      return x ? text(x) : "0";
    };
    const lhs = e ? text(e) : `(cropped) ${position(geo, o.r, o.c)}`;
    return `${lhs} = ${item.window.map(([a, b]) => `${f(a)}·${f(b)}`).join(" + ")}`;
  }

  return {SECTIONS, num, keyOf, cellKey, position, label, makeSection, mathName, text, mathOf,
          mnum, windowText};
}
