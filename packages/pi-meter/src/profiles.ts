// Deterministic load profiles for simulated meters. Everything is a pure function of
// (seed, meterId, minute): household consumption with a daily and weekly shape, seasonal swing,
// a cycling fridge and appliance events (kettle, cooking, washing, EV charging); prosumers add PV
// generation that follows the sun's elevation for the configured latitude and the day's cloud cover.
// A `MinuteControl` (from the household's controllable appliances, see appliances.ts) can cancel
// the household's own runs and add commanded load or a battery's power to a minute.
import { InvalidArgumentError } from "./errors";
import { Rng, hash4, seedOf, unit4 } from "./prng";

export type LoadProfileKind = "household" | "prosumer";

export interface Appliance {
  readonly name: string;
  /** Power while running (W); `profile` scales it over the run when present. */
  readonly powerW: number;
  readonly durationMin: number;
  /** Expected starts per day. */
  readonly perDay: number;
  /** Relative likelihood of a start in each local hour 0..23. */
  readonly hourWeights: readonly number[];
  /** Power factor over the run, as a fraction of powerW (e.g. a washing machine heats first). */
  readonly shape?: (minuteIntoRun: number) => number;
}

export interface LoadProfile {
  readonly meterId: number;
  readonly kind: LoadProfileKind;
  /** Folded seed shared by all meters of one simulation. */
  readonly seed: number;
  readonly phases: 1 | 3;
  readonly residents: number;
  /** Standby load (W). */
  readonly baseW: number;
  /** Scale of the behavioural daily shape (W at shape 1.0). */
  readonly shapeW: number;
  readonly fridgeW: number;
  readonly fridgePeriodMin: number;
  readonly fridgeOnMin: number;
  readonly fridgePhaseMin: number;
  /** Installed PV peak power (W); 0 for plain households. */
  readonly pvPeakW: number;
  readonly hasEv: boolean;
  readonly consumptionPowerFactor: number;
  readonly latitudeDeg: number;
  /** Local time = UTC + this. */
  readonly utcOffsetMinutes: number;
  /** Phase shares of the load (sum 1). */
  readonly phaseShares: readonly number[];
  readonly appliances: readonly Appliance[];
}

export interface MakeLoadProfileParameters {
  seed: string | number;
  meterId: number;
  /** Force the kind; otherwise drawn with `prosumerShare`. */
  kind?: LoadProfileKind;
  /** Share of prosumers when `kind` is not given (default 0.3). */
  prosumerShare?: number;
  latitudeDeg?: number;
  utcOffsetMinutes?: number;
}

// Hour weights (local time) for appliance starts.
const MORNING_EVENING = [0, 0, 0, 0, 0, 0.5, 2, 3, 2, 1, 0.8, 0.8, 1, 0.8, 0.8, 1, 1.5, 2, 2, 1.5, 1.2, 1, 0.5, 0.2];
const MEALS = [0, 0, 0, 0, 0, 0, 0.2, 0.5, 0.3, 0.2, 0.3, 1.5, 2.5, 0.8, 0.3, 0.3, 0.5, 1.5, 3, 2.5, 1, 0.3, 0.1, 0];
const DAYTIME = [0, 0, 0, 0, 0, 0, 0.2, 0.5, 1, 1.5, 1.5, 1.2, 1, 1, 1.2, 1.2, 1.2, 1.3, 1.5, 1.5, 1, 0.5, 0.1, 0];
const LATE_EVENING = [0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3, 0.2, 0, 0, 0, 0, 0.5, 1.5, 2.5, 2.5, 1.5, 0.8];
const EV_HOURS = [0.3, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.2, 0.2, 0.2, 0.3, 0.5, 1.5, 3, 3, 2.5, 2, 1.5, 0.8];

function householdAppliances(residents: number, hasEv: boolean): Appliance[] {
  const r = 0.6 + 0.2 * residents;
  const list: Appliance[] = [
    { name: "kettle", powerW: 2000, durationMin: 3, perDay: 2 * r, hourWeights: MORNING_EVENING },
    { name: "microwave", powerW: 1100, durationMin: 4, perDay: 1 * r, hourWeights: MEALS },
    { name: "cooking", powerW: 2200, durationMin: 40, perDay: 0.7 * r, hourWeights: MEALS, shape: (m) => (m < 10 ? 1 : 0.55) },
    { name: "washing", powerW: 2000, durationMin: 90, perDay: 0.35 * r, hourWeights: DAYTIME, shape: (m) => (m < 15 ? 1 : m < 75 ? 0.15 : 0.3) },
    { name: "dishwasher", powerW: 1800, durationMin: 60, perDay: 0.45 * r, hourWeights: LATE_EVENING, shape: (m) => (m < 10 || (m >= 45 && m < 55) ? 1 : 0.06) },
  ];
  if (hasEv) list.push({ name: "ev", powerW: 7400, durationMin: 120, perDay: 0.35, hourWeights: EV_HOURS });
  return list;
}

