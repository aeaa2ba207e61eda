// One federation member: watch every chain (outbox, inbox and RelayPayload sources), sign each new
// message as EIP-712 typed data, persist it with the cursor in one LevelDB batch, push signatures
// to the other members over HTTP, and deliver batches to the destination inbox when this member is
// the message's relayer (or the designated one is late). See README "The member node: design".
import http from "node:http";
import express from "express";
import { EventFragment, Interface, SigningKey, getAddress, recoverAddress, type JsonRpcProvider } from "ethers";
import { ContractRevertError, makeProvider, revertData, rpcCall } from "@sidegrid/chain";
import { FederationInbox__factory, FederationOutbox__factory } from "../generated";
import {
  domainSeparator,
  messageDigest,
  messageKey,
  packSignatures,
  signDigest,
  type FederationMessage,
} from "../messages";
import { EquivocationError, MemberStartError } from "../errors";
import type { EventSourceConfig, MemberChainConfig, MemberConfig } from "./config";
import { Checkpointer, type CheckpointerStats } from "./checkpointer";
import { Custodian, type CustodianStats } from "./custodian";
import { createMemberMetrics, type MemberMetrics } from "./metrics";
import { PeerExchange, SIGNATURES_PATH, authenticatePush, type SignatureItem } from "./peers";
import { MemberStore, type StoredMessage } from "./store";
import { RelaySender, encodeDeliver, type RelayReceipt } from "./wire";

const outboxIface = FederationOutbox__factory.createInterface();
const inboxIface = FederationInbox__factory.createInterface();
const TOPIC_SENT = outboxIface.getEvent("MessageSent").topicHash;
const TOPIC_EXECUTED = inboxIface.getEvent("MessageExecuted").topicHash;
const TOPIC_FAILED = inboxIface.getEvent("MessageFailed").topicHash;
const TOPIC_SET = inboxIface.getEvent("MemberSetUpdated").topicHash;
const TOPIC_PAUSE = inboxIface.getEvent("PauseChanged").topicHash;
const TOPIC_BATCH = inboxIface.getEvent("BatchDelivered").topicHash;
const SIGNATURE_ERRORS = new Set(["InboxNotMember", "InboxInvalidSignature", "InboxInsufficientSignatures", "InboxDuplicateSigner", "InboxMalformedSignatures"]);
const MAX_ORPHANS = 50_000;
/** Logs signed and committed per step when catching up. */
const CHUNK_LOGS = 200;

interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  logIndex: string;
}

/** Nonces of event-sourced messages have this bit set, so they never meet outbox nonces. */
export const EVENT_NONCE_FLAG = 1n << 63n;

/**
 * The lane nonce of route `route` of the event at (`block`, `logIndex`): unique per source chain.
 *
 * @example
 * eventNonce(115, 1, 0); // EVENT_NONCE_FLAG | 115n << 24n | 1n << 8n
 */
export function eventNonce(block: number, logIndex: number, route: number): bigint {
  if (block >= 2 ** 39 || logIndex >= 2 ** 16 || route >= 2 ** 8) throw new RangeError(`event position out of range: ${block}/${logIndex}/${route}`);
  return EVENT_NONCE_FLAG | (BigInt(block) << 24n) | (BigInt(logIndex) << 8n) | BigInt(route);
}

interface EventSource {
  cfg: EventSourceConfig;
  address: string; // lower case
  iface: Interface;
  topic: string;
}

interface MemberSetView {
  members: string[]; // checksummed, in set order
  threshold: number;
}

interface ChainState {
  cfg: MemberChainConfig;
  id: bigint;
  provider: JsonRpcProvider;
  /** Raw JSON-RPC (native fetch and JSON.parse: ethers' response decoding costs ~0.3 ms per KB). */
  rpc: { send(method: string, params: unknown[]): Promise<unknown> };
  separator: string;
  sender: RelaySender | undefined;
  ready: boolean;
  cursor: number;
  head: number;
  lastPollAt: number;
  lastError: string | undefined;
  current: MemberSetView;
  previous: MemberSetView | undefined;
  previousExpiresAt: number;
  /** Source chain id (0n = all) → chain time its pause ends (a minority pause expires by itself). */
  paused: Map<bigint, number>;
  appGasLimit: bigint;
  /** Signers the inbox refused although their signatures recover (e.g. a grace period that ended). */
  excluded: Set<string>;
  /** Apps on this chain relayed through the RelayPayload adapter. */
  sources: EventSource[];
  /** Chain time minus local time, seconds (updated every poll). */
  clockOffset: number;
  /** Last time each member (address) was seen delivering a batch here (BatchDelivered). */
  progress: Map<string, number>;
  // relayer state, this chain as destination
  pending: Map<string, PendingMessage>;
  inFlight: number;
  flushing: boolean;
  flushAgain: boolean;
  flushTimer: NodeJS.Timeout | undefined;
  flushAt: number;
  perMessageGas: bigint;
  batchCap: number;
}

interface PendingMessage {
  key: string;
  msg: FederationMessage;
  digest: string;
  firstSeen: number;
  own: string;
  sigs: Map<string, string>; // lower-case signer -> signature
  bad: Set<string>;
  readyAt: number | undefined;
  inflight: boolean;
  /** deliver transactions that included this message. */
  attempts: number;
  lastResend: number;
}

/** A running member: its address and URL, a health snapshot, and `stop()`. */
export interface MemberHandle {
  index: number;
  address: string;
  url: string;
  metrics: MemberMetrics;
  health(): MemberHealth;
  stop(): Promise<void>;
}

export interface MemberHealth {
  ok: boolean;
  member: number;
  address: string;
  uptimeSec: number;
  chains: { name: string; chainId: number; head: number; cursor: number; lag: number; ready: boolean; lastPollAgoMs: number; error: string | null }[];
  pending: number;
  ready: number;
  inFlight: number;
  signatures: { own: number; peer: number };
  peers: { address: string; url: string; up: boolean; queued: number }[];
  /** The custodian's progress (key shares released on grants), when custody is configured. */
  custody?: CustodianStats;
  /** The checkpointer's progress (AccessLedger roots voted on BlockPRI), when configured. */
  checkpointer?: CheckpointerStats;
}

