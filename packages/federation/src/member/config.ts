import fs from "node:fs";
import path from "node:path";
import { EventFragment, Wallet, getAddress } from "ethers";
import { devPrivateKey } from "@sidegrid/chain";
import type { DeployFederationReturnType } from "../deploy";
import { FederationConfigError, MemberNotFoundError } from "../errors";

/** One chain as a member watches it. */
export interface MemberChainConfig {
  name: string;
  chainId: number;
  rpcUrl: string;
  /**
   * Several endpoints of the chain (`rpcUrl` first): reads fail over between them, and with
   * `quorum` > 1 a read counts only when that many nodes agree (MultiRpcProvider, @sidegrid/chain).
   */
  rpcUrls?: string[];
  quorum?: number;
  /**
   * WebSocket endpoint of the same node: the member follows new blocks by subscription (newHeads)
   * and polls only as a fallback (`tuning.idlePollMs`). Absent: it polls every `pollIntervalMs`.
   */
  wsUrl?: string;
  /** Blocks to wait before trusting an event (0 for local anvil). */
  confirmations: number;
  /**
   * How old a block must also be before its events are relayed (ms, default 0): a chain whose newest
   * blocks can vanish without a reorg deeper than `confirmations` — a local anvil restarted from a
   * state dump written every 2 s — loses only blocks younger than this.
   */
  minBlockAgeMs?: number;
  outbox: string;
  inbox: string;
  /** First block to scan. */
  startBlock: number;
}

/**
 * An app that emits its cross-chain payloads as events instead of calling the outbox (the
 * "RelayPayload adapter"). Members relay each such event as a message from the emitting contract,
 * with a nonce derived from the event's position: EVENT_NONCE_FLAG | block << 24 | logIndex << 8 | route.
 */
export interface EventSourceConfig {
  /** Name of the chain the app lives on (one of `chains[].name`). */
  chain: string;
  /** The emitting contract; it is the message's `srcSender`. */
  contract: string;
  /** Human-readable event, e.g. "RelayPayload(uint256 indexed dstChainId, address indexed dstContract, bytes payload)". */
  event: string;
  /** Name of the `bytes` argument carrying the payload. */
  payloadArg: string;
  /** Names of the arguments naming the destination, when the event carries it... */
  dstChainIdArg?: string;
  dstContractArg?: string;
  /** ...or fixed destinations for every event. */
  routes?: { dstChainId: number; dstContract: string }[];
}

/** Timing and batching knobs; every member of a federation should use the same values. */
export interface MemberTuning {
  /** How often each chain is polled for new logs. */
  pollIntervalMs: number;
  /** How long the member of rank k waits (k × this) after a message is ready before relaying it itself. */
  takeoverMs: number;
  /** Consecutive lane nonces relayed by the same member before the role rotates. */
  roundSize: number;
  /** Most messages in one `deliver` transaction. */
  maxBatch: number;
  /** Collect ready messages this long before submitting a batch. */
  batchDelayMs: number;
  /** Re-send own signatures of messages still pending after this long (peers that were down). */
  resendMs: number;
  /** Unconfirmed deliver transactions per destination chain. */
  maxInFlight: number;
  /** Most blocks per eth_getLogs query. */
  logRangeBlocks: number;
  /** With a newHeads subscription (chains[].wsUrl): poll this often anyway, in case a head is missed. */
  idlePollMs: number;
  /**
   * How long a member keeps (and re-checks) a message it saw executed before forgetting it, beside
   * the chain's `confirmations` depth: a rollback that undoes the execution within this window
   * puts it back to pending (README "Destination rollbacks").
   */
  finalityMs: number;
}

export const DEFAULT_TUNING: MemberTuning = {
  pollIntervalMs: 100,
  takeoverMs: 1500,
  roundSize: 16,
  maxBatch: 200,
  batchDelayMs: 15,
  resendMs: 2000,
  maxInFlight: 4,
  logRangeBlocks: 2000,
  // Heads arrive by subscription; this poll only covers a missed head or a pause that ends by time.
  idlePollMs: 5000,
  // With confirmations 0 a block is never deep; this is the window a rollback has to be noticed in.
  finalityMs: 30_000,
};

