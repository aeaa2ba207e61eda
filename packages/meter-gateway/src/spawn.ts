// Starting gateway and simulator processes (detached, for `sidegrid up`, or attached, for tests).
// Each process writes a state file when ready; these helpers wait for it and return pid and URLs.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { METERS_BIN, type MeterEndpoint, type SimClockState } from "@sidegrid/pi-meter";
import type { GatewayConfig } from "./config";
import type { DevAccount } from "./api/types";
import { GatewayError } from "./errors";

const PACKAGE_ROOT = path.join(__dirname, "..");
export const GATEWAY_BIN = path.join(PACKAGE_ROOT, "bin", "sidegrid-gateway.js");
// The meter simulator is the device side's (@sidegrid/pi-meter); the gateway only launches it.
export { METERS_BIN };

export interface SpawnedProcess {
  pid: number;
  /** Resolves with the exit code when the process ends (attached processes only). */
  exited?: Promise<number | null>;
}

export interface SpawnedMeterSimulator extends SpawnedProcess {
  host: string;
  port: number;
  controlUrl: string | null;
  count: number;
  firstMeterId: number;
  addressed: boolean;
  clock: SimClockState;
  /** The 0600 file holding the meters' OSGP master key (never the key itself: state files are world-readable). */
  masterKeyFile: string | null;
  /** The 0600 file holding the control API's bearer token (null without a control port). */
  controlTokenFile: string | null;
  /** The meters that speak DLMS (the last ones of the fleet), each on its own port. */
  dlms?: MeterEndpoint[];
}

export interface SpawnedGateway extends SpawnedProcess {
  url: string;
  address: string;
  utility: string;
  meters: number;
}

interface SpawnCommon {
  stateFile: string;
  /** stdout/stderr go here (default: the state file's directory, <name>.log). */
  logFile?: string;
  /** Outlive this process (default true). */
  detached?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Asked while waiting for the process to come up: a reason to give up now. The process is then
   * killed and START_ABANDONED thrown (a supervisor restarts the Redis or chain that died first).
   */
  abortIf?: () => string | null;
}

export interface SpawnMeterSimulatorParameters extends SpawnCommon {
  count: number;
  seed?: string;
  host?: string;
  port?: number;
  basePort?: number;
  firstMeterId?: number;
  speed?: number;
  simStartMs?: number;
  manual?: boolean;
  /** The simulated clock never runs ahead of real time (see SimClockParameters.capAtReal). */
  capAtReal?: boolean;
  installedHoursAgo?: number;
  intervalSeconds?: number;
  prosumerShare?: number;
  capacity?: number;
  maxRecordsPerRead?: number;
  controlPort?: number;
  /** The OSGP master key file (0600), read or created with a random key (default: master.key beside the state file). */
  masterKeyFile?: string;
  /** Where the control API's bearer token is written (default: control.token beside the state file). */
  controlTokenFile?: string;
  /** {"<meter id>": "0x<device private key>"} (0600): the keys the meters sign bindings with. */
  deviceKeysFile?: string;
  /** Journal of accepted appliance commands, replayed by a restarted simulator (default: commands.jsonl beside the state file). */
  commandsFile?: string;
  /** The meters' acknowledged positions, kept across restarts (default: acks.json beside the state file). */
  acksFile?: string;
  /** The last `count` meters speak DLMS (transport default "mixed": wrapper and HDLC alternating). */
  dlms?: { count: number; transport?: "wrapper" | "hdlc" | "mixed" };
}

async function launch<T>(bin: string, args: string[], common: SpawnCommon, name: string): Promise<T & SpawnedProcess> {
  fs.mkdirSync(path.dirname(common.stateFile), { recursive: true });
  fs.rmSync(common.stateFile, { force: true });
  const logFile = common.logFile ?? path.join(path.dirname(common.stateFile), `${name}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, "a");
  const detached = common.detached ?? true;
  const child = spawn(process.execPath, [bin, ...args, "--state-file", common.stateFile], {
    detached,
    stdio: ["ignore", out, out],
    env: { ...process.env, ...common.env },
  });
  fs.closeSync(out);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    exitCode = code;
    resolve(code);
  }));
  if (detached) child.unref();
  const deadline = Date.now() + (common.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (fs.existsSync(common.stateFile)) {
      const info = JSON.parse(fs.readFileSync(common.stateFile, "utf8")) as T;
      return { ...info, pid: child.pid!, ...(detached ? {} : { exited }) };
    }
    if (exitCode !== undefined) break;
    const why = common.abortIf?.();
    if (why) {
      child.kill("SIGKILL");
      throw new GatewayError("START_ABANDONED", `stopped waiting for the ${name} to start: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exitCode === undefined) child.kill("SIGKILL");
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
  throw new GatewayError("CLOSED", `${name} did not start${exitCode !== undefined ? ` (exit code ${exitCode})` : ""}; see ${logFile}`, { details: tail });
}

