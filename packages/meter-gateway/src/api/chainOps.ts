// What the HTTP API asks of the chains: roles, preference transactions on BlockPRI, access
// requests and audits on BlockSEC. Transactions of consumers and utilities are signed by their own
// wallets (the API prepares them unsigned or relays them signed): the ledger must see the real
// requester as msg.sender.
import { PPC__factory, type BlockPriClient, type Preference } from "@sidegrid/blockpri";
import { AccessLedger__factory, Category, Resolution, accessEntryHash, auditConsumer, entryFromLog, keyCoveredByGrant, type AccessCheckpointClaim, type AccessEntry, type AuditReport, type BlockSecClient, type KeyCustodyClient, type PublishedKey, type ShareRelease } from "@sidegrid/blocksec";
import { getAddress, Transaction, type JsonRpcProvider } from "ethers";
import { diagnoseStalledTx } from "@sidegrid/chain";
import { ChainUnavailableError, ForbiddenError, GatewayError, InvalidArgumentError, LedgerError, TransactionRejectedError } from "../errors";

const ppcIface = PPC__factory.createInterface();
const accessIface = AccessLedger__factory.createInterface();

/** An unsigned EIP-1559 transaction for the caller's wallet to sign. */
export interface UnsignedTx {
  type: 2;
  chainId: string;
  from: string;
  to: string;
  data: string;
  value: string;
  nonce: number;
  gasLimit: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
}

export interface PreferenceInput {
  utility?: string;
  category: "CONSUMPTION" | "TRADES";
  allowed: boolean;
  resolution?: keyof typeof Resolution;
  expiresAt?: number;
}

export interface AccessRequestInput {
  consumer: string;
  category: "CONSUMPTION" | "TRADES";
  resolution?: keyof typeof Resolution;
  /** Unix seconds. */
  from: number;
  to: number;
  requesterKey?: string;
}

export interface RelayedTx {
  txHash: string;
  blockNumber: number;
  status: 0 | 1;
}

/** The JSON-RPC error a node answered with, when the failure is the node's answer at all. */
function nodeAnswer(e: unknown): { code: number; message: string } | undefined {
  const x = e as { info?: { error?: unknown }; error?: unknown };
  for (const c of [x?.info?.error, x?.error]) {
    const r = c as { code?: unknown; message?: unknown } | undefined;
    if (r && typeof r.code === "number" && typeof r.message === "string") return { code: r.code, message: r.message };
  }
  return undefined;
}

/**
 * Sorts a failed RPC call into what the caller can act on: the node refused what was sent
 * (nonce, funds, gas, fee, undecodable, revert: 422) or the node could not be asked (503).
 * An internal node error (-32603) counts as the node's trouble, not the caller's.
 */
export function rpcFailure(chain: string, e: unknown, txHash?: string): GatewayError {
  if (e instanceof GatewayError) return e;
  const answer = nodeAnswer(e);
  if (answer && answer.code !== -32603) return new TransactionRejectedError(chain, answer.message, txHash, { cause: e });
  const text = (e as { shortMessage?: string; message?: string })?.shortMessage ?? (e as Error)?.message ?? String(e);
  return new ChainUnavailableError(chain, text.split("\n")[0]!.slice(0, 200), { cause: e });
}

/** Sends a signed transaction; a refusal or an unreachable node becomes a typed error. */
async function sendRaw(provider: JsonRpcProvider, chain: string, signedTx: string): Promise<string> {
  try {
    return (await provider.send("eth_sendRawTransaction", [signedTx])) as string;
  } catch (e) {
    throw rpcFailure(chain, e, Transaction.from(signedTx).hash ?? undefined);
  }
}

