// Publishes the gateway's pending epoch-key publications on BlockSEC's KeyCustody. The anchorer
// calls it before every round, so a record never reaches the chain before its key: a grantee or
// the consumer can always open what is anchored.
import { ContractRevertError } from "@sidegrid/chain";
import type { KeyCustodyClient, KeyPublication, ResolutionName } from "@sidegrid/blocksec";
import type { TxReceipt } from "@sidegrid/chain";
import { Resolution as SecResolution } from "@sidegrid/blocksec";
import type { GatewayStore, StoredKeyPublication } from "./store";

const RES_NAMES = Object.keys(SecResolution) as ResolutionName[];

export interface KeyPublisherOptions {
  store: GatewayStore;
  custody: Pick<KeyCustodyClient, "sendPublishKeys" | "contract">;
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
  private sending: Promise<void> | undefined;
  /** Publications sent and not yet mined ("consumer:keyId"). */
  private readonly inFlight = new Set<string>();
  /** Publications this process saw mined (a guard against a stale pending list). */
  private readonly published = new Set<string>();
  /** Publications looked up on chain and not there (cleared by a failure). */
  private readonly checked = new Set<string>();
  private readonly startedAt = Date.now();
  /** After an error, pending keys are first looked up on chain (a transaction may have landed). */
  private verify = false;

  constructor(private readonly o: KeyPublisherOptions) {}

  /** Publishes everything pending and waits until it is mined. Resolves with the keys published. */
  async publishPending(): Promise<number> {
    return (await this.sendPending()).done;
  }

  /**
   * Sends the pending publications and resolves once they are sent (they hold the sender's next
   * nonces, so an anchor sent afterwards lands after them); `done` settles when they are mined
   * and marked. Sending is one caller at a time; publications already on their way are not sent
   * again, and concurrent anchoring rounds do not wait for each other's receipts.
   */
  async sendPending(): Promise<{ done: Promise<number> }> {
    while (this.sending) await this.sending;
    let release!: () => void;
    this.sending = new Promise<void>((r) => (release = r));
    try {
      const sent = await this.send();
      sent.done.catch(() => undefined);
      return sent;
    } catch (e) {
      this.fail(e);
      throw e;
    } finally {
      this.sending = undefined;
      release();
    }
  }

  private fail(e: unknown): void {
    this.verify = true;
    this.checked.clear();
    this.stats.errors++;
    this.stats.lastError = e instanceof ContractRevertError ? `${e.errorName ?? "revert"}: ${e.message}` : ((e as Error)?.message ?? String(e));
    this.o.onError?.(e);
  }

  private async send(): Promise<{ done: Promise<number> }> {
    const id = (k: StoredKeyPublication) => `${k.consumer.toLowerCase()}:${k.keyId}`;
    // A list read while a receipt was being recorded may still show its keys pending: skip those too.
    let pending = (await this.o.store.pendingKeys()).filter((k) => !this.inFlight.has(id(k)) && !this.published.has(id(k)));
    if (pending.length === 0) return { done: Promise.resolve(0) };
    // A transaction may have landed unseen for keys made before this start, or after a failure:
    // look those up before sending again (a few at a time: the node serves the gateway too).
    const suspect = pending.filter((k) => this.verify || k.createdAt < this.startedAt);
    const unchecked = suspect.filter((k) => !this.checked.has(id(k)));
    if (unchecked.length > 0) {
      const landed: StoredKeyPublication[] = [];
      for (let i = 0; i < unchecked.length; i += 16) {
        const part = unchecked.slice(i, i + 16);
        const onChain = await Promise.all(part.map(async (k) => (await this.o.custody.contract.keyOf(k.consumer, k.keyId)).epochEnd !== 0n));
        part.forEach((k, j) => (onChain[j] ? landed.push(k) : this.checked.add(id(k))));
      }
      if (landed.length) {
        await this.o.store.markKeysPublished(landed, undefined);
        for (const k of landed) this.published.add(id(k));
        this.stats.alreadyOnChain += landed.length;
        const gone = new Set(landed.map(id));
        pending = pending.filter((k) => !gone.has(id(k)));
      }
      this.verify = false;
      if (pending.length === 0) return { done: Promise.resolve(0) };
    }
    const bySet = new Map<number, StoredKeyPublication[]>();
    for (const k of pending) bySet.set(k.setIndex, [...(bySet.get(k.setIndex) ?? []), k]);
    const waits: Promise<number>[] = [];
    for (const [setIndex, keys] of bySet) {
      for (const k of keys) this.inFlight.add(id(k));
      let chunks: { keys: readonly KeyPublication[]; receipt: Promise<TxReceipt> }[];
      try {
        ({ chunks } = await this.o.custody.sendPublishKeys(setIndex, keys.map(toKeyPublication)));
      } catch (e) {
        for (const k of keys) this.inFlight.delete(id(k));
        throw e;
      }
      // Each transaction on its own: one that fails leaves only its own keys pending.
      const byId = new Map(keys.map((k) => [id(k), k]));
      for (const c of chunks) {
        const mine = c.keys.map((k) => byId.get(`${k.consumer.toLowerCase()}:${k.keyId}`)!);
        const settle = () => mine.forEach((k) => this.inFlight.delete(id(k)));
        waits.push(
          c.receipt.then(
            async (r) => {
              this.stats.txs++;
              this.stats.gasUsed += r.gasUsed;
              await this.o.store.markKeysPublished(mine, r.transactionHash);
              if (this.published.size > 100_000) this.published.clear();
              for (const k of mine) this.published.add(id(k));
              settle();
              this.stats.published += mine.length;
              return mine.length;
            },
            (e: unknown) => {
              settle();
              this.fail(e);
              throw e;
            },
          ),
        );
      }
    }
    return { done: Promise.all(waits).then((ns) => ns.reduce((a, b) => a + b, 0)) };
  }
}
