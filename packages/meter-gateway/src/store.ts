// The gateway's LevelDB: per-meter ingest state, the outbox of encrypted records waiting to be
// anchored (and, once anchored, their tx hash and Merkle proof), alerts, and small metadata.
// Every ingest step is one atomic batch, so a crash leaves either all of a poll's effects or none.
//
// keys                                      value
// m!<meter:8hex>                            MeterState
// ad!<meter:8hex>                           adapter state (sequence reservations, written ahead)
// r!<meter:8hex>!<seq:8hex>                 OutboxRecord (pending or anchored)
// q!<enqueuedAt:13dec>!<meter>!<seq>        pending index, FIFO
// c!<consumer>!<periodStart:13dec>!<meter>!<seq>  per-consumer index for the API
// a!<at:13dec>!<n:6dec>                     Alert
// ack!<alert id>                            its acknowledgement { by, at }
// b!<batchId>                               BatchRecord (leaves of an anchored batch)
// k!<consumer>!<keyId:8hex>                 KeyPublication of an epoch key (boxed only: never the key)
// kq!<consumer>!<keyId:8hex>                pending index of key publications
// meta!<name>                               metadata (anchor recovery block, ...)
import fs from "node:fs";
import { Level } from "level";
import { merkleLevelsBuf, proofFromLevelsBuf } from "./merkle";
import type { Category, Resolution } from "./resolution";
import type { Alert, AlertKind } from "./alerts";
import { TradingAccountLinks } from "./tradingAccountLinks";

export type { TradingAccountLink } from "./tradingAccountLinks";

export type { Alert, AlertKind } from "./alerts";

export interface AcceptedRegisters {
  seq: number;
  clockMs: number;
  importWh: number;
  exportWh: number;
  reactiveImportVarh: number;
  reactiveExportVarh: number;
}

export interface OpenAggregate {
  consumer: string;
  resolution: Resolution;
  periodStart: number;
  periodEnd: number;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** Registers before the first reading of the period. */
  start: { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number };
  end: { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number };
  peakPowerW: number;
  /** Real time the first reading arrived (latency accounting). */
  firstReadAt: number;
}

export interface MeterState {
  meterId: number;
  /** Highest reading sequence processed (stored, dropped or rejected). 0 = none yet. */
  lastSeq: number;
  lastAccepted: AcceptedRegisters | null;
  /** [sequence, content hash] of the newest processed readings, to tell re-delivery from replay. */
  recent: [number, string][];
  agg: OpenAggregate | null;
  counters: { accepted: number; rejected: number; duplicates: number; stored: number; notPermitted: number; polls: number; failures: number };
  flags: { drifting: boolean; silent: boolean };
  consecutiveFailures: number;
  lastPollAt: number;
  lastOkAt: number;
  lastError: string | null;
  /** Since when (wall ms) the meter's household is registered here without preferences: her records wait. */
  undecidedSince?: number;
}

export interface AnchorInfo {
  batchId: string;
  txHash: string;
  blockNumber: number;
  root: string;
  leafIndex: number;
  /** Merkle proof; absent when the batch's leaves are stored (`b!`): see {@link GatewayStore.proofOf}. */
  proof?: string[];
  anchoredAt: number;
}

/** One anchored batch: its stored leaves in order (proofs are derived from them on demand). */
export interface BatchRecord {
  batchId: string;
  txHash: string;
  blockNumber: number;
  root: string;
  leaves: string[];
}

/**
 * An epoch key as it goes to KeyCustody: boxed to the consumer and, in shares, to the members.
 * The data key itself is never stored (the gateway keeps it in memory until the epoch closes).
 */
export interface StoredKeyPublication {
  consumer: string;
  keyId: number;
  resolution: Resolution;
  /** Unix seconds. */
  epochStart: number;
  epochEnd: number;
  commitment: string;
  envelope: string;
  /** The member set the shares were made for. */
  setIndex: number;
  createdAt: number;
  status: "pending" | "published";
  txHash?: string;
}

