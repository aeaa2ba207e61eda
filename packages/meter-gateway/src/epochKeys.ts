// Epoch keys: one data key per (consumer, resolution, epoch), kept in memory only. A new key is
// sealed for publication at once (to the consumer, and in m-of-n shares to the federation's
// custody keys) and that publication, which holds no key in clear, goes to LevelDB with the
// records sealed under it. A key is forgotten once its epoch has closed (plus a grace period for
// late aggregates); after a restart every key is new. Finer resolutions have their own keys, so a
// grant at DAILY opens no 15-minute record.
//
// When a key is forgotten is decided in real time, not in the (possibly simulated) time of the
// readings: once a newer epoch's key of the same household and resolution is in use, the old one
// goes after `graceMs` without use (late aggregates of the old epoch still find it); a key unused
// for `idleMs` goes whatever the epochs. Readings of one meter arrive in order, so a forgotten
// epoch is rarely asked for again; if it is (a meter back after a long silence), it gets a new key.
import { randomInt } from "node:crypto";
import { newEpochDataKey, sealEpochKey, type KeyCustodyClient } from "@sidegrid/blocksec";
import { CustodyUnavailableError, InvalidArgumentError } from "./errors";
import type { Resolution } from "./resolution";
import type { GatewayStore, StoredKeyPublication } from "./store";

/** The member set the shares are made for: custody keys in set order. */
export interface CustodySetView {
  setIndex: number;
  keys: string[];
  threshold: number;
}

/** What the key manager needs of the chain (and of the gateway's own store). */
export interface EpochKeySource {
  custodySet(): Promise<CustodySetView>;
  /** Whether `keyId` is taken for `consumer` (on chain or in the gateway's own pending publications). */
  keyTaken(consumer: string, keyId: number): Promise<boolean>;
}

export interface EpochKeysOptions {
  source: EpochKeySource;
  /** Epoch length in ms (whole seconds; default one UTC day). */
  epochMs?: number;
  /** Real ms a key stays after a newer epoch's key of the same household and resolution is in use (default 60 s). */
  graceMs?: number;
  /** Real ms without use after which any key is forgotten (default 3 h: hourly aggregates use theirs once an hour). */
  idleMs?: number;
  /** Real time (tests). */
  now?: () => number;
}

interface LiveKey {
  key: Uint8Array;
  keyId: number;
  /** (consumer, resolution) of the key, and its epoch. */
  stream: string;
  epoch: number;
  /** Real time of the last use. */
  usedAt: number;
}

export interface EpochKey {
  key: Uint8Array;
  keyId: number;
  /** The publication of a key made by this call (persist it with the records). */
  created?: StoredKeyPublication;
}

const DAY_MS = 86_400_000;

/**
 * The gateway's epoch keys.
 * @example
 * const keys = new EpochKeys({ source });
 * const { key, keyId, created } = await keys.keyFor(consumer, consumerKey, Resolution.QUARTER_HOURLY, periodStartMs);
 */
export class EpochKeys {
  readonly epochMs: number;
  readonly graceMs: number;
  readonly idleMs: number;
  private readonly live = new Map<string, LiveKey>();
  /** Newest epoch in use per (consumer, resolution). */
  private readonly newest = new Map<string, number>();
  private readonly now: () => number;
  private readonly making = new Map<string, Promise<EpochKey>>();
  private lastPurge = 0;
  /** Keys made since start (a metric, and what tests check against disk). */
  created = 0;

  constructor(private readonly o: EpochKeysOptions) {
    this.epochMs = o.epochMs ?? DAY_MS;
    this.graceMs = o.graceMs ?? 60_000;
    this.idleMs = o.idleMs ?? 3 * 3_600_000;
    this.now = o.now ?? Date.now;
    if (!Number.isInteger(this.epochMs) || this.epochMs < 1000 || this.epochMs % 1000 !== 0) throw new InvalidArgumentError("epochMs", this.epochMs, "whole seconds, at least 1000 ms");
    if (!(this.graceMs >= 0)) throw new InvalidArgumentError("graceMs", this.graceMs, "non-negative");
  }

  /** Keys held in memory now. */
  get size(): number {
    return this.live.size;
  }

  /** The epoch [start, end) in ms that `timeMs` falls in. */
  epochOf(timeMs: number): { index: number; startMs: number; endMs: number } {
    const index = Math.floor(timeMs / this.epochMs);
    return { index, startMs: index * this.epochMs, endMs: (index + 1) * this.epochMs };
  }

