// The member's custodian: one job, releasing key shares on logged grants. It watches BlockSEC's
// AccessLedger for AccessGranted, re-checks each grant against the chain (the entry's hash, the
// consent at the grant's block and now), opens this member's share of every epoch key the grant
// covers, boxes the shares to the requester's key and sends one KeyCustody.releaseShares per grant.
// Its cursor and a marker per handled grant live in the member's LevelDB, so a member killed
// mid-release resumes there; KeyCustody itself refuses a second release by the same member.
import { AbiCoder, getAddress, type JsonRpcProvider } from "ethers";
import { getLogs, latestTimestamp, revertData, settledBlock } from "@sidegrid/chain";
import {
  AccessLedger__factory,
  Category,
  KeyCustodyClient,
  KeyCustody__factory,
  PolicyMirror__factory,
  Resolution,
  accessEntryHash,
  boxSharesForRequester,
  deriveCustodyKeyPair,
  entryFromLog,
  keyCoveredByGrant,
  openMemberShare,
  type AccessEntry,
  type BoxKeyPair,
} from "@sidegrid/blocksec";
import { CustodyMisconfiguredError, CustodyRegistrationError, CustodyReleaseError, type FederationError } from "../errors";
import type { FederationCustodyConfig } from "./config";
import type { MemberStore } from "./store";
import { Ticker } from "./ticker";
import type { RelaySender } from "./wire";

/** Why a grant releases nothing (persisted with its marker, logged, counted). */
export type CustodySkipReason =
  | "not-granted"
  /** A grant of a kind that releases no stored data (the court's log read, the real-time view). */
  | "not-sealed-data"
  | "no-requester-key"
  | "entry-mismatch"
  | "no-consent-at-grant"
  | "consent-withdrawn"
  | "no-keys"
  | "rejected";

/** What the custodian did with one grant. */
export type CustodyOutcome =
  | { status: "released"; keyIds: number[]; blockNumber: number }
  /** This member's release is on chain already: sent before a crash (isReleased, ReleaseDuplicate). */
  | { status: "already-released" }
  /** `detail` names KeyCustody's error for `rejected`. */
  | { status: "skipped"; reason: CustodySkipReason; detail?: string };

/** Counters since the process started (the markers in LevelDB hold the history). */
export interface CustodianStats {
  /** Grants this member released its shares for. */
  released: number;
  /** Grants found released by this member already (a release mined before a restart). */
  alreadyReleased: number;
  /** Grants with nothing to release (see `lastSkip` and the log for the reasons). */
  skipped: number;
  /** Epoch-key shares released over all grants. */
  keysReleased: number;
  /** Last BlockSEC block scanned for grants. */
  cursor: number;
  /** The custody key is registered on KeyCustody for the current set. */
  registered: boolean;
  lastError: string | null;
  lastSkip: { consumer: string; entryIndex: number; reason: CustodySkipReason; detail?: string } | null;
  lastReleaseAt: number | null;
}

/** What the custodian needs of the member node. */
export interface CustodianDeps {
  config: FederationCustodyConfig;
  /** BlockSEC's confirmations in the member's chain config. */
  chainConfirmations: number;
  /** BlockSEC's `minBlockAgeMs` in the member's chain config: a grant is acted on only in a block this old. */
  chainMinBlockAgeMs?: number;
  provider: JsonRpcProvider;
  privateKey: string;
  address: string;
  store: MemberStore;
  /** The member's BlockSEC sender (undefined until the relayer has set it up): one nonce sequence with relaying. */
  sender(): RelaySender | undefined;
  log: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  onOutcome?: (outcome: CustodyOutcome) => void;
  onError?: (e: unknown) => void;
}

const accessIface = AccessLedger__factory.createInterface();
const GRANTED = accessIface.getEvent("AccessGranted").topicHash;
const custodyIface = KeyCustody__factory.createInterface();
const mirrorIface = PolicyMirror__factory.createInterface();
const CURSOR_KEY = "cursor!custody";
const RANGE = 2000;
const ZERO_KEY = /^0x0{64}$/;

/**
 * Releases this member's key shares for granted access entries.
 * @example
 * const c = new Custodian({ config, chainConfirmations: 0, provider, privateKey, address, store, sender: () => relaySender, log });
 * await c.start(); // ... await c.stop();
 */
