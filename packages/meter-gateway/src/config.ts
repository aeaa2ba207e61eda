// Gateway configuration: a JSON document, validated with ajv; `sidegrid up` writes one.
import fs from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import type { MeterConfig } from "./adapter";
import type { DevAccount } from "./api/types";
import type { SimClockState } from "@sidegrid/pi-meter";
import { InvalidConfigError } from "./errors";

export interface GatewayConfig {
  /** LevelDB and state files live here. */
  dataDir: string;
  /** One Redis server. Or `redisCluster`. */
  redisUrl?: string;
  /** Seed nodes of a Redis Cluster (redis://host:port each); the prefix then carries a hash tag. */
  redisCluster?: string[];
  /** BullMQ/Redis key prefix of this gateway (default "sidegrid:gw:<gateway address>", in {} on a cluster). */
  queuePrefix?: string;
  /**
   * Several gateways share the fleet: each polls the meters the rendezvous hash gives it among the
   * live gateways of `group` (leases in Redis, `leaseMs`, default 6 s), and acknowledges to a
   * meter only what is anchored, so a gateway that dies leaves nothing behind (shards.ts).
   */
  shard?: { group?: string; id?: string; leaseMs?: number };
  blocksec: {
    rpcUrl: string;
    /** Several endpoints of BlockSEC (`rpcUrl` first): failover, and with `quorum` > 1 agreeing reads. */
    rpcUrls?: string[];
    quorum?: number;
    /**
     * WebSocket endpoint of the same node: consent changes and relayed trades are read at each new
     * head (newHeads), with slow polls (`policy.pollMs`, default then 10 s) only as a fallback.
     */
    wsUrl?: string;
    chainId: number;
    /** `keyCustody`: BlockSEC's KeyCustody; with it records are sealed under epoch keys in federation custody (payload v2). */
    addresses: { policyMirror: string; meterDataLedger: string; accessLedger: string; tradeLog: string; keyCustody?: string };
    /** The gateway account (holds GATEWAY_ROLE on the MeterDataLedger). Or `privateKeyEnv`. */
    privateKey?: string;
    privateKeyEnv?: string;
    /** Block to start event scans at (deployment block). */
    startBlock?: number;
  };
  /** BlockPRI, for the consumer preference endpoints. */
  blockpri?: { rpcUrl: string; rpcUrls?: string[]; quorum?: number; chainId: number; ppc: string };
  /** The utility this gateway stores for (default: what the ledger says for the gateway account). */
  utility?: string;
  /** aes-gcm master key of the meters (hex, 16 or 32 bytes). */
  masterKeyHex?: string;
  meters?: MeterConfig[];
  /** Shorthand for a simulator's meters behind one addressed port. */
  simulator?: { host: string; port: number; count: number; firstMeterId?: number };
  /** Simulated clock shared with the meters (accelerated time). */
  clock?: SimClockState;
  poll?: {
    intervalMs?: number;
    /**
     * Scheduled polls before a meter's next record is due are skipped, but a meter is looked at
     * at least this often (real ms, default 60 s) so a dead one is noticed.
     */
    quietMs?: number;
    /** How often (ms, default 5,000) the gateway checks that Redis still holds every meter's poll schedule, and updates the queue gauges. */
    resyncMs?: number;
    concurrency?: number;
    limiter?: { max: number; durationMs: number };
    attempts?: number;
    backoffMs?: number;
    maxRecords?: number;
    maxPages?: number;
    timeoutMs?: number;
    instantaneous?: boolean;
    /** What a poll acknowledges to the meter: all it ingested (default) or only what is anchored (default with `shard`). */
    ack?: "ingested" | "anchored";
    stalledIntervalMs?: number;
    spread?: boolean;
    /** Meter connections kept open between polls (default 1,000); the least recently polled close past it. */
    maxConnections?: number;
  };
  /** `watch`: re-send records whose anchor's block left the chain (anchorWatch.ts); `false` turns it off. */
  /** `gasLimits`: "bound" (default) computes each anchor transaction's gas limit, "estimate" asks the node (blocksec.ts). */
  anchor?: { maxBatch?: number; flushIntervalMs?: number; maxInFlight?: number; maxRecordsPerTx?: number; gasLimits?: "bound" | "estimate"; watch?: { depth?: number; intervalMs?: number } | false };
  /**
   * When anchoring falls behind (this many records waiting, or the oldest read this long ago),
   * scheduled polls of meters that keep their log wait (backpressure.ts). `enabled: false` turns it off.
   */
  backpressure?: { enabled?: boolean; maxPending?: number; maxAgeMs?: number; holdRecords?: number };
  policy?: { pollMs?: number; ttlMs?: number };
  ingest?: { driftThresholdMs?: number; silentAfter?: number; dataKeyMaxUses?: number; holdUndecidedMs?: number };
  /**
   * Epoch keys (with `blocksec.addresses.keyCustody`): epoch length in ms of the readings' time
   * (default one UTC day); real ms an old epoch's key stays once a newer one is in use (default
   * 60 s) and real ms after which an unused key goes (default 3 h).
   */
  custody?: { epochMs?: number; graceMs?: number; idleMs?: number };
  /**
   * `devAccounts`: well-known keys of local dev chains that the portal offers in a list (loopback
   * listeners only; `sidegrid up` sets them when every chain is local).
   */
  http?: { host?: string; port?: number; portal?: boolean; devAccounts?: DevAccount[] };
  /** Addresses allowed on /v1/operator/*. */
  operators?: string[];
  /**
   * The federation's AccessCheckpoints on BlockPRI (with `blockpri`), its members and m: court
   * audits are then also checked against the latest checkpoint the members signed.
   */
  checkpoints?: { accessCheckpoints: string; members: string[]; threshold: number };
  /**
   * Demand response: households' rules on BlockTST's DemandResponse contract, run at each report of
   * their meters and sent to their appliances through a control API (the meter simulator's, or a
   * home energy manager speaking the same two routes). The bearer token comes from `tokenFile`.
   */
  demandResponse?: { blocktst: { rpcUrl: string; chainId: number; demandResponse: string }; control: { url: string; tokenFile: string }; rulesTtlMs?: number };
  auth?: { maxSkewMs?: number };
}

