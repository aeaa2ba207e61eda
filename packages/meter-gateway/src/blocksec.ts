// The gateway's BlockSEC bindings: an AnchorLedger over the MeterDataLedger and a PolicySource
// over the PolicyMirror, both through @sidegrid/blocksec's BlockSecClient.
import { randomBytes } from "node:crypto";
import {
  MeterDataLedger__factory,
  PolicyMirror__factory,
  Resolution as SecResolution,
  recordLeaf,
  type BlockSecClient,
  type MeterRecord,
  type ResolutionName,
} from "@sidegrid/blocksec";
import { meterIdFromBytes32, meterIdToBytes32 } from "@sidegrid/blockpri";
import { concat, getAddress, getBytes, keccak256, toBeHex, zeroPadValue } from "ethers";
import type { AnchorLedger, AnchorOutcome, AnchoredItem } from "./anchorer";
import { LedgerError } from "./errors";
import type { ConsentSnapshot, MeterBinding, PolicyChange, PolicySource } from "./policy";
import { Category, type Resolution } from "./resolution";
import { merkleLevelsBuf } from "./merkle";
import { anchorBatchCalldataBuf, packBatch, recordLeafFast, sortForBatch } from "./packing";
import { ANCHOR_GAS_MODEL, anchorGasBound, anchorShape, boundMissed, type AnchorGasBound, type AnchorGasModel } from "./anchorGas";
import type { BatchRecord, OutboxRecord } from "./store";

const RES_NAMES = Object.keys(SecResolution) as ResolutionName[];
const CAT_NAMES = ["CONSUMPTION", "TRADES"] as const;
const ledgerIface = MeterDataLedger__factory.createInterface();
const mirrorIface = PolicyMirror__factory.createInterface();
const BATCH_ANCHORED = ledgerIface.getEvent("BatchAnchored").topicHash;
const RECORDS_SKIPPED = ledgerIface.getEvent("RecordsSkipped").topicHash;
const RECORDS_REJECTED = ledgerIface.getEvent("RecordsRejected").topicHash;
const STORAGE_DECISIONS = ["PERMITTED", "METER_NOT_BOUND", "NOT_A_DISTRIBUTOR", "NOT_PERMITTED"];
const MIRROR_TOPICS = [mirrorIface.getEvent("PreferencesMirrored").topicHash, mirrorIface.getEvent("RegistrationMirrored").topicHash];

// The meter id convention is the PPC's (blockpri); re-exported for the gateway's callers.
export { meterIdFromBytes32, meterIdToBytes32 };

/** The ledger's view of an outbox record. */
export function toMeterRecord(r: OutboxRecord): MeterRecord {
  return {
    consumer: r.consumer,
    meterId: meterIdToBytes32(r.meterId),
    sequence: BigInt(r.sequence),
    periodStart: Math.floor(r.periodStart / 1000),
    resolution: RES_NAMES[r.resolution]!,
    category: CAT_NAMES[r.category]!,
    payload: r.payload,
  };
}

export interface BlockSecLedgerOptions {
  /** Upper bound of records per transaction (default: as many as the block gas limit allows). */
  maxRecordsPerTx?: number;
  /** First block to look at when searching earlier anchors of skipped records. */
  searchFromBlock?: number;
  /**
   * How anchor transactions get their gas limit: "bound" (default) computes an upper bound from
   * the batch (anchorGas.ts) and the node runs each batch once; "estimate" asks the node first.
   * After a failed round the next three are estimated; a receipt that shows the bound no longer
   * fits the contract switches to estimates for good (`onGasBoundMiss`).
   */
  gasLimits?: "bound" | "estimate";
  gasModel?: AnchorGasModel;
  onGasBoundMiss?: (gasUsed: bigint, limit: bigint) => void;
}

const ESTIMATED_ROUNDS_AFTER_FAILURE = 3;

const key = (meterId: string, seq: bigint | number) => `${BigInt(meterId)}:${BigInt(seq)}`;

/**
 * AnchorLedger over BlockSEC's MeterDataLedger (the client's sender is the gateway account, which
 * holds GATEWAY_ROLE for its utility).
 * @example
 * const ledger = new BlockSecLedger(new BlockSecClient({ sender: gatewaySender, addresses }));
 */
export class BlockSecLedger implements AnchorLedger {
  /** Gas per record of the last transaction: sizes the next ones to fit the block. */
  gasPerRecord = 0;
  /** Anchor transactions sent with a computed bound, with the node's estimate, and bounds that missed. */
  readonly gasLimitStats = { bounded: 0, estimated: 0, misses: 0 };
  private boundTrusted = true;
  private estimateRounds = 0;
  /** Per meter, the bitmap word its last anchored reading is in: that word holds a bit already. */
  private readonly usedWord = new Map<number, number>();