export class Custodian {
  readonly stats: CustodianStats = {
    released: 0,
    alreadyReleased: 0,
    skipped: 0,
    keysReleased: 0,
    cursor: 0,
    registered: false,
    lastError: null,
    lastSkip: null,
    lastReleaseAt: null,
  };
  private readonly custody: KeyCustodyClient;
  private readonly keys: BoxKeyPair;
  private readonly me: string;
  /** This member's index in each member set (sets never change once written): -1 = not in it. */
  private readonly setPositions = new Map<number, number>();
  private ticker: Ticker | undefined;
  private stopped = false;
  private verified = false;
  private noHistory = false;
  private outsideSet = false;

  constructor(private readonly d: CustodianDeps) {
    this.custody = new KeyCustodyClient({ address: d.config.keyCustody, provider: d.provider });
    this.keys = deriveCustodyKeyPair(d.privateKey);
    this.me = getAddress(d.address);
  }

  /** Starts the poll loop (it never throws: failures are logged, kept in `stats.lastError` and retried). */
  async start(): Promise<void> {
    this.stats.cursor = (await this.d.store.getValue<number>(CURSOR_KEY)) ?? this.d.config.startBlock - 1;
    this.ticker = new Ticker(() => this.tick(), this.d.config.pollMs ?? 500);
    this.ticker.start();
  }

  /** Looks at once (the member saw a new head on the chain it reads). */
  kick(): void {
    this.ticker?.kick();
  }


  /** Stops after the grant in hand (a release being sent is waited for). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.ticker?.stop();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.verified) await this.verifyConfig();
      if (!this.stats.registered) await this.register();
      await this.scan();
      this.stats.lastError = null;
    } catch (e) {
      const msg = (e as FederationError).shortMessage ?? (e as Error)?.message?.split("\n")[0] ?? String(e);
      // The same failure every poll is logged once.
      if (msg !== this.stats.lastError) this.d.log(e instanceof CustodyMisconfiguredError ? "error" : "warn", "custodian: will retry", { error: msg });
      this.stats.lastError = msg;
      this.d.onError?.(e);
    }
  }

  /**
   * KeyCustody checks releases against its own AccessLedger and PolicyMirror; the custodian must
   * read the same ones, or it would release on grants the contract does not know.
   */
  private async verifyConfig(): Promise<void> {
    const [ledger, mirror] = await Promise.all([this.custody.contract.accessLedger(), this.custody.contract.mirror()]);
    if (getAddress(ledger) !== getAddress(this.d.config.accessLedger)) throw new CustodyMisconfiguredError("accessLedger", this.d.config.accessLedger, ledger);
    if (getAddress(mirror) !== getAddress(this.d.config.policyMirror)) throw new CustodyMisconfiguredError("policyMirror", this.d.config.policyMirror, mirror);
    this.verified = true;
  }

  /** Registers the custody key when this member is in the current set and KeyCustody holds another (or none). */
  private async register(): Promise<void> {
    const pub = `0x${Buffer.from(this.keys.publicKey).toString("hex")}`;
    const set = await this.custody.custodySet();
    if (!set.members.includes(this.me)) {
      // Not (yet) a member: nothing to hold. Checked again every poll, so a set update is noticed.
      if (!this.outsideSet) this.d.log("info", "custodian: not in the current member set; no custody key registered", { setIndex: set.setIndex });
      this.outsideSet = true;
      return;
    }
    if ((await this.custody.custodyKeyOf(this.me)).toLowerCase() !== pub) {
      const r = await this.submit(custodyIface.encodeFunctionData("registerCustodyKey", [pub]), 120_000n, (msg, cause) => new CustodyRegistrationError(this.me, set.setIndex, msg, cause === undefined ? {} : { cause }));
      if (r.status !== 1) throw new CustodyRegistrationError(this.me, set.setIndex, `registerCustodyKey reverted in block ${r.blockNumber}`);
      this.d.log("info", "custodian: custody key registered", { key: pub, setIndex: set.setIndex });
    }
    this.stats.registered = true;
  }

  private async scan(): Promise<void> {
    const confirmations = this.d.config.confirmations ?? this.d.chainConfirmations;
    // A grant in a block that may still vanish releases nothing yet (its record would be gone with it).
    const settled = await settledBlock(this.d.provider, { confirmations, minAgeMs: this.d.chainMinBlockAgeMs ?? 0, floor: this.stats.cursor });
    const head = settled.block;
    // A block seen too young: look again when it has aged (no new head may come to wake us).
    if (settled.nextAtMs !== undefined) this.ticker?.kickAt(settled.nextAtMs);
    while (!this.stopped && this.stats.cursor < head) {
      const from = this.stats.cursor + 1;
      const to = Math.min(head, from + RANGE - 1);
      const logs = await getLogs(this.d.provider, { address: this.d.config.accessLedger, topics: [GRANTED], fromBlock: from, toBlock: to });
      for (const l of logs) {
        if (this.stopped) return;
        await this.handle(entryFromLog(l));
      }
      this.stats.cursor = to;
      await this.d.store.putValue(CURSOR_KEY, to);
    }
  }