const ADDR = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const INT = { type: "integer", minimum: 0 };
const POS = { type: "integer", minimum: 1 };
const URLS = { type: "array", minItems: 1, items: { type: "string", pattern: "^(https?|wss?)://" } };

export const GATEWAY_CONFIG_SCHEMA = {
  type: "object",
  required: ["dataDir", "blocksec"],
  anyOf: [{ required: ["redisUrl"] }, { required: ["redisCluster"] }],
  properties: {
    dataDir: { type: "string", minLength: 1 },
    redisUrl: { type: "string", pattern: "^rediss?://" },
    redisCluster: { type: "array", minItems: 1, items: { type: "string", pattern: "^rediss?://" } },
    shard: { type: "object", additionalProperties: false, properties: { group: { type: "string", minLength: 1, maxLength: 64 }, id: { type: "string", minLength: 1, maxLength: 128 }, leaseMs: { type: "integer", minimum: 500 } } },
    queuePrefix: { type: "string", minLength: 1 },
    blocksec: {
      type: "object",
      required: ["rpcUrl", "chainId", "addresses"],
      properties: {
        rpcUrl: { type: "string", pattern: "^(https?|wss?)://" },
        rpcUrls: URLS,
        quorum: POS,
        wsUrl: { type: "string", pattern: "^wss?://" },
        chainId: POS,
        addresses: {
          type: "object",
          required: ["policyMirror", "meterDataLedger", "accessLedger", "tradeLog"],
          properties: { policyMirror: ADDR, meterDataLedger: ADDR, accessLedger: ADDR, tradeLog: ADDR, keyCustody: ADDR },
        },
        privateKey: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" },
        privateKeyEnv: { type: "string" },
        startBlock: INT,
      },
    },
    blockpri: { type: "object", required: ["rpcUrl", "chainId", "ppc"], properties: { rpcUrl: { type: "string" }, rpcUrls: URLS, quorum: POS, chainId: POS, ppc: ADDR } },
    utility: ADDR,
    masterKeyHex: { type: "string", pattern: "^(0x)?([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$" },
    meters: {
      type: "array",
      items: {
        type: "object",
        required: ["meterId", "protocol", "host", "port"],
        properties: { meterId: { type: "integer", minimum: 0, maximum: 4294967295 }, protocol: { type: "string" }, host: { type: "string" }, port: { type: "integer", minimum: 1, maximum: 65535 }, addressed: { type: "boolean" }, pollIntervalMs: POS, legacy: { type: "boolean" }, options: { type: "object" } },
      },
    },
    simulator: { type: "object", required: ["host", "port", "count"], properties: { host: { type: "string" }, port: POS, count: POS, firstMeterId: INT } },
    clock: { type: "object", required: ["simStartMs", "realStartMs", "speed", "manual"], properties: { simStartMs: { type: "number" }, realStartMs: { type: "number" }, speed: { type: "number", exclusiveMinimum: 0 }, manual: { type: "boolean" } } },
    poll: { type: "object", properties: { ack: { enum: ["ingested", "anchored"] } } },
    anchor: { type: "object", properties: { gasLimits: { enum: ["bound", "estimate"] } } },
    backpressure: { type: "object", additionalProperties: false, properties: { enabled: { type: "boolean" }, maxPending: POS, maxAgeMs: POS, holdRecords: POS } },
    policy: { type: "object" },
    ingest: { type: "object", additionalProperties: false, properties: { driftThresholdMs: { type: "number", minimum: 0 }, silentAfter: POS, dataKeyMaxUses: POS, holdUndecidedMs: { type: "number", minimum: 0 } } },
    custody: { type: "object", additionalProperties: false, properties: { epochMs: { type: "integer", minimum: 1000, multipleOf: 1000 }, graceMs: INT, idleMs: POS } },
    http: {
      type: "object",
      properties: {
        host: { type: "string" },
        port: { type: "integer", minimum: 0, maximum: 65535 },
        portal: { type: "boolean" },
        devAccounts: {
          type: "array",
          maxItems: 64,
          items: {
            type: "object",
            required: ["label", "role", "privateKey"],
            additionalProperties: false,
            properties: { label: { type: "string", minLength: 1, maxLength: 60 }, role: { enum: ["household", "utility", "company", "court", "operator"] }, privateKey: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } },
          },
        },
      },
    },
    operators: { type: "array", items: ADDR },
    demandResponse: {
      type: "object",
      required: ["blocktst", "control"],
      additionalProperties: false,
      properties: {
        blocktst: { type: "object", required: ["rpcUrl", "chainId", "demandResponse"], additionalProperties: false, properties: { rpcUrl: { type: "string", pattern: "^(https?|wss?)://" }, chainId: POS, demandResponse: ADDR } },
        control: { type: "object", required: ["url", "tokenFile"], additionalProperties: false, properties: { url: { type: "string", pattern: "^https?://" }, tokenFile: { type: "string", minLength: 1 } } },
        rulesTtlMs: POS,
      },
    },
    checkpoints: { type: "object", required: ["accessCheckpoints", "members", "threshold"], additionalProperties: false, properties: { accessCheckpoints: ADDR, members: { type: "array", minItems: 1, items: ADDR }, threshold: POS } },
    auth: { type: "object", properties: { maxSkewMs: POS } },
  },
} as const;

