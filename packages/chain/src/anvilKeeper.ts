// The process `startAnvil` runs when a chain persists its state: it owns one anvil as its child and
// keeps a copy of anvil's last complete state dump beside it.
//
// Why: anvil rewrites `state.json` in place every interval (truncate, then write). A kill -9 during
// that write leaves a torn file, and anvil then refuses to start from it ("failed to parse json
// file: EOF while parsing"), on every retry. Seen in the fault suite on BlockSEC, whose 35 MB state
// takes the longest to write. The keeper copies each complete dump to `state.good.json` (copy, fsync,
// rename: never torn itself) and, at start, puts that copy back when it finds `state.json` torn.
//
// The child runs under `setpriv --pdeathsig KILL`, so a kill -9 of the keeper takes anvil with it:
// to the rest of the system the keeper's PID is the chain node.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** anvil serialises `historical_states` last (null without --preserve-historical-states): a dump cut short lacks this tail. */
const DUMP_TAIL = '"historical_states":null}';
/** Exit code when the state file is torn and no complete copy exists (startAnvil names the file). */
export const KEEPER_TORN_EXIT = 3;

/** Where the keeper keeps the last complete dump of `stateFile`. */
export function goodCopyOf(stateFile: string): string {
  return path.join(path.dirname(stateFile), "state.good.json");
}

function tailOf(file: string, bytes: number): string | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    const n = Math.min(bytes, size);
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, size - n);
    return buf.toString("utf8");
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * True when `file` holds a whole anvil dump. The tail check is exact for dumps without historical
 * states; anything else (another anvil's format) is parsed in full, which only happens at start.
 */
export function isCompleteDump(file: string, parseIfUnsure = true): boolean {
  const tail = tailOf(file, 64);
  if (tail === null || tail.length === 0) return false;
  if (tail.trimEnd().endsWith(DUMP_TAIL)) return true;
  if (!parseIfUnsure) return false;
  try {
    JSON.parse(fs.readFileSync(file, "utf8"));
    return true;
  } catch {
    return false;
  }
}

/** On disk before it is renamed into place: a crash then leaves the old copy or the new, whole. */
function syncAndRename(tmp: string, to: string): void {
  const fd = fs.openSync(tmp, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, to);
}

function copyAtomically(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  fs.copyFileSync(from, tmp);
  syncAndRename(tmp, to);
}

export type RestoreOutcome = { kind: "fresh" } | { kind: "intact" } | { kind: "restored"; tornKeptAt: string; from: string } | { kind: "torn"; file: string };

/**
 * Before anvil starts: a torn `stateFile` is moved to `state.torn.json` and the last complete copy
 * put in its place. With no complete copy the torn file stays where it is (nothing is thrown away)
 * and the caller must not start: anvil would refuse it anyway.
 */
export function restoreState(stateFile: string): RestoreOutcome {
  if (!fs.existsSync(stateFile)) return { kind: "fresh" };
  if (isCompleteDump(stateFile)) return { kind: "intact" };
  const good = goodCopyOf(stateFile);
  if (!fs.existsSync(good) || !isCompleteDump(good)) return { kind: "torn", file: stateFile };
  const tornKeptAt = path.join(path.dirname(stateFile), "state.torn.json");
  fs.renameSync(stateFile, tornKeptAt);
  copyAtomically(good, stateFile);
  return { kind: "restored", tornKeptAt, from: good };
}

interface Seen {
  size: number;
  head: string;
}

/** What tells one dump from the next without reading it all: its size and its head (the block env: number, timestamp, prevrandao). */
function look(file: string): (Seen & { mtimeMs: number }) | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const st = fs.fstatSync(fd);
    const buf = Buffer.alloc(Math.min(512, st.size));
    fs.readSync(fd, buf, 0, buf.length, 0);
    return { size: st.size, head: buf.toString("utf8"), mtimeMs: st.mtimeMs };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Copies `stateFile` to its good copy when it changed since the last copy and is complete. A copy
 * made while anvil began its next dump is thrown away (size or mtime moved under it).
 */
export function snapshotIfChanged(stateFile: string, last: Seen | null): Seen | null {
  const before = look(stateFile);
  if (!before || before.size === 0) return last;
  if (last && last.size === before.size && last.head === before.head) return last;
  if (!isCompleteDump(stateFile, false)) return last;
  const good = goodCopyOf(stateFile);
  const tmp = `${good}.tmp-${process.pid}`;
  try {
    fs.copyFileSync(stateFile, tmp);
    const after = look(stateFile);
    if (!after || after.size !== before.size || after.mtimeMs !== before.mtimeMs || !isCompleteDump(tmp, false)) {
      fs.rmSync(tmp, { force: true });
      return last;
    }
    syncAndRename(tmp, good);
    return { size: before.size, head: before.head };
  } catch {
    fs.rmSync(tmp, { force: true });
    return last;
  }
}

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} anvil-keeper: ${msg}\n`);
}

/** argv: --state-file <file> --interval-ms <ms> -- <anvil binary> <anvil args...> */
function main(argv: string[]): void {
  const sep = argv.indexOf("--");
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && i < sep ? argv[i + 1] : undefined;
  };
  const stateFile = opt("--state-file");
  const intervalMs = Number(opt("--interval-ms") ?? 500);
  const cmd = argv.slice(sep + 1);
  if (sep < 0 || !stateFile || cmd.length === 0 || !Number.isFinite(intervalMs) || intervalMs <= 0) {
    log("usage: anvilKeeper --state-file <file> --interval-ms <ms> -- <anvil> <args...>");
    process.exit(2);
  }
  const outcome = restoreState(stateFile);
  if (outcome.kind === "torn") {
    log(`${stateFile} is torn (anvil was killed while writing it) and no complete copy exists beside it; move it away to start a new chain`);
    process.exit(KEEPER_TORN_EXIT);
  }
  if (outcome.kind === "restored") log(`${stateFile} was torn (anvil was killed while writing it): kept it as ${outcome.tornKeptAt}, started from the last complete dump`);
  let last = outcome.kind === "fresh" ? null : snapshotIfChanged(stateFile, null);

  // Without setpriv anvil would outlive a kill -9 of the keeper; it still runs, the keeper logs why.
  if (!SETPRIV) log("setpriv not found: anvil will not die with this keeper");
  const child: ChildProcess = SETPRIV
    ? spawn(SETPRIV, ["--pdeathsig", "KILL", "--", ...cmd], { stdio: ["ignore", "inherit", "inherit"] })
    : spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
  const timer = setInterval(() => {
    last = snapshotIfChanged(stateFile, last);
  }, intervalMs);
  let stopping = false;
  const stop = (sig: NodeJS.Signals) => {
    stopping = true;
    child.kill(sig);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  child.on("exit", (code, signal) => {
    clearInterval(timer);
    // anvil dumps on a clean exit: keep that dump too.
    snapshotIfChanged(stateFile, last);
    if (!stopping) log(`anvil exited (${signal ?? `code ${code}`})`);
    process.exit(stopping ? 0 : (code ?? 1));
  });
}

if (require.main === module) main(process.argv.slice(2));
