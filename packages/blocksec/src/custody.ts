// Typed client of BlockSEC's KeyCustody contract: custody keys of the members, published epoch
// keys, released shares. Reads take a provider; writes a TxSender (gateway, member).
import { Contract, Interface, getAddress, hexlify, toBeHex, zeroPadValue, type JsonRpcProvider } from "ethers";
import { deployContract, getLogs, readArtifact, uncachedRunner, type Deployments, type TxReceipt, type TxSender } from "@sidegrid/chain";
import type { AccessEntry } from "./types";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { InvalidArgumentError } from "./errors";
import { KeyCustody__factory, type KeyCustody } from "./generated";
import { AccessCategory, DenyReason, Resolution, type ResolutionName } from "./types";
import { checkAddress, enumName } from "./validate";

// Untyped view of the ABI: TypeChain's overloads reject plain tuples.
const iface = new Interface(KeyCustody__factory.abi);
const PUBLISH_BASE_GAS = 100_000n;
const PUBLISH_GAS_PER_KEY = 60_000n;
const PUBLISHED_TOPIC = iface.getEvent("KeyPublished")!.topicHash;
const RELEASED_TOPIC = iface.getEvent("SharesReleased")!.topicHash;
const REGISTERED_TOPIC = iface.getEvent("CustodyKeyRegistered")!.topicHash;

/** An epoch key as a gateway publishes it (times in Unix seconds). */
export interface KeyPublication {
  consumer: string;
  keyId: number;
  resolution: ResolutionName;
  epochStart: number;
  epochEnd: number;
  /** bytes32, see `keyCommitment`. */
  commitment: string;
  /** 0x hex: epk | consumer box | share boxes (custodyCrypto.ts). */
  envelope: string;
}

const PUBLISH_SELECTOR = Buffer.from(iface.getFunction("publishKeys")!.selector.slice(2), "hex");
const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;
/** Consumers whose address was checked (a gateway publishes for the same households every epoch). */
const checkedConsumers = new Set<string>();

function checkedConsumer(a: string): string {
  if (!checkedConsumers.has(a)) {
    checkAddress("consumer", a);
    if (checkedConsumers.size >= 100_000) checkedConsumers.clear();
    checkedConsumers.add(a);
  }
  return a;
}

function checkUint(what: string, v: number, bits: number): number {
  if (!Number.isSafeInteger(v) || v < 0 || v >= 2 ** bits) throw new InvalidArgumentError(what, v, `must be a uint${bits}`);
  return v;
}

/**
 * ABI encoding of `publishKeys(setIndex, keys)`, written straight into one buffer: ethers' encoder
 * took ~0.5 ms a key, a tenth of a gateway core at the bench's rate of new keys.
 * custody.test.ts compares it with ethers' encoding.
 * @example
 * encodePublishKeysCalldata(0, [publication]) // "0x…"
 */
export function encodePublishKeysCalldata(setIndex: number, keys: readonly KeyPublication[]): string {
  checkUint("setIndex", setIndex, 32);
  const envelopes = keys.map((k, i) => {
    if (typeof k.envelope !== "string" || !HEX.test(k.envelope)) throw new InvalidArgumentError(`keys[${i}].envelope`, k.envelope, "is not 0x hex");
    return Buffer.from(k.envelope.slice(2), "hex");
  });
  const sizes = envelopes.map((e) => 32 * 8 + Math.ceil(e.length / 32) * 32);
  const out = Buffer.alloc(4 + 32 * 3 + 32 * keys.length + sizes.reduce((a, b) => a + b, 0));
  const putNumber = (at: number, n: number) => {
    out.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at + 24);
    out.writeUInt32BE(n >>> 0, at + 28);
  };
  PUBLISH_SELECTOR.copy(out, 0);
  putNumber(4, setIndex);
  putNumber(36, 0x40);
  putNumber(68, keys.length);
  const offsets = 100;
  let at = offsets + 32 * keys.length;
  keys.forEach((k, i) => {
    putNumber(offsets + 32 * i, at - offsets);
    out.write(checkedConsumer(k.consumer).slice(2), at + 12, 20, "hex");
    putNumber(at + 32, checkUint(`keys[${i}].keyId`, k.keyId, 32));
    const res = Object.hasOwn(Resolution, k.resolution) ? Resolution[k.resolution] : undefined;
    if (res === undefined) throw new InvalidArgumentError(`keys[${i}].resolution`, k.resolution, "is not a resolution");
    putNumber(at + 64, res);
    putNumber(at + 96, checkUint(`keys[${i}].epochStart`, k.epochStart, 40));
    putNumber(at + 128, checkUint(`keys[${i}].epochEnd`, k.epochEnd, 40));
    if (typeof k.commitment !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(k.commitment)) throw new InvalidArgumentError(`keys[${i}].commitment`, k.commitment, "is not 32 bytes of hex");
    out.write(k.commitment.slice(2), at + 160, 32, "hex");
    putNumber(at + 192, 0xe0);
    putNumber(at + 224, envelopes[i]!.length);
    envelopes[i]!.copy(out, at + 256);
    at += sizes[i]!;
  });
  return `0x${out.toString("hex")}`;
}

