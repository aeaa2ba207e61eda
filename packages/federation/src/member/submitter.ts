// The submitter: delivers the pending messages of ready batches (a quorum of signatures over their
// root) to their destination inbox, several batches per transaction, each with a multiproof of the
// messages it carries, when this member is the batch's designated relayer or the designated one is
// late. It sizes transactions to the block's gas, learns the per-message cost from receipts, and
// on a refusal learns why (replaying the call) and reacts: paused, already executed, a bad
// signature, out of gas.
import { ContractRevertError, revertData } from "@sidegrid/chain";
import { FederationInbox__factory } from "../generated";
import { packSignatures, type FederationBatchDelivery } from "../messages";
import type { MemberMetrics } from "./metrics";
import { executedMask } from "./reconciler";
import { isPaused, quorum, type ChainState, type MemberLogger, type PendingBatch, type PendingMessage } from "./state";
import { encodeDeliverBatches, type RelayReceipt } from "./wire";

const inboxIface = FederationInbox__factory.createInterface();
const TOPIC_FAILED = inboxIface.getEvent("MessageFailed").topicHash;
const SIGNATURE_ERRORS = new Set(["InboxNotMember", "InboxInvalidSignature", "InboxInsufficientSignatures", "InboxDuplicateSigner", "InboxMalformedSignatures"]);
/** Refusals no retry can cure: the member built a delivery its own inbox does not accept (a bug). */
const PROOF_ERRORS = new Set(["InboxInvalidProof", "InboxMessageOutsideBatch", "InboxEmptyDelivery", "InboxWrongDestination"]);
/** Gas of a delivery's root beyond its messages (header, quorum, proof), before receipts teach better. */
const PER_ROOT_GAS = 20_000n;
/** After a send the node refused (the sender has read its nonce again): the next try. */
const SEND_RETRY_MS = 500;

/** Messages of one batch in one transaction, in leaf order, with the quorum over its root. */
interface Picked {
  b: PendingBatch;
  ps: PendingMessage[];
  sigs: string[];
}

/** What the submitter asks of the rest of the member. */
export interface SubmitterHooks {
  /** Records messages seen executed in `block` (the attester's `markExecuted`; kept until final). */
  markExecuted(cs: ChainState, ps: readonly PendingMessage[], block: number): Promise<void>;
  /** After a refusal for signatures: drop the invalid ones of these batches (the attester's `dropInvalidSignatures`). */
  dropInvalidSignatures(cs: ChainState, bs: readonly PendingBatch[], notMember?: string): void;
  /** Re-read the inbox's pauses / member sets (the chain's watcher). */
  refreshPause(cs: ChainState): Promise<void>;
  refreshSets(cs: ChainState): Promise<void>;
}

export interface SubmitterParameters {
  /** This member's address (checksummed, as in the member sets). */
  address: string;
  takeoverMs: number;
  roundSize: number;
  maxBatch: number;
  maxInFlight: number;
  metrics: MemberMetrics;
  log: MemberLogger;
  hooks: SubmitterHooks;
}

/** Index (in the current set) of the member designated to relay message (`src`, `nonce`) to chain `dst` (a batch: its first nonce). */
export function designatedRelayer(dst: bigint, src: bigint, nonce: bigint, roundSize: number, members: number): number {
  const round = nonce / BigInt(roundSize);
  return Number((round + src + dst) % BigInt(members));
}

/**
 * Relays ready batches; one instance serves every destination chain of the member.
 *
 * @example
 * const s = new Submitter({ address, takeoverMs: 1500, roundSize: 16, maxBatch: 200, maxInFlight: 4, metrics, log, hooks });
 * s.schedule(cs, 0);
 */
export class Submitter {
  private stopped = false;

  constructor(private readonly p: SubmitterParameters) {}

