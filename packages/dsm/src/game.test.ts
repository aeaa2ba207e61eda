import { InvalidArgumentError, InvalidBaseLoadError, InvalidLoadError, InvalidPricingError, UnknownHouseholdError } from "./errors";
import { bestResponseGame, evaluateSchedule, type BestResponseGameParameters } from "./game";
import { mohsenianRadPricing, type Pricing } from "./pricing";
import { createPrng } from "./prng";
import { syntheticHouseholds } from "./synthetic";
import type { BaseLoad, FlexibleLoad } from "./types";

/**
 * Independent model of the bills, written from the spec (not from game.ts): build every
 * household's load and the grid's, then charge each household x/L of each slot's cost
 * Δt·(a·L² + b·L + c), splitting c equally in a slot with no load.
 */
function modelBills(base: readonly BaseLoad[], flexible: readonly FlexibleLoad[], starts: readonly number[], q: { a: number[]; b: number[]; c: number[] }, dt: number): Map<string, number> {
  const slots = base[0]!.kw.length;
  const own = new Map(base.map((b) => [b.household, [...b.kw]]));
  flexible.forEach((l, k) => {
    for (let t = starts[k]!; t < starts[k]! + l.durationSlots; t++) own.get(l.household)![t] += l.powerKw;
  });
  const total = Array.from({ length: slots }, (_, h) => [...own.values()].reduce((s, x) => s + x[h]!, 0));
  const bills = new Map<string, number>();
  for (const [household, x] of own) {
    let bill = 0;
    for (let h = 0; h < slots; h++) {
      const L = total[h]!;
      const cost = dt * (q.a[h]! * L * L + q.b[h]! * L + q.c[h]!);
      bill += L > 0 ? (x[h]! / L) * cost : cost / own.size;
    }
    bills.set(household, bill);
  }
  return bills;
}

/** A small random instance: `households` households on a day of `slots` slots. */
function smallInstance(seed: number, households: number, slotMinutes: number): { base: BaseLoad[]; flexible: FlexibleLoad[] } {
  const prng = createPrng(seed);
  const slots = 1440 / slotMinutes;
  const base: BaseLoad[] = [];
  const flexible: FlexibleLoad[] = [];
  for (let n = 0; n < households; n++) {
    const household = `x${n}`;
    base.push({ household, kw: Array.from({ length: slots }, (_, h) => Math.round((0.3 + (h >= slots / 2 ? 1 : 0) * prng.uniform(0, 1.5)) * 100) / 100) });
    for (let j = prng.int(1, 3); j > 0; j--) {
      const durationSlots = prng.int(1, 4);
      const earliestSlot = prng.int(0, slots - durationSlots);
      const deadlineSlot = prng.int(earliestSlot + durationSlots - 1, slots - 1);
      flexible.push({ household, device: "washer", earliestSlot, deadlineSlot, durationSlots, powerKw: Math.round(prng.uniform(0.5, 4) * 10) / 10 });
    }
  }
  return { base, flexible };
}

describe("bestResponseGame on a hand-computed instance", () => {
  // One household, 4 slots of 6 h, a = 1, base [3,1,0,2], a 1 kW load for 2 slots anywhere.
  // Bills (= grid cost): start 0 → 6·(16+4+0+4) = 144, start 1 → 6·(9+4+1+4) = 108, start 2 → 6·(9+1+1+9) = 120.
  const params: BestResponseGameParameters = {
    base: [{ household: "a", kw: [3, 1, 0, 2] }],
    flexible: [{ household: "a", device: "washer", earliestSlot: 0, deadlineSlot: 3, durationSlots: 2, powerKw: 1 }],
    pricing: { kind: "quadratic", a: 1 },
    slotMinutes: 360,
  };

  it("moves the load to the cheapest start and stops", () => {
    const g = bestResponseGame(params);
    expect(g.schedule).toEqual([{ index: 0, household: "a", device: "washer", startSlot: 1, endSlot: 2, uncoordinatedStartSlot: 0 }]);
    expect(g.totalCostByIteration).toEqual([144, 108, 108]);
    expect(g).toMatchObject({ converged: true, iterations: 2, moves: 1, movesByIteration: [1, 0] });
    expect(g.before.loadKw).toEqual([4, 2, 0, 2]);
    expect(g.after.loadKw).toEqual([3, 2, 1, 2]);
    expect(g.before).toMatchObject({ peakKw: 4, averageKw: 2, par: 2, totalCost: 144 });
    expect(g.after).toMatchObject({ peakKw: 3, averageKw: 2, par: 1.5, totalCost: 108 });
    expect(g.after.pricePerKwh).toEqual([3, 2, 1, 2]);
    expect(g.after.costByHousehold).toEqual([{ household: "a", cost: 108, energyKwh: 48 }]);
    expect(g.parReduction).toBeCloseTo(0.25, 12);
    expect(g.peakReduction).toBeCloseTo(0.25, 12);
  });

  it("with maxIterations 0 reports the uncoordinated schedule, not converged", () => {
    const g = bestResponseGame({ ...params, maxIterations: 0 });
    expect(g).toMatchObject({ converged: false, iterations: 0, moves: 0, totalCostByIteration: [144] });
    expect(g.after).toEqual(g.before);
  });

  it("a tolerance larger than the gain keeps the load where it is", () => {
    expect(bestResponseGame({ ...params, tolerance: 36 }).schedule[0]!.startSlot).toBe(0);
    expect(bestResponseGame({ ...params, tolerance: 35.9 }).schedule[0]!.startSlot).toBe(1);
  });
});

