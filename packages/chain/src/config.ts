import fs from "node:fs";
import path from "node:path";
import { HDNodeWallet, Mnemonic } from "ethers";
import { ANVIL_MNEMONIC } from "./anvil";
import { ConfigError } from "./errors";

/** The three Sidegrid chains. */
export const NETWORK_NAMES = ["blockpri", "blocksec", "blocktst"] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export interface NetworkConfig {
  /** The primary JSON-RPC endpoint: `rpcUrls[0]`. */
  rpcUrl: string;
  /**
   * Every endpoint of the network, the primary first: requests fail over down the list, and
   * transactions go to all of them (multiRpc.ts). Read it through `networkRpcUrls`.
   */
  rpcUrls: string[];
  /** Endpoints that must give the same answer to a read (1 = failover only; at most rpcUrls.length). */
  quorum: number;
  chainId: number;
  /** True: `sidegrid up` runs an anvil for it on `port`; false: an existing network (Besu, Geth, ...). */
  local: boolean;
  port?: number;
  /** Blocks to wait before a federation member trusts an event (0 for local anvil). */
  confirmations: number;
  /**
   * How old a block must also be (ms) before members relay its events or release keys on its grants
   * (default 0: depth only). For chains whose newest blocks can vanish without a deep reorg: a local
   * anvil killed and restarted from its state dump (written every 2 s) loses up to ~2 s of blocks,
   * an `evm_revert` a few seconds of them; 4000 covers both.
   */
  minBlockAgeMs: number;
  /** Env var holding the operator's private key; local networks fall back to anvil's dev key 0. */
  privateKeyEnv: string;
}

export interface SidegridConfig {
  /** Where local state lives: chain state, deployments, logs, LevelDB stores. */
  dataDir: string;
  networks: Record<NetworkName, NetworkConfig>;
  /**
   * `cluster`: a Redis Cluster instead of one server. Local: `up` starts `masters` masters (default
   * 3) with `replicas` replicas each (default 0) on consecutive ports from `port`. Remote: `nodes`
   * lists seed nodes (redis:// URLs). `url` stays the first node.
   */
  redis: { url: string; local: boolean; port?: number; cluster?: boolean; masters?: number; replicas?: number; nodes?: string[] };
  /** The processes `sidegrid up` runs besides chains and Redis. */
  services: ServicesConfig;
  /** File this config came from, or "embedded defaults". */
  source: string;
}

export interface ServicesConfig {
  /** Federation members (n) and signatures per message (m). */
  members: number;
  threshold: number;
  /** Member k listens on memberBasePort + k. */
  memberBasePort: number;
  /** The gateway's HTTP API and portal. */
  gatewayPort: number;
  /** Simulated Pi meters (0 = none) and their clock speed (simulated seconds per real second). */
  meters: number;
  meterSpeed: number;
  /** How many of those meters (the last ones) speak DLMS/COSEM instead of OSGP (0 = none). */
  dlmsMeters: number;
}

const DEFAULT_SERVICES: ServicesConfig = { members: 3, threshold: 2, memberBasePort: 31011, gatewayPort: 31080, meters: 10, meterSpeed: 120, dlmsMeters: 2 };

const DEFAULT_CHAIN_IDS: Record<NetworkName, number> = { blockpri: 31001, blocksec: 31002, blocktst: 31003 };

/** The embedded defaults: three local anvil chains whose ports equal their chain ids, and a local Redis. */
export function defaultConfig(dataDir = ".sidegrid"): SidegridConfig {
  const networks = {} as Record<NetworkName, NetworkConfig>;
  for (const n of NETWORK_NAMES) {
    const id = DEFAULT_CHAIN_IDS[n];
    networks[n] = {
      rpcUrl: `http://127.0.0.1:${id}`,
      rpcUrls: [`http://127.0.0.1:${id}`],
      quorum: 1,
      chainId: id,
      local: true,
      port: id,
      confirmations: 0,
      minBlockAgeMs: 0,
      privateKeyEnv: `SIDEGRID_${n.toUpperCase()}_PRIVATE_KEY`,
    };
  }
  return { dataDir, networks, redis: { url: "redis://127.0.0.1:6390", local: true, port: 6390 }, services: { ...DEFAULT_SERVICES }, source: "embedded defaults" };
}

