// The attester: cuts what a watcher observed into batches — the messages one source block sent to
// one destination, in nonce order, at most MAX_BATCH_LEAVES each — signs each batch's EIP-712
// digest (a Merkle root over the message digests, see merkle.ts), persists batches, messages and
// the watcher's cursor in one LevelDB batch, gathers the other members' signatures over the same
// batch until a quorum of one valid member set is there, and forgets what was executed once that
// execution is final (until then a destination rollback can undo it: README "Destination
// rollbacks"). Honest
// members cut the same confirmed blocks the same way, so their signatures meet on one root; a
// member signs only batches made of its own observations (README "Batched attestations"). It never
// signs other content under a lane nonce it signed or saw executed: that is equivocation, reported
// and not signed.
import { recoverAddress, type SigningKey } from "ethers";
import { MerkleTree } from "../merkle";
import { batchDigest, messageDigest, messageKey, signDigest, type FederationMessage } from "../messages";
import { EquivocationError } from "../errors";
import type { MemberMetrics } from "./metrics";
import type { SignatureItem } from "./peers";
import {
  batchKey,
  messageFromStored,
  quorum,
  signatureItem,
  toStored,
  toStoredBatch,
  type ChainState,
  type MemberLogger,
  type PendingBatch,
  type PendingMessage,
  type SeenExecution,
} from "./state";
import type { MemberStore, StoredBatch, StoredExecution, StoredMessage } from "./store";
import type { Observation } from "./watcher";

const MAX_ORPHANS = 50_000;
/** Most messages under one root: a block's messages for one destination are cut into batches of this many. */
export const MAX_BATCH_LEAVES = 512;

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
  /** Re-send own signatures of batches still pending after this long. */
  resendMs: number;
  /** Wait this long after new signatures before the destination's submitter looks. */
  batchDelayMs: number;
  /** Asks the destination's submitter to look for ready batches in `delayMs`. */
  scheduleFlush(cs: ChainState, delayMs: number): void;
}

interface Draft {
  dst: ChainState;
  key: string;
  msgs: FederationMessage[];
  keys: string[];
  digests: string[];
}

/**
 * Batches, signs, persists and collects signatures for every message the member relays.
 *
 * @example
 * const attester = new Attester({ key, address, chains, store, peers, metrics, log, resendMs: 2000, batchDelayMs: 15, scheduleFlush });
 * await attester.resume();
 * await attester.observed(cs, decodeLogs(cs, logs), toBlock);
 */
export class Attester {
  /** Batch signatures this member made, and received from peers, since start. */
  readonly stats = { own: 0, peer: 0 };
  private readonly me: string;
  private readonly orphans = new Map<string, Map<string, { digest: string; sig: string }>>();

  constructor(private readonly p: AttesterParameters) {
    this.me = p.address.toLowerCase();
  }

