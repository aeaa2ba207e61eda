// The demand-response figures' inputs and arithmetic, against independent computations. Nothing
// here asserts on speed: the rates are checked from given round times only.
import { DEVICE_CODES, decodeRule, evaluateRules, peakToAverageRatio, ruleMatches, type Rule } from "@sidegrid/dsm";
import {
  BENCH_DR_EVENT,
  benchRules,
  decodeAndEvaluateFleet,
  evaluateFleet,
  householdAddress,
  measureAgent,
  ratesPerSecond,
  ruleWords,
  runDayAhead,
  slotContexts,
  type SlotContext,
} from "./demandResponse";

/** Model of evaluateRules' precedence: per device present, the last matching rule decides. */
function decisions(rules: readonly Rule[], c: SlotContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rules) if (ruleMatches(r, c)) out.set(r.device, r.action);
  return out;
}

describe("the households' rules", () => {
  const rules = benchRules(500);

  it("are four per household, seeded, and round-trip through their bytes32 words", () => {
    expect(benchRules(500)).toEqual(rules);
    expect(benchRules(500, 2)).not.toEqual(rules);
    const words = ruleWords(rules);
    for (let i = 0; i < rules.length; i++) {
      expect(rules[i]!.map((r) => r.id)).toEqual([1, 2, 3, 4]);
      expect(words[i]!.every((w) => /^0x[0-9a-f]{64}$/.test(w))).toBe(true);
      expect(words[i]!.map((w) => decodeRule(w))).toEqual(rules[i]);
      for (const r of rules[i]!) expect(Object.keys(DEVICE_CODES)).toContain(r.device);
    }
    // Both household kinds occur.
    expect(rules.some((l) => l.some((r) => r.device === "ev"))).toBe(true);
    expect(rules.some((l) => l.some((r) => r.device === "battery"))).toBe(true);
  });

  it("see the day's prices, the wall clock from noon and the 18:00–19:00 event", () => {
    const prices = Array.from({ length: 96 }, (_, s) => 1 + s / 32);
    const c = slotContexts(prices, 720, 15);
    expect(c).toHaveLength(96);
    expect(c[0]).toEqual({ price: 1, minuteOfDay: 720, drEventActive: false });
    expect(c[95]!.minuteOfDay).toBe(705);
    const inEvent = c.flatMap((x, s) => (x.drEventActive ? [s] : []));
    expect(inEvent).toEqual([24, 25, 26, 27]);
    expect(c[24]!.minuteOfDay).toBe(BENCH_DR_EVENT.fromMinute);
  });

  it("decide the same from decoded rules and from words, as the precedence model says", () => {
    const prices = Array.from({ length: 96 }, (_, s) => 1.2 + 3 * Math.abs(Math.sin(s / 15)));
    const contexts = slotContexts(prices, 720, 15);
    const devices = rules.map((l) => [...new Set(l.map((r) => r.device))]);
    for (const roundNo of [0, 7]) {
      let expected = 0;
      rules.forEach((l, i) => (expected += decisions(l, contexts[(i + roundNo) % 96]!).size));
      expect(expected).toBeGreaterThan(0);
      expect(evaluateFleet(rules, devices, contexts, roundNo)).toBe(expected);
      expect(decodeAndEvaluateFleet(ruleWords(rules), contexts, roundNo)).toBe(expected);
    }
  });
});

describe("rates", () => {
  it("are n per round's seconds, min / median / max", () => {
    expect(ratesPerSecond(1000, [20, 10, 40])).toEqual({ rounds: 3, min: 25_000, median: 50_000, max: 100_000 });
    expect(ratesPerSecond(10_000, [33.3])).toEqual({ rounds: 1, min: 300_300, median: 300_300, max: 300_300 });
  });
});

