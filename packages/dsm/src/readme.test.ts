// The README's example, run as written (transpiled with swc, "@sidegrid/dsm" resolved to this
// package's source), each `// →` line checked; and the README's figure tables recomputed.
import { transformSync } from "@swc/core";
import fs from "node:fs";
import path from "node:path";
import * as dsm from "./index";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");

/** Expected output of each console.log line: a trailing `// → …` or a `// → …` line right below. */
function expectations(code: string): string[] {
  const lines = code.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("console.log(")) return;
    const trailing = /\/\/ → (.*)$/.exec(line)?.[1];
    const below = /^\/\/ → (.*)$/.exec(lines[i + 1] ?? "")?.[1];
    out.push((trailing ?? below ?? "").trim());
  });
  return out;
}

describe("the README's example", () => {
  const code = /## Example\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;

  it("prints what the README says", () => {
    const expected = expectations(code);
    expect(expected).toHaveLength(10);
    const js = transformSync(code, {
      filename: "example.ts",
      jsc: { parser: { syntax: "typescript" }, target: "es2022" },
      module: { type: "commonjs" },
    }).code;
    const printed: string[] = [];
    const fakeConsole = { log: (...args: unknown[]) => printed.push(args.map(String).join(" ")) };
    const fakeRequire = (id: string) => {
      if (id !== "@sidegrid/dsm") throw new Error(`the example imports ${id}`);
      return dsm;
    };
    new Function("require", "console", "exports", "module", js)(fakeRequire, fakeConsole, {}, { exports: {} });
    expect(printed).toEqual(expected);
  });
});

describe("the README's figures", () => {
  /** Cells of the markdown table row whose first cell is `first`. */
  const row = (first: string): string[] => {
    const line = readme.split("\n").find((l) => l.startsWith(`| ${first} |`));
    if (!line) throw new Error(`no README row ${first}`);
    return line.split("|").slice(1, -1).map((c) => c.trim());
  };
  const num = (s: string) => Number(s.replace(/[,%]/g, "").trim());

  it.each([
    ["100", 100],
    ["1,000", 1000],
  ])("%s households: loads, PAR, peak, passes and moves as measured", (label, count) => {
    const pop = dsm.syntheticHouseholds({ count, seed: 1 });
    const g = dsm.bestResponseGame({ base: pop.base, flexible: pop.flexible, pricing: dsm.mohsenianRadPricing({ households: count, startMinute: pop.startMinute }) });
    const [, loads, parBefore, parAfter, reduction, peak, passes, moves] = row(label);
    expect(num(loads!)).toBe(pop.flexible.length);
    expect(parBefore).toBe(g.before.par.toFixed(3));
    expect(parAfter).toBe(g.after.par.toFixed(3));
    expect(reduction).toBe(`${(100 * g.parReduction).toFixed(1)} %`);
    expect(peak!.split("→").map(num)).toEqual([Number(g.before.peakKw.toFixed(1)), Number(g.after.peakKw.toFixed(1))]);
    expect(num(passes!)).toBe(g.iterations);
    expect(num(moves!)).toBe(g.moves);
    expect(g.converged).toBe(true);
    expect(g.after.costByHousehold.every((c, n) => c.cost <= g.before.costByHousehold[n]!.cost)).toBe(true);
  });

  it.each<[string, number, (device: string) => boolean]>([
    ["all devices, noon to noon (the table above)", 720, () => true],
    ["no EVs", 720, (d) => d !== "ev"],
    ["washers and dishwashers only", 720, (d) => d === "washer" || d === "dishwasher"],
    ["all devices, midnight to midnight (deadlines cut at 24:00)", 0, () => true],
    ["washers and dishwashers only, midnight to midnight", 0, (d) => d === "washer" || d === "dishwasher"],
  ])("sensitivity: %s", (label, startMinute, keep) => {
    const pop = dsm.syntheticHouseholds({ count: 100, seed: 1, startMinute });
    const flexible = pop.flexible.filter((l) => keep(l.device));
    const g = dsm.bestResponseGame({ base: pop.base, flexible, pricing: dsm.mohsenianRadPricing({ households: 100, startMinute }) });
    const flexKwh = flexible.reduce((s, l) => s + l.powerKw * l.durationSlots * 0.25, 0);
    const [, share, par, reduction] = row(label);
    expect(share).toBe(`${Math.round((100 * flexKwh) / (g.before.averageKw * 24))} %`);
    expect(par).toBe(`${g.before.par.toFixed(3)} → ${g.after.par.toFixed(3)}`);
    expect(reduction).toBe(`${(100 * g.parReduction).toFixed(1)} %`);
  });
});
