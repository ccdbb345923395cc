/* prbench view: the leaderboard, runs, users and comparisons of a results folder, in the browser.
 *
 * Vanilla JS, no build step, nothing from the network. Documents (benchmark/view/documents.py) are small JS
 * files, data/<key>.js, each calling PRB.put(key, value); they are loaded when a page needs them, by a
 * <script> tag, which works from file:// where fetch() of local files does not.
 *
 * Every text from data or models is put in the page as text (createTextNode / textContent), never parsed
 * as HTML: this file never uses innerHTML.
 *
 * Routes (deep links): #/  #/run/<run>  #/user/<run>/<user>  #/user/<run>/<user>/pair/<pair>
 * #/compare/<run>,<run>[,...]; each part URI-encoded. When a page is rendered, <html data-ready> holds its
 * hash (tests and the benchmark wait for it).
 */
"use strict";

/* ---- documents ------------------------------------------------------------------------------------- */

const PRB = (() => {
  const docs = new Map();
  const waiting = new Map();
  const served = location.protocol === "http:" || location.protocol === "https:";

  function put(key, value) {
    docs.set(key, value);
    const wait = waiting.get(key);
    if (wait) { waiting.delete(key); wait.resolve(value); }
  }

  function get(key, fresh = false) {
    if (fresh && served) docs.delete(key);
    if (docs.has(key)) return Promise.resolve(docs.get(key));
    if (waiting.has(key)) return waiting.get(key).promise;
    const wait = {};
    wait.promise = new Promise((resolve, reject) => { wait.resolve = resolve; wait.reject = reject; });
    waiting.set(key, wait);
    const script = document.createElement("script");
    script.src = "data/" + key + ".js" + (fresh && served ? "?t=" + Date.now() : "");
    const fail = (why) => {
      script.remove();
      if (waiting.get(key) === wait) { waiting.delete(key); wait.reject(new Error(why)); }
    };
    script.onload = () => fail("data/" + key + ".js did not register its document");
    script.onerror = () => fail("could not load data/" + key + ".js (is the export complete?)");
    document.head.appendChild(script);
    return wait.promise;
  }

  return { put, get };
})();
window.PRB = PRB;

/* ---- DOM, as text only ------------------------------------------------------------------------------- */

function add(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function set(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k === "className" ? "class" : k, v === true ? "" : String(v));
  }
  return el;
}

const h = (tag, attrs, ...children) => add(set(document.createElement(tag), attrs), children);
const SVGNS = "http://www.w3.org/2000/svg";
const s = (tag, attrs, ...children) => add(set(document.createElementNS(SVGNS, tag), attrs), children);

/* ---- numbers as the terminal shows them -------------------------------------------------------------- */

const NA = "n/a";
const isNum = (x) => typeof x === "number" && isFinite(x);
const pct = (x) => (isNum(x) ? (100 * x).toFixed(2) : NA);
const ci = (lo, hi) => (isNum(lo) || isNum(hi) ? "[" + pct(lo) + ", " + pct(hi) + "]" : NA);
const ciPoints = (c) => (c && isNum(c[0]) ? "[" + c[0].toFixed(2) + ", " + c[1].toFixed(2) + "]" : "");
const int = (x) => (isNum(x) ? Math.round(x).toLocaleString("en-US") : NA);
const fixed = (x, d = 4) => (isNum(x) ? x.toFixed(d) : NA);
const signed = (x, d = 4) => (isNum(x) ? (x >= 0 ? "+" : "") + x.toFixed(d) : NA);
const seconds = (x) => (isNum(x) ? (x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : int(x)) + " s" : NA);
const degenerateFlag = (d) => (d ? h("span", { class: "flag", title: "the judge always picked one position: its CI is narrow by construction, not precise" }, " degenerate: always '" + d + "'") : null);

/* ---- routes -------------------------------------------------------------------------------------------- */

const enc = (x) => encodeURIComponent(String(x)).replace(/,/g, "%2C");
const dec = (x) => { try { return decodeURIComponent(x); } catch (e) { return x; } };
const link = {
  board: () => "#/",
  run: (run) => "#/run/" + enc(run),
  user: (run, user, pair) => "#/user/" + enc(run) + "/" + enc(user) + (pair === undefined ? "" : "/pair/" + enc(pair)),
  compare: (runs) => "#/compare/" + runs.map(enc).join(","),
};

class NotFound extends Error {}

/** The run named by the first of `parts` (or, for a hand-typed link, by several of them joined with "/"). */
function takeRun(index, parts) {
  for (let k = 1; k <= parts.length; k++) {
    const id = parts.slice(0, k).map(dec).join("/");
    const run = index.runs.find((r) => r.id === id);
    if (run) return [run, parts.slice(k)];
  }
  throw new NotFound("no run " + JSON.stringify(parts.map(dec).join("/")) + " in " + index.source);
}

let navigation = 0;
const main = () => document.getElementById("main");