  /** Looks for deliverable messages on `cs` in `delayMs` (an earlier look already due wins). */
  schedule(cs: ChainState, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (cs.flushTimer && cs.flushAt <= at) return;
    if (cs.flushTimer) clearTimeout(cs.flushTimer);
    cs.flushAt = at;
    cs.flushTimer = setTimeout(() => {
      cs.flushTimer = undefined;
      void this.flush(cs);
    }, delayMs);
  }

  /** Stops scheduling; transactions already sent still settle. */
  stop(chains: Iterable<ChainState>): void {
    this.stopped = true;
    for (const cs of chains) if (cs.flushTimer) clearTimeout(cs.flushTimer);
  }

  /** This member's rank for batch `b` on `cs`: 0 relays at once, rank k may take over later; -1 = not a member. */
  rank(cs: ChainState, b: PendingBatch): number {
    const members = cs.current.members;
    const mine = members.indexOf(this.p.address);
    if (mine < 0) return -1;
    return (mine - designatedRelayer(cs.id, b.batch.srcChainId, b.batch.firstNonce, this.p.roundSize, members.length) + members.length) % members.length;
  }

  /**
   * When the member of rank `r` may relay `b`: at once for rank 0; otherwise r × takeoverMs after the
   * batch became ready AND after the designated relayer was last seen delivering anything. A
   * relayer that is alive but behind (a backlog) keeps its batches; a dead one loses them after
   * the timeout. Past 10 × takeoverMs anyone of rank r takes over regardless.
   */
  dueAt(cs: ChainState, b: PendingBatch, r: number): number {
    if (r === 0) return b.readyAt!;
    const wait = r * this.p.takeoverMs;
    const d = designatedRelayer(cs.id, b.batch.srcChainId, b.batch.firstNonce, this.p.roundSize, cs.current.members.length);
    const progress = cs.progress.get(cs.current.members[d]!) ?? 0;
    return Math.min(Math.max(b.readyAt!, progress) + wait, b.readyAt! + 10 * wait);
  }

  /** Sends batches on `cs` until nothing is due or `maxInFlight` transactions are unconfirmed. */
  async flush(cs: ChainState): Promise<void> {
    if (!cs.ready || !cs.sender) return;
    if (cs.flushing) {
      cs.flushAgain = true;
      return;
    }
    cs.flushing = true;
    try {
      while (cs.inFlight < this.p.maxInFlight && !this.stopped) {
        const sent = await this.submitOne(cs);
        if (!sent) break;
      }
    } catch (e) {
      this.p.log("warn", "relay failed", { chain: cs.cfg.name, error: (e as Error).message?.split("\n")[0] });
      this.schedule(cs, 250);
    } finally {
      cs.flushing = false;
      if (cs.flushAgain) {
        cs.flushAgain = false;
        this.schedule(cs, 0);
      }
    }
  }

  /** Picks what is due, up to `batchCap` messages from as many ready batches as it takes. */
  private pick(cs: ChainState, now: number): { picked: Picked[]; nextAt: number } {
    const picked: Picked[] = [];
    let count = 0;
    let nextAt = Infinity;
    for (const b of cs.batches.values()) {
      if (count >= cs.batchCap) break;
      if (b.readyAt === undefined || isPaused(cs, b.batch.srcChainId)) continue;
      const r = this.rank(cs, b);
      if (r < 0) continue;
      const due = this.dueAt(cs, b, r);
      if (due > now) {
        nextAt = Math.min(nextAt, due);
        continue;
      }
      const ps = [...b.open.values()]
        .filter((p) => !p.inflight)
        .sort((x, y) => x.leaf - y.leaf)
        .slice(0, cs.batchCap - count);
      if (ps.length === 0) continue;
      const sigs = quorum(cs, b);
      if (!sigs) {
        b.readyAt = undefined;
        continue;
      }
      picked.push({ b, ps, sigs });
      count += ps.length;
    }
    return { picked, nextAt };
  }

