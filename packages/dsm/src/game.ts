// The day-ahead energy consumption scheduling game: households take turns moving each of their
// flexible loads to the start slot that minimises their own bill given everyone else's load.
import { InvalidArgumentError, InvalidLoadError, type InvalidBaseLoadError, type InvalidPricingError, type UnknownHouseholdError } from "./errors";
import { averagePricePerKwh, householdSlotCost, resolvePricing, slotCost, type Pricing, type ResolvedPricing } from "./pricing";
import { createPrng, shuffle } from "./prng";
import {
  DEFAULT_SLOT_MINUTES,
  checkBaseLoads,
  checkFlexibleLoad,
  peakToAverageRatio,
  slotsPerDay,
  type BaseLoad,
  type CheckedHouseholds,
  type FlexibleLoad,
} from "./types";

export const DEFAULT_MAX_ITERATIONS = 100;
export const DEFAULT_TOLERANCE = 1e-9;
export const DEFAULT_GAME_SEED = 1;

export interface BestResponseGameParameters {
  /** One entry per household; every household that owns a flexible load must have one. */
  base: readonly BaseLoad[];
  flexible: readonly FlexibleLoad[];
  pricing: Pricing;
  /** Slot length in minutes; must divide 1440. Default 15 (96 slots). */
  slotMinutes?: number;
  /** Passes over all households at most. Default 100. */
  maxIterations?: number;
  /**
   * A load moves only if that lowers its household's bill by more than this (currency units).
   * Default 1e-9; a larger value stops earlier at an ε-equilibrium.
   */
  tolerance?: number;
  /** Seeds the order in which households move in each pass. Default 1. */
  seed?: number;
}

/** Where one flexible load runs: slots startSlot..endSlot inclusive. */
export interface ScheduledLoad {
  /** Position in the `flexible` input. */
  index: number;
  household: string;
  device: string;
  startSlot: number;
  endSlot: number;
  /** Where it ran without coordination (its earliestSlot). */
  uncoordinatedStartSlot: number;
}

export interface HouseholdCost {
  household: string;
  /** The household's bill for the day (currency units of the pricing). */
  cost: number;
  energyKwh: number;
}

/** The grid under one schedule. */
export interface GameSnapshot {
  /** The grid's total load per slot, kW. */
  loadKw: number[];
  peakKw: number;
  averageKw: number;
  /** Peak-to-average ratio of loadKw. */
  par: number;
  /** Σ_h C_h(L_h): the grid's cost for the day, equal to the sum of the bills. */
  totalCost: number;
  /** What each kWh is billed in each slot (average cost). */
  pricePerKwh: number[];
  /** In the order of the `base` input. */
  costByHousehold: HouseholdCost[];
}

export interface BestResponseGameReturnType {
  /** True when a full pass moved no load: a Nash equilibrium of single-load moves (within tolerance). */
  converged: boolean;
  /** Passes made over all households (the last one moved nothing if converged). */
  iterations: number;
  /** Loads moved, in total and per pass. */
  moves: number;
  movesByIteration: number[];
  /** [0] is the uncoordinated schedule, [i] the total cost after pass i. */
  totalCostByIteration: number[];
  /** One entry per flexible load, in input order. */
  schedule: ScheduledLoad[];
  /** Every load at its earliestSlot. */
  before: GameSnapshot;
  after: GameSnapshot;
  /** 1 − after.par / before.par. */
  parReduction: number;
  /** 1 − after.peakKw / before.peakKw. */
  peakReduction: number;
}

export type BestResponseGameErrorType = InvalidArgumentError | InvalidLoadError | InvalidBaseLoadError | UnknownHouseholdError | InvalidPricingError;

/**
 * Runs the iterative best-response game to a Nash equilibrium (or `maxIterations` passes).
 * @example
 * const { base, flexible, startMinute } = syntheticHouseholds({ count: 100, seed: 7 });
 * const game = bestResponseGame({ base, flexible, pricing: mohsenianRadPricing({ households: 100, startMinute }) });
 * console.log(game.before.par, game.after.par, game.converged);
 */
