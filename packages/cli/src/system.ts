import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import {
  NETWORK_NAMES,
  isAlive,
  redisClusterNodes,
  rpcCall,
  sleep,
  startAnvil,
  stopPid,
  type NetworkName,
  type SidegridConfig,
} from "@sidegrid/chain";
import { startRedisCluster } from "@sidegrid/meter-gateway";
import { CliError } from "./errors";
import type { Ui } from "./ui";

export type ProcessKind = "anvil" | "redis" | "member" | "gateway" | "meters";

export interface ProcessRecord {
  name: string;
  kind: ProcessKind;
  pid: number;
  url?: string;
  startedAt: string;
}

export interface SystemState {
  version: 1;
  configSource: string;
  dataDir: string;
  startedAt: string;
  processes: ProcessRecord[];
  /** Set by `down` before it stops anything, so a supervisor does not start them again. */
  stopping?: boolean;
}

export function stateFile(cfg: SidegridConfig): string {
  return path.join(cfg.dataDir, "state.json");
}

export function readState(cfg: SidegridConfig): SystemState | undefined {
  const f = stateFile(cfg);
  if (!fs.existsSync(f)) return undefined;
  return JSON.parse(fs.readFileSync(f, "utf8")) as SystemState;
}

export function writeState(cfg: SidegridConfig, state: SystemState): void {
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const f = stateFile(cfg);
  fs.writeFileSync(`${f}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${f}.tmp`, f);
}

/** The binary a kind of process runs; used to make sure a recorded PID is still ours before signalling it. */
const KIND_MARKER: Record<ProcessKind, string> = {
  anvil: "anvil",
  redis: "redis-server",
  member: "node",
  gateway: "node",
  meters: "node",
};

/** True if `pid` is alive and still runs what we started (PIDs get reused after a reboot). */
export function isOurs(p: ProcessRecord): boolean {
  if (!isAlive(p.pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
    return cmdline.includes(KIND_MARKER[p.kind]);
  } catch {
    return true; // no /proc (not Linux): trust the PID
  }
}

function redisBinary(): string {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"]).toString().trim();
  } catch {
    throw new CliError("DEPENDENCY_MISSING", "redis-server is not installed: run `apt-get install -y redis-server` (scripts/setup.sh does it)");
  }
}

export async function redisPing(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 6379), u.hostname);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Starts a persistent redis-server (append-only file, so queued jobs survive a restart). */
export async function startRedis(cfg: SidegridConfig): Promise<ProcessRecord> {
  const port = cfg.redis.port ?? Number(new URL(cfg.redis.url).port || 6379);
  const dir = path.join(cfg.dataDir, "redis");
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(cfg.dataDir, "logs"), { recursive: true });
  const pidFile = path.join(dir, "redis.pid");
  fs.rmSync(pidFile, { force: true });
  const child = spawn(
    redisBinary(),
    [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--dir", dir,
      "--appendonly", "yes",
      "--daemonize", "yes",
      "--pidfile", pidFile,
      "--logfile", path.join(cfg.dataDir, "logs", "redis.log"),
    ],
    { stdio: "ignore" },
  );
  await new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10000;
  while (!(await redisPing(cfg.redis.url))) {
    if (Date.now() > deadline) throw new CliError("START_FAILED", `redis-server did not answer PING on port ${port}; see ${path.join(cfg.dataDir, "logs", "redis.log")}`);
    await sleep(50);
  }
  const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  return { name: "redis", kind: "redis", pid, url: cfg.redis.url, startedAt: new Date().toISOString() };
}

export interface StartInfrastructureReturnType {
  state: SystemState;
  started: string[];
  reused: string[];
}

/**
 * Starts what the config marks local and is not already running: one anvil per chain (state
 * persisted under dataDir/chains/<name>) and Redis. Processes run detached and outlive the CLI.
 */
/**
 * The data directory holds key files (the federation file, the gateway's configuration, the meter
 * key): only its owner may enter it, whatever the umask, and one made before is tightened too.
 */
export function ensurePrivateDataDir(cfg: SidegridConfig): void {
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(cfg.dataDir, 0o700);
}

export async function startInfrastructure(cfg: SidegridConfig, ui: Ui): Promise<StartInfrastructureReturnType> {
  ensurePrivateDataDir(cfg);
  const previous = readState(cfg);
  const alive = new Map((previous?.processes ?? []).filter(isOurs).map((p) => [p.name, p]));
  const state: SystemState = {
    version: 1,
    configSource: cfg.source,
    dataDir: cfg.dataDir,
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    processes: [...alive.values()],
  };
  const started: string[] = [];
  const reused: string[] = [...alive.keys()];
  const save = () => writeState(cfg, state);

  for (const name of NETWORK_NAMES) {
    const n = cfg.networks[name];
    if (!n.local || alive.has(name)) continue;
    const handle = await ui.step(
      `starting ${label(name)} (anvil, chainId ${n.chainId})`,
      () =>
        startAnvil({
          chainId: n.chainId,
          ...(n.port !== undefined ? { port: n.port } : {}),
          stateDir: path.join(cfg.dataDir, "chains", name),
          logFile: path.join(cfg.dataDir, "logs", `${name}.log`),
          detached: true,
        }),
      (h) => h.url,
    );
    state.processes.push({ name, kind: "anvil", pid: handle.pid, url: handle.url, startedAt: new Date().toISOString() });
    started.push(name);
    save();
  }
  const clusterNodes = redisClusterNodes(cfg.redis);
  if (cfg.redis.local && clusterNodes) {
    // A Redis Cluster from Debian's redis-server: every node its own process and directory; the
    // cluster is created once (redis-cli --cluster create) and rejoins from nodes.conf afterwards.
    const names = clusterNodes.map((u) => `redis-${new URL(u).port}`);
    if (!names.every((n) => alive.has(n))) {
      for (const n of names) {
        const old = alive.get(n);
        if (old) await stopPid(old.pid, 5000);
      }
      state.processes = state.processes.filter((p) => !names.includes(p.name));
      const masters = cfg.redis.masters ?? 3;
      const cluster = await ui.step(
        `starting a Redis Cluster (${masters} masters${cfg.redis.replicas ? `, ${cfg.redis.replicas} replica${cfg.redis.replicas > 1 ? "s" : ""} each` : ""})`,
        () => startRedisCluster({ dir: path.join(cfg.dataDir, "redis-cluster"), basePort: Number(new URL(clusterNodes[0]).port), masters, replicas: cfg.redis.replicas ?? 0, detached: true }),
        (c) => c.urls.join(" "),
      );
      for (const n of cluster.nodes) state.processes.push({ name: `redis-${n.port}`, kind: "redis", pid: n.pid, url: n.url, startedAt: new Date().toISOString() });
      started.push("redis-cluster");
      save();
    }
  } else if (cfg.redis.local && !alive.has("redis")) {
    if (await redisPing(cfg.redis.url)) {
      throw new CliError("ALREADY_RUNNING", `something already answers on ${cfg.redis.url} that this data dir did not start; stop it or change redis.port`);
    }
    const rec = await ui.step("starting Redis", () => startRedis(cfg), (r) => r.url ?? "");
    state.processes.push(rec);
    started.push("redis");
    save();
  }
  save();
  return { state, started, reused };
}

