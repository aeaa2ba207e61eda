// The chain watcher: polls one chain for the logs the member acts on (outbox MessageSent, the
// inbox's executions, member-set, pause and batch events, and the RelayPayload apps' events),
// confirmations deep, in ranges cut at block boundaries, and hands each chunk over decoded. It
// owns the chain's view of the inbox (member sets, pauses, clock offset, who delivered lately)
// and the in-memory cursor; the cursor is persisted by whoever handles the chunk, in the same
// LevelDB batch as what the chunk produced.
import { HeadFollower, settledBlock } from "@sidegrid/chain";
import { getAddress, type SigningKey } from "ethers";
import { FederationInbox__factory, FederationOutbox__factory } from "../generated";
import { messageKey, type FederationMessage } from "../messages";
import type { MemberMetrics } from "./metrics";
import type { ChainState, EventSource, MemberLogger } from "./state";
import { Ticker } from "./ticker";
import { RelaySender } from "./wire";

const outboxIface = FederationOutbox__factory.createInterface();
const inboxIface = FederationInbox__factory.createInterface();
export const TOPIC_SENT = outboxIface.getEvent("MessageSent").topicHash;
export const TOPIC_EXECUTED = inboxIface.getEvent("MessageExecuted").topicHash;
export const TOPIC_FAILED = inboxIface.getEvent("MessageFailed").topicHash;
const TOPIC_SET = inboxIface.getEvent("MemberSetUpdated").topicHash;
const TOPIC_PAUSE = inboxIface.getEvent("PauseChanged").topicHash;
const TOPIC_BATCH = inboxIface.getEvent("BatchDelivered").topicHash;
/** Logs handed over per step when catching up. */
const CHUNK_LOGS = 200;