/** Polls for a receipt (ethers' wait() hangs on automining nodes). */
async function waitReceipt(provider: JsonRpcProvider, hash: string, timeoutMs = 30_000, chain = "the chain"): Promise<{ status: string; blockNumber: string; logs: { address: string; topics: string[]; data: string; logIndex: string; transactionHash: string; blockNumber: string }[] }> {
  const deadline = Date.now() + timeoutMs;
  let nextCheck = Date.now() + 3000;
  let delay = 5;
  for (;;) {
    let r;
    try {
      r = await provider.send("eth_getTransactionReceipt", [hash]);
    } catch (e) {
      throw rpcFailure(chain, e, hash);
    }
    if (r) return r;
    // An automining anvil now and then leaves a ready transaction in its pool: ask it to flush.
    if (Date.now() > nextCheck) {
      nextCheck = Date.now() + 3000;
      await diagnoseStalledTx(provider, hash).catch(() => undefined);
    }
    // Sent but not mined in time: it may still be mined, so the caller gets the hash to look for.
    if (Date.now() > deadline) throw new ChainUnavailableError(chain, `transaction ${hash} was accepted but not mined within ${timeoutMs} ms; look it up before sending again`);
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(100, delay * 2);
  }
}

async function prepare(provider: JsonRpcProvider, chain: string, chainId: bigint, from: string, to: string, data: string): Promise<UnsignedTx> {
  let gas: bigint;
  try {
    gas = BigInt(await provider.send("eth_estimateGas", [{ from, to, data }]));
  } catch (cause) {
    const f = rpcFailure(chain, cause);
    throw f.code === "TX_REJECTED" ? new TransactionRejectedError(chain, `it would revert (${(f as TransactionRejectedError).reason})`, undefined, { cause }) : f;
  }
  const [nonce, block] = await Promise.all([
    provider.send("eth_getTransactionCount", [from, "pending"]) as Promise<string>,
    provider.send("eth_getBlockByNumber", ["latest", false]) as Promise<{ baseFeePerGas?: string }>,
  ]).catch((e: unknown) => {
    throw rpcFailure(chain, e);
  });
  const base = block.baseFeePerGas ? BigInt(block.baseFeePerGas) : 1_000_000_000n;
  const tip = 1_000_000n;
  return {
    type: 2,
    chainId: chainId.toString(),
    from,
    to,
    data,
    value: "0",
    nonce: Number(BigInt(nonce)),
    gasLimit: ((gas * 130n) / 100n).toString(),
    maxFeePerGas: (base * 2n + tip).toString(),
    maxPriorityFeePerGas: tip.toString(),
  };
}

/** Checks a signed transaction is from `from`, to `to`, on `chainId`, calling one of `functions`. */
function checkSigned(signedTx: string, from: string, to: string, chainId: bigint, functions: readonly string[], iface: typeof ppcIface | typeof accessIface): Transaction {
  let tx: Transaction;
  try {
    tx = Transaction.from(signedTx);
  } catch (cause) {
    throw new InvalidArgumentError("signedTx", signedTx, "a signed, serialized transaction", { cause });
  }
  if (!tx.from || getAddress(tx.from) !== getAddress(from)) throw new ForbiddenError(from, `relay a transaction signed by ${tx.from ?? "nobody"}`);
  if (!tx.to || getAddress(tx.to) !== getAddress(to)) throw new InvalidArgumentError("signedTx.to", tx.to, to);
  if (tx.chainId !== chainId) throw new InvalidArgumentError("signedTx.chainId", tx.chainId.toString(), chainId.toString());
  const fn = iface.parseTransaction({ data: tx.data });
  if (!fn || !functions.includes(fn.name)) throw new InvalidArgumentError("signedTx.data", fn?.name ?? tx.data.slice(0, 10), `a call of ${functions.join(" or ")}`);
  return tx;
}

/**
 * Chain operations behind the API.
 * @example
 * const ops = new ApiChainOps({ sec, pri });
 */
export class ApiChainOps {
  private readonly roleCache = new Map<string, { at: number; value: Promise<{ distributor: boolean; auditor: boolean }> }>();

  constructor(
    readonly o: {
      sec: BlockSecClient;
      pri?: BlockPriClient;
      /** KeyCustody: the keys and releases of a grant are served with its records. */
      custody?: KeyCustodyClient;
      roleTtlMs?: number;
      /** First BlockSEC block of event scans (deployment). */
      fromBlock?: number;
      /** The federation's latest AccessLedger checkpoint, attested by its members (null before the first). */
      checkpoint?: () => Promise<AccessCheckpointClaim | null>;
    },
  ) {}