/**
 * Draws a meter's household (and PV) parameters from the simulation seed and its id.
 * @example
 * const p = makeLoadProfile({ seed: "demo", meterId: 7, kind: "prosumer" });
 * minuteSample(p, Math.floor(Date.UTC(2025, 5, 21, 12) / 60000)).pvW // > 0 around noon in June
 */
export function makeLoadProfile(params: MakeLoadProfileParameters): LoadProfile {
  const { meterId } = params;
  if (!Number.isInteger(meterId) || meterId < 0 || meterId > 0xffffffff) throw new InvalidArgumentError("meterId", meterId, "an integer in 0..2^32-1");
  const seed = seedOf(params.seed);
  const rng = new Rng(hash4(seed, meterId, 0x50524f46, 0));
  const prosumerShare = params.prosumerShare ?? 0.3;
  const kind: LoadProfileKind = params.kind ?? (rng.next() < prosumerShare ? "prosumer" : "household");
  const residents = rng.int(1, 5);
  const phases: 1 | 3 = rng.next() < 0.25 ? 3 : 1;
  const hasEv = phases === 3 ? rng.next() < 0.5 : rng.next() < 0.08;
  const shares = phases === 3 ? rotate([0.4, 0.35, 0.25], rng.int(0, 2)) : [1];
  return {
    meterId,
    kind,
    seed,
    phases,
    residents,
    baseW: rng.between(60, 160) + 15 * residents,
    shapeW: rng.between(140, 220) * (0.6 + 0.25 * residents),
    fridgeW: rng.between(80, 140),
    fridgePeriodMin: rng.int(40, 60),
    fridgeOnMin: rng.int(12, 22),
    fridgePhaseMin: rng.int(0, 59),
    pvPeakW: kind === "prosumer" ? Math.round(rng.between(2500, 9000)) : 0,
    hasEv,
    consumptionPowerFactor: rng.between(0.92, 0.98),
    latitudeDeg: params.latitudeDeg ?? 48.1,
    utcOffsetMinutes: params.utcOffsetMinutes ?? 60,
    phaseShares: shares,
    appliances: householdAppliances(residents, hasEv),
  };
}

function rotate<T>(a: T[], n: number): T[] {
  return a.slice(n).concat(a.slice(0, n));
}

/** The behavioural daily shape in units of `shapeW`, by local fractional hour. */
function dailyShape(hour: number, weekend: boolean): number {
  const g = (mu: number, sigma: number, amp: number) => amp * Math.exp(-0.5 * ((hour - mu) / sigma) ** 2);
  const night = 0.15;
  if (weekend) return night + g(9.5, 1.5, 0.9) + g(13, 1.5, 0.6) + g(19.5, 2, 1.5) + g(15.5, 2.5, 0.35);
  return night + g(7, 0.9, 0.9) + g(12.5, 1.2, 0.25) + g(19.5, 1.8, 1.6);
}

const DAY_MS = 86_400_000;

export interface MinuteSample {
  /** Household consumption (W, ≥ 0). */
  consumptionW: number;
  /** PV generation (W, ≥ 0). */
  pvW: number;
  /** consumption − generation; positive = import. */
  netW: number;
  reactiveVar: number;
  voltageV: number;
  frequencyHz: number;
}

/**
 * What a household's controllable appliances change in one minute (see `appliances.ts`). Without
 * it a minute is the household's own behaviour; a neutral control (every run counted, no extra
 * power, idle battery) gives bit-for-bit the same sample.
 */
export interface MinuteControl {
  /**
   * By household appliance name (e.g. "washing", "ev"): the household's own runs of it count only
   * when they started at or after this minute (−Infinity: all of them; Infinity: none).
   */
  readonly householdRunsFrom: Readonly<Record<string, number>>;
  /** Consumption of commanded devices (W, ≥ 0), added after the household's jitter. */
  readonly extraW: number;
  /** Grid power of the home battery (W): positive while charging (import), negative discharging. */
  readonly batteryW: number;
}

