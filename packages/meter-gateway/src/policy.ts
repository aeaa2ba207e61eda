// Consent as the gateway sees it: BlockSEC's PolicyMirror (BlockPRI's preferences relayed by the
// federation) answers "may utility U store category C of consumer X at resolution R now?", and the
// mirrored registration binds a meter to its consumer and the consumer's X25519 key. Lookups are
// cached and the cache is invalidated by the mirror's events, so a revocation takes effect as
// soon as the relay lands on BlockSEC (plus one event poll).
import { Category, RESOLUTIONS_FINE_TO_COARSE, Resolution } from "./resolution";

export interface MeterBinding {
  /** Consumer wallet address (checksummed). */
  consumer: string;
  /** The consumer's X25519 public key (32 bytes) for payload envelopes. */
  encryptionKey: Uint8Array;
}

export type PolicyChange = { consumers: readonly string[] } | { all: true };

/** Where consent comes from (BlockSEC in production; see `BlockSecPolicySource`). */
export interface PolicySource {
  bindingOfMeter(meterId: number): Promise<MeterBinding | null>;
  isPermitted(consumer: string, utility: string, category: Category, resolution: Resolution): Promise<boolean>;
  /** The version of the consumer's preferences as relayed (0: none has arrived yet). */
  preferencesVersion?(consumer: string): Promise<number>;
  /**
   * The finest permitted consumption resolution and the preferences version, read from one state.
   * Sources that have it are asked this instead of resolution by resolution: separate reads can
   * straddle a preference change and answer a resolution the consumer never granted.
   */
  consentOf?(consumer: string, utility: string): Promise<ConsentSnapshot>;
  /** Calls `onChange` when preferences or registrations change; returns an unsubscribe function. */
  subscribe(onChange: (change: PolicyChange) => void): () => void;
}

/** What one read of the consumer's preferences says about consumption. */
export interface ConsentSnapshot {
  finest: Resolution;
  /** 0: no preferences of hers have arrived yet. */
  preferencesVersion: number;
}

export interface CachedPolicyOptions {
  /** The utility this gateway stores data for. */
  utility: string;
  /** Upper bound on how long a cached answer lives even without events (expiring preferences). Default 30 s. */
  ttlMs?: number;
  now?: () => number;
}

interface Entry<T> {
  value: Promise<T>;
  at: number;
  epoch: number;
}

/**
 * A cache in front of a PolicySource, invalidated per consumer by the source's change events.
 * @example
 * const policy = new CachedPolicy(source, { utility });
 * const res = await policy.storageResolution(consumer); // finest permitted, or NONE
 */
export class CachedPolicy {
  readonly utility: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly bindings = new Map<number, Entry<MeterBinding | null>>();
  private readonly consents = new Map<string, Entry<ConsentSnapshot>>();
  private readonly trades = new Map<string, Entry<boolean>>();
  private readonly consumerEpoch = new Map<string, number>();
  private globalEpoch = 0;
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<(change: PolicyChange) => void>();
  /** Count of invalidations, for metrics and tests. */
  invalidations = 0;

  constructor(
    private readonly source: PolicySource,
    options: CachedPolicyOptions,
  ) {
    this.utility = options.utility;
    this.ttlMs = options.ttlMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.unsubscribe = source.subscribe((c) => this.invalidate(c));
  }

  invalidate(change: PolicyChange): void {
    this.invalidations++;
    if ("all" in change) {
      this.globalEpoch++;
      this.bindings.clear();
      this.consents.clear();
      this.trades.clear();
    } else {
      for (const c of change.consumers) {
        const k = c.toLowerCase();
        this.consumerEpoch.set(k, (this.consumerEpoch.get(k) ?? 0) + 1);
        this.consents.delete(k);
        this.trades.delete(k);
      }
      // A registration change may move a meter between consumers: drop meter bindings too.
      this.bindings.clear();
    }
    for (const l of this.listeners) l(change);
  }

  /** Listen to invalidations (the outbox re-checks pending records of those consumers). */
  onChange(listener: (change: PolicyChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  bindingOfMeter(meterId: number): Promise<MeterBinding | null> {
    const e = this.bindings.get(meterId);
    if (e && e.epoch === this.globalEpoch && this.now() - e.at < this.ttlMs) return e.value;
    const value = this.source.bindingOfMeter(meterId);
    const entry = { value, at: this.now(), epoch: this.globalEpoch };
    this.bindings.set(meterId, entry);
    value.catch(() => this.bindings.get(meterId) === entry && this.bindings.delete(meterId));
    return value;
  }

  /**
   * The finest consumption resolution the consumer lets this utility store now and whether any
   * preferences of hers have arrived, from one read where the source allows it.
   */
  consent(consumer: string): Promise<ConsentSnapshot> {
    return this.cachedPerConsumer(this.consents, consumer, async () => {
      if (this.source.consentOf) return this.source.consentOf(consumer, this.utility);
      // A source without one-read consent: the version first, so preferences landing in between
      // show as decided-and-permitted, never as "decided, nothing permitted".
      const preferencesVersion = this.source.preferencesVersion ? await this.source.preferencesVersion(consumer) : 1;
      for (const r of RESOLUTIONS_FINE_TO_COARSE) {
        if (await this.source.isPermitted(consumer, this.utility, Category.CONSUMPTION, r)) return { finest: r, preferencesVersion };
      }
      return { finest: Resolution.NONE, preferencesVersion };
    });
  }

  /** The finest consumption resolution the consumer lets this utility store now (NONE if none). */
  async storageResolution(consumer: string): Promise<Resolution> {
    return (await this.consent(consumer)).finest;
  }

  /**
   * Whether any preferences of the consumer have reached this chain. Registration and preferences
   * are relayed as separate messages: in between, "nothing permitted" is not yet her choice.
   * A source that cannot tell answers true.
   */
  async decided(consumer: string): Promise<boolean> {
    return (await this.consent(consumer)).preferencesVersion > 0;
  }

  /** Whether storing at `resolution` is permitted now (a finer grant permits coarser storage). */
  async permits(consumer: string, resolution: Resolution): Promise<boolean> {
    if (resolution === Resolution.NONE) return false;
    const finest = await this.storageResolution(consumer);
    return finest !== Resolution.NONE && resolution <= finest;
  }

  /** Whether the consumer lets this utility keep her trade log now (category TRADES). */
  tradesPermitted(consumer: string): Promise<boolean> {
    return this.cachedPerConsumer(this.trades, consumer, () => this.source.isPermitted(consumer, this.utility, Category.TRADES, Resolution.NONE));
  }

  /** Whether an outbox record of `category` at `resolution` may be stored now. */
  permitsRecord(consumer: string, category: Category, resolution: Resolution): Promise<boolean> {
    return category === Category.TRADES ? this.tradesPermitted(consumer) : this.permits(consumer, resolution);
  }

  /**
   * A per-consumer answer, reused until an event about her (or everyone) or `ttlMs`; a failed
   * load is forgotten so the next ask tries again.
   */
  private cachedPerConsumer<T>(map: Map<string, Entry<T>>, consumer: string, load: () => Promise<T>): Promise<T> {
    const k = consumer.toLowerCase();
    const epoch = this.globalEpoch * 1_000_000 + (this.consumerEpoch.get(k) ?? 0);
    const e = map.get(k);
    if (e && e.epoch === epoch && this.now() - e.at < this.ttlMs) return e.value;
    const value = load();
    const entry = { value, at: this.now(), epoch };
    map.set(k, entry);
    value.catch(() => map.get(k) === entry && map.delete(k));
    return value;
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