/** A member entry of the shared federation file. */
export interface FederationMemberEntry {
  address: string;
  /** Where the other members reach this member's peer API, /health and /metrics. */
  url: string;
  /**
   * The address to bind, `host` or `host:port`, when it is not the URL's (a member behind NAT or a
   * load balancer binds `0.0.0.0` and is reached at its public URL). Default: the URL's host and port.
   */
  listen?: string;
  /** Local development only: the key in the file. */
  privateKey?: string;
  /** Name of the environment variable holding the member's key (production). */
  privateKeyEnv?: string;
  /** A file holding the member's key as hex (its own host's file, mode 0600); relative to the federation file. */
  privateKeyFile?: string;
  /**
   * This member's LevelDB directory, relative to the file (its own host's file). Default
   * `<dataDir>/member-<k>`, which moves when the member's position in the list changes.
   */
  dataDir?: string;
}

/** The file `sidegrid-federation-member --config` reads: the whole federation, every member. */
export interface FederationConfigFile {
  version: 1;
  threshold: number;
  /** Member k keeps its LevelDB in `<dataDir>/member-<k>`; relative paths are from the file. */
  dataDir: string;
  chains: MemberChainConfig[];
  members: FederationMemberEntry[];
  /** Apps relayed through the RelayPayload adapter. */
  eventSources?: EventSourceConfig[];
  tuning?: Partial<MemberTuning>;
  /** Key custody on BlockSEC: with it every member releases its key shares on logged grants. */
  custody?: FederationCustodyConfig;
  /** Checkpoints of BlockSEC's AccessLedger on BlockPRI: with it every member votes the heads' root. */
  checkpointer?: FederationCheckpointerConfig;
}

/**
 * The federation file's `checkpointer` section: every member follows BlockSEC's AccessLedger events
 * and, every `intervalBlocks` BlockSEC blocks, votes the root of all consumers' heads on BlockPRI's
 * AccessCheckpoints. Every member must use the same interval and confirmations.
 */
export interface FederationCheckpointerConfig {
  /** AccessCheckpoints on BlockPRI. */
  accessCheckpoints: string;
  /** BlockSEC's AccessLedger (checked against what AccessCheckpoints attests). */
  accessLedger: string;
  /** The AccessLedger's deployment block on BlockSEC. */
  startBlock: number;
  /** Checkpoint the latest multiple of this at or below BlockSEC's head minus confirmations. */
  intervalBlocks: number;
  /** Blocks to wait on BlockSEC (default: that chain's `confirmations`). */
  confirmations?: number;
  /** How often to poll, in ms (default 1000). */
  pollMs?: number;
  /** The name in `chains[]` of BlockSEC (default "blocksec") and of the chain holding AccessCheckpoints (default "blockpri"). */
  secChain?: string;
  chain?: string;
}

/**
 * The federation file's `custody` section: with it every member runs a custodian that releases its
 * key shares on logged grants (KeyCustody on BlockSEC). Addresses are BlockSEC's.
 */
export interface FederationCustodyConfig {
  /** BlockSEC's KeyCustody. */
  keyCustody: string;
  /** BlockSEC's AccessLedger (the custodian checks that KeyCustody uses this one). */
  accessLedger: string;
  /** BlockSEC's PolicyMirror (the custodian checks that KeyCustody uses this one). */
  policyMirror: string;
  /** First BlockSEC block to scan for grants and published keys (the BlockSEC deployment's). */
  startBlock: number;
  /** Blocks to wait before acting on a grant (default: the chain's `confirmations`). */
  confirmations?: number;
  /** How often to look for new grants, in ms (default 500). */
  pollMs?: number;
  /** The name in `chains[]` of the chain holding KeyCustody (default "blocksec"). */
  chain?: string;
}

