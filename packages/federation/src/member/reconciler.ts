// The reconciler: what this member holds pending may have been executed without its watcher
// seeing it in time (a peer delivered while this member was down, or before it had signed). It
// asks the destination inbox (`areExecuted`, one call per 500 messages) and lets the attester drop
// what is done. The submitter uses the same question before taking over another member's batch.
import { FederationInbox__factory } from "../generated";
import type { ChainState, PendingMessage } from "./state";

const inboxIface = FederationInbox__factory.createInterface();
const CHUNK = 500;
const MAX_PER_ROUND = 2000;

/** Which of `ps` the inbox of `cs` has executed (or consumed as failed), in order. */
export async function executedMask(cs: Pick<ChainState, "rpc" | "cfg">, ps: readonly Pick<PendingMessage, "msg">[]): Promise<boolean[]> {
  const call = inboxIface.encodeFunctionData("areExecuted", [ps.map((p) => p.msg.srcChainId), ps.map((p) => p.msg.nonce)]);
  const ret = (await cs.rpc.send("eth_call", [{ to: cs.cfg.inbox, data: call }, "latest"])) as string;
  return [...(inboxIface.decodeFunctionResult("areExecuted", ret)[0] as boolean[])];
}

export interface ReconcilerParameters {
  chains: ReadonlyMap<bigint, ChainState>;
  /** Messages pending longer than this are checked. */
  olderThanMs: number;
  /** How often a round runs (`start`). */
  intervalMs: number;
  /** Persists and drops executed messages (the attester's `markDone`). */
  markDone(cs: ChainState, ps: readonly PendingMessage[]): Promise<void>;
}

/**
 * Checks old pending messages against their destination inbox.
 *
 * @example
 * const r = new Reconciler({ chains, olderThanMs: 4000, intervalMs: 4000, markDone: (cs, ps) => attester.markDone(cs, ps) });
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
          const mask = await executedMask(cs, chunk);
          const done = chunk.filter((_, j) => mask[j]);
          await this.p.markDone(cs, done);
          found += done.length;
        } catch {
          /* next round */
        }
      }
    }
    return found;
  }
}
