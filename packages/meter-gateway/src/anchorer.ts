// Moves the outbox to BlockSEC: takes pending records oldest first, re-checks consent (a
// revocation that landed after ingest drops them here), sends them as anchorBatch transactions
// sized by gas, and marks them anchored with tx hash and Merkle proof. Crash safety:
// - before sending with nothing in flight, the current block number is written to the store
//   ("safe block": every earlier transaction of this gateway is accounted for);
// - on start, batches this gateway anchored since the safe block are read back from the chain
//   and their records marked anchored, so nothing is sent twice;
// - whatever slips through is caught by the ledger itself, which skips a (meter, sequence) it
//   already holds; the skipped records' original anchors are looked up and recorded.
import type { GatewayMetrics } from "./metrics";
import type { CachedPolicy } from "./policy";
import type { AnchorInfo, BatchRecord, GatewayStore, OutboxRecord } from "./store";
import { keys } from "./store";
import { AnchorWatch } from "./anchorWatch";

export interface AnchoredItem {
  meterId: number;
  sequence: number;
  anchor: AnchorInfo;
}

export interface AnchorOutcome {
  anchored: AnchoredItem[];
  /** Leaves of the batches the anchored items are in. */
  batches: BatchRecord[];
  /** Records the chain refused to store (consent changed on the way). */
  rejected: { meterId: number; sequence: number; reason: string }[];
  txs: { hash: string; gasUsed: bigint; stored: number; skipped: number; rejected: number; blockNumber?: number; blockHash?: string }[];
}

/** What the anchorer needs from a data ledger (BlockSEC's MeterDataLedger in production). */
export interface AnchorLedger {
  anchor(records: readonly OutboxRecord[]): Promise<AnchorOutcome>;
  /** Anchors of batches this gateway sent since `fromBlock`. */
  recover(fromBlock: number): Promise<{ anchored: AnchoredItem[]; batches: BatchRecord[] }>;
  blockNumber(): Promise<number>;
  /** For the rollback watch (anchorWatch.ts): the canonical block hash at a height, and a nonce re-read. */
  blockHash?(n: number): Promise<string | null>;
  resync?(): Promise<void>;
}

export interface AnchorerOptions {
  store: GatewayStore;
  ledger: AnchorLedger;
  policy: CachedPolicy;
  metrics?: GatewayMetrics;
  /**
   * Sends pending epoch-key publications before every round's anchor transaction (same sender:
   * the keys' transactions are mined first); a failed publication stays pending and is retried.
   */
  keys?: { sendPending(): Promise<{ done: Promise<number> }> };
  /** Records per anchoring round (split further by gas; default 2000). */
  maxBatch?: number;
  /** Send whatever is pending at least this often (default 250 ms). */
  flushIntervalMs?: number;
  /** Concurrent rounds (pipelined transactions; default 2). */
  maxInFlight?: number;
  /**
   * Watch recent anchors for rollbacks (reorgs, a node restarted from an older state) and send
   * again what left the chain: every `intervalMs` (default 2,000), blocks up to `depth` deep
   * (default 64). Needs `ledger.blockHash` and `ledger.resync`; `false` turns it off.
   */
  watch?: { depth?: number; intervalMs?: number } | false;
  /** Called after records were marked anchored. */
  onAnchored?: (items: readonly AnchoredItem[]) => void;
  /** Called when anchors from `fromBlock` on left the chain and `records` went back to the outbox. */
  onRollback?: (fromBlock: number, records: number) => void;
  onError?: (e: unknown) => void;
}

export interface AnchorerStats {
  rounds: number;
  anchored: number;
  dropped: number;
  rejected: number;
  recovered: number;
  txs: number;
  gasUsed: bigint;
  errors: number;
  lastError: string | null;
  /** Cumulative wall time (ms) of the round phases: choose pending, re-check consent, send + receipts, bookkeeping. */
  timings: { select: number; consent: number; ledger: number; mark: number };
}

const SAFE_BLOCK = "anchorSafeBlock";

/**
 * The outbox → BlockSEC loop.
 * @example
 * const anchorer = new Anchorer({ store, ledger, policy }); await anchorer.start(); ... await anchorer.stop();
 */
