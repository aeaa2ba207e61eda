// Latency summaries of the bench-support functions.

/** Nearest-rank percentile summary of latency samples (ms). */
export interface LatencySummary {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { samples: s.length, p50: percentileOf(s, 50), p90: percentileOf(s, 90), p99: percentileOf(s, 99), max: s.length ? s[s.length - 1]! : NaN, mean: Math.round(mean * 10) / 10 };
}