/**
 * Mean power and grid values during one minute (`minute` = Unix time / 60000), optionally with
 * what the household's controllable appliances do in that minute.
 * @example
 * minuteSample(profile, Math.floor(Date.now() / 60000)).netW
 */
export function minuteSample(p: LoadProfile, minute: number, control?: MinuteControl): MinuteSample {
  const localMin = minute + p.utcOffsetMinutes;
  const day = Math.floor(localMin / 1440);
  const minOfDay = localMin - day * 1440;
  const hour = minOfDay / 60;
  const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  const weekend = weekday === 0 || weekday === 6;
  const doy = dayOfYear(minute);
  const season = 1 + 0.22 * Math.cos((2 * Math.PI * (doy - 15)) / 365);

  let w = p.baseW;
  w += p.shapeW * dailyShape(hour, weekend) * season;
  // Fridge compressor: a duty cycle with a per-meter phase.
  const fridgePos = (((minute + p.fridgePhaseMin) % p.fridgePeriodMin) + p.fridgePeriodMin) % p.fridgePeriodMin;
  if (fridgePos < p.fridgeOnMin) w += p.fridgeW;
  w += appliancePower(p, minute, control?.householdRunsFrom);
  // Minute-to-minute jitter of ±6 %.
  w *= 0.94 + 0.12 * unit4(p.seed, p.meterId, 0x4e4f4953, minute);
  // Adding 0 leaves a double unchanged, so a neutral control keeps the sample bit-identical.
  const consumptionW = control ? Math.max(0, w) + control.extraW : Math.max(0, w);

  const pvW = p.pvPeakW > 0 ? pvPower(p, minute, day, doy) : 0;
  const netW = control ? consumptionW - pvW + control.batteryW : consumptionW - pvW;
  const tanPhi = Math.tan(Math.acos(p.consumptionPowerFactor));
  const reactiveVar = consumptionW * tanPhi;
  // Voltage sags with import and rises with export along the feeder; a slow daily swing on top.
  const perPhase = netW / p.phases;
  const voltageV = 230 + 2.5 * Math.sin((2 * Math.PI * (minOfDay - 240)) / 1440) - 0.0015 * perPhase + (unit4(p.seed, p.meterId, 0x564f4c54, minute) - 0.5) * 1.2;
  const frequencyHz = 50 + 0.02 * Math.sin((2 * Math.PI * minute) / 97) + (unit4(p.seed, 0, 0x46524551, minute) - 0.5) * 0.02;
  return { consumptionW, pvW, netW, reactiveVar, voltageV, frequencyHz };
}

function dayOfYear(minute: number): number {
  const ms = minute * 60000;
  const d = new Date(ms);
  return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS) + 1;
}

function appliancePower(p: LoadProfile, minute: number, runsFrom?: Readonly<Record<string, number>>): number {
  let w = 0;
  for (let a = 0; a < p.appliances.length; a++) {
    const app = p.appliances[a];
    const weightSum = app.hourWeights.reduce((s, x) => s + x, 0);
    const from = runsFrom?.[app.name];
    const firstSlot = Math.floor((minute - app.durationMin + 1) / 15) - 1;
    const lastSlot = Math.floor(minute / 15);
    for (let slot = firstSlot; slot <= lastSlot; slot++) {
      const start = slotRunStart(p, a, weightSum, slot);
      if (start === undefined || (from !== undefined && start < from)) continue;
      const into = minute - start;
      if (into >= 0 && into < app.durationMin) w += app.powerW * (app.shape ? app.shape(into) : 1);
    }
  }
  return w;
}

/** Start minute of the run of appliance `a` drawn in 15-minute slot `slot`, if one is drawn. */
function slotRunStart(p: LoadProfile, a: number, weightSum: number, slot: number): number | undefined {
  const app = p.appliances[a];
  const slotHour = Math.floor((((slot * 15 + p.utcOffsetMinutes) % 1440) + 1440) % 1440 / 60);
  const prob = Math.min(1, (app.perDay * app.hourWeights[slotHour]) / weightSum / 4);
  if (prob <= 0) return undefined;
  if (unit4(p.seed, p.meterId, 0x41505000 + a, slot) >= prob) return undefined;
  return slot * 15 + Math.floor(15 * unit4(p.seed, p.meterId, 0x53545200 + a, slot));
}