/**
 * Spawns a simulator process (`sidegrid-meters`) and waits until it listens.
 * @example
 * const sim = await spawnMeterSimulator({ count: 10, stateFile: ".sidegrid/meters.json" });
 * // { pid, host: "127.0.0.1", port: 40123, masterKeyFile, controlTokenFile, clock, ... }
 */
export function spawnMeterSimulator(p: SpawnMeterSimulatorParameters): Promise<SpawnedMeterSimulator> {
  const args = ["--count", String(p.count)];
  const opt = (flag: string, v: string | number | undefined) => v !== undefined && args.push(flag, String(v));
  opt("--seed", p.seed);
  opt("--host", p.host);
  opt("--port", p.port);
  opt("--base-port", p.basePort);
  opt("--first-meter-id", p.firstMeterId);
  opt("--speed", p.speed);
  opt("--sim-start", p.simStartMs);
  if (p.capAtReal) args.push("--cap-at-real");
  opt("--installed-hours-ago", p.installedHoursAgo);
  opt("--interval", p.intervalSeconds);
  opt("--prosumers", p.prosumerShare);
  opt("--capacity", p.capacity);
  opt("--max-records", p.maxRecordsPerRead);
  opt("--control-port", p.controlPort);
  opt("--master-key-file", p.masterKeyFile ?? path.join(path.dirname(p.stateFile), "master.key"));
  opt("--control-token-file", p.controlTokenFile);
  opt("--device-keys-file", p.deviceKeysFile);
  opt("--commands-file", p.commandsFile ?? path.join(path.dirname(p.stateFile), "commands.jsonl"));
  opt("--acks-file", p.acksFile ?? path.join(path.dirname(p.stateFile), "acks.json"));
  if (p.manual) args.push("--manual");
  if (p.dlms && p.dlms.count > 0) {
    opt("--dlms", p.dlms.count);
    opt("--dlms-transport", p.dlms.transport);
  }
  return launch<Omit<SpawnedMeterSimulator, "pid">>(METERS_BIN, args, p, "meters");
}

export interface SpawnGatewayParameters extends SpawnCommon {
  /** A config object (written next to the state file) or the path of a config file. */
  config: GatewayConfig | string;
  progress?: boolean;
}

/**
 * Spawns a gateway process (`sidegrid-gateway`) and waits until its API listens.
 * @example
 * const gw = await spawnGateway({ config, stateFile: ".sidegrid/gateway/state.json" });
 * // { pid, url: "http://127.0.0.1:43111", address, utility, meters }
 */
export function spawnGateway(p: SpawnGatewayParameters): Promise<SpawnedGateway> {
  let file: string;
  if (typeof p.config === "string") file = p.config;
  else {
    file = path.join(path.dirname(p.stateFile), "gateway.config.json");
    writeGatewayConfig(file, p.config);
  }
  const args = ["--config", file];
  if (p.progress) args.push("--progress");
  return launch<Omit<SpawnedGateway, "pid">>(GATEWAY_BIN, args, p, "gateway");
}

/** Writes a gateway config file (0600: it may hold the gateway key). */
export function writeGatewayConfig(file: string, config: GatewayConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
}

export interface GatewayConfigForSimulatorParameters {
  dataDir: string;
  redisUrl: string;
  /** Seed nodes of a Redis Cluster (then used instead of `redisUrl`). */
  redisCluster?: string[];
  blocksec: GatewayConfig["blocksec"];
  blockpri?: GatewayConfig["blockpri"];
  simulator: Pick<SpawnedMeterSimulator, "host" | "port" | "count" | "firstMeterId" | "clock" | "masterKeyFile" | "dlms">;
  operators?: string[];
  /** Dev keys the portal offers in a list (local chains only). */
  devAccounts?: DevAccount[];
  /** Poll interval in real ms (default: one simulated 15-minute interval, at least 1 s). */
  pollIntervalMs?: number;
  httpPort?: number;
}

