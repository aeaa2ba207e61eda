// The ingest pipeline for one poll of one meter:
//   decode (adapter) → authenticate + response sequence (adapter) → tamper checks → consent
//   (PolicyMirror via CachedPolicy) → aggregate to the permitted resolution → encrypt to the
//   consumer → one atomic LevelDB batch (outbox + meter state + alerts) → then the meter is
//   acknowledged. Readings without consent feed only the real-time grid totals.
// Idempotent by (meter, sequence): a reading at or below the meter's processed high-water mark is
// a re-delivery when its content hash matches what was processed, and a replay otherwise.
import { createHash } from "node:crypto";
import type { LogReadResult, NormalizedReading } from "./adapter";
import type { Clock } from "@sidegrid/pi-meter";
import { MeterAuthenticationError, MeterConnectionError, MeterProtocolError, MeterRejectedError, MeterReplayError, MeterTimeoutError } from "./errors";
import type { GatewayMetrics } from "./metrics";
import { recordLeafFast } from "./packing";
import type { EpochKeys } from "./epochKeys";
import { CONTENT_AGGREGATE, CONTENT_RAW_RECORD, compactRawRecord, encodeAggregate, newDataKey, sealReadingPayload, sealReadingPayloadV2, type DataKey, type PayloadContext } from "./payload";
import type { CachedPolicy, MeterBinding } from "./policy";
import type { GridAggregator } from "./realtime";
import { Category, Resolution, periodOf, resolutionOfInterval } from "./resolution";
import { keys, newMeterState, type Alert, type AlertKind, type GatewayStore, type MeterState, type OpenAggregate, type OutboxRecord, type StoredKeyPublication } from "./store";

/** Energy and integrated power may differ by register rounding (1 Wh each end) and power rounding. */
const ENERGY_POWER_ABS_WH = 5;
const ENERGY_POWER_REL = 0.05;

export interface IngestPipelineOptions {
  store: GatewayStore;
  policy: CachedPolicy;
  /** The (simulated) time meters are expected to keep. */
  clock: Clock;
  grid: GridAggregator;
  metrics?: GatewayMetrics;
  /** Meter clock further than this from the gateway's clock raises clock-drift (ms, default 300 000). */
  driftThresholdMs?: number;
  /** Consecutive failed polls before a meter is reported silent (default 3). */
  silentAfter?: number;
  /**
   * Epoch keys in federation custody (payload v2). Without them the gateway writes v1 payloads,
   * sealed to the consumer alone (no grantee can ever read them).
   */
  epochKeys?: EpochKeys;
  /**
   * How long a registered household's records wait at her meter, unacknowledged, while none of her
   * preferences has arrived (they are relayed after the registration; default 300 000 ms). After
   * that, no preferences means nothing permitted.
   */
  holdUndecidedMs?: number;
  /** v1 only: records encrypted under one data key before a fresh one is made (default 96). */
  dataKeyMaxUses?: number;
  /** Real-time age after which a data key is replaced (default 1 h). */
  dataKeyMaxAgeMs?: number;
  /**
   * Meters are shared with other gateways (a sharded fleet): a meter whose acknowledged position
   * is past ours was read by another gateway meanwhile, which is no gap.
   */
  sharedMeters?: boolean;
  /** Called with every new outbox record count (wakes the anchorer). */
  onEnqueued?: (n: number) => void;
  /** Called with every alert raised. */
  onAlert?: (a: Alert) => void;
}

export interface IngestOutcome {
  /** Highest sequence processed: acknowledge this to the meter. */
  ackSeq: number;
  stored: number;
  notPermitted: number;
  rejected: number;
  duplicates: number;
  alerts: Alert[];
  /** Records left at a meter nobody has registered (not processed, not acknowledged): its owner decides once she registers. */
  unowned?: number;
  /** Records left at a registered meter whose household's preferences have not arrived yet (see `holdUndecidedMs`). */
  undecided?: number;
}

const RECENT = 128;
const ZERO = { importWh: 0, exportWh: 0, reactiveImportVarh: 0, reactiveExportVarh: 0 };