export class Anchorer {
  readonly stats: AnchorerStats = { rounds: 0, anchored: 0, dropped: 0, rejected: 0, recovered: 0, txs: 0, gasUsed: 0n, errors: 0, lastError: null, timings: { select: 0, consent: 0, ledger: 0, mark: 0 } };
  private readonly inFlightKeys = new Set<string>();
  private inFlight = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRound = 0;
  private pumping = false;
  private readonly rounds = new Set<Promise<void>>();
  private backoffUntil = 0;
  private readonly maxBatch: number;
  private readonly interval: number;
  private readonly maxInFlight: number;
  /** Undone anchors go back to the outbox (absent when the ledger cannot say block hashes). */
  readonly watch: AnchorWatch | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching: Promise<unknown> | undefined;

  constructor(private readonly o: AnchorerOptions) {
    this.maxBatch = o.maxBatch ?? 2000;
    this.interval = o.flushIntervalMs ?? 250;
    this.maxInFlight = o.maxInFlight ?? 2;
    const { blockHash, resync } = o.ledger;
    if (o.watch !== false && blockHash && resync) {
      this.watch = new AnchorWatch(
        o.store,
        { blockNumber: () => o.ledger.blockNumber(), blockHash: (n) => blockHash.call(o.ledger, n), resync: () => resync.call(o.ledger) },
        { ...(o.watch?.depth !== undefined ? { depth: o.watch.depth } : {}), onRollback: (from, n) => o.onRollback?.(from, n) },
      );
    }
  }

  /** Recovers anchors of a previous run, then starts the loop. */
  async start(): Promise<void> {
    await this.recover();
    this.running = true;
    this.timer = setInterval(() => void this.pump(), Math.max(10, Math.floor(this.interval / 2)));
    if (this.watch) {
      const every = (this.o.watch || undefined)?.intervalMs ?? 2000;
      this.watchTimer = setInterval(() => {
        if (this.watching) return;
        this.watching = this.watch!.check().catch((e: unknown) => this.o.onError?.(e)).finally(() => (this.watching = undefined));
      }, every);
    }
  }

  /** Reads back what the chain holds from this gateway since the safe block. */
  async recover(): Promise<number> {
    const from = (await this.o.store.getMeta<number>(SAFE_BLOCK)) ?? 0;
    const { anchored, batches } = await this.o.ledger.recover(from);
    const n = anchored.length ? await this.o.store.markAnchored(anchored, { batches }) : 0;
    this.stats.recovered += n;
    if (n) this.afterAnchored(anchored, n);
    return n;
  }

  /** Nudges the loop (new records enqueued). */
  wake(): void {
    if (this.running && this.o.store.pendingCount - this.inFlightKeys.size >= this.maxBatch) void this.pump();
  }