async function route() {
  const token = ++navigation;
  const hash = location.hash || "#/";
  document.documentElement.removeAttribute("data-ready");
  const status = document.getElementById("status");
  status.textContent = "loading…";
  const parts = hash.replace(/^#\/?/, "").split("/").filter((p, i, all) => p !== "" || i < all.length - 1);
  const page = parts.shift() || "";
  let view;
  try {
    const index = await PRB.get("index", page === "");
    if (page === "") view = leaderboardPage(index);
    else if (page === "run") view = await runPage(index, takeRun(index, parts)[0]);
    else if (page === "user") {
      const [run, rest] = takeRun(index, parts);
      const at = rest.lastIndexOf("pair");
      const user = (at > 0 ? rest.slice(0, at) : rest).map(dec).join("/");
      const pair = at > 0 ? rest.slice(at + 1).map(dec).join("/") : undefined;
      view = await userPage(index, run, user, pair);
    } else if (page === "compare") {
      const ids = parts.join("/").split(",").map(dec).filter((x) => x);
      view = await comparePage(index, ids.map((id) => takeRun(index, id.split("/").map(enc))[0]));
    } else throw new NotFound("no page " + JSON.stringify(hash));
  } catch (error) {
    console.error(error);
    view = { title: "error", crumbs: [], node: h("div", { class: "error", id: "error" }, String(error.message || error)) };
  }
  if (token !== navigation) return;
  document.title = view.title + " · prbench view";
  const crumbs = document.getElementById("crumbs");
  crumbs.replaceChildren(...(view.crumbs || []).flatMap((c, i) => [i ? h("span", { class: "sep" }, "›") : null,
    c[1] ? h("a", { href: c[1] }, c[0]) : h("span", {}, c[0])]).filter((x) => x));
  main().replaceChildren(view.node);
  if (view.after) view.after();
  else window.scrollTo(0, 0);
  status.textContent = "";
  window.prbReadyMs = performance.now(); // time since navigation started (scripts/bench_view.py)
  document.documentElement.dataset.ready = hash;
}

/* ---- sortable, filterable tables ------------------------------------------------------------------------ */

/**
 * columns: {key, label, value(row) (sort key), cell(row) (text or node), num, title}
 * Returns {node, show(rows)}: click a header to sort by it (again: the other direction).
 */
function sortableTable(columns, { sort = null, className = "", rowAttrs = () => ({}), limit = Infinity } = {}) {
  let rows = [];
  let state = sort || { key: null, dir: 1 };
  let shownLimit = limit;
  const heads = columns.map((c) => h("th", {
    class: "sortable" + (c.num ? " num" : ""), title: c.title || "click to sort", dataset: { key: c.key },
    onclick: () => {
      state = { key: c.key, dir: state.key === c.key ? -state.dir : c.desc ? -1 : 1 };
      draw();
    },
  }, c.label));
  const body = h("tbody");
  const more = h("div", { class: "pager" });
  const table = h("table", { class: className }, h("thead", {}, h("tr", {}, heads)), body);
  const node = h("div", {}, h("div", { class: "scroll" }, table), more);

  function value(c, row) {
    const v = c.value ? c.value(row) : row[c.key];
    return v === null || v === undefined || (typeof v === "number" && !isFinite(v)) ? null : v;
  }
  function draw() {
    const col = columns.find((c) => c.key === state.key);
    const sorted = rows.slice();
    if (col) {
      sorted.sort((a, b) => {
        const x = value(col, a), y = value(col, b);
        if (x === null || y === null) return (x === null) - (y === null); // n/a last, either way
        return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
      });
    }
    for (const th of heads) {
      if (th.dataset.key === state.key) th.dataset.sort = state.dir > 0 ? "asc" : "desc";
      else delete th.dataset.sort;
    }
    body.replaceChildren(...sorted.slice(0, shownLimit).map((row) => h("tr", rowAttrs(row), columns.map((c) => {
      const content = c.cell ? c.cell(row) : row[c.key];
      return h("td", { class: c.num ? "num" : c.cls || null }, content === null || content === undefined ? NA : content);
    }))));
    more.replaceChildren(sorted.length > shownLimit ? h("button", {
      onclick: () => { shownLimit = Infinity; draw(); },
    }, "show all " + int(sorted.length) + " rows (" + int(shownLimit) + " shown)") : "");
  }
  return { node, show(newRows) { rows = newRows; draw(); } };
}

const numberInput = (attrs, onChange) => h("input", { type: "number", step: "any", ...attrs, oninput: onChange });
const readNumber = (input) => (input.value === "" ? null : Number(input.value));

/* ---- charts: inline SVG -------------------------------------------------------------------------------- */

function frame(width, height, margin) {
  const svg = s("svg", { width, height, viewBox: "0 0 " + width + " " + height, role: "img" });
  return { svg, x0: margin.left, x1: width - margin.right, y0: height - margin.bottom, y1: margin.top };
}

function yAxis(f, ticks, y, label) {
  for (const t of ticks) {
    f.svg.appendChild(s("line", { class: "grid", x1: f.x0, x2: f.x1, y1: y(t), y2: y(t) }));
    f.svg.appendChild(s("text", { x: f.x0 - 6, y: y(t) + 4, "text-anchor": "end" }, String(t)));
  }
  f.svg.appendChild(s("line", { class: "axis", x1: f.x0, x2: f.x0, y1: f.y0, y2: f.y1 }));
  f.svg.appendChild(s("text", { x: 12, y: (f.y0 + f.y1) / 2, transform: "rotate(-90 12 " + (f.y0 + f.y1) / 2 + ")", "text-anchor": "middle" }, label));
}

function xLabel(f, label) {
  f.svg.appendChild(s("line", { class: "axis", x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0 }));
  f.svg.appendChild(s("text", { x: (f.x0 + f.x1) / 2, y: f.y0 + 32, "text-anchor": "middle" }, label));
}

/** Per-user accuracy: a histogram in bins of 10 points, the macro accuracy marked. */
function histogram(users) {
  const f = frame(420, 250, { left: 46, right: 12, top: 14, bottom: 44 });
  const counts = new Array(10).fill(0);
  users.forEach((u) => { if (isNum(u.accuracy)) counts[Math.min(9, Math.floor(u.accuracy * 10 + 1e-9))] += 1; });
  const top = Math.max(1, ...counts);
  const step = top <= 10 ? 1 : top <= 50 ? 5 : top <= 200 ? 20 : 100;
  const ymax = Math.ceil(top / step) * step;
  const x = (v) => f.x0 + (v / 100) * (f.x1 - f.x0);
  const y = (v) => f.y0 - (v / ymax) * (f.y0 - f.y1);
  const ticks = [];
  for (let t = 0; t <= ymax; t += step) ticks.push(t);
  yAxis(f, ticks, y, "users");
  counts.forEach((c, i) => {
    if (!c) return;
    f.svg.appendChild(s("rect", { class: "bar", x: x(i * 10) + 1, width: x(10) - x(0) - 2, y: y(c), height: f.y0 - y(c) },
      s("title", {}, (i * 10) + "–" + (i === 9 ? 100 : i * 10 + 10) + "%: " + c + " users")));
    f.svg.appendChild(s("text", { x: x(i * 10 + 5), y: y(c) - 3, "text-anchor": "middle" }, String(c)));
  });
  for (let t = 0; t <= 100; t += 20) f.svg.appendChild(s("text", { x: x(t), y: f.y0 + 14, "text-anchor": "middle" }, String(t)));
  xLabel(f, "per-user accuracy, %");
  const accs = users.map((u) => u.accuracy).filter(isNum);
  if (accs.length) {
    const mean = 100 * accs.reduce((a, b) => a + b, 0) / accs.length;
    f.svg.appendChild(s("line", { class: "meanline", x1: x(mean), x2: x(mean), y1: f.y0, y2: f.y1 }, s("title", {}, "macro accuracy " + mean.toFixed(2))));
  }
  f.svg.appendChild(s("line", { class: "half", x1: x(50), x2: x(50), y1: f.y0, y2: f.y1 }));
  return h("div", { class: "chart", id: "histogram" }, h("h3", {}, "Per-user accuracy (" + accs.length + " users)"), f.svg,
    h("div", { class: "note" }, "Bins of 10 points; red: the macro accuracy; dashed: 50%."));
}

/** Accuracy against training pairs: bins of users, each its mean with a 95% interval (users resampled).
 * Long-tailed counts (PRISM: 3 to 100) get a log scale. */
function trainChart(bins) {
  const f = frame(460, 250, { left: 46, right: 14, top: 18, bottom: 44 });
  const hi = Math.max(1, ...bins.map((b) => b.hi));
  const lo = Math.max(0, Math.min(hi, ...bins.map((b) => b.lo)));
  const log = lo > 0 && hi / lo > 8;
  const t = log ? Math.log : (v) => v;
  const pad = log ? 0.08 * (t(hi) - t(lo)) : Math.max(1, (hi - lo) * 0.05);
  const x = (v) => f.x0 + ((t(Math.max(v, log ? lo : v)) - (t(lo) - pad)) / (t(hi) - t(lo) + 2 * pad)) * (f.x1 - f.x0);
  const y = (v) => f.y0 - (v / 100) * (f.y0 - f.y1);
  yAxis(f, [0, 25, 50, 75, 100], y, "mean per-user accuracy, %");
  f.svg.appendChild(s("line", { class: "half", x1: f.x0, x2: f.x1, y1: y(50), y2: y(50) }));
  const ticks = log ? [1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000].filter((v) => v >= lo && v <= hi)
    : [...new Set(bins.flatMap((b) => [b.lo, b.hi]))].sort((a, b) => a - b);
  ticks.forEach((m, i) => {
    if (i > 0 && x(m) - x(ticks[i - 1]) < 22) return;
    f.svg.appendChild(s("text", { x: x(m), y: f.y0 + 14, "text-anchor": "middle" }, String(m)));
  });
  xLabel(f, "user's training pairs" + (log ? " (log scale)" : ""));
  bins.forEach((b, i) => {
    const tip = "training pairs " + b.lo + (b.hi !== b.lo ? "–" + b.hi : "") + ": " + b.users + " users, mean " + pct(b.mean) + " " + ci(b.ci[0], b.ci[1]);
    const room = (i === 0 || x(b.x) - x(bins[i - 1].x) >= 40) && (i === bins.length - 1 || x(bins[i + 1].x) - x(b.x) >= 40);
    f.svg.appendChild(s("g", { class: "bin" },
      s("title", {}, tip),
      s("line", { class: "span", x1: x(b.lo), x2: x(b.hi), y1: y(100 * b.mean), y2: y(100 * b.mean) }),
      s("line", { class: "whisker", x1: x(b.x), x2: x(b.x), y1: y(100 * b.ci[0]), y2: y(100 * b.ci[1]) }),
      s("circle", { class: "point", cx: x(b.x), cy: y(100 * b.mean), r: 4 }),
      room ? s("text", { x: x(b.x), y: y(100 * b.ci[1]) - 4, "text-anchor": "middle" }, "n=" + b.users) : null));
  });
  return h("div", { class: "chart", id: "train-chart" }, h("h3", {}, "Accuracy against training pairs"), f.svg,
    h("div", { class: "note" }, "Users binned by training pairs (bar: the bin's range; hover for its users); point: mean accuracy; whisker: 95% interval, the bin's users resampled."));
}

/** Cost against macro accuracy for the runs on one dataset; the Pareto front (no run cheaper and better) marked. */
function costChart(runs, metric) {
  const f = frame(560, 300, { left: 50, right: 150, top: 16, bottom: 46 });
  const cost = (r) => (isNum(r[metric.key]) ? r[metric.key] : 0);
  const positive = runs.map(cost).filter((c) => c > 0);
  const cmin = positive.length ? Math.min(...positive) : 1;
  const cmax = positive.length ? Math.max(...positive) : 10;
  const l0 = Math.log10(cmin) - 0.3, l1 = Math.log10(cmax) + 0.3;
  const zeroX = f.x0 + 14;
  const x = (c) => (c > 0 ? zeroX + 16 + ((Math.log10(c) - l0) / (l1 - l0)) * (f.x1 - zeroX - 16) : zeroX);
  const accs = runs.flatMap((r) => [r.macro, ...(r.macro_ci || [])]).filter(isNum).map((a) => 100 * a);
  const a0 = Math.max(0, Math.floor((Math.min(50, ...accs) - 2) / 5) * 5), a1 = Math.min(100, Math.ceil((Math.max(...accs, 55) + 2) / 5) * 5);
  const y = (a) => f.y0 - ((a - a0) / (a1 - a0)) * (f.y0 - f.y1);
  const ticks = [];
  for (let t = a0; t <= a1; t += (a1 - a0 > 30 ? 10 : 5)) ticks.push(t);
  yAxis(f, ticks, y, "macro accuracy, %");
  if (runs.some((r) => cost(r) === 0)) f.svg.appendChild(s("text", { x: zeroX, y: f.y0 + 14, "text-anchor": "middle" }, "0"));
  for (let e = Math.ceil(l0); e <= Math.floor(l1); e++) {
    f.svg.appendChild(s("line", { class: "grid", x1: x(10 ** e), x2: x(10 ** e), y1: f.y0, y2: f.y1 }));
    f.svg.appendChild(s("text", { x: x(10 ** e), y: f.y0 + 14, "text-anchor": "middle" }, e >= 4 || e <= -3 ? "1e" + e : String(10 ** e)));
  }
  xLabel(f, metric.label + " (log scale)");
  // the front: cheapest first; a run is on it when it beats every run at most as costly
  const sorted = runs.filter((r) => isNum(r.macro)).slice().sort((a, b) => cost(a) - cost(b) || b.macro - a.macro);
  const front = [];
  let best = -Infinity;
  for (const r of sorted) if (r.macro > best) { front.push(r); best = r.macro; }
  if (front.length > 1) {
    const pts = [];
    front.forEach((r, i) => {
      if (i) pts.push(x(cost(r)) + "," + y(100 * front[i - 1].macro));
      pts.push(x(cost(r)) + "," + y(100 * r.macro));
    });
    f.svg.appendChild(s("polyline", { class: "frontline", points: pts.join(" ") }));
  }
  for (const r of runs) {
    if (!isNum(r.macro)) continue;
    const on = front.includes(r);
    const cx = x(cost(r)), cy = y(100 * r.macro);
    f.svg.appendChild(s("a", { href: link.run(r.id) },
      s("title", {}, r.method + " (" + r.model + "): " + pct(r.macro) + " " + ci(...r.macro_ci) + ", " + metric.label + " " + metric.fmt(cost(r)) + (on ? "; on the Pareto front" : "")),
      isNum(r.macro_ci[0]) ? s("line", { class: "whisker", x1: cx, x2: cx, y1: y(100 * r.macro_ci[0]), y2: y(100 * r.macro_ci[1]) }) : null,
      s("circle", { class: on ? "front" : "point", cx, cy, r: on ? 5.5 : 4, dataset: { run: r.id, front: on ? "1" : "0" } }),
      s("text", { x: cx + 8, y: cy + 4 }, r.method)));
  }
  return f.svg;
}

const COST_METRICS = [
  { key: "compute_seconds", label: "compute seconds (judging + fitting + setup)", fmt: seconds },
  { key: "prompt_tokens", label: "prompt tokens", fmt: int },
  { key: "calls", label: "model calls", fmt: int },
];

/* ---- leaderboard --------------------------------------------------------------------------------------- */

function leaderboardPage(index) {
  const runs = index.runs;
  const published = new Map();
  index.reference.matched.forEach((m) => published.set(m.run, [...(published.get(m.run) || []), m]));
  const picked = new Set();
  const compareButton = h("button", { disabled: true, id: "compare-selected", onclick: () => { location.hash = link.compare([...picked]); } }, "compare selected runs");
  const refresh = () => {
    const chosen = runs.filter((r) => picked.has(r.id));
    compareButton.disabled = chosen.length < 2 || new Set(chosen.map((r) => r.data_key)).size > 1;
    compareButton.title = compareButton.disabled ? "pick two or more runs on the same data and split" : "";
  };
  const columns = [
    { key: "pick", label: "", value: () => null, cell: (r) => h("input", { type: "checkbox", title: "select to compare", dataset: { run: r.id }, onchange: (e) => { e.target.checked ? picked.add(r.id) : picked.delete(r.id); refresh(); } }) },
    { key: "data", label: "data" },
    { key: "method", label: "method", cell: (r) => h("a", { href: link.run(r.id), title: r.id }, r.method) },
    { key: "model", label: "model" },
    { key: "macro", label: "macro [95% CI]", num: true, desc: true, cell: (r) => [pct(r.macro), h("span", { class: "ci" }, " " + ci(...r.macro_ci)), degenerateFlag(r.degenerate)] },
    { key: "micro", label: "micro [95% CI]", num: true, desc: true, cell: (r) => [pct(r.micro), h("span", { class: "ci" }, " " + ci(...r.micro_ci))] },
    { key: "published", label: "published", num: true, value: (r) => (published.get(r.id) || [{}])[0].published ?? null,
      cell: (r) => (published.get(r.id) || []).map((m, i) => h("div", { title: m.source + ": " + m.method }, m.published.toFixed(2), h("span", { class: "ci" }, m.published_ci ? " " + ciPoints(m.published_ci) : ""))),
      title: "the published (micro) accuracy for the same data, method and model, where there is one: see 'Against published numbers'" },
    { key: "soft_accuracy", label: "soft", num: true, desc: true, cell: (r) => pct(r.soft_accuracy), title: "mean P(chosen); n/a: the method gives no probabilities" },
    { key: "failures", label: "failures", num: true, cell: (r) => int(r.failures) + " (" + pct(r.failure_rate) + "%)" },
    { key: "ties", label: "ties", num: true, cell: (r) => int(r.ties) },
    { key: "order_consistency", label: "order cons.", num: true, desc: true, cell: (r) => pct(r.order_consistency), title: "both orders pick the same response, %" },
    { key: "n_users", label: "users", num: true, cell: (r) => int(r.n_users) },
    { key: "n_judgments", label: "judgments", num: true, cell: (r) => int(r.n_judgments) },
    { key: "calls", label: "calls", num: true, cell: (r) => int(r.calls) },
    { key: "prompt_tokens", label: "prompt tokens", num: true, cell: (r) => int(r.prompt_tokens) },
    { key: "compute_seconds", label: "compute", num: true, cell: (r) => seconds(r.compute_seconds), title: "judging + fitting + setup seconds" },
  ];
  const table = sortableTable(columns, { className: "leaderboard", rowAttrs: (r) => ({ dataset: { run: r.id } }) });
  table.show(runs);

  const node = h("div", {},
    h("h1", {}, "Leaderboard"),
    h("div", { class: "sub" }, runs.length + " runs in " + index.source + ". Accuracy in % under the both-orders protocol; 95% CIs resample users."),
    index.problems.length ? h("div", { class: "warning", id: "problems" }, "Run folders that could not be read:", h("ul", {}, index.problems.map((p) => h("li", {}, p)))) : null,
    index.unfinished && index.unfinished.length ? h("div", { class: "warning", id: "unfinished" }, index.unfinished.length + " run(s) have no summary yet: " + index.unfinished.join(", ") + " (finish them with resume=true, or prbench-merge a sharded one); they are not in the leaderboard.") : null,
    runs.length ? [table.node, h("p", {}, compareButton, " ", h("span", { class: "note" }, "two or more runs on the same data and split"))] : h("p", { id: "empty" }, "No finished runs here (a run is finished when its folder holds summary.json)."),
    referenceSection(index),
    costSection(runs));
  return { title: "leaderboard", crumbs: [["leaderboard"]], node };
}

function referenceSection(index) {
  const { matched, unmatched } = index.reference;
  const yesNo = (x) => (x === null || x === undefined ? NA : x ? "yes" : "no");
  const matchedTable = sortableTable([
    { key: "source", label: "source" }, { key: "data", label: "data" }, { key: "model", label: "model" },
    { key: "method", label: "published method" },
    { key: "published", label: "published", num: true, cell: (m) => m.published.toFixed(2) + (m.published_ci ? " " + ciPoints(m.published_ci) : "") },
    { key: "run", label: "our run", cell: (m) => h("a", { href: link.run(m.run) }, m.run) },
    { key: "ours", label: "ours (micro)", num: true, cell: (m) => m.ours.toFixed(2) + " " + ciPoints(m.ours_ci) },
    { key: "difference", label: "difference", num: true, cell: (m) => signed(m.difference, 2) },
    { key: "inside_our_ci", label: "published inside our CI", cell: (m) => yesNo(m.inside_our_ci) },
    { key: "cis_overlap", label: "CIs overlap", cell: (m) => (m.published_ci ? yesNo(m.cis_overlap) : "n/a (no published CI)") },
  ], { className: "reference-matched" });
  matchedTable.show(matched);
  const rest = sortableTable([
    { key: "source", label: "source" }, { key: "data", label: "data" }, { key: "model", label: "model" },
    { key: "method", label: "published method" }, { key: "prbench_method", label: "prbench method" },
    { key: "published", label: "published", num: true, cell: (m) => m.published.toFixed(2) + (m.published_ci ? " " + ciPoints(m.published_ci) : "") },
  ], { className: "reference-unmatched" });
  rest.show(unmatched);
  return h("section", { id: "reference" },
    h("h2", {}, "Against published numbers"),
    matched.length ? matchedTable.node : h("p", { class: "note", id: "no-match" }, "No published number matches a run here (same data, method and model)."),
    unmatched.length ? h("details", { id: "unmatched" }, h("summary", {}, unmatched.length + " published numbers with no run here"), rest.node) : null);
}

function costSection(runs) {
  if (!runs.length) return null;
  let metric = COST_METRICS[0];
  const holder = h("div", { class: "charts" });
  const draw = () => {
    const groups = new Map();
    runs.forEach((r) => groups.set(r.data, [...(groups.get(r.data) || []), r]));
    holder.replaceChildren(...[...groups].map(([data, rs]) => h("div", { class: "chart", dataset: { data } },
      h("h3", {}, data + ": cost against accuracy"), costChart(rs, metric))));
  };
  draw();
  const select = h("select", { id: "cost-metric", onchange: (e) => { metric = COST_METRICS[e.target.selectedIndex]; draw(); } },
    COST_METRICS.map((m) => h("option", {}, m.label)));
  return h("section", { id: "cost" }, h("h2", {}, "Cost against accuracy"),
    h("p", {}, "cost: ", select, " ", h("span", { class: "note" }, "Orange, joined: the Pareto front (no run both cheaper and more accurate). Whiskers: macro 95% CI. Click a point to open its run.")),
    holder);
}

/* ---- one run --------------------------------------------------------------------------------------------- */

function card(label, value, extra) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value, extra ? h("span", { class: "ci" }, " ", extra) : null));
}