/** A published key as read back from the chain. */
export interface PublishedKey extends KeyPublication {
  gateway: string;
  setIndex: number;
  blockNumber: number;
  transactionHash: string;
}

/** One member's release for one access entry. */
export interface ShareRelease {
  consumer: string;
  entryIndex: number;
  member: string;
  requester: string;
  keyIds: number[];
  /** 0x hex: epk | share boxes, in `keyIds` order. */
  shares: string;
  blockNumber: number;
  transactionHash: string;
}

/** A member set with its registered custody keys (zero hash: not registered). */
export interface CustodySet {
  setIndex: number;
  members: string[];
  keys: string[];
  threshold: number;
}

export interface KeyCustodyClientParameters {
  address: string;
  provider: JsonRpcProvider;
  sender?: TxSender;
}

/**
 * KeyCustody's release rule, for the members and the readers that must agree with it: a key is
 * covered by a grant when it is of the grant's kind (a trade key, resolution NONE, for a TRADES
 * grant; a reading key no finer than granted for a CONSUMPTION grant) and its epoch meets
 * [from, min(to, timestamp)].
 * @example
 * const covered = published.filter((k) => keyCoveredByGrant(k, entry));
 */
export function keyCoveredByGrant(k: Pick<PublishedKey, "resolution" | "epochStart" | "epochEnd">, entry: Pick<AccessEntry, "category" | "resolution" | "from" | "to" | "timestamp">): boolean {
  const to = Math.min(entry.to, entry.timestamp);
  const res = Resolution[k.resolution];
  // Trade keys (resolution NONE) open only for TRADES grants; reading keys only for CONSUMPTION.
  const kind = entry.category === "TRADES" ? res === 0 : entry.category === "CONSUMPTION" && res > 0 && res <= Resolution[entry.resolution];
  return kind && k.epochStart <= to && k.epochEnd > entry.from;
}

/** The contract's `Entry` tuple of an access entry. */
export function entryTuple(e: AccessEntry): unknown[] {
  return [e.prevHash, e.consumer, e.index, e.requester, AccessCategory[e.category], Resolution[e.resolution], e.from, e.to, e.granted, DenyReason[e.reason], e.blockNumber, e.timestamp, e.requesterKey];
}

function topicOf(address: string): string {
  return zeroPadValue(address, 32);
}

/**
 * BlockSEC's key custody.
 * @example
 * const custody = new KeyCustodyClient({ address, provider, sender: gateway });
 * await custody.publishKeys(setIndex, [pub]);
 * const keys = await custody.publishedKeys({ consumer });
 */
export class KeyCustodyClient {
  readonly address: string;
  readonly contract: KeyCustody;
  readonly provider: JsonRpcProvider;
  private readonly sender: TxSender | undefined;

  constructor(p: KeyCustodyClientParameters) {
    this.address = getAddress(p.address);
    this.provider = p.provider;
    this.sender = p.sender;
    this.contract = KeyCustody__factory.connect(this.address, uncachedRunner(p.provider));
    p.sender?.addAbi(KeyCustody__factory.abi as never);
  }