  /** Waits until nothing is pending or in flight (tests, graceful shutdown), up to `timeoutMs`. */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.o.store.pendingCount === 0 && this.inFlight === 0) return true;
      await this.pump(true);
      // Done now: no pause (benches time drain()).
      if (this.o.store.pendingCount === 0 && this.inFlight === 0) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    await this.watching;
    await Promise.allSettled([...this.rounds]);
  }

  get inFlightRecords(): number {
    return this.inFlightKeys.size;
  }

  private async pump(force = false): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while ((this.running || force) && this.inFlight < this.maxInFlight && Date.now() >= this.backoffUntil) {
        const available = this.o.store.pendingCount - this.inFlightKeys.size;
        if (available <= 0) break;
        if (!force && available < this.maxBatch && Date.now() - this.lastRound < this.interval) break;
        const t0 = Date.now();
        const batch = await this.o.store.pendingRecords(this.maxBatch, this.inFlightKeys);
        this.stats.timings.select += Date.now() - t0;
        if (batch.length === 0) break;
        this.lastRound = Date.now();
        const p = this.round(batch).finally(() => this.rounds.delete(p));
        this.rounds.add(p);
        if (force) await p;
      }
    } finally {
      this.pumping = false;
    }
  }

  private async round(batch: OutboxRecord[]): Promise<void> {
    const batchKeys = batch.map((r) => keys.record(r.meterId, r.sequence));
    for (const k of batchKeys) this.inFlightKeys.add(k);
    this.inFlight++;
    try {
      // Consent may have been revoked since ingest: such records are dropped, never sent.
      let t = Date.now();
      const verdicts = await Promise.all(batch.map((r) => this.o.policy.permitsRecord(r.consumer, r.category, r.resolution)));
      const send = batch.filter((_, i) => verdicts[i]);
      const drop = batch.filter((_, i) => !verdicts[i]);
      if (drop.length) {
        await this.o.store.dropPending(drop);
        this.stats.dropped += drop.length;
        this.o.metrics?.droppedRecords.inc({ reason: "consent" }, drop.length);
      }
      this.stats.timings.consent += Date.now() - t;
      if (send.length === 0) return;
      t = Date.now();
      if (this.inFlight === 1) await this.o.store.putMeta(SAFE_BLOCK, await this.o.ledger.blockNumber());
      const keyTxs = this.o.keys ? await this.o.keys.sendPending() : undefined;
      const outcome = await this.o.ledger.anchor(send);
      this.stats.timings.ledger += Date.now() - t;
      t = Date.now();
      this.stats.rounds++;
      const n = await this.o.store.markAnchored(outcome.anchored, { records: send, batches: outcome.batches });
      this.stats.timings.mark += Date.now() - t;
      if (outcome.rejected.length) {
        const rej = new Set(outcome.rejected.map((r) => keys.record(r.meterId, r.sequence)));
        await this.o.store.dropPending(send.filter((r) => rej.has(keys.record(r.meterId, r.sequence))));
        this.stats.rejected += outcome.rejected.length;
        this.o.metrics?.droppedRecords.inc({ reason: "rejected-by-ledger" }, outcome.rejected.length);
      }
      for (const t of outcome.txs) {
        this.stats.txs++;
        this.stats.gasUsed += t.gasUsed;
        this.o.metrics?.anchorTxs.inc();
        this.o.metrics?.anchorGas.inc(Number(t.gasUsed));
      }
      const now = Date.now();
      const byKey = new Map(send.map((r) => [keys.record(r.meterId, r.sequence), r]));
      for (const a of outcome.anchored) {
        const r = byKey.get(keys.record(a.meterId, a.sequence));
        if (r) this.o.metrics?.readingToAnchor.observe((now - r.readAt) / 1000);
      }
      this.afterAnchored(outcome.anchored, n);
      if (this.watch) {
        const mine = new Map(outcome.txs.filter((x) => x.blockHash && x.blockNumber !== undefined).map((x) => [x.hash, x]));
        const byTx = new Map<string, { meterId: number; sequence: number }[]>();
        for (const a of outcome.anchored) if (mine.has(a.anchor.txHash)) byTx.set(a.anchor.txHash, [...(byTx.get(a.anchor.txHash) ?? []), { meterId: a.meterId, sequence: a.sequence }]);
        for (const [hash, items] of byTx) this.watch.track(mine.get(hash)!.blockNumber!, mine.get(hash)!.blockHash!, hash, items);
      }
      // The records are anchored whatever happened to the keys; a key that did not land is retried next round.
      if (keyTxs) await keyTxs.done.catch((e: unknown) => this.o.onError?.(e));
    } catch (e) {
      this.stats.errors++;
      this.stats.lastError = (e as Error)?.message?.split("\n")[0] ?? String(e);
      // The records stay pending; try again after a pause (node down, gas, nonce trouble).
      this.backoffUntil = Date.now() + 1000;
      this.o.onError?.(e);
    } finally {
      for (const k of batchKeys) this.inFlightKeys.delete(k);
      this.inFlight--;
    }
  }

  private afterAnchored(items: readonly AnchoredItem[], newlyMarked: number): void {
    this.stats.anchored += newlyMarked;
    this.o.metrics?.anchoredRecords.inc(newlyMarked);
    this.o.metrics?.outboxPending.set(this.o.store.pendingCount);
    this.o.onAnchored?.(items);
  }
}
