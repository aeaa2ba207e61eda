// A utility reads a household's data after a logged grant: request access on BlockSEC (recorded
// granted or denied), wait until m federation members have released their shares of every epoch
// key the grant covers, combine them, open the records and prove each against its batch's Merkle
// root on chain. Nothing here trusts a gateway: keys, shares and records all come from BlockSEC.
import { hexlify } from "ethers";
import { retryRead } from "@sidegrid/chain";
import nacl from "tweetnacl";
import {
  Resolution as SecResolution,
  combineShares,
  keyCoveredByGrant,
  merkleRoot,
  openConsumerEnvelope,
  openReleasedShares,
  recordLeaf,
  type AccessEntry,
  type BlockSecClient,
  type KeyCustodyClient,
  type ResolutionName,
  type StoredRecord,
} from "@sidegrid/blocksec";
import { GrantNotReleasedError, InvalidArgumentError, PayloadError } from "./errors";
import { CONTENT_AGGREGATE, openReadingPayload, openTradePayload, payloadKeyId, type Aggregate, type SealedTrade } from "./payload";
import type { MeterReading } from "@sidegrid/osgp-codec";

export interface ReadGrantedParameters {
  /** BlockSEC, with the requester's (utility's) sender. */
  sec: BlockSecClient;
  custody: KeyCustodyClient;
  /** The requester's X25519 secret key; its public key is recorded in the access entry. */
  secretKey: Uint8Array;
  consumer: string;
  /** Unix seconds; `to` beyond now is clamped by the ledger. */
  from: number;
  to: number;
  resolution: ResolutionName;
  /** An existing granted entry of this requester instead of a new request. */
  entryIndex?: number;
  /** First block of event scans (the deployment block). */
  fromBlock?: number;
  /** How long to wait for m shares of every covered key (default 30 s). */
  timeoutMs?: number;
  pollMs?: number;
}

export interface GrantedReading {
  meterId: number;
  sequence: number;
  /** Unix seconds. */
  periodStart: number;
  resolution: ResolutionName;
  keyId: number;
  batchId: string;
  leafIndex: number;
  blockNumber: number;
  /** The record's leaf is in its batch, whose root the ledger holds. */
  proven: boolean;
  reading?: MeterReading;
  aggregate?: Aggregate;
}

export interface ReadGrantedReturnType {
  entry: AccessEntry;
  /** Keys the grant covers and who released shares of each. */
  keys: { keyId: number; resolution: ResolutionName; epochStart: number; epochEnd: number; releasedBy: string[]; opened: boolean }[];
  readings: GrantedReading[];
  /** Records in range that did not open (a key not released, or a v1 payload sealed to the consumer alone). */
  unopened: number;
  timings: { requestMs: number; releaseMs: number; openMs: number };
}

const RES = SecResolution as Record<ResolutionName, number>;


/**
 * Reads a consumer's readings as a grantee.
 * @example
 * const r = await readGranted({ sec: utilitySec, custody, secretKey, consumer, from, to, resolution: "QUARTER_HOURLY" });
 * r.readings[0].reading?.activeEnergyImportWh;
 */