export interface RawLog {
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

/** What one chunk of a chain's logs says. */
export interface Observation {
  /** Messages to relay, from the outbox and the event sources (in log order). */
  sent: FederationMessage[];
  /** The block each of `sent` was emitted in (the attester batches per source block). */
  sentBlocks: number[];
  /** Messages executed (or consumed as failed) on this chain: key, digest and the block. */
  executed: { key: string; digest: string; block: number }[];
  /** Members seen delivering a batch here. */
  deliveredBy: string[];
  setsChanged: boolean;
  pauseChanged: boolean;
  /** Event-source logs that did not decode. */
  undecodable: number;
}

/** Decodes one chunk of `cs`'s logs (those of other contracts are ignored). */
export function decodeLogs(cs: Pick<ChainState, "id" | "cfg" | "sources">, logs: readonly RawLog[]): Observation {
  const outbox = cs.cfg.outbox.toLowerCase();
  const inbox = cs.cfg.inbox.toLowerCase();
  const o: Observation = { sent: [], sentBlocks: [], executed: [], deliveredBy: [], setsChanged: false, pauseChanged: false, undecodable: 0 };
  for (const l of logs) {
    const t0 = l.topics[0];
    const address = l.address.toLowerCase();
    const source = cs.sources.find((x) => x.address === address && x.topic === t0);
    if (source) {
      const msgs = fromEvent(cs.id, source, l);
      if (msgs) {
        o.sent.push(...msgs);
        const block = Number(BigInt(l.blockNumber));
        for (let i = 0; i < msgs.length; i++) o.sentBlocks.push(block);
      } else o.undecodable++;
      continue;
    }
    if (address === outbox) {
      if (t0 !== TOPIC_SENT) continue;
      // data = abi.encode(address dstContract, bytes payload): word 0 the address, word 1 the
      // offset (0x40), word 2 the length, then the bytes. Decoded by hand: ethers' ABI decoder
      // and checksumming cost more than signing here.
      const len = Number.parseInt(l.data.slice(2 + 128, 2 + 192), 16);
      o.sent.push({
        srcChainId: cs.id,
        srcSender: `0x${l.topics[3]!.slice(26)}`,
        nonce: BigInt(l.topics[2]!),
        dstChainId: BigInt(l.topics[1]!),
        dstContract: `0x${l.data.slice(26, 66)}`,
        payload: `0x${l.data.slice(2 + 192, 2 + 192 + len * 2)}`,
      });
      o.sentBlocks.push(Number(BigInt(l.blockNumber)));
    } else if (address !== inbox) {
      continue; // an app's event that merely shares a topic with the inbox's
    } else if (t0 === TOPIC_EXECUTED || t0 === TOPIC_FAILED) {
      const digest = `0x${l.data.slice(2, 66)}`;
      o.executed.push({ key: messageKey(cs.id, BigInt(l.topics[1]!), BigInt(l.topics[2]!)), digest, block: Number(BigInt(l.blockNumber)) });
    } else if (t0 === TOPIC_BATCH) o.deliveredBy.push(getAddress(`0x${l.topics[1]!.slice(26)}`));
    else if (t0 === TOPIC_SET) o.setsChanged = true;
    else if (t0 === TOPIC_PAUSE) o.pauseChanged = true;
  }
  return o;
}

/** The RelayPayload adapter: one message per destination of an app event; undefined if it does not decode. */
function fromEvent(srcChainId: bigint, source: EventSource, l: RawLog): FederationMessage[] | undefined {
  let args: Record<string, unknown>;
  try {
    args = source.iface.parseLog({ topics: l.topics, data: l.data })!.args as unknown as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const e = source.cfg;
  const routes =
    e.dstChainIdArg !== undefined && e.dstContractArg !== undefined
      ? [{ dstChainId: BigInt(args[e.dstChainIdArg] as bigint), dstContract: String(args[e.dstContractArg]) }]
      : (e.routes ?? []).map((r) => ({ dstChainId: BigInt(r.dstChainId), dstContract: r.dstContract }));
  const block = Number(BigInt(l.blockNumber));
  const logIndex = Number(BigInt(l.logIndex));
  return routes.map((r, i) => ({
    srcChainId,
    srcSender: source.address,
    nonce: eventNonce(block, logIndex, i),
    dstChainId: r.dstChainId,
    dstContract: r.dstContract,
    payload: String(args[e.payloadArg]),
  }));
}

/** What the watcher tells the rest of the member. */
export interface WatcherHooks {
  /**
   * A decoded chunk up to block `toBlock` (inclusive): persist what it produces together with the
   * cursor. The watcher moves its cursor once this resolves; a rejection retries the range.
   */
  observed(cs: ChainState, o: Observation, toBlock: number): Promise<void>;
  /** The chain answered for the first time (sets and pauses read): pending messages can be judged. */
  ready(cs: ChainState): void;
  /** The member set or a pause changed: pending messages must be judged again. */
  membershipChanged(cs: ChainState): void;
  /** A poll ended; `unpaused` when a pause expired by the chain's clock. */
  polled(cs: ChainState, unpaused: boolean): void;
}

export interface ChainWatcherParameters {
  chain: ChainState;
  /** Every chain the member serves (pauses are per source chain). */
  chainIds: readonly bigint[];
  key: SigningKey;
  address: string;
  pollIntervalMs: number;
  /** Poll interval while subscribed to new heads (`chain.cfg.wsUrl`). */
  idlePollMs?: number;
  logRangeBlocks: number;
  metrics: MemberMetrics;
  log: MemberLogger;
  hooks: WatcherHooks;
}

/**
 * Polls one chain until stopped.
 *
 * @example
 * const w = new ChainWatcher({ chain: cs, chainIds, key, address, pollIntervalMs: 100, logRangeBlocks: 2000, metrics, log, hooks });
 * w.start();
 * await w.stop();
 */
export class ChainWatcher {
  private readonly ticker: Ticker;
  private stopped = false;
  private heads: HeadFollower | undefined;
  // Subscription liveness: notifications counted at the last poll, the head it saw, and how many
  // polls in a row found new blocks that no notification announced.
  private notified = 0;
  private lastHead = -1;
  private silent = 0;

  constructor(private readonly p: ChainWatcherParameters) {
    // Subscribed, a poll per new head plus a slow fallback; otherwise every pollIntervalMs.
    this.ticker = new Ticker(
      () => this.once(),
      // A subscription under suspicion (a failed poll, silent heads) does not earn the slow interval.
      () => (this.heads?.subscribed && this.silent === 0 ? Math.max(p.pollIntervalMs, p.idlePollMs ?? 2000) : p.pollIntervalMs),
    );
  }

  get chain(): ChainState {
    return this.p.chain;
  }

  /** True while new heads arrive by subscription (polling only as a fallback). */
  get subscribed(): boolean {
    return this.heads?.subscribed ?? false;
  }

  start(): void {
    // A dropped socket means fast polling (the ticker's interval follows `subscribed`) until the
    // follower has subscribed again.
    this.subscribe();
    this.ticker.start();
  }

  private subscribe(): void {
    if (!this.p.chain.cfg.wsUrl) return;
    this.heads = new HeadFollower({ wsUrl: this.p.chain.cfg.wsUrl, onHead: () => this.kick() });
    this.notified = 0;
    this.heads.start();
  }

  /**
   * A socket left half-open by a network partition stays "subscribed" and delivers nothing, and
   * the member would follow the chain only every idlePollMs. Two polls in a row that find new
   * blocks no notification announced (one, after a failed poll) mean the subscription is dead:
   * subscribe again, polling fast meanwhile.
   */
  private checkSubscription(head: number): void {
    const f = this.heads;
    if (!f || this.stopped) return;
    if (f.subscribed && this.lastHead >= 0 && head > this.lastHead && f.heads === this.notified) this.silent++;
    else this.silent = 0;
    this.notified = f.heads;
    this.lastHead = head;
    if (this.silent < 2) return;
    this.silent = 0;
    this.p.log("warn", "head subscription silent while the chain advanced; subscribing again", { chain: this.p.chain.cfg.name, head });
    void f.stop();
    this.subscribe();
  }

  /** Polls at once (a new head arrived); a poll under way is followed by another. */
  kick(): void {
    this.ticker.kick();
  }

  private async once(): Promise<void> {
    const cs = this.p.chain;
    try {
      if (!cs.ready) await this.init();
      await this.poll();
      cs.lastError = undefined;
      this.checkSubscription(cs.head);
    } catch (e) {
      // The chain was unreachable: the subscription may not have survived either.
      this.silent = Math.max(this.silent, 1);
      const msg = (e as Error).message?.split("\n")[0] ?? String(e);
      if (cs.lastError !== msg) this.p.log("warn", "poll failed", { chain: cs.cfg.name, error: msg });
      cs.lastError = msg;
    }
  }

  /** Stops polling; resolves when the poll under way (and its handler) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.heads?.stop();
    await this.ticker.stop();
  }

  private async init(): Promise<void> {
    const cs = this.p.chain;
    cs.sender ??= await RelaySender.create(this.p.key, this.p.address, cs.rpc, cs.id);
    const inbox = FederationInbox__factory.connect(cs.cfg.inbox, cs.provider);
    cs.appGasLimit = await inbox.appGasLimit();
    await this.refreshSets();
    await this.refreshPause();
    cs.ready = true;
    this.p.hooks.ready(cs);
  }

  /** Reads the current (and previous, in its grace period) member set from the inbox. */
  async refreshSets(): Promise<void> {
    const cs = this.p.chain;
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

  /** Reads every pause (all sources and each source chain) from the inbox. */
  async refreshPause(): Promise<void> {
    const cs = this.p.chain;
    const inbox = FederationInbox__factory.connect(cs.cfg.inbox, cs.provider);
    const ids = [0n, ...this.p.chainIds.filter((k) => k !== cs.id)];
    const until = await Promise.all(ids.map((id) => inbox.pausedUntil(id)));
    cs.paused = new Map(ids.flatMap((id, i) => (until[i]! > 0n ? [[id, Number(until[i])] as const] : [])));
  }

  private async poll(): Promise<void> {
    const cs = this.p.chain;
    const block = (await cs.rpc.send("eth_getBlockByNumber", ["latest", false])) as { number: string; timestamp: string };
    const head = Number(BigInt(block.number));
    cs.head = head;
    // Grace periods are judged by the chain's clock, which tests (and skewed nodes) move.
    cs.clockOffset = Number(BigInt(block.timestamp)) - Date.now() / 1000;
    // A minority pause ends without an event: once the chain's clock passes it, flush what waited.
    const expired = [...cs.paused].filter(([, until]) => until <= Number(BigInt(block.timestamp)));
    for (const [id] of expired) cs.paused.delete(id);
    if (expired.length > 0) this.p.hooks.polled(cs, true);
    // Depth and, where configured, age: a block younger than minBlockAgeMs may still vanish (an anvil
    // restarted from its state dump, a shallow rollback), so nothing it holds is relayed yet.
    const settled = await settledBlock(cs.rpc, { head: block, confirmations: cs.cfg.confirmations, minAgeMs: cs.cfg.minBlockAgeMs ?? 0, floor: cs.cursor });
    const safe = settled.block;
    // A block seen too young: look again when it has aged (no new head may come to wake us).
    if (settled.nextAtMs !== undefined) this.ticker.kickAt(settled.nextAtMs);
    this.p.metrics.chainHead.set({ chain: cs.cfg.name }, head);
    while (cs.cursor < safe && !this.stopped) {
      const from = cs.cursor + 1;
      const to = Math.min(safe, from + this.p.logRangeBlocks - 1);
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
        await this.handle(logs.slice(start, end), last);
        start = end;
        if (start < logs.length) await new Promise((r) => setImmediate(r));
      }
      if (logs.length === 0) await this.handle([], to);
    }
    cs.lastPollAt = Date.now();
    this.p.metrics.chainCursor.set({ chain: cs.cfg.name }, cs.cursor);
    this.p.metrics.chainLag.set({ chain: cs.cfg.name }, Math.max(0, head - cs.cursor));
    this.p.hooks.polled(cs, false);
  }

  private async handle(logs: readonly RawLog[], to: number): Promise<void> {
    const cs = this.p.chain;
    const o = decodeLogs(cs, logs);
    if (o.undecodable > 0) this.p.metrics.signaturesRejected.inc({ reason: "undecodable_event" }, o.undecodable);
    const now = Date.now();
    for (const m of o.deliveredBy) cs.progress.set(m, now);
    await this.p.hooks.observed(cs, o, to);
    cs.cursor = to;
    if (o.setsChanged) await this.refreshSets();
    if (o.pauseChanged) await this.refreshPause();
    if (o.setsChanged || o.pauseChanged) this.p.hooks.membershipChanged(cs);
  }
}
