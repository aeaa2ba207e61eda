import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isAlive, sleep } from "@sidegrid/chain";
import { MemberStartError } from "../errors";
import type { MemberHealth } from "./node";

/** The member binary (runs `dist/cli.js`, so the package must be built). */
export const memberBinPath = path.join(__dirname, "..", "..", "bin", "sidegrid-federation-member.js");

export interface SpawnMemberParameters {
  /** The federation file written by `writeMemberConfigs`. */
  configFile: string;
  member: number;
  /** stdout and stderr go here (appended); omitted = discarded. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  /**
   * A command that runs node for us, e.g. `["ip", "netns", "exec", "host1"]` to start the member on
   * its own network namespace. It must exec node in place so the pid returned is the member's.
   */
  launcher?: readonly string[];
}

/**
 * Starts member `member` as its own detached OS process and returns its pid; it keeps running after
 * this process exits (stop it with SIGTERM, e.g. `stopPid` from @sidegrid/chain).
 *
 * @example
 * const pid = spawnMember({ configFile: ".sidegrid/federation.json", member: 0, logFile: ".sidegrid/logs/member-0.log" });
 */
export function spawnMember(params: SpawnMemberParameters): number {
  if (!fs.existsSync(path.join(path.dirname(memberBinPath), "..", "dist", "cli.js"))) {
    throw new MemberStartError(params.member, "the federation package is not built (run `pnpm build` in packages/federation)");
  }
  let fd: number | "ignore" = "ignore";
  if (params.logFile) {
    fs.mkdirSync(path.dirname(params.logFile), { recursive: true });
    fd = fs.openSync(params.logFile, "a");
  }
  try {
    const args = [...(params.nodeArgs ?? []), memberBinPath, "--member", String(params.member), "--config", params.configFile];
    const [cmd, ...pre] = [...(params.launcher ?? []), process.execPath];
    const child = spawn(cmd!, [...pre, ...args], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: params.env ?? process.env,
    });
    child.unref();
    if (child.pid === undefined) throw new MemberStartError(params.member, "the process did not start");
    return child.pid;
  } finally {
    if (typeof fd === "number") fs.closeSync(fd);
  }
}

/** What `waitForMember` can watch besides the URL, so a member that died says why at once. */
export interface WaitForMemberOptions {
  /** Index in the federation file (for the error). */
  member?: number;
  /** The process from `spawnMember`: if it exits, waiting stops. */
  pid?: number;
  /** Its log: the last lines go into the error. */
  logFile?: string;
  /**
   * On a loaded machine a member's first pass over the chains can take longer than `timeoutMs`:
   * while it answers /health and its chain cursors advance, the wait goes on, up to this
   * (default 6 × timeoutMs). A member that answers nothing, or stands still, fails at `timeoutMs`.
   */
  maxMs?: number;
  /** Told once when the wait goes past `timeoutMs` because the member is still making progress. */
  onSlow?: (message: string) => void;
  /**
   * Asked at every look: a reason to stop waiting now (say, the Redis or chain the member needs
   * died meanwhile, so a supervisor restarts that first instead of waiting out the timeout).
   */
  abortIf?: () => string | null;
}

function logTail(file: string | undefined, lines = 8): string {
  if (!file || !fs.existsSync(file)) return "";
  const text = fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  return text ? `; last log lines:\n${text}` : "";
}

/**
 * Waits until the member at `url` answers /health with ok (all chains polled), or throws after
 * `timeoutMs`, or as soon as its process (`opts.pid`) is gone.
 *
 * @example
 * await waitForMember("http://127.0.0.1:7301", 15000, { member: 0, pid, logFile });
 */
export async function waitForMember(url: string, timeoutMs = 15000, opts: WaitForMemberOptions = {}): Promise<MemberHealth> {
  const started = Date.now();
  const hardDeadline = started + (opts.maxMs ?? 6 * timeoutMs);
  let deadline = started + timeoutMs;
  let slowTold = false;
  let progress: string | undefined;
  const member = opts.member ?? -1;
  let last = "no answer";
  for (;;) {
    try {
      const res = await fetch(`${url.replace(/\/$/, "")}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as MemberHealth;
      if (res.ok && body.ok) return body;
      last = JSON.stringify(body.chains?.map((c) => c.error).filter(Boolean));
      // Cursors moving: the member works through the chains, just slowly. Give it time.
      const now = (body.chains ?? []).map((c) => `${c.cursor}/${c.ready}`).join(",");
      if (progress !== undefined && now !== progress) deadline = Math.min(hardDeadline, Math.max(deadline, Date.now() + timeoutMs / 2));
      progress = now;
    } catch (e) {
      last = (e as Error).message;
    }
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new MemberStartError(member, `the process (pid ${opts.pid}) exited before ${url} was healthy${logTail(opts.logFile)}`);
    }
    const why = opts.abortIf?.();
    if (why) throw new MemberStartError(member, `stopped waiting for ${url} after ${Date.now() - started} ms: ${why}`);
    const now = Date.now();
    if (now > deadline) throw new MemberStartError(member, `member at ${url} not healthy after ${now - started} ms: ${last}${logTail(opts.logFile)}`);
    if (!slowTold && now > started + timeoutMs) {
      slowTold = true;
      opts.onSlow?.(`member ${member} at ${url} not healthy after ${timeoutMs} ms but still making progress: waiting up to ${hardDeadline - started} ms`);
    }
    await sleep(50);
  }
}
