// Backpressure: when anchoring falls behind, polls of meters that keep their unacknowledged log are
// deferred instead of filling the outbox. A polled meter loses nothing by waiting (its records stay
// in its log until acknowledged); the outbox stays near `maxPending` records and its oldest record
// near `maxAgeMs`, so the reading-to-anchored latency stays bounded whatever the fleet offers.
// Push meters cannot wait and are never deferred. A meter is deferred at most until it has logged
// `holdRecords` records since its last poll, well inside the smallest log our meters keep (192),
// so backpressure never costs a reading at the meter, and no longer than `maxDeferMs` of real time,
// so a dead meter is still noticed while anchoring is behind.

export interface BackpressureOptions {
  /** Engage at this many records waiting to be anchored (default 20,000). */
  maxPending?: number;
  /** Engage when the oldest waiting record was read this long ago (real ms, default 1,500). */
  maxAgeMs?: number;
  /** Defer a meter no longer than it takes to log this many records (default 96). */
  holdRecords?: number;
  /** Nor longer than this (real ms, default 60 s): a deferred meter is still looked at (liveness). */
  maxDeferMs?: number;
  /** Release when both figures are below this fraction of their limits (default 0.5). */
  releaseFraction?: number;
}

export interface OutboxLevel {
  readonly pendingCount: number;
  /** Real time the oldest pending record was read, when known. */
  oldestPendingReadAt(): number | undefined;
}

/** What the gateway remembers of a meter's last poll. */
export interface MeterPace {
  /** Meter-clock time of the last poll (the gateway's Clock). */
  polledAtClockMs: number;
  /** Real time of the last poll. */
  polledAtMs: number;
  /** The meter's logging interval in its own time, when the poll learned it. */
  intervalMs?: number;
  /** False when the last poll left records behind (a page limit): such a meter is never deferred. */
  caughtUp?: boolean;
  /** The last poll stopped at its page limit with records still at the meter. */
  backlog?: boolean;
}

export interface BackpressureStats {
  engaged: boolean;
  /** Times it engaged since start. */
  engagements: number;
  /** Scheduled polls deferred since start. */
  deferred: number;
  /** Polls let through although engaged: the meter had held `holdRecords` records, waited `maxDeferMs`, or still had a backlog. */
  overdue: number;
}

/**
 * Decides, poll by poll, whether a meter's scheduled poll waits.
 * @example
 * const bp = new Backpressure(store, { maxPending: 20_000, maxAgeMs: 1500 });
 * if (bp.shouldDefer(pace.get(meterId), clock.now())) return { skipped: "backpressure" };
 */
export class Backpressure {
  readonly stats: BackpressureStats = { engaged: false, engagements: 0, deferred: 0, overdue: 0 };
  private readonly maxPending: number;
  private readonly maxAgeMs: number;
  private readonly holdRecords: number;
  private readonly maxDeferMs: number;
  private readonly release: number;

  constructor(
    private readonly outbox: OutboxLevel,
    options: BackpressureOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxPending = options.maxPending ?? 20_000;
    this.maxAgeMs = options.maxAgeMs ?? 1500;
    this.holdRecords = options.holdRecords ?? 96;
    this.maxDeferMs = options.maxDeferMs ?? 60_000;
    this.release = options.releaseFraction ?? 0.5;
  }

  /** Re-evaluates the outbox; engaged above either limit, released once both are well below (hysteresis). */
  update(): boolean {
    const pending = this.outbox.pendingCount;
    const oldest = this.outbox.oldestPendingReadAt();
    const age = oldest === undefined || pending === 0 ? 0 : this.now() - oldest;
    if (!this.stats.engaged) {
      if (pending >= this.maxPending || age >= this.maxAgeMs) {
        this.stats.engaged = true;
        this.stats.engagements++;
      }
    } else if (pending < this.maxPending * this.release && age < this.maxAgeMs * this.release) {
      this.stats.engaged = false;
    }
    return this.stats.engaged;
  }

  /**
   * True when this scheduled poll should wait: engaged, and the meter can hold more (its interval is
   * known and it has logged fewer than `holdRecords` records since its last poll).
   */
  shouldDefer(pace: MeterPace | undefined, clockNowMs: number): boolean {
    if (!this.update()) return false;
    if (!pace?.intervalMs) return false;
    // Records already waiting at the meter count against its log too: drain those first.
    if (pace.caughtUp === false) {
      this.stats.overdue++;
      return false;
    }
    if (clockNowMs - pace.polledAtClockMs >= this.holdRecords * pace.intervalMs || this.now() - pace.polledAtMs >= this.maxDeferMs) {
      this.stats.overdue++;
      return false;
    }
    this.stats.deferred++;
    return true;
  }
}
