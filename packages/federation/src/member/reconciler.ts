// The reconciler: what this member holds pending may have been executed without its watcher
// seeing it in time (a peer delivered while this member was down, or before it had signed). It
// asks the destination inbox (`areExecuted`, one call per 500 messages) and lets the attester mark
// what is executed. It also keeps every execution the member has seen honest until it is final:
// each round it asks again about the executions it holds, hands those a rollback undid back to
// pending (they are delivered again) and lets the attester forget those old and deep enough
// (README "Destination rollbacks"). The submitter uses the same question before taking over
// another member's batch.
import { InboxReplyError } from "../errors";
import { FederationInbox__factory } from "../generated";
import type { FederationMessage } from "../messages";
import type { ChainState, PendingMessage, SeenExecution } from "./state";

const inboxIface = FederationInbox__factory.createInterface();
const CHUNK = 500;
const MAX_PER_ROUND = 2000;
/** Executions re-checked per chain and round (oldest first): 40 calls; the rest wait a round. */
const MAX_RECHECK_PER_ROUND = 20_000;

/** Which of `ps` the inbox of `cs` has executed (or consumed as failed), in order, at the latest block. */
export async function executedMask(cs: Pick<ChainState, "rpc" | "cfg">, ps: readonly { msg: Pick<FederationMessage, "srcChainId" | "nonce"> }[]): Promise<boolean[]> {
  const call = encodeAreExecuted(ps.map((p) => p.msg));
  const ret = (await cs.rpc.send("eth_call", [{ to: cs.cfg.inbox, data: call }, "latest"])) as string;
  return decodeAreExecuted(ret, ps.length);
}

const ARE_EXECUTED = inboxIface.getFunction("areExecuted")!.selector;
const word = (v: bigint | number) => v.toString(16).padStart(64, "0");

/**
 * `areExecuted(srcChainIds, nonces)` calldata, written by hand: the members ask it about every
 * message they hold, tens of thousands a round under load, and ethers' ABI coder spent 15 % of a
 * member's CPU on it.
 * @example
 * encodeAreExecuted([{ srcChainId: 31001n, nonce: 7n }]) // same bytes as inboxIface.encodeFunctionData("areExecuted", [[31001n], [7n]])
 */
export function encodeAreExecuted(ms: readonly Pick<FederationMessage, "srcChainId" | "nonce">[]): string {
  const n = ms.length;
  const parts = [ARE_EXECUTED, word(0x40), word(0x40 + 32 * (n + 1)), word(n)];
  for (const m of ms) parts.push(word(m.srcChainId));
  parts.push(word(n));
  for (const m of ms) parts.push(word(m.nonce));
  return parts.join("");
}

/** The `bool[]` that `areExecuted` returns; a reply of another shape or length is refused, never guessed at. */
export function decodeAreExecuted(ret: string, expected: number): boolean[] {
  const hex = typeof ret === "string" && /^0x([0-9a-fA-F]{64})*$/.test(ret) ? ret.slice(2) : undefined;
  const at = (i: number) => BigInt(`0x${hex!.slice(i * 64, i * 64 + 64)}`);
  if (hex === undefined || hex.length < 128 || at(0) !== 32n || at(1) !== BigInt(expected) || hex.length !== (2 + expected) * 64) {
    throw new InboxReplyError("areExecuted", expected, String(ret).slice(0, 80));
  }
  const out = new Array<boolean>(expected);
  for (let i = 0; i < expected; i++) {
    const w = hex.slice((2 + i) * 64, (3 + i) * 64);
    if (w === ONE) out[i] = true;
    else if (w === ZERO) out[i] = false;
    else throw new InboxReplyError("areExecuted", expected, `word ${i} is not a bool: 0x${w}`);
  }
  return out;
}

const ZERO = word(0);
const ONE = word(1);

/** True when `e` may be forgotten: seen `finalityMs` ago or more and at least the chain's `confirmations` deep. */
export function isFinal(cs: Pick<ChainState, "head" | "cfg">, e: Pick<SeenExecution, "at" | "block">, finalityMs: number, now = Date.now()): boolean {
  return now - e.at >= finalityMs && cs.head - e.block >= cs.cfg.confirmations;
}

export interface ReconcilerParameters {
  chains: ReadonlyMap<bigint, ChainState>;
  /** Messages pending longer than this are checked. */
  olderThanMs: number;
  /** How often a round runs (`start`). */
  intervalMs: number;
  /** How long an execution is kept and re-checked before it is forgotten (with the chain's `confirmations` depth). */
  finalityMs: number;
  /** Records messages found executed at head `block` (the attester's `markExecuted`). */
  markExecuted(cs: ChainState, ps: readonly PendingMessage[], block: number): Promise<void>;
  /** Forgets final executions (the attester's `settle`). */
  settle(cs: ChainState, es: readonly SeenExecution[]): Promise<void>;
  /** Executions a rollback undid: pending again (the attester's `reopen`, and the relayer's nonce re-read). */
  reopen(cs: ChainState, es: readonly SeenExecution[]): Promise<void>;
}

/**
 * Checks old pending messages and unsettled executions against their destination inbox.
 *
 * @example
 * const r = new Reconciler({ chains, olderThanMs: 4000, intervalMs: 4000, finalityMs: 30_000, markExecuted, settle, reopen });
 * r.start();
 * r.stop();
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly p: ReconcilerParameters) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      void this.reconcile()
        .then(() => this.recheck())
        .catch(() => undefined)
        .finally(() => (this.running = false));
    }, this.p.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One round: returns how many messages it found executed. A chain that does not answer is skipped. */
  async reconcile(): Promise<number> {
    const cutoff = Date.now() - this.p.olderThanMs;
    let found = 0;
    for (const cs of this.p.chains.values()) {
      if (!cs.ready) continue;
      const old = [...cs.pending.values()].filter((p) => !p.inflight && p.firstSeen < cutoff).slice(0, MAX_PER_ROUND);
      for (let i = 0; i < old.length; i += CHUNK) {
        const chunk = old.slice(i, i + CHUNK);
        try {
          const head = cs.head;
          const mask = await executedMask(cs, chunk);
          const done = chunk.filter((_, j) => mask[j]);
          await this.p.markExecuted(cs, done, head);
          found += done.length;
        } catch {
          /* next round */
        }
      }
    }
    return found;
  }

  /**
   * Asks again about the executions each chain holds (oldest first): those no longer executed (a
   * rollback) go back to pending, those still executed and final are forgotten. A chain that does
   * not answer keeps them all for the next round.
   */
  async recheck(): Promise<{ settled: number; reopened: number }> {
    let settled = 0;
    let reopened = 0;
    for (const cs of this.p.chains.values()) {
      if (!cs.ready || cs.executed.size === 0) continue;
      const held: SeenExecution[] = [];
      for (const e of cs.executed.values()) {
        held.push(e);
        if (held.length >= MAX_RECHECK_PER_ROUND) break;
      }
      for (let i = 0; i < held.length; i += CHUNK) {
        const chunk = held.slice(i, i + CHUNK);
        try {
          const mask = await executedMask(
            cs,
            chunk.map((e) => ({ msg: e })),
          );
          const now = Date.now();
          const undone = chunk.filter((_, j) => !mask[j]);
          const final = chunk.filter((e, j) => mask[j] && isFinal(cs, e, this.p.finalityMs, now));
          if (undone.length > 0) await this.p.reopen(cs, undone);
          if (final.length > 0) await this.p.settle(cs, final);
          reopened += undone.length;
          settled += final.length;
        } catch {
          /* next round */
        }
      }
    }
    return { settled, reopened };
  }
}