describe("billing rule", () => {
  it("splits each slot's cost by load share, and c equally in a slot without load; bills add up to the grid cost", () => {
    // 4 slots of 6 h, a = 1, c = 4/h. L = [4, 2, 0, 0].
    // slot 0: 6·(16+4) = 120, half each; slot 1: 6·(4+4) = 48, all b's; slots 2, 3: 6·4 = 24, split 12/12.
    const snap = evaluateSchedule({
      base: [
        { household: "a", kw: [2, 0, 0, 0] },
        { household: "b", kw: [2, 2, 0, 0] },
      ],
      flexible: [],
      starts: [],
      pricing: { kind: "quadratic", a: 1, c: 4 },
      slotMinutes: 360,
    });
    expect(snap.costByHousehold).toEqual([
      { household: "a", cost: 84, energyKwh: 12 },
      { household: "b", cost: 132, energyKwh: 24 },
    ]);
    expect(snap.totalCost).toBe(216);
    expect(snap.pricePerKwh).toEqual([5, 4, 0, 0]); // a·L + c/L; b (= 0) with no load
  });

  it("sums to the total cost before and after the game (100 synthetic households, with b and c)", () => {
    const { base, flexible, startMinute } = syntheticHouseholds({ count: 100, seed: 1 });
    const paper = mohsenianRadPricing({ households: 100, startMinute });
    for (const pricing of [paper, { ...paper, b: 0.5, c: 20 }, { kind: "fixed", pricePerKwh: paper.a as number[] } as const]) {
      const g = bestResponseGame({ base, flexible, pricing });
      for (const snap of [g.before, g.after]) {
        const sum = snap.costByHousehold.reduce((s, c) => s + c.cost, 0);
        expect(Math.abs(sum - snap.totalCost) / snap.totalCost).toBeLessThan(1e-12);
      }
      expect(g.after.totalCost).toBe(g.totalCostByIteration[g.iterations]);
    }
  });
});

describe("bestResponseGame on 100 synthetic households (seed 1, the paper's coefficients)", () => {
  const { base, flexible, startMinute } = syntheticHouseholds({ count: 100, seed: 1 });
  const pricing = mohsenianRadPricing({ households: 100, startMinute });
  const g = bestResponseGame({ base, flexible, pricing });

  it("converges to an equilibrium in a few passes", () => {
    expect(g.converged).toBe(true);
    expect(g.iterations).toBe(9);
    expect(g.movesByIteration).toEqual([234, 110, 44, 28, 22, 6, 2, 1, 0]);
  });

  it("reduces PAR by far more than 15 % (figures in the README)", () => {
    expect(g.before.par).toBeCloseTo(4.221, 3);
    expect(g.after.par).toBeCloseTo(1.604, 3);
    expect(g.parReduction).toBeGreaterThanOrEqual(0.15);
    expect(g.parReduction).toBeCloseTo(0.62, 2);
    expect(g.before.peakKw).toBeCloseTo(426.907, 3);
    expect(g.after.peakKw).toBeCloseTo(162.246, 3);
    expect(g.after.totalCost).toBeLessThan(0.41 * g.before.totalCost);
  });

  it("the uncoordinated peak is in the evening, and the energy is the same before and after", () => {
    const peakSlot = g.before.loadKw.indexOf(g.before.peakKw);
    const minute = (startMinute + peakSlot * 15) % 1440;
    expect(minute).toBeGreaterThanOrEqual(18 * 60);
    expect(minute).toBeLessThan(21 * 60);
    expect(g.after.averageKw).toBeCloseTo(g.before.averageKw, 9);
  });

  it("never moves a load outside its window", () => {
    expect(g.schedule).toHaveLength(flexible.length);
    g.schedule.forEach((s, k) => {
      const l = flexible[k]!;
      expect(s).toMatchObject({ index: k, household: l.household, device: l.device, uncoordinatedStartSlot: l.earliestSlot });
      expect(s.startSlot).toBeGreaterThanOrEqual(l.earliestSlot);
      expect(s.endSlot).toBe(s.startSlot + l.durationSlots - 1);
      expect(s.endSlot).toBeLessThanOrEqual(l.deadlineSlot);
    });
  });

  it("no household pays more than without coordination", () => {
    g.after.costByHousehold.forEach((c, n) => expect(c.cost).toBeLessThanOrEqual(g.before.costByHousehold[n]!.cost));
  });

  it("is deterministic: the same input gives the same result; another order seed another equilibrium of similar PAR", () => {
    expect(bestResponseGame({ base, flexible, pricing })).toEqual(g);
    const other = bestResponseGame({ base, flexible, pricing, seed: 2 });
    expect(other.converged).toBe(true);
    expect(other.schedule).not.toEqual(g.schedule);
    expect(Math.abs(other.after.par - g.after.par)).toBeLessThan(0.05);
  });

  it("evaluateSchedule gives the game's snapshot for the game's starts", () => {
    expect(evaluateSchedule({ base, flexible, starts: g.schedule.map((s) => s.startSlot), pricing })).toEqual(g.after);
  });
});