/**
 * The household's own runs of the named appliance (e.g. "washing", "ev") that are running in
 * `minute`, by start minute, oldest first; empty when the household has no such appliance.
 * @example
 * householdRuns(profile, "washing", minute) // [start] while an automatic wash runs
 */
export function householdRuns(p: LoadProfile, name: string, minute: number): number[] {
  const a = p.appliances.findIndex((x) => x.name === name);
  if (a < 0) return [];
  const app = p.appliances[a];
  const weightSum = app.hourWeights.reduce((s, x) => s + x, 0);
  const out: number[] = [];
  for (let slot = Math.floor((minute - app.durationMin + 1) / 15) - 1; slot <= Math.floor(minute / 15); slot++) {
    const start = slotRunStart(p, a, weightSum, slot);
    if (start !== undefined && minute - start >= 0 && minute - start < app.durationMin) out.push(start);
  }
  return out;
}

function pvPower(p: LoadProfile, minute: number, localDay: number, doy: number): number {
  // Solar time ≈ UTC + longitude/15; take the time zone's meridian as the longitude.
  const solarHour = ((((minute % 1440) + 1440) % 1440) + p.utcOffsetMinutes) / 60 - 0.5;
  const decl = (23.44 * Math.PI) / 180 * Math.sin((2 * Math.PI * (284 + doy)) / 365);
  const lat = (p.latitudeDeg * Math.PI) / 180;
  const hourAngle = ((solarHour - 12) * 15 * Math.PI) / 180;
  const sinElev = Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(hourAngle);
  if (sinElev <= 0) return 0;
  // Clear-sky output with air-mass losses at low sun.
  const clearSky = Math.pow(sinElev, 1.15) * (1 - 0.1 * (1 - sinElev));
  // Day-level weather shared by the whole neighbourhood (same seed, no meter id), with cloud
  // passages every few minutes on partly cloudy days.
  const weather = unit4(p.seed, 0, 0x57545852, localDay);
  let clearness: number;
  if (weather < 0.4) clearness = 0.95;
  else if (weather < 0.75) clearness = 0.45 + 0.5 * unit4(p.seed, 0, 0x434c4f55, Math.floor(minute / 7));
  else clearness = 0.15 + 0.15 * unit4(p.seed, 0, 0x4f564552, Math.floor(minute / 20));
  return p.pvPeakW * clearSky * clearness;
}

/** Energy and mean values over a span of whole minutes. */
export interface IntervalEnergy {
  importWh: number;
  exportWh: number;
  reactiveImportVarh: number;
  reactiveExportVarh: number;
  meanNetW: number;
  meanReactiveVar: number;
  meanVoltageV: number;
  lastFrequencyHz: number;
  peakNetW: number;
}

/**
 * Integrates minute samples over [startMinute, startMinute + minutes); `control` gives what the
 * household's controllable appliances do in each minute (undefined: its own behaviour).
 * @example
 * integrateMinutes(profile, Math.floor(t / 60000), 15).importWh
 */
export function integrateMinutes(p: LoadProfile, startMinute: number, minutes: number, control?: (minute: number) => MinuteControl | undefined): IntervalEnergy {
  let importWh = 0;
  let exportWh = 0;
  let rImp = 0;
  let rExp = 0;
  let sumNet = 0;
  let sumQ = 0;
  let sumV = 0;
  let freq = 50;
  let peak = -Infinity;
  for (let i = 0; i < minutes; i++) {
    const s = minuteSample(p, startMinute + i, control?.(startMinute + i));
    if (s.netW >= 0) importWh += s.netW / 60;
    else exportWh += -s.netW / 60;
    // Reactive energy follows the direction of active flow (quadrants I and IV simplified).
    if (s.netW >= 0) rImp += s.reactiveVar / 60;
    else rExp += s.reactiveVar / 60;
    sumNet += s.netW;
    sumQ += s.reactiveVar;
    sumV += s.voltageV;
    freq = s.frequencyHz;
    if (s.netW > peak) peak = s.netW;
  }
  const n = Math.max(1, minutes);
  return {
    importWh,
    exportWh,
    reactiveImportVarh: rImp,
    reactiveExportVarh: rExp,
    meanNetW: sumNet / n,
    meanReactiveVar: sumQ / n,
    meanVoltageV: sumV / n,
    lastFrequencyHz: freq,
    peakNetW: peak === -Infinity ? 0 : peak,
  };
}
