/* convgrad explain page — the index arithmetic: pure functions, no DOM.
 *
 * It mirrors convgrad/explain/derive.py (and ops/geometry.py for shapes and padding);
 * tests/test_explain_page.py compares its term sets with the SymPy derivation's for many
 * configurations. Per spatial axis: input n, kernel k, stride s, dilation d, padding (lo, hi),
 *   effective kernel ke = d·(k − 1) + 1, output m = ⌊(n + lo + hi − ke)/s⌋ + 1,
 *   remainder r = (n + lo + hi − ke) mod s, padded size P = n + lo + hi,
 *   spread size S = (m − 1)·s + 1 + 2·(ke − 1) + r.
 *   O[o, p]      = Σ_c Σ_j Xpad[c, p·s + j·d] · F[o, c, j]
 *   ∂L/∂F[o,c,j] = Σ_p Xpad[c, j·d + p·s] · ∂L/∂O[o, p]
 *   ∂L/∂X[c, i]  = Σ_o Σ_j spread[o, i + lo + j·d] · rot180(F)[c, o, j]   (then cropped)
 * Internally every input is 2-d: a 1-d input gets a leading axis with n = k = s = d = 1 and no
 * padding, which changes no sum; display indices drop it again.
 */
"use strict";

const ConvArith = (function () {
  const LIMITS = {size: 16, kernel: 9, option: 8, channels: 4, cells: 6000};
  const NAMES = {X: "X", F: "F", O: "O", dO: "∂L/∂O", dX: "∂L/∂X", dF: "∂L/∂F"};

  function fail(message) {
    throw new RangeError(message);
  }

  function parseSize(text, what) {
    const parts = String(text).trim().toLowerCase().replace(/×/g, "x").split("x");
    const values = parts.map((p) => (/^\s*[+-]?\d+\s*$/.test(p) ? parseInt(p, 10) : NaN));
    if (values.some(Number.isNaN)) fail(`${what} must look like 5 or 3x3, got '${text}'`);
    if (values.some((v) => v < 1)) fail(`${what} must be positive, got '${text}'`);
    return values;
  }

  /** '1', '1x2', '1:0', '1:0x0:2', 'same', 'valid', 'full' (as convgrad.explain.parse_padding). */
  function parsePadding(text) {
    const t = String(text).trim().toLowerCase();
    if (t === "same" || t === "valid" || t === "full") return t;
    const dims = t.replace(/×/g, "x").split("x");
    const int = (v) => (/^\s*\d+\s*$/.test(v) ? parseInt(v, 10) : NaN);
    const bad = () => fail(`--padding must be P, PxP, LO:HI, LO:HIxLO:HI, same, valid or full; ` +
                           `got '${text}'`);
    if (dims.some((d) => d.includes(":"))) {
      const pairs = dims.map((d) => d.split(":").map(int));
      if (pairs.some((p) => p.length !== 2 || p.some(Number.isNaN))) bad();
      return pairs;
    }
    const values = dims.map(int);
    if (values.some(Number.isNaN)) bad();
    return values.length === 1 ? values[0] : values;
  }

  function perDim(values, ndim, name) {
    if (values.length === 1) return Array(ndim).fill(values[0]);
    if (values.length !== ndim) fail(`${name} has ${values.length} values for a ${ndim}-d input`);
    return values;
  }

  /** The form's strings → a configuration (the CLI's rules: kernel 2 per dim by default). */
  function parseConfig(form) {
    const input = parseSize(form.input, "--input");
    const ndim = input.length;
    if (ndim > 2) fail(`only 1-d and 2-d inputs are drawn, got --input ${input.join("×")}`);
    let kernel = form.kernel ? parseSize(form.kernel, "--kernel") : Array(ndim).fill(2);
    if (kernel.length === 1 && ndim === 2) kernel = [kernel[0], kernel[0]];
    const count = (v, name) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) fail(`${name}: expected a positive integer, got '${v}'`);
      return n;
    };
    return {
      input, kernel,
      stride: perDim(parseSize(form.stride, "--stride"), ndim, "--stride"),
      padding: parsePadding(form.padding),
      dilation: perDim(parseSize(form.dilation, "--dilation"), ndim, "--dilation"),
      in_channels: count(form.in_channels ?? 1, "--in-channels"),
      out_channels: count(form.out_channels ?? 1, "--out-channels"),
      groups: count(form.groups ?? 1, "--groups"),
    };
  }

  /** Padding spec → one [lo, hi] pair per dim (ops.geometry.resolve_padding). */
  function resolvePadding(padding, n, k, s, d) {
    const ndim = n.length;
    if (typeof padding === "string") {
      return n.map((ni, a) => {
        const ke = d[a] * (k[a] - 1) + 1;
        if (padding === "valid") return [0, 0];
        if (padding === "full") return [ke - 1, ke - 1];
        const total = Math.max((Math.ceil(ni / s[a]) - 1) * s[a] + ke - ni, 0);
        return [Math.floor(total / 2), total - Math.floor(total / 2)];
      });
    }
    let pairs;
    if (typeof padding === "number") pairs = Array.from({length: ndim}, () => [padding, padding]);
    else if (padding.length === ndim && padding.every((p) => typeof p === "number")) {
      pairs = padding.map((p) => [p, p]);
    } else if (padding.length === ndim && padding.every((p) => Array.isArray(p) && p.length === 2)) {
      pairs = padding.map((p) => [p[0], p[1]]);
    } else fail(`padding does not fit ${ndim} spatial dim(s)`);
    if (pairs.some((p) => p[0] < 0 || p[1] < 0 || !Number.isInteger(p[0] + p[1]))) {
      fail(`padding must be non-negative integers`);
    }
    return pairs;
  }

  /** Validate and describe the shapes (ops.geometry.conv_geometry, plus the page's limits). */
  function geometry(cfg) {
    const n = cfg.input, k = cfg.kernel, ndim = n.length;
    if (ndim < 1 || ndim > 2) fail(`only 1-d and 2-d inputs are drawn, got ${ndim} dims`);
    if (k.length !== ndim) {
      fail(`--kernel ${k.join("×")} and --input ${n.join("×")} must have the same number of dims`);
    }
    const s = perDim(cfg.stride, ndim, "--stride"), d = perDim(cfg.dilation, ndim, "--dilation");
    const cin = cfg.in_channels, cout = cfg.out_channels, g = cfg.groups;
    if (cin % g) fail(`groups=${g} must divide C_in=${cin}`);
    if (cout % g) fail(`groups=${g} must divide C_out=${cout}`);
    if (Math.max(cin, cout) > LIMITS.channels) fail(`the page draws at most ${LIMITS.channels} channels`);
    if (Math.max(...n) > LIMITS.size) fail(`the page draws inputs of at most ${LIMITS.size} per dim`);
    if (Math.max(...k) > LIMITS.kernel) fail(`the page draws kernels of at most ${LIMITS.kernel} per dim`);
    const pads = resolvePadding(cfg.padding, n, k, s, d);
    if (Math.max(...s, ...d, ...pads.flat()) > LIMITS.option) {
      fail(`the page draws stride, dilation and padding of at most ${LIMITS.option}`);
    }
    const real = n.map((ni, a) => {
      const [lo, hi] = pads[a], ke = d[a] * (k[a] - 1) + 1, P = ni + lo + hi;
      if (ke > P) {
        fail(`kernel larger than the padded input along spatial dim ${a}: effective kernel ` +
             `d·(k−1)+1 = ${ke} > n + lo + hi = ${P} (n=${ni}, k=${k[a]}, d=${d[a]}, ` +
             `padding=(${lo}, ${hi})); the output would be empty`);
      }
      const m = Math.floor((P - ke) / s[a]) + 1, r = (P - ke) % s[a];
      return {n: ni, k: k[a], s: s[a], d: d[a], lo, hi, ke, m, r, P,
              S: (m - 1) * s[a] + 1 + 2 * (ke - 1) + r};
    });
    const one = {n: 1, k: 1, s: 1, d: 1, lo: 0, hi: 0, ke: 1, m: 1, r: 0, P: 1, S: 1};
    const axes = ndim === 1 ? [one, real[0]] : real;
    const cinG = cin / g, coutG = cout / g;
    const lead = {X: cin > 1 ? 1 : 0, O: cout > 1 ? 1 : 0, F: cout > 1 || cinG > 1 ? 2 : 0};
    const biggest = Math.max(...real.flatMap((a) => [a.n, a.k, a.m, a.P]));
    const geo = {ndim, axes, cin, cout, groups: g, cinG, coutG, lead,
                 compact: biggest < 10 && !lead.X && !lead.O && !lead.F,
                 padding: real.map((a) => [a.lo, a.hi])};
    const [a0, a1] = axes;
    const cells = 2 * cin * a0.P * a1.P + 2 * cout * cinG * a0.k * a1.k + 2 * cout * a0.m * a1.m +
                  cout * a0.S * a1.S + cin * coutG * a0.k * a1.k + cin * a0.P * a1.P;
    if (cells > LIMITS.cells) fail(`this configuration has ${cells} cells to draw, over the ` +
                                   `page's limit of ${LIMITS.cells}`);
    return geo;
  }

  const BASE = {X: "X", dX: "X", O: "O", dO: "O", F: "F", dF: "F"};
  const CHANNEL_AXES = {X: 1, O: 1, F: 2};

  /** 1-based display index in the text equations' order: channel axes only when shown. */
  function displayIndex(geo, tensor, full) {
    const base = BASE[tensor], ch = CHANNEL_AXES[base];
    const shown = full.slice(ch - geo.lead[base], ch).concat(full.slice(geo.ndim === 1 ? ch + 1 : ch));
    return shown.map((v) => v + 1).join(",");
  }

  function label(geo, tensor, full) {
    const idx = displayIndex(geo, tensor, full);
    if (!geo.compact) return `${NAMES[tensor]}[${idx}]`;
    const sub = idx.replace(/,/g, "").replace(/\d/g, (c) => "₀₁₂₃₄₅₆₇₈₉"[c]);
    return NAMES[tensor] + sub;
  }

  /** Seeded small nonzero integers −3…3 (an LCG mod 2³¹; stream 0: X, 1: F, 2: ∂L/∂O). */
  function example(count, seed, stream) {
    let state = ((seed % 2147483648) * 1000003 + stream * 7919 + 12345) % 2147483648;
    const out = new Array(count);
    for (let i = 0; i < count; i++) {
      state = (Math.imul(1103515245, state) + 12345) & 0x7fffffff;
      const v = (state >>> 16) % 6;
      out[i] = v < 3 ? v - 3 : v - 2;
    }
    return out;
  }

  /** Which tensor element sits in a panel cell ([tensor, full index]) or null (a zero), and
   *  what kind of cell it is. Panels: xpad, f, o (forward), do, df (∂L/∂F), spread, rot,
   *  dxfull (∂L/∂X). Slices: channel c / o, or o·C_in/g + c for F-shaped panels. */
  function cellOf(geo, panel, slice, r, c) {
    const [a0, a1] = geo.axes;
    switch (panel) {
      case "xpad": {
        const i0 = r - a0.lo, i1 = c - a1.lo;
        const inside = i0 >= 0 && i0 < a0.n && i1 >= 0 && i1 < a1.n;
        return inside ? {element: ["X", [slice, i0, i1]], kind: "X"} : {element: null, kind: "pad"};
      }
      case "f": case "df": {
        const o = Math.floor(slice / geo.cinG), ci = slice % geo.cinG;
        const t = panel === "f" ? "F" : "dF";
        return {element: [t, [o, ci, r, c]], kind: t};
      }
      case "o": return {element: ["O", [slice, r, c]], kind: "O"};
      case "do": return {element: ["dO", [slice, r, c]], kind: "dO"};
      case "spread": {
        const u0 = r - (a0.ke - 1), u1 = c - (a1.ke - 1);
        const core = u0 >= 0 && u0 <= (a0.m - 1) * a0.s && u1 >= 0 && u1 <= (a1.m - 1) * a1.s;
        if (core && u0 % a0.s === 0 && u1 % a1.s === 0) {
          return {element: ["dO", [slice, u0 / a0.s, u1 / a1.s]], kind: "dO"};
        }
        return {element: null, kind: core ? "gap" : "pad"};
      }
      case "rot": {
        const ci = Math.floor(slice / geo.coutG), oo = slice % geo.coutG;
        const o = Math.floor(ci / geo.cinG) * geo.coutG + oo;
        return {element: ["F", [o, ci % geo.cinG, a0.k - 1 - r, a1.k - 1 - c]], kind: "F"};
      }
      case "dxfull": {
        const i0 = r - a0.lo, i1 = c - a1.lo;
        const inside = i0 >= 0 && i0 < a0.n && i1 >= 0 && i1 < a1.n;
        return inside ? {element: ["dX", [slice, i0, i1]], kind: "dX"} : {element: null, kind: "crop"};
      }
    }
    throw new Error(`unknown panel ${panel}`);
  }

  const cell = (panel, slice, r, c) => ({panel, slice, r, c});

  /** Every output of the three correlations with its window: the (first, second) factor cells
   *  of each product, zeros included. First factors as in the text: X·F, ∂L/∂O·X, ∂L/∂O·F. */
  function sections(geo) {
    const [a0, a1] = geo.axes, {cinG, coutG} = geo;
    const forward = [], weight = [], input = [];
    for (let o = 0; o < geo.cout; o++) {
      const c0 = Math.floor(o / coutG) * cinG;
      for (let p0 = 0; p0 < a0.m; p0++) for (let p1 = 0; p1 < a1.m; p1++) {
        const window = [];
        for (let c = 0; c < cinG; c++) for (let j0 = 0; j0 < a0.k; j0++) for (let j1 = 0; j1 < a1.k; j1++) {
          window.push([cell("xpad", c0 + c, p0 * a0.s + j0 * a0.d, p1 * a1.s + j1 * a1.d),
                       cell("f", o * cinG + c, j0, j1)]);
        }
        forward.push({out: cell("o", o, p0, p1), window});
      }
    }
    for (let o = 0; o < geo.cout; o++) for (let c = 0; c < cinG; c++) {
      const cIn = Math.floor(o / coutG) * cinG + c;
      for (let j0 = 0; j0 < a0.k; j0++) for (let j1 = 0; j1 < a1.k; j1++) {
        const window = [];
        for (let p0 = 0; p0 < a0.m; p0++) for (let p1 = 0; p1 < a1.m; p1++) {
          window.push([cell("do", o, p0, p1),
                       cell("xpad", cIn, j0 * a0.d + p0 * a0.s, j1 * a1.d + p1 * a1.s)]);
        }
        weight.push({out: cell("df", o * cinG + c, j0, j1), window});
      }
    }
    for (let c = 0; c < geo.cin; c++) {
      const first = Math.floor(c / cinG) * coutG;
      for (let i0 = 0; i0 < a0.P; i0++) for (let i1 = 0; i1 < a1.P; i1++) {
        const window = [];
        for (let oo = 0; oo < coutG; oo++) for (let j0 = 0; j0 < a0.k; j0++) for (let j1 = 0; j1 < a1.k; j1++) {
          window.push([cell("spread", first + oo, i0 + j0 * a0.d, i1 + j1 * a1.d),
                       cell("rot", c * coutG + oo, j0, j1)]);
        }
        input.push({out: cell("dxfull", c, i0, i1), window});
      }
    }
    return {forward, weight, input};
  }

  /** The products of an output's equation that survive: both factors tensor elements. */
  function terms(geo, window) {
    const out = [];
    for (const [a, b] of window) {
      const ea = cellOf(geo, a.panel, a.slice, a.r, a.c).element;
      const eb = cellOf(geo, b.panel, b.slice, b.r, b.c).element;
      if (ea && eb) out.push([ea, eb]);
    }
    return out;
  }

  /** {O, dF, dX}: display index → [[tensor, index, tensor, index], …] (the JSON that
   *  convgrad.explain.page.term_sets exports from the SymPy derivation). */
  function termSets(cfg) {
    const geo = geometry(cfg), secs = sections(geo), result = {O: {}, dF: {}, dX: {}};
    for (const list of [secs.forward, secs.weight, secs.input]) {
      for (const {out, window} of list) {
        const e = cellOf(geo, out.panel, out.slice, out.r, out.c).element;
        if (!e) continue;
        result[e[0]][displayIndex(geo, e[0], e[1])] = terms(geo, window).map(
          ([x, y]) => [x[0], displayIndex(geo, x[0], x[1]), y[0], displayIndex(geo, y[0], y[1])]);
      }
    }
    return result;
  }

  /** Seeded X, F, ∂L/∂O and the three results, as flat row-major arrays keyed by tensor. */
  function values(geo, seed) {
    const [a0, a1] = geo.axes;
    const v = {X: example(geo.cin * a0.n * a1.n, seed, 0),
               F: example(geo.cout * geo.cinG * a0.k * a1.k, seed, 1),
               dO: example(geo.cout * a0.m * a1.m, seed, 2)};
    v.shape = {X: [geo.cin, a0.n, a1.n], F: [geo.cout, geo.cinG, a0.k, a1.k], dO: [geo.cout, a0.m, a1.m]};
    v.shape.dX = v.shape.X; v.shape.dF = v.shape.F; v.shape.O = v.shape.dO;
    return v;
  }

  function flat(shape, full) {
    return full.reduce((acc, i, axis) => acc * shape[axis] + i, 0);
  }

  function valueOf(vals, element) {
    return element ? vals[element[0]][flat(vals.shape[element[0]], element[1])] : 0;
  }

  /** Each output's value, Σ over its window of first·second factor (zeros included); fills
   *  vals.O, vals.dF, vals.dX and sets out.value on every output (cropped ones too). */
  function evaluate(geo, secs, vals) {
    for (const t of ["O", "dF", "dX"]) vals[t] = new Array(vals.shape[t].reduce((a, b) => a * b, 1));
    for (const list of [secs.forward, secs.weight, secs.input]) {
      for (const item of list) {
        let sum = 0;
        for (const [a, b] of item.window) {
          sum += valueOf(vals, cellOf(geo, a.panel, a.slice, a.r, a.c).element) *
                 valueOf(vals, cellOf(geo, b.panel, b.slice, b.r, b.c).element);
        }
        item.value = sum;
        const e = cellOf(geo, item.out.panel, item.out.slice, item.out.r, item.out.c).element;
        if (e) vals[e[0]][flat(vals.shape[e[0]], e[1])] = sum;
      }
    }
    return vals;
  }

  return {LIMITS, NAMES, evaluate, parseSize, parsePadding, parseConfig, resolvePadding, geometry,
          displayIndex, label, example, cellOf, sections, terms, termSets, values, valueOf, flat};
})();
