// A deterministic synthetic neighbourhood: residential base load with morning and evening peaks,
// and flexible appliance runs that people start when they come home in the evening. Only
// the seeded PRNG is used, so a (count, seed) pair always gives the same households.
import { InvalidArgumentError } from "./errors";
import { createPrng, type Prng } from "./prng";
import { DEFAULT_SLOT_MINUTES, MINUTES_PER_DAY, slotsPerDay, type BaseLoad, type FlexibleLoad, type KnownDevice } from "./types";

/** Base load shape: a constant floor plus three bumps (Gaussian in time of day, kW at the centre). */
export const SYNTHETIC_BASE_LOAD = {
  /** Fridge, standby, lighting floor. */
  floorKw: 0.25,
  bumps: [
    { name: "morning", hour: 7.5, sdHours: 1.0, kw: 0.55 },
    { name: "midday", hour: 13.0, sdHours: 2.0, kw: 0.15 },
    { name: "evening", hour: 19.5, sdHours: 1.6, kw: 0.95 },
  ],
  /** Each household's profile is multiplied by U(min, max). */
  scale: { min: 0.7, max: 1.3 },
  /** Each household's bumps shift by N(0, sd) minutes. */
  shiftSdMinutes: 20,
  /** Each slot is multiplied by U(1 − noise, 1 + noise). */
  noise: 0.1,
} as const;

/** Hour-of-day draw: N(mean, sd) clipped to [min, max]; hours ≥ 24 mean the next morning. */
export interface SyntheticHourDraw {
  mean: number;
  sd: number;
  min: number;
  max: number;
}

export interface SyntheticDeviceSpec {
  device: KnownDevice;
  /** Relative weight of each draw. */
  weight: number;
  /** At most one per household (one car, one heat pump); washers and dishwashers may run twice. */
  once: boolean;
  /** Power: uniform in [min, max], or one of `choices`. */
  powerKw: { min: number; max: number } | { choices: readonly number[] };
  durationHours: { min: number; max: number };
  /** When the run may start; a mixture of evening and (for washers) morning starts. */
  earliest: readonly { probability: number; hour: SyntheticHourDraw }[];
  /** When it must be done: an hour of day (≥ 24 = next morning) or hours of slack after earliest + duration. */
  deadline: { hour: SyntheticHourDraw } | { slackHours: { min: number; max: number } };
}

/** The flexible devices and their parameters (documented in the README). */
export const SYNTHETIC_DEVICES: readonly SyntheticDeviceSpec[] = [
  {
    device: "washer",
    weight: 0.35,
    once: false,
    powerKw: { min: 1.8, max: 2.2 },
    durationHours: { min: 1, max: 2 },
    earliest: [
      { probability: 0.8, hour: { mean: 18.5, sd: 1.0, min: 16, max: 21.5 } },
      { probability: 0.2, hour: { mean: 8.0, sd: 0.75, min: 6.5, max: 10 } },
    ],
    deadline: { slackHours: { min: 4, max: 12 } },
  },
  {
    device: "dishwasher",
    weight: 0.3,
    once: false,
    powerKw: { min: 1.2, max: 1.8 },
    durationHours: { min: 1, max: 2 },
    earliest: [{ probability: 1, hour: { mean: 20.5, sd: 0.75, min: 19, max: 22.5 } }],
    deadline: { hour: { mean: 31, sd: 0.5, min: 29.5, max: 32.5 } },
  },
  {
    device: "ev",
    weight: 0.15,
    once: true,
    powerKw: { choices: [3.7, 7.4] },
    durationHours: { min: 2, max: 4 },
    earliest: [{ probability: 1, hour: { mean: 18.0, sd: 1.0, min: 16, max: 21 } }],
    deadline: { hour: { mean: 31, sd: 0.5, min: 29.5, max: 32.5 } },
  },
  {
    device: "heat_pump",
    weight: 0.2,
    once: true,
    powerKw: { min: 2.0, max: 3.0 },
    durationHours: { min: 1, max: 2 },
    earliest: [{ probability: 1, hour: { mean: 17.5, sd: 1.0, min: 15.5, max: 20 } }],
    deadline: { slackHours: { min: 4, max: 8 } },
  },
];

/** Flexible loads per household: uniform integer in [min, max]. */
export const SYNTHETIC_LOADS_PER_HOUSEHOLD = { min: 1, max: 4 } as const;

export const DEFAULT_SYNTHETIC_START_MINUTE = 720;

export interface SyntheticHouseholdsParameters {
  count: number;
  seed: number;
  /** Default 15. */
  slotMinutes?: number;
  /**
   * Wall-clock minute at which slot 0 starts. Default 720 (noon to noon), so an EV plugged in at
   * 18:00 can finish by 07:00 the next morning inside one scheduling day and the overnight valley
   * is in the window. With 0 (midnight) next-morning deadlines are cut at 24:00.
   */
  startMinute?: number;
}

export interface SyntheticHouseholdsReturnType {
  slotMinutes: number;
  startMinute: number;
  slots: number;
  /** Households h0001, h0002, ... */
  base: BaseLoad[];
  flexible: FlexibleLoad[];
}

export type SyntheticHouseholdsErrorType = InvalidArgumentError;

/**
 * A deterministic synthetic population of `count` households.
 * @example
 * const { base, flexible, startMinute } = syntheticHouseholds({ count: 100, seed: 7 });
 */
