// The typed client of BlockSEC's ledgers (PolicyMirror, MeterDataLedger, AccessLedger, TradeLog).
// Longer than 500 lines on purpose: one class for the ledgers a gateway, a utility and a court use
// together; the access log's decoding is in accessLog.ts, the court's audit in audit.ts.
import { getLogs, latestTimestamp, uncachedRunner, type RawLog } from "@sidegrid/chain";
import { AbiCoder, getAddress, id, keccak256, ZeroHash, zeroPadValue, type JsonRpcProvider } from "ethers";
import type { TxReceipt, TxSender } from "@sidegrid/chain";
import type { AccessEntry } from "./types";
import { DENIED_TOPIC, GRANTED_TOPIC, entryFromLog, readAccessLog } from "./accessLog";
import { auditConsumer, type AuditReport } from "./audit";
import { AccessDeniedError, BatchNotFoundError, InvalidArgumentError, MissingEventError } from "./errors";
import {
  AccessLedger__factory,
  MeterDataLedger__factory,
  PolicyMirror__factory,
  TradeLog__factory,
  type AccessLedger,
  type MeterDataLedger,
  type PolicyMirror,
  type TradeLog,
} from "./generated";
import { merkleProof, merkleRoot } from "./merkle";
import { decodeStoredRecords, encodeBatch, recordLeaf, sortRecords } from "./records";
import {
  Category,
  Resolution,
  StorageDecision,
  type CategoryName,
  type MeterRecord,
  type ResolutionName,
  type StorageDecisionName,
  type Trade,
} from "./types";
import { checkAddress, checkBytes32, enumName } from "./validate";

/** keccak256("FEDERATION_ROLE"): who may call `onFederatedMessage`. */
export const FEDERATION_ROLE = id("FEDERATION_ROLE");
/** keccak256("DISTRIBUTOR_ROLE") on the PolicyMirror. */
export const DISTRIBUTOR_ROLE = id("DISTRIBUTOR_ROLE");
/** keccak256("AUDITOR_ROLE") on the PolicyMirror. */
export const AUDITOR_ROLE = id("AUDITOR_ROLE");
/** keccak256("GATEWAY_ROLE") on the MeterDataLedger. */
export const GATEWAY_ROLE = id("GATEWAY_ROLE");

const mirrorIface = PolicyMirror__factory.createInterface();
const ledgerIface = MeterDataLedger__factory.createInterface();
const accessIface = AccessLedger__factory.createInterface();
const tradeIface = TradeLog__factory.createInterface();
const STORED_TOPIC = ledgerIface.getEvent("RecordsStored").topicHash;
const TRADE_KINDS = ["CP", "CC", "AUCTION"] as const;

/** The four BlockSEC contracts. */
export interface BlockSecAddresses {
  policyMirror: string;
  meterDataLedger: string;
  accessLedger: string;
  tradeLog: string;
}

export interface BlockSecClientParameters {
  sender: TxSender;
  addresses: BlockSecAddresses;
}

/** A record as stored on the ledger, with where it is. */
export interface StoredRecord {
  record: MeterRecord;
  batchId: string;
  /** Its leaf index in the batch's tree. */
  leafIndex: number;
  blockNumber: number;
  transactionHash: string;
}

/** Records the mirror refused, per group. */
export interface RejectedRecords {
  consumer: string;
  meterId: string;
  reason: StorageDecisionName;
  category: CategoryName;
  resolution: ResolutionName;
  sequences: bigint[];
}

/** What one `anchorBatch` transaction did. */
export interface AnchorResult {
  batchId: string;
  root: string;
  /** The root the client computed over all it submitted. */
  claimedRoot: string;
  stored: number;
  skipped: { consumer: string; meterId: string; sequences: bigint[] }[];
  rejected: RejectedRecords[];
  /** The submitted records in leaf order. */
  records: MeterRecord[];
  receipt: TxReceipt;
}

