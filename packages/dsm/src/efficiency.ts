// Proof of efficiency (after seed 000's idea): a household that used less than its own baseline
// during a demand-response event is rewarded for the energy it saved. Pure arithmetic on metered
// interval energy, so anyone holding the same anchored readings (a granted utility, an auditor with
// the grant) recomputes the same figure to the watt-hour.
import { InvalidArgumentError } from "./errors";

/** Energy imported in one metering interval. */
export interface IntervalEnergy {
  /** Unix seconds the interval starts. */
  start: number;
  /** Its length in seconds (900 for 15-minute readings). */
  seconds: number;
  importWh: number;
}

export interface EfficiencyWindow {
  /** Unix seconds; the event covers [start, end). */
  start: number;
  end: number;
}

export interface EfficiencyBaselineParameters {
  intervals: readonly IntervalEnergy[];
  event: EfficiencyWindow;
  /** Previous days whose same window makes the baseline (default 5; days without full data are skipped). */
  baselineDays?: number;
  /** How far back to look for them (default 10 days). */
  lookbackDays?: number;
}

export interface EfficiencyBaselineReturnType {
  /** Mean energy of the window over the baseline days (Wh, floored). */
  baselineWh: number;
  /** Energy in the event window (Wh). */
  actualWh: number;
  /** max(0, baseline − actual): what is rewarded (Wh). */
  savedWh: number;
  /** The start (Unix s) of each day's window that entered the baseline, newest first. */
  baselineDays: number[];
  /** Every interval of the event window is metered and enough baseline days were found. */
  eligible: boolean;
  /** Why not, when not. */
  reason?: string;
}

export type EfficiencyBaselineErrorType = InvalidArgumentError;

const DAY = 86_400;

/** Energy in [from, to) if every second of it is metered, else null (a gap is never read as zero use). */
function windowEnergy(byStart: Map<number, IntervalEnergy>, from: number, to: number, step: number): number | null {
  let sum = 0;
  for (let t = from; t < to; t += step) {
    const x = byStart.get(t);
    if (!x) return null;
    sum += x.importWh;
  }
  return sum;
}

/**
 * The household's baseline for an event window (mean of the same window on recent days with full
 * data), her use during it and what she saved.
 * @example
 * const r = efficiencyBaseline({ intervals, event: { start, end } });
 * r.savedWh; // rewarded at the event's rate per kWh
 */
export function efficiencyBaseline(p: EfficiencyBaselineParameters): EfficiencyBaselineReturnType {
  const { start, end } = p.event;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start) throw new InvalidArgumentError("event", p.event, "integer Unix seconds with start < end");
  if (end - start > DAY) throw new InvalidArgumentError("event", p.event, "at most one day long");
  const want = p.baselineDays ?? 5;
  const lookback = p.lookbackDays ?? 10;
  if (!Number.isInteger(want) || want < 1) throw new InvalidArgumentError("baselineDays", want, "a positive integer");
  if (!Number.isInteger(lookback) || lookback < want) throw new InvalidArgumentError("lookbackDays", lookback, `an integer ≥ baselineDays (${want})`);
  const step = p.intervals[0]?.seconds ?? 900;
  const byStart = new Map<number, IntervalEnergy>();
  for (const x of p.intervals) {
    if (!Number.isFinite(x.importWh) || x.importWh < 0) throw new InvalidArgumentError("intervals", x, "non-negative importWh");
    if (x.seconds !== step) throw new InvalidArgumentError("intervals", x, `one interval length (${step} s)`);
    if (byStart.has(x.start) && byStart.get(x.start)!.importWh !== x.importWh) throw new InvalidArgumentError("intervals", x, "one figure per interval (two differ)");
    byStart.set(x.start, x);
  }
  if ((start % step) !== 0 || (end % step) !== 0) throw new InvalidArgumentError("event", p.event, `aligned to the ${step}-second intervals`);
  const actual = windowEnergy(byStart, start, end, step);
  const days: { at: number; wh: number }[] = [];
  for (let d = 1; d <= lookback && days.length < want; d++) {
    const wh = windowEnergy(byStart, start - d * DAY, end - d * DAY, step);
    if (wh !== null) days.push({ at: start - d * DAY, wh });
  }
  const baselineWh = days.length ? Math.floor(days.reduce((s, x) => s + x.wh, 0) / days.length) : 0;
  if (actual === null) return { baselineWh, actualWh: 0, savedWh: 0, baselineDays: days.map((x) => x.at), eligible: false, reason: "the event window is not fully metered" };
  if (days.length < want) return { baselineWh, actualWh: actual, savedWh: 0, baselineDays: days.map((x) => x.at), eligible: false, reason: `${days.length} of ${want} baseline days fully metered` };
  return { baselineWh, actualWh: actual, savedWh: Math.max(0, Math.floor(baselineWh - actual)), baselineDays: days.map((x) => x.at), eligible: true };
}

/**
 * The reward for saved energy at a rate per kWh (in the token's smallest unit): savedWh · rate / 1000,
 * rounded down — the rule the DemandResponse contract pays by.
 */
export function efficiencyReward(savedWh: number, rewardPerKwh: bigint): bigint {
  if (!Number.isInteger(savedWh) || savedWh < 0) throw new InvalidArgumentError("savedWh", savedWh, "a non-negative integer");
  if (rewardPerKwh < 0n) throw new InvalidArgumentError("rewardPerKwh", rewardPerKwh, "non-negative");
  return (BigInt(savedWh) * rewardPerKwh) / 1000n;
}
