// The attester: signs every new message a watcher observed (EIP-712 digest for its destination
// inbox), persists it with the watcher's cursor in one LevelDB batch, gathers the other members'
// signatures until a quorum of one valid member set is there, and forgets what was executed. It
// never signs a lane nonce twice with different content: a digest that differs from the one it
// already saw executed is equivocation, reported and not signed.
import { recoverAddress, type SigningKey } from "ethers";
import { messageDigest, messageKey, signDigest } from "../messages";
import { EquivocationError } from "../errors";
import type { MemberMetrics } from "./metrics";
import type { SignatureItem } from "./peers";
import { fromStored, quorum, signatureItem, toStored, type ChainState, type MemberLogger, type PendingMessage } from "./state";
import type { MemberStore } from "./store";
import type { Observation } from "./watcher";

const MAX_ORPHANS = 50_000;
const MAX_RECENTLY_DONE = 100_000;

/** Where the attester's signatures go (the peer exchange, in a member). */
export interface SignatureOutlet {
  readonly peerAddresses: readonly string[];
  /** Queues signatures for `peers` (default: every peer). */
  enqueue(items: readonly SignatureItem[], peers?: readonly string[]): void;
}

export interface AttesterParameters {
  key: SigningKey;
  address: string;
  /** Every chain the member serves, by chain id (destinations of what it signs). */
  chains: ReadonlyMap<bigint, ChainState>;
  store: MemberStore;
  peers: SignatureOutlet;
  metrics: MemberMetrics;
  log: MemberLogger;
  /** Re-send own signatures of messages still pending after this long. */
  resendMs: number;
  /** Wait this long after new signatures before the destination's submitter looks. */
  batchDelayMs: number;
  /** Asks the destination's submitter to look for ready messages in `delayMs`. */
  scheduleFlush(cs: ChainState, delayMs: number): void;
}

/**
 * Signs, persists and collects signatures for every message the member relays.
 *
 * @example
 * const attester = new Attester({ key, address, chains, store, peers, metrics, log, resendMs: 2000, batchDelayMs: 15, scheduleFlush });
 * await attester.resume();
 * await attester.observed(cs, decodeLogs(cs, logs), toBlock);
 */
export class Attester {
  /** Signatures this member made, and received from peers, since start. */
  readonly stats = { own: 0, peer: 0 };
  private readonly me: string;
  private readonly orphans = new Map<string, Map<string, { digest: string; sig: string }>>();
  private readonly recentlyDone = new Map<string, true>();

  constructor(private readonly p: AttesterParameters) {
    this.me = p.address.toLowerCase();
  }

  /**
   * Every message signed but not seen executed goes back to pending, and its signature goes out
   * again (peers that restarted too have forgotten it). Returns how many.
   */
  async resume(): Promise<number> {
    const stored = await this.p.store.pending();
    const resend: SignatureItem[] = [];
    for (const s of stored) {
      const p = fromStored(s, this.me);
      const cs = this.p.chains.get(p.msg.dstChainId);
      if (!cs) continue;
      cs.pending.set(p.key, p);
      resend.push(signatureItem(p));
    }
    this.p.peers.enqueue(resend);
    return stored.length;
  }