function summaryCards(sm) {
  const cost = sm.cost || {};
  return h("div", { class: "cards", id: "run-summary" },
    card("macro accuracy", pct(sm.macro_accuracy), [ci(...sm.macro_ci), degenerateFlag(sm.degenerate)]),
    card("micro accuracy", pct(sm.micro_accuracy), ci(...sm.micro_ci)),
    card("soft accuracy", pct(sm.soft_accuracy)),
    card("failures", int(sm.failures), "(" + pct(sm.failure_rate) + "%)"),
    card("ties", int(sm.ties)),
    card("order consistency", pct(sm.order_consistency)),
    card("users / pairs / judgments", int(sm.n_users) + " / " + int(sm.n_pairs) + " / " + int(sm.n_judgments)),
    card("cost", int(cost.calls) + " calls", int(cost.prompt_tokens) + " prompt tokens, " + seconds(cost.seconds) + " judging, " + seconds((sm.setup_seconds || 0) + (sm.fit_seconds || 0)) + " fitting"));
}

function configView(config) {
  return h("details", { id: "run-config" }, h("summary", {}, "config (data, split, method, model, backend)"),
    h("div", { class: "text mono" }, JSON.stringify(config, null, 2)));
}

async function runPage(index, run) {
  const doc = await PRB.get("run/" + run.key);
  const users = doc.users;
  const others = index.runs.filter((r) => r.id !== run.id && r.data_key === run.data_key);
  const columns = [
    { key: "user_id", label: "user", cell: (u) => h("a", { href: link.user(run.id, u.user_id) }, u.user_id) },
    { key: "n_train", label: "train pairs", num: true },
    { key: "n_val", label: "val pairs", num: true },
    { key: "n_test", label: "test pairs", num: true },
    { key: "accuracy", label: "accuracy", num: true, cell: (u) => pct(u.accuracy) },
    { key: "ci", label: "95% CI", value: (u) => u.ci_low, cell: (u) => ci(u.ci_low, u.ci_high), title: "exact (Clopper-Pearson) over the user's pairs; click to sort by the lower bound" },
    { key: "failures", label: "failures", num: true },
    { key: "ties", label: "ties", num: true },
    { key: "order_consistency", label: "order cons.", num: true, cell: (u) => pct(u.order_consistency) },
    { key: "soft_accuracy", label: "soft", num: true, cell: (u) => pct(u.soft_accuracy) },
    { key: "mean_margin_chosen", label: "mean margin", num: true, cell: (u) => signed(u.mean_margin_chosen, 3), title: "reward models: mean reward margin of the chosen response" },
    { key: "calls", label: "calls", num: true, cell: (u) => int(u.calls) },
    { key: "prompt_tokens", label: "prompt tokens", num: true, cell: (u) => int(u.prompt_tokens) },
  ].filter((c) => c.key === "ci" || c.key === "user_id" || doc.columns.includes(c.key));
  const table = sortableTable(columns, { sort: { key: "user_id", dir: 1 }, className: "per-user", rowAttrs: (u) => ({ dataset: { user: u.user_id } }), limit: 1000 });

  const f = {
    accMin: numberInput({ id: "f-acc-min", min: 0, max: 100, placeholder: "0" }, apply),
    accMax: numberInput({ id: "f-acc-max", min: 0, max: 100, placeholder: "100" }, apply),
    trainMin: numberInput({ id: "f-train-min", min: 0, placeholder: "min" }, apply),
    trainMax: numberInput({ id: "f-train-max", min: 0, placeholder: "max" }, apply),
    ocMin: numberInput({ id: "f-oc-min", min: 0, max: 100, placeholder: "0" }, apply),
    ocMax: numberInput({ id: "f-oc-max", min: 0, max: 100, placeholder: "100" }, apply),
    ci: h("select", { id: "f-ci", onchange: apply }, ["any", "entirely below 50%", "contains 50%", "entirely above 50%"].map((o) => h("option", {}, o))),
    failures: h("select", { id: "f-failures", onchange: apply }, ["any", "with failures", "without failures"].map((o) => h("option", {}, o))),
    search: h("input", { type: "search", id: "f-user", placeholder: "user id contains…", oninput: apply }),
  };
  const count = h("span", { class: "count", id: "shown-count" });
  function within(x, lo, hi) { return (lo === null || (isNum(x) && x >= lo - 1e-9)) && (hi === null || (isNum(x) && x <= hi + 1e-9)); }
  function apply() {
    const accLo = readNumber(f.accMin), accHi = readNumber(f.accMax), ocLo = readNumber(f.ocMin), ocHi = readNumber(f.ocMax);
    const text = f.search.value.trim().toLowerCase();
    const shown = users.filter((u) =>
      within(100 * u.accuracy, accLo, accHi) && within(u.n_train, readNumber(f.trainMin), readNumber(f.trainMax)) &&
      within(100 * u.order_consistency, ocLo, ocHi) &&
      (f.ci.selectedIndex === 0 || (f.ci.selectedIndex === 1 && u.ci_high < 0.5) || (f.ci.selectedIndex === 2 && u.ci_low <= 0.5 && u.ci_high >= 0.5) || (f.ci.selectedIndex === 3 && u.ci_low > 0.5)) &&
      (f.failures.selectedIndex === 0 || (f.failures.selectedIndex === 1) === (u.failures > 0)) &&
      (!text || u.user_id.toLowerCase().includes(text)));
    count.textContent = shown.length + " of " + users.length + " users shown";
    table.show(shown);
  }
  apply();

  const compareWith = others.length ? h("p", {}, "Compare with: ", others.map((o, i) => [i ? ", " : "", h("a", { href: link.compare([run.id, o.id]) }, o.method + " (" + o.model + ")")])) : null;
  const node = h("div", {},
    h("h1", {}, run.method + " on " + run.data + " (" + run.model + ")"),
    h("div", { class: "sub" }, "run " + run.id + (doc.summary.ci_note ? " · " + doc.summary.ci_note : "")),
    summaryCards(doc.summary),
    configView(doc.config),
    compareWith,
    h("h2", {}, "Users"),
    h("div", { class: "charts" }, histogram(users), doc.train_bins.length ? trainChart(doc.train_bins) : null),
    h("div", { class: "filters", id: "filters" },
      h("label", {}, "accuracy %", f.accMin, "–", f.accMax),
      h("label", {}, "training pairs", f.trainMin, "–", f.trainMax),
      h("label", {}, "CI", f.ci),
      h("label", {}, "failures", f.failures),
      h("label", {}, "order consistency %", f.ocMin, "–", f.ocMax),
      h("label", {}, "user", f.search),
      count),
    table.node);
  return { title: run.method + " on " + run.data, crumbs: [["leaderboard", link.board()], [run.id]], node };
}