function contentHash(raw: Uint8Array): string {
  return createHash("sha256").update(raw).digest("hex").slice(0, 16);
}

/**
 * Turns adapter read results into stored, encrypted outbox records and alerts.
 * @example
 * const outcome = await pipeline.processLog(meterId, result, { before, after }, adapter.state());
 * await adapter.acknowledge(outcome.ackSeq);
 */
export class IngestPipeline {
  private readonly states = new Map<number, MeterState>();
  private readonly dataKeys = new Map<string, DataKey>();
  private readonly driftMs: number;
  private readonly silentAfter: number;
  private readonly keyUses: number;
  private readonly keyAge: number;
  private readonly holdUndecidedMs: number;

  constructor(private readonly o: IngestPipelineOptions) {
    this.driftMs = o.driftThresholdMs ?? 300_000;
    this.silentAfter = o.silentAfter ?? 3;
    this.keyUses = o.dataKeyMaxUses ?? 96;
    this.keyAge = o.dataKeyMaxAgeMs ?? 3_600_000;
    this.holdUndecidedMs = o.holdUndecidedMs ?? 300_000;
  }

  async state(meterId: number): Promise<MeterState> {
    let s = this.states.get(meterId);
    if (!s) {
      s = (await this.o.store.meterState(meterId)) ?? newMeterState(meterId);
      this.states.set(meterId, s);
    }
    return s;
  }

  /** Cached states (operator API). */
  knownStates(): MeterState[] {
    return [...this.states.values()];
  }

