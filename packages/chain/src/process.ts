import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

// Server ports are picked below the kernel's ephemeral range: a port the kernel assigns to a listen(0)
// probe is also a port it may hand to the next outgoing connection as its source port, and a member
// or anvil started a minute later then fails with EADDRINUSE (seen in CI under load).
const PICK_LOW = 20000;
// Claims are files, so concurrent processes (jest workers, a bench beside a running system) never
// pick the same port between choosing it and binding it. A claim older than this is stale.
const CLAIM_TTL_MS = 6 * 3600_000;

function ephemeralLow(): number {
  try {
    const [low] = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low && Number.isInteger(low)) return low;
  } catch {
    /* not Linux */
  }
  return 32768;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function claim(dir: string, port: number): boolean {
  const file = path.join(dir, String(port));
  try {
    fs.closeSync(fs.openSync(file, "wx"));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") return false;
  }
  try {
    if (Date.now() - fs.statSync(file).mtimeMs < CLAIM_TTL_MS) return false;
    fs.unlinkSync(file);
    fs.closeSync(fs.openSync(file, "wx"));
    return true;
  } catch {
    return false;
  }
}

/**
 * The first of `count` consecutive free TCP ports on loopback, outside the kernel's ephemeral range
 * and claimed for this machine (no other caller gets it for six hours).
 *
 * @example
 * const base = await freePort(3); // base, base+1, base+2 are free
 */
export async function freePort(count = 1): Promise<number> {
  const high = ephemeralLow() - count;
  if (high - PICK_LOW < 1000) return kernelPort();
  const dir = path.join(os.tmpdir(), "sidegrid-port-claims");
  fs.mkdirSync(dir, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = PICK_LOW + Math.floor(Math.random() * (high - PICK_LOW));
    if (!claim(dir, base)) continue;
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = (i === 0 || claim(dir, base + i)) && (await canBind(base + i));
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found below ${high + count}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True when a process with this PID exists (signal 0 probes without killing). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Stops a process by PID: SIGTERM (anvil dumps its state on it), then SIGKILL after `graceMs`.
 * Resolves once the process is gone.
 */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(25);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* already gone */
  }
  while (isAlive(pid)) await sleep(10);
}