/* ---- one user ------------------------------------------------------------------------------------------- */

function stateView(value) {
  if (value === null || value === undefined) return h("span", { class: "note" }, "null");
  if (typeof value === "string") return h("div", { class: "text" }, value);
  if (typeof value !== "object") return h("span", { class: "mono" }, String(value));
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "mono" }, "[]");
    if (value.every((v) => v === null || typeof v !== "object") && value.every((v) => typeof v !== "string" || v.length < 40))
      return h("span", { class: "mono" }, "[" + value.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(", ") + "]");
    return h("ol", { class: "state" }, value.map((v) => h("li", {}, stateView(v))));
  }
  if ("$numbers" in value) {
    return h("span", { class: "mono" }, value.$numbers + " numbers: min " + value.min + ", max " + value.max + ", mean " + value.mean + "; first " + value.head.length + ": [" + value.head.join(", ") + ", …]");
  }
  const keys = Object.keys(value);
  if (!keys.length) return h("span", { class: "mono" }, "{}");
  return h("dl", { class: "state" }, keys.flatMap((k) => [h("dt", {}, k), h("dd", {}, stateView(value[k]))]));
}

/** The fit state, folded when long (a memory of past choices), its keys and sizes in the summary line. */
function fitView(state) {
  const size = (v) => (Array.isArray(v) ? v.length + " items" : v && typeof v === "object" ? ("$numbers" in v ? v.$numbers + " numbers" : Object.keys(v).length + " keys") : typeof v === "string" ? v.length + " characters" : String(v));
  const keys = state && typeof state === "object" && !Array.isArray(state) ? Object.keys(state) : [];
  const summary = keys.length ? keys.map((k) => k + " (" + size(state[k]) + ")").join(", ") : "empty: nothing fitted per user";
  return h("details", { id: "fit-state", open: JSON.stringify(state).length < 2000 }, h("summary", {}, summary), stateView(state));
}