export async function readGranted(p: ReadGrantedParameters): Promise<ReadGrantedReturnType> {
  if (!(p.secretKey instanceof Uint8Array) || p.secretKey.length !== 32) throw new InvalidArgumentError("secretKey", p.secretKey, "32 bytes (X25519)");
  const t0 = Date.now();
  const requesterKey = hexlify(nacl.box.keyPair.fromSecretKey(p.secretKey).publicKey);
  let entry: AccessEntry;
  if (p.entryIndex === undefined) {
    entry = (await p.sec.requestAccess({ consumer: p.consumer, category: "CONSUMPTION", resolution: p.resolution, from: p.from, to: p.to, requesterKey })).entry;
  } else {
    const log = await retryRead(() => p.sec.accessLog(p.consumer, p.fromBlock ?? 0));
    const found = log.find((e) => e.index === p.entryIndex);
    if (!found) throw new InvalidArgumentError("entryIndex", p.entryIndex, `is not an entry of ${p.consumer}'s access chain`);
    if (!found.granted) throw new InvalidArgumentError("entryIndex", p.entryIndex, `is a denied entry (${found.reason})`);
    if (found.requesterKey.toLowerCase() !== requesterKey.toLowerCase()) throw new InvalidArgumentError("secretKey", "(hidden)", `does not match the key recorded in entry ${p.entryIndex}`);
    entry = found;
  }
  const t1 = Date.now();
  const { keys, releasedBy } = await waitForShares(p, entry);
  const t2 = Date.now();

  const records = (await retryRead(() => p.sec.storedRecords({ consumer: entry.consumer, fromBlock: p.fromBlock ?? 0 }))).filter(
    (s) => s.record.category === "CONSUMPTION" && RES[s.record.resolution] > 0 && RES[s.record.resolution] <= RES[entry.resolution] && s.record.periodStart >= entry.from && s.record.periodStart <= Math.min(entry.to, entry.timestamp),
  );
  const readings: GrantedReading[] = [];
  let unopened = 0;
  const roots = new Map<string, Promise<{ leaves: string[]; ok: boolean }>>();
  for (const s of records) {
    const payload = Buffer.from(s.record.payload.slice(2), "hex");
    let keyId: number | null;
    try {
      keyId = payloadKeyId(payload);
    } catch {
      unopened++;
      continue;
    }
    const key = keyId === null ? undefined : keys.get(keyId);
    if (keyId === null || !key) {
      unopened++;
      continue;
    }
    const ctx = { meterId: Number(BigInt(s.record.meterId)), sequence: Number(s.record.sequence), resolution: RES[s.record.resolution] };
    let opened;
    try {
      opened = openReadingPayload(payload, { dataKey: key }, ctx);
    } catch (e) {
      if (e instanceof PayloadError) {
        unopened++;
        continue;
      }
      throw e;
    }
    readings.push({
      meterId: ctx.meterId,
      sequence: ctx.sequence,
      periodStart: s.record.periodStart,
      resolution: s.record.resolution,
      keyId,
      batchId: s.batchId,
      leafIndex: s.leafIndex,
      blockNumber: s.blockNumber,
      proven: await proveStored(p.sec, s, roots),
      ...(opened.contentType === CONTENT_AGGREGATE ? { aggregate: opened.aggregate } : { reading: opened.reading }),
    });
  }
  readings.sort((a, b) => a.periodStart - b.periodStart || a.meterId - b.meterId || a.sequence - b.sequence);
  return {
    entry,
    keys: [...releasedBy.entries()].map(([keyId, v]) => ({ ...v, keyId, opened: keys.has(keyId) })),
    readings,
    unopened,
    timings: { requestMs: t1 - t0, releaseMs: t2 - t1, openMs: Date.now() - t2 },
  };
}

export interface GrantedTrade extends SealedTrade {
  meterId: number;
  keyId: number;
  batchId: string;
  leafIndex: number;
  blockNumber: number;
  /** The record's leaf is in its batch, whose root the ledger holds. */
  proven: boolean;
}

export interface ReadGrantedTradesReturnType {
  entry: AccessEntry;
  keys: ReadGrantedReturnType["keys"];
  trades: GrantedTrade[];
  /** Trade records in range that did not open. */
  unopened: number;
}

/**
 * Reads a consumer's trade log as a grantee: a logged TRADES request (or an existing granted
 * entry), the federation's release of her trade keys in range, then her sealed trades, each proven
 * against its batch. Her trades live nowhere else in the clear with her identity attached.
 * @example
 * const r = await readGrantedTrades({ sec: utilitySec, custody, secretKey, consumer, from, to });
 * r.trades[0].amount;
 */