  /**
   * Processes one log read. `window` is the gateway clock just before the request and just after
   * the answer, so network latency is never mistaken for clock drift.
   */
  async processLog(meterId: number, result: LogReadResult, window: { before: number; after: number }, adapterState?: Record<string, unknown>): Promise<IngestOutcome> {
    const readAt = Date.now();
    const prevState = await this.state(meterId);
    // Work on a copy: if the commit fails, the in-memory state must stay what is on disk.
    const st: MeterState = structuredClone(prevState);
    const alerts: Alert[] = [];
    const records: OutboxRecord[] = [];
    const newKeys: StoredKeyPublication[] = [];
    const alert = (kind: AlertKind, message: string, details: Record<string, unknown>, severity: Alert["severity"] = "critical") => {
      alerts.push(this.o.store.newAlert(meterId, kind, message, details, severity));
    };
    const out = { stored: 0, notPermitted: 0, rejected: 0, duplicates: 0 };
    st.counters.polls++;
    st.lastPollAt = readAt;
    st.lastOkAt = readAt;
    st.consecutiveFailures = 0;
    st.lastError = null;
    if (st.flags.silent) st.flags.silent = false;

    // Clock drift of the meter against the gateway's clock, latency excluded.
    const m = result.meterClockMs;
    const drift = m < window.before - this.driftMs ? m - window.before : m > window.after + this.driftMs ? m - window.after : 0;
    if (drift !== 0 && !st.flags.drifting) alert("clock-drift", `meter clock is ${Math.round(drift / 1000)} s off`, { driftMs: drift, meterClockMs: m }, "warning");
    st.flags.drifting = drift !== 0;

    // First contact: the meter's acknowledged position is the baseline for gap detection.
    if ((st.lastSeq === 0 || this.o.sharedMeters) && result.ackedSeq > st.lastSeq) st.lastSeq = result.ackedSeq;

    let binding: MeterBinding | null = null;
    let resolution: Resolution = Resolution.NONE;
    let decided = true;
    if (result.readings.length > 0) {
      binding = await this.o.policy.bindingOfMeter(meterId);
      if (binding) {
        // One read of her preferences: the resolution and whether she has decided come from the same state.
        const consent = await this.o.policy.consent(binding.consumer);
        resolution = consent.finest;
        decided = consent.preferencesVersion > 0;
      }
    }
    // Registered, but her preferences are still on their way (a separate relayed message): wait a while.
    let undecided = false;
    if (binding && resolution === Resolution.NONE && !decided) {
      st.undecidedSince ??= readAt;
      undecided = readAt - st.undecidedSince < this.holdUndecidedMs;
    } else if (result.readings.length > 0) delete st.undecidedSince; // decided, or no household (a new one gets her own wait)
    if (result.readings.length > 0 && (!binding || undecided)) {
      // Nobody has registered this meter (or its household has not decided yet): its records stay in
      // its own log, unacknowledged, until her preferences decide (a poll must not make that choice).
      await this.o.store.commitIngest({ state: st, records: [], alerts, keys: [], ...(adapterState ? { adapterState } : {}) });
      this.states.set(meterId, st);
      const left = result.readings.length;
      return { ackSeq: Math.max(result.ackedSeq, 0), stored: 0, notPermitted: 0, rejected: 0, duplicates: 0, alerts, ...(binding ? { undecided: left } : { unowned: left }) };
    }
    const recent = new Map(st.recent);

    for (const r of result.readings) {
      const hash = contentHash(r.raw);
      if (r.meterId !== meterId) {
        alert("wrong-meter", `record of meter ${r.meterId} in meter ${meterId}'s log`, { sequence: r.sequence, recordMeterId: r.meterId });
        out.rejected++;
        continue;
      }
      if (r.sequence <= result.ackedSeq) {
        alert("replay", `record ${r.sequence} was already acknowledged (${result.ackedSeq})`, { sequence: r.sequence, ackedSeq: result.ackedSeq, hash });
        out.rejected++;
        continue;
      }
      if (r.sequence <= st.lastSeq) {
        const known = recent.get(r.sequence);
        if (known === hash) {
          out.duplicates++; // re-delivered after a crash before the acknowledgement
          continue;
        }
        alert("replay", `record ${r.sequence} repeats a processed sequence number with ${known ? "different" : "unknown"} content`, { sequence: r.sequence, lastSeq: st.lastSeq, hash, knownHash: known ?? null });
        out.rejected++;
        continue;
      }
      if (r.sequence > st.lastSeq + 1 && st.lastSeq > 0) {
        alert("gap", `sequence jumps from ${st.lastSeq} to ${r.sequence}`, { from: st.lastSeq + 1, to: r.sequence - 1, missing: r.sequence - st.lastSeq - 1 }, "warning");
      }
      st.lastSeq = r.sequence;
      recent.set(r.sequence, hash);

      const prev = st.lastAccepted;
      if (prev) {
        const back = backwards(prev, r);
        if (back) {
          alert("register-backwards", `${back.register} went from ${back.previous} to ${back.value}`, { sequence: r.sequence, ...back });
          out.rejected++;
          continue;
        }
        if (r.clockMs <= prev.clockMs) {
          alert("clock-drift", `record ${r.sequence} is stamped ${r.clockMs}, not after the previous ${prev.clockMs}`, { sequence: r.sequence, clockMs: r.clockMs, previousClockMs: prev.clockMs });
          out.rejected++;
          continue;
        }
      }
      // Tamper check: the energy registers' change over one interval must match the mean active
      // power the meter measured over it (a bypassed or slowed register disagrees with its own P).
      // Consecutive records cover one nominal interval (not the clock span: a drifting clock is its own alert).
      if (prev && r.sequence === prev.seq + 1) {
        const spanMs = r.intervalMs || result.intervalMs;
        const energyWh = r.activeEnergyImportWh - prev.importWh - (r.activeEnergyExportWh - prev.exportWh);
        const powerWh = (r.activePowerW * spanMs) / 3_600_000;
        if (spanMs > 0 && Math.abs(energyWh - powerWh) > Math.max(ENERGY_POWER_ABS_WH, ENERGY_POWER_REL * Math.abs(powerWh))) {
          alert("energy-power-mismatch", `record ${r.sequence}: registers moved ${energyWh} Wh, mean power ${r.activePowerW} W over ${Math.round(spanMs / 60_000)} min is ${Math.round(powerWh)} Wh`, {
            sequence: r.sequence,
            energyWh,
            powerWh: Math.round(powerWh * 10) / 10,
            activePowerW: r.activePowerW,
            spanMs,
          });
        }
      }
      st.lastAccepted = {
        seq: r.sequence,
        clockMs: r.clockMs,
        importWh: r.activeEnergyImportWh,
        exportWh: r.activeEnergyExportWh,
        reactiveImportVarh: r.reactiveEnergyImportVarh,
        reactiveExportVarh: r.reactiveEnergyExportVarh,
      };
      st.counters.accepted++;
      const intervalMs = r.intervalMs || result.intervalMs;
      if (prev) this.o.grid.addInterval(r.clockMs - intervalMs, intervalMs, r.activeEnergyImportWh - prev.importWh, r.activeEnergyExportWh - prev.exportWh);

      if (!binding || resolution === Resolution.NONE) {
        // Not permitted for storage: real-time totals only. An open aggregate dies with consent.
        st.agg = null;
        out.notPermitted++;
        continue;
      }
      const rawRes = resolutionOfInterval(intervalMs);
      if (rawRes <= resolution) {
        // The meter's own interval is as coarse as (or coarser than) permitted: store the record itself.
        await this.flushAggregate(st, binding, resolution, records, readAt, newKeys);
        records.push(await this.rawRecord(binding, r, intervalMs, rawRes, readAt, newKeys));
        out.stored++;
        continue;
      }
      const start = r.clockMs - intervalMs;
      const period = periodOf(resolution, start);
      if (st.agg && (st.agg.resolution !== resolution || st.agg.periodStart !== period.start || st.agg.consumer !== binding.consumer)) {
        await this.flushAggregate(st, binding, resolution, records, readAt, newKeys);
      }
      if (!st.agg) {
        st.agg = {
          consumer: binding.consumer,
          resolution,
          periodStart: period.start,
          periodEnd: period.end,
          firstSeq: r.sequence,
          lastSeq: r.sequence,
          count: 0,
          start: prev ? { importWh: prev.importWh, exportWh: prev.exportWh, reactiveImportVarh: prev.reactiveImportVarh, reactiveExportVarh: prev.reactiveExportVarh } : { ...registersOf(r) },
          end: { ...ZERO },
          peakPowerW: -Infinity,
          firstReadAt: readAt,
        };
      }
      const a = st.agg;
      a.count++;
      a.lastSeq = r.sequence;
      a.end = registersOf(r);
      a.peakPowerW = Math.max(a.peakPowerW, r.activePowerW);
      out.stored++;
      if (r.clockMs >= a.periodEnd) await this.flushAggregate(st, binding, resolution, records, readAt, newKeys);
    }
    st.recent = [...recent.entries()].sort((x, y) => x[0] - y[0]).slice(-RECENT);
    st.counters.rejected += out.rejected;
    st.counters.duplicates += out.duplicates;
    st.counters.notPermitted += out.notPermitted;
    st.counters.stored += records.length;

    try {
      await this.o.store.commitIngest({ state: st, records, alerts, keys: newKeys, ...(adapterState ? { adapterState } : {}) });
    } catch (e) {
      // Keys whose publication was not written must not seal anything else.
      this.o.epochKeys?.discard(newKeys.map((k) => k.keyId));
      throw e;
    }
    this.states.set(meterId, st);
    this.account(alerts, out, records.length);
    return { ackSeq: st.lastSeq, ...out, alerts };
  }

