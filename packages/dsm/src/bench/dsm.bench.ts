// Bench: the day-ahead best-response game on 100 and 1,000 synthetic households, beside a naive
// best response measured in the same run (each candidate start re-bills the household over the
// whole day), plus the rule codec. Run with `pnpm --filter @sidegrid/dsm bench` (compiles to
// dist-bench/); writes dist-bench/dsm-bench.json.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bestResponseGame, decodeRule, encodeRule, evaluateRules, mohsenianRadPricing, syntheticHouseholds, type Rule } from "../index";
import { householdSlotCost, resolvePricing, type Pricing } from "../pricing";
import { createPrng, shuffle } from "../prng";
import type { BaseLoad, FlexibleLoad } from "../types";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const COUNTS = (process.env.BENCH_COUNTS ?? "100,1000").split(",").map(Number);

function time<T>(rounds: number, run: () => T): { result: T; bestMs: number; medianMs: number } {
  const ms: number[] = [];
  let result!: T;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    result = run();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { result, bestMs: round(ms[0]!, 2), medianMs: round(ms[Math.floor(ms.length / 2)]!, 2) };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * Baseline: the same game (same order, same tie rules) with the obvious best response — try each
 * start, place the load there, re-bill the household over all slots, keep the cheapest.
 */
function naiveGame(base: readonly BaseLoad[], flexible: readonly FlexibleLoad[], pricing: Pricing, seed: number, maxIterations = 100): { starts: number[]; iterations: number } {
  const p = resolvePricing(pricing, 15);
  const ids = base.map((b) => b.household);
  const index = new Map(ids.map((h, n) => [h, n]));
  const own = base.map((b) => Float64Array.from(b.kw));
  const total = new Float64Array(p.slots);
  const starts = flexible.map((l) => l.earliestSlot);
  flexible.forEach((l, k) => {
    for (let t = starts[k]!; t < starts[k]! + l.durationSlots; t++) own[index.get(l.household)!]![t]! += l.powerKw;
  });
  for (const o of own) for (let h = 0; h < p.slots; h++) total[h]! += o[h]!;
  const loadsOf = ids.map(() => [] as number[]);
  flexible.forEach((l, k) => loadsOf[index.get(l.household)!]!.push(k));
  const bill = (n: number) => {
    let s = 0;
    for (let h = 0; h < p.slots; h++) s += householdSlotCost(p, h, own[n]![h]!, total[h]!, ids.length);
    return s;
  };
  const put = (n: number, l: FlexibleLoad, s: number, sign: number) => {
    for (let t = s; t < s + l.durationSlots; t++) {
      own[n]![t]! += sign * l.powerKw;
      total[t]! += sign * l.powerKw;
    }
  };
  const prng = createPrng(seed);
  const order = ids.map((_, n) => n);
  let iterations = 0;
  for (let pass = 1; pass <= maxIterations; pass++) {
    iterations = pass;
    shuffle(order, prng);
    let moved = 0;
    for (const n of order) {
      for (const k of loadsOf[n]!) {
        const l = flexible[k]!;
        const current = starts[k]!;
        put(n, l, current, -1);
        let best = -1;
        let bestBill = Infinity;
        let currentBill = Infinity;
        for (let s = l.earliestSlot; s + l.durationSlots - 1 <= l.deadlineSlot; s++) {
          put(n, l, s, 1);
          const b = bill(n);
          put(n, l, s, -1);
          if (s === current) currentBill = b;
          if (b < bestBill) {
            bestBill = b;
            best = s;
          }
        }
        const start = bestBill < currentBill - 1e-9 ? best : current;
        put(n, l, start, 1);
        if (start !== current) moved++;
        starts[k] = start;
      }
    }
    if (moved === 0) break;
  }
  return { starts, iterations };
}

function gameCase(count: number) {
  const gen = time(ROUNDS, () => syntheticHouseholds({ count, seed: SEED }));
  const pop = gen.result;
  const pricing = mohsenianRadPricing({ households: count, startMinute: pop.startMinute });
  const game = time(ROUNDS, () => bestResponseGame({ base: pop.base, flexible: pop.flexible, pricing }));
  const g = game.result;
  const flat: Pricing = { kind: "quadratic", a: 0.3 * (10 / count) };
  const gFlat = bestResponseGame({ base: pop.base, flexible: pop.flexible, pricing: flat });
  const naive = time(count > 100 ? 1 : ROUNDS, () => naiveGame(pop.base, pop.flexible, pricing, 1));
  const flexKwh = pop.flexible.reduce((s, l) => s + (l.powerKw * l.durationSlots * pop.slotMinutes) / 60, 0);
  const energyKwh = g.before.averageKw * 24;
  const bills = g.after.costByHousehold.map((c, n) => ({ before: g.before.costByHousehold[n]!.cost, after: c.cost }));
  const byDevice: Record<string, number> = {};
  for (const l of pop.flexible) byDevice[l.device] = (byDevice[l.device] ?? 0) + 1;
  return {
    households: count,
    seed: SEED,
    flexibleLoads: pop.flexible.length,
    flexibleLoadsByDevice: byDevice,
    flexibleEnergyShare: round(flexKwh / energyKwh, 4),
    energyPerHouseholdKwh: round(energyKwh / count, 3),
    generateMs: { best: gen.bestMs, median: gen.medianMs },
    gameMs: { best: game.bestMs, median: game.medianMs },
    converged: g.converged,
    iterations: g.iterations,
    moves: g.moves,
    parBefore: round(g.before.par, 4),
    parAfter: round(g.after.par, 4),
    parReductionPercent: round(100 * g.parReduction, 2),
    peakKwBefore: round(g.before.peakKw, 3),
    peakKwAfter: round(g.after.peakKw, 3),
    averageKw: round(g.after.averageKw, 3),
    totalCostBefore: round(g.before.totalCost, 2),
    totalCostAfter: round(g.after.totalCost, 2),
    costReductionPercent: round(100 * (1 - g.after.totalCost / g.before.totalCost), 2),
    meanBillBefore: round(bills.reduce((s, b) => s + b.before, 0) / count, 3),
    meanBillAfter: round(bills.reduce((s, b) => s + b.after, 0) / count, 3),
    householdsPayingMore: bills.filter((b) => b.after > b.before + 1e-9).length,
    flatA: {
      description: "same population, a_h = 0.3·10/N in every slot (no night discount)",
      parAfter: round(gFlat.after.par, 4),
      parReductionPercent: round(100 * gFlat.parReduction, 2),
      iterations: gFlat.iterations,
      converged: gFlat.converged,
    },
    baselineNaive: {
      description: "same game, each candidate start re-bills the household over all 96 slots",
      ms: { best: naive.bestMs, median: naive.medianMs },
      iterations: naive.result.iterations,
      sameSchedule: naive.result.starts.every((s, k) => s === g.schedule[k]!.startSlot),
      speedup: round(naive.bestMs / game.bestMs, 1),
    },
  };
}

/** PAR on 100 households when fewer devices are flexible or the day runs midnight to midnight. */
function variants() {
  const cases: [string, number, (device: string) => boolean][] = [
    ["all devices, noon to noon", 720, () => true],
    ["no EVs, noon to noon", 720, (d) => d !== "ev"],
    ["washers and dishwashers only, noon to noon", 720, (d) => d === "washer" || d === "dishwasher"],
    ["all devices, midnight to midnight", 0, () => true],
    ["washers and dishwashers only, midnight to midnight", 0, (d) => d === "washer" || d === "dishwasher"],
  ];
  return cases.map(([name, startMinute, keep]) => {
    const pop = syntheticHouseholds({ count: 100, seed: SEED, startMinute });
    const flexible = pop.flexible.filter((l) => keep(l.device));
    const g = bestResponseGame({ base: pop.base, flexible, pricing: mohsenianRadPricing({ households: 100, startMinute }) });
    const flexKwh = flexible.reduce((s, l) => s + (l.powerKw * l.durationSlots * pop.slotMinutes) / 60, 0);
    return {
      name,
      flexibleEnergyShare: round(flexKwh / (g.before.averageKw * 24), 3),
      parBefore: round(g.before.par, 3),
      parAfter: round(g.after.par, 3),
      parReductionPercent: round(100 * g.parReduction, 1),
      iterations: g.iterations,
    };
  });
}

function rulesCase() {
  const rules: Rule[] = [
    { id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" },
    { id: 2, device: "dishwasher", when: { priceBelow: 2.5, fromMinute: 1260, toMinute: 420 }, action: "on" },
    { id: 3, device: "ev", when: { priceBelow: 4, fromMinute: 1320, toMinute: 360 }, action: "charge" },
    { id: 4, device: "ev", when: { priceAbove: 9 }, action: "defer" },
    { id: 5, device: "battery", when: { priceBelow: 2 }, action: "charge" },
    { id: 6, device: "battery", when: { priceAbove: 8 }, action: "discharge" },
    { id: 7, device: "heat_pump", when: { priceAbove: 7, fromMinute: 1020, toMinute: 1260 }, action: "off" },
    { id: 8, device: "washer", when: { drEvent: true }, action: "off" },
    { id: 9, device: "dishwasher", when: { drEvent: true }, action: "defer" },
    { id: 10, device: "ev", when: { drEvent: true }, action: "defer" },
  ];
  const devices = ["washer", "dishwasher", "ev", "battery", "heat_pump"];
  const n = 200_000;
  let sink = 0;
  const codec = time(ROUNDS, () => {
    for (let i = 0; i < n; i++) sink += decodeRule(encodeRule(rules[i % rules.length]!)).id;
  });
  const evaluate = time(ROUNDS, () => {
    for (let i = 0; i < n; i++) sink += evaluateRules(rules, { price: (i % 1200) / 100, minuteOfDay: i % 1440, drEventActive: i % 50 === 0, devices }).length;
  });
  return {
    encodeDecodePerSecond: Math.round(n / (codec.bestMs / 1000)),
    evaluate10RulesPerSecond: Math.round(n / (evaluate.bestMs / 1000)),
    sink: sink > 0,
  };
}

function main(): void {
  const games = COUNTS.map(gameCase);
  const rules = rulesCase();
  const sensitivity = variants();
  for (const g of games) {
    console.log(
      `${String(g.households).padStart(5)} households: PAR ${g.parBefore} → ${g.parAfter} (−${g.parReductionPercent.toFixed(2)} %), peak ${g.peakKwBefore} → ${g.peakKwAfter} kW, ` +
        `${g.iterations} passes, ${g.moves} moves, converged ${g.converged}; game ${g.gameMs.best} ms (naive ${g.baselineNaive.ms.best} ms, same schedule ${g.baselineNaive.sameSchedule}); ` +
        `flat a: PAR → ${g.flatA.parAfter} (−${g.flatA.parReductionPercent} %)`,
    );
  }
  for (const v of sensitivity) console.log(`  100 households, ${v.name}: flexible share ${v.flexibleEnergyShare}, PAR ${v.parBefore} → ${v.parAfter} (−${v.parReductionPercent} %)`);
  console.log(`rules: encode+decode ${rules.encodeDecodePerSecond.toLocaleString("en")}/s, evaluate (10 rules) ${rules.evaluate10RulesPerSecond.toLocaleString("en")}/s`);
  const out = {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    rounds: ROUNDS,
    statistic: "best and median wall time of the rounds",
    games,
    variants: sensitivity,
    rules,
  };
  const dir = path.resolve(__dirname, "..", "..", "dist-bench");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "dsm-bench.json"), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(dir, "dsm-bench.json"))}`);
}

main();