  constructor(
    readonly client: BlockSecClient,
    private readonly options: BlockSecLedgerOptions = {},
  ) {}

  async blockNumber(): Promise<number> {
    return Number(BigInt(await this.client.provider.send("eth_blockNumber", [])));
  }

  async blockHash(n: number): Promise<string | null> {
    const b = (await this.client.provider.send("eth_getBlockByNumber", [`0x${n.toString(16)}`, false])) as { hash: string } | null;
    return b?.hash ?? null;
  }

  async resync(): Promise<void> {
    // Anchors left the chain: their bitmap words may be empty again.
    this.usedWord.clear();
    await this.client.sender.sync();
  }

  async anchor(records: readonly OutboxRecord[]): Promise<AnchorOutcome> {
    const sorted = sortForBatch(records);
    const base = randomBytes(32);
    // Unique per round: a resend after a crash is a new batch, and the ledger skips what it holds.
    const plans = new Map<readonly OutboxRecord[], { batchId: string; levels: Buffer[][]; bound: AnchorGasBound | undefined }>();
    const bounded = (this.options.gasLimits ?? "bound") === "bound" && this.boundTrusted && this.estimateRounds === 0;
    if (this.estimateRounds > 0) this.estimateRounds--;
    const mayBeFresh = (meterId: number, word: number) => this.usedWord.get(meterId) !== word;
    const build = (chunk: readonly OutboxRecord[]) => {
      const levels = merkleLevelsBuf(chunk.map((r) => r.leaf ?? recordLeafFast(r)));
      const root = `0x${levels[levels.length - 1][0].toString("hex")}`;
      const batchId = keccak256(concat([base, root, toBeHex(chunk.length, 32)]));
      const data = anchorBatchCalldataBuf(batchId, root, packBatch(chunk));
      const bound = bounded ? anchorGasBound(data, anchorShape(chunk, mayBeFresh), this.options.gasModel ?? ANCHOR_GAS_MODEL) : undefined;
      plans.set(chunk, { batchId, levels, bound });
      return { to: this.client.addresses.meterDataLedger, data: `0x${data.toString("hex")}` };
    };
    const sender = this.client.sender;
    const budget = (sender.blockGasLimit * 80n) / 100n;
    const auto = this.gasPerRecord > 0 ? Number(budget / BigInt(Math.ceil(this.gasPerRecord * 1.1))) : 1000;
    const maxItemsPerTx = Math.max(1, Math.min(auto, this.options.maxRecordsPerTx ?? Infinity));
    let sent: Awaited<ReturnType<typeof sender.sendBatched<OutboxRecord>>>;
    try {
      sent = await sender.sendBatched(sorted, build, { maxItemsPerTx, gasLimitFor: (chunk) => plans.get(chunk)?.bound?.limit });
    } catch (e) {
      // Out of gas, a revert, a node in trouble: the node's estimate shows it before anything is sent.
      this.estimateRounds = ESTIMATED_ROUNDS_AFTER_FAILURE;
      throw e;
    }
    const out: AnchorOutcome = { anchored: [], batches: [], rejected: [], txs: [] };
    const now = Date.now();
    const skippedAll: { consumer: string; meterId: string; sequence: bigint }[] = [];
    for (const { items, receipt } of sent) {
      const plan = plans.get(items)!;
      const skipped = new Set<string>();
      const rejected = new Set<string>();
      let root: string | undefined;
      for (const l of receipt.logs) {
        if (l.address.toLowerCase() !== this.client.addresses.meterDataLedger.toLowerCase()) continue;
        // RecordsStored carries every payload again: never decode it on this hot path.
        if (l.topics[0] === BATCH_ANCHORED) root = ledgerIface.parseLog(l)!.args.root as string;
        else if (l.topics[0] === RECORDS_SKIPPED) {
          const ev = ledgerIface.parseLog(l)!;
          for (const q of ev.args.sequences as bigint[]) {
            skipped.add(key(ev.args.meterId as string, q));
            skippedAll.push({ consumer: getAddress(ev.args.consumer as string), meterId: ev.args.meterId as string, sequence: q });
          }
        } else if (l.topics[0] === RECORDS_REJECTED) {
          const ev = ledgerIface.parseLog(l)!;
          for (const q of ev.args.sequences as bigint[]) {
            rejected.add(key(ev.args.meterId as string, q));
            out.rejected.push({ meterId: meterIdFromBytes32(ev.args.meterId as string), sequence: Number(q), reason: STORAGE_DECISIONS[Number(ev.args.reason)] ?? String(ev.args.reason) });
          }
        }
      }
      if (root === undefined) throw new LedgerError(`transaction ${receipt.transactionHash} has no BatchAnchored event`);
      const stored = skipped.size + rejected.size === 0 ? [...items] : items.filter((r) => !skipped.has(key(meterIdToBytes32(r.meterId), r.sequence)) && !rejected.has(key(meterIdToBytes32(r.meterId), r.sequence)));
      const levels = skipped.size + rejected.size === 0 ? plan.levels : merkleLevelsBuf(stored.map((r) => r.leaf ?? recordLeafFast(r)));
      const localRoot = stored.length ? `0x${levels[levels.length - 1][0].toString("hex")}` : root.toLowerCase();
      if (localRoot !== root.toLowerCase()) throw new LedgerError(`batch ${plan.batchId}: local root ${localRoot} differs from the anchored root ${root}`);
      // Proofs are derived on demand from the batch's leaves (stored once per batch).
      stored.forEach((r, i) =>
        out.anchored.push({
          meterId: r.meterId,
          sequence: r.sequence,
          anchor: { batchId: plan.batchId, txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, root, leafIndex: i, anchoredAt: now },
        }),
      );
      if (stored.length) out.batches.push({ batchId: plan.batchId, txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, root, leaves: levels[0].map((l) => `0x${l.toString("hex")}`) });
      if (items.length) this.gasPerRecord = Number(receipt.gasUsed) / items.length;
      if (plan.bound) {
        this.gasLimitStats.bounded++;
        if (boundMissed(receipt.gasUsed, plan.bound)) {
          this.gasLimitStats.misses++;
          this.boundTrusted = false;
          this.options.onGasBoundMiss?.(receipt.gasUsed, plan.bound.limit);
        }
      } else this.gasLimitStats.estimated++;
      for (const r of stored) this.usedWord.set(r.meterId, Math.floor(r.sequence / 256));
      out.txs.push({ hash: receipt.transactionHash, gasUsed: receipt.gasUsed, stored: stored.length, skipped: skipped.size, rejected: rejected.size, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash });
    }
    if (skippedAll.length) {
      const found = await this.findAnchors(skippedAll);
      out.anchored.push(...found.anchored);
      out.batches.push(...found.batches);
    }
    return out;
  }