describe("the gateway's agent on an in-memory source", () => {
  it("decides one interval ahead at every report and sends a command exactly when a meter's decision changes", async () => {
    const meters = 40;
    const rules = benchRules(meters);
    const prices = Array.from({ length: 96 }, (_, s) => 1.5 + 2.5 * Math.abs(Math.cos(s / 9)));
    const contexts = slotContexts(prices, 720, 15);
    const firstSlot = 22; // 17:30: two intervals before the event, two in it
    const a = await measureAgent({ words: ruleWords(rules), pricesPerKwh: prices, startMinute: 720, slotMinutes: 15, firstSlot, rounds: 4 });
    expect(a).toMatchObject({ meters, rounds: 4, firstIntervalMinute: 17 * 60 + 30 });
    expect(a.reportsPerSecond.rounds).toBe(4);
    // Model: the agent sees the price in milli-units; a device it steered goes back to "auto". The
    // unmeasured first report decided slots 20 and 21; the measured ones decide 22, 23, 24, 25.
    const prior = rules.map(() => new Map<string, string>());
    const decide = (slot: number) => {
      const c = contexts[slot]!;
      let sent = 0;
      rules.forEach((l, i) => {
        const want = decisions(l, { ...c, price: Math.round(c.price * 1000) / 1000 });
        for (const [device, last] of prior[i]!) if (!want.has(device) && last !== "auto") want.set(device, "auto");
        for (const [device, action] of want) {
          if (prior[i]!.get(device) === action) continue;
          prior[i]!.set(device, action);
          sent++;
        }
      });
      return sent;
    };
    decide(20);
    decide(21);
    const expected = [22, 23, 24, 25].map(decide);
    expect(a.commandsByRound).toEqual(expected);
    // Entering the event (slot 24, 18:00) turns appliances off.
    expect(expected[2]).toBeGreaterThan(0);
    // And evaluateRules itself agrees with the model.
    const c0 = contexts[firstSlot]!;
    expect(evaluateRules(rules[0]!, { ...c0, devices: [...new Set(rules[0]!.map((r) => r.device))] }).map((d) => [d.device, d.action])).toEqual([...decisions(rules[0]!, c0)]);
  });

  it("refuses a first slot the first report cannot precede", async () => {
    await expect(measureAgent({ words: ruleWords(benchRules(2)), pricesPerKwh: Array(96).fill(2), startMinute: 720, slotMinutes: 15, firstSlot: 1, rounds: 2 })).rejects.toThrow(/must decide slots/);
  });
});

describe("a day-ahead run", () => {
  const { run, game, householdIds } = runDayAhead(100, 1);

  it("reports the game's figures for 100 households (the dsm README's seed-1 row)", () => {
    expect(run).toMatchObject({ households: 100, flexibleLoads: 249, seed: 1, startMinute: 720, slotMinutes: 15, converged: true, iterations: 9, moves: 447 });
    expect(run).toMatchObject({ parBefore: 4.221, parAfter: 1.604, parReductionPercent: 62, peakKwBefore: 426.9, peakKwAfter: 162.2 });
    expect(run.totalCostBefore).toBe(17_623);
    expect(run.totalCostAfter).toBe(7_057);
    expect(run.gameMs.rounds).toBe(1);
    expect(householdIds.slice(0, 2)).toEqual(["h0001", "h0002"]);
    expect(game.after.pricePerKwh).toHaveLength(96);
  });

  it("charts 96 slots whose PAR and peaks are the reported ones, with the energy only moved", () => {
    expect(run.loadBeforeKw).toHaveLength(96);
    expect(run.loadAfterKw).toHaveLength(96);
    // Peaks are rounded to 0.1 kW, the chart's loads to 0.01 kW.
    expect(Math.abs(Math.max(...run.loadAfterKw) - run.peakKwAfter)).toBeLessThanOrEqual(0.051);
    expect(Math.abs(Math.max(...run.loadBeforeKw) - run.peakKwBefore)).toBeLessThanOrEqual(0.051);
    expect(peakToAverageRatio(run.loadBeforeKw)).toBeCloseTo(run.parBefore, 2);
    expect(peakToAverageRatio(run.loadAfterKw)).toBeCloseTo(run.parAfter, 2);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    expect(sum(run.loadAfterKw)).toBeCloseTo(sum(run.loadBeforeKw), 0);
    expect(sum(run.loadAfterKw) / 96).toBeCloseTo(run.averageKw, 1);
  });

  it("gives each household a fixed address of its own for the settlement", () => {
    const a = householdIds.map(householdAddress);
    expect(new Set(a).size).toBe(100);
    expect(householdAddress("h0001")).toBe(a[0]);
    expect(a[0]).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });
});