export interface RequestAccessParameters {
  consumer: string;
  category: CategoryName;
  /** Default NONE (right for TRADES; consumption needs one). */
  resolution?: ResolutionName;
  /** Unix seconds. */
  from: number;
  to: number;
  /** X25519 key the key shares of a grant are released to; default zero. */
  requesterKey?: string;
}

/** A granted request. */
export interface AccessGrant {
  entry: AccessEntry;
  receipt: TxReceipt;
}

/**
 * Typed client of BlockSEC: the policy mirror, the meter data ledger, the access ledger and the
 * trade log. Writes go through the TxSender (regulator, relayer, gateway, utility or court).
 *
 * @example
 * const sec = new BlockSecClient({ sender: gateway, addresses });
 * const res = await sec.anchorBatch({ batchId, records });
 * const grant = await sec.withSender(utility).requestAccess({ consumer, category: "CONSUMPTION", resolution: "DAILY", from: 0, to: now });
 */
export class BlockSecClient {
  readonly sender: TxSender;
  readonly addresses: BlockSecAddresses;
  readonly mirror: PolicyMirror;
  readonly ledger: MeterDataLedger;
  readonly access: AccessLedger;
  readonly trades: TradeLog;

  constructor(params: BlockSecClientParameters) {
    this.sender = params.sender;
    const a = params.addresses;
    this.addresses = {
      policyMirror: getAddress(a.policyMirror),
      meterDataLedger: getAddress(a.meterDataLedger),
      accessLedger: getAddress(a.accessLedger),
      tradeLog: getAddress(a.tradeLog),
    };
    // Reads bypass ethers' request cache (a read right after a write must see it).
    const p = uncachedRunner(params.sender.provider);
    this.mirror = PolicyMirror__factory.connect(this.addresses.policyMirror, p);
    this.ledger = MeterDataLedger__factory.connect(this.addresses.meterDataLedger, p);
    this.access = AccessLedger__factory.connect(this.addresses.accessLedger, p);
    this.trades = TradeLog__factory.connect(this.addresses.tradeLog, p);
    for (const abi of [PolicyMirror__factory.abi, MeterDataLedger__factory.abi, AccessLedger__factory.abi, TradeLog__factory.abi]) this.sender.addAbi(abi as never);
  }

  get provider(): JsonRpcProvider {
    return this.sender.provider;
  }

  get chainId(): bigint {
    return this.sender.chainId;
  }

  /** The same contracts, writing from another account. */
  withSender(sender: TxSender): BlockSecClient {
    return new BlockSecClient({ sender, addresses: this.addresses });
  }

  // ------------------------------------------------------------ regulator

  /** Admits `account` as a distributor on BlockSEC (the regulator does it on BlockPRI too). */
  grantDistributor(account: string): Promise<TxReceipt> {
    return this.role("grantRole", DISTRIBUTOR_ROLE, account);
  }

  revokeDistributor(account: string): Promise<TxReceipt> {
    return this.role("revokeRole", DISTRIBUTOR_ROLE, account);
  }

  /** Admits `account` (a court) as an auditor on BlockSEC. */
  grantAuditor(account: string): Promise<TxReceipt> {
    return this.role("grantRole", AUDITOR_ROLE, account);
  }

  revokeAuditor(account: string): Promise<TxReceipt> {
    return this.role("revokeRole", AUDITOR_ROLE, account);
  }

  /** Lets `account` deliver federated messages to the mirror and the trade log (relayer or inbox). */
  async grantFederation(account: string): Promise<TxReceipt[]> {
    const a = checkAddress("account", account);
    return [
      await this.sender.sendAndWait({ to: this.addresses.policyMirror, data: mirrorIface.encodeFunctionData("grantRole", [FEDERATION_ROLE, a]) }),
      await this.sender.sendAndWait({ to: this.addresses.tradeLog, data: tradeIface.encodeFunctionData("grantRole", [FEDERATION_ROLE, a]) }),
    ];
  }