  /** Signs what is new in `o`, commits it with `cs`'s cursor at `toBlock`, and drops what it saw executed. */
  async observed(cs: ChainState, o: Observation, toBlock: number): Promise<void> {
    const { chains, store, metrics } = this.p;
    // New: not pending already, not executed already, for a chain we serve.
    const candidates = o.sent.filter((m) => {
      const dst = chains.get(m.dstChainId);
      if (!dst) {
        metrics.signaturesRejected.inc({ reason: "unknown_destination" });
        return false;
      }
      return !dst.pending.has(messageKey(m.dstChainId, m.srcChainId, m.nonce));
    });
    const keys = candidates.map((m) => messageKey(m.dstChainId, m.srcChainId, m.nonce));
    const done = await store.doneDigests(keys);
    const now = Date.now();
    let fresh: PendingMessage[] = [];
    candidates.forEach((m, i) => {
      const dst = chains.get(m.dstChainId)!;
      const digest = messageDigest(dst.separator, m);
      const doneDigest = done[i];
      if (doneDigest !== undefined) {
        if (doneDigest !== digest) this.equivocation(keys[i]!, doneDigest, digest);
        return;
      }
      const own = signDigest(this.p.key, digest);
      this.stats.own++;
      fresh.push({ key: keys[i]!, msg: m, digest, firstSeen: now, own, sigs: new Map([[this.me, own]]), bad: new Set(), readyAt: undefined, inflight: false, attempts: 0, lastResend: now });
    });
    metrics.signatures.inc({ origin: "own" }, fresh.length);

    await store.commit({ messages: fresh.map(toStored), done: o.executed, cursor: { chainId: cs.cfg.chainId, block: toBlock } });

    // Another chain's scan may have seen some of these executed while we were signing.
    const late = fresh.filter((p) => this.recentlyDone.has(p.key));
    if (late.length > 0) {
      await store.commit({ done: late.map((p) => ({ key: p.key, digest: p.digest })) });
      fresh = fresh.filter((p) => !this.recentlyDone.has(p.key));
    }
    for (const p of fresh) {
      const dst = chains.get(p.msg.dstChainId)!;
      dst.pending.set(p.key, p);
      const orphan = this.orphans.get(p.key);
      if (orphan) {
        this.orphans.delete(p.key);
        for (const [signer, x] of orphan) this.addSignature(dst, p, signer, x.digest, x.sig);
      }
      this.evaluate(dst, p);
    }
    this.p.peers.enqueue(fresh.map(signatureItem));
    for (const e of o.executed) {
      this.noteDone(e.key);
      this.forget(cs, e.key);
    }
    const touched = new Set(fresh.map((p) => p.msg.dstChainId));
    for (const id of touched) this.p.scheduleFlush(chains.get(id)!, this.p.batchDelayMs);
    this.updateGauges();
  }

  /** Signatures a peer pushed (already authenticated as `signer`'s). */
  onPeerSignatures(signer: string, items: readonly SignatureItem[]): void {
    const s = signer.toLowerCase();
    const touched = new Set<ChainState>();
    for (const [dst, src, nonce, digest, sig] of items) {
      let key: string;
      try {
        key = messageKey(BigInt(dst), BigInt(src), BigInt(nonce));
      } catch {
        continue;
      }
      const cs = this.p.chains.get(BigInt(dst));
      if (!cs) continue;
      this.stats.peer++;
      const p = cs.pending.get(key);
      if (p) {
        if (this.addSignature(cs, p, s, digest, sig)) touched.add(cs);
      } else {
        // Not seen yet (our scan lags) or already executed; keep it a while.
        let o = this.orphans.get(key);
        if (!o) {
          if (this.orphans.size >= MAX_ORPHANS) this.orphans.delete(this.orphans.keys().next().value as string);
          o = new Map();
          this.orphans.set(key, o);
        }
        o.set(s, { digest, sig });
      }
    }
    this.p.metrics.signatures.inc({ origin: "peer" }, items.length);
    for (const cs of touched) this.p.scheduleFlush(cs, this.p.batchDelayMs);
  }

  /** Marks `p` ready once a quorum is there; true when it just became ready. */
  evaluate(cs: ChainState, p: PendingMessage): boolean {
    if (p.readyAt !== undefined || !cs.ready) return false;
    if (!quorum(cs, p)) return false;
    p.readyAt = Date.now();
    return true;
  }

  /** Judges every pending message for `cs` again (its chain became ready, or its member set changed). */
  reevaluate(cs: ChainState): void {
    for (const p of cs.pending.values()) this.evaluate(cs, p);
  }

  /** Records `ps` as executed on `cs` (persisted, then dropped from pending). */
  async markDone(cs: ChainState, ps: readonly PendingMessage[]): Promise<void> {
    if (ps.length === 0) return;
    await this.p.store.commit({ done: ps.map((p) => ({ key: p.key, digest: p.digest })) });
    for (const p of ps) {
      this.noteDone(p.key);
      this.forget(cs, p.key);
    }
    this.updateGauges();
  }

