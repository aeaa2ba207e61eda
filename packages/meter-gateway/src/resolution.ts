// The preference vocabulary of SidegridMessages.sol (Category, Resolution) and the periods each
// resolution stands for. Periods are UTC: quarter hours, hours, days, calendar months.
import { InvalidArgumentError } from "./errors";

/** SidegridMessages.Category. */
export const Category = { CONSUMPTION: 0, TRADES: 1 } as const;
export type Category = (typeof Category)[keyof typeof Category];

/** SidegridMessages.Resolution, coarse to fine: a grant at one level permits every coarser one. */
export const Resolution = { NONE: 0, MONTHLY: 1, DAILY: 2, HOURLY: 3, QUARTER_HOURLY: 4 } as const;
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

export const RESOLUTION_NAMES: Record<Resolution, string> = {
  0: "none",
  1: "monthly",
  2: "daily",
  3: "hourly",
  4: "quarter-hourly",
};

const FIXED: Partial<Record<Resolution, number>> = { 4: 900_000, 3: 3_600_000, 2: 86_400_000 };

/**
 * The [start, end) period of `resolution` containing `tMs`.
 * @example
 * periodOf(Resolution.HOURLY, Date.UTC(2025, 0, 1, 10, 20)) // { start: Date.UTC(2025,0,1,10), end: Date.UTC(2025,0,1,11) }
 */
export function periodOf(resolution: Resolution, tMs: number): { start: number; end: number } {
  if (resolution === Resolution.NONE) throw new InvalidArgumentError("resolution", resolution, "a resolution other than NONE");
  const fixed = FIXED[resolution];
  if (fixed !== undefined) {
    const start = Math.floor(tMs / fixed) * fixed;
    return { start, end: start + fixed };
  }
  const d = new Date(tMs);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { start, end };
}

/** The finest resolution whose periods are at least `intervalMs` long (what a raw record of that interval is). */
export function resolutionOfInterval(intervalMs: number): Resolution {
  if (intervalMs <= 900_000) return Resolution.QUARTER_HOURLY;
  if (intervalMs <= 3_600_000) return Resolution.HOURLY;
  if (intervalMs <= 86_400_000) return Resolution.DAILY;
  return Resolution.MONTHLY;
}

/** Resolutions from finest to coarsest, for "the finest one permitted" lookups. */
export const RESOLUTIONS_FINE_TO_COARSE: readonly Resolution[] = [Resolution.QUARTER_HOURLY, Resolution.HOURLY, Resolution.DAILY, Resolution.MONTHLY];