let validator: ReturnType<Ajv2020["compile"]> | undefined;

/**
 * Checks a gateway configuration object; throws InvalidConfigError with the first schema error.
 * @example
 * const cfg = validateGatewayConfig(JSON.parse(text));
 */
export function validateGatewayConfig(value: unknown): GatewayConfig {
  validator ??= new Ajv2020({ allErrors: true, strict: false }).compile(GATEWAY_CONFIG_SCHEMA);
  if (!validator(value)) {
    const e = validator.errors?.[0];
    throw new InvalidConfigError(e?.instancePath || "/", undefined, e?.message ?? "a valid gateway configuration", { details: JSON.stringify(validator.errors) });
  }
  const cfg = value as GatewayConfig;
  for (const [name, n] of [["blocksec", cfg.blocksec], ["blockpri", cfg.blockpri]] as const) {
    if (!n) continue;
    if (n.rpcUrls && n.rpcUrls[0] !== n.rpcUrl) throw new InvalidConfigError(`/${name}/rpcUrls`, n.rpcUrls[0], `a list starting with rpcUrl (${n.rpcUrl})`);
    if (n.quorum && n.quorum > (n.rpcUrls?.length ?? 1)) throw new InvalidConfigError(`/${name}/quorum`, n.quorum, "at most the number of rpcUrls");
  }
  // Dev keys offered over HTTP are harmless on loopback with local chains and a leak anywhere else.
  const host = cfg.http?.host ?? "127.0.0.1";
  if ((cfg.http?.devAccounts?.length ?? 0) > 0 && !["127.0.0.1", "::1", "localhost"].includes(host)) {
    throw new InvalidConfigError("/http/devAccounts", host, "only on a loopback listener (http.host 127.0.0.1, ::1 or localhost)");
  }
  return cfg;
}

/**
 * Reads and validates a gateway configuration file (relative dataDir resolved against the file).
 * @example
 * const cfg = loadGatewayConfig(".sidegrid/gateway.json");
 */
export function loadGatewayConfig(file: string): GatewayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new InvalidConfigError("file", file, "a readable JSON file", { cause });
  }
  const cfg = validateGatewayConfig(raw);
  return { ...cfg, dataDir: path.resolve(path.dirname(file), cfg.dataDir) };
}

/** The meters a config describes (explicit list plus the simulator shorthand). */
export function configuredMeters(cfg: GatewayConfig): MeterConfig[] {
  const out: MeterConfig[] = [...(cfg.meters ?? [])];
  if (cfg.simulator) {
    const first = cfg.simulator.firstMeterId ?? 1;
    for (let i = 0; i < cfg.simulator.count; i++) {
      out.push({ meterId: first + i, protocol: "osgp-tcp", host: cfg.simulator.host, port: cfg.simulator.port, addressed: true });
    }
  }
  const seen = new Set<number>();
  for (const m of out) {
    if (seen.has(m.meterId)) throw new InvalidConfigError("meters", m.meterId, "unique meter ids");
    seen.add(m.meterId);
  }
  return out;
}