export interface OutboxRecord {
  meterId: number;
  sequence: number;
  consumer: string;
  periodStart: number;
  periodEnd: number;
  resolution: Resolution;
  category: Category;
  /** Encrypted payload (0x hex), see payload.ts. */
  payload: string;
  /** Its Merkle leaf on the ledger (computed once, at ingest). */
  leaf?: string;
  /** Sequences of the meter readings this record covers. */
  firstSeq: number;
  lastSeq: number;
  /** Real time the gateway read the (first) reading from the meter. */
  readAt: number;
  enqueuedAt: number;
  queueKey: string;
  status: "pending" | "anchored";
  anchor?: AnchorInfo;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const dec13 = (n: number) => Math.max(0, Math.floor(n)).toString().padStart(13, "0");

export const keys = {
  meter: (m: number) => `m!${hex8(m)}`,
  adapter: (m: number) => `ad!${hex8(m)}`,
  record: (m: number, s: number) => `r!${hex8(m)}!${hex8(s)}`,
  queue: (at: number, m: number, s: number) => `q!${dec13(at)}!${hex8(m)}!${hex8(s)}`,
  consumer: (c: string, periodStart: number, m: number, s: number) => `c!${c.toLowerCase()}!${dec13(periodStart)}!${hex8(m)}!${hex8(s)}`,
  alert: (at: number, n: number) => `a!${dec13(at)}!${n.toString().padStart(6, "0")}`,
  alertAck: (id: string) => `ack!${id}`,
  batch: (batchId: string) => `b!${batchId.toLowerCase()}`,
  meta: (name: string) => `meta!${name}`,
  key: (c: string, keyId: number) => `k!${c.toLowerCase()}!${hex8(keyId)}`,
  keyPending: (c: string, keyId: number) => `kq!${c.toLowerCase()}!${hex8(keyId)}`,
};


export function newMeterState(meterId: number): MeterState {
  return {
    meterId,
    lastSeq: 0,
    lastAccepted: null,
    recent: [],
    agg: null,
    counters: { accepted: 0, rejected: 0, duplicates: 0, stored: 0, notPermitted: 0, polls: 0, failures: 0 },
    flags: { drifting: false, silent: false },
    consecutiveFailures: 0,
    lastPollAt: 0,
    lastOkAt: 0,
    lastError: null,
  };
}

type Op = { type: "put"; key: string; value: unknown } | { type: "del"; key: string };

/**
 * The gateway store.
 * @example
 * const store = await GatewayStore.open(".sidegrid/gateway/db");
 */
export class GatewayStore {
  private alertCounter = 0;
  /**
   * Pending records by record key, oldest first (a Map keeps insertion order): the outbox index in
   * memory, so choosing the next batch never scans LevelDB. null = not loaded (after a restart).
   */
  private readonly pendingIndex = new Map<string, OutboxRecord | null>();

  /** Households' trading accounts linked at this gateway. */
  readonly tradingAccounts: TradingAccountLinks;

  private constructor(readonly db: Level<string, unknown>) {
    this.tradingAccounts = new TradingAccountLinks(db);
  }