  /** Sets the BlockPRI chain id and PPC address the mirror accepts messages from. */
  setPreferenceSource(chainId: bigint | number, ppc: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({
      to: this.addresses.policyMirror,
      data: mirrorIface.encodeFunctionData("setPreferenceSource", [chainId, checkAddress("ppc", ppc)]),
    });
  }

  /** Sets the BlockTST chain id and market address the trade log accepts trades from. */
  setTradeSource(chainId: bigint | number, market: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({
      to: this.addresses.tradeLog,
      data: tradeIface.encodeFunctionData("setTradeSource", [chainId, checkAddress("market", market)]),
    });
  }

  /** Grants GATEWAY_ROLE to `gateway`, anchoring for `utility`. */
  grantGateway(gateway: string, utility: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({
      to: this.addresses.meterDataLedger,
      data: ledgerIface.encodeFunctionData("grantGateway", [checkAddress("gateway", gateway), checkAddress("utility", utility)]),
    });
  }

  revokeGateway(gateway: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({ to: this.addresses.meterDataLedger, data: ledgerIface.encodeFunctionData("revokeGateway", [checkAddress("gateway", gateway)]) });
  }

  // ------------------------------------------------------------ federated delivery (relayer)

  /** Delivers a BlockPRI payload (preferences or registration) to the mirror. */
  deliverPreferences(srcChainId: bigint | number, srcSender: string, payload: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({
      to: this.addresses.policyMirror,
      data: mirrorIface.encodeFunctionData("onFederatedMessage", [srcChainId, checkAddress("srcSender", srcSender), payload]),
    });
  }

  /** Delivers a BlockTST trade payload to the trade log. */
  deliverTrade(srcChainId: bigint | number, srcSender: string, payload: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({
      to: this.addresses.tradeLog,
      data: tradeIface.encodeFunctionData("onFederatedMessage", [srcChainId, checkAddress("srcSender", srcSender), payload]),
    });
  }

  // ------------------------------------------------------------ mirror reads

  /** True if `utility` may monitor the consumer's category at the resolution at `at` (default now). */
  async isPermitted(p: { consumer: string; utility: string; category: CategoryName; resolution?: ResolutionName; at?: number }): Promise<boolean> {
    const at = p.at ?? (await latestTimestamp(this.provider));
    return this.mirror.isPermitted(checkAddress("consumer", p.consumer), checkAddress("utility", p.utility), Category[p.category], Resolution[p.resolution ?? "NONE"], at);
  }

  /** Whether the ledger would store a reading of `meterId` for `consumer` on behalf of `utility`, now. */
  async storageDecision(p: { consumer: string; meterId: string; utility: string; category: CategoryName; resolution: ResolutionName }): Promise<StorageDecisionName> {
    const d = await this.mirror.storageDecision(
      checkAddress("consumer", p.consumer),
      checkBytes32("meterId", p.meterId),
      checkAddress("utility", p.utility),
      Category[p.category],
      Resolution[p.resolution],
    );
    return enumName(StorageDecision, "StorageDecision", d);
  }

  async preferencesVersionOf(consumer: string): Promise<bigint> {
    return this.mirror.preferencesVersionOf(checkAddress("consumer", consumer));
  }

  async registrationVersionOf(consumer: string): Promise<bigint> {
    return this.mirror.registrationVersionOf(checkAddress("consumer", consumer));
  }

  /** The mirrored meter binding, or undefined. */
  async registrationOf(consumer: string): Promise<{ consumer: string; meterId: string; meterSigner: string; encryptionKey: string } | undefined> {
    const r = await this.mirror.registrationOf(checkAddress("consumer", consumer));
    if (r.meterId === ZeroHash) return undefined;
    return { consumer: getAddress(r.consumer), meterId: r.meterId, meterSigner: getAddress(r.meterSigner), encryptionKey: r.encryptionKey };
  }

  async consumerOfMeter(meterId: string): Promise<string | undefined> {
    const a = await this.mirror.consumerOfMeter(checkBytes32("meterId", meterId));
    return /^0x0{40}$/i.test(a) ? undefined : getAddress(a);
  }