  /** The key for a record of `consumer` at `resolution` starting at `periodStartMs`; made if needed. */
  async keyFor(consumer: string, consumerKey: Uint8Array, resolution: Resolution, periodStartMs: number): Promise<EpochKey> {
    this.purge();
    const epoch = this.epochOf(periodStartMs);
    const stream = `${consumer.toLowerCase()}|${resolution}|${Buffer.from(consumerKey).toString("hex")}`;
    const slot = `${stream}|${epoch.index}`;
    if ((this.newest.get(stream) ?? -Infinity) < epoch.index) this.newest.set(stream, epoch.index);
    const have = this.live.get(slot);
    if (have) {
      have.usedAt = this.now();
      return { key: have.key, keyId: have.keyId };
    }
    const pending = this.making.get(slot);
    if (pending) return pending.then((k) => ({ key: k.key, keyId: k.keyId }));
    const p = this.make(consumer, consumerKey, resolution, epoch).then((k) => {
      this.live.set(slot, { key: k.key, keyId: k.keyId, stream, epoch: epoch.index, usedAt: this.now() });
      return k;
    });
    this.making.set(slot, p);
    try {
      return await p;
    } finally {
      this.making.delete(slot);
    }
  }

  /** Forgets the keys with these ids (their publication could not be written). */
  discard(keyIds: readonly number[]): void {
    if (keyIds.length === 0) return;
    const ids = new Set(keyIds);
    for (const [slot, k] of this.live) {
      if (!ids.has(k.keyId)) continue;
      k.key.fill(0);
      this.live.delete(slot);
    }
  }

  /** Forgets every key (shutdown). */
  clear(): void {
    for (const k of this.live.values()) k.key.fill(0);
    this.live.clear();
  }

  private purge(): void {
    const now = this.now();
    if (now - this.lastPurge < 1000) return;
    this.lastPurge = now;
    for (const [slot, k] of this.live) {
      const superseded = (this.newest.get(k.stream) ?? k.epoch) > k.epoch;
      if ((superseded && now - k.usedAt >= this.graceMs) || now - k.usedAt >= this.idleMs) {
        k.key.fill(0);
        this.live.delete(slot);
      }
    }
  }

  private async make(consumer: string, consumerKey: Uint8Array, resolution: Resolution, epoch: { startMs: number; endMs: number }): Promise<EpochKey> {
    let set: CustodySetView;
    try {
      set = await this.o.source.custodySet();
    } catch (cause) {
      throw new CustodyUnavailableError(`cannot read the custody set (${(cause as Error).message})`, { cause });
    }
    const missing = set.keys.findIndex((k) => /^0x0{64}$/.test(k));
    if (set.keys.length === 0 || missing >= 0) throw new CustodyUnavailableError(set.keys.length === 0 ? "the member set is empty" : `member ${missing} of set ${set.setIndex} has no custody key yet`);
    let keyId = 0;
    for (let tries = 0; ; tries++) {
      keyId = randomInt(1, 0xffffffff);
      if (!(await this.o.source.keyTaken(consumer, keyId))) break;
      if (tries > 8) throw new CustodyUnavailableError(`no free key id for ${consumer}`);
    }
    const key = newEpochDataKey();
    const { envelope, commitment } = await sealEpochKey({ dataKey: key, context: { consumer, keyId }, consumerKey, custodyKeys: set.keys, threshold: set.threshold });
    this.created++;
    return {
      key,
      keyId,
      created: {
        consumer,
        keyId,
        resolution,
        epochStart: epoch.startMs / 1000,
        epochEnd: epoch.endMs / 1000,
        commitment,
        envelope: `0x${Buffer.from(envelope).toString("hex")}`,
        setIndex: set.setIndex,
        createdAt: Date.now(),
        status: "pending",
      },
    };
  }
}

/** The custody set (re-read every 30 s: members rotate rarely) and key-id checks against the store. */
export function chainEpochKeySource(custody: Pick<KeyCustodyClient, "custodySet" | "contract">, store: Pick<GatewayStore, "hasKey">): EpochKeySource {
  let cached: { at: number; value: Promise<Awaited<ReturnType<EpochKeySource["custodySet"]>>> } | undefined;
  return {
    custodySet() {
      if (!cached || Date.now() - cached.at > 30_000) {
        const value = custody.custodySet().then((s) => ({ setIndex: s.setIndex, keys: s.keys, threshold: s.threshold }));
        cached = { at: Date.now(), value };
        // A set with a missing custody key is not kept: the member is about to register it.
        value.then((s) => s.keys.some((k) => /^0x0{64}$/.test(k)) && (cached = undefined), () => (cached = undefined));
      }
      return cached.value;
    },
    // Only this gateway's own keys are checked: a random 32-bit id meeting another gateway's key
    // of the same household is a one-in-billions event, and KeyCustody refuses the duplicate.
    keyTaken: (consumer, keyId) => store.hasKey(consumer, keyId),
  };
}