  /** BlockSEC roles of an account (cached briefly). */
  roles(account: string): Promise<{ distributor: boolean; auditor: boolean }> {
    const k = account.toLowerCase();
    const hit = this.roleCache.get(k);
    if (hit && Date.now() - hit.at < (this.o.roleTtlMs ?? 10_000)) return hit.value;
    const value = Promise.all([this.o.sec.isDistributor(account), this.o.sec.isAuditor(account)]).then(([distributor, auditor]) => ({ distributor, auditor }));
    value.catch(() => this.roleCache.delete(k));
    this.roleCache.set(k, { at: Date.now(), value });
    return value;
  }

  private pri(): BlockPriClient {
    if (!this.o.pri) throw new ChainUnavailableError("BlockPRI", "this gateway is not connected to it (no blockpri section in its configuration)");
    return this.o.pri;
  }

  /** Her preferences on BlockPRI, and the version BlockSEC's mirror holds (equal once the federation delivered the last change). */
  async preferences(consumer: string): Promise<{ registered: boolean; version: string; mirrorVersion: string; preferences: Preference[] }> {
    const pri = this.pri();
    const [registered, version, preferences, mirrorVersion] = await Promise.all([pri.isRegistered(consumer), pri.versionOf(consumer), pri.getPreferences(consumer), this.o.sec.preferencesVersionOf(consumer)]);
    return { registered, version: version.toString(), mirrorVersion: mirrorVersion.toString(), preferences };
  }

  /** The unsigned PPC.setPreferences transaction of `consumer`. */
  prepareSetPreferences(consumer: string, prefs: readonly PreferenceInput[]): Promise<UnsignedTx> {
    const pri = this.pri();
    const list = prefs.map((p) => ({
      utility: p.utility ?? "0x0000000000000000000000000000000000000000",
      category: Category[p.category],
      allowed: p.allowed,
      resolution: Resolution[p.resolution ?? "NONE"],
      expiresAt: p.expiresAt ?? 0,
    }));
    return prepare(pri.provider, "BlockPRI", pri.chainId, consumer, pri.address, ppcIface.encodeFunctionData("setPreferences", [list]));
  }

  /** Relays a consumer-signed PPC transaction (setPreference(s)/clearPreference/consumerRegister). */
  async relayPreferences(consumer: string, signedTx: string): Promise<RelayedTx> {
    const pri = this.pri();
    checkSigned(signedTx, consumer, pri.address, pri.chainId, ["setPreference", "setPreferences", "clearPreference", "consumerRegister", "rotateEncryptionKey", "releaseMeter", "setMonitorConsPref", "setMonitorTransfPref"], ppcIface);
    const hash = await sendRaw(pri.provider, "BlockPRI", signedTx);
    const r = await waitReceipt(pri.provider, hash, 30_000, "BlockPRI");
    return { txHash: hash, blockNumber: Number(BigInt(r.blockNumber)), status: BigInt(r.status) === 1n ? 1 : 0 };
  }

  /** The unsigned AccessLedger.requestAccess transaction of `requester`. */
  prepareAccessRequest(requester: string, p: AccessRequestInput): Promise<UnsignedTx> {
    const sec = this.o.sec;
    const data = accessIface.encodeFunctionData("requestAccess", [
      getAddress(p.consumer),
      Category[p.category],
      Resolution[p.resolution ?? "NONE"],
      p.from,
      p.to,
      p.requesterKey ?? "0x" + "00".repeat(32),
    ]);
    return prepare(sec.provider, "BlockSEC", sec.chainId, requester, sec.addresses.accessLedger, data);
  }

  /** Relays a requester-signed access request and returns the ledger's entry (granted or denied). */
  async relayAccessRequest(requester: string, signedTx: string): Promise<{ entry: AccessEntry; txHash: string }> {
    const sec = this.o.sec;
    checkSigned(signedTx, requester, sec.addresses.accessLedger, sec.chainId, ["requestAccess", "getEnergyUsage", "getCurrentEnergyUsage", "getTransLog", "readAccessLog"], accessIface);
    const hash = await sendRaw(sec.provider, "BlockSEC", signedTx);
    const r = await waitReceipt(sec.provider, hash, 30_000, "BlockSEC");
    if (BigInt(r.status) !== 1n) throw new TransactionRejectedError("BlockSEC", `the access request reverted in block ${Number(BigInt(r.blockNumber))}`, hash);
    const log = r.logs.find((l) => l.address.toLowerCase() === sec.addresses.accessLedger.toLowerCase() && [accessIface.getEvent("AccessGranted").topicHash, accessIface.getEvent("AccessDenied").topicHash].includes(l.topics[0]));
    if (!log) throw new LedgerError(`access request ${hash} emitted no access entry`);
    const entry = entryFromLog({ topics: log.topics, data: log.data, blockNumber: Number(BigInt(log.blockNumber)), transactionHash: log.transactionHash, index: Number(BigInt(log.logIndex)) });
    return { entry, txHash: hash };
  }