  /** Records a failed poll: authentication, replay and protocol failures alert at once, silence after a few. */
  async recordFailure(meterId: number, error: unknown): Promise<Alert[]> {
    const st = await this.state(meterId);
    const alerts: Alert[] = [];
    const add = (kind: AlertKind, message: string, details: Record<string, unknown>, severity: Alert["severity"] = "critical") =>
      alerts.push(this.o.store.newAlert(meterId, kind, message, details, severity));
    st.counters.failures++;
    st.consecutiveFailures++;
    st.lastPollAt = Date.now();
    st.lastError = (error as Error)?.message?.split("\n")[0] ?? String(error);
    if (error instanceof MeterAuthenticationError) add("bad-digest", `response failed ${error.suite} authentication`, { suite: error.suite });
    else if (error instanceof MeterReplayError) add("replay", `response sequence ${error.seq} replayed (last ${error.lastSeq})`, { seq: error.seq, lastSeq: error.lastSeq });
    else if (error instanceof MeterProtocolError) add("malformed", error.reason, {});
    else if (error instanceof MeterRejectedError) add("rejected-by-meter", `meter answered ${error.response}`, { response: error.response }, "warning");
    else if ((error instanceof MeterTimeoutError || error instanceof MeterConnectionError) && st.consecutiveFailures >= this.silentAfter && !st.flags.silent) {
      st.flags.silent = true;
      add("silent", `no answer in ${st.consecutiveFailures} consecutive polls`, { consecutiveFailures: st.consecutiveFailures }, "warning");
    }
    await this.o.store.putAlerts(alerts, st);
    this.account(alerts, { stored: 0, notPermitted: 0, rejected: 0, duplicates: 0 }, 0);
    return alerts;
  }