  /** Where earlier batches anchored these (meter, sequence) pairs. */
  async findAnchors(items: readonly { consumer: string; meterId: string; sequence: bigint }[]): Promise<{ anchored: AnchoredItem[]; batches: BatchRecord[] }> {
    const wanted = new Set(items.map((i) => key(i.meterId, i.sequence)));
    const groups = new Map<string, { consumer: string; meterId: string }>();
    for (const i of items) groups.set(`${i.consumer}|${i.meterId}`, i);
    const batchIds = new Set<string>();
    for (const g of groups.values()) {
      const recs = await this.client.storedRecords({ consumer: g.consumer, meterId: g.meterId, fromBlock: this.options.searchFromBlock ?? 0 });
      for (const r of recs) if (wanted.has(key(r.record.meterId, r.record.sequence))) batchIds.add(r.batchId);
    }
    const out = { anchored: [] as AnchoredItem[], batches: [] as BatchRecord[] };
    for (const id of batchIds) {
      const b = await this.batchItems(id);
      out.anchored.push(...b.anchored.filter((x) => wanted.has(`${x.meterId}:${x.sequence}`)));
      out.batches.push(b.batch);
    }
    return out;
  }

  async recover(fromBlock: number): Promise<{ anchored: AnchoredItem[]; batches: BatchRecord[] }> {
    const logs = await this.client.provider.getLogs({
      address: this.client.addresses.meterDataLedger,
      topics: [BATCH_ANCHORED, null, zeroPadValue(this.client.sender.address, 32)],
      fromBlock,
      toBlock: "latest",
    });
    const out = { anchored: [] as AnchoredItem[], batches: [] as BatchRecord[] };
    for (const l of logs) {
      const b = await this.batchItems(l.topics[1]);
      out.anchored.push(...b.anchored);
      out.batches.push(b.batch);
    }
    return out;
  }