describe("equilibrium (brute force on small instances)", () => {
  it.each([1, 2, 3])("no household can lower its own bill by moving one load (instance %i)", (seed) => {
    const slotMinutes = 60;
    const { base, flexible } = smallInstance(seed, 8, slotMinutes);
    const a = Array.from({ length: 24 }, (_, h) => (h < 8 ? 0.2 : 0.3));
    const b = Array.from({ length: 24 }, () => 0.1);
    const c = Array.from({ length: 24 }, () => 0);
    const g = bestResponseGame({ base, flexible, pricing: { kind: "quadratic", a, b }, slotMinutes });
    expect(g.converged).toBe(true);
    expect(g.moves).toBeGreaterThan(0);
    const starts = g.schedule.map((s) => s.startSlot);
    const bills = modelBills(base, flexible, starts, { a, b, c }, 1);
    // The game's own bills agree with the independent model.
    for (const hc of g.after.costByHousehold) expect(hc.cost).toBeCloseTo(bills.get(hc.household)!, 9);
    let deviations = 0;
    flexible.forEach((l, k) => {
      for (let s = l.earliestSlot; s + l.durationSlots - 1 <= l.deadlineSlot; s++) {
        if (s === starts[k]) continue;
        const moved = [...starts];
        moved[k] = s;
        const bill = modelBills(base, flexible, moved, { a, b, c }, 1).get(l.household)!;
        expect(bill).toBeGreaterThanOrEqual(bills.get(l.household)! - 1e-9);
        deviations++;
      }
    });
    expect(deviations).toBeGreaterThan(40);
  });
});

describe("fixed exogenous prices", () => {
  it("puts every load in its cheapest window in one pass; the grid load does not change the price", () => {
    const price = Array.from({ length: 24 }, (_, h) => (h >= 2 && h < 5 ? 1 : 10 + h));
    const g = bestResponseGame({
      base: [
        { household: "a", kw: Array(24).fill(0.5) },
        { household: "b", kw: Array(24).fill(0.5) },
      ],
      flexible: [
        { household: "a", device: "ev", earliestSlot: 0, deadlineSlot: 23, durationSlots: 3, powerKw: 7.4 },
        { household: "b", device: "ev", earliestSlot: 0, deadlineSlot: 23, durationSlots: 3, powerKw: 7.4 },
        { household: "b", device: "washer", earliestSlot: 10, deadlineSlot: 23, durationSlots: 2, powerKw: 2 },
      ],
      pricing: { kind: "fixed", pricePerKwh: price },
      slotMinutes: 60,
    });
    expect(g.schedule.map((s) => s.startSlot)).toEqual([2, 2, 10]);
    expect(g).toMatchObject({ converged: true, iterations: 2, movesByIteration: [2, 0] });
    expect(g.after.pricePerKwh).toEqual(price);
    // Both EVs synchronise on the cheap hours, as with any price signal that ignores load.
    expect(g.after.peakKw).toBe(15.8);
    expect(g.after.costByHousehold.map((c) => c.cost)).toEqual([
      0.5 * price.reduce((s, p) => s + p, 0) + 7.4 * 3,
      0.5 * price.reduce((s, p) => s + p, 0) + 7.4 * 3 + 2 * (20 + 21),
    ]);
  });
});

