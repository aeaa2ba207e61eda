// The member's custodian: one job, releasing key shares on logged grants. It watches BlockSEC's
// AccessLedger for AccessGranted, re-checks each grant against the chain (the entry's hash, the
// consent at the grant's block and now), opens this member's share of every epoch key the grant
// covers, boxes the shares to the requester's key and sends one KeyCustody.releaseShares per grant.
// Its cursor and a marker per handled grant live in the member's LevelDB, so a member killed
// mid-release resumes there; KeyCustody itself refuses a second release by the same member.
import { AbiCoder, Interface, getAddress, type JsonRpcProvider } from "ethers";
import { getLogs, revertData } from "@sidegrid/chain";
import {
  AccessLedger__factory,
  KeyCustodyClient,
  KeyCustody__factory,
  PolicyMirror__factory,
  Resolution,
  accessEntryHash,
  boxSharesForRequester,
  deriveCustodyKeyPair,
  entryFromLog,
  openMemberShare,
  type AccessEntry,
  type BoxKeyPair,
  type PublishedKey,
} from "@sidegrid/blocksec";
import type { MemberLogger } from "./node";
import type { MemberStore } from "./store";

/** The federation file's `custody` section: where grants and keys are. */
export interface CustodyConfig {
  /** BlockSEC's KeyCustody. */
  keyCustody: string;
  accessLedger: string;
  policyMirror: string;
  /** First BlockSEC block to scan for grants and keys (the deployment's). */
  startBlock: number;
  /** Blocks to wait before acting on a grant (default: BlockSEC's confirmations). */
  confirmations?: number;
  /** How often to look for new grants (default 500 ms). */
  pollMs?: number;
}

export interface CustodianStats {
  released: number;
  skipped: number;
  keysReleased: number;
  cursor: number;
  registered: boolean;
  lastError: string | null;
  lastReleaseAt: number | null;
}

/** What the custodian needs of the member node. */
export interface CustodianDeps {
  config: CustodyConfig;
  /** BlockSEC's confirmations in the member's chain config. */
  chainConfirmations: number;
  provider: JsonRpcProvider;
  privateKey: string;
  address: string;
  store: MemberStore;
  /** Sends through the member's BlockSEC sender (one nonce sequence with its relaying). */
  send(to: string, data: string, gasLimit: bigint): Promise<{ status: 0 | 1; blockNumber: number }>;
  log: MemberLogger;
  onRelease?: (outcome: "released" | "skipped", keys: number) => void;
}

const accessIface = AccessLedger__factory.createInterface();
const GRANTED = accessIface.getEvent("AccessGranted").topicHash;
const custodyIface = new Interface(KeyCustody__factory.abi);
const mirrorIface = PolicyMirror__factory.createInterface();
const RES = Resolution as Record<string, number>;
const CURSOR = "custody";
const RANGE = 2000;

/** Why a grant releases nothing (persisted with its marker). */
type SkipReason = "not-consumption" | "no-requester-key" | "entry-mismatch" | "no-consent-at-grant" | "consent-withdrawn" | "no-keys" | "already-released";

/**
 * Releases this member's key shares for granted access entries.
 * @example
 * const c = new Custodian(deps); await c.start(); ... await c.stop();
 */
export class Custodian {
  readonly stats: CustodianStats = { released: 0, skipped: 0, keysReleased: 0, cursor: 0, registered: false, lastError: null, lastReleaseAt: null };
  private readonly custody: KeyCustodyClient;
  private readonly keys: BoxKeyPair;
  private readonly me: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private noHistory = false;

  constructor(private readonly d: CustodianDeps) {
    this.custody = new KeyCustodyClient({ address: d.config.keyCustody, provider: d.provider });
    this.keys = deriveCustodyKeyPair(d.privateKey);
    this.me = getAddress(d.address);
  }

  /** This member's custody public key (X25519). */
  get custodyPublicKey(): Uint8Array {
    return this.keys.publicKey;
  }