  /** One grant, at most once: the marker is written after the outcome, and a re-run finds the release on chain. */
  private async handle(entry: AccessEntry): Promise<void> {
    const marker = `grant!${entry.consumer.toLowerCase()}!${entry.index}`;
    if ((await this.d.store.getValue(marker)) !== undefined) return;
    const outcome = await this.release(entry);
    await this.d.store.putValue(marker, { ...outcome, at: Date.now() });
    const where = { consumer: entry.consumer, entry: entry.index, requester: entry.requester };
    if (outcome.status === "released") {
      this.stats.released++;
      this.stats.keysReleased += outcome.keyIds.length;
      this.stats.lastReleaseAt = Date.now();
      this.d.log("info", "custodian: shares released", { ...where, keys: outcome.keyIds.length, block: outcome.blockNumber });
    } else if (outcome.status === "already-released") {
      this.stats.alreadyReleased++;
      this.d.log("info", "custodian: already released by this member", where);
    } else {
      this.stats.skipped++;
      this.stats.lastSkip = { consumer: entry.consumer, entryIndex: entry.index, reason: outcome.reason, ...(outcome.detail ? { detail: outcome.detail } : {}) };
      // KeyCustody refusing what this custodian checked points at a bug or a misconfiguration.
      this.d.log(outcome.reason === "rejected" ? "error" : "info", "custodian: nothing released", { ...where, reason: outcome.reason, ...(outcome.detail ? { detail: outcome.detail } : {}) });
    }
    this.d.onOutcome?.(outcome);
  }

  /** Checks a grant and releases for it; throws on a failure that may pass (retried from the same grant). */
  private async release(entry: AccessEntry): Promise<CustodyOutcome> {
    const skip = (reason: CustodySkipReason, detail?: string): CustodyOutcome => ({ status: "skipped", reason, ...(detail ? { detail } : {}) });
    const fail = (msg: string, revert?: string, cause?: unknown) => new CustodyReleaseError(entry.consumer, entry.index, msg, revert, cause === undefined ? {} : { cause });
    if (!entry.granted) return skip("not-granted");
    if (entry.category !== "CONSUMPTION" && entry.category !== "TRADES") return skip("not-sealed-data");
    if (ZERO_KEY.test(entry.requesterKey)) return skip("no-requester-key");
    // The log is only a claim: the ledger's hash chain holds the entry that was decided.
    const onChain = await this.call(this.d.config.accessLedger, accessIface.encodeFunctionData("entryHashAt", [entry.consumer, entry.index]), "latest");
    if (onChain.toLowerCase() !== accessEntryHash(entry).toLowerCase()) return skip("entry-mismatch");
    if (!(await this.permittedAtGrant(entry))) return skip("no-consent-at-grant");
    if (!(await this.permitted(entry, await latestTimestamp(this.d.provider), "latest"))) return skip("consent-withdrawn");
    if (await this.custody.isReleased(entry.consumer, entry.index, this.me)) return { status: "already-released" };

    const shares = await this.openShares(entry);
    if (shares.length === 0) return skip("no-keys");
    const keyIds = shares.map((s) => s.keyId);
    const boxed = boxSharesForRequester({ consumer: entry.consumer, entryIndex: entry.index, requesterKey: entry.requesterKey, shares });
    const data = this.custody.encodeReleaseShares(entry, keyIds, boxed);
    let gas: bigint;
    try {
      gas = await this.d.provider.estimateGas({ from: this.me, to: this.d.config.keyCustody, data });
    } catch (e) {
      // KeyCustody's refusal is final for this grant; anything else (node down) is retried.
      const name = revertName(e);
      if (name === "ReleaseDuplicate") return { status: "already-released" };
      if (name === "ReleaseConsentWithdrawn") return skip("consent-withdrawn");
      if (name === "ReleaseUnknownEntry") return skip("entry-mismatch");
      if (name === "ReleaseNotGranted") return skip("not-granted");
      if (name) return skip("rejected", name);
      throw fail(`gas estimation failed: ${errorText(e).slice(0, 200)}`, undefined, e);
    }
    const r = await this.submit(data, (gas * 12n) / 10n, (msg, cause) => fail(msg, undefined, cause));
    if (r.status !== 1) {
      // Mined but reverted: this member's earlier transaction got there first, or consent ended
      // in between (the next attempt sees it and skips).
      if (await this.custody.isReleased(entry.consumer, entry.index, this.me)) return { status: "already-released" };
      throw fail(`releaseShares reverted in block ${r.blockNumber}`);
    }
    return { status: "released", keyIds, blockNumber: r.blockNumber };
  }

