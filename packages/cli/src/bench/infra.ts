// What the bench starts and must stop again: a cleanup stack, and a throwaway redis-server.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "@sidegrid/chain";
import { CliError } from "../errors";

/** Things to undo, most recent first; every step runs even when an earlier one fails. */
export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<unknown> | unknown }[] = [];

  add(what: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, run });
  }

  /** Runs every step (last added first); returns the failures instead of throwing them. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    while (this.steps.length) {
      const s = this.steps.pop()!;
      try {
        await s.run();
      } catch (e) {
        failures.push(`${s.what}: ${(e as Error).message}`);
      }
    }
    return failures;
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.on("error", () => resolve(false));
  });
}

/**
 * Starts a redis-server on a free loopback port in a temp dir, without persistence, as a child of
 * this process; `stop` ends it and removes the dir.
 */
export async function startRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  let bin: string;
  try {
    bin = execFileSync("sh", ["-c", "command -v redis-server"]).toString().trim();
  } catch {
    throw new CliError("DEPENDENCY_MISSING", "redis-server is not installed: run `apt-get install -y redis-server` (scripts/setup.sh does it), or set SIDEGRID_TEST_REDIS_URL");
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-bench-redis-"));
  const child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new CliError("START_FAILED", `redis-server did not answer PING on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid!, stop };
}