  private need(): TxSender {
    if (!this.sender) throw new InvalidArgumentError("sender", undefined, "is needed to write to KeyCustody");
    return this.sender;
  }

  /** The current member set of BlockSEC's federation inbox. */
  async currentSetIndex(): Promise<number> {
    const fed = await this.contract.federation();
    const inbox = new Contract(fed, ["function currentSetIndex() view returns (uint32)"], uncachedRunner(this.provider));
    return Number(await inbox.getFunction("currentSetIndex")());
  }

  /** Members, custody keys and threshold of a set (default: the current one). */
  async custodySet(setIndex?: number): Promise<CustodySet> {
    const idx = setIndex ?? (await this.currentSetIndex());
    const [members, keys, threshold] = await this.contract.custodySet(idx);
    return { setIndex: idx, members: members.map((m) => getAddress(m)), keys: [...keys], threshold: Number(threshold) };
  }

  async custodyKeyOf(member: string): Promise<string> {
    return this.contract.custodyKeyOf(checkAddress("member", member));
  }

  /** Registers the sender's custody key (a member of the current set). */
  registerCustodyKey(key: Uint8Array | string): Promise<TxReceipt> {
    return this.need().sendAndWait({ to: this.address, data: iface.encodeFunctionData("registerCustodyKey", [hexlify(key)]) });
  }

  /** Encodes `publishKeys` (for senders that batch their own transactions). */
  encodePublishKeys(setIndex: number, keys: readonly KeyPublication[]): string {
    return encodePublishKeysCalldata(setIndex, keys);
  }

  /** Publishes epoch keys made for member set `setIndex`, split over transactions by gas. */
  async publishKeys(setIndex: number, keys: readonly KeyPublication[]): Promise<TxReceipt[]> {
    if (keys.length === 0) return [];
    const sent = await this.need().sendBatched(keys, (chunk) => ({ to: this.address, data: this.encodePublishKeys(setIndex, chunk) }), { maxItemsPerTx: 200 });
    return sent.map((s) => s.receipt);
  }

  /**
   * Sends `publishKeys` transactions (up to 100 keys each) without waiting for them: they take
   * their nonces now, so a transaction the same sender sends next is mined after them. Resolves
   * once sent, with the receipts to come.
   */
  async sendPublishKeys(setIndex: number, keys: readonly KeyPublication[]): Promise<{ chunks: { keys: readonly KeyPublication[]; receipt: Promise<TxReceipt> }[] }> {
    const sender = this.need();
    const chunks: { keys: readonly KeyPublication[]; receipt: Promise<TxReceipt> }[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      const chunk = keys.slice(i, i + 100);
      // A fixed bound instead of eth_estimateGas, whose binary search runs a 100-key publication
      // some twenty times on the node: a key costs ~36k gas (one slot, its event, its calldata).
      const sent = await sender.send({ to: this.address, data: this.encodePublishKeys(setIndex, chunk), gasLimit: PUBLISH_BASE_GAS + PUBLISH_GAS_PER_KEY * BigInt(chunk.length) });
      const receipt = sent.wait();
      receipt.catch(() => undefined);
      chunks.push({ keys: chunk, receipt });
    }
    return { chunks };
  }

  /** Encodes `releaseShares`. */
  encodeReleaseShares(entry: AccessEntry, keyIds: readonly number[], shares: Uint8Array | string): string {
    return iface.encodeFunctionData("releaseShares", [entryTuple(entry), keyIds, hexlify(shares)]);
  }

  /** Releases the sender's shares of `keyIds` for a granted entry. */
  releaseShares(entry: AccessEntry, keyIds: readonly number[], shares: Uint8Array | string): Promise<TxReceipt> {
    return this.need().sendAndWait({ to: this.address, data: this.encodeReleaseShares(entry, keyIds, shares) });
  }

  async isReleased(consumer: string, entryIndex: number, member: string): Promise<boolean> {
    return this.contract.isReleased(checkAddress("consumer", consumer), entryIndex, checkAddress("member", member));
  }