  private async batchItems(batchId: string): Promise<{ anchored: AnchoredItem[]; batch: BatchRecord }> {
    const { root, records } = await this.client.batchRecords(batchId);
    const leaves = records.map((r) => recordLeaf(r.record));
    const now = Date.now();
    const first = records[0];
    return {
      anchored: records.map((r) => ({
        meterId: meterIdFromBytes32(r.record.meterId),
        sequence: Number(r.record.sequence),
        anchor: { batchId, txHash: r.transactionHash, blockNumber: r.blockNumber, root, leafIndex: r.leafIndex, anchoredAt: now },
      })),
      batch: { batchId, txHash: first?.transactionHash ?? "", blockNumber: first?.blockNumber ?? 0, root, leaves },
    };
  }
}

export interface BlockSecPolicySourceOptions {
  /** How often the mirror's events are polled (default 500 ms). */
  pollMs?: number;
  /** First block to watch (default: the latest at construction). */
  fromBlock?: number;
  onError?: (e: unknown) => void;
}

/**
 * Consent from BlockSEC's PolicyMirror; change events come from polling its logs.
 * @example
 * const source = new BlockSecPolicySource(client);
 * const policy = new CachedPolicy(source, { utility });
 */
export class BlockSecPolicySource implements PolicySource {
  private readonly listeners = new Set<(c: PolicyChange) => void>();
  private timer: NodeJS.Timeout | undefined;
  private nextBlock: number | undefined;
  private polling: Promise<void> | undefined;
  private timestamp = { value: 0, at: 0 };
  /** Mirror events seen (tests, metrics). */
  eventsSeen = 0;

  constructor(
    readonly client: BlockSecClient,
    private readonly options: BlockSecPolicySourceOptions = {},
  ) {
    if (options.fromBlock !== undefined) this.nextBlock = options.fromBlock;
  }

  async bindingOfMeter(meterId: number): Promise<MeterBinding | null> {
    const consumer = await this.client.consumerOfMeter(meterIdToBytes32(meterId));
    if (!consumer) return null;
    const reg = await this.client.registrationOf(consumer);
    if (!reg || BigInt(reg.meterId) !== BigInt(meterId)) return null;
    return { consumer: getAddress(consumer), encryptionKey: getBytes(reg.encryptionKey) };
  }

  async isPermitted(consumer: string, utility: string, category: Category, resolution: number): Promise<boolean> {
    return this.client.mirror.isPermitted(consumer, utility, category, resolution, await this.chainTime());
  }

  async preferencesVersion(consumer: string): Promise<number> {
    return Number(await this.client.mirror.preferencesVersionOf(consumer));
  }

  async consentOf(consumer: string, utility: string): Promise<ConsentSnapshot> {
    const [finest, version] = await this.client.mirror.consentOf(consumer, utility, Category.CONSUMPTION, await this.chainTime());
    return { finest: Number(finest) as Resolution, preferencesVersion: Number(version) };
  }

  subscribe(onChange: (c: PolicyChange) => void): () => void {
    this.listeners.add(onChange);
    if (!this.timer) this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 500);
    return () => {
      this.listeners.delete(onChange);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Reads new mirror events now (the timer does it every pollMs); waits for a poll in progress. */
  async poll(): Promise<void> {
    while (this.polling) await this.polling;
    const run = this.pollOnce();
    this.polling = run;
    try {
      await run;
    } finally {
      this.polling = undefined;
    }
  }

  private async pollOnce(): Promise<void> {
    try {
      // Not provider.getBlockNumber(): ethers caches it for a while, which would delay invalidations.
      const latest = Number(BigInt(await this.client.provider.send("eth_blockNumber", [])));
      if (this.nextBlock === undefined) this.nextBlock = latest + 1;
      if (latest < this.nextBlock) return;
      const logs = await this.client.provider.getLogs({ address: this.client.addresses.policyMirror, topics: [MIRROR_TOPICS], fromBlock: this.nextBlock, toBlock: latest });
      this.nextBlock = latest + 1;
      if (logs.length === 0) return;
      this.eventsSeen += logs.length;
      const consumers = [...new Set(logs.map((l) => getAddress(`0x${l.topics[1].slice(26)}`)))];
      for (const l of this.listeners) l({ consumers });
    } catch (e) {
      this.options.onError?.(e);
    }
  }

  /** The chain's clock (preferences expire by block time), cached for a second. */
  private async chainTime(): Promise<number> {
    if (Date.now() - this.timestamp.at > 1000) {
      const b = (await this.client.provider.send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
      this.timestamp = { value: Number(BigInt(b.timestamp)), at: Date.now() };
    }
    return this.timestamp.value + Math.floor((Date.now() - this.timestamp.at) / 1000);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}