  async start(): Promise<void> {
    this.stats.cursor = (await this.d.store.getValue<number>(`cursor!${CURSOR}`)) ?? this.d.config.startBlock - 1;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.d.config.pollMs ?? 500);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    try {
      if (!this.stats.registered) await this.register();
      await this.scan();
      this.stats.lastError = null;
    } catch (e) {
      const msg = (e as Error)?.message?.split("\n")[0] ?? String(e);
      if (msg !== this.stats.lastError) this.d.log("warn", "custodian: will retry", { error: msg });
      this.stats.lastError = msg;
    }
  }

  /** Registers the custody key on KeyCustody when this member is in the current set and it is not there yet. */
  private async register(): Promise<void> {
    const pub = `0x${Buffer.from(this.keys.publicKey).toString("hex")}`;
    const set = await this.custody.custodySet();
    const i = set.members.indexOf(this.me);
    if (i < 0) return; // not (yet) a member: nothing to hold
    if (set.keys[i]!.toLowerCase() !== pub) {
      const data = custodyIface.encodeFunctionData("registerCustodyKey", [pub]);
      const r = await this.d.send(this.d.config.keyCustody, data, 120_000n);
      if (r.status !== 1) throw new Error("registerCustodyKey reverted");
      this.d.log("info", "custodian: custody key registered", { key: pub, setIndex: set.setIndex });
    }
    this.stats.registered = true;
  }

  private async scan(): Promise<void> {
    const confirmations = this.d.config.confirmations ?? this.d.chainConfirmations;
    const head = (await this.d.provider.getBlockNumber()) - confirmations;
    while (!this.stopped && this.stats.cursor < head) {
      const from = this.stats.cursor + 1;
      const to = Math.min(head, from + RANGE - 1);
      const logs = await getLogs(this.d.provider, { address: this.d.config.accessLedger, topics: [GRANTED], fromBlock: from, toBlock: to });
      for (const l of logs) {
        if (this.stopped) return;
        await this.handle(entryFromLog(l));
      }
      this.stats.cursor = to;
      await this.d.store.putValue(`cursor!${CURSOR}`, to);
    }
  }

  private async handle(entry: AccessEntry): Promise<void> {
    const marker = `grant!${entry.consumer.toLowerCase()}!${entry.index}`;
    if ((await this.d.store.getValue(marker)) !== undefined) return;
    const outcome = await this.release(entry);
    await this.d.store.putValue(marker, outcome);
    if (outcome.released) {
      this.stats.released++;
      this.stats.keysReleased += outcome.keys;
      this.stats.lastReleaseAt = Date.now();
      this.d.log("info", "custodian: shares released", { consumer: entry.consumer, entry: entry.index, requester: entry.requester, keys: outcome.keys });
      this.d.onRelease?.("released", outcome.keys);
    } else {
      this.stats.skipped++;
      this.d.log("info", "custodian: nothing released", { consumer: entry.consumer, entry: entry.index, reason: outcome.reason });
      this.d.onRelease?.("skipped", 0);
    }
  }

  /** Checks a grant and releases for it; throws on a transient failure (retried from the same grant). */
  private async release(entry: AccessEntry): Promise<{ released: boolean; keys: number; reason?: SkipReason }> {
    const skip = (reason: SkipReason) => ({ released: false, keys: 0, reason });
    if (entry.category !== "CONSUMPTION" || !entry.granted) return skip("not-consumption");
    if (/^0x0{64}$/.test(entry.requesterKey)) return skip("no-requester-key");
    const onChain = await this.call(this.d.config.accessLedger, accessIface.encodeFunctionData("entryHashAt", [entry.consumer, entry.index]));
    if (onChain.toLowerCase() !== accessEntryHash(entry).toLowerCase()) return skip("entry-mismatch");
    if (!(await this.permittedAtGrant(entry))) return skip("no-consent-at-grant");
    const latest = await this.d.provider.getBlock("latest");
    if (!(await this.permitted(entry, latest?.timestamp ?? Math.floor(Date.now() / 1000), "latest"))) return skip("consent-withdrawn");
    if (await this.custody.isReleased(entry.consumer, entry.index, this.me)) return skip("already-released");

    const covered = (await this.custody.publishedKeys({ consumer: entry.consumer, fromBlock: this.d.config.startBlock })).filter((k) => covers(k, entry));
    const sets = new Map<number, number>();
    const shares: { keyId: number; share: Uint8Array }[] = [];
    for (const k of covered) {
      let idx = sets.get(k.setIndex);
      if (idx === undefined) {
        idx = (await this.custody.custodySet(k.setIndex)).members.indexOf(this.me);
        sets.set(k.setIndex, idx);
      }
      if (idx < 0) continue; // made for a set this member was not in
      try {
        shares.push({ keyId: k.keyId, share: openMemberShare(k.envelope, { consumer: k.consumer, keyId: k.keyId }, idx, this.keys.secretKey) });
      } catch (e) {
        this.d.log("warn", "custodian: a share does not open with this member's custody key", { consumer: k.consumer, keyId: k.keyId, error: (e as Error).message });
      }
    }
    if (shares.length === 0) return skip("no-keys");
    const boxed = boxSharesForRequester({ consumer: entry.consumer, entryIndex: entry.index, requesterKey: entry.requesterKey, shares });
    const data = this.custody.encodeReleaseShares(entry, shares.map((s) => s.keyId), boxed);
    let gas: bigint;
    try {
      gas = await this.d.provider.estimateGas({ from: this.me, to: this.d.config.keyCustody, data });
    } catch (e) {
      const name = revertName(e);
      if (name === "ReleaseDuplicate") return skip("already-released");
      if (name === "ReleaseConsentWithdrawn") return skip("consent-withdrawn");
      throw new Error(`releaseShares would revert${name ? ` with ${name}` : ""}: ${(e as Error).message.split("\n")[0]}`);
    }
    const r = await this.d.send(this.d.config.keyCustody, data, (gas * 12n) / 10n);
    if (r.status !== 1) {
      // Mined but reverted: somebody (this member before a crash) released first, or consent ended.
      if (await this.custody.isReleased(entry.consumer, entry.index, this.me)) return skip("already-released");
      throw new Error(`releaseShares reverted in block ${r.blockNumber}`);
    }
    return { released: true, keys: shares.length };
  }

  /**
   * Consent at the grant's block. A node that keeps no historical state (anvil --prune-history, a
   * pruned geth) cannot answer; then the AccessLedger's own decision in that block — the granted
   * entry whose hash the ledger holds, checked above — is the record of it.
   */
  private async permittedAtGrant(entry: AccessEntry): Promise<boolean> {
    try {
      return await this.permitted(entry, entry.timestamp, entry.blockNumber);
    } catch (e) {
      if (!this.noHistory) this.d.log("info", "custodian: the node serves no state at past blocks; consent at a grant's block rests on the ledger's decision", { error: (e as Error).message.split("\n")[0] });
      this.noHistory = true;
      return true;
    }
  }

  private async permitted(entry: AccessEntry, at: number, blockTag: number | "latest"): Promise<boolean> {
    const data = mirrorIface.encodeFunctionData("isPermitted", [entry.consumer, entry.requester, 0, RES[entry.resolution]!, at]);
    const out = await this.call(this.d.config.policyMirror, data, blockTag);
    return AbiCoder.defaultAbiCoder().decode(["bool"], out)[0] as boolean;
  }

  private async call(to: string, data: string, blockTag: number | "latest" = "latest"): Promise<string> {
    return this.d.provider.send("eth_call", [{ to, data }, typeof blockTag === "number" ? `0x${blockTag.toString(16)}` : blockTag]) as Promise<string>;
  }
}

/** KeyCustody's rule: a key inside the grant's range at a resolution no finer than granted. */
export function covers(k: Pick<PublishedKey, "resolution" | "epochStart" | "epochEnd">, entry: Pick<AccessEntry, "resolution" | "from" | "to" | "timestamp">): boolean {
  const to = Math.min(entry.to, entry.timestamp);
  return RES[k.resolution]! > 0 && RES[k.resolution]! <= RES[entry.resolution]! && k.epochStart <= to && k.epochEnd > entry.from;
}

function revertName(e: unknown): string | undefined {
  const data = revertData(e);
  if (!data) return undefined;
  try {
    return custodyIface.parseError(data)?.name;
  } catch {
    return undefined;
  }
}