/**
 * A gateway configuration for the meters of a (spawned) simulator: same clock, the master key read
 * from the simulator's key file (the config is written 0600), one addressed port. What `sidegrid up` needs besides the BlockSEC deployment.
 * @example
 * const sim = await spawnMeterSimulator({ count: 10, stateFile });
 * const config = gatewayConfigForSimulator({ dataDir, redisUrl, blocksec, simulator: sim });
 * const gw = await spawnGateway({ config, stateFile: gwStateFile });
 */
export function gatewayConfigForSimulator(p: GatewayConfigForSimulatorParameters): GatewayConfig {
  const simIntervalReal = Math.max(1000, Math.round(900_000 / p.simulator.clock.speed));
  const dlms = p.simulator.dlms ?? [];
  return {
    dataDir: p.dataDir,
    redisUrl: p.redisUrl,
    ...(p.redisCluster ? { redisCluster: p.redisCluster } : {}),
    blocksec: p.blocksec,
    ...(p.blockpri ? { blockpri: p.blockpri } : {}),
    ...(p.simulator.masterKeyFile ? { masterKeyHex: readSecretFile(p.simulator.masterKeyFile) } : {}),
    // The OSGP meters behind the addressed port; the DLMS ones (the last of the fleet) by their own ports.
    ...(p.simulator.count > dlms.length ? { simulator: { host: p.simulator.host, port: p.simulator.port, count: p.simulator.count - dlms.length, firstMeterId: p.simulator.firstMeterId } } : {}),
    ...(dlms.length ? { meters: dlms.map((e) => ({ meterId: e.meterId, protocol: e.protocol, host: e.host, port: e.port })) } : {}),
    clock: p.simulator.clock,
    poll: { intervalMs: p.pollIntervalMs ?? simIntervalReal },
    // Accelerated clocks make network latency look like drift: scale the threshold with the speed.
    ingest: { driftThresholdMs: Math.max(300_000, 60_000 * p.simulator.clock.speed) },
    ...(p.operators ? { operators: p.operators } : {}),
    ...(p.httpPort !== undefined || p.devAccounts ? { http: { ...(p.httpPort !== undefined ? { port: p.httpPort } : {}), ...(p.devAccounts ? { devAccounts: p.devAccounts } : {}) } } : {}),
  };
}

/**
 * The trimmed content of a secret file (key, token); refuses a file others can read.
 * @example
 * const token = readSecretFile(sim.controlTokenFile!);
 */
export function readSecretFile(file: string): string {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) throw new GatewayError("INVALID_CONFIG", `${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
  return fs.readFileSync(file, "utf8").trim();
}

export interface MeterSimulatorControl {
  /** GET/POST a control path (e.g. "/meters/3") with the bearer token; the parsed JSON body. */
  request<T>(method: "GET" | "POST", pathname: string, body?: unknown): Promise<T>;
  /** Asks meter `meterId` to sign a binding for `consumer` (the button on a real meter). */
  requestBinding(meterId: number, r: { consumer: string; nonce: bigint; expiry: number; chainId: bigint; ppc: string }): Promise<{ meterId: string; deviceKey: string; signature: string }>;
}

/**
 * A client of a spawned simulator's control API, authenticated with the token from its 0600 file.
 * @example
 * const control = meterSimulatorControl(JSON.parse(fs.readFileSync(stateFile, "utf8")));
 * const { signature } = await control.requestBinding(3, { consumer, nonce, expiry, chainId, ppc });
 */
export function meterSimulatorControl(sim: Pick<SpawnedMeterSimulator, "controlUrl" | "controlTokenFile">): MeterSimulatorControl {
  if (!sim.controlUrl || !sim.controlTokenFile) throw new GatewayError("INVALID_CONFIG", "the simulator runs without a control API");
  const base = sim.controlUrl;
  const token = readSecretFile(sim.controlTokenFile);
  const request = async <T>(method: "GET" | "POST", pathname: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${pathname}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new GatewayError(res.status === 401 ? "AUTH_FAILED" : "METER_REJECTED", `simulator control ${method} ${pathname}: ${res.status} ${json.error ?? ""}`);
    return json;
  };
  return {
    request,
    requestBinding: (meterId, r) =>
      request("POST", `/meters/${meterId}/binding`, { consumer: r.consumer, nonce: r.nonce.toString(), expiry: r.expiry, chainId: r.chainId.toString(), ppc: r.ppc }),
  };
}