  async isDistributor(account: string): Promise<boolean> {
    return this.mirror.isDistributor(checkAddress("account", account));
  }

  async isAuditor(account: string): Promise<boolean> {
    return this.mirror.isAuditor(checkAddress("account", account));
  }

  // ------------------------------------------------------------ data ledger

  /**
   * Anchors `records` in one transaction as batch `batchId` (sorted by consumer, meter, category,
   * resolution and sequence first, unless `sort` is false). Refused and duplicate records are
   * reported in the result, not thrown.
   */
  async anchorBatch(params: { batchId: string; records: readonly MeterRecord[]; sort?: boolean }): Promise<AnchorResult> {
    const batchId = checkBytes32("batchId", params.batchId);
    const enc = encodeBatch(params.sort === false ? params.records : sortRecords(params.records));
    const receipt = await this.sender.sendAndWait({
      to: this.addresses.meterDataLedger,
      data: ledgerIface.encodeFunctionData("anchorBatch", [batchId, enc.root, enc.data]),
    });
    return this.anchorResult(batchId, enc.root, enc.records, receipt);
  }

  /**
   * Anchors any number of records, split by `TxSender.sendBatched` into transactions that fit the
   * block gas limit (and at most `maxRecordsPerTx`). A single transaction keeps `batchId`; split
   * parts get keccak256(batchId, their root, their size), so a resend of the same part is refused
   * as already anchored rather than anchored twice.
   */
  async anchorRecords(params: { batchId: string; records: readonly MeterRecord[]; maxRecordsPerTx?: number }): Promise<AnchorResult[]> {
    const base = checkBytes32("batchId", params.batchId);
    const sorted = sortRecords(params.records);
    const parts = new Map<readonly MeterRecord[], { batchId: string; root: string; records: MeterRecord[] }>();
    const build = (chunk: readonly MeterRecord[]) => {
      const enc = encodeBatch(chunk);
      const batchId = chunk.length === sorted.length ? base : keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32", "uint256"], [base, enc.root, chunk.length]));
      parts.set(chunk, { batchId, root: enc.root, records: enc.records });
      return { to: this.addresses.meterDataLedger, data: ledgerIface.encodeFunctionData("anchorBatch", [batchId, enc.root, enc.data]) };
    };
    const sent = await this.sender.sendBatched(sorted, build, params.maxRecordsPerTx === undefined ? {} : { maxItemsPerTx: params.maxRecordsPerTx });
    return sent.map(({ items, receipt }) => {
      const p = parts.get(items)!;
      return this.anchorResult(p.batchId, p.root, p.records, receipt);
    });
  }

  /** The anchored batch, or undefined. */
  async batchOf(batchId: string): Promise<{ root: string; utility: string; stored: number; blockNumber: number } | undefined> {
    const b = await this.ledger.batchOf(checkBytes32("batchId", batchId));
    if (b.blockNumber === 0n) return undefined;
    return { root: b.root, utility: getAddress(b.utility), stored: Number(b.stored), blockNumber: Number(b.blockNumber) };
  }

  async isAnchored(meterId: string, sequence: bigint): Promise<boolean> {
    return this.ledger.isAnchored(checkBytes32("meterId", meterId), sequence);
  }

  async totals(): Promise<{ batches: bigint; records: bigint }> {
    const [batches, records] = await this.ledger.totals();
    return { batches, records };
  }

  /** The utility a gateway anchors for, or undefined. */
  async gatewayUtility(gateway: string): Promise<string | undefined> {
    const u = await this.ledger.gatewayUtility(checkAddress("gateway", gateway));
    return /^0x0{40}$/i.test(u) ? undefined : getAddress(u);
  }