describe("bestResponseGame rejects bad input with typed errors", () => {
  const base: BaseLoad[] = [{ household: "a", kw: Array(96).fill(0.3) }];
  const load: FlexibleLoad = { household: "a", device: "washer", earliestSlot: 70, deadlineSlot: 80, durationSlots: 4, powerKw: 2 };
  const pricing: Pricing = { kind: "quadratic", a: 0.01 };
  const run = (over: Partial<BestResponseGameParameters>) => () => bestResponseGame({ base, flexible: [load], pricing, ...over });
  const withLoad = (l: Partial<FlexibleLoad>) => run({ flexible: [load, { ...load, ...l }] });

  it.each<[string, Partial<FlexibleLoad>, string, string]>([
    ["deadline before earliest", { earliestSlot: 50, deadlineSlot: 49 }, "deadlineSlot", 'flexible load #1 ("a"): deadlineSlot = 49; is before earliestSlot 50'],
    ["duration longer than the window", { earliestSlot: 90, deadlineSlot: 95, durationSlots: 8 }, "durationSlots", 'flexible load #1 ("a"): durationSlots = 8; longer than its window of 6 slot(s) (90..95)'],
    ["negative power", { powerKw: -2 }, "powerKw", 'flexible load #1 ("a"): powerKw = -2; expected a finite power > 0 kW'],
    ["zero duration", { durationSlots: 0 }, "durationSlots", 'flexible load #1 ("a"): durationSlots = 0; expected an integer ≥ 1'],
    ["slot past the day", { deadlineSlot: 96 }, "deadlineSlot", 'flexible load #1 ("a"): deadlineSlot = 96; expected an integer slot in 0..95'],
    ["fractional slot", { earliestSlot: 1.5 }, "earliestSlot", 'flexible load #1 ("a"): earliestSlot = 1.5; expected an integer slot in 0..95'],
    ["NaN power", { powerKw: Number.NaN }, "powerKw", 'flexible load #1 ("a"): powerKw = NaN; expected a finite power > 0 kW'],
  ])("%s → InvalidLoadError", (_, l, field, message) => {
    const e = catchError(withLoad(l));
    expect(e).toBeInstanceOf(InvalidLoadError);
    expect(e).toMatchObject({ code: "INVALID_LOAD", index: 1, household: "a", field, shortMessage: message });
  });

  it("a load of a household without base load → UnknownHouseholdError", () => {
    expect(catchError(withLoad({ household: "zz" }))).toMatchObject({ code: "UNKNOWN_HOUSEHOLD", household: "zz", index: 1 });
    expect(catchError(withLoad({ household: "zz" }))).toBeInstanceOf(UnknownHouseholdError);
  });

  it("bad base loads → InvalidBaseLoadError", () => {
    expect(catchError(run({ base: [{ household: "a", kw: Array(95).fill(0) }] }))).toMatchObject({ code: "INVALID_BASE_LOAD", household: "a", slot: undefined });
    const negative = catchError(run({ base: [{ household: "a", kw: [...Array(95).fill(0), -1] }] }));
    expect(negative).toBeInstanceOf(InvalidBaseLoadError);
    expect(negative).toMatchObject({ slot: 95, value: -1, shortMessage: 'base load of "a" slot 95 = -1; expected a finite kW value ≥ 0' });
    expect(catchError(run({ base: [...base, ...base] }))).toMatchObject({ code: "INVALID_BASE_LOAD", reason: "household appears twice" });
  });

  it("bad parameters → InvalidArgumentError, bad pricing → InvalidPricingError", () => {
    expect(catchError(run({ slotMinutes: 7 }))).toBeInstanceOf(InvalidArgumentError);
    expect(catchError(run({ slotMinutes: 7 }))).toMatchObject({ argument: "slotMinutes", value: 7 });
    expect(catchError(run({ maxIterations: -1 }))).toMatchObject({ code: "INVALID_ARGUMENT", argument: "maxIterations" });
    expect(catchError(run({ tolerance: Number.POSITIVE_INFINITY }))).toMatchObject({ code: "INVALID_ARGUMENT", argument: "tolerance" });
    expect(catchError(run({ seed: -3 }))).toMatchObject({ code: "INVALID_ARGUMENT", argument: "seed" });
    expect(catchError(run({ base: [] }))).toMatchObject({ code: "INVALID_ARGUMENT", argument: "base" });
    expect(catchError(run({ pricing: { kind: "quadratic", a: -1 } }))).toBeInstanceOf(InvalidPricingError);
    expect(catchError(run({ pricing: { kind: "quadratic", a: Array(24).fill(1) } }))).toMatchObject({ code: "INVALID_PRICING", field: "a" });
    expect(catchError(run({ pricing: { kind: "fixed", pricePerKwh: [...Array(95).fill(1), Number.NaN] } }))).toMatchObject({ field: "pricePerKwh", slot: 95 });
  });

  it("evaluateSchedule rejects a start outside the window", () => {
    const e = catchError(() => evaluateSchedule({ base, flexible: [load], starts: [78], pricing }));
    expect(e).toMatchObject({ code: "INVALID_LOAD", field: "startSlot", value: 78, reason: "must lie in 70..77 to fit the window" });
    expect(catchError(() => evaluateSchedule({ base, flexible: [load], starts: [], pricing }))).toMatchObject({ argument: "starts" });
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}
