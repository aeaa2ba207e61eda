// Anchors can be undone by the chain: a reorg, a node restarted from an older state (anvil after
// kill -9 reloads its last state dump, seconds behind), an evm_revert. Records marked anchored in
// a block that is no longer canonical would then be lost for good. The watch remembers the blocks
// of this gateway's recent anchor transactions and, once per tick, compares the newest one's hash
// with the chain's block at that height: one call while nothing happened. When they differ (or
// the chain is now lower), it walks back to the newest block that still matches; everything
// anchored after it goes back to the outbox (the sender's nonce re-read first), and the anchorer sends
// the records again (the ledger skips any that are on chain after all). Blocks deeper than
// `depth` are taken as final: a rollback below that is not repaired (BFT chains such as QBFT do
// not reorg at all; a restarted anvil loses at most its state-dump interval).
import type { GatewayStore } from "./store";

export interface AnchorWatchLedger {
  blockNumber(): Promise<number>;
  /** The canonical block's hash at `n`, or null when the chain has no such block (it is lower now). */
  blockHash(n: number): Promise<string | null>;
  /** Re-reads the sending account's nonce (a rollback rewound it). */
  resync(): Promise<void>;
}

interface Tracked {
  blockNumber: number;
  blockHash: string;
  txHash: string;
  items: { meterId: number; sequence: number }[];
}

export interface AnchorWatchStats {
  checks: number;
  rollbacks: number;
  /** Records put back into the outbox because their anchor's block left the chain. */
  reanchored: number;
}

/**
 * The watch over recent anchors.
 * @example
 * const watch = new AnchorWatch(store, ledger, { depth: 64 });
 * watch.track(receiptBlock, receiptHash, txHash, items); ... await watch.check();
 */
export class AnchorWatch {
  private readonly recent: Tracked[] = [];
  readonly stats: AnchorWatchStats = { checks: 0, rollbacks: 0, reanchored: 0 };
  private readonly depth: number;
  private suspect = false;

  constructor(
    private readonly store: GatewayStore,
    private readonly ledger: AnchorWatchLedger,
    o: { depth?: number; onRollback?: (fromBlock: number, records: number) => void } = {},
  ) {
    this.depth = o.depth ?? 64;
    this.onRollback = o.onRollback;
  }

  private readonly onRollback: ((fromBlock: number, records: number) => void) | undefined;

  track(blockNumber: number, blockHash: string, txHash: string, items: { meterId: number; sequence: number }[]): void {
    if (items.length === 0) return;
    const t: Tracked = { blockNumber, blockHash: blockHash.toLowerCase(), txHash, items };
    // Kept in block order (rounds in flight may finish out of order).
    let i = this.recent.length;
    while (i > 0 && this.recent[i - 1].blockNumber > blockNumber) i--;
    this.recent.splice(i, 0, t);
  }

  get tracked(): number {
    return this.recent.length;
  }

  /**
   * One look at the chain; returns how many records went back to the outbox. A block the node
   * says nothing about at or below its head is no evidence (a loaded anvil answers null now and
   * then), and a mismatch is acted on only when the next look sees it too.
   */
  async check(): Promise<number> {
    if (this.recent.length === 0) return 0;
    this.stats.checks++;
    const newest = this.recent[this.recent.length - 1];
    const verdict = await this.compare(newest);
    if (verdict !== "gone") {
      this.suspect = false;
      if (verdict === "same") {
        const head = await this.ledger.blockNumber();
        while (this.recent.length && this.recent[0].blockNumber < head - this.depth) this.recent.shift();
      }
      return 0;
    }
    if (!this.suspect) {
      this.suspect = true;
      return 0;
    }
    this.suspect = false;
    // Walk back to the newest tracked block the chain still has.
    let keep = this.recent.length - 1;
    for (; keep >= 0; keep--) {
      const v = await this.compare(this.recent[keep]);
      if (v === "unknown") return 0;
      if (v === "same") break;
    }
    const orphaned = this.recent.splice(keep + 1);
    // The nonce first: a round the anchorer starts on the records put back must not use the rewound
    // chain's old count (its transaction would wait behind a nonce gap until the receipt times out).
    await this.ledger.resync();
    let n = 0;
    for (const t of orphaned) n += await this.store.unanchor(t.items, t.txHash);
    this.stats.rollbacks++;
    this.stats.reanchored += n;
    this.onRollback?.(orphaned[0].blockNumber, n);
    return n;
  }

  /** "same": the block is still there; "gone": another block, or the chain is lower now; "unknown": the node said nothing. */
  private async compare(t: Tracked): Promise<"same" | "gone" | "unknown"> {
    const h = await this.ledger.blockHash(t.blockNumber);
    if (h !== null) return h.toLowerCase() === t.blockHash ? "same" : "gone";
    return (await this.ledger.blockNumber()) < t.blockNumber ? "gone" : "unknown";
  }
}