export interface LoadConfigParameters {
  /** Explicit file; otherwise `$SIDEGRID_CONFIG`, then `./sidegrid.config.json`, then embedded defaults. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads and validates the configuration; a file only needs the fields it changes.
 *
 * @example
 * const cfg = loadConfig(); // SIDEGRID_CONFIG=prod.json or ./sidegrid.config.json or defaults
 */
export function loadConfig(params: LoadConfigParameters = {}): SidegridConfig {
  const env = params.env ?? process.env;
  const cwd = params.cwd ?? process.cwd();
  const explicit = params.file ?? env.SIDEGRID_CONFIG;
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, "sidegrid.config.json");
  const base = defaultConfig(path.resolve(cwd, ".sidegrid"));
  if (!fs.existsSync(file)) {
    if (explicit) throw new ConfigError(`config file ${file} does not exist`);
    return base;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return mergeConfig(base, raw, file, path.dirname(file));
}

function mergeConfig(base: SidegridConfig, raw: unknown, source: string, dir: string): SidegridConfig {
  if (!isObject(raw)) throw new ConfigError(`${source}: top level must be an object`);
  const out: SidegridConfig = { ...base, networks: { ...base.networks }, redis: { ...base.redis }, services: { ...base.services }, source };
  if (raw.dataDir !== undefined) out.dataDir = path.resolve(dir, str(raw.dataDir, `${source}: dataDir`));
  if (raw.networks !== undefined) {
    if (!isObject(raw.networks)) throw new ConfigError(`${source}: networks must be an object`);
    for (const [name, value] of Object.entries(raw.networks)) {
      if (!(NETWORK_NAMES as readonly string[]).includes(name)) {
        throw new ConfigError(`${source}: unknown network "${name}" (expected one of ${NETWORK_NAMES.join(", ")})`);
      }
      if (!isObject(value)) throw new ConfigError(`${source}: networks.${name} must be an object`);
      const n = { ...out.networks[name as NetworkName] };
      const where = `${source}: networks.${name}`;
      if (value.rpcUrl !== undefined || value.rpcUrls !== undefined) {
        setUrls(n, value, where);
        // A URL pointing elsewhere means an existing network unless said otherwise.
        if (value.local === undefined) n.local = false;
      }
      if (value.chainId !== undefined) n.chainId = posInt(value.chainId, `${where}.chainId`);
      if (value.local !== undefined) n.local = bool(value.local, `${where}.local`);
      if (n.local && n.rpcUrls.length > 1) {
        throw new ConfigError(`${where}: a local network is one anvil node, so rpcUrls may hold one URL (set "local": false for a network with several endpoints)`);
      }
      if (value.quorum !== undefined) n.quorum = posInt(value.quorum, `${where}.quorum`);
      if (n.quorum > n.rpcUrls.length) throw new ConfigError(`${where}.quorum (${n.quorum}) cannot exceed the number of rpcUrls (${n.rpcUrls.length})`);
      if (value.port !== undefined) n.port = posInt(value.port, `${where}.port`);
      if (value.confirmations !== undefined) n.confirmations = nonNegInt(value.confirmations, `${where}.confirmations`);
      if (value.minBlockAgeMs !== undefined) n.minBlockAgeMs = nonNegInt(value.minBlockAgeMs, `${where}.minBlockAgeMs`);
      if (value.privateKeyEnv !== undefined) n.privateKeyEnv = str(value.privateKeyEnv, `${where}.privateKeyEnv`);
      out.networks[name as NetworkName] = n;
    }
  }
  if (raw.redis !== undefined) {
    if (!isObject(raw.redis)) throw new ConfigError(`${source}: redis must be an object`);
    if (raw.redis.url !== undefined) out.redis.url = str(raw.redis.url, `${source}: redis.url`);
    if (raw.redis.local !== undefined) out.redis.local = bool(raw.redis.local, `${source}: redis.local`);
    if (raw.redis.port !== undefined) out.redis.port = posInt(raw.redis.port, `${source}: redis.port`);
    if (raw.redis.cluster !== undefined) out.redis.cluster = bool(raw.redis.cluster, `${source}: redis.cluster`);
    if (raw.redis.masters !== undefined) out.redis.masters = posInt(raw.redis.masters, `${source}: redis.masters`);
    if (raw.redis.replicas !== undefined) out.redis.replicas = nonNegInt(raw.redis.replicas, `${source}: redis.replicas`);
    if (raw.redis.nodes !== undefined) {
      if (!Array.isArray(raw.redis.nodes) || raw.redis.nodes.length === 0) throw new ConfigError(`${source}: redis.nodes must be a non-empty list of redis:// URLs`);
      out.redis.nodes = raw.redis.nodes.map((u, i) => {
        const v = str(u, `${source}: redis.nodes[${i}]`);
        if (!/^rediss?:\/\//.test(v)) throw new ConfigError(`${source}: redis.nodes[${i}] must be a redis:// URL, got "${v}"`);
        return v;
      });
    }
    if (out.redis.cluster && (out.redis.masters ?? 3) < 3) throw new ConfigError(`${source}: redis.masters must be at least 3 (a Redis Cluster needs three masters)`);
    if (out.redis.cluster && !out.redis.local && !out.redis.nodes) throw new ConfigError(`${source}: redis.nodes must list the cluster's seed nodes when redis.cluster is true and redis.local is false`);
  }
  if (raw.services !== undefined) {
    if (!isObject(raw.services)) throw new ConfigError(`${source}: services must be an object`);
    for (const [key, value] of Object.entries(raw.services)) {
      if (!(key in DEFAULT_SERVICES)) throw new ConfigError(`${source}: unknown services.${key} (expected one of ${Object.keys(DEFAULT_SERVICES).join(", ")})`);
      const k = key as keyof ServicesConfig;
      out.services[k] = k === "meters" || k === "dlmsMeters" ? nonNegInt(value, `${source}: services.${key}`) : posInt(value, `${source}: services.${key}`);
    }
    if (out.services.dlmsMeters > out.services.meters) {
      // The default (2) shrinks with a smaller fleet; an explicit number may not exceed it.
      if ((raw.services as Record<string, unknown>).dlmsMeters === undefined) out.services.dlmsMeters = out.services.meters;
      else throw new ConfigError(`${source}: services.dlmsMeters (${out.services.dlmsMeters}) cannot exceed services.meters (${out.services.meters})`);
    }
    if (out.services.threshold > out.services.members) {
      throw new ConfigError(`${source}: services.threshold (${out.services.threshold}) cannot exceed services.members (${out.services.members})`);
    }
  }
  const ids = new Set(NETWORK_NAMES.map((n) => out.networks[n].chainId));
  if (ids.size !== NETWORK_NAMES.length) throw new ConfigError(`${source}: the three networks need three different chainIds`);
  return out;
}

/** rpcUrl and rpcUrls from a file: either may be given; rpcUrl is always rpcUrls[0]. */
function setUrls(n: NetworkConfig, value: Record<string, unknown>, where: string): void {
  const url = (v: unknown, at: string): string => {
    const u = str(v, at);
    if (!/^(https?|wss?):\/\//.test(u)) throw new ConfigError(`${at} must be an http(s) or ws(s) URL, got "${u}"`);
    return u;
  };
  const primary = value.rpcUrl === undefined ? undefined : url(value.rpcUrl, `${where}.rpcUrl`);
  if (value.rpcUrls === undefined) {
    n.rpcUrl = primary!;
    n.rpcUrls = [n.rpcUrl];
    return;
  }
  if (!Array.isArray(value.rpcUrls) || value.rpcUrls.length === 0) throw new ConfigError(`${where}.rpcUrls must be a non-empty array of URLs`);
  const urls = value.rpcUrls.map((u, i) => url(u, `${where}.rpcUrls[${i}]`));
  const twice = urls.find((u, i) => urls.indexOf(u) !== i);
  if (twice) throw new ConfigError(`${where}.rpcUrls lists "${twice}" twice`);
  if (primary !== undefined && primary !== urls[0]) {
    throw new ConfigError(`${where}.rpcUrl must be the first of rpcUrls (the primary): got "${primary}" and rpcUrls[0] "${urls[0]}"`);
  }
  n.rpcUrls = urls;
  n.rpcUrl = urls[0]!;
}

/**
 * Every RPC endpoint of a network, the primary first. A copy whose `rpcUrl` was changed alone
 * (`{ ...cfg.networks.blockpri, rpcUrl }`) has a stale `rpcUrls`: then `rpcUrl` is the only one.
 *
 * @example
 * const provider = makeProvider(networkRpcUrls(cfg.networks.blocksec), cfg.networks.blocksec.chainId, { quorum: cfg.networks.blocksec.quorum });
 */
export function networkRpcUrls(n: Pick<NetworkConfig, "rpcUrl"> & Partial<Pick<NetworkConfig, "rpcUrls">>): string[] {
  return n.rpcUrls && n.rpcUrls[0] === n.rpcUrl ? [...n.rpcUrls] : [n.rpcUrl];
}

/** Well-known anvil dev key `index` (local runs only: these keys are public). */
/**
 * The seed nodes of a Redis Cluster configuration (undefined for one server): a local cluster's
 * consecutive ports from `port`, or the configured `nodes`.
 * @example
 * redisClusterNodes({ url: "redis://127.0.0.1:6390", local: true, port: 6390, cluster: true }) // 3 URLs, ports 6390–6392
 */
export function redisClusterNodes(r: SidegridConfig["redis"]): string[] | undefined {
  if (!r.cluster) return undefined;
  if (r.nodes) return [...r.nodes];
  const base = r.port ?? Number(new URL(r.url).port || 6379);
  const count = (r.masters ?? 3) * (1 + (r.replicas ?? 0));
  return Array.from({ length: count }, (_, i) => `redis://127.0.0.1:${base + i}`);
}

export function devPrivateKey(index: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
}

/** The operator key for a network: from its env var, or anvil's dev key 0 on local networks. */
export function operatorKey(cfg: SidegridConfig, network: NetworkName, env: NodeJS.ProcessEnv = process.env): string {
  const n = cfg.networks[network];
  const fromEnv = env[n.privateKeyEnv] ?? env.SIDEGRID_PRIVATE_KEY;
  if (fromEnv) {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(fromEnv)) throw new ConfigError(`${n.privateKeyEnv} is not a 32-byte hex private key`);
    return fromEnv.startsWith("0x") ? fromEnv : `0x${fromEnv}`;
  }
  if (n.local) return devPrivateKey(0);
  throw new ConfigError(`network "${network}" is not local: set ${n.privateKeyEnv} (or SIDEGRID_PRIVATE_KEY) to the operator's private key`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v.length === 0) throw new ConfigError(`${where} must be a non-empty string`);
  return v;
}
function bool(v: unknown, where: string): boolean {
  if (typeof v !== "boolean") throw new ConfigError(`${where} must be true or false`);
  return v;
}
function posInt(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`${where} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
function nonNegInt(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new ConfigError(`${where} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}