  /** Keys published for `consumer` (or every consumer), oldest first. */
  async publishedKeys(p: { consumer?: string; fromBlock?: number; toBlock?: number | "latest" } = {}): Promise<PublishedKey[]> {
    const topics: (string | null)[] = [PUBLISHED_TOPIC, p.consumer ? topicOf(checkAddress("consumer", p.consumer)) : null];
    const logs = await getLogs(this.provider, { address: this.address, topics, fromBlock: p.fromBlock ?? 0, toBlock: p.toBlock ?? "latest" });
    return logs.map((l) => {
      const ev = iface.parseLog({ topics: l.topics, data: l.data })!;
      return {
        consumer: getAddress(ev.args.consumer as string),
        keyId: Number(ev.args.keyId),
        gateway: getAddress(ev.args.gateway as string),
        resolution: enumName(Resolution, "resolution", Number(ev.args.resolution)) as ResolutionName,
        epochStart: Number(ev.args.epochStart),
        epochEnd: Number(ev.args.epochEnd),
        setIndex: Number(ev.args.setIndex),
        commitment: ev.args.commitment as string,
        envelope: ev.args.envelope as string,
        blockNumber: l.blockNumber,
        transactionHash: l.transactionHash,
      };
    });
  }

  /** Releases for `consumer` (optionally one entry), oldest first. */
  async releases(p: { consumer?: string; entryIndex?: number; fromBlock?: number; toBlock?: number | "latest" } = {}): Promise<ShareRelease[]> {
    const topics: (string | null)[] = [
      RELEASED_TOPIC,
      p.consumer ? topicOf(checkAddress("consumer", p.consumer)) : null,
      p.entryIndex !== undefined ? toBeHex(p.entryIndex, 32) : null,
    ];
    const logs = await getLogs(this.provider, { address: this.address, topics, fromBlock: p.fromBlock ?? 0, toBlock: p.toBlock ?? "latest" });
    return logs.map((l) => {
      const ev = iface.parseLog({ topics: l.topics, data: l.data })!;
      return {
        consumer: getAddress(ev.args.consumer as string),
        entryIndex: Number(ev.args.entryIndex),
        member: getAddress(ev.args.member as string),
        requester: getAddress(ev.args.requester as string),
        keyIds: (ev.args.keyIds as bigint[]).map(Number),
        shares: ev.args.shares as string,
        blockNumber: l.blockNumber,
        transactionHash: l.transactionHash,
      };
    });
  }

  /** Custody keys registered since `fromBlock` (member → latest key). */
  async registeredKeys(fromBlock = 0): Promise<Map<string, string>> {
    const logs = await getLogs(this.provider, { address: this.address, topics: [REGISTERED_TOPIC], fromBlock });
    const out = new Map<string, string>();
    for (const l of logs) {
      const ev = iface.parseLog({ topics: l.topics, data: l.data })!;
      out.set(getAddress(ev.args.member as string), ev.args.key as string);
    }
    return out;
  }
}

export interface DeployKeyCustodyParameters {
  sender: TxSender;
  deployments: Deployments;
  artifactsDir?: string;
  /** BlockSEC's FederationInbox (member sets). */
  federationInbox: string;
  accessLedger: string;
  meterDataLedger: string;
  policyMirror: string;
}

/**
 * Deploys KeyCustody on BlockSEC (idempotent). It has no admin: everything it trusts is fixed here.
 * @example
 * const { keyCustody } = await deployKeyCustody({ sender, deployments, federationInbox, accessLedger, meterDataLedger, policyMirror });
 */
export async function deployKeyCustody(p: DeployKeyCustodyParameters): Promise<{ keyCustody: string; blockNumber: number }> {
  const d = await deployContract({
    sender: p.sender,
    deployments: p.deployments,
    artifact: readArtifact(p.artifactsDir ?? defaultArtifactsDir, "KeyCustody"),
    key: "KeyCustody",
    args: [p.federationInbox, p.accessLedger, p.meterDataLedger, p.policyMirror],
  });
  return { keyCustody: getAddress(d.address), blockNumber: d.record.blockNumber };
}