export function bestResponseGame(parameters: BestResponseGameParameters): BestResponseGameReturnType {
  const maxIterations = parameters.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  if (!Number.isInteger(maxIterations) || maxIterations < 0) throw new InvalidArgumentError("maxIterations", maxIterations, "an integer ≥ 0");
  const tolerance = parameters.tolerance ?? DEFAULT_TOLERANCE;
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new InvalidArgumentError("tolerance", tolerance, "a finite number ≥ 0");
  }
  const prng = createPrng(parameters.seed ?? DEFAULT_GAME_SEED);
  const state = GameState.create(parameters.base, parameters.flexible, parameters.pricing, parameters.slotMinutes);
  const uncoordinated = Int32Array.from(parameters.flexible, (l) => l.earliestSlot);
  state.place(uncoordinated);
  const before = state.snapshot();

  const totalCostByIteration = [before.totalCost];
  const movesByIteration: number[] = [];
  const order = state.households.ids.map((_, n) => n);
  let converged = false;
  for (let pass = 1; pass <= maxIterations; pass++) {
    shuffle(order, prng);
    let moved = 0;
    for (const n of order) for (const k of state.loadsOf[n]!) if (state.bestRespond(k, tolerance)) moved++;
    // Rebuild from the starts so that add/remove rounding never accumulates across passes.
    state.place(state.starts);
    movesByIteration.push(moved);
    totalCostByIteration.push(state.totalCost());
    if (moved === 0) {
      converged = true;
      break;
    }
  }
  const after = state.snapshot();
  return {
    converged,
    iterations: movesByIteration.length,
    moves: movesByIteration.reduce((s, m) => s + m, 0),
    movesByIteration,
    totalCostByIteration,
    schedule: parameters.flexible.map((l, index) => ({
      index,
      household: l.household,
      device: l.device,
      startSlot: state.starts[index]!,
      endSlot: state.starts[index]! + l.durationSlots - 1,
      uncoordinatedStartSlot: l.earliestSlot,
    })),
    before,
    after,
    parReduction: before.par === 0 ? 0 : 1 - after.par / before.par,
    peakReduction: before.peakKw === 0 ? 0 : 1 - after.peakKw / before.peakKw,
  };
}

export interface EvaluateScheduleParameters {
  base: readonly BaseLoad[];
  flexible: readonly FlexibleLoad[];
  /** Start slot of each flexible load, in input order; each must fit its window. */
  starts: readonly number[];
  pricing: Pricing;
  /** Default 15. */
  slotMinutes?: number;
}

export type EvaluateScheduleErrorType = BestResponseGameErrorType;

/**
 * Load profile, PAR, peak, grid cost and bills for any schedule (e.g. one a household chose by hand).
 * @example
 * const snap = evaluateSchedule({ base, flexible, starts: flexible.map((l) => l.earliestSlot), pricing });
 */
export function evaluateSchedule(parameters: EvaluateScheduleParameters): GameSnapshot {
  const { flexible, starts } = parameters;
  const state = GameState.create(parameters.base, flexible, parameters.pricing, parameters.slotMinutes);
  if (!Array.isArray(starts) || starts.length !== flexible.length) {
    throw new InvalidArgumentError("starts", starts, `one start slot per flexible load (${flexible.length})`);
  }
  starts.forEach((s, i) => {
    const l = flexible[i]!;
    if (!Number.isInteger(s) || s < l.earliestSlot || s + l.durationSlots - 1 > l.deadlineSlot) {
      throw new InvalidLoadError(i, l.household, "startSlot", s, `must lie in ${l.earliestSlot}..${l.deadlineSlot - l.durationSlots + 1} to fit the window`);
    }
  });
  state.place(Int32Array.from(starts));
  return state.snapshot();
}

/** Per-household and grid load for one schedule, with the best-response step. */
class GameState {
  readonly starts: Int32Array;
  /** own[n][h]: household n's load in slot h (base + its placed flexible loads). */
  private readonly own: Float64Array[];
  private readonly total: Float64Array;
  /** Per-slot change of the household's bill if the load runs in that slot; reused across calls. */
  private readonly delta: Float64Array;

  private constructor(
    readonly households: CheckedHouseholds,
    readonly loadsOf: number[][],
    private readonly base: readonly BaseLoad[],
    private readonly flexible: readonly FlexibleLoad[],
    private readonly householdOfLoad: Int32Array,
    private readonly pricing: ResolvedPricing,
  ) {
    const slots = pricing.slots;
    this.starts = new Int32Array(flexible.length);
    this.own = households.ids.map(() => new Float64Array(slots));
    this.total = new Float64Array(slots);
    this.delta = new Float64Array(slots);
  }

