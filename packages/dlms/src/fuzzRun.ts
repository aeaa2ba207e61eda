// `pnpm --filter @sidegrid/dlms run fuzz [frames=1000000] [seed=24601]`: the long fuzz run.
// Writes bench-results/dlms-fuzz.json; exits 1 if any invariant broke.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runFuzz } from "./fuzz";

const frames = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 24601);
const t0 = process.hrtime.bigint();
const stats = runFuzz({ frames, seed });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const summary = {
  package: "@sidegrid/dlms",
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model ?? "unknown",
  seed,
  seconds: Number(seconds.toFixed(1)),
  framesPerSecond: Math.round(frames / seconds),
  ...stats,
  slowestMs: Number(stats.slowestMs.toFixed(2)),
  passed: stats.unexpected === 0 && stats.roundTripMismatches === 0 && stats.forgeriesAccepted === 0,
};
const dir = path.resolve(__dirname, "..", "bench-results");
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "dlms-fuzz.json"), `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary, null, 2));
process.exitCode = summary.passed ? 0 : 1;