  /**
   * Slow path after the inbox refused a batch for its signatures: recovers every signature and
   * drops those that are not a valid member's; `notMember` is a signer the inbox named as no longer
   * accepted (a grace period that ended).
   */
  dropInvalidSignatures(cs: ChainState, ps: readonly PendingMessage[], notMember?: string): void {
    const valid = new Set([...cs.current.members, ...(cs.previous?.members ?? [])].map((m) => m.toLowerCase()));
    if (notMember && valid.has(notMember.toLowerCase())) cs.excluded.add(notMember.toLowerCase());
    for (const p of ps) {
      for (const [signer, sig] of p.sigs) {
        let ok = false;
        try {
          ok = recoverAddress(p.digest, sig).toLowerCase() === signer && valid.has(signer);
        } catch {
          ok = false;
        }
        if (!ok) {
          p.sigs.delete(signer);
          p.bad.add(signer);
          this.p.metrics.signaturesRejected.inc({ reason: "invalid" });
          this.p.log("warn", "dropped an invalid signature", { key: p.key, signer });
        }
      }
      p.readyAt = undefined;
      this.evaluate(cs, p);
    }
  }

  /** Re-sends own signatures of messages pending long to the peers whose signature is missing (they were down). */
  antiEntropy(): void {
    const now = Date.now();
    const resendMs = this.p.resendMs;
    const byPeer = new Map<string, SignatureItem[]>();
    for (const cs of this.p.chains.values()) {
      for (const p of cs.pending.values()) {
        if (p.inflight || now - p.lastResend < resendMs || now - p.firstSeen < resendMs) continue;
        p.lastResend = now;
        for (const peer of this.p.peers.peerAddresses) {
          if (p.sigs.has(peer.toLowerCase())) continue;
          let arr = byPeer.get(peer);
          if (!arr) byPeer.set(peer, (arr = []));
          arr.push(signatureItem(p));
        }
      }
      this.p.scheduleFlush(cs, 0);
    }
    for (const [peer, items] of byPeer) this.p.peers.enqueue(items, [peer]);
  }

  updateGauges(): void {
    for (const cs of this.p.chains.values()) {
      let ready = 0;
      for (const p of cs.pending.values()) if (p.readyAt !== undefined) ready++;
      this.p.metrics.pending.set({ dst: cs.cfg.name }, cs.pending.size);
      this.p.metrics.ready.set({ dst: cs.cfg.name }, ready);
    }
  }

  private addSignature(cs: ChainState, p: PendingMessage, signer: string, digest: string, sig: string): boolean {
    if (digest !== p.digest) {
      // The peer saw different content under this lane nonce: not ours to count.
      this.p.metrics.signaturesRejected.inc({ reason: "digest_mismatch" });
      return false;
    }
    if (p.bad.has(signer) || p.sigs.get(signer) === sig) return false;
    p.sigs.set(signer, sig);
    return this.evaluate(cs, p);
  }

  private equivocation(key: string, signed: string, digest: string): void {
    const e = new EquivocationError(key, signed, digest);
    this.p.metrics.signaturesRejected.inc({ reason: "equivocation" });
    this.p.log("error", e.shortMessage, { key });
  }

  /** Remembers recent executions (bounded) so a message signed concurrently is not kept pending. */
  private noteDone(key: string): void {
    this.recentlyDone.set(key, true);
    if (this.recentlyDone.size > MAX_RECENTLY_DONE) this.recentlyDone.delete(this.recentlyDone.keys().next().value as string);
  }

  /** Drops a message from pending once executed (or consumed as failed) on its destination. */
  private forget(cs: ChainState, key: string): void {
    const p = cs.pending.get(key);
    if (!p) return;
    cs.pending.delete(key);
    this.p.metrics.relayLatency.observe({ dst: cs.cfg.name }, (Date.now() - p.firstSeen) / 1000);
  }
}