  static create(base: readonly BaseLoad[], flexible: readonly FlexibleLoad[], pricing: Pricing, slotMinutes?: number): GameState {
    const minutes = slotMinutes ?? DEFAULT_SLOT_MINUTES;
    const slots = slotsPerDay(minutes);
    const resolved = resolvePricing(pricing, minutes);
    const households = checkBaseLoads(base, slots);
    if (!Array.isArray(flexible)) throw new InvalidArgumentError("flexible", flexible, "an array of flexible loads");
    const loadsOf: number[][] = households.ids.map(() => []);
    const householdOfLoad = new Int32Array(flexible.length);
    flexible.forEach((l, i) => {
      checkFlexibleLoad(l, i, slots, households);
      const n = households.index.get(l.household)!;
      householdOfLoad[i] = n;
      loadsOf[n]!.push(i);
    });
    return new GameState(households, loadsOf, base, flexible, householdOfLoad, resolved);
  }

  /** Recomputes every household's and the grid's load from scratch for the given starts. */
  place(starts: Int32Array): void {
    if (starts !== this.starts) this.starts.set(starts);
    this.total.fill(0);
    this.own.forEach((o, n) => o.set(this.base[n]!.kw));
    this.flexible.forEach((l, k) => {
      const o = this.own[this.householdOfLoad[k]!]!;
      for (let t = this.starts[k]!; t < this.starts[k]! + l.durationSlots; t++) o[t]! += l.powerKw;
    });
    for (const o of this.own) for (let h = 0; h < o.length; h++) this.total[h]! += o[h]!;
  }

  /**
   * Moves load k to the start that minimises its household's bill, everything else fixed.
   * Only slots inside the load's window change, so the bill difference of start s is the sum of
   * per-slot differences over s..s+d−1, found for all s with one running sum. Ties keep the
   * current start, then the earliest one, so the result does not depend on scan order.
   */
  bestRespond(k: number, tolerance: number): boolean {
    const l = this.flexible[k]!;
    const n = this.householdOfLoad[k]!;
    const own = this.own[n]!;
    const { total, delta, pricing } = this;
    const households = this.own.length;
    const d = l.durationSlots;
    const p = l.powerKw;
    const current = this.starts[k]!;
    for (let t = current; t < current + d; t++) {
      own[t]! -= p;
      total[t]! -= p;
    }
    for (let t = l.earliestSlot; t <= l.deadlineSlot; t++) {
      delta[t] = householdSlotCost(pricing, t, own[t]! + p, total[t]! + p, households) - householdSlotCost(pricing, t, own[t]!, total[t]!, households);
    }
    let sum = 0;
    for (let t = l.earliestSlot; t < l.earliestSlot + d; t++) sum += delta[t]!;
    let best = l.earliestSlot;
    let bestSum = sum;
    let currentSum = sum;
    const lastStart = l.deadlineSlot - d + 1;
    for (let s = l.earliestSlot + 1; s <= lastStart; s++) {
      sum += delta[s + d - 1]! - delta[s - 1]!;
      if (s === current) currentSum = sum;
      if (sum < bestSum) {
        bestSum = sum;
        best = s;
      }
    }
    const start = bestSum < currentSum - tolerance ? best : current;
    for (let t = start; t < start + d; t++) {
      own[t]! += p;
      total[t]! += p;
    }
    this.starts[k] = start;
    return start !== current;
  }

  totalCost(): number {
    let cost = 0;
    for (let h = 0; h < this.total.length; h++) cost += slotCost(this.pricing, h, this.total[h]!);
    return cost;
  }

  snapshot(): GameSnapshot {
    const { pricing, total } = this;
    const loadKw = Array.from(total);
    const households = this.own.length;
    const averageKw = loadKw.reduce((s, v) => s + v, 0) / loadKw.length;
    const costByHousehold = this.own.map((o, n) => {
      let cost = 0;
      let energy = 0;
      for (let h = 0; h < o.length; h++) {
        cost += householdSlotCost(pricing, h, o[h]!, total[h]!, households);
        energy += o[h]! * pricing.dtHours;
      }
      return { household: this.households.ids[n]!, cost, energyKwh: energy };
    });
    return {
      loadKw,
      peakKw: Math.max(...loadKw),
      averageKw,
      par: peakToAverageRatio(loadKw),
      totalCost: this.totalCost(),
      pricePerKwh: loadKw.map((l, h) => averagePricePerKwh(pricing, h, l)),
      costByHousehold,
    };
  }
}