  /** Builds and sends one transaction; false when nothing is eligible now. */
  private async submitOne(cs: ChainState): Promise<boolean> {
    const now = Date.now();
    const { picked, nextAt } = this.pick(cs, now);
    if (nextAt !== Infinity) this.schedule(cs, nextAt - now);
    if (picked.length === 0) return false;

    // Someone else may have delivered them already (we are taking over, a member restarted, or an
    // earlier attempt of ours was refused). The designated relayer's first attempt skips the check.
    let todo = picked;
    if (picked.some((x) => this.rank(cs, x.b) > 0 || x.ps.some((p) => p.attempts > 0))) {
      const all = picked.flatMap((x) => x.ps);
      const head = cs.head;
      const mask = await executedMask(cs, all);
      const done = new Set(all.filter((_, i) => mask[i]));
      await this.p.hooks.markExecuted(cs, [...done], head);
      todo = picked.map((x) => ({ ...x, ps: x.ps.filter((p) => !done.has(p)) })).filter((x) => x.ps.length > 0);
    }
    if (todo.length === 0) return true;

    const sender = cs.sender!;
    const fixed = 100_000n + (cs.appGasLimit * 64n) / 63n + 60_000n;
    const gasOf = (msgs: number, roots: number) => fixed + BigInt(msgs) * cs.perMessageGas + BigInt(roots) * PER_ROOT_GAS;
    let n = todo.reduce((a, x) => a + x.ps.length, 0);
    while (n > 1 && gasOf(n, todo.length) > sender.blockGasLimit) n = Math.floor(n / 2);
    const chosen: Picked[] = [];
    for (let left = n, i = 0; left > 0 && i < todo.length; i++) {
      const x = todo[i]!;
      chosen.push({ ...x, ps: x.ps.slice(0, left) });
      left -= Math.min(left, x.ps.length);
    }
    const wanted = gasOf(n, chosen.length);
    const gasLimit = wanted > sender.blockGasLimit ? sender.blockGasLimit : wanted;
    const data = encodeDeliverBatches(chosen.map((x) => delivery(x)));
    const msgs = chosen.flatMap((x) => x.ps);
    for (const p of msgs) {
      p.inflight = true;
      p.attempts++;
    }
    cs.inFlight++;
    let sentTx;
    try {
      sentTx = await sender.send(cs.cfg.inbox, data, gasLimit);
    } catch (e) {
      cs.inFlight--;
      for (const p of msgs) p.inflight = false;
      // The sender has read its nonce again ("nonce too low" after another process of this
      // account sent): try again soon, whether or not a new head comes to wake this chain.
      if (await this.onSubmitError(cs, chosen, e)) this.schedule(cs, SEND_RETRY_MS);
      return false;
    }
    void sentTx
      .wait()
      .then(async (receipt) => {
        if (receipt.status === 1) return receipt;
        const err = await this.revertOf(cs, data);
        // All the gas used and no reason: the batch ran out of gas.
        if (!err.errorName && receipt.gasUsed >= (gasLimit * 99n) / 100n) return Promise.reject(new ContractRevertError("OutOfGas", [receipt.gasUsed], undefined));
        return Promise.reject(err);
      })
      .then(
        (receipt) => this.onDelivered(cs, msgs, receipt),
        (e: unknown) => this.onSubmitError(cs, chosen, e),
      )
      .finally(() => {
        cs.inFlight--;
        for (const p of msgs) p.inflight = false;
        this.schedule(cs, 0);
      });
    return true;
  }

  /** Replays a reverted deliver as a call to learn its custom error (none: it ran out of gas). */
  private async revertOf(cs: ChainState, data: string): Promise<ContractRevertError> {
    let raw: string | undefined;
    try {
      await cs.provider.send("eth_call", [{ from: this.p.address, to: cs.cfg.inbox, data }, "latest"]);
    } catch (e) {
      raw = revertData(e);
    }
    if (raw) {
      try {
        const parsed = inboxIface.parseError(raw);
        if (parsed) return new ContractRevertError(parsed.name, [...parsed.args], raw);
      } catch {
        /* not an inbox error */
      }
    }
    return new ContractRevertError(undefined, [], raw);
  }

