// Pure statistics of the bench (unit-tested in stats.test.ts).
import { percentileOf, summarize } from "@sidegrid/meter-gateway";
import type { LatencyStats } from "./types";

/**
 * Nearest-rank percentile of ascending `sorted` (NaN when empty): the smallest sample such that at
 * least p % of the samples are ≤ it. No interpolation, so a reported p99 is a latency that happened.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in 0..100`);
  return percentileOf(sorted, p);
}

/** p50/p90/p99/max/mean of unsorted latency samples (ms, rounded to 0.1). */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = summarize(samples);
  return { samples: s.samples, p50: round(s.p50, 1), p90: round(s.p90, 1), p99: round(s.p99, 1), max: round(s.max, 1), mean: round(s.mean, 1) };
}

export function round(x: number, digits = 0): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Readings per second of `n` readings in `seconds` (0 seconds cannot happen with real clocks). */
export function rate(n: number, seconds: number): number {
  return seconds > 0 ? Math.round(n / seconds) : Infinity;
}

/** How many times faster (b) is than (a), from their times for the same work. */
export function speedup(aSeconds: number, bSeconds: number): number {
  return round(aSeconds / bSeconds, 2);
}

/** Min / median / max of repeated rounds of one figure (the median is the lower middle for an even count). */
export interface Spread {
  rounds: number;
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return { rounds: 0, min: NaN, median: NaN, max: NaN };
  return { rounds: s.length, min: s[0]!, median: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}

/** Per-interval rates of a cumulative counter sampled at times `t` (ms): what a steady figure hides. */
export function intervalRates(samples: readonly { t: number; n: number }[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i]!.t - samples[i - 1]!.t) / 1000;
    if (dt > 0) out.push(Math.round((samples[i]!.n - samples[i - 1]!.n) / dt));
  }
  return out;
}