  /** Every stored record of a batch, in leaf order, read from its RecordsStored events. */
  async batchRecords(batchId: string): Promise<{ root: string; records: StoredRecord[] }> {
    const id32 = checkBytes32("batchId", batchId);
    const b = await this.batchOf(id32);
    if (!b) throw new BatchNotFoundError(id32);
    const logs = await getLogs(this.provider, {
      address: this.addresses.meterDataLedger,
      topics: [STORED_TOPIC, id32],
      fromBlock: b.blockNumber,
      toBlock: b.blockNumber,
    });
    const records = logs.flatMap(storedFromLog).sort((x, y) => x.leafIndex - y.leafIndex);
    return { root: b.root, records };
  }

  /**
   * A consumer's stored records across batches (their RecordsStored events), oldest first.
   * @param p.meterId Only this meter's.
   */
  async storedRecords(p: { consumer: string; meterId?: string; fromBlock?: number; toBlock?: number | "latest" }): Promise<StoredRecord[]> {
    const topics: (string | null)[] = [STORED_TOPIC, null, zeroPad(checkAddress("consumer", p.consumer))];
    if (p.meterId) topics.push(checkBytes32("meterId", p.meterId));
    const logs = await getLogs(this.provider, { address: this.addresses.meterDataLedger, topics, fromBlock: p.fromBlock ?? 0, toBlock: p.toBlock ?? "latest" });
    return logs.flatMap(storedFromLog);
  }

  /** The Merkle proof of leaf `leafIndex` of batch `batchId`, built from the batch's events. */
  async proveRecord(batchId: string, leafIndex: number): Promise<{ record: MeterRecord; leaf: string; proof: string[]; root: string }> {
    const { root, records } = await this.batchRecords(batchId);
    const leaves = records.map((r) => recordLeaf(r.record));
    if (leafIndex < 0 || leafIndex >= leaves.length) throw new InvalidArgumentError("leafIndex", leafIndex, `is not a leaf of batch ${batchId} (0..${leaves.length - 1})`);
    if (merkleRoot(leaves) !== root.toLowerCase()) throw new MissingEventError("RecordsStored (complete set)", batchId);
    return { record: records[leafIndex]!.record, leaf: leaves[leafIndex]!, proof: merkleProof(leaves, leafIndex), root };
  }

  /** Asks the ledger whether `record` is in batch `batchId` by `proof` (its `verifyRecord` view). */
  async verifyRecordOnChain(batchId: string, record: MeterRecord, proof: readonly string[]): Promise<boolean> {
    return this.ledger.verifyRecord(checkBytes32("batchId", batchId), recordTuple(record), [...proof]);
  }

  // ------------------------------------------------------------ access ledger

  /**
   * Asks for a consumer's data. The request is recorded whatever the outcome; a denial throws
   * {@link AccessDeniedError} carrying the recorded entry.
   */
  async requestAccess(p: RequestAccessParameters): Promise<AccessGrant> {
    const data = accessIface.encodeFunctionData("requestAccess", [
      checkAddress("consumer", p.consumer),
      Category[p.category],
      Resolution[p.resolution ?? "NONE"],
      p.from,
      p.to,
      p.requesterKey === undefined ? ZeroHash : checkBytes32("requesterKey", p.requesterKey),
    ]);
    return this.accessCall(data);
  }

  /** The paper's `getEnergyUsage`: all stored consumption at daily resolution; throws on denial. */
  getEnergyUsage(consumer: string): Promise<AccessGrant> {
    return this.accessCall(accessIface.encodeFunctionData("getEnergyUsage", [checkAddress("consumer", consumer)]));
  }

  /** The paper's `getCurrentEnergyUsage`: the real-time view (distributor role only); throws on denial. */
  getCurrentEnergyUsage(consumer: string): Promise<AccessGrant> {
    return this.accessCall(accessIface.encodeFunctionData("getCurrentEnergyUsage", [checkAddress("consumer", consumer)]));
  }

