// The goals the issues set for the figures this bench measures, and whether a run met them.
import type { Goal } from "./types";

export interface GoalSpec {
  id: string;
  figure: string;
  issue: number;
  goal: string;
  comparator: "<=" | ">=";
  target: number;
  unit: string;
}

/** Goals as the issues state them (`issues show 3` … `issues show 13`). Issue 13's hold only with the default system running beside the bench, as a user's machine has it. */
export const GOALS: readonly GoalSpec[] = [
  { id: "codec-decode", figure: "OSGP decode + verify of the 144-byte record, one core", issue: 3, goal: "≥ 200,000 packets/s", comparator: ">=", target: 200_000, unit: "packets/s" },
  { id: "anchor-gas", figure: "anchorBatch gas per record, 1,000 records of 144-byte payloads", issue: 4, goal: "≤ 7,000 gas/record", comparator: "<=", target: 7_000, unit: "gas/record" },
  { id: "revocation-p99", figure: "revocation on BlockPRI until BlockSEC refuses, p99", issue: 6, goal: "≤ 1 s locally", comparator: "<=", target: 1_000, unit: "ms" },
  { id: "relay-throughput", figure: "federation messages relayed per second, with batching", issue: 6, goal: "≥ 1,000 msg/s locally", comparator: ">=", target: 1_000, unit: "msg/s" },
  { id: "e2e-throughput", figure: "end-to-end anchored readings/s from simulated meters, sustained", issue: 7, goal: "≥ 5,000 readings/s (1,000+ meters)", comparator: ">=", target: 5_000, unit: "readings/s" },
  { id: "e2e-latency-p99", figure: "reading-to-anchored latency, p99", issue: 7, goal: "≤ 2 s", comparator: "<=", target: 2_000, unit: "ms" },
  { id: "relay-throughput-loaded", figure: "federation messages relayed per second, beside a running system", issue: 13, goal: "≥ 3,000 msg/s", comparator: ">=", target: 3_000, unit: "msg/s" },
  { id: "e2e-throughput-loaded", figure: "end-to-end anchored readings/s, 60 s sustained, beside a running system", issue: 13, goal: "≥ 6,000 readings/s (1,000+ meters)", comparator: ">=", target: 6_000, unit: "readings/s" },
  { id: "anchor-gas-v2", figure: "anchorBatch gas per reading through the real gateway, payload v2 (epoch keys)", issue: 11, goal: "≤ 6,500 gas/reading", comparator: "<=", target: 6_500, unit: "gas/reading" },
  { id: "key-release-p99", figure: "grant → plaintext for one day of 15-minute readings, p99", issue: 11, goal: "≤ 1 s locally", comparator: "<=", target: 1_000, unit: "ms" },
  { id: "bench-wall-time", figure: "wall time of this bench run", issue: 8, goal: "quick < 2 min (full: < 15 min)", comparator: "<=", target: 120, unit: "s" },
];

/** Holds `value` against the spec; a missing (NaN) value never meets a goal. */
export function evaluateGoal(spec: GoalSpec, value: number, note?: string): Goal {
  const met = Number.isFinite(value) && (spec.comparator === "<=" ? value <= spec.target : value >= spec.target);
  return { ...spec, value, met, ...(note !== undefined ? { note } : {}) };
}

/** Evaluates every goal from the measured values by goal id; `overrides` adjust a spec for this run (e.g. the full run's wall-time limit). */
export function evaluateGoals(values: Readonly<Record<string, number>>, notes: Readonly<Record<string, string>> = {}, overrides: Readonly<Record<string, Partial<GoalSpec>>> = {}): Goal[] {
  return GOALS.map((g) => evaluateGoal({ ...g, ...overrides[g.id] }, values[g.id] ?? NaN, notes[g.id]));
}
