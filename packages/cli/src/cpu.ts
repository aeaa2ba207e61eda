// How much CPU the processes `up` started use, measured the way `top` does: the change of each
// process's user + system time in /proc/<pid>/stat over a sampling window. Linux only (elsewhere
// every process reports null). An idle system should cost little: members and the gateway wait
// for new blocks, they do not spin.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { sleep } from "@sidegrid/chain";
import { CliError } from "./errors";
import type { ProcessRecord } from "./system";

export interface ProcessCpu {
  name: string;
  kind: string;
  pid: number;
  /** Percent of one core over the window; null when the process could not be read. */
  percentOfCore: number | null;
}

export interface CpuSample {
  seconds: number;
  processes: ProcessCpu[];
  /** Sum over the processes, percent of one core. */
  totalPercentOfCore: number;
  cores: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

function ownTicks(pid: number): number | null {
  const rest = statFields(pid);
  if (!rest) return null;
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** Live children of `pid` (a chain's keeper runs anvil as one). */
function childPids(pid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  return entries.filter((d) => /^\d+$/.test(d) && statFields(Number(d))?.[1] === String(pid)).map(Number);
}

/** User + system CPU ticks so far of `pid` and its live children, or null when `pid` cannot be read. */
export function cpuTicks(pid: number): number | null {
  const own = ownTicks(pid);
  if (own === null) return null;
  return childPids(pid).reduce((s, c) => s + (ownTicks(c) ?? 0), own);
}

/**
 * Samples the CPU use of `processes` over `seconds`.
 * @example
 * const s = await sampleCpu(readState(cfg)!.processes, 10);
 * s.totalPercentOfCore; // e.g. 2.4
 */
export async function sampleCpu(processes: readonly Pick<ProcessRecord, "name" | "kind" | "pid">[], seconds: number): Promise<CpuSample> {
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new CliError("BAD_ARGUMENT", `the CPU sampling window must be 0 < s ≤ 3600 seconds, got ${seconds}`);
  const before = processes.map((p) => cpuTicks(p.pid));
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const hz = clockTicks();
  const out = processes.map((p, i) => {
    const a = before[i];
    const b = cpuTicks(p.pid);
    const percentOfCore = a === null || a === undefined || b === null ? null : Math.max(0, Math.round(((b - a) / hz / elapsed) * 1000) / 10); // a child gone meanwhile takes its ticks along
    return { name: p.name, kind: p.kind, pid: p.pid, percentOfCore };
  });
  const total = Math.round(out.reduce((s, p) => s + (p.percentOfCore ?? 0), 0) * 10) / 10;
  const cores = (() => {
    try {
      return fs.readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length || 1;
    } catch {
      return 1;
    }
  })();
  return { seconds: Math.round(elapsed * 10) / 10, processes: out, totalPercentOfCore: total, cores };
}