function messages(context) {
  return context.map(([role, content]) => h("div", { class: "msg" }, h("div", { class: "role" }, role), h("div", { class: "text" }, content)));
}

function responses(pair) {
  return h("div", { class: "responses" },
    h("section", { class: "resp chosen" }, h("h4", {}, "chosen by the user"), h("div", { class: "text chosen-text" }, pair.chosen)),
    h("section", { class: "resp rejected" }, h("h4", {}, "rejected"), h("div", { class: "text rejected-text" }, pair.rejected)));
}

const ORDER_NOTE = { AB: "chosen", BA: "rejected" }; // the response shown first in each order

function picks(order, preferred) {
  if (preferred !== "first" && preferred !== "second") return "—";
  return (preferred === "first") === (order === "AB") ? "chosen" : "rejected";
}

function pairFacts(v) {
  const ab = v.AB || {}, ba = v.BA || {};
  const wrong = [ab, ba].filter((x) => x.correct === false || x.correct === undefined).length;
  const consistent = (ab.preferred === "first" && ba.preferred === "second") || (ab.preferred === "second" && ba.preferred === "first");
  return { wrong, consistent };
}

function verdictTable(verdicts) {
  return h("table", { class: "verdicts" },
    h("thead", {}, h("tr", {}, ["order", "shown first", "preferred", "picks", "correct", "P(chosen)", "margin (chosen)", "raw output"].map((t) => h("th", {}, t)))),
    h("tbody", {}, ["AB", "BA"].map((order) => {
      const v = verdicts[order];
      if (!v) return h("tr", { dataset: { order } }, h("td", {}, order), h("td", { colspan: 7, class: "note" }, "not judged"));
      return h("tr", { dataset: { order } },
        h("td", { class: "mono" }, order),
        h("td", {}, ORDER_NOTE[order]),
        h("td", { class: "v-preferred" }, v.preferred),
        h("td", { class: "v-picks" }, picks(order, v.preferred)),
        h("td", { class: "v-correct " + (v.correct ? "good" : "bad") }, v.correct ? "yes" : "no"),
        h("td", { class: "num v-p" }, fixed(v.p_chosen)),
        h("td", { class: "num v-margin" }, signed(v.margin_chosen)),
        h("td", { class: "raw v-raw" }, v.raw === null || v.raw === undefined ? NA : v.raw));
    })));
}