export type MemberLogger = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface StartMemberOptions {
  log?: MemberLogger;
}

/**
 * Starts one federation member in this process: opens its LevelDB, serves the peer API, /health and
 * /metrics on its URL, watches every chain, signs each observed message, exchanges signatures with
 * the other members and relays when it is the message's relayer (or its relayer is late).
 *
 * @example
 * const member = await startMember(loadMemberConfig(".sidegrid/federation.json", 0));
 * // ...
 * await member.stop();
 */
export async function startMember(config: MemberConfig, options: StartMemberOptions = {}): Promise<MemberHandle> {
  const node = new MemberNode(config, options.log ?? defaultLogger(config.index));
  await node.start();
  return {
    index: config.index,
    address: config.address,
    url: config.url,
    metrics: node.metrics,
    health: () => node.health(),
    stop: () => node.stop(),
  };
}

function defaultLogger(index: number): MemberLogger {
  return (level, msg, fields) => {
    const line = JSON.stringify({ t: new Date().toISOString(), level, member: index, msg, ...fields });
    if (level === "error") process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
}

class MemberNode {
  readonly metrics: MemberMetrics;
  private readonly key: SigningKey;
  private readonly me: string;
  private readonly chains = new Map<bigint, ChainState>();
  private readonly orphans = new Map<string, Map<string, { digest: string; sig: string }>>();
  private readonly memberSet: Set<string>;
  private store!: MemberStore;
  private peers!: PeerExchange;
  private custodian: Custodian | undefined;
  private checkpointer: Checkpointer | undefined;
  private server: http.Server | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private readonly recentlyDone = new Map<string, true>();
  private readonly pollTimers = new Map<bigint, NodeJS.Timeout>();
  private readonly polls = new Map<bigint, Promise<void>>();
  private stopped = false;
  private readonly started = Date.now();
  private ownSigs = 0;
  private peerSigs = 0;

  constructor(
    private readonly cfg: MemberConfig,
    private readonly log: MemberLogger,
  ) {
    this.metrics = createMemberMetrics(cfg.index);
    this.key = new SigningKey(cfg.privateKey);
    this.me = getAddress(cfg.address);
    this.memberSet = new Set(cfg.peers.map((p) => p.address.toLowerCase()));
  }

  async start(): Promise<void> {
    try {
      this.store = await MemberStore.open(this.cfg.dataDir);
    } catch (e) {
      throw new MemberStartError(this.cfg.index, `cannot open LevelDB in ${this.cfg.dataDir} (another process using it?)`, { cause: e });
    }
    this.peers = new PeerExchange(this.me, this.cfg.peers, this.key, this.metrics);
    const initial: MemberSetView = { members: this.cfg.peers.map((p) => p.address), threshold: this.cfg.threshold };
    for (const c of this.cfg.chains) {
      const id = BigInt(c.chainId);
      const cursor = (await this.store.cursor(c.chainId)) ?? c.startBlock - 1;
      this.chains.set(id, {
        cfg: c,
        id,
        provider: makeProvider(c.rpcUrl, c.chainId),
        rpc: { send: (method: string, params: unknown[]) => rpcCall(c.rpcUrl, method, params, 15_000) },
        separator: domainSeparator(id, c.inbox),
        sender: undefined,
        ready: false,
        cursor,
        head: cursor,
        lastPollAt: 0,
        lastError: undefined,
        current: initial,
        previous: undefined,
        previousExpiresAt: 0,
        paused: new Map(),
        appGasLimit: 1_000_000n,
        excluded: new Set(),
        progress: new Map(),
        clockOffset: 0,
        sources: this.cfg.eventSources
          .filter((e) => e.chain === c.name)
          .map((e) => {
            const frag = EventFragment.from(e.event);
            return { cfg: e, address: e.contract.toLowerCase(), iface: new Interface([frag]), topic: frag.topicHash };
          }),
        pending: new Map(),
        inFlight: 0,
        flushing: false,
        flushAgain: false,
        flushTimer: undefined,
        flushAt: 0,
        perMessageGas: 150_000n,
        batchCap: this.cfg.tuning.maxBatch,
      });
    }
    // Resume: every message signed but not seen executed goes back to pending, and our
    // signatures go out again (peers that restarted too have forgotten them).
    const stored = await this.store.pending();
    const resend: SignatureItem[] = [];
    for (const s of stored) {
      const p = this.fromStored(s);
      const cs = this.chains.get(p.msg.dstChainId);
      if (!cs) continue;
      cs.pending.set(p.key, p);
      resend.push(this.item(p));
    }
    await this.listen();
    this.peers.enqueue(resend);
    for (const cs of this.chains.values()) this.pollLoop(cs);
    this.resendTimer = setInterval(() => this.antiEntropy(), Math.max(250, Math.floor(this.cfg.tuning.resendMs / 2)));
    let reconciling = false;
    this.reconcileTimer = setInterval(() => {
      if (reconciling) return;
      reconciling = true;
      void this.reconcile().finally(() => (reconciling = false));
    }, Math.max(1000, this.cfg.tuning.resendMs * 2));
    if (this.cfg.custody) await this.startCustodian();
    if (this.cfg.checkpointer) await this.startCheckpointer();
    this.log("info", "member started", { address: this.me, url: this.cfg.url, resumed: stored.length, custody: Boolean(this.custodian) });
  }

  /** Key release runs beside relaying; it sends through the same BlockSEC sender (one nonce sequence). */
  private async startCustodian(): Promise<void> {
    const custody = this.cfg.custody!;
    const name = custody.chain ?? "blocksec";
    const cs = [...this.chains.values()].find((c) => c.cfg.name === name);
    if (!cs) throw new MemberStartError(this.cfg.index, `custody names chain "${name}", which is not configured`);
    this.custodian = new Custodian({
      config: custody,
      chainConfirmations: cs.cfg.confirmations,
      provider: cs.provider,
      privateKey: this.cfg.privateKey,
      address: this.me,
      store: this.store,
      sender: () => cs.sender,
      log: this.log,
      onOutcome: (o) => {
        this.metrics.custodyGrants.inc({ outcome: o.status, reason: o.status === "skipped" ? o.reason : "" });
        if (o.status === "released") this.metrics.custodyKeysReleased.inc(o.keyIds.length);
      },
      onError: () => this.metrics.custodyErrors.inc(),
    });
    await this.custodian.start();
  }

  /** AccessLedger checkpoints: reads BlockSEC, votes on BlockPRI through the member's BlockPRI sender. */
  private async startCheckpointer(): Promise<void> {
    const c = this.cfg.checkpointer!;
    const find = (name: string) => {
      const cs = [...this.chains.values()].find((x) => x.cfg.name === name);
      if (!cs) throw new MemberStartError(this.cfg.index, `checkpointer names chain "${name}", which is not configured`);
      return cs;
    };
    const sec = find(c.secChain ?? "blocksec");
    const pri = find(c.chain ?? "blockpri");
    this.checkpointer = new Checkpointer({
      config: c,
      secChainId: sec.cfg.chainId,
      secConfirmations: sec.cfg.confirmations,
      secProvider: sec.provider,
      priProvider: pri.provider,
      address: this.me,
      store: this.store,
      sender: () => pri.sender,
      log: this.log,
      onOutcome: (o) => this.metrics.checkpointVotes.inc({ outcome: o.status }),
      onCursor: (b) => this.metrics.checkpointCursor.set(b),
      onError: () => this.metrics.checkpointErrors.inc(),
    });
    await this.checkpointer.start();
  }

  private listen(): Promise<void> {
    const app = express();
    app.disable("x-powered-by");
    app.post(SIGNATURES_PATH, express.raw({ type: () => true, limit: "32mb" }), (req, res) => {
      try {
        const { signer, items } = authenticatePush(req.body as Buffer, req.headers, this.memberSet);
        this.onPeerSignatures(signer, items);
        res.status(204).end();
      } catch (e) {
        this.metrics.signaturesRejected.inc({ reason: "auth" });
        res.status(401).json({ error: (e as Error).message });
      }
    });
    app.get("/health", (_req, res) => {
      const h = this.health();
      res.status(h.ok ? 200 : 503).json(h);
    });
    app.get("/metrics", async (_req, res) => {
      res.set("content-type", this.metrics.registry.contentType);
      res.send(await this.metrics.registry.metrics());
    });
    const u = new URL(this.cfg.url);
    return new Promise((resolve, reject) => {
      const server = http.createServer(app);
      server.keepAliveTimeout = 30_000;
      server.once("error", (e) => reject(new MemberStartError(this.cfg.index, `cannot listen on ${this.cfg.url}: ${e.message}`, { cause: e })));
      server.listen(Number(u.port), u.hostname, () => {
        this.server = server;
        resolve();
      });
    });
  }

  // ------------------------------------------------------------------ chain watching

  private pollLoop(cs: ChainState): void {
    const once = async (): Promise<void> => {
      try {
        if (!cs.ready) await this.initChain(cs);
        await this.poll(cs);
        cs.lastError = undefined;
      } catch (e) {
        const msg = (e as Error).message?.split("\n")[0] ?? String(e);
        if (cs.lastError !== msg) this.log("warn", "poll failed", { chain: cs.cfg.name, error: msg });
        cs.lastError = msg;
      }
    };
    const run = (): void => {
      if (this.stopped) return;
      const t0 = Date.now();
      const p = once();
      this.polls.set(cs.id, p);
      void p.then(() => {
        if (this.stopped) return;
        this.pollTimers.set(cs.id, setTimeout(run, Math.max(5, this.cfg.tuning.pollIntervalMs - (Date.now() - t0))));
      });
    };
    run();
  }

  private async initChain(cs: ChainState): Promise<void> {
    cs.sender ??= await RelaySender.create(this.key, this.me, cs.rpc, cs.id);
    const inbox = FederationInbox__factory.connect(cs.cfg.inbox, cs.provider);
    cs.appGasLimit = await inbox.appGasLimit();
    await this.refreshSets(cs);
    await this.refreshPause(cs);
    cs.ready = true;
    for (const p of cs.pending.values()) this.evaluate(cs, p);
    this.scheduleFlush(cs, 0);
  }

  private async refreshSets(cs: ChainState): Promise<void> {
    const inbox = FederationInbox__factory.connect(cs.cfg.inbox, cs.provider);
    const idx = await inbox.currentSetIndex();
    const cur = await inbox.memberSet(idx);
    cs.current = { members: cur.members.map((m) => getAddress(m)), threshold: Number(cur.threshold) };
    if (idx > 0n) {
      const prev = await inbox.memberSet(idx - 1n);
      cs.previous = { members: prev.members.map((m) => getAddress(m)), threshold: Number(prev.threshold) };
      cs.previousExpiresAt = Number(await inbox.previousSetExpiresAt());
    }
    cs.excluded.clear();
  }

  private async refreshPause(cs: ChainState): Promise<void> {
    const inbox = FederationInbox__factory.connect(cs.cfg.inbox, cs.provider);
    const ids = [0n, ...[...this.chains.keys()].filter((k) => k !== cs.id)];
    const until = await Promise.all(ids.map((id) => inbox.pausedUntil(id)));
    cs.paused = new Map(ids.flatMap((id, i) => (until[i]! > 0n ? [[id, Number(until[i])] as const] : [])));
  }

  /** Delivery from `src` is paused now, by the chain's clock (expiry honoured, as the inbox does). */
  private isPaused(cs: ChainState, src: bigint): boolean {
    const t = Date.now() / 1000 + cs.clockOffset;
    return (cs.paused.get(0n) ?? 0) > t || (cs.paused.get(src) ?? 0) > t;
  }

  private async poll(cs: ChainState): Promise<void> {
    const block = (await cs.rpc.send("eth_getBlockByNumber", ["latest", false])) as { number: string; timestamp: string };
    const head = Number(BigInt(block.number));
    cs.head = head;
    // Grace periods are judged by the chain's clock, which tests (and skewed nodes) move.
    cs.clockOffset = Number(BigInt(block.timestamp)) - Date.now() / 1000;
    // A minority pause ends without an event: once the chain's clock passes it, flush what waited.
    const expired = [...cs.paused].filter(([, until]) => until <= Number(BigInt(block.timestamp)));
    if (expired.length > 0) {
      for (const [id] of expired) cs.paused.delete(id);
      this.scheduleFlush(cs, 0);
    }
    const safe = head - cs.cfg.confirmations;
    this.metrics.chainHead.set({ chain: cs.cfg.name }, head);
    while (cs.cursor < safe && !this.stopped) {
      const from = cs.cursor + 1;
      const to = Math.min(safe, from + this.cfg.tuning.logRangeBlocks - 1);
      const logs = (await cs.rpc.send("eth_getLogs", [
        {
          fromBlock: `0x${from.toString(16)}`,
          toBlock: `0x${to.toString(16)}`,
          address: [cs.cfg.outbox, cs.cfg.inbox, ...cs.sources.map((x) => x.cfg.contract)],
          topics: [[TOPIC_SENT, TOPIC_EXECUTED, TOPIC_FAILED, TOPIC_SET, TOPIC_PAUSE, TOPIC_BATCH, ...cs.sources.map((x) => x.topic)]],
        },
      ])) as RawLog[];
      // Work through a large range in chunks cut at block boundaries, so signatures go out and
      // batches get relayed while the rest is still being signed.
      let start = 0;
      while (start < logs.length) {
        let end = Math.min(logs.length, start + CHUNK_LOGS);
        while (end < logs.length && logs[end]!.blockNumber === logs[end - 1]!.blockNumber) end++;
        const last = end >= logs.length ? to : Number(BigInt(logs[end - 1]!.blockNumber));
        await this.processLogs(cs, logs.slice(start, end), last);
        start = end;
        if (start < logs.length) await new Promise((r) => setImmediate(r));
      }
      if (logs.length === 0) await this.processLogs(cs, [], to);
    }
    cs.lastPollAt = Date.now();
    this.metrics.chainCursor.set({ chain: cs.cfg.name }, cs.cursor);
    this.metrics.chainLag.set({ chain: cs.cfg.name }, Math.max(0, head - cs.cursor));
    this.scheduleFlush(cs, this.cfg.tuning.batchDelayMs);
  }

  private async processLogs(cs: ChainState, logs: RawLog[], to: number): Promise<void> {
    const outbox = cs.cfg.outbox.toLowerCase();
    const inbox = cs.cfg.inbox.toLowerCase();
    const sent: FederationMessage[] = [];
    const executed: { dst: ChainState; key: string; digest: string }[] = [];
    let setsChanged = false;
    let pauseChanged = false;
    for (const l of logs) {
      const t0 = l.topics[0];
      const source = cs.sources.find((x) => x.address === l.address.toLowerCase() && x.topic === t0);
      if (source) {
        sent.push(...this.fromEvent(cs, source, l));
        continue;
      }
      if (l.address.toLowerCase() === outbox) {
        if (t0 !== TOPIC_SENT) continue;
        // data = abi.encode(address dstContract, bytes payload): word 0 the address, word 1 the
        // offset (0x40), word 2 the length, then the bytes. Decoded by hand: ethers' ABI decoder
        // and checksumming cost more than signing here.
        const len = Number.parseInt(l.data.slice(2 + 128, 2 + 192), 16);
        sent.push({
          srcChainId: cs.id,
          srcSender: `0x${l.topics[3]!.slice(26)}`,
          nonce: BigInt(l.topics[2]!),
          dstChainId: BigInt(l.topics[1]!),
          dstContract: `0x${l.data.slice(26, 66)}`,
          payload: `0x${l.data.slice(2 + 192, 2 + 192 + len * 2)}`,
        });
      } else if (l.address.toLowerCase() !== inbox) {
        continue; // an app's event that merely shares a topic with the inbox's
      } else if (t0 === TOPIC_EXECUTED || t0 === TOPIC_FAILED) {
        const digest = `0x${l.data.slice(2, 66)}`;
        const src = BigInt(l.topics[1]!);
        const nonce = BigInt(l.topics[2]!);
        executed.push({ dst: cs, key: messageKey(cs.id, src, nonce), digest });
      } else if (t0 === TOPIC_BATCH) cs.progress.set(getAddress(`0x${l.topics[1]!.slice(26)}`), Date.now());
      else if (t0 === TOPIC_SET) setsChanged = true;
      else if (t0 === TOPIC_PAUSE) pauseChanged = true;
    }

    // Sign what is new: not pending already, not executed already, for a chain we serve.
    let fresh: PendingMessage[] = [];
    const candidates = sent.filter((m) => {
      const dst = this.chains.get(m.dstChainId);
      if (!dst) {
        this.metrics.signaturesRejected.inc({ reason: "unknown_destination" });
        return false;
      }
      return !dst.pending.has(messageKey(m.dstChainId, m.srcChainId, m.nonce));
    });
    const keys = candidates.map((m) => messageKey(m.dstChainId, m.srcChainId, m.nonce));
    const done = await this.store.doneDigests(keys);
    const now = Date.now();
    candidates.forEach((m, i) => {
      const dst = this.chains.get(m.dstChainId)!;
      const digest = messageDigest(dst.separator, m);
      const doneDigest = done[i];
      if (doneDigest !== undefined) {
        if (doneDigest !== digest) this.equivocation(keys[i]!, doneDigest, digest);
        return;
      }
      const own = signDigest(this.key, digest);
      this.ownSigs++;
      fresh.push({
        key: keys[i]!,
        msg: m,
        digest,
        firstSeen: now,
        own,
        sigs: new Map([[this.me.toLowerCase(), own]]),
        bad: new Set(),
        readyAt: undefined,
        inflight: false,
        attempts: 0,
        lastResend: now,
      });
    });
    this.metrics.signatures.inc({ origin: "own" }, fresh.length);

    const doneEntries = executed.map((e) => ({ key: e.key, digest: e.digest }));
    await this.store.commit({ messages: fresh.map((p) => this.toStored(p)), done: doneEntries, cursor: { chainId: cs.cfg.chainId, block: to } });
    cs.cursor = to;

    // Another chain's scan may have seen some of these executed while we were signing.
    const late = fresh.filter((p) => this.recentlyDone.has(p.key));
    if (late.length > 0) {
      await this.store.commit({ done: late.map((p) => ({ key: p.key, digest: p.digest })) });
      fresh = fresh.filter((p) => !this.recentlyDone.has(p.key));
    }
    for (const p of fresh) {
      const dst = this.chains.get(p.msg.dstChainId)!;
      dst.pending.set(p.key, p);
      const orphan = this.orphans.get(p.key);
      if (orphan) {
        this.orphans.delete(p.key);
        for (const [signer, o] of orphan) this.addSignature(dst, p, signer, o.digest, o.sig);
      }
      this.evaluate(dst, p);
    }
    this.peers.enqueue(fresh.map((p) => this.item(p)));
    for (const e of executed) {
      this.noteDone(e.key);
      this.forget(e.dst, e.key, true);
    }
    if (setsChanged) await this.refreshSets(cs);
    if (pauseChanged) await this.refreshPause(cs);
    if (setsChanged || pauseChanged) for (const p of cs.pending.values()) this.evaluate(cs, p);
    const touched = new Set(fresh.map((p) => p.msg.dstChainId));
    for (const id of touched) this.scheduleFlush(this.chains.get(id)!, this.cfg.tuning.batchDelayMs);
    this.updateGauges();
  }

  /** The RelayPayload adapter: one message per destination of an app event. */
  private fromEvent(cs: ChainState, source: EventSource, l: RawLog): FederationMessage[] {
    let args: Record<string, unknown>;
    try {
      args = source.iface.parseLog({ topics: l.topics, data: l.data })!.args as unknown as Record<string, unknown>;
    } catch {
      this.metrics.signaturesRejected.inc({ reason: "undecodable_event" });
      return [];
    }
    const e = source.cfg;
    const routes =
      e.dstChainIdArg !== undefined && e.dstContractArg !== undefined
        ? [{ dstChainId: BigInt(args[e.dstChainIdArg] as bigint), dstContract: String(args[e.dstContractArg]) }]
        : (e.routes ?? []).map((r) => ({ dstChainId: BigInt(r.dstChainId), dstContract: r.dstContract }));
    const block = Number(BigInt(l.blockNumber));
    const logIndex = Number(BigInt(l.logIndex));
    return routes.map((r, i) => ({
      srcChainId: cs.id,
      srcSender: source.address,
      nonce: eventNonce(block, logIndex, i),
      dstChainId: r.dstChainId,
      dstContract: r.dstContract,
      payload: String(args[e.payloadArg]),
    }));
  }

  private equivocation(key: string, signed: string, digest: string): void {
    const e = new EquivocationError(key, signed, digest);
    this.metrics.signaturesRejected.inc({ reason: "equivocation" });
    this.log("error", e.shortMessage, { key });
  }

  /** Remembers recent executions (bounded) so a message signed concurrently is not kept pending. */
  private noteDone(key: string): void {
    this.recentlyDone.set(key, true);
    if (this.recentlyDone.size > 100_000) this.recentlyDone.delete(this.recentlyDone.keys().next().value as string);
  }

  /**
   * Self-healing: pending messages that have waited long are checked on chain, and those already
   * executed (by a peer while we were down, say) are dropped.
   */
  private async reconcile(): Promise<void> {
    const cutoff = Date.now() - this.cfg.tuning.resendMs * 2;
    for (const cs of this.chains.values()) {
      if (!cs.ready) continue;
      const old = [...cs.pending.values()].filter((p) => !p.inflight && p.firstSeen < cutoff).slice(0, 2000);
      for (let i = 0; i < old.length; i += 500) {
        const chunk = old.slice(i, i + 500);
        try {
          const mask = await this.executedMask(cs, chunk);
          const done = chunk.filter((_, j) => mask[j]);
          if (done.length === 0) continue;
          await this.store.commit({ done: done.map((p) => ({ key: p.key, digest: p.digest })) });
          for (const p of done) this.forget(cs, p.key, true);
        } catch {
          /* next round */
        }
      }
    }
    this.updateGauges();
  }

  private async executedMask(cs: ChainState, ps: readonly PendingMessage[]): Promise<boolean[]> {
    const call = inboxIface.encodeFunctionData("areExecuted", [ps.map((p) => p.msg.srcChainId), ps.map((p) => p.msg.nonce)]);
    const ret = (await cs.rpc.send("eth_call", [{ to: cs.cfg.inbox, data: call }, "latest"])) as string;
    return [...(inboxIface.decodeFunctionResult("areExecuted", ret)[0] as boolean[])];
  }

  /** Drops a message from pending once executed (or consumed as failed) on its destination. */
  private forget(cs: ChainState, key: string, observe: boolean): void {
    const p = cs.pending.get(key);
    if (!p) return;
    cs.pending.delete(key);
    if (observe) this.metrics.relayLatency.observe({ dst: cs.cfg.name }, (Date.now() - p.firstSeen) / 1000);
  }

  // ------------------------------------------------------------------ signatures

  private onPeerSignatures(signer: string, items: SignatureItem[]): void {
    const s = signer.toLowerCase();
    const touched = new Set<ChainState>();
    for (const [dst, src, nonce, digest, sig] of items) {
      let key: string;
      try {
        key = messageKey(BigInt(dst), BigInt(src), BigInt(nonce));
      } catch {
        continue;
      }
      const cs = this.chains.get(BigInt(dst));
      if (!cs) continue;
      this.peerSigs++;
      const p = cs.pending.get(key);
      if (p) {
        if (this.addSignature(cs, p, s, digest, sig)) touched.add(cs);
      } else {
        // Not seen yet (our scan lags) or already executed; keep it a while.
        let o = this.orphans.get(key);
        if (!o) {
          if (this.orphans.size >= MAX_ORPHANS) this.orphans.delete(this.orphans.keys().next().value as string);
          o = new Map();
          this.orphans.set(key, o);
        }
        o.set(s, { digest, sig });
      }
    }
    this.metrics.signatures.inc({ origin: "peer" }, items.length);
    for (const cs of touched) this.scheduleFlush(cs, this.cfg.tuning.batchDelayMs);
  }

  private addSignature(cs: ChainState, p: PendingMessage, signer: string, digest: string, sig: string): boolean {
    if (digest !== p.digest) {
      // The peer saw different content under this lane nonce: not ours to count.
      this.metrics.signaturesRejected.inc({ reason: "digest_mismatch" });
      return false;
    }
    if (p.bad.has(signer) || p.sigs.get(signer) === sig) return false;
    p.sigs.set(signer, sig);
    return this.evaluate(cs, p);
  }

  /** Picks a quorum of signatures from one valid set; undefined when there is none yet. */
  private quorum(cs: ChainState, p: PendingMessage): string[] | undefined {
    const pick = (set: MemberSetView): string[] | undefined => {
      const out: string[] = [];
      for (const m of set.members) {
        const l = m.toLowerCase();
        if (p.bad.has(l) || cs.excluded.has(l)) continue;
        const sig = p.sigs.get(l);
        if (sig) out.push(sig);
        if (out.length === set.threshold) return out;
      }
      return undefined;
    };
    const cur = pick(cs.current);
    if (cur) return cur;
    // A few seconds of margin: the transaction lands in a later block than this decision.
    if (cs.previous && Date.now() / 1000 + cs.clockOffset < cs.previousExpiresAt - 5) return pick(cs.previous);
    return undefined;
  }

  private evaluate(cs: ChainState, p: PendingMessage): boolean {
    if (p.readyAt !== undefined || !cs.ready) return false;
    if (!this.quorum(cs, p)) return false;
    p.readyAt = Date.now();
    return true;
  }

  private antiEntropy(): void {
    const now = Date.now();
    const resendMs = this.cfg.tuning.resendMs;
    const byPeer = new Map<string, SignatureItem[]>();
    for (const cs of this.chains.values()) {
      for (const p of cs.pending.values()) {
        if (p.inflight || now - p.lastResend < resendMs || now - p.firstSeen < resendMs) continue;
        p.lastResend = now;
        // A peer whose signature we lack probably lacks ours too (it was down).
        for (const peer of this.peers.peerAddresses) {
          if (p.sigs.has(peer.toLowerCase())) continue;
          let arr = byPeer.get(peer);
          if (!arr) byPeer.set(peer, (arr = []));
          arr.push(this.item(p));
        }
      }
      this.scheduleFlush(cs, 0);
    }
    for (const [peer, items] of byPeer) this.peers.enqueue(items, [peer]);
  }

  // ------------------------------------------------------------------ relaying

  /** Index (in the current set) of the member designated to relay message (src, nonce) to `cs`. */
  private designated(cs: ChainState, src: bigint, nonce: bigint): number {
    const round = nonce / BigInt(this.cfg.tuning.roundSize);
    return Number((round + src + cs.id) % BigInt(cs.current.members.length));
  }

  /** This member's rank for `p`: 0 relays at once, rank k may take over later; -1 = not a member. */
  private rank(cs: ChainState, p: PendingMessage): number {
    const members = cs.current.members;
    const mine = members.indexOf(this.me);
    if (mine < 0) return -1;
    return (mine - this.designated(cs, p.msg.srcChainId, p.msg.nonce) + members.length) % members.length;
  }

  /**
   * When member of rank `r` may relay `p`: at once for rank 0; otherwise r × takeoverMs after the
   * message became ready AND after the designated relayer was last seen delivering anything. A
   * relayer that is alive but behind (a backlog) keeps its messages; a dead one loses them after
   * the timeout. Past 10 × takeoverMs anyone of rank r takes over regardless.
   */
  private dueAt(cs: ChainState, p: PendingMessage, r: number): number {
    if (r === 0) return p.readyAt!;
    const wait = r * this.cfg.tuning.takeoverMs;
    const d = this.designated(cs, p.msg.srcChainId, p.msg.nonce);
    const progress = cs.progress.get(cs.current.members[d]!) ?? 0;
    return Math.min(Math.max(p.readyAt!, progress) + wait, p.readyAt! + 10 * wait);
  }

  private scheduleFlush(cs: ChainState, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (cs.flushTimer && cs.flushAt <= at) return;
    if (cs.flushTimer) clearTimeout(cs.flushTimer);
    cs.flushAt = at;
    cs.flushTimer = setTimeout(() => {
      cs.flushTimer = undefined;
      void this.flush(cs);
    }, delayMs);
  }

  private async flush(cs: ChainState): Promise<void> {
    if (!cs.ready || !cs.sender) return;
    if (cs.flushing) {
      cs.flushAgain = true;
      return;
    }
    cs.flushing = true;
    try {
      while (cs.inFlight < this.cfg.tuning.maxInFlight && !this.stopped) {
        const sent = await this.submitOne(cs);
        if (!sent) break;
      }
    } catch (e) {
      this.log("warn", "relay failed", { chain: cs.cfg.name, error: (e as Error).message?.split("\n")[0] });
      this.scheduleFlush(cs, 250);
    } finally {
      cs.flushing = false;
      if (cs.flushAgain) {
        cs.flushAgain = false;
        this.scheduleFlush(cs, 0);
      }
    }
  }

  /** Builds and sends one batch; false when nothing is eligible now. */
  private async submitOne(cs: ChainState): Promise<boolean> {
    const now = Date.now();
    const batch: { p: PendingMessage; sigs: string[] }[] = [];
    let nextAt = Infinity;
    for (const p of cs.pending.values()) {
      if (batch.length >= cs.batchCap) break;
      if (p.inflight || p.readyAt === undefined) continue;
      if (this.isPaused(cs, p.msg.srcChainId)) continue;
      const r = this.rank(cs, p);
      if (r < 0) continue;
      const due = this.dueAt(cs, p, r);
      if (due > now) {
        nextAt = Math.min(nextAt, due);
        continue;
      }
      const sigs = this.quorum(cs, p);
      if (!sigs) {
        p.readyAt = undefined;
        continue;
      }
      batch.push({ p, sigs });
    }
    if (nextAt !== Infinity) this.scheduleFlush(cs, nextAt - now);
    if (batch.length === 0) return false;

    // Someone else may have delivered them already (we are taking over, a member restarted, or an
    // earlier attempt of ours was refused). The designated relayer's first attempt skips the check.
    let todo = batch;
    let already: typeof batch = [];
    if (batch.some((b) => b.p.attempts > 0 || this.rank(cs, b.p) > 0)) {
      const mask = await this.executedMask(cs, batch.map((b) => b.p));
      todo = batch.filter((_, i) => !mask[i]);
      already = batch.filter((_, i) => mask[i]);
    }
    if (already.length > 0) {
      await this.store.commit({ done: already.map((b) => ({ key: b.p.key, digest: b.p.digest })) });
      for (const b of already) {
        this.noteDone(b.p.key);
        this.forget(cs, b.p.key, true);
      }
    }
    if (todo.length === 0) return true;

    const sender = cs.sender!;
    const fixed = 100_000n + (cs.appGasLimit * 64n) / 63n + 60_000n;
    let n = todo.length;
    while (n > 1 && fixed + BigInt(n) * cs.perMessageGas > sender.blockGasLimit) n = Math.floor(n / 2);
    const chosen = todo.slice(0, n);
    const wanted = fixed + BigInt(n) * cs.perMessageGas;
    const gasLimit = wanted > sender.blockGasLimit ? sender.blockGasLimit : wanted;
    const data = encodeDeliver(
      chosen.map((b) => b.p.msg),
      chosen.map((b) => packSignatures(b.sigs)),
    );
    for (const b of chosen) {
      b.p.inflight = true;
      b.p.attempts++;
    }
    cs.inFlight++;
    let sentTx;
    try {
      sentTx = await sender.send(cs.cfg.inbox, data, gasLimit);
    } catch (e) {
      cs.inFlight--;
      for (const b of chosen) b.p.inflight = false;
      await this.onSubmitError(cs, chosen, e);
      return false;
    }
    void sentTx
      .wait()
      .then(async (receipt) => {
        if (receipt.status === 1) return receipt;
        const err = await this.revertOf(cs, data);
        // All the gas used and no reason: the batch ran out of gas.
        if (!err.errorName && receipt.gasUsed >= (gasLimit * 99n) / 100n) return Promise.reject(new ContractRevertError("OutOfGas", [receipt.gasUsed], undefined));
        return Promise.reject(err);
      })
      .then(
      (receipt) => this.onDelivered(cs, chosen, receipt),
      (e: unknown) => this.onSubmitError(cs, chosen, e),
    ).finally(() => {
      cs.inFlight--;
      for (const b of chosen) b.p.inflight = false;
      this.scheduleFlush(cs, 0);
    });
    return true;
  }

  /** Replays a reverted deliver as a call to learn its custom error (none: it ran out of gas). */
  private async revertOf(cs: ChainState, data: string): Promise<ContractRevertError> {
    let raw: string | undefined;
    try {
      await cs.provider.send("eth_call", [{ from: this.me, to: cs.cfg.inbox, data }, "latest"]);
    } catch (e) {
      raw = revertData(e);
    }
    if (raw) {
      try {
        const parsed = inboxIface.parseError(raw);
        if (parsed) return new ContractRevertError(parsed.name, [...parsed.args], raw);
      } catch {
        /* not an inbox error */
      }
    }
    return new ContractRevertError(undefined, [], raw);
  }

  private async onDelivered(cs: ChainState, batch: { p: PendingMessage }[], receipt: RelayReceipt): Promise<void> {
    let failed = 0;
    for (const l of receipt.logs) if (l.topics[0] === TOPIC_FAILED) failed++;
    this.metrics.submissions.inc({ dst: cs.cfg.name, result: "ok" });
    this.metrics.relayed.inc({ dst: cs.cfg.name, outcome: "executed" }, batch.length - failed);
    if (failed > 0) this.metrics.relayed.inc({ dst: cs.cfg.name, outcome: "app_failed" }, failed);
    // Learn the per-message cost with 50% headroom: rise at once, decay slowly. A batch whose apps
    // cost more than estimated fails the inbox's gas check and is retried smaller (onSubmitError).
    const want = ((receipt.gasUsed / BigInt(batch.length)) * 3n) / 2n;
    const decayed = (cs.perMessageGas * 19n) / 20n;
    cs.perMessageGas = want > decayed ? want : decayed < 60_000n ? 60_000n : decayed;
    cs.batchCap = Math.min(this.cfg.tuning.maxBatch, cs.batchCap * 2);
    await this.store.commit({ done: batch.map((b) => ({ key: b.p.key, digest: b.p.digest })) });
    for (const b of batch) {
      this.noteDone(b.p.key);
      this.forget(cs, b.p.key, true);
    }
    this.updateGauges();
  }

  private async onSubmitError(cs: ChainState, batch: { p: PendingMessage }[], e: unknown): Promise<void> {
    const name = e instanceof ContractRevertError ? (e.errorName ?? "unknown") : "send";
    this.metrics.submissions.inc({ dst: cs.cfg.name, result: name });
    if (name === "InboxAlreadyExecuted") return; // the next flush filters with areExecuted
    if (name === "InboxPaused") {
      await this.refreshPause(cs).catch(() => undefined);
      return;
    }
    if (SIGNATURE_ERRORS.has(name)) {
      this.verifySignatures(cs, batch, e as ContractRevertError);
      return;
    }
    // Out of gas, or too little gas left for the last app's cap (the inbox reverts with
    // InboxInsufficientGas; the replay at the next block cannot see that, hence "unknown"):
    // smaller batches, more gas each.
    if (name === "OutOfGas" || name === "InboxInsufficientGas" || name === "unknown") {
      cs.batchCap = Math.max(1, Math.floor(cs.batchCap / 2));
      cs.perMessageGas = (cs.perMessageGas * 3n) / 2n;
    }
    this.log("warn", "deliver failed", { chain: cs.cfg.name, error: (e as Error).message?.split("\n")[0], batch: batch.length, perMessageGas: String(cs.perMessageGas) });
  }

  /** Slow path after a refused batch: recover every signature and drop those that are not a member's. */
  private verifySignatures(cs: ChainState, batch: { p: PendingMessage }[], e: ContractRevertError): void {
    const valid = new Set([...cs.current.members, ...(cs.previous?.members ?? [])].map((m) => m.toLowerCase()));
    if (e.errorName === "InboxNotMember") {
      // The signature recovers to a member the inbox no longer accepts (its grace period ended).
      const signer = String(e.args[0]).toLowerCase();
      if (valid.has(signer)) cs.excluded.add(signer);
    }
    for (const { p } of batch) {
      for (const [signer, sig] of p.sigs) {
        let ok = false;
        try {
          ok = recoverAddress(p.digest, sig).toLowerCase() === signer && valid.has(signer);
        } catch {
          ok = false;
        }
        if (!ok) {
          p.sigs.delete(signer);
          p.bad.add(signer);
          this.metrics.signaturesRejected.inc({ reason: "invalid" });
          this.log("warn", "dropped an invalid signature", { key: p.key, signer });
        }
      }
      p.readyAt = undefined;
      this.evaluate(cs, p);
    }
    void this.refreshSets(cs).catch(() => undefined);
  }

  // ------------------------------------------------------------------ bookkeeping

  private item(p: PendingMessage): SignatureItem {
    return [p.msg.dstChainId.toString(), p.msg.srcChainId.toString(), p.msg.nonce.toString(), p.digest, p.own];
  }

  private toStored(p: PendingMessage): StoredMessage {
    return {
      key: p.key,
      srcChainId: p.msg.srcChainId.toString(),
      srcSender: p.msg.srcSender,
      nonce: p.msg.nonce.toString(),
      dstChainId: p.msg.dstChainId.toString(),
      dstContract: p.msg.dstContract,
      payload: p.msg.payload,
      digest: p.digest,
      signature: p.own,
      firstSeen: p.firstSeen,
    };
  }

  private fromStored(s: StoredMessage): PendingMessage {
    return {
      key: s.key,
      msg: {
        srcChainId: BigInt(s.srcChainId),
        srcSender: s.srcSender,
        nonce: BigInt(s.nonce),
        dstChainId: BigInt(s.dstChainId),
        dstContract: s.dstContract,
        payload: s.payload,
      },
      digest: s.digest,
      firstSeen: s.firstSeen,
      own: s.signature,
      sigs: new Map([[this.me.toLowerCase(), s.signature]]),
      bad: new Set(),
      readyAt: undefined,
      inflight: false,
      attempts: 0,
      lastResend: Date.now(),
    };
  }

  private updateGauges(): void {
    for (const cs of this.chains.values()) {
      let ready = 0;
      for (const p of cs.pending.values()) if (p.readyAt !== undefined) ready++;
      this.metrics.pending.set({ dst: cs.cfg.name }, cs.pending.size);
      this.metrics.ready.set({ dst: cs.cfg.name }, ready);
    }
  }

  health(): MemberHealth {
    const now = Date.now();
    const chains = [...this.chains.values()].map((cs) => ({
      name: cs.cfg.name,
      chainId: cs.cfg.chainId,
      head: cs.head,
      cursor: cs.cursor,
      lag: Math.max(0, cs.head - cs.cursor),
      ready: cs.ready,
      lastPollAgoMs: cs.lastPollAt ? now - cs.lastPollAt : -1,
      error: cs.lastError ?? null,
    }));
    let pending = 0;
    let ready = 0;
    let inFlight = 0;
    for (const cs of this.chains.values()) {
      pending += cs.pending.size;
      inFlight += cs.inFlight;
      for (const p of cs.pending.values()) if (p.readyAt !== undefined) ready++;
    }
    const stale = Math.max(5000, this.cfg.tuning.pollIntervalMs * 20);
    return {
      ok: chains.every((c) => c.ready && c.lastPollAgoMs >= 0 && c.lastPollAgoMs < stale),
      member: this.cfg.index,
      address: this.me,
      uptimeSec: Math.round((now - this.started) / 1000),
      chains,
      pending,
      ready,
      inFlight,
      signatures: { own: this.ownSigs, peer: this.peerSigs },
      peers: this.peers.peerStatus(),
      ...(this.custodian ? { custody: { ...this.custodian.stats } } : {}),
      ...(this.checkpointer ? { checkpointer: { ...this.checkpointer.stats } } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resendTimer) clearInterval(this.resendTimer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    for (const t of this.pollTimers.values()) clearTimeout(t);
    for (const cs of this.chains.values()) {
      if (cs.flushTimer) clearTimeout(cs.flushTimer);
    }
    await Promise.all(this.polls.values());
    await this.custodian?.stop();
    await this.checkpointer?.stop();
    this.peers.stop();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    // Give in-flight scans a moment to finish their LevelDB batch.
    for (let i = 0; i < 50 && [...this.chains.values()].some((c) => c.inFlight > 0); i++) await new Promise((r) => setTimeout(r, 20));
    for (const cs of this.chains.values()) cs.provider.destroy();
    await this.store.close();
  }
}