/** Stops exactly the processes recorded in the state file, newest first. */
export async function stopAll(cfg: SidegridConfig, ui: Ui): Promise<string[]> {
  const state = readState(cfg);
  if (!state) return [];
  const stopped: string[] = [];
  writeState(cfg, { ...state, stopping: true });
  // Services that use the chains and Redis stop first; then the chains and Redis together.
  const ours = state.processes.filter(isOurs);
  const services = ours.filter((p) => p.kind !== "anvil" && p.kind !== "redis");
  const infra = ours.filter((p) => p.kind === "anvil" || p.kind === "redis");
  for (const group of [services, infra]) {
    if (group.length === 0) continue;
    const names = group.map((p) => p.name);
    await ui.step(`stopping ${names.join(", ")}`, () => Promise.all(group.map((p) => stopPid(p.pid, 10000))));
    stopped.push(...names);
  }
  fs.rmSync(stateFile(cfg), { force: true });
  return stopped;
}

export interface ComponentStatus {
  name: string;
  kind: string;
  endpoint: string;
  ok: boolean;
  detail: string;
}

/** Probes every configured chain (eth_chainId, block number), Redis (PING) and recorded processes. */
export async function probeStatus(cfg: SidegridConfig): Promise<ComponentStatus[]> {
  const state = readState(cfg);
  const out: ComponentStatus[] = [];
  for (const name of NETWORK_NAMES) {
    const n = cfg.networks[name];
    try {
      const [id, block] = await Promise.all([
        rpcCall<string>(n.rpcUrl, "eth_chainId", [], 2000),
        rpcCall<string>(n.rpcUrl, "eth_blockNumber", [], 2000),
      ]);
      const ok = BigInt(id) === BigInt(n.chainId);
      out.push({
        name: label(name),
        kind: n.local ? "anvil" : "remote EVM",
        endpoint: n.rpcUrl,
        ok,
        detail: ok ? `chainId ${BigInt(id)}, block ${BigInt(block)}` : `chainId ${BigInt(id)}, expected ${n.chainId}`,
      });
    } catch {
      out.push({ name: label(name), kind: n.local ? "anvil" : "remote EVM", endpoint: n.rpcUrl, ok: false, detail: "not answering" });
    }
  }
  const nodes = redisClusterNodes(cfg.redis) ?? [cfg.redis.url];
  for (const url of nodes) {
    const pong = await redisPing(url);
    out.push({ name: nodes.length > 1 ? `Redis ${new URL(url).port}` : "Redis", kind: nodes.length > 1 ? "redis-server (cluster)" : "redis-server", endpoint: url, ok: pong, detail: pong ? "PONG" : "not answering" });
  }
  const services = (state?.processes ?? []).filter((p) => p.kind !== "anvil" && p.kind !== "redis");
  out.push(...(await Promise.all(services.map(serviceStatus))));
  return out;
}

/** Where a service answers whether it is healthy (members: chains polled; gateway: chain, Redis, store). */
const HEALTH_PATH: Partial<Record<ProcessKind, string>> = { member: "/health", gateway: "/healthz" };

async function serviceStatus(p: ProcessRecord): Promise<ComponentStatus> {
  const base = { name: p.name, kind: p.kind, endpoint: p.url ?? "" };
  if (!isOurs(p)) return { ...base, ok: false, detail: `pid ${p.pid} not running` };
  const healthPath = HEALTH_PATH[p.kind];
  if (!healthPath || !p.url) return { ...base, ok: true, detail: `pid ${p.pid}` };
  try {
    const res = await fetch(`${p.url}${healthPath}`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) return { ...base, ok: true, detail: `pid ${p.pid}, healthy` };
    const body = (await res.text()).slice(0, 120);
    return { ...base, ok: false, detail: `pid ${p.pid}, unhealthy (${res.status}): ${body}` };
  } catch (e) {
    return { ...base, ok: false, detail: `pid ${p.pid}, ${healthPath} not answering: ${(e as Error).message}` };
  }
}

export function label(name: NetworkName): string {
  return { blockpri: "BlockPRI", blocksec: "BlockSEC", blocktst: "BlockTST" }[name];
}
