// Day-ahead pricing: the grid's generation cost per slot as a function of total load (the
// quadratic model of Mohsenian-Rad et al. 2010), or a fixed exogenous price vector, and the
// billing rule that splits each slot's cost among households.
import { InvalidArgumentError, InvalidPricingError } from "./errors";
import { DEFAULT_SLOT_MINUTES, MINUTES_PER_DAY, slotsPerDay } from "./types";

/**
 * Load-dependent cost per slot h: C_h(L) = Δt · (a_h·L² + b_h·L + c_h), L the grid's total load in
 * kW, Δt the slot length in hours (so 1-hour slots give exactly the paper's C_h(L_h) with L_h in kWh).
 * Each coefficient is one value for every slot or one value per slot; all must be ≥ 0 (a ≥ 0 keeps
 * the cost convex, which is what makes the game converge).
 */
export interface QuadraticPricing {
  kind: "quadratic";
  /** Currency per kW²·h per slot, e.g. cents. */
  a: number | readonly number[];
  /** Currency per kWh. Default 0. */
  b?: number | readonly number[];
  /** Currency per hour, shared by the households in proportion to load. Default 0. */
  c?: number | readonly number[];
}

/** An exogenous price per kWh for each slot (e.g. a published day-ahead market price); may be negative. */
export interface FixedPricing {
  kind: "fixed";
  pricePerKwh: readonly number[];
}

export type Pricing = QuadraticPricing | FixedPricing;

/** Pricing with one coefficient per slot, validated; what the game works with. */
export interface ResolvedPricing {
  kind: "quadratic" | "fixed";
  slots: number;
  /** Slot length in hours. */
  dtHours: number;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  /** Fixed price per kWh (zeros for quadratic pricing). */
  price: Float64Array;
}

/** Checks `pricing` against a day of `slotMinutes`-long slots and expands scalars to per-slot arrays. */
export function resolvePricing(pricing: Pricing, slotMinutes: number = DEFAULT_SLOT_MINUTES): ResolvedPricing {
  const slots = slotsPerDay(slotMinutes);
  const dtHours = slotMinutes / 60;
  const zeros = () => new Float64Array(slots);
  if (pricing?.kind === "fixed") {
    const price = expand("pricePerKwh", pricing.pricePerKwh, slots, false, true);
    return { kind: "fixed", slots, dtHours, a: zeros(), b: zeros(), c: zeros(), price };
  }
  if (pricing?.kind === "quadratic") {
    return {
      kind: "quadratic",
      slots,
      dtHours,
      a: expand("a", pricing.a, slots, true, false),
      b: expand("b", pricing.b ?? 0, slots, true, false),
      c: expand("c", pricing.c ?? 0, slots, true, false),
      price: zeros(),
    };
  }
  throw new InvalidPricingError("kind", undefined, (pricing as { kind?: unknown } | undefined)?.kind, '"quadratic" or "fixed"');
}

function expand(field: string, value: number | readonly number[], slots: number, scalarOk: boolean, negativeOk: boolean): Float64Array {
  const out = new Float64Array(slots);
  const check = (v: unknown, slot: number | undefined): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || (!negativeOk && v < 0)) {
      throw new InvalidPricingError(field, slot, v, negativeOk ? "a finite number" : "a finite number ≥ 0");
    }
    return v;
  };
  if (typeof value === "number" && scalarOk) return out.fill(check(value, undefined));
  if (!Array.isArray(value) || value.length !== slots) {
    throw new InvalidPricingError(field, undefined, value, `${scalarOk ? "one number or " : ""}an array of ${slots} numbers (one per slot)`);
  }
  value.forEach((v, slot) => {
    out[slot] = check(v, slot);
  });
  return out;
}

/** The grid's cost in slot `h` at total load `loadKw`. */
export function slotCost(p: ResolvedPricing, h: number, loadKw: number): number {
  if (p.kind === "fixed") return p.dtHours * p.price[h]! * loadKw;
  return p.dtHours * ((p.a[h]! * loadKw + p.b[h]!) * loadKw + p.c[h]!);
}

/**
 * The billing rule: what one household pays in slot h when it draws `ownKw` of a total `loadKw`.
 * Each household pays the slot's cost in proportion to its share of the slot's load,
 * x/L · C_h(L) = Δt · x · (a_h·L + b_h + c_h/L); in a slot with no load at all the fixed part c_h
 * is split equally among the `households`. So the bills add up to the grid's cost in every slot.
 */
export function householdSlotCost(p: ResolvedPricing, h: number, ownKw: number, loadKw: number, households: number): number {
  if (p.kind === "fixed") return p.dtHours * p.price[h]! * ownKw;
  const fixedShare = loadKw > 0 ? (p.c[h]! * ownKw) / loadKw : p.c[h]! / households;
  return p.dtHours * ((p.a[h]! * loadKw + p.b[h]!) * ownKw + fixedShare);
}

/** What each kWh in slot h is billed at total load `loadKw`: C_h(L)/(Δt·L), or b_h when L = 0. */
export function averagePricePerKwh(p: ResolvedPricing, h: number, loadKw: number): number {
  if (p.kind === "fixed") return p.price[h]!;
  return p.a[h]! * loadKw + p.b[h]! + (loadKw > 0 ? p.c[h]! / loadKw : 0);
}

