#!/usr/bin/env node
// Lists import circles inside each package's src/ (relative imports between non-test files, type
// imports included: a circle of types still ties two files' jobs together). Exit 1 when any.
//   node scripts/import-cycles.mjs [--json]
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms;

function sources(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "generated" && e.name !== "test-utils") out.push(...sources(p));
    } else if (/\.ts$/.test(e.name) && !/\.(test|bench)\.ts$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(c)) return c;
  return undefined;
}

/** Strongly connected components with more than one file (Tarjan), or a file importing itself. */
function circles(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), out = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const report = {};
for (const pkg of fs.readdirSync(path.join(root, "packages")).sort()) {
  const src = path.join(root, "packages", pkg, "src");
  if (!fs.existsSync(src)) continue;
  const graph = new Map();
  for (const f of sources(src)) {
    const text = fs.readFileSync(f, "utf8");
    const deps = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const r = resolve(f, m[1]);
      if (r && !/\.(test|bench)\.ts$/.test(r) && !r.includes(`${path.sep}generated${path.sep}`) && !r.includes(`${path.sep}test-utils${path.sep}`)) deps.add(r);
    }
    graph.set(f, [...deps]);
  }
  const found = circles(graph).map((c) => c.map((f) => path.relative(src, f)));
  if (found.length) report[pkg] = found;
}
if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else for (const [pkg, cs] of Object.entries(report)) for (const c of cs) process.stdout.write(`${pkg}: ${c.join(" ↔ ")}\n`);
process.exitCode = Object.keys(report).length ? 1 : 0;
