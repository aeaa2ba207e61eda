// One poll of one meter, the body of every polling job: read the unacknowledged log, ingest it,
// and only after the ingest committed, acknowledge it to the meter. Then read the instantaneous
// values when asked (real-time aggregates).
import type { MeterAdapter } from "./adapter";
import type { Clock } from "@sidegrid/pi-meter";
import type { IngestOutcome, IngestPipeline } from "./ingest";

export interface PollMeterParameters {
  adapter: MeterAdapter;
  pipeline: IngestPipeline;
  clock: Clock;
  /** Records per log read. */
  maxRecords?: number;
  /** Keep reading while the meter has more than one page (default 4 pages per poll). */
  maxPages?: number;
  /** Also read ET160 for the real-time totals. */
  instantaneous?: boolean;
  /**
   * The highest sequence the meter may forget, given what was ingested (`ackSeq`). Sharded
   * gateways pass "what is anchored": a gateway that dies with records in its outbox leaves them
   * at the meter for the next owner. Default: everything ingested.
   */
  ackBound?: (meterId: number, ackSeq: number, ackedSeq: number) => Promise<number>;
}

export interface PollMeterReturnType {
  pages: number;
  outcome: IngestOutcome;
  /**
   * When the meter's next record is due, on the gateway's clock (its clock offset from the meter's
   * taken into account), if the poll left nothing behind; absent when unknown (push meters, a backlog).
   */
  nextDueMs?: number;
  /** The meter's logging interval (its own time), when the log read said. */
  intervalMs?: number;
  /** False when the poll stopped at its page limit with records still at the meter. */
  caughtUp: boolean;
  /** Records were ingested but not acknowledged (waiting to be anchored, `ackBound`): poll again soon. */
  held: boolean;
  /**
   * Stopped at the page limit with records still at the meter: the next poll reads more. (Not so for
   * a meter whose records wait for its owner's decision: polling it sooner reads nothing new.)
   */
  backlog: boolean;
}

/**
 * Polls one meter once. Throws the adapter's typed error after recording it on the pipeline.
 * @example
 * const { outcome } = await pollMeter({ adapter, pipeline, clock });
 */
export async function pollMeter(params: PollMeterParameters): Promise<PollMeterReturnType> {
  const { adapter, pipeline, clock } = params;
  const meterId = adapter.identity.meterId;
  const total: IngestOutcome = { ackSeq: 0, stored: 0, notPermitted: 0, rejected: 0, duplicates: 0, alerts: [] };
  let pages = 0;
  let nextDueMs: number | undefined;
  let intervalMs: number | undefined;
  let caughtUpAll = true;
  let held = false;
  try {
    await adapter.connect();
    const maxPages = params.maxPages ?? 4;
    for (;;) {
      const before = clock.now();
      const result = await adapter.read({ kind: "log", ...(params.maxRecords !== undefined ? { maxRecords: params.maxRecords } : {}) });
      const after = clock.now();
      const outcome = await pipeline.processLog(meterId, result, { before, after }, adapter.state());
      pages++;
      total.ackSeq = outcome.ackSeq;
      total.stored += outcome.stored;
      total.notPermitted += outcome.notPermitted;
      total.rejected += outcome.rejected;
      total.duplicates += outcome.duplicates;
      if (outcome.unowned) total.unowned = (total.unowned ?? 0) + outcome.unowned;
      if (outcome.undecided) total.undecided = (total.undecided ?? 0) + outcome.undecided;
      total.alerts.push(...outcome.alerts);
      // The outbox holds everything up to ackSeq: now the meter may forget it.
      const ackTo = params.ackBound ? await params.ackBound(meterId, outcome.ackSeq, result.ackedSeq) : outcome.ackSeq;
      if (ackTo > result.ackedSeq) await adapter.acknowledge(ackTo);
      if (result.intervalMs > 0) intervalMs = result.intervalMs;
      const last = result.readings.length ? result.readings[result.readings.length - 1].sequence : result.ackedSeq;
      const caughtUp = result.readings.length === 0 || last >= result.newestSeq;
      caughtUpAll = caughtUp;
      held = ackTo < outcome.ackSeq;
      if (caughtUp && !held && result.intervalMs > 0 && result.meterClockMs > 0) {
        // The record closing the meter's current interval, moved onto our clock.
        const dueOnMeter = (Math.floor(result.meterClockMs / result.intervalMs) + 1) * result.intervalMs;
        nextDueMs = after + (dueOnMeter - result.meterClockMs);
      }
      // Held back (not anchored yet) or left at an unowned or undecided meter: the next page would repeat this one.
      if (caughtUp || pages >= maxPages || held || outcome.unowned || outcome.undecided) break;
    }
    if (params.instantaneous) {
      const inst = await adapter.read({ kind: "instantaneous" });
      pipeline.processInstantaneous(inst.reading);
    }
  } catch (e) {
    await pipeline.recordFailure(meterId, e);
    throw e;
  }
  const backlog = !caughtUpAll && pages >= (params.maxPages ?? 4);
  return { pages, outcome: total, caughtUp: caughtUpAll, held, backlog, ...(nextDueMs !== undefined ? { nextDueMs } : {}), ...(intervalMs !== undefined ? { intervalMs } : {}) };
}