/** What one member process runs with. */
export interface MemberConfig {
  index: number;
  privateKey: string;
  address: string;
  /** This member's URL, as the other members reach it. */
  url: string;
  /** Where it binds (from the file's `listen`); absent: the URL's host and port. */
  listen?: { host: string; port: number };
  dataDir: string;
  threshold: number;
  chains: MemberChainConfig[];
  /** Every member, this one included, in member order. */
  peers: { address: string; url: string }[];
  eventSources: EventSourceConfig[];
  tuning: MemberTuning;
  custody?: FederationCustodyConfig;
  checkpointer?: FederationCheckpointerConfig;
}

/** The federation file, parsed and validated. */
function readFederationFile(file: string): ReturnType<typeof validateFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new FederationConfigError(file, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return validateFile(file, raw);
}

/**
 * Reads the federation file and returns member `index`'s configuration, its key taken from the file
 * or from the environment variable the file names.
 *
 * @example
 * const cfg = loadMemberConfig(".sidegrid/federation.json", 0);
 */
export function loadMemberConfig(file: string, index: number, env: NodeJS.ProcessEnv = process.env): MemberConfig {
  const cfg = readFederationFile(file);
  const entry = cfg.members[index];
  if (!Number.isInteger(index) || !entry) throw new MemberNotFoundError(index, cfg.members.length);
  const key = entry.privateKey ?? (entry.privateKeyEnv ? env[entry.privateKeyEnv] : undefined) ?? readKeyFile(file, entry.privateKeyFile);
  if (!key || !/^(0x)?[0-9a-fA-F]{64}$/.test(key)) {
    throw new FederationConfigError(file, `member ${index} has no usable key (set privateKey, privateKeyEnv and that variable, or privateKeyFile)`);
  }
  const privateKey = key.startsWith("0x") ? key : `0x${key}`;
  const address = new Wallet(privateKey).address;
  if (address !== getAddress(entry.address)) {
    throw new FederationConfigError(file, `member ${index}'s key belongs to ${address}, the file says ${entry.address}`);
  }
  return {
    index,
    privateKey,
    address,
    url: entry.url,
    listen: listenAddress(entry),
    dataDir: entry.dataDir !== undefined ? path.resolve(path.dirname(file), entry.dataDir) : path.resolve(path.dirname(file), cfg.dataDir, `member-${index}`),
    threshold: cfg.threshold,
    chains: cfg.chains,
    peers: cfg.members.map((m) => ({ address: getAddress(m.address), url: m.url })),
    eventSources: cfg.eventSources ?? [],
    tuning: { ...DEFAULT_TUNING, ...cfg.tuning },
    ...(cfg.custody ? { custody: cfg.custody } : {}),
    ...(cfg.checkpointer ? { checkpointer: cfg.checkpointer } : {}),
  };
}

function readKeyFile(file: string, keyFile: string | undefined): string | undefined {
  if (keyFile === undefined) return undefined;
  const p = path.resolve(path.dirname(file), keyFile);
  try {
    return fs.readFileSync(p, "utf8").trim();
  } catch (e) {
    throw new FederationConfigError(file, `cannot read privateKeyFile ${p}: ${(e as Error).message}`, { cause: e });
  }
}

function listenAddress(entry: FederationMemberEntry): { host: string; port: number } {
  const u = new URL(entry.url);
  const port = Number(u.port);
  if (entry.listen === undefined) return { host: u.hostname.replace(/^\[|\]$/g, ""), port };
  const m = /^(.*?)(?::(\d+))?$/.exec(entry.listen)!;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] !== undefined ? Number(m[2]) : port };
}

/**
 * The federation file's member directory (address and URL of every member, in member order) and
 * threshold: what a running member re-reads when the operator changes the set (SIGHUP).
 *
 * @example
 * const { peers } = loadFederationPeers(".sidegrid/federation.json");
 */
