// Publishes the gateway's pending epoch-key publications on BlockSEC's KeyCustody. The anchorer
// calls it before every round, so a record never reaches the chain before its key: a grantee or
// the consumer can always open what is anchored.
import { ContractRevertError } from "@sidegrid/chain";
import type { KeyCustodyClient, KeyPublication, ResolutionName } from "@sidegrid/blocksec";
import { Resolution as SecResolution } from "@sidegrid/blocksec";
import type { GatewayStore, StoredKeyPublication } from "./store";

const RES_NAMES = Object.keys(SecResolution) as ResolutionName[];

export interface KeyPublisherOptions {
  store: GatewayStore;
  custody: Pick<KeyCustodyClient, "publishKeys" | "contract">;
  onError?: (e: unknown) => void;
}

export interface KeyPublisherStats {
  published: number;
  txs: number;
  gasUsed: bigint;
  alreadyOnChain: number;
  errors: number;
  lastError: string | null;
}

export function toKeyPublication(k: StoredKeyPublication): KeyPublication {
  return { consumer: k.consumer, keyId: k.keyId, resolution: RES_NAMES[k.resolution]!, epochStart: k.epochStart, epochEnd: k.epochEnd, commitment: k.commitment, envelope: k.envelope };
}

/**
 * The pending-keys → KeyCustody step.
 * @example
 * const publisher = new KeyPublisher({ store, custody });
 * await publisher.publishPending();
 */
export class KeyPublisher {
  readonly stats: KeyPublisherStats = { published: 0, txs: 0, gasUsed: 0n, alreadyOnChain: 0, errors: 0, lastError: null };
  private running: Promise<number> | undefined;
  /** After a start or an error, pending keys are first looked up on chain (a tx may have landed). */
  private verify = true;

  constructor(private readonly o: KeyPublisherOptions) {}

  /** Publishes everything pending; concurrent callers share one run. Resolves with keys published. */
  async publishPending(): Promise<number> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.run();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async run(): Promise<number> {
    let pending = await this.o.store.pendingKeys();
    if (pending.length === 0) return 0;
    try {
      if (this.verify) {
        const onChain = await Promise.all(pending.map(async (k) => (await this.o.custody.contract.keyOf(k.consumer, k.keyId)).epochEnd !== 0n));
        const landed = pending.filter((_, i) => onChain[i]);
        if (landed.length) {
          await this.o.store.markKeysPublished(landed, undefined);
          this.stats.alreadyOnChain += landed.length;
        }
        pending = pending.filter((_, i) => !onChain[i]);
        this.verify = false;
      }
      const bySet = new Map<number, StoredKeyPublication[]>();
      for (const k of pending) bySet.set(k.setIndex, [...(bySet.get(k.setIndex) ?? []), k]);
      let n = 0;
      for (const [setIndex, keys] of bySet) {
        const receipts = await this.o.custody.publishKeys(setIndex, keys.map(toKeyPublication));
        for (const r of receipts) {
          this.stats.txs++;
          this.stats.gasUsed += r.gasUsed;
        }
        await this.o.store.markKeysPublished(keys, receipts[receipts.length - 1]?.transactionHash);
        n += keys.length;
      }
      this.stats.published += n;
      return n;
    } catch (e) {
      this.verify = true;
      this.stats.errors++;
      this.stats.lastError = e instanceof ContractRevertError ? `${e.errorName ?? "revert"}: ${e.message}` : ((e as Error)?.message ?? String(e));
      this.o.onError?.(e);
      throw e;
    }
  }
}