  static async open(dir: string): Promise<GatewayStore> {
    fs.mkdirSync(dir, { recursive: true });
    const db = new Level<string, unknown>(dir, { valueEncoding: "json" });
    await db.open();
    const s = new GatewayStore(db);
    for await (const v of db.values({ gte: "q!", lt: "q~" })) s.pendingIndex.set(v as string, null);
    return s;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** Records waiting to be anchored. */
  get pendingCount(): number {
    return this.pendingIndex.size;
  }

  /** Real time the oldest waiting record was read; undefined when none waits or it is not loaded yet (after a restart). */
  oldestPendingReadAt(): number | undefined {
    const first = this.pendingIndex.values().next();
    return first.done || !first.value ? undefined : first.value.readAt;
  }

  async meterState(meterId: number): Promise<MeterState | undefined> {
    return (await this.db.get(keys.meter(meterId))) as MeterState | undefined;
  }

  async adapterState(meterId: number): Promise<Record<string, unknown> | null> {
    return ((await this.db.get(keys.adapter(meterId))) as Record<string, unknown> | undefined) ?? null;
  }

  putAdapterState(meterId: number, state: Record<string, unknown>): Promise<void> {
    return this.db.put(keys.adapter(meterId), state);
  }

  newAlert(meterId: number, kind: AlertKind, message: string, details: Record<string, unknown>, severity: Alert["severity"] = "critical"): Alert {
    const at = Date.now();
    return { id: keys.alert(at, this.alertCounter++ % 1_000_000).slice(2), at, meterId, kind, severity, message, details };
  }

  /** Commits one poll of one meter atomically: state, new outbox records, alerts, adapter state. */
  async commitIngest(params: { state: MeterState; records: OutboxRecord[]; alerts: Alert[]; adapterState?: Record<string, unknown>; keys?: StoredKeyPublication[] }): Promise<void> {
    const ops: Op[] = [{ type: "put", key: keys.meter(params.state.meterId), value: params.state }];
    // A record's key publication is written with it: a pending record always has its key on chain or pending.
    for (const k of params.keys ?? []) {
      ops.push({ type: "put", key: keys.key(k.consumer, k.keyId), value: k });
      ops.push({ type: "put", key: keys.keyPending(k.consumer, k.keyId), value: 1 });
    }
    if (params.adapterState) ops.push({ type: "put", key: keys.adapter(params.state.meterId), value: params.adapterState });
    for (const r of params.records) {
      ops.push({ type: "put", key: keys.record(r.meterId, r.sequence), value: r });
      ops.push({ type: "put", key: r.queueKey, value: keys.record(r.meterId, r.sequence) });
      ops.push({ type: "put", key: keys.consumer(r.consumer, r.periodStart, r.meterId, r.sequence), value: 1 });
    }
    for (const a of params.alerts) ops.push({ type: "put", key: `a!${a.id}`, value: a });
    await this.db.batch(ops as never);
    for (const r of params.records) this.pendingIndex.set(keys.record(r.meterId, r.sequence), r);
  }

  /** Key publications not yet on chain, oldest key id order per consumer. */
  async pendingKeys(limit = 10_000): Promise<StoredKeyPublication[]> {
    const ids: string[] = [];
    for await (const k of this.db.keys({ gte: "kq!", lt: "kq~", limit })) ids.push(`k!${k.slice(3)}`);
    if (ids.length === 0) return [];
    return ((await this.db.getMany(ids)) as (StoredKeyPublication | undefined)[]).filter((k): k is StoredKeyPublication => !!k);
  }

  /** Marks key publications as on chain. */
  async markKeysPublished(pubs: readonly StoredKeyPublication[], txHash: string | undefined): Promise<void> {
    const ops: Op[] = [];
    for (const k of pubs) {
      ops.push({ type: "put", key: keys.key(k.consumer, k.keyId), value: { ...k, status: "published", ...(txHash ? { txHash } : {}) } });
      ops.push({ type: "del", key: keys.keyPending(k.consumer, k.keyId) });
    }
    if (ops.length) await this.db.batch(ops as never);
  }

  /** Whether a key id is taken by a publication of this gateway (pending or published). */
  async hasKey(consumer: string, keyId: number): Promise<boolean> {
    return (await this.db.get(keys.key(consumer, keyId))) !== undefined;
  }

  async putAlerts(alerts: Alert[], state?: MeterState): Promise<void> {
    const ops: Op[] = alerts.map((a) => ({ type: "put", key: `a!${a.id}`, value: a }));
    if (state) ops.push({ type: "put", key: keys.meter(state.meterId), value: state });
    if (ops.length) await this.db.batch(ops as never);
  }

  /** Oldest pending records first, skipping `exclude` (record keys already in flight). */
  async pendingRecords(limit: number, exclude?: ReadonlySet<string>): Promise<OutboxRecord[]> {
    const picked: [string, OutboxRecord | null][] = [];
    for (const e of this.pendingIndex) {
      if (exclude?.has(e[0])) continue;
      picked.push(e);
      if (picked.length >= limit) break;
    }
    const missing = picked.filter((p) => p[1] === null).map((p) => p[0]);
    if (missing.length) {
      const got = (await this.db.getMany(missing)) as (OutboxRecord | undefined)[];
      missing.forEach((k, i) => {
        const r = got[i];
        if (r && r.status === "pending") {
          if (this.pendingIndex.has(k)) this.pendingIndex.set(k, r);
        } else this.pendingIndex.delete(k); // anchored or dropped meanwhile: a stale index entry
      });
    }
    const out: OutboxRecord[] = [];
    for (const [k] of picked) {
      const r = this.pendingIndex.get(k);
      if (r) out.push(r);
    }
    return out;
  }

  /** A meter's lowest sequence above `afterSeq` still waiting to be anchored (reads only records past `afterSeq`). */
  async firstPendingSeq(meterId: number, afterSeq: number): Promise<number | undefined> {
    for await (const v of this.db.values({ gt: keys.record(meterId, afterSeq), lt: `r!${hex8(meterId)}!~` })) {
      const r = v as OutboxRecord;
      if (r.status === "pending") return r.sequence;
    }
    return undefined;
  }

  /** Puts records anchored by `txHash` back into the outbox (that transaction's block left the chain); returns how many. */
  async unanchor(items: readonly { meterId: number; sequence: number }[], txHash: string): Promise<number> {
    const recs = (await this.db.getMany(items.map((i) => keys.record(i.meterId, i.sequence)))) as (OutboxRecord | undefined)[];
    const back = recs.filter((r): r is OutboxRecord => r?.status === "anchored" && r.anchor?.txHash === txHash).map(({ anchor: _gone, ...r }) => ({ ...r, status: "pending" as const }));
    await this.db.batch(back.flatMap((r) => [{ type: "put", key: keys.record(r.meterId, r.sequence), value: r }, { type: "put", key: r.queueKey, value: keys.record(r.meterId, r.sequence) }]) as never);
    for (const r of back) this.pendingIndex.set(keys.record(r.meterId, r.sequence), r);
    return back.length;
  }

  async record(meterId: number, sequence: number): Promise<OutboxRecord | undefined> {
    return (await this.db.get(keys.record(meterId, sequence))) as OutboxRecord | undefined;
  }

  /**
   * Marks records anchored (idempotent: already anchored records keep their first anchor) and
   * stores the leaves of their batches, in one atomic write. Pass the records when the caller
   * holds them, to spare a read.
   */
  async markAnchored(items: { meterId: number; sequence: number; anchor: AnchorInfo }[], opts: { records?: readonly OutboxRecord[]; batches?: readonly BatchRecord[] } = {}): Promise<number> {
    let recs: (OutboxRecord | undefined)[];
    if (opts.records) {
      const byKey = new Map(opts.records.map((r) => [keys.record(r.meterId, r.sequence), r]));
      const missing = items.filter((i) => !byKey.has(keys.record(i.meterId, i.sequence)));
      if (missing.length) {
        const got = (await this.db.getMany(missing.map((i) => keys.record(i.meterId, i.sequence)))) as (OutboxRecord | undefined)[];
        got.forEach((r) => r && byKey.set(keys.record(r.meterId, r.sequence), r));
      }
      recs = items.map((i) => byKey.get(keys.record(i.meterId, i.sequence)));
    } else {
      recs = (await this.db.getMany(items.map((i) => keys.record(i.meterId, i.sequence)))) as (OutboxRecord | undefined)[];
    }
    const ops: Op[] = [];
    for (const b of opts.batches ?? []) ops.push({ type: "put", key: keys.batch(b.batchId), value: b });
    let n = 0;
    const seen = new Set<string>();
    recs.forEach((r, i) => {
      if (!r || r.status === "anchored") return;
      const k = keys.record(r.meterId, r.sequence);
      if (seen.has(k)) return;
      seen.add(k);
      ops.push({ type: "put", key: k, value: { ...r, status: "anchored", anchor: items[i].anchor } });
      ops.push({ type: "del", key: r.queueKey });
      n++;
    });
    if (ops.length) await this.db.batch(ops as never);
    for (const i of items) this.pendingIndex.delete(keys.record(i.meterId, i.sequence));
    return n;
  }

  private readonly levelsCache = new Map<string, Buffer[][]>();

  /** The Merkle proof of an anchored record against its batch root. */
  async proofOf(r: OutboxRecord): Promise<string[] | undefined> {
    if (!r.anchor) return undefined;
    if (r.anchor.proof) return r.anchor.proof;
    let levels = this.levelsCache.get(r.anchor.batchId);
    if (!levels) {
      const b = (await this.db.get(keys.batch(r.anchor.batchId))) as BatchRecord | undefined;
      if (!b) return undefined;
      levels = merkleLevelsBuf(b.leaves);
      this.levelsCache.set(r.anchor.batchId, levels);
      if (this.levelsCache.size > 64) this.levelsCache.delete(this.levelsCache.keys().next().value as string);
    }
    return proofFromLevelsBuf(levels, r.anchor.leafIndex);
  }

  /** Removes pending records that may no longer be stored (consent revoked); they never reach the chain. */
  async dropPending(records: OutboxRecord[]): Promise<number> {
    const ops: Op[] = [];
    for (const r of records) {
      ops.push({ type: "del", key: keys.record(r.meterId, r.sequence) });
      ops.push({ type: "del", key: r.queueKey });
      ops.push({ type: "del", key: keys.consumer(r.consumer, r.periodStart, r.meterId, r.sequence) });
    }
    if (ops.length) await this.db.batch(ops as never);
    for (const r of records) this.pendingIndex.delete(keys.record(r.meterId, r.sequence));
    return records.length;
  }

  /** A consumer's records (pending and anchored) with periods in [fromMs, toMs). */
  async consumerRecords(consumer: string, fromMs: number, toMs: number, limit: number): Promise<OutboxRecord[]> {
    const prefix = `c!${consumer.toLowerCase()}!`;
    const ks: string[] = [];
    for await (const k of this.db.keys({ gte: prefix + dec13(fromMs), lt: prefix + dec13(toMs), limit })) {
      const parts = k.split("!");
      ks.push(`r!${parts[3]}!${parts[4]}`);
    }
    const recs = (await this.db.getMany(ks)) as (OutboxRecord | undefined)[];
    return recs.filter((r): r is OutboxRecord => r !== undefined);
  }

  /** Newest alerts first, with their acknowledgement. */
  async alerts(params: { limit?: number; meterId?: number; meterIds?: readonly number[]; kind?: AlertKind; open?: boolean } = {}): Promise<Alert[]> {
    const out: Alert[] = [];
    const limit = params.limit ?? 100;
    const only = params.meterIds ? new Set(params.meterIds) : undefined;
    // "a!" up to "a\"" exactly: "ad!" (adapter state) and "ack!" sort between "a!" and "a~".
    for await (const v of this.db.values({ gt: "a!", lt: 'a"', reverse: true })) {
      const a = v as Alert;
      if (params.meterId !== undefined && a.meterId !== params.meterId) continue;
      if (only && !only.has(a.meterId)) continue;
      if (params.kind !== undefined && a.kind !== params.kind) continue;
      const ack = (await this.db.get(keys.alertAck(a.id))) as Alert["acknowledged"] | undefined;
      if (params.open && ack) continue;
      out.push(ack ? { ...a, acknowledged: ack } : a);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Marks an alert acknowledged (the first acknowledgement stands); undefined if there is no such alert. */
  async acknowledgeAlert(id: string, by: string, at = Date.now()): Promise<Alert | undefined> {
    const a = (await this.db.get(`a!${id}`)) as Alert | undefined;
    if (!a) return undefined;
    const prior = (await this.db.get(keys.alertAck(id))) as Alert["acknowledged"] | undefined;
    if (prior) return { ...a, acknowledged: prior };
    const ack = { by, at };
    await this.db.put(keys.alertAck(id), ack);
    return { ...a, acknowledged: ack };
  }

  async meterStates(): Promise<MeterState[]> {
    const out: MeterState[] = [];
    for await (const v of this.db.values({ gte: "m!", lt: "m~" })) out.push(v as MeterState);
    return out;
  }

  async getMeta<T>(name: string): Promise<T | undefined> {
    return (await this.db.get(keys.meta(name))) as T | undefined;
  }

  putMeta(name: string, value: unknown): Promise<void> {
    return this.db.put(keys.meta(name), value);
  }

  /**
   * Commits sealed trade records with their key publications and the trade cursor, atomically:
   * a crash re-reads the same trades and finds them here (same meter and sequence), never half.
   */
  async commitTrades(params: { records: OutboxRecord[]; keys: StoredKeyPublication[]; cursor: number; cursorName: string }): Promise<number> {
    const ops: Op[] = [{ type: "put", key: keys.meta(params.cursorName), value: params.cursor }];
    for (const k of params.keys) {
      ops.push({ type: "put", key: keys.key(k.consumer, k.keyId), value: k });
      ops.push({ type: "put", key: keys.keyPending(k.consumer, k.keyId), value: 1 });
    }
    const fresh: OutboxRecord[] = [];
    for (const r of params.records) {
      if ((await this.db.get(keys.record(r.meterId, r.sequence))) !== undefined) continue;
      fresh.push(r);
      ops.push({ type: "put", key: keys.record(r.meterId, r.sequence), value: r });
      ops.push({ type: "put", key: r.queueKey, value: keys.record(r.meterId, r.sequence) });
      ops.push({ type: "put", key: keys.consumer(r.consumer, r.periodStart, r.meterId, r.sequence), value: 1 });
    }
    await this.db.batch(ops as never);
    for (const r of fresh) this.pendingIndex.set(keys.record(r.meterId, r.sequence), r);
    return fresh.length;
  }

  /** Every record of the store (tests, audits): pending and anchored counts. */
  async countRecords(): Promise<{ pending: number; anchored: number }> {
    let pending = 0;
    let anchored = 0;
    for await (const v of this.db.values({ gte: "r!", lt: "r~" })) {
      if ((v as OutboxRecord).status === "anchored") anchored++;
      else pending++;
    }
    return { pending, anchored };
  }
}