export function loadFederationPeers(file: string): { threshold: number; peers: { address: string; url: string }[] } {
  const cfg = readFederationFile(file);
  return { threshold: cfg.threshold, peers: cfg.members.map((m) => ({ address: getAddress(m.address), url: m.url })) };
}

function validateFile(file: string, raw: unknown): FederationConfigFile {
  const bad = (msg: string): never => {
    throw new FederationConfigError(file, msg);
  };
  if (typeof raw !== "object" || raw === null) bad("top level must be an object");
  const r = raw as Record<string, unknown>;
  if (r.version !== 1) bad(`version must be 1, got ${JSON.stringify(r.version)}`);
  if (!Array.isArray(r.members) || r.members.length < 2) bad("members must list at least 2 members");
  if (!Array.isArray(r.chains) || r.chains.length < 2) bad("chains must list at least 2 chains");
  const members = r.members as FederationMemberEntry[];
  if (typeof r.threshold !== "number" || !Number.isInteger(r.threshold) || r.threshold * 2 <= members.length || r.threshold > members.length) {
    bad(`threshold must be an integer with n/2 < threshold <= n (n = ${members.length}), got ${JSON.stringify(r.threshold)}`);
  }
  if (typeof r.dataDir !== "string" || r.dataDir.length === 0) bad("dataDir must be a non-empty string");
  members.forEach((m, i) => {
    if (typeof m?.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(m.address)) bad(`members[${i}].address must be an address`);
    if (typeof m.url !== "string" || !/^https?:\/\/[^/]+:\d+\/?$/.test(m.url)) bad(`members[${i}].url must look like http://host:port`);
    if (m.listen !== undefined && (typeof m.listen !== "string" || !/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+)(:\d+)?$/.test(m.listen))) {
      bad(`members[${i}].listen must be host or host:port, got ${JSON.stringify(m.listen)}`);
    }
    for (const k of ["privateKeyFile", "dataDir"] as const) {
      if (m[k] !== undefined && (typeof m[k] !== "string" || m[k].length === 0)) bad(`members[${i}].${k} must be a path`);
    }
  });
  (r.chains as MemberChainConfig[]).forEach((c, i) => {
    if (typeof c?.name !== "string") bad(`chains[${i}].name must be a string`);
    for (const k of ["chainId", "confirmations", "startBlock"] as const) {
      if (typeof c[k] !== "number" || !Number.isInteger(c[k]) || c[k] < 0) bad(`chains[${i}].${k} must be a non-negative integer`);
    }
    if (typeof c.rpcUrl !== "string" || !/^https?:\/\//.test(c.rpcUrl)) bad(`chains[${i}].rpcUrl must be an http(s) URL`);
    if (c.wsUrl !== undefined && (typeof c.wsUrl !== "string" || !/^wss?:\/\//.test(c.wsUrl))) bad(`chains[${i}].wsUrl must be a ws(s) URL`);
    if (c.minBlockAgeMs !== undefined && (typeof c.minBlockAgeMs !== "number" || !Number.isInteger(c.minBlockAgeMs) || c.minBlockAgeMs < 0 || c.minBlockAgeMs > 3_600_000)) bad(`chains[${i}].minBlockAgeMs must be an integer from 0 to 3600000`);
    if (c.rpcUrls !== undefined) {
      if (!Array.isArray(c.rpcUrls) || c.rpcUrls.length === 0 || c.rpcUrls.some((u) => typeof u !== "string" || !/^(https?|wss?):\/\//.test(u))) bad(`chains[${i}].rpcUrls must be a non-empty list of http(s)/ws(s) URLs`);
      else if (c.rpcUrls[0] !== c.rpcUrl) bad(`chains[${i}].rpcUrls must start with rpcUrl`);
    }
    if (c.quorum !== undefined && (!Number.isInteger(c.quorum) || c.quorum < 1 || c.quorum > (c.rpcUrls?.length ?? 1))) bad(`chains[${i}].quorum must be an integer from 1 to the number of rpcUrls`);
    for (const k of ["outbox", "inbox"] as const) {
      if (typeof c[k] !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(c[k])) bad(`chains[${i}].${k} must be an address`);
    }
  });
  const names = new Set((r.chains as MemberChainConfig[]).map((c) => c.name));
  ((r.eventSources ?? []) as EventSourceConfig[]).forEach((e, i) => {
    const where = `eventSources[${i}]`;
    if (!names.has(e?.chain)) bad(`${where}.chain must name one of the chains`);
    if (typeof e.contract !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(e.contract)) bad(`${where}.contract must be an address`);
    let frag: EventFragment;
    try {
      frag = EventFragment.from(e.event);
    } catch {
      return bad(`${where}.event is not an event signature: ${JSON.stringify(e.event)}`);
    }
    const arg = (name: string | undefined, type: string) => name !== undefined && frag.inputs.some((x) => x.name === name && x.type === type);
    if (!arg(e.payloadArg, "bytes")) bad(`${where}.payloadArg must name a bytes argument of the event`);
    const named = arg(e.dstChainIdArg, "uint256") && arg(e.dstContractArg, "address");
    if (!named && !(Array.isArray(e.routes) && e.routes.length > 0)) bad(`${where} needs dstChainIdArg and dstContractArg, or routes`);
  });
  if (r.custody !== undefined) {
    const c = r.custody as Record<string, unknown>;
    if (typeof c !== "object" || c === null || Array.isArray(c)) bad("custody must be an object");
    for (const k of ["keyCustody", "accessLedger", "policyMirror"]) {
      if (typeof c[k] !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(c[k] as string)) bad(`custody.${k} must be an address`);
    }
    if (typeof c.startBlock !== "number" || !Number.isInteger(c.startBlock) || c.startBlock < 0) bad("custody.startBlock must be a non-negative integer");
    if (c.confirmations !== undefined && (typeof c.confirmations !== "number" || !Number.isInteger(c.confirmations) || c.confirmations < 0)) {
      bad("custody.confirmations must be a non-negative integer");
    }
    // 0 would poll without pause.
    if (c.pollMs !== undefined && (typeof c.pollMs !== "number" || !Number.isInteger(c.pollMs) || c.pollMs < 1)) bad("custody.pollMs must be a positive integer (ms)");
    const chain = c.chain ?? "blocksec";
    if (!names.has(chain as string)) bad(`custody.chain must name one of the chains (got ${JSON.stringify(chain)})`);
  }
  if (r.checkpointer !== undefined) validateCheckpointer(r.checkpointer, names, bad);
  return r as unknown as FederationConfigFile;
}

function validateCheckpointer(raw: unknown, names: Set<string>, bad: (msg: string) => never): void {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad("checkpointer must be an object");
  const c = raw as Record<string, unknown>;
  for (const k of ["accessCheckpoints", "accessLedger"]) {
    if (typeof c[k] !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(c[k] as string)) bad(`checkpointer.${k} must be an address`);
  }
  const int = (k: string, min: number) => typeof c[k] === "number" && Number.isInteger(c[k]) && (c[k] as number) >= min;
  if (!int("startBlock", 0)) bad("checkpointer.startBlock must be a non-negative integer");
  if (!int("intervalBlocks", 1)) bad("checkpointer.intervalBlocks must be a positive integer");
  if (c.confirmations !== undefined && !int("confirmations", 0)) bad("checkpointer.confirmations must be a non-negative integer");
  if (c.pollMs !== undefined && !int("pollMs", 1)) bad("checkpointer.pollMs must be a positive integer (ms)");
  for (const [k, d] of [["secChain", "blocksec"], ["chain", "blockpri"]] as const) {
    if (!names.has((c[k] ?? d) as string)) bad(`checkpointer.${k} must name one of the chains (got ${JSON.stringify(c[k] ?? d)})`);
  }
}

/**
 * Local development keys of the federation members: anvil mnemonic indices 20, 21, ... (public keys,
 * local chains only; fund them with `deployFederation({ fundMembers })`).
 *
 * @example
 * const keys = localMemberKeys(3);
 */
export function localMemberKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => devPrivateKey(20 + i));
}

export interface WriteMemberConfigsParameters {
  /** Where to write the federation file (e.g. `.sidegrid/federation.json`). */
  file: string;
  deployment: DeployFederationReturnType;
  /** RPC URL and confirmation depth per chain name of the deployment. */
  networks: Record<string, { rpcUrl: string; rpcUrls?: string[]; quorum?: number; wsUrl?: string; confirmations: number; minBlockAgeMs?: number }>;
  /** Member keys in member order (local: {@link localMemberKeys}); with `keyEnv`, only the addresses matter. */
  memberKeys: readonly string[];
  /** Write `privateKeyEnv: "<prefix><k>"` instead of the key itself (production). */
  keyEnvPrefix?: string;
  /** Member k listens on `http://<host>:<basePort + k>` (default base 7301)... */
  basePort?: number;
  host?: string;
  /** ...unless its URL is given here. */
  urls?: readonly string[];
  /** Defaults to `<dir of file>/federation`. */
  dataDir?: string;
  eventSources?: EventSourceConfig[];
  tuning?: Partial<MemberTuning>;
  custody?: FederationCustodyConfig;
  checkpointer?: FederationCheckpointerConfig;
}

/**
 * Writes the federation file every member process reads (`--config`), one entry per member.
 *
 * @example
 * writeMemberConfigs({ file: ".sidegrid/federation.json", deployment, networks, memberKeys: localMemberKeys(3), basePort: 7301 });
 */
export function writeMemberConfigs(params: WriteMemberConfigsParameters): FederationConfigFile {
  const host = params.host ?? "127.0.0.1";
  const cfg: FederationConfigFile = {
    version: 1,
    threshold: params.deployment.threshold,
    dataDir: params.dataDir ?? "federation",
    chains: params.deployment.chains.map((c) => {
      const n = params.networks[c.name];
      if (!n) throw new FederationConfigError(params.file, `no RPC URL given for network "${c.name}"`);
      return {
        name: c.name,
        chainId: c.chainId,
        rpcUrl: n.rpcUrl,
        ...(n.rpcUrls && n.rpcUrls.length > 1 ? { rpcUrls: n.rpcUrls } : {}),
        ...(n.quorum && n.quorum > 1 ? { quorum: n.quorum } : {}),
        ...(n.wsUrl ? { wsUrl: n.wsUrl } : {}),
        confirmations: n.confirmations,
        ...(n.minBlockAgeMs ? { minBlockAgeMs: n.minBlockAgeMs } : {}),
        outbox: c.outbox,
        inbox: c.inbox,
        startBlock: c.startBlock,
      };
    }),
    members: params.memberKeys.map((k, i) => {
      const address = new Wallet(k).address;
      const entry: FederationMemberEntry = { address, url: params.urls?.[i] ?? `http://${host}:${(params.basePort ?? 7301) + i}` };
      if (params.keyEnvPrefix) entry.privateKeyEnv = `${params.keyEnvPrefix}${i}`;
      else entry.privateKey = k;
      return entry;
    }),
    ...(params.eventSources ? { eventSources: params.eventSources } : {}),
    ...(params.tuning ? { tuning: params.tuning } : {}),
    ...(params.custody ? { custody: params.custody } : {}),
    ...(params.checkpointer ? { checkpointer: params.checkpointer } : {}),
  };
  const deployed = params.deployment.members.map((m) => m.toLowerCase());
  cfg.members.forEach((m, i) => {
    if (deployed[i] !== m.address.toLowerCase()) {
      throw new FederationConfigError(params.file, `member ${i} key is for ${m.address}, but the inbox was deployed with ${deployed[i] ?? "no member"} there`);
    }
  });
  fs.mkdirSync(path.dirname(path.resolve(params.file)), { recursive: true });
  const tmp = `${params.file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, params.file);
  return cfg;
}