function pairCard(run, user, id, pair, verdicts, textsNote) {
  const facts = verdicts ? pairFacts(verdicts) : null;
  const badges = facts ? [
    facts.wrong === 0 ? h("span", { class: "badge good" }, "correct in both orders") : h("span", { class: "badge bad" }, "wrong in " + (facts.wrong === 2 ? "both orders" : "one order")),
    facts.consistent ? null : h("span", { class: "badge warn" }, "order-inconsistent"),
  ] : [];
  return h("article", { class: "pair", dataset: { pair: id } },
    h("header", {}, h("a", { class: "pid", href: link.user(run.id, user, id), title: "link to this pair" }, id), badges),
    pair ? [messages(pair.context), responses(pair)] : h("div", { class: "note" }, textsNote),
    verdicts ? verdictTable(verdicts) : null);
}

function lazyPairs(title, id, pairs, build) {
  const list = h("div", {});
  const details = h("details", { id }, h("summary", {}, title + " (" + pairs.length + ")"), list);
  details.addEventListener("toggle", () => { if (details.open && !list.childElementCount) add(list, pairs.map(build)); });
  return details;
}

async function userPage(index, run, userId, pairId) {
  const doc = await PRB.get("run/" + run.key);
  const position = doc.users.findIndex((u) => u.user_id === userId);
  if (position < 0) throw new NotFound("no user " + JSON.stringify(userId) + " in run " + run.id);
  const row = doc.users[position];
  const ud = await PRB.get("u/" + run.key + "/" + row.key);
  let texts = null, textsError = ud.texts_error;
  if (ud.texts) {
    try { texts = await PRB.get(ud.texts); } catch (error) { textsError = String(error.message || error); }
  }
  const byId = new Map((texts ? texts.pairs : []).map((p) => [p.id, p]));
  const testIds = Object.keys(ud.verdicts).sort();
  const missingNote = textsError ? "texts not available: " + textsError : "this pair is not in the run's data as loaded now (the data changed?)";

  // test pairs, filterable
  const cards = testIds.map((id) => ({ id, facts: pairFacts(ud.verdicts[id]), node: null,
    haystack: [id, ...(byId.get(id) ? [...byId.get(id).context.map((m) => m[1]), byId.get(id).chosen, byId.get(id).rejected] : []),
      ...["AB", "BA"].map((o) => (ud.verdicts[id][o] || {}).raw || "")].join("\n").toLowerCase() }));
  const list = h("div", { id: "test-pairs" });
  const which = h("select", { id: "f-pairs", onchange: () => show() }, ["all test pairs", "wrong in either order", "order-inconsistent"].map((o) => h("option", {}, o)));
  const search = h("input", { type: "search", id: "f-text", placeholder: "search texts and outputs…", oninput: () => show() });
  const count = h("span", { class: "count", id: "pairs-count" });
  function show() {
    const text = search.value.trim().toLowerCase();
    const shown = cards.filter((c) => (which.selectedIndex === 0 || (which.selectedIndex === 1 && c.facts.wrong > 0) || (which.selectedIndex === 2 && !c.facts.consistent)) && (!text || c.haystack.includes(text)));
    shown.forEach((c) => { if (!c.node) c.node = pairCard(run, userId, c.id, byId.get(c.id), ud.verdicts[c.id], missingNote); });
    list.replaceChildren(...shown.map((c) => c.node));
    count.textContent = shown.length + " of " + cards.length + " test pairs shown";
  }
  show();

  const trainPairs = texts ? texts.pairs.filter((p) => p.split === "train") : [];
  const valPairs = texts ? texts.pairs.filter((p) => p.split === "val") : [];
  const plainCard = (p) => h("article", { class: "pair", dataset: { pair: p.id } }, h("header", {}, h("span", { class: "pid" }, p.id)), messages(p.context), responses(p));
  const prev = doc.users[position - 1], next = doc.users[position + 1];
  const sameUser = index.runs.filter((r) => r.id !== run.id && r.data_key === run.data_key);

  const profile = ud.profile;
  const profileNode = profile ? h("div", { id: "profile" },
    Object.keys(profile.demographics || {}).length ? h("dl", { class: "state" }, Object.entries(profile.demographics).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])) : h("div", { class: "note" }, "no demographics"),
    profile.stated ? [h("h4", {}, "stated preferences"), h("div", { class: "text" }, profile.stated)] : h("div", { class: "note" }, "no stated preferences"),
    "persona_truth" in profile && profile.persona_truth ? [h("h4", {}, "ground-truth persona (this method is an oracle variant)"), h("div", { class: "text", id: "persona-truth" }, profile.persona_truth)] : null,
    ud.persona_hidden ? h("div", { class: "note", id: "persona-hidden" }, "The data holds a ground-truth persona for this user; it is hidden from this method (not an oracle variant), so it is not shown here.") : null)
    : h("div", { class: "note" }, "profile not available: " + (textsError || "none"));

  const r = ud.row;
  const node = h("div", {},
    h("h1", {}, "user ", h("span", { id: "user-id" }, userId)),
    h("div", { class: "sub" }, run.method + " on " + run.data + " (" + run.model + "), run " + run.id, " · ",
      prev ? h("a", { href: link.user(run.id, prev.user_id), id: "prev-user" }, "‹ previous user") : "‹ previous user", " · ",
      next ? h("a", { href: link.user(run.id, next.user_id), id: "next-user" }, "next user ›") : "next user ›"),
    h("div", { class: "cards" },
      h("div", { class: "card" }, h("div", { class: "label" }, "accuracy"), h("div", { class: "value" }, h("span", { id: "user-accuracy" }, pct(r.accuracy)), h("span", { class: "ci", id: "user-ci" }, " ", ci(r.ci_low, r.ci_high)))),
      card("pairs: train / val / test", (r.n_train ?? NA) + " / " + (r.n_val ?? NA) + " / " + r.n_test),
      card("failures / ties", int(r.failures) + " / " + int(r.ties)),
      card("order consistency", pct(r.order_consistency)),
      card("soft accuracy", pct(r.soft_accuracy)),
      card("mean margin", signed(r.mean_margin_chosen, 3)),
      card("cost", int(r.calls) + " calls", int(r.prompt_tokens) + " prompt tokens")),
    sameUser.length ? h("p", {}, "This user in other runs: ", sameUser.map((o, i) => [i ? ", " : "", h("a", { href: link.user(o.id, userId) }, o.method + " (" + o.model + ")")])) : null,
    textsError ? h("div", { class: "warning", id: "texts-missing" }, "Texts are not shown: " + textsError + ". The verdicts below are the run's own (items.jsonl).") : null,
    h("h2", {}, "What the method knew"),
    h("h3", {}, "Profile, as the method may see it"), profileNode,
    h("h3", {}, "Fit state (fit/<user>.json)" + (ud.fit && isNum(ud.fit.seconds) ? ", fitted in " + seconds(ud.fit.seconds) : "")),
    ud.fit ? fitView(ud.fit.state) : h("div", { class: "note", id: "fit-state" }, ud.fit_note),
    texts ? [lazyPairs("training pairs", "train-pairs", trainPairs, plainCard), lazyPairs("validation pairs", "val-pairs", valPairs, plainCard)] : null,
    h("h2", {}, "Test pairs"),
    h("div", { class: "filters" }, h("label", {}, "show", which), h("label", {}, "search", search), count),
    h("p", { class: "note" }, "AB shows the chosen response first, BA second. P(chosen) and margin are for the chosen response; n/a: the method gives none."),
    list);

  const after = () => {
    if (pairId === undefined) { window.scrollTo(0, 0); return; }
    let target = cards.find((c) => c.id === pairId);
    if (!target) {
      list.prepend(h("div", { class: "error" }, "no test pair " + JSON.stringify(pairId) + " for this user in this run"));
      return;
    }
    if (!target.node || !target.node.isConnected) { which.selectedIndex = 0; search.value = ""; show(); }
    target.node.classList.add("target");
    target.node.scrollIntoView({ block: "start" });
    window.scrollBy(0, -50);
  };
  return { title: "user " + userId, crumbs: [["leaderboard", link.board()], [run.id, link.run(run.id)], ["user " + userId]], node, after };
}

