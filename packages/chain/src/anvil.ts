import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { KEEPER_TORN_EXIT } from "./anvilKeeper";
import { NodeStartError } from "./errors";
import { freePort, isAlive, sleep, stopPid } from "./process";
import { rpcCall } from "./rpc";

/** The mnemonic anvil uses by default; local runs derive their well-known dev keys from it. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

export interface StartAnvilParameters {
  chainId: number;
  /** 0 or omitted: a free port is chosen. */
  port?: number;
  host?: string;
  /**
   * Persist chain state here (`state.json`, dumped on SIGTERM and every `stateIntervalSec`). The node
   * then runs under a keeper process (its PID is the handle's) that keeps the last complete dump as
   * `state.good.json` and restores it when a kill -9 tore `state.json` (anvilKeeper.ts).
   */
  stateDir?: string;
  stateIntervalSec?: number;
  /** Block gas limit (anvil's default is 30,000,000). */
  gasLimit?: bigint;
  /** Seconds between blocks; omitted = automine (a block per transaction). */
  blockTime?: number;
  accounts?: number;
  /** Run detached so the node outlives this process (for `sidegrid up`). */
  detached?: boolean;
  logFile?: string;
  /** Log anvil's banner and every request too (the banner prints the dev accounts' private keys). */
  verboseLog?: boolean;
  startTimeoutMs?: number;
}

export interface AnvilHandle {
  pid: number;
  port: number;
  url: string;
  chainId: number;
  stop(): Promise<void>;
}

/** Path of the anvil binary shipped in the platform package of `@foundry-rs/anvil` (or `$ANVIL_BIN`). */
export function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platformPkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    const { createRequire } = require("node:module") as typeof import("node:module");
    const anvilPkg = require.resolve("@foundry-rs/anvil/package.json");
    const req = createRequire(anvilPkg);
    const dir = path.dirname(req.resolve(`${platformPkg}/package.json`));
    const bin = path.join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
    if (fs.existsSync(bin)) return bin;
  } catch {
    /* fall through to the error below */
  }
  throw new NodeStartError(`anvil binary not found: install ${platformPkg} (a dependency of @foundry-rs/anvil) or set ANVIL_BIN`);
}

/** The keeper script, compiled: the same file whether this module runs from dist/ or (under jest) src/. */
function keeperScript(): string {
  const dist = path.basename(__dirname) === "dist" ? __dirname : path.join(__dirname, "..", "dist");
  const file = path.join(dist, "anvilKeeper.js");
  if (!fs.existsSync(file)) throw new NodeStartError(`${file} is missing: build @sidegrid/chain first (pnpm --filter @sidegrid/chain run build)`);
  return file;
}

/** The last line anvil or its keeper wrote to the log, for a start that failed. */
function logTail(file: string): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(2048, size));
    fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    return (buf.toString("utf8").trimEnd().split("\n").at(-1) ?? "").slice(0, 400);
  } catch {
    return "";
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Starts one anvil node with `--prune-history` (without it anvil writes GBs of snapshots and slows
 * down, TOOLCHAIN.md) and waits until it answers `eth_chainId`.
 *
 * @example
 * const node = await startAnvil({ chainId: 31001, stateDir: ".sidegrid/blockpri" });
 * await node.stop();
 */
export async function startAnvil(params: StartAnvilParameters): Promise<AnvilHandle> {
  const port = params.port && params.port > 0 ? params.port : await freePort();
  const host = params.host ?? "127.0.0.1";
  const args = [
    "--port", String(port),
    "--host", host,
    "--chain-id", String(params.chainId),
    "--prune-history",
    "--accounts", String(params.accounts ?? 10),
    "--mnemonic", ANVIL_MNEMONIC,
  ];
  const stateFile = params.stateDir ? path.join(params.stateDir, "state.json") : undefined;
  if (params.stateDir && stateFile) {
    fs.mkdirSync(params.stateDir, { recursive: true });
    args.push("--state", stateFile, "--state-interval", String(params.stateIntervalSec ?? 2));
  }
  // anvil's start banner lists the dev accounts' private keys and the mnemonic: a node that logs
  // to a file runs quiet unless asked, so no key lands in a log.
  if (params.logFile && !params.verboseLog) args.push("--quiet");
  if (params.gasLimit !== undefined) args.push("--gas-limit", params.gasLimit.toString());
  if (params.blockTime !== undefined) args.push("--block-time", String(params.blockTime));

  let stdio: ("ignore" | number)[] = ["ignore", "ignore", "ignore"];
  let logFd: number | undefined;
  if (params.logFile) {
    fs.mkdirSync(path.dirname(params.logFile), { recursive: true });
    logFd = fs.openSync(params.logFile, "a");
    stdio = ["ignore", logFd, logFd];
  }
  let child: ChildProcess;
  try {
    const [cmd, ...cmdArgs] = stateFile ? [process.execPath, keeperScript(), "--state-file", stateFile, "--interval-ms", "500", "--", anvilBinary(), ...args] : [anvilBinary(), ...args];
    child = spawn(cmd!, cmdArgs, { stdio, detached: params.detached ?? false });
  } finally {
    if (logFd !== undefined) fs.closeSync(logFd);
  }
  if (params.detached) child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new NodeStartError(`anvil did not start for chainId ${params.chainId}`);
  let exited: number | null = null;
  child.once("exit", (code) => {
    exited = code ?? -1;
  });

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + (params.startTimeoutMs ?? 15000);
  for (;;) {
    if (exited !== null) {
      if (exited === KEEPER_TORN_EXIT && stateFile) {
        throw new NodeStartError(`the state of chainId ${params.chainId} in ${stateFile} is torn (anvil was killed while writing it) and no complete copy is beside it; move it away to start a new chain`);
      }
      const said = params.logFile ? logTail(params.logFile) : "";
      throw new NodeStartError(`anvil for chainId ${params.chainId} exited with code ${exited} while starting${said ? `: ${said}` : " (port in use?)"}`);
    }
    try {
      const id = BigInt(await rpcCall<string>(url, "eth_chainId", [], 1000));
      if (id !== BigInt(params.chainId)) {
        await stopPid(pid);
        throw new NodeStartError(`port ${port} answers with chainId ${id}, expected ${params.chainId}: another node is there`);
      }
      break;
    } catch (e) {
      if (e instanceof NodeStartError) throw e;
      if (Date.now() > deadline) {
        await stopPid(pid);
        throw new NodeStartError(`anvil for chainId ${params.chainId} did not answer at ${url}`, { cause: e });
      }
      await sleep(50);
    }
  }
  return {
    pid,
    port,
    url,
    chainId: params.chainId,
    stop: () => stopPid(pid),
  };
}

export { isAlive };
