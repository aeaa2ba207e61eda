// The day model shared by pricing, the game and the synthetic population, and the input checks.
// Bottom of the package: imports only the errors.
import { InvalidArgumentError, InvalidBaseLoadError, InvalidLoadError, UnknownHouseholdError } from "./errors";

export const MINUTES_PER_DAY = 1440;
export const DEFAULT_SLOT_MINUTES = 15;
/** Slots in a day at the default 15-minute slot length. */
export const DAY_SLOTS = MINUTES_PER_DAY / DEFAULT_SLOT_MINUTES;

/** Devices with a code in the rule encoding; any other name is allowed for scheduling. */
export type KnownDevice = "washer" | "dishwasher" | "ev" | "heat_pump" | "battery";
// `string & {}` keeps the known names in editor completion while accepting any string.
export type Device = KnownDevice | (string & {});

/**
 * A shiftable appliance run for the next day. It runs at `powerKw` for `durationSlots` consecutive
 * slots, all of them inside the closed slot range [earliestSlot, deadlineSlot]: start s is feasible
 * when earliestSlot ≤ s and s + durationSlots − 1 ≤ deadlineSlot. Slots are counted from the start
 * of the scheduling day (slot 0), not from midnight.
 */
export interface FlexibleLoad {
  household: string;
  device: Device;
  earliestSlot: number;
  deadlineSlot: number;
  durationSlots: number;
  powerKw: number;
}

/** A household's inflexible consumption: one average kW value per slot of the day. */
export interface BaseLoad {
  household: string;
  kw: readonly number[];
}

/**
 * Number of slots in a day of `slotMinutes`-long slots; the slot length must divide 1440.
 * @example
 * slotsPerDay(15); // 96
 */
export function slotsPerDay(slotMinutes: number = DEFAULT_SLOT_MINUTES): number {
  if (!Number.isInteger(slotMinutes) || slotMinutes < 1 || MINUTES_PER_DAY % slotMinutes !== 0) {
    throw new InvalidArgumentError("slotMinutes", slotMinutes, "a whole number of minutes that divides 1440 (e.g. 15, 30, 60)");
  }
  return MINUTES_PER_DAY / slotMinutes;
}

/**
 * Peak-to-average ratio of a load profile: max / mean (0 for an all-zero profile).
 * @example
 * peakToAverageRatio([1, 2, 3, 2]); // 1.5
 */
export function peakToAverageRatio(profileKw: readonly number[]): number {
  if (profileKw.length === 0) throw new InvalidArgumentError("profileKw", profileKw, "at least one slot");
  let peak = -Infinity;
  let sum = 0;
  for (const v of profileKw) {
    if (!Number.isFinite(v)) throw new InvalidArgumentError("profileKw", v, "finite kW values");
    if (v > peak) peak = v;
    sum += v;
  }
  const average = sum / profileKw.length;
  return average === 0 ? 0 : peak / average;
}

/** Validated households: ids in base-load order and a lookup from id to that position. */
export interface CheckedHouseholds {
  ids: string[];
  index: Map<string, number>;
}

/** Checks the base loads (one per household, `slots` finite non-negative values each). */
export function checkBaseLoads(base: readonly BaseLoad[], slots: number): CheckedHouseholds {
  if (!Array.isArray(base) || base.length === 0) throw new InvalidArgumentError("base", base, "a non-empty array of base loads");
  const ids: string[] = [];
  const index = new Map<string, number>();
  base.forEach((b, i) => {
    if (typeof b?.household !== "string" || b.household === "") throw new InvalidArgumentError(`base[${i}].household`, b?.household, "a non-empty string");
    if (index.has(b.household)) throw new InvalidBaseLoadError(b.household, undefined, b.household, "household appears twice");
    if (!Array.isArray(b.kw) || b.kw.length !== slots) {
      throw new InvalidBaseLoadError(b.household, undefined, b.kw, `expected an array of ${slots} kW values (one per slot)`);
    }
    for (let slot = 0; slot < slots; slot++) {
      const v: unknown = b.kw[slot];
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidBaseLoadError(b.household, slot, v, "expected a finite kW value ≥ 0");
    }
    index.set(b.household, ids.length);
    ids.push(b.household);
  });
  return { ids, index };
}

/** Checks one flexible load against the day and the known households; throws the typed error. */
export function checkFlexibleLoad(load: FlexibleLoad, i: number, slots: number, households: CheckedHouseholds): void {
  const h = typeof load?.household === "string" ? load.household : String(load?.household);
  const bad = (field: string, value: unknown, reason: string): never => {
    throw new InvalidLoadError(i, h, field, value, reason);
  };
  if (typeof load?.household !== "string") bad("household", load?.household, "expected a string");
  if (!households.index.has(load.household)) throw new UnknownHouseholdError(load.household, i);
  if (typeof load.device !== "string" || load.device === "") bad("device", load.device, "expected a non-empty string");
  for (const field of ["earliestSlot", "deadlineSlot"] as const) {
    const v = load[field];
    if (!Number.isInteger(v) || v < 0 || v >= slots) bad(field, v, `expected an integer slot in 0..${slots - 1}`);
  }
  if (load.deadlineSlot < load.earliestSlot) bad("deadlineSlot", load.deadlineSlot, `is before earliestSlot ${load.earliestSlot}`);
  if (!Number.isInteger(load.durationSlots) || load.durationSlots < 1) bad("durationSlots", load.durationSlots, "expected an integer ≥ 1");
  const window = load.deadlineSlot - load.earliestSlot + 1;
  if (load.durationSlots > window) {
    bad("durationSlots", load.durationSlots, `longer than its window of ${window} slot(s) (${load.earliestSlot}..${load.deadlineSlot})`);
  }
  if (typeof load.powerKw !== "number" || !Number.isFinite(load.powerKw) || load.powerKw <= 0) bad("powerKw", load.powerKw, "expected a finite power > 0 kW");
}