  /**
   * Every batch signed with messages not seen executed goes back to pending, and its signature goes
   * out again (peers that restarted too have forgotten it). Messages of a store written before
   * batches become one-message batches. Returns how many messages are pending.
   */
  async resume(): Promise<number> {
    const { store, chains } = this.p;
    const [stored, msgs, execs] = await Promise.all([store.batches(), store.pending(), store.executions()]);
    const seen = new Map(execs.map((e) => [e.key, e]));
    const byBatch = new Map<string, StoredMessage[]>();
    const legacy: StoredMessage[] = [];
    for (const m of msgs) {
      if (!m.batch) legacy.push(m);
      else {
        let arr = byBatch.get(m.batch);
        if (!arr) byBatch.set(m.batch, (arr = []));
        arr.push(m);
      }
    }
    const resend: SignatureItem[] = [];
    const stale: string[] = [];
    let count = 0;
    for (const sb of stored) {
      const cs = chains.get(BigInt(sb.dstChainId));
      const open = byBatch.get(sb.key) ?? [];
      if (!cs || open.length === 0) {
        stale.push(sb.key); // all executed; the drop did not reach the store before a crash
        continue;
      }
      const b = restoreBatch(sb, this.me);
      for (const m of open) {
        const leaf = sb.keys.indexOf(m.key);
        if (leaf < 0) continue;
        const p: PendingMessage = { key: m.key, msg: messageFromStored(m), digest: m.digest, firstSeen: m.firstSeen, batch: b, leaf, inflight: false, attempts: 0 };
        const e = seen.get(m.key);
        if (e) {
          // Seen executed before the restart, not final yet: re-checked, not delivered again.
          seen.delete(m.key);
          b.settling.set(leaf, p);
          cs.executed.set(p.key, fromStoredExecution(e, p));
        } else {
          b.open.set(leaf, p);
          cs.pending.set(p.key, p);
          count++;
        }
      }
      cs.batches.set(b.key, b);
      resend.push(signatureItem(cs.id, b));
    }
    if (stale.length > 0) await store.commit({ batchesDone: stale });
    for (const e of seen.values()) chains.get(BigInt(e.key.split("/")[0]!))?.executed.set(e.key, fromStoredExecution(e, undefined));
    // Observed and signed one by one before batches existed: each message its own batch.
    const upgraded: { dst: ChainState; b: PendingBatch; digests: string[] }[] = [];
    for (const m of legacy) {
      const cs = chains.get(BigInt(m.dstChainId));
      if (!cs) continue;
      const msg = messageFromStored(m);
      const b = this.sign(cs, batchKey(cs.id, msg.srcChainId, msg.nonce), [msg], [m.key], [m.digest], m.firstSeen);
      const p: PendingMessage = { key: m.key, msg, digest: m.digest, firstSeen: m.firstSeen, batch: b, leaf: 0, inflight: false, attempts: 0 };
      b.open.set(0, p);
      cs.pending.set(p.key, p);
      cs.batches.set(b.key, b);
      upgraded.push({ dst: cs, b, digests: [m.digest] });
      resend.push(signatureItem(cs.id, b));
      count++;
    }
    if (upgraded.length > 0) {
      await store.commit({ batches: upgraded.map((u) => toStoredBatch(u.dst.id, u.b, u.digests)), messages: upgraded.map((u) => toStored(u.b.open.get(0)!)) });
    }
    this.p.peers.enqueue(resend);
    return count;
  }

  /** Signs the batches of what is new in `o`, commits them with `cs`'s cursor at `toBlock`, and drops what it saw executed. */
  async observed(cs: ChainState, o: Observation, toBlock: number): Promise<void> {
    const { store, metrics } = this.p;
    const drafts = this.draft(cs, o);
    const done = await store.doneDigests(drafts.flatMap((d) => d.keys));
    const now = Date.now();
    const fresh: { d: Draft; b: PendingBatch; ps: PendingMessage[] }[] = [];
    let j = 0;
    for (const d of drafts) {
      const doneHere = d.keys.map(() => done[j++]);
      // Content other than what was executed, or than what this member signed, under a lane nonce.
      const held = (k: string) => d.dst.pending.get(k)?.digest ?? d.dst.executed.get(k)?.digest;
      const bad = d.keys.findIndex((k, i) => (doneHere[i] ?? held(k) ?? d.digests[i]) !== d.digests[i]);
      if (bad >= 0) {
        this.equivocation(d.keys[bad]!, doneHere[bad] ?? held(d.keys[bad]!)!, d.digests[bad]!);
        continue;
      }
      // A message seen executed but not final is signed too: a rollback may still undo that execution.
      const open = d.keys.flatMap((k, i) => (doneHere[i] === undefined && !d.dst.pending.has(k) && !d.dst.executed.get(k)?.p ? [i] : []));
      if (open.length === 0) continue; // executed already, and final
      const b = this.sign(d.dst, d.key, d.msgs, d.keys, d.digests, now);
      const ps = open.map((i): PendingMessage => ({ key: d.keys[i]!, msg: d.msgs[i]!, digest: d.digests[i]!, firstSeen: now, batch: b, leaf: i, inflight: false, attempts: 0 }));
      fresh.push({ d, b, ps });
    }
    metrics.signatures.inc({ origin: "own" }, fresh.length);

    const executed = o.executed.map((e): StoredExecution => ({ ...e, at: now }));
    await store.commit({
      batches: fresh.map((f) => toStoredBatch(f.d.dst.id, f.b, f.d.digests)),
      messages: fresh.flatMap((f) => f.ps.map(toStored)),
      executed,
      cursor: { chainId: cs.cfg.chainId, block: toBlock },
    });

    const items: SignatureItem[] = [];
    const touched = new Set<ChainState>();
    for (const { d, b, ps } of fresh) {
      for (const p of ps) {
        // Seen executed already (the destination's scan is ahead, or ran while we signed): kept until final.
        const e = d.dst.executed.get(p.key);
        if (e && !e.p) {
          e.p = p;
          b.settling.set(p.leaf, p);
        } else {
          b.open.set(p.leaf, p);
          d.dst.pending.set(p.key, p);
        }
      }
      d.dst.batches.set(b.key, b);
      items.push(signatureItem(d.dst.id, b));
      const orphan = this.orphans.get(b.key);
      if (orphan) {
        this.orphans.delete(b.key);
        for (const [signer, x] of orphan) this.addSignature(d.dst, b, signer, x.digest, x.sig);
      }
      this.evaluate(d.dst, b);
      touched.add(d.dst);
    }
    this.p.peers.enqueue(items);
    for (const e of executed) this.seen(cs, e, cs.pending.get(e.key));
    for (const dst of touched) this.p.scheduleFlush(dst, this.p.batchDelayMs);
    this.updateGauges();
  }

