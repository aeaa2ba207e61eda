// Small DOM helpers: no framework, nothing to build.
export const $ = (id) => document.getElementById(id);

/** el("td", { class: "x" }, "text", child…): attributes, then text or nodes. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== "") e.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== null && c !== "") e.append(c instanceof Node ? c : String(c));
  return e;
}

/** Fills a table: header cells, rows of strings or nodes; `empty` is said when there is no row. */
export function table(t, head, rows, empty = "Nothing yet.") {
  t.innerHTML = "";
  t.append(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))));
  const tb = el("tbody");
  for (const r of rows) tb.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  if (rows.length === 0) tb.append(el("tr", {}, el("td", { colspan: String(head.length), class: "empty" }, empty)));
  t.append(tb);
}

/** A status line with a tone (ok, warn, error) that screen readers announce (role=status on the element). */
export function setStatus(node, text, tone = "") {
  node.textContent = text;
  node.className = `status ${tone}`.trim();
}

/** Disables a button while `fn` runs. */
export async function setBusy(button, fn) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Unix seconds as a UTC date (and time). */
export function fmtDate(sec, withTime = false) {
  const iso = new Date(Number(sec) * 1000).toISOString();
  return withTime ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso.slice(0, 10);
}

/** Runs an async handler, showing a failure in `out` instead of losing it in the console. */
export const guarded = (out, fn) => async (ev) => {
  if (ev && ev.preventDefault) ev.preventDefault();
  try {
    await fn(ev);
  } catch (e) {
    setStatus(typeof out === "string" ? $(out) : out, e.message, "error");
  }
};