export async function readGrantedTrades(p: Omit<ReadGrantedParameters, "resolution">): Promise<ReadGrantedTradesReturnType> {
  if (!(p.secretKey instanceof Uint8Array) || p.secretKey.length !== 32) throw new InvalidArgumentError("secretKey", p.secretKey, "32 bytes (X25519)");
  const requesterKey = hexlify(nacl.box.keyPair.fromSecretKey(p.secretKey).publicKey);
  let entry: AccessEntry;
  if (p.entryIndex === undefined) {
    entry = (await p.sec.requestAccess({ consumer: p.consumer, category: "TRADES", resolution: "NONE", from: p.from, to: p.to, requesterKey })).entry;
  } else {
    const found = (await retryRead(() => p.sec.accessLog(p.consumer, p.fromBlock ?? 0))).find((e) => e.index === p.entryIndex);
    if (!found || !found.granted || found.category !== "TRADES") throw new InvalidArgumentError("entryIndex", p.entryIndex, `a granted TRADES entry of ${p.consumer}'s access chain`);
    if (found.requesterKey.toLowerCase() !== requesterKey.toLowerCase()) throw new InvalidArgumentError("secretKey", "(hidden)", `does not match the key recorded in entry ${p.entryIndex}`);
    entry = found;
  }
  const { keys, releasedBy } = await waitForShares({ ...p, resolution: "NONE" }, entry);
  const records = (await retryRead(() => p.sec.storedRecords({ consumer: entry.consumer, fromBlock: p.fromBlock ?? 0 }))).filter(
    (s) => s.record.category === "TRADES" && s.record.periodStart >= entry.from && s.record.periodStart <= Math.min(entry.to, entry.timestamp),
  );
  const trades: GrantedTrade[] = [];
  let unopened = 0;
  const roots = new Map<string, Promise<{ leaves: string[]; ok: boolean }>>();
  for (const s of records) {
    const payload = Buffer.from(s.record.payload.slice(2), "hex");
    let keyId: number | null = null;
    try {
      keyId = payloadKeyId(payload);
    } catch {
      /* counted below */
    }
    const key = keyId === null ? undefined : keys.get(keyId);
    if (keyId === null || !key) {
      unopened++;
      continue;
    }
    const meterId = Number(BigInt(s.record.meterId));
    let t: SealedTrade;
    try {
      t = openTradePayload(payload, key, { meterId, sequence: Number(s.record.sequence), resolution: 0 });
    } catch (e) {
      if (e instanceof PayloadError) {
        unopened++;
        continue;
      }
      throw e;
    }
    trades.push({ ...t, meterId, keyId, batchId: s.batchId, leafIndex: s.leafIndex, blockNumber: s.blockNumber, proven: await proveStored(p.sec, s, roots) });
  }
  trades.sort((a, b) => a.settledAt - b.settledAt || (a.tradeId < b.tradeId ? -1 : a.tradeId > b.tradeId ? 1 : 0));
  return { entry, keys: [...releasedBy.entries()].map(([keyId, v]) => ({ ...v, keyId, opened: keys.has(keyId) })), trades, unopened };
}