export interface SlotPricesParameters {
  /** The grid's total load per slot, kW. */
  loadKw: readonly number[];
  pricing: Pricing;
  /** Default 15. */
  slotMinutes?: number;
}

export interface SlotPricesReturnType {
  /** What each kWh is billed in the slot: C_h(L)/(Δt·L) = a_h·L + b_h + c_h/L (b_h when L = 0). */
  averagePerKwh: number[];
  /** The cost of one more kWh in the slot: dC_h/dL / Δt = 2·a_h·L + b_h. */
  marginalPerKwh: number[];
}

export type SlotPricesErrorType = InvalidArgumentError | InvalidPricingError;

/**
 * The day-ahead price per slot for a given total load profile (for fixed pricing both are the fixed price).
 * @example
 * const { averagePerKwh } = slotPrices({ loadKw: game.after.loadKw, pricing });
 * evaluateRules(rules, { price: averagePerKwh[slot], minuteOfDay, drEventActive: false, devices });
 */
export function slotPrices(parameters: SlotPricesParameters): SlotPricesReturnType {
  const p = resolvePricing(parameters.pricing, parameters.slotMinutes ?? DEFAULT_SLOT_MINUTES);
  const { loadKw } = parameters;
  if (!Array.isArray(loadKw) || loadKw.length !== p.slots) throw new InvalidArgumentError("loadKw", loadKw, `an array of ${p.slots} kW values`);
  const averagePerKwh: number[] = [];
  const marginalPerKwh: number[] = [];
  loadKw.forEach((l, h) => {
    if (typeof l !== "number" || !Number.isFinite(l) || l < 0) throw new InvalidArgumentError(`loadKw[${h}]`, l, "a finite kW value ≥ 0");
    averagePerKwh.push(averagePricePerKwh(p, h, l));
    marginalPerKwh.push(p.kind === "fixed" ? p.price[h]! : 2 * p.a[h]! * l + p.b[h]!);
  });
  return { averagePerKwh, marginalPerKwh };
}

/** The paper's simulation coefficients (cents per kWh² for a 10-user neighbourhood), by time of day. */
export const MOHSENIAN_RAD_COEFFICIENTS = {
  /** a_h for slots that start between 08:00 and 24:00. */
  dayA: 0.3,
  /** a_h for slots that start between 00:00 and 08:00. */
  nightA: 0.2,
  /** Night runs from minute 0 to this minute of the day. */
  nightEndsMinute: 8 * 60,
  /** The number of users the coefficients were chosen for. */
  referenceHouseholds: 10,
} as const;

export interface MohsenianRadPricingParameters {
  /** Households sharing the grid; a_h is scaled by referenceHouseholds / households. */
  households: number;
  /** Default 15. */
  slotMinutes?: number;
  /** Wall-clock minute at which slot 0 starts (0 = midnight, 720 = noon). Default 0. */
  startMinute?: number;
  /** Override a_h for 08:00–24:00 (before scaling). Default 0.3. */
  dayA?: number;
  /** Override a_h for 00:00–08:00 (before scaling). Default 0.2. */
  nightA?: number;
}

export type MohsenianRadPricingErrorType = InvalidArgumentError | InvalidPricingError;

/**
 * Quadratic pricing after Mohsenian-Rad et al. (2010): b_h = c_h = 0, a_h = 0.3 (day) / 0.2 (night)
 * cents per kWh² for their 10 users, scaled by 10/households so the price per kWh of N similar
 * households stays at the paper's level (the schedules do not depend on this scale, only on the
 * day/night ratio).
 * @example
 * const pricing = mohsenianRadPricing({ households: 100, startMinute: 720 });
 */
export function mohsenianRadPricing(parameters: MohsenianRadPricingParameters): QuadraticPricing {
  const { households } = parameters;
  if (!Number.isInteger(households) || households < 1) throw new InvalidArgumentError("households", households, "an integer ≥ 1");
  const slotMinutes = parameters.slotMinutes ?? DEFAULT_SLOT_MINUTES;
  const slots = slotsPerDay(slotMinutes);
  const startMinute = parameters.startMinute ?? 0;
  if (!Number.isInteger(startMinute) || startMinute < 0 || startMinute >= MINUTES_PER_DAY) {
    throw new InvalidArgumentError("startMinute", startMinute, "an integer minute of the day in 0..1439");
  }
  const scale = MOHSENIAN_RAD_COEFFICIENTS.referenceHouseholds / households;
  const dayA = parameters.dayA ?? MOHSENIAN_RAD_COEFFICIENTS.dayA;
  const nightA = parameters.nightA ?? MOHSENIAN_RAD_COEFFICIENTS.nightA;
  for (const [name, v] of [["dayA", dayA], ["nightA", nightA]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new InvalidPricingError(name, undefined, v, "a finite number ≥ 0");
  }
  const a: number[] = [];
  for (let h = 0; h < slots; h++) {
    const minute = (startMinute + h * slotMinutes) % MINUTES_PER_DAY;
    a.push((minute < MOHSENIAN_RAD_COEFFICIENTS.nightEndsMinute ? nightA : dayA) * scale);
  }
  return { kind: "quadratic", a, b: 0, c: 0 };
}