  /**
   * The paper's `getTransLog`: a recorded request for the consumer's whole trade log; throws on
   * denial. It returns no trades (the chain holds them sealed): to read them, request TRADES with
   * {@link requestAccess} and a requester key, and open the released keys.
   */
  getTransLog(consumer: string): Promise<AccessGrant> {
    return this.accessCall(accessIface.encodeFunctionData("getTransLog", [checkAddress("consumer", consumer)]));
  }

  /** A court's recorded read of the access log; throws on denial (not an auditor). */
  readAccessLog(consumer: string): Promise<AccessGrant> {
    return this.accessCall(accessIface.encodeFunctionData("readAccessLog", [checkAddress("consumer", consumer)]));
  }

  /** The consumer's chain head and entry count. */
  async accessHead(consumer: string): Promise<{ head: string; count: number }> {
    const [head, count] = await this.access.accessHead(checkAddress("consumer", consumer));
    return { head, count: Number(count) };
  }

  /** The on-chain hash of every entry of the consumer's chain. */
  async accessEntryHashes(consumer: string, count?: number): Promise<string[]> {
    const n = count ?? (await this.accessHead(consumer)).count;
    const c = checkAddress("consumer", consumer);
    const out: string[] = [];
    for (let i = 0; i < n; i += 50) {
      const part = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => this.access.entryHashAt(c, i + k)));
      out.push(...part);
    }
    return out;
  }

  /** The consumer's access chain rebuilt from events, in log order. */
  async accessLog(consumer: string, fromBlock = 0): Promise<AccessEntry[]> {
    return readAccessLog(this.provider, this.addresses.accessLedger, consumer, fromBlock);
  }

  /** A court's audit of the consumer's access chain (see {@link auditConsumer}). */
  audit(consumer: string, options: { fromBlock?: number; record?: boolean; keyCustody?: string } = {}): Promise<AuditReport> {
    return auditConsumer({
      provider: this.provider,
      accessLedger: this.addresses.accessLedger,
      consumer,
      ...(options.keyCustody ? { keyCustody: options.keyCustody } : {}),
      ...(options.fromBlock !== undefined ? { fromBlock: options.fromBlock } : {}),
      ...(options.record ? { recordWith: this } : {}),
    });
  }

  // ------------------------------------------------------------ trade log

  /**
   * Settled trades relayed from BlockTST, oldest first, optionally only those with `party` as
   * buyer or seller. They name trading accounts and are as public as on BlockTST; a household's
   * trades under her own identity are read through the AccessLedger instead (sealed records).
   */
  async relayedTrades(options: { fromBlock?: number; toBlock?: number | "latest"; party?: string } = {}): Promise<(Trade & { blockNumber: number })[]> {
    const relayed = tradeIface.getEvent("TradeRelayed");
    const party = options.party === undefined ? null : zeroPadValue(checkAddress("party", options.party), 32);
    const base = { address: this.addresses.tradeLog, fromBlock: options.fromBlock ?? 0, toBlock: options.toBlock ?? "latest" };
    const queries = party === null ? [[relayed.topicHash]] : [[relayed.topicHash, null, party], [relayed.topicHash, null, null, party]];
    const seen = new Map<string, RawLog>();
    for (const topics of queries) for (const l of await getLogs(this.provider, { ...base, topics })) seen.set(`${l.blockNumber}:${l.index}`, l);
    const logs = [...seen.values()].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    return logs.map((l) => {
      const t = tradeIface.parseLog(l)!.args.trade as unknown as { tradeId: bigint; buyer: string; seller: string; kind: bigint; quantityWh: bigint; amount: bigint; unitPrice: bigint; settledAt: bigint };
      return {
        tradeId: t.tradeId,
        buyer: getAddress(t.buyer),
        seller: getAddress(t.seller),
        kind: TRADE_KINDS[Number(t.kind)] ?? "CP",
        quantityWh: t.quantityWh,
        amount: t.amount,
        unitPrice: t.unitPrice,
        settledAt: Number(t.settledAt),
        blockNumber: l.blockNumber,
      };
    });
  }

  // ------------------------------------------------------------ internals

  private role(fn: "grantRole" | "revokeRole", role: string, account: string): Promise<TxReceipt> {
    const args: [string, string] = [role, checkAddress("account", account)];
    const data = fn === "grantRole" ? mirrorIface.encodeFunctionData("grantRole", args) : mirrorIface.encodeFunctionData("revokeRole", args);
    return this.sender.sendAndWait({ to: this.addresses.policyMirror, data });
  }

  private async accessCall(data: string): Promise<AccessGrant> {
    const receipt = await this.sender.sendAndWait({ to: this.addresses.accessLedger, data });
    const entry = receipt.logs
      .filter((l) => l.address.toLowerCase() === this.addresses.accessLedger.toLowerCase() && (l.topics[0] === GRANTED_TOPIC || l.topics[0] === DENIED_TOPIC))
      .map((l) => entryFromLog({ topics: l.topics, data: l.data, blockNumber: l.blockNumber, transactionHash: l.transactionHash, index: l.logIndex }))[0];
    if (!entry) throw new MissingEventError("AccessGranted/AccessDenied", receipt.transactionHash);
    if (!entry.granted) throw new AccessDeniedError(entry);
    return { entry, receipt };
  }

  private anchorResult(batchId: string, claimedRoot: string, records: MeterRecord[], receipt: TxReceipt): AnchorResult {
    const res: AnchorResult = { batchId, root: ZeroHash, claimedRoot, stored: 0, skipped: [], rejected: [], records, receipt };
    let found = false;
    for (const l of receipt.logs) {
      if (l.address.toLowerCase() !== this.addresses.meterDataLedger.toLowerCase()) continue;
      const ev = ledgerIface.parseLog({ topics: l.topics, data: l.data });
      if (!ev) continue;
      if (ev.name === "BatchAnchored") {
        found = true;
        res.root = ev.args.root as string;
        res.stored = Number(ev.args.stored);
      } else if (ev.name === "RecordsSkipped") {
        res.skipped.push({ consumer: getAddress(ev.args.consumer as string), meterId: ev.args.meterId as string, sequences: [...(ev.args.sequences as bigint[])] });
      } else if (ev.name === "RecordsRejected") {
        res.rejected.push({
          consumer: getAddress(ev.args.consumer as string),
          meterId: ev.args.meterId as string,
          reason: enumName(StorageDecision, "StorageDecision", ev.args.reason as bigint),
          category: enumName(Category, "Category", ev.args.category as bigint),
          resolution: enumName(Resolution, "Resolution", ev.args.resolution as bigint),
          sequences: [...(ev.args.sequences as bigint[])],
        });
      }
    }
    if (!found) throw new MissingEventError("BatchAnchored", receipt.transactionHash);
    return res;
  }
}

function storedFromLog(l: Pick<RawLog, "topics" | "data" | "blockNumber" | "transactionHash">): StoredRecord[] {
  const ev = ledgerIface.parseLog({ topics: [...l.topics], data: l.data })!;
  const group = {
    consumer: getAddress(ev.args.consumer as string),
    meterId: (ev.args.meterId as string).toLowerCase(),
    category: enumName(Category, "Category", ev.args.category as bigint),
    resolution: enumName(Resolution, "Resolution", ev.args.resolution as bigint),
  };
  const first = Number(ev.args.firstLeaf);
  return decodeStoredRecords(group, ev.args.records as string).map((record, i) => ({
    record,
    batchId: ev.args.batchId as string,
    leafIndex: first + i,
    blockNumber: l.blockNumber,
    transactionHash: l.transactionHash,
  }));
}

function recordTuple(r: MeterRecord) {
  return {
    consumer: r.consumer,
    meterId: r.meterId,
    sequence: r.sequence,
    periodStart: r.periodStart,
    resolution: Resolution[r.resolution],
    category: Category[r.category],
    payload: r.payload,
  };
}

function zeroPad(address: string): string {
  return `0x${address.slice(2).toLowerCase().padStart(64, "0")}`;
}