  /** Instantaneous values feed only the real-time totals. */
  processInstantaneous(reading: NormalizedReading): void {
    this.o.grid.addInstantaneous(reading.meterId, reading.activePowerW, reading.clockMs);
  }

  private account(alerts: Alert[], out: { stored: number; notPermitted: number; rejected: number; duplicates: number }, records: number): void {
    for (const a of alerts) this.o.onAlert?.(a);
    const m = this.o.metrics;
    if (m) {
      for (const a of alerts) m.alerts.inc({ kind: a.kind });
      if (out.stored) m.readings.inc({ outcome: "stored" }, out.stored);
      if (out.notPermitted) m.readings.inc({ outcome: "not_permitted" }, out.notPermitted);
      if (out.rejected) m.readings.inc({ outcome: "rejected" }, out.rejected);
      if (out.duplicates) m.readings.inc({ outcome: "duplicate" }, out.duplicates);
      m.outboxPending.set(this.o.store.pendingCount);
    }
    if (records) this.o.onEnqueued?.(records);
  }

  private queueKey(meterId: number, seq: number): string {
    // Enqueue time first keeps the queue FIFO; (meter, seq) makes the key unique.
    return keys.queue(Date.now(), meterId, seq);
  }

  private dataKeyFor(binding: MeterBinding): DataKey {
    const k = binding.consumer.toLowerCase();
    let dk = this.dataKeys.get(k);
    const now = Date.now();
    if (!dk || dk.uses >= this.keyUses || now - dk.createdAt > this.keyAge || !sameKey(dk, binding.encryptionKey)) {
      dk = Object.assign(newDataKey(binding.encryptionKey, now), { recipient: binding.encryptionKey });
      this.dataKeys.set(k, dk);
    }
    return dk;
  }

  /** Seals one plaintext: v2 under the epoch key of its period when custody is configured, v1 otherwise. */
  private async seal(binding: MeterBinding, contentType: number, plaintext: Uint8Array, ctx: PayloadContext, periodStart: number, newKeys: StoredKeyPublication[]): Promise<Uint8Array> {
    const ek = this.o.epochKeys;
    if (!ek) return sealReadingPayload(this.dataKeyFor(binding), contentType, plaintext, ctx);
    let k;
    try {
      k = await ek.keyFor(binding.consumer, binding.encryptionKey, ctx.resolution as Resolution, periodStart);
    } catch (e) {
      ek.discard(newKeys.map((x) => x.keyId));
      throw e;
    }
    if (k.created) newKeys.push(k.created);
    if (contentType === CONTENT_RAW_RECORD) {
      const c = compactRawRecord(plaintext, ctx);
      return sealReadingPayloadV2(k.key, k.keyId, c.contentType, c.plaintext, ctx);
    }
    return sealReadingPayloadV2(k.key, k.keyId, contentType, plaintext, ctx);
  }