  /**
   * This member's share of every published key the grant covers, by KeyCustody's rule and only
   * for keys made for a set this member is in. A share that does not open (a key sealed to another
   * custody key) is logged and left out.
   */
  private async openShares(entry: AccessEntry): Promise<{ keyId: number; share: Uint8Array }[]> {
    const published = await this.custody.publishedKeys({ consumer: entry.consumer, fromBlock: this.d.config.startBlock });
    const out: { keyId: number; share: Uint8Array }[] = [];
    for (const k of published.filter((k) => keyCoveredByGrant(k, entry))) {
      let idx = this.setPositions.get(k.setIndex);
      if (idx === undefined) {
        idx = (await this.custody.custodySet(k.setIndex)).members.indexOf(this.me);
        this.setPositions.set(k.setIndex, idx);
      }
      if (idx < 0) continue;
      try {
        out.push({ keyId: k.keyId, share: openMemberShare(k.envelope, { consumer: k.consumer, keyId: k.keyId }, idx, this.keys.secretKey) });
      } catch (e) {
        this.d.log("warn", "custodian: a share does not open with this member's custody key", { consumer: k.consumer, keyId: k.keyId, error: (e as Error).message });
      }
    }
    return out;
  }

  /**
   * Consent at the grant's block. A node that keeps no state of past blocks (anvil
   * --prune-history, a pruned geth) cannot answer; then the AccessLedger's own decision in that
   * block stands for it: the ledger checked the same PolicyMirror (verifyConfig) and the granted
   * entry is the one its hash chain holds (checked before). Any other error is retried.
   */
  private async permittedAtGrant(entry: AccessEntry): Promise<boolean> {
    if (this.noHistory) return true;
    try {
      return await this.permitted(entry, entry.timestamp, entry.blockNumber);
    } catch (e) {
      if (!NO_HISTORY.test(errorText(e))) throw e;
      this.d.log("info", "custodian: the node keeps no state of past blocks; consent at a grant's block rests on the ledger's decision", { error: errorText(e).slice(0, 200) });
      this.noHistory = true;
      return true;
    }
  }

  private async permitted(entry: AccessEntry, at: number, blockTag: number | "latest"): Promise<boolean> {
    const category = entry.category === "TRADES" ? Category.TRADES : Category.CONSUMPTION;
    const data = mirrorIface.encodeFunctionData("isPermitted", [entry.consumer, entry.requester, category, Resolution[entry.resolution], at]);
    return AbiCoder.defaultAbiCoder().decode(["bool"], await this.call(this.d.config.policyMirror, data, blockTag))[0] as boolean;
  }

  private call(to: string, data: string, blockTag: number | "latest"): Promise<string> {
    return this.d.provider.send("eth_call", [{ to, data }, typeof blockTag === "number" ? `0x${blockTag.toString(16)}` : blockTag]) as Promise<string>;
  }

  /** Sends through the member's sender and waits for the receipt; failures become `fail`'s typed error. */
  private async submit(data: string, gasLimit: bigint, fail: (msg: string, cause?: unknown) => FederationError): Promise<{ status: 0 | 1; blockNumber: number }> {
    const sender = this.d.sender();
    if (!sender) throw fail("the member's sender on this chain is not ready yet");
    try {
      const r = await (await sender.send(this.d.config.keyCustody, data, gasLimit)).wait();
      return { status: r.status, blockNumber: r.blockNumber };
    } catch (e) {
      throw fail(`transaction failed: ${errorText(e).slice(0, 200)}`, e);
    }
  }
}


/** What nodes answer for a block whose state they dropped (anvil, geth, erigon, besu wordings). */
const NO_HISTORY = /BlockOutOfRange|missing trie node|historical state|state (is )?not available|state histor|pruned|world state not available/i;

function errorText(e: unknown): string {
  const o = (e ?? {}) as { message?: string; shortMessage?: string; details?: string; info?: { error?: { message?: string } }; error?: { message?: string } };
  return [o.info?.error?.message, o.error?.message, o.shortMessage, o.message, o.details].filter(Boolean).join(" | ") || String(e);
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