  /**
   * The batches `o` calls for: per destination and source block, messages in nonce order, cut
   * every MAX_BATCH_LEAVES. Batches signed already (a re-scan) are left out.
   */
  private draft(cs: ChainState, o: Observation): Draft[] {
    const groups = new Map<string, { dst: ChainState; msgs: FederationMessage[] }>();
    o.sent.forEach((m, i) => {
      const dst = this.p.chains.get(m.dstChainId);
      if (!dst) {
        this.p.metrics.signaturesRejected.inc({ reason: "unknown_destination" });
        return;
      }
      const g = `${m.dstChainId}/${o.sentBlocks[i]}`;
      let group = groups.get(g);
      if (!group) groups.set(g, (group = { dst, msgs: [] }));
      group.msgs.push(m);
    });
    const drafts: Draft[] = [];
    for (const { dst, msgs } of groups.values()) {
      msgs.sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0));
      for (let i = 0; i < msgs.length; i += MAX_BATCH_LEAVES) {
        const part = msgs.slice(i, i + MAX_BATCH_LEAVES);
        const key = batchKey(dst.id, cs.id, part[0]!.nonce);
        const keys = part.map((m) => messageKey(m.dstChainId, m.srcChainId, m.nonce));
        if (dst.batches.has(key) || keys.every((k) => dst.pending.has(k))) continue;
        drafts.push({ dst, key, msgs: part, keys, digests: part.map((m) => messageDigest(dst.separator, m)) });
      }
    }
    return drafts;
  }

  /** A new batch over `msgs` (nonce order) for `dst`, signed by this member, nothing attached yet. */
  private sign(dst: ChainState, key: string, msgs: readonly FederationMessage[], keys: string[], digests: readonly string[], now: number): PendingBatch {
    const tree = new MerkleTree(digests);
    const batch = { srcChainId: msgs[0]!.srcChainId, firstNonce: msgs[0]!.nonce, lastNonce: msgs[msgs.length - 1]!.nonce, root: tree.root };
    const digest = batchDigest(dst.separator, batch);
    const own = signDigest(this.p.key, digest);
    this.stats.own++;
    return { key, batch, digest, tree, keys, open: new Map(), settling: new Map(), firstSeen: now, own, sigs: new Map([[this.me, own]]), bad: new Set(), readyAt: undefined, lastResend: now };
  }

  /** Batch signatures a peer pushed (already authenticated as `signer`'s). */
  onPeerSignatures(signer: string, items: readonly SignatureItem[]): void {
    const s = signer.toLowerCase();
    const touched = new Set<ChainState>();
    for (const [dst, src, firstNonce, digest, sig] of items) {
      let key: string;
      try {
        key = batchKey(BigInt(dst), BigInt(src), BigInt(firstNonce));
      } catch {
        continue;
      }
      const cs = this.p.chains.get(BigInt(dst));
      if (!cs) continue;
      this.stats.peer++;
      const b = cs.batches.get(key);
      if (b) {
        if (this.addSignature(cs, b, s, digest, sig)) touched.add(cs);
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

  /** Marks `b` ready once a quorum is there; true when it just became ready. */
  evaluate(cs: ChainState, b: PendingBatch): boolean {
    if (b.readyAt !== undefined || !cs.ready) return false;
    if (!quorum(cs, b)) return false;
    b.readyAt = Date.now();
    return true;
  }

  /** Judges every pending batch for `cs` again (its chain became ready, or its member set changed). */
  reevaluate(cs: ChainState): void {
    for (const b of cs.batches.values()) this.evaluate(cs, b);
  }

  /**
   * Records `ps` as seen executed on `cs` in `block` (a receipt's block, or the head when an
   * `areExecuted` query found them): they leave pending but are kept, persisted, until
   * {@link settle} (final) or {@link reopen} (a rollback undid the execution).
   */
  async markExecuted(cs: ChainState, ps: readonly PendingMessage[], block: number): Promise<void> {
    const now = Date.now();
    const mine = ps.filter((p) => cs.pending.get(p.key) === p);
    if (mine.length === 0) return;
    const executed = mine.map((p): StoredExecution => ({ key: p.key, digest: p.digest, block, at: now }));
    await this.p.store.commit({ executed });
    executed.forEach((e, i) => this.seen(cs, e, mine[i]));
    this.updateGauges();
  }

  /** Forgets executions that are final: the message, its execution record and (when it closes) its batch go; the digest stays (`d!`). */
  async settle(cs: ChainState, es: readonly SeenExecution[]): Promise<void> {
    const mine = es.filter((e) => cs.executed.get(e.key) === e);
    if (mine.length === 0) return;
    const leaving = new Map<PendingBatch, number>();
    for (const e of mine) if (e.p) leaving.set(e.p.batch, (leaving.get(e.p.batch) ?? 0) + 1);
    const closed = [...leaving].filter(([b, n]) => b.open.size === 0 && n >= b.settling.size).map(([b]) => b);
    await this.p.store.commit({ done: mine.map((e) => ({ key: e.key, digest: e.digest })), batchesDone: closed.map((b) => b.key) });
    for (const e of mine) {
      cs.executed.delete(e.key);
      e.p?.batch.settling.delete(e.p.leaf);
    }
    for (const b of closed) if (b.open.size === 0 && b.settling.size === 0 && cs.batches.get(b.key) === b) cs.batches.delete(b.key);
  }

  /** Executions a rollback undid: their messages are pending again and get delivered again. */
  async reopen(cs: ChainState, es: readonly SeenExecution[]): Promise<void> {
    const mine = es.filter((e) => cs.executed.get(e.key) === e);
    if (mine.length === 0) return;
    await this.p.store.commit({ undone: mine.map((e) => e.key) });
    let again = 0;
    for (const e of mine) {
      cs.executed.delete(e.key);
      const p = e.p;
      if (!p) continue; // not signed by this member (yet): its own scan signs it as a new message
      p.batch.settling.delete(p.leaf);
      p.batch.open.set(p.leaf, p);
      p.inflight = false;
      cs.pending.set(p.key, p);
      if (cs.batches.get(p.batch.key) !== p.batch) cs.batches.set(p.batch.key, p.batch);
      this.evaluate(cs, p.batch);
      again++;
    }
    this.p.metrics.relayed.inc({ dst: cs.cfg.name, outcome: "rolled_back" }, mine.length);
    this.p.log("warn", "executions undone on the destination (a rollback): pending again", { chain: cs.cfg.name, executions: mine.length, pendingAgain: again, keys: mine.slice(0, 5).map((e) => e.key) });
    if (again > 0) this.p.scheduleFlush(cs, 0);
    this.updateGauges();
  }

  /**
   * Slow path after the inbox refused a delivery for its signatures: recovers every signature of
   * the batches and drops those that are not a valid member's; `notMember` is a signer the inbox
   * named as no longer accepted (a grace period that ended).
   */
  dropInvalidSignatures(cs: ChainState, bs: readonly PendingBatch[], notMember?: string): void {
    const valid = new Set([...cs.current.members, ...(cs.previous?.members ?? [])].map((m) => m.toLowerCase()));
    if (notMember && valid.has(notMember.toLowerCase())) cs.excluded.add(notMember.toLowerCase());
    for (const b of bs) {
      for (const [signer, sig] of b.sigs) {
        let ok = false;
        try {
          ok = recoverAddress(b.digest, sig).toLowerCase() === signer && valid.has(signer);
        } catch {
          ok = false;
        }
        if (!ok) {
          b.sigs.delete(signer);
          b.bad.add(signer);
          this.p.metrics.signaturesRejected.inc({ reason: "invalid" });
          this.p.log("warn", "dropped an invalid signature", { batch: b.key, signer });
        }
      }
      b.readyAt = undefined;
      this.evaluate(cs, b);
    }
  }

  /** Re-sends own signatures of batches pending long to the peers whose signature is missing (they were down). */
  antiEntropy(): void {
    const now = Date.now();
    const resendMs = this.p.resendMs;
    const byPeer = new Map<string, SignatureItem[]>();
    for (const cs of this.p.chains.values()) {
      for (const b of cs.batches.values()) {
        if (now - b.lastResend < resendMs || now - b.firstSeen < resendMs) continue;
        if ([...b.open.values()].every((p) => p.inflight)) continue;
        b.lastResend = now;
        for (const peer of this.p.peers.peerAddresses) {
          if (b.sigs.has(peer.toLowerCase())) continue;
          let arr = byPeer.get(peer);
          if (!arr) byPeer.set(peer, (arr = []));
          arr.push(signatureItem(cs.id, b));
        }
      }
      this.p.scheduleFlush(cs, 0);
    }
    for (const [peer, items] of byPeer) this.p.peers.enqueue(items, [peer]);
  }

  updateGauges(): void {
    for (const cs of this.p.chains.values()) {
      let ready = 0;
      for (const b of cs.batches.values()) if (b.readyAt !== undefined) ready += b.open.size;
      this.p.metrics.pending.set({ dst: cs.cfg.name }, cs.pending.size);
      this.p.metrics.ready.set({ dst: cs.cfg.name }, ready);
    }
  }

  private addSignature(cs: ChainState, b: PendingBatch, signer: string, digest: string, sig: string): boolean {
    if (digest !== b.digest) {
      // The peer signed another batch under this key (other content, or a forged message): not ours to count.
      this.p.metrics.signaturesRejected.inc({ reason: "digest_mismatch" });
      return false;
    }
    if (b.bad.has(signer) || b.sigs.get(signer) === sig) return false;
    b.sigs.set(signer, sig);
    return this.evaluate(cs, b);
  }

  private equivocation(key: string, signed: string, digest: string): void {
    const e = new EquivocationError(key, signed, digest);
    this.p.metrics.signaturesRejected.inc({ reason: "equivocation" });
    this.p.log("error", e.shortMessage, { key });
  }

  /** Keeps an execution seen on `cs` until final; `p`, if this member holds it pending, leaves pending for its batch's settling set. */
  private seen(cs: ChainState, e: StoredExecution, p: PendingMessage | undefined): void {
    const known = cs.executed.get(e.key);
    // Seen again (a receipt and the event): the later block is the one that must grow deep.
    if (known) known.block = Math.max(known.block, e.block);
    if (p && (!known || !known.p)) {
      cs.pending.delete(p.key);
      p.batch.open.delete(p.leaf);
      p.batch.settling.set(p.leaf, p);
      this.p.metrics.relayLatency.observe({ dst: cs.cfg.name }, (Date.now() - p.firstSeen) / 1000);
      if (known) known.p = p;
    }
    if (!known) cs.executed.set(e.key, fromStoredExecution(e, p));
  }
}

/** A persisted execution back in memory (the key is `<dst>/<src>/<nonce>`, see `messageKey`). */
function fromStoredExecution(e: StoredExecution, p: PendingMessage | undefined): SeenExecution {
  const [, src, nonce] = e.key.split("/");
  return { key: e.key, srcChainId: BigInt(src!), nonce: BigInt(nonce!), digest: e.digest, block: e.block, at: e.at, p };
}

/** A stored batch as pending, with only this member's signature (peers re-send theirs). */
function restoreBatch(sb: StoredBatch, me: string): PendingBatch {
  const now = Date.now();
  return {
    key: sb.key,
    batch: { srcChainId: BigInt(sb.srcChainId), firstNonce: BigInt(sb.firstNonce), lastNonce: BigInt(sb.lastNonce), root: sb.root },
    digest: sb.digest,
    tree: new MerkleTree(sb.leaves),
    keys: sb.keys,
    open: new Map(),
    settling: new Map(),
    firstSeen: sb.firstSeen,
    own: sb.signature,
    sigs: new Map([[me, sb.signature]]),
    bad: new Set(),
    readyAt: undefined,
    lastResend: now,
  };
}
