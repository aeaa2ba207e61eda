// `sidegrid dsm`: a day-ahead demand-side management day for N synthetic households (the library
// @sidegrid/dsm): their flexible loads scheduled by the best-response game on the day-ahead price,
// and what it did to the grid's peak-to-average ratio, its peak and each household's bill.
import { bestResponseGame, mohsenianRadPricing, syntheticHouseholds } from "@sidegrid/dsm";
import { CliError } from "./errors";

export interface DsmCommandParameters {
  households: number;
  seed: number;
}

export interface DsmReport {
  households: number;
  flexibleLoads: number;
  seed: number;
  slotMinutes: number;
  /** Minute of the day the scheduling day starts (noon: overnight charging fits in one day). */
  startMinute: number;
  converged: boolean;
  iterations: number;
  moves: number;
  par: { before: number; after: number; reduction: number };
  peakKw: { before: number; after: number; reduction: number };
  averageKw: number;
  /** The grid's cost for the day (the model's cost units: cents), and per household. */
  cost: { before: number; after: number; perHouseholdBefore: number; perHouseholdAfter: number; households: { household: string; before: number; after: number }[] };
  /** The grid's load per slot, kW, before and after. */
  loadKw: { before: number[]; after: number[] };
  ms: number;
}

/** Runs the day; throws CliError on bad arguments. */
export function runDsm(p: DsmCommandParameters): DsmReport {
  if (!Number.isInteger(p.households) || p.households < 1 || p.households > 100_000) throw new CliError("BAD_ARGUMENT", `--households must be an integer from 1 to 100000, got "${p.households}"`);
  if (!Number.isInteger(p.seed) || p.seed < 0) throw new CliError("BAD_ARGUMENT", `--seed must be a non-negative integer, got "${p.seed}"`);
  const t0 = Date.now();
  const day = syntheticHouseholds({ count: p.households, seed: p.seed });
  const pricing = mohsenianRadPricing({ households: p.households, startMinute: day.startMinute, slotMinutes: day.slotMinutes });
  const g = bestResponseGame({ base: day.base, flexible: day.flexible, pricing });
  const after = new Map(g.after.costByHousehold.map((c) => [c.household, c.cost]));
  const households = g.before.costByHousehold.map((c) => ({ household: c.household, before: c.cost, after: after.get(c.household) ?? 0 }));
  return {
    households: p.households,
    flexibleLoads: day.flexible.length,
    seed: p.seed,
    slotMinutes: day.slotMinutes,
    startMinute: day.startMinute,
    converged: g.converged,
    iterations: g.iterations,
    moves: g.moves,
    par: { before: g.before.par, after: g.after.par, reduction: g.parReduction },
    peakKw: { before: g.before.peakKw, after: g.after.peakKw, reduction: g.peakReduction },
    averageKw: g.after.averageKw,
    cost: { before: g.before.totalCost, after: g.after.totalCost, perHouseholdBefore: g.before.totalCost / p.households, perHouseholdAfter: g.after.totalCost / p.households, households },
    loadKw: { before: g.before.loadKw, after: g.after.loadKw },
    ms: Date.now() - t0,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Hourly bars of the grid's load before (░) and after (█), one line per hour. */
export function loadChart(r: DsmReport, width = 40): string[] {
  const perHour = Math.round(60 / r.slotMinutes);
  const hours = Math.floor(r.loadKw.before.length / perHour);
  const mean = (a: number[], h: number) => a.slice(h * perHour, (h + 1) * perHour).reduce((s, x) => s + x, 0) / perHour;
  const max = Math.max(...r.loadKw.before, ...r.loadKw.after);
  const out: string[] = [];
  for (let h = 0; h < hours; h++) {
    const b = mean(r.loadKw.before, h);
    const a = mean(r.loadKw.after, h);
    const hh = String(Math.floor((r.startMinute + h * 60) / 60) % 24).padStart(2, "0");
    out.push(`${hh}:00 ${"░".repeat(Math.round((b / max) * width)).padEnd(width)} ${b.toFixed(0).padStart(6)} kW  │ ${"█".repeat(Math.round((a / max) * width)).padEnd(width)} ${a.toFixed(0).padStart(6)} kW`);
  }
  return out;
}

export function formatDsmReport(r: DsmReport): string {
  const savings = r.cost.households.map((h) => h.before - h.after);
  const worse = savings.filter((s) => s < -1e-9).length;
  return [
    `Day-ahead DSM: ${r.households} households, ${r.flexibleLoads} flexible loads, seed ${r.seed} (${r.slotMinutes}-minute slots from ${String(r.startMinute / 60).padStart(2, "0")}:00)`,
    `best response: ${r.converged ? "converged" : "stopped"} after ${r.iterations} passes, ${r.moves} moves, ${r.ms} ms`,
    `peak-to-average ratio: ${r.par.before.toFixed(3)} → ${r.par.after.toFixed(3)} (−${pct(r.par.reduction)})`,
    `grid peak: ${r.peakKw.before.toFixed(1)} kW → ${r.peakKw.after.toFixed(1)} kW (−${pct(r.peakKw.reduction)}), average ${r.averageKw.toFixed(1)} kW`,
    `cost per household: ${r.cost.perHouseholdBefore.toFixed(1)} → ${r.cost.perHouseholdAfter.toFixed(1)} (saving min ${Math.min(...savings).toFixed(1)}, max ${Math.max(...savings).toFixed(1)}; ${worse} household(s) pay more)`,
    "",
    `load by hour: before (uncoordinated) │ after (scheduled)`,
    ...loadChart(r),
  ].join("\n");
}