/* ---- compare -------------------------------------------------------------------------------------------- */

const CODE = { "1": "first", "2": "second", t: "tie", x: "fail", "-": "not judged" };

async function comparePage(index, runs) {
  if (runs.length < 2) throw new Error("compare needs two or more runs: #/compare/<run>,<run>");
  const [docs, items] = await Promise.all([Promise.all(runs.map((r) => PRB.get("run/" + r.key))), Promise.all(runs.map((r) => PRB.get("items/" + r.key)))]);
  const keysOf = (it) => new Set(Object.entries(it.users).flatMap(([u, ps]) => ps.flatMap(([p, ab, ba]) => [ab !== "-" ? u + "\u0000" + p + "\u0000AB" : null, ba !== "-" ? u + "\u0000" + p + "\u0000BA" : null]).filter((k) => k)));
  const ref = keysOf(items[0]);
  for (let i = 1; i < runs.length; i++) {
    const other = keysOf(items[i]);
    const onlyRef = [...ref].filter((k) => !other.has(k)).length, onlyOther = [...other].filter((k) => !ref.has(k)).length;
    if (onlyRef || onlyOther) {
      throw new Error("runs judged different items: " + runs[0].id + " has " + onlyRef + " items that " + runs[i].id + " lacks, and " + onlyOther + " the other way; compare runs on the same data, split and users");
    }
  }
  const label = (r) => r.method + " (" + r.model + ")";
  const acc = docs.map((d) => new Map(d.users.map((u) => [u.user_id, u])));
  const users = docs[0].users.map((u) => u.user_id);

  // per-user differences against the first run
  const rows = users.map((user) => {
    const row = { user, key: acc[0].get(user).key };
    runs.forEach((r, i) => { row["acc" + i] = acc[i].get(user) ? acc[i].get(user).accuracy : null; });
    runs.forEach((r, i) => { if (i) row["diff" + i] = isNum(row["acc" + i]) && isNum(row.acc0) ? row["acc" + i] - row.acc0 : null; });
    return row;
  });
  const columns = [
    { key: "user", label: "user", cell: (row) => h("span", {}, row.user, " ", runs.map((r, i) => [i ? " " : "", h("a", { href: link.user(r.id, row.user), title: "this user in " + r.id }, "[" + (i + 1) + "]")])) },
    ...runs.map((r, i) => ({ key: "acc" + i, label: "[" + (i + 1) + "] " + label(r), num: true, cell: (row) => pct(row["acc" + i]) })),
    ...runs.slice(1).map((r, j) => ({ key: "diff" + (j + 1), label: "[" + (j + 2) + "] − [1]", num: true, cell: (row) => { const d = row["diff" + (j + 1)]; return h("span", { class: d > 0 ? "good" : d < 0 ? "bad" : "" }, isNum(d) ? signed(100 * d, 2) : NA); } })),
  ];
  const diffTable = sortableTable(columns, { sort: { key: "diff1", dir: 1 }, className: "differences", rowAttrs: (row) => ({ dataset: { user: row.user } }), limit: 1000 });
  diffTable.show(rows);

  const summary = sortableTable([
    { key: "n", label: "", value: (x) => x.i, cell: (x) => "[" + (x.i + 1) + "]" },
    { key: "run", label: "run", cell: (x) => h("a", { href: link.run(x.r.id) }, x.r.id) },
    { key: "label", label: "method (model)", cell: (x) => label(x.r) },
    { key: "macro", label: "macro", num: true, value: (x) => x.r.macro, cell: (x) => pct(x.r.macro) },
    { key: "macro_ci", label: "macro 95% CI", value: (x) => x.r.macro_ci[0], cell: (x) => [ci(...x.r.macro_ci), degenerateFlag(x.r.degenerate)] },
    { key: "diff", label: "mean per-user difference vs [1]", num: true, value: (x) => x.diff, cell: (x) => (x.i ? signed(100 * x.diff, 2) : "reference") },
    { key: "wins", label: "users better / worse / same vs [1]", cell: (x) => (x.i ? x.wins + " / " + x.losses + " / " + x.same : "") },
  ], { className: "compare-summary" });
  summary.show(runs.map((r, i) => {
    const diffs = rows.map((row) => row["diff" + i]).filter(isNum);
    return { i, r, diff: i && diffs.length ? diffs.reduce((a, b) => a + b, 0) / diffs.length : null, wins: diffs.filter((d) => d > 1e-12).length, losses: diffs.filter((d) => d < -1e-12).length, same: diffs.filter((d) => Math.abs(d) <= 1e-12).length };
  }));

  // pairs where the runs' verdicts differ
  const verdictsOf = items.map((it) => new Map(Object.entries(it.users).flatMap(([u, ps]) => ps.map(([p, ab, ba]) => [u + "\u0000" + p, [ab, ba]]))));
  const disagreements = [];
  let total = 0;
  for (const [key, first] of verdictsOf[0]) {
    total += 1;
    const all = verdictsOf.map((v) => v.get(key) || ["-", "-"]);
    if (all.some((v) => v[0] !== first[0] || v[1] !== first[1])) {
      const [user, pair] = key.split("\u0000");
      disagreements.push({ user, pair, all });
    }
  }
  const mark = (v) => (v[0] === "1" ? 1 : 0) + (v[1] === "2" ? 1 : 0);
  const pairTable = sortableTable([
    { key: "user", label: "user", cell: (d) => h("a", { href: link.user(runs[0].id, d.user) }, d.user) },
    { key: "pair", label: "pair", cell: (d) => h("a", { href: link.user(runs[0].id, d.user, d.pair), class: "mono" }, d.pair) },
    ...runs.map((r, i) => ({ key: "v" + i, label: "[" + (i + 1) + "] AB / BA", value: (d) => mark(d.all[i]),
      cell: (d) => h("a", { href: link.user(r.id, d.user, d.pair), title: "this pair in " + r.id, class: mark(d.all[i]) === 2 ? "good" : mark(d.all[i]) === 0 ? "bad" : "" },
        CODE[d.all[i][0]] + " / " + CODE[d.all[i][1]] + " (" + mark(d.all[i]) + "/2 correct)") })),
  ], { sort: { key: "user", dir: 1 }, className: "disagreements", rowAttrs: (d) => ({ dataset: { user: d.user, pair: d.pair } }), limit: 500 });
  pairTable.show(disagreements);

  const node = h("div", {},
    h("h1", {}, "Compare " + runs.map(label).join(" · ")),
    h("div", { class: "sub" }, "Same items in every run; [1] is the reference. Accuracy in %."),
    summary.node,
    h("h2", {}, "Per-user differences"),
    h("p", { class: "note" }, "Sorted by the difference from [1] (click a header to sort by another column); [n] links open the user in run n."),
    diffTable.node,
    h("h2", {}, "Pairs where the runs disagree"),
    h("p", { class: "count", id: "disagree-count" }, disagreements.length + " of " + total + " pairs have a different verdict in at least one order (AB shows the chosen response first)."),
    pairTable.node);
  return { title: "compare", crumbs: [["leaderboard", link.board()], ["compare " + runs.length + " runs"]], node };
}

window.addEventListener("hashchange", route);
route();