  /** Entry `index` of `consumer`'s access chain, or undefined. */
  async accessEntry(consumer: string, index: number): Promise<AccessEntry | undefined> {
    return (await this.o.sec.accessLog(consumer, this.o.fromBlock ?? 0)).find((e) => e.index === index);
  }

  /** Entry `index`, only if its hash is the one the AccessLedger holds (a node cannot invent one). */
  async verifiedEntry(consumer: string, index: number): Promise<AccessEntry | undefined> {
    const e = await this.accessEntry(consumer, index);
    if (!e) return undefined;
    const onChain = await this.o.sec.access.entryHashAt(consumer, index);
    return onChain.toLowerCase() === accessEntryHash(e).toLowerCase() ? e : undefined;
  }

  /** Whether the consent behind a CONSUMPTION grant still holds now (revocations and expiries end it). */
  permitsNow(entry: AccessEntry): Promise<boolean> {
    const category = entry.category === "TRADES" ? "TRADES" : "CONSUMPTION";
    return this.o.sec.isPermitted({ consumer: entry.consumer, utility: entry.requester, category, resolution: entry.resolution, at: Math.floor(Date.now() / 1000) });
  }

  /** The epoch keys a grant covers and the members' releases for it (empty without KeyCustody). */
  async grantKeys(entry: AccessEntry): Promise<{ keys: PublishedKey[]; releases: ShareRelease[]; thresholds: Record<number, number> }> {
    const c = this.o.custody;
    if (!c) return { keys: [], releases: [], thresholds: {} };
    const [all, releases] = await Promise.all([
      c.publishedKeys({ consumer: entry.consumer, fromBlock: this.o.fromBlock ?? 0 }),
      c.releases({ consumer: entry.consumer, entryIndex: entry.index, fromBlock: entry.blockNumber }),
    ]);
    const keys = all.filter((k) => keyCoveredByGrant(k, entry));
    // m of each custody set, so a reader can say "2 of 3 shares" and knows when to combine.
    const thresholds: Record<number, number> = {};
    for (const setIndex of new Set(keys.map((k) => k.setIndex))) thresholds[setIndex] = (await c.custodySet(setIndex)).threshold;
    return { keys, releases, thresholds };
  }

  /** The consumer's published epoch keys (boxed; empty without KeyCustody). */
  async consumerKeys(consumer: string): Promise<PublishedKey[]> {
    return this.o.custody ? this.o.custody.publishedKeys({ consumer, fromBlock: this.o.fromBlock ?? 0 }) : [];
  }

  /** The meter BlockSEC's mirror binds to `consumer` (as the gateway numbers meters), or undefined. */
  async meterOf(consumer: string): Promise<number | undefined> {
    const r = await this.o.sec.registrationOf(consumer);
    if (!r || BigInt(r.meterId) === 0n || BigInt(r.meterId) > 0xffffffffn) return undefined;
    return Number(BigInt(r.meterId));
  }

  accessLog(consumer: string): Promise<AccessEntry[]> {
    return this.o.sec.accessLog(consumer, this.o.fromBlock ?? 0);
  }

  /**
   * The court's verified view: every entry checked against the chain's head and entry hashes, and,
   * where the federation checkpoints the AccessLedger, this node against its latest checkpoint.
   */
  async audit(consumer: string): Promise<AuditReport> {
    const checkpoint = this.o.checkpoint ? await this.o.checkpoint() : undefined;
    return auditConsumer({
      provider: this.o.sec.provider,
      accessLedger: this.o.sec.addresses.accessLedger,
      consumer,
      fromBlock: this.o.fromBlock ?? 0,
      ...(this.o.custody ? { keyCustody: this.o.custody.address } : {}),
      ...(checkpoint !== undefined ? { checkpoint } : {}),
    });
  }
}