  private async onDelivered(cs: ChainState, batch: readonly PendingMessage[], receipt: RelayReceipt): Promise<void> {
    let failed = 0;
    for (const l of receipt.logs) if (l.topics[0] === TOPIC_FAILED) failed++;
    const { metrics } = this.p;
    metrics.submissions.inc({ dst: cs.cfg.name, result: "ok" });
    metrics.relayed.inc({ dst: cs.cfg.name, outcome: "executed" }, batch.length - failed);
    if (failed > 0) metrics.relayed.inc({ dst: cs.cfg.name, outcome: "app_failed" }, failed);
    // Learn the per-message cost with 50% headroom: rise at once, decay slowly. A batch whose apps
    // cost more than estimated fails the inbox's gas check and is retried smaller (onSubmitError).
    const want = ((receipt.gasUsed / BigInt(batch.length)) * 3n) / 2n;
    const decayed = (cs.perMessageGas * 19n) / 20n;
    cs.perMessageGas = want > decayed ? want : decayed < 60_000n ? 60_000n : decayed;
    cs.batchCap = Math.min(this.p.maxBatch, cs.batchCap * 2);
    await this.p.hooks.markExecuted(cs, batch, receipt.blockNumber);
  }

  /** Handles a refused or failed delivery; true when sending the same messages again may succeed. */
  private async onSubmitError(cs: ChainState, batch: readonly Picked[], e: unknown): Promise<boolean> {
    const name = e instanceof ContractRevertError ? (e.errorName ?? "unknown") : "send";
    this.p.metrics.submissions.inc({ dst: cs.cfg.name, result: name });
    if (name === "InboxAlreadyExecuted") return true; // the next flush filters with areExecuted
    if (name === "InboxPaused") {
      await this.p.hooks.refreshPause(cs).catch(() => undefined);
      return false;
    }
    if (SIGNATURE_ERRORS.has(name)) {
      const err = e as ContractRevertError;
      this.p.hooks.dropInvalidSignatures(
        cs,
        batch.map((x) => x.b),
        err.errorName === "InboxNotMember" ? String(err.args[0]) : undefined,
      );
      void this.p.hooks.refreshSets(cs).catch(() => undefined);
      return false;
    }
    if (PROOF_ERRORS.has(name)) {
      this.p.log("error", "the inbox refused a delivery this member built", { chain: cs.cfg.name, error: name, batches: batch.map((x) => x.b.key) });
      return false;
    }
    // Out of gas, or too little gas left for the last app's cap (the inbox reverts with
    // InboxInsufficientGas; the replay at the next block cannot see that, hence "unknown"):
    // smaller batches, more gas each.
    if (name === "OutOfGas" || name === "InboxInsufficientGas" || name === "unknown") {
      cs.batchCap = Math.max(1, Math.floor(cs.batchCap / 2));
      cs.perMessageGas = (cs.perMessageGas * 3n) / 2n;
    }
    this.p.log("warn", "deliver failed", { chain: cs.cfg.name, error: (e as Error).message?.split("\n")[0], batch: batch.reduce((a, x) => a + x.ps.length, 0), perMessageGas: String(cs.perMessageGas) });
    return true;
  }
}

/** The delivery of `x`'s messages: its batch, the quorum packed, and their multiproof. */
function delivery(x: Picked): FederationBatchDelivery {
  const mp = x.b.tree.multiProof(x.ps.map((p) => p.leaf));
  return { batch: x.b.batch, signatures: packSignatures(x.sigs), messages: x.ps.map((p) => p.msg), proof: mp.proof, proofFlags: mp.proofFlags };
}