  private async rawRecord(binding: MeterBinding, r: NormalizedReading, intervalMs: number, resolution: Resolution, readAt: number, newKeys: StoredKeyPublication[]): Promise<OutboxRecord> {
    const ctx = { meterId: r.meterId, sequence: r.sequence, resolution };
    const payload = await this.seal(binding, CONTENT_RAW_RECORD, r.raw, ctx, r.clockMs - intervalMs, newKeys);
    return withLeaf({
      meterId: r.meterId,
      sequence: r.sequence,
      consumer: binding.consumer,
      periodStart: r.clockMs - intervalMs,
      periodEnd: r.clockMs,
      resolution,
      category: Category.CONSUMPTION,
      payload: `0x${Buffer.from(payload).toString("hex")}`,
      firstSeq: r.sequence,
      lastSeq: r.sequence,
      readAt,
      enqueuedAt: Date.now(),
      queueKey: this.queueKey(r.meterId, r.sequence),
      status: "pending",
    });
  }

  /** Emits the open aggregate when its resolution is still permitted; drops it otherwise. */
  private async flushAggregate(st: MeterState, binding: MeterBinding, permitted: Resolution, records: OutboxRecord[], readAt: number, newKeys: StoredKeyPublication[]): Promise<void> {
    const a: OpenAggregate | null = st.agg;
    st.agg = null;
    if (!a || a.count === 0) return;
    if (a.resolution > permitted || a.consumer !== binding.consumer) return;
    const plaintext = encodeAggregate({
      resolution: a.resolution,
      count: a.count,
      meterId: st.meterId,
      firstSeq: a.firstSeq,
      lastSeq: a.lastSeq,
      periodStartMs: a.periodStart,
      periodEndMs: a.periodEnd,
      importWh: Math.max(0, a.end.importWh - a.start.importWh),
      exportWh: Math.max(0, a.end.exportWh - a.start.exportWh),
      reactiveImportVarh: Math.max(0, a.end.reactiveImportVarh - a.start.reactiveImportVarh),
      reactiveExportVarh: Math.max(0, a.end.reactiveExportVarh - a.start.reactiveExportVarh),
      importRegisterWh: a.end.importWh,
      exportRegisterWh: a.end.exportWh,
      peakPowerW: Math.round(Number.isFinite(a.peakPowerW) ? a.peakPowerW : 0),
    });
    const payload = await this.seal(binding, CONTENT_AGGREGATE, plaintext, { meterId: st.meterId, sequence: a.firstSeq, resolution: a.resolution }, a.periodStart, newKeys);
    records.push(withLeaf({
      meterId: st.meterId,
      sequence: a.firstSeq,
      consumer: a.consumer,
      periodStart: a.periodStart,
      periodEnd: a.periodEnd,
      resolution: a.resolution,
      category: Category.CONSUMPTION,
      payload: `0x${Buffer.from(payload).toString("hex")}`,
      firstSeq: a.firstSeq,
      lastSeq: a.lastSeq,
      readAt: Math.min(a.firstReadAt, readAt),
      enqueuedAt: Date.now(),
      queueKey: this.queueKey(st.meterId, a.firstSeq),
      status: "pending",
    }));
  }
}

/** The ledger leaf is a pure function of the record: compute it once, here. */
function withLeaf(r: OutboxRecord): OutboxRecord {
  r.leaf = recordLeafFast(r);
  return r;
}

function registersOf(r: NormalizedReading) {
  return { importWh: r.activeEnergyImportWh, exportWh: r.activeEnergyExportWh, reactiveImportVarh: r.reactiveEnergyImportVarh, reactiveExportVarh: r.reactiveEnergyExportVarh };
}

function backwards(prev: { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number }, r: NormalizedReading) {
  const pairs: [string, number, number][] = [
    ["activeEnergyImportWh", prev.importWh, r.activeEnergyImportWh],
    ["activeEnergyExportWh", prev.exportWh, r.activeEnergyExportWh],
    ["reactiveEnergyImportVarh", prev.reactiveImportVarh, r.reactiveEnergyImportVarh],
    ["reactiveEnergyExportVarh", prev.reactiveExportVarh, r.reactiveEnergyExportVarh],
  ];
  for (const [register, previous, value] of pairs) if (value < previous) return { register, previous, value };
  return undefined;
}

function sameKey(dk: DataKey, key: Uint8Array): boolean {
  const r = (dk as DataKey & { recipient?: Uint8Array }).recipient;
  return !!r && Buffer.from(r).equals(Buffer.from(key));
}