/** Waits until every key the grant covers (published by the grant's block) has m shares; returns the combined keys. */
async function waitForShares(p: ReadGrantedParameters, entry: AccessEntry) {
  const deadline = Date.now() + (p.timeoutMs ?? 30_000);
  const thresholds = new Map<number, number>();
  const keys = new Map<number, Uint8Array>();
  const releasedBy = new Map<number, { resolution: ResolutionName; epochStart: number; epochEnd: number; releasedBy: string[] }>();
  for (;;) {
    const published = (await retryRead(() => p.custody.publishedKeys({ consumer: entry.consumer, fromBlock: p.fromBlock ?? 0 }))).filter((k) => keyCoveredByGrant(k, entry));
    const byId = new Map(published.map((k) => [k.keyId, k]));
    const releases = await retryRead(() => p.custody.releases({ consumer: entry.consumer, entryIndex: entry.index, fromBlock: entry.blockNumber }));
    const shares = new Map<number, Uint8Array[]>();
    for (const r of releases) {
      let opened: Map<number, Uint8Array>;
      try {
        opened = openReleasedShares({ consumer: entry.consumer, entryIndex: entry.index, keyIds: r.keyIds, shares: r.shares, secretKey: p.secretKey });
      } catch {
        continue; // a faulty member's box: the others may still make m
      }
      for (const [keyId, share] of opened) {
        shares.set(keyId, [...(shares.get(keyId) ?? []), share]);
        const k = byId.get(keyId);
        if (k) {
          const v = releasedBy.get(keyId) ?? { resolution: k.resolution, epochStart: k.epochStart, epochEnd: k.epochEnd, releasedBy: [] };
          if (!v.releasedBy.includes(r.member)) v.releasedBy.push(r.member);
          releasedBy.set(keyId, v);
        }
      }
    }
    for (const k of published) {
      if (!releasedBy.has(k.keyId)) releasedBy.set(k.keyId, { resolution: k.resolution, epochStart: k.epochStart, epochEnd: k.epochEnd, releasedBy: [] });
      if (keys.has(k.keyId)) continue;
      let m = thresholds.get(k.setIndex);
      if (m === undefined) {
        m = (await retryRead(() => p.custody.custodySet(k.setIndex))).threshold;
        thresholds.set(k.setIndex, m);
      }
      const got = shares.get(k.keyId) ?? [];
      if (got.length < m) continue;
      try {
        keys.set(k.keyId, await combineShares(got, m, k.commitment));
      } catch {
        /* wrong shares so far: wait for more */
      }
    }
    // Keys published after the grant's block may or may not be in the members' releases.
    const expected = published.filter((k) => k.blockNumber <= entry.blockNumber);
    const missing = expected.filter((k) => !keys.has(k.keyId)).map((k) => k.keyId);
    if (missing.length === 0) return { keys, releasedBy };
    if (Date.now() > deadline) {
      throw new GrantNotReleasedError(entry.consumer, entry.index, missing, `${missing.length} of ${expected.length} key(s) without enough released shares after ${p.timeoutMs ?? 30_000} ms (are ${[...thresholds.values()][0] ?? "m"} federation members up?)`);
    }
    await new Promise((r) => setTimeout(r, p.pollMs ?? 100));
  }
}

/**
 * Checks a stored record against its batch: the leaves of every record the batch's events hold
 * make the root the ledger keeps, and this record's leaf is the one at its index. With the whole
 * leaf set in hand that is the inclusion proof; the tree is built once per batch.
 */
async function proveStored(sec: BlockSecClient, s: StoredRecord, cache: Map<string, Promise<{ leaves: string[]; ok: boolean }>>): Promise<boolean> {
  let batch = cache.get(s.batchId);
  if (!batch) {
    batch = retryRead(() => sec.batchRecords(s.batchId)).then(({ root, records }) => {
      const leaves = records.map((r) => recordLeaf(r.record));
      return { leaves, ok: leaves.length > 0 && merkleRoot(leaves) === root.toLowerCase() };
    });
    cache.set(s.batchId, batch);
  }
  const { leaves, ok } = await batch;
  return ok && leaves[s.leafIndex] === recordLeaf(s.record);
}

/**
 * A household's own epoch keys: every envelope KeyCustody holds for her, opened with her X25519
 * secret key (keys sealed to an older registered key of hers are left out).
 * @example
 * const keys = await consumerDataKeys({ custody, consumer, secretKey });
 * openReadingPayload(payload, { dataKey: keys.get(payloadKeyId(payload)!)! }, ctx);
 */
export async function consumerDataKeys(p: { custody: KeyCustodyClient; consumer: string; secretKey: Uint8Array; fromBlock?: number }): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  for (const k of await p.custody.publishedKeys({ consumer: p.consumer, fromBlock: p.fromBlock ?? 0 })) {
    try {
      out.set(k.keyId, openConsumerEnvelope(k.envelope, { consumer: k.consumer, keyId: k.keyId }, p.secretKey));
    } catch {
      /* sealed to another key of hers */
    }
  }
  return out;
}