export function syntheticHouseholds(parameters: SyntheticHouseholdsParameters): SyntheticHouseholdsReturnType {
  const { count, seed } = parameters;
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) throw new InvalidArgumentError("count", count, "an integer in 1..1000000");
  const slotMinutes = parameters.slotMinutes ?? DEFAULT_SLOT_MINUTES;
  const slots = slotsPerDay(slotMinutes);
  const startMinute = parameters.startMinute ?? DEFAULT_SYNTHETIC_START_MINUTE;
  if (!Number.isInteger(startMinute) || startMinute < 0 || startMinute >= MINUTES_PER_DAY) {
    throw new InvalidArgumentError("startMinute", startMinute, "an integer minute of the day in 0..1439");
  }
  const prng = createPrng(seed);
  const width = Math.max(4, String(count).length);
  const base: BaseLoad[] = [];
  const flexible: FlexibleLoad[] = [];
  for (let i = 0; i < count; i++) {
    const household = `h${String(i + 1).padStart(width, "0")}`;
    base.push({ household, kw: baseProfile(prng, slots, slotMinutes, startMinute) });
    const n = prng.int(SYNTHETIC_LOADS_PER_HOUSEHOLD.min, SYNTHETIC_LOADS_PER_HOUSEHOLD.max);
    const taken = new Set<KnownDevice>();
    for (let j = 0; j < n; j++) {
      const spec = pickDevice(prng, taken);
      taken.add(spec.device);
      flexible.push(drawLoad(prng, spec, household, slots, slotMinutes, startMinute));
    }
  }
  return { slotMinutes, startMinute, slots, base, flexible };
}

function baseProfile(prng: Prng, slots: number, slotMinutes: number, startMinute: number): number[] {
  const p = SYNTHETIC_BASE_LOAD;
  const scale = prng.uniform(p.scale.min, p.scale.max);
  const shift = prng.normal(0, p.shiftSdMinutes);
  const kw: number[] = [];
  for (let h = 0; h < slots; h++) {
    // Slot midpoint, as wall-clock minutes.
    const minute = startMinute + (h + 0.5) * slotMinutes - shift;
    let v = p.floorKw;
    for (const b of p.bumps) {
      const dist = circularMinutes(minute, b.hour * 60) / 60;
      v += b.kw * Math.exp(-0.5 * (dist / b.sdHours) ** 2);
    }
    kw.push(round3(v * scale * prng.uniform(1 - p.noise, 1 + p.noise)));
  }
  return kw;
}

function pickDevice(prng: Prng, taken: ReadonlySet<KnownDevice>): SyntheticDeviceSpec {
  const open = SYNTHETIC_DEVICES.filter((d) => !(d.once && taken.has(d.device)));
  const total = open.reduce((s, d) => s + d.weight, 0);
  let r = prng.next() * total;
  for (const d of open) {
    r -= d.weight;
    if (r < 0) return d;
  }
  return open[open.length - 1]!;
}

function drawLoad(prng: Prng, spec: SyntheticDeviceSpec, household: string, slots: number, slotMinutes: number, startMinute: number): FlexibleLoad {
  const powerKw = "choices" in spec.powerKw ? spec.powerKw.choices[prng.int(0, spec.powerKw.choices.length - 1)]! : round3(prng.uniform(spec.powerKw.min, spec.powerKw.max));
  const durationSlots = Math.max(1, Math.round((prng.uniform(spec.durationHours.min, spec.durationHours.max) * 60) / slotMinutes));
  let r = prng.next();
  let earliestHour = spec.earliest[spec.earliest.length - 1]!.hour;
  for (const e of spec.earliest) {
    r -= e.probability;
    if (r < 0) {
      earliestHour = e.hour;
      break;
    }
  }
  // Minutes after the horizon start; a start before the horizon's clock time is on the next day.
  let earliestMinute = Math.round(drawHour(prng, earliestHour) * 60) - startMinute;
  if (earliestMinute < 0) earliestMinute += MINUTES_PER_DAY;
  let earliestSlot = Math.min(slots - 1, Math.floor(earliestMinute / slotMinutes));
  const deadlineMinute =
    "hour" in spec.deadline
      ? Math.round(drawHour(prng, spec.deadline.hour) * 60) - startMinute
      : earliestSlot * slotMinutes + durationSlots * slotMinutes + Math.round(prng.uniform(spec.deadline.slackHours.min, spec.deadline.slackHours.max) * 60);
  // The last slot that ends by the deadline, inside the day.
  let deadlineSlot = Math.min(slots - 1, Math.floor(deadlineMinute / slotMinutes) - 1);
  // Late starts near the end of the day: keep the run inside the day and its window long enough.
  if (deadlineSlot - earliestSlot + 1 < durationSlots) {
    deadlineSlot = Math.min(slots - 1, earliestSlot + durationSlots - 1);
    earliestSlot = Math.min(earliestSlot, deadlineSlot - durationSlots + 1);
  }
  return { household, device: spec.device, earliestSlot, deadlineSlot, durationSlots, powerKw };
}

function drawHour(prng: Prng, d: SyntheticHourDraw): number {
  return Math.min(d.max, Math.max(d.min, prng.normal(d.mean, d.sd)));
}

/** Distance between two minutes of the day on the 24-hour circle. */
function circularMinutes(a: number, b: number): number {
  const d = Math.abs((((a - b) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY);
  return Math.min(d, MINUTES_PER_DAY - d);
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
