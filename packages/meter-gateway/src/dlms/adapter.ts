// DLMS/COSEM meters behind the adapter SPI: "dlms-wrapper" (the IP wrapper over TCP, as a G3-PLC
// or cellular meter is reached) and "dlms-hdlc" (HDLC over a TCP-to-serial bridge). A log read is
// a range read of load profile 1 from the last row the gateway stored; a row's sequence number is
// its interval index (capture time / capture period), so a missing row is a visible gap. DLMS
// meters keep their profile whatever the client stored, so `acknowledge` only moves the adapter's
// own position, persisted with the gateway's state. The gateway stores each reading as the
// 144-byte reading record (rawFormat "dlms-lp1-et160-v1": the DLMS row, normalized).
import { decodeDateTime, decodeProfileBuffer, type DlmsData } from "@sidegrid/dlms";
import { encodeReadingRecord, type MeterReading } from "@sidegrid/osgp-codec";
import type {
  AdapterContext,
  InstantaneousReadResult,
  LogReadResult,
  MeterAdapter,
  MeterAdapterFactory,
  MeterCapabilities,
  MeterConfig,
  MeterIdentity,
  NormalizedReading,
  ReadResult,
  ReadingSpec,
} from "../adapter";
import { InvalidConfigError, MeterProtocolError } from "../errors";
import { DlmsClient } from "./client";
import { HdlcTcpLink, WrapperTcpLink, type DlmsLink } from "./links";
import { CLASS, ENERGY, INSTANTANEOUS, OBJECTS, cosemToMs, rangeSelection, readingFromRegisters, type RegisterObject } from "./objects";

export const DLMS_WRAPPER_PROTOCOL = "dlms-wrapper";
export const DLMS_HDLC_PROTOCOL = "dlms-hdlc";
export const DLMS_RAW_FORMAT = "dlms-lp1-et160-v1";
const DEFAULT_MAX_RECORDS = 96;

interface DlmsState {
  /** Interval index of the newest row stored (acknowledged by the gateway); null before the first. */
  ackedSeq: number | null;
  /** Its energy registers, the baseline for the next row's mean power. */
  baseline: { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number } | null;
}

/**
 * The DLMS adapter factories (one per transport).
 * @example
 * const registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey }), ...dlmsAdapterFactories()]);
 * // meter: { meterId: 7, protocol: "dlms-wrapper", host: "10.0.0.7", port: 4059 }
 */
export function dlmsAdapterFactories(): MeterAdapterFactory[] {
  return [
    { protocol: DLMS_WRAPPER_PROTOCOL, create: (meter, ctx) => new DlmsAdapter(meter, ctx) },
    { protocol: DLMS_HDLC_PROTOCOL, create: (meter, ctx) => new DlmsAdapter(meter, ctx) },
  ];
}

function intOption(meter: MeterConfig, name: string, fallback: number, max: number): number {
  const v = meter.options?.[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new InvalidConfigError(`meters[${meter.meterId}].options.${name}`, v, `an integer in 0..${max}`);
  return v;
}

/** One DLMS meter. */
export class DlmsAdapter implements MeterAdapter {
  readonly identity: MeterIdentity;
  readonly capabilities: MeterCapabilities;
  private readonly client: DlmsClient;
  private st: DlmsState;
  private scalers: Record<string, { scaler: number; unit: number }> = {};
  private intervalMs = 0;
  private captureColumns: DlmsData | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly meter: MeterConfig,
    private readonly ctx: AdapterContext,
  ) {
    const o = meter.options ?? {};
    const timeoutMs = ctx.timeoutMs;
    const tcp = { meterId: meter.meterId, host: meter.host, port: meter.port, timeoutMs };
    let link: DlmsLink;
    if (meter.protocol === DLMS_HDLC_PROTOCOL) {
      link = new HdlcTcpLink(tcp, {
        client: intOption(meter, "clientAddress", 16, 0x7f),
        logicalDevice: intOption(meter, "logicalDevice", 1, 0x3fff),
        physical: intOption(meter, "physicalAddress", meter.meterId & 0x3fff, 0x3fff),
      });
    } else if (meter.protocol === DLMS_WRAPPER_PROTOCOL) {
      link = new WrapperTcpLink(tcp, { client: intOption(meter, "clientAddress", 16, 0xffff), server: intOption(meter, "logicalDevice", 1, 0xffff) });
    } else {
      throw new InvalidConfigError(`meters[${meter.meterId}].protocol`, meter.protocol, `"${DLMS_WRAPPER_PROTOCOL}" or "${DLMS_HDLC_PROTOCOL}"`);
    }
    let password: Uint8Array | undefined;
    if (o.password !== undefined) {
      if (typeof o.password !== "string" || o.password.length === 0 || o.password.length > 64) throw new InvalidConfigError(`meters[${meter.meterId}].options.password`, "(hidden)", "a text of 1..64 characters");
      password = new TextEncoder().encode(o.password);
    }
    this.client = new DlmsClient({ meterId: meter.meterId, link, ...(password ? { password } : {}) });
    this.identity = { meterId: meter.meterId, protocol: meter.protocol, endpoint: link.endpoint };
    this.capabilities = {
      loadProfile: true,
      instantaneous: true,
      acknowledge: false,
      maxRecordsPerRead: intOption(meter, "maxRecordsPerRead", DEFAULT_MAX_RECORDS, 10_000) || DEFAULT_MAX_RECORDS,
      security: password ? "dlms-lls" : "dlms-lowest",
      insecure: false,
    };
    const init = ctx.initialState as Partial<DlmsState> | null;
    this.st = { ackedSeq: typeof init?.ackedSeq === "number" ? init.ackedSeq : null, baseline: init?.baseline ?? null };
  }

  state(): Record<string, unknown> {
    return { ...this.st };
  }

  connect(): Promise<void> {
    return this.serial(() => this.ensure());
  }

  read(spec: { kind: "log"; maxRecords?: number }): Promise<LogReadResult>;
  read(spec: { kind: "instantaneous" }): Promise<InstantaneousReadResult>;
  read(spec: ReadingSpec): Promise<ReadResult>;
  read(spec: ReadingSpec): Promise<ReadResult> {
    return this.serial(async () => {
      await this.ensure();
      try {
        return spec.kind === "instantaneous" ? await this.readInstantaneous() : await this.readLog(spec.maxRecords);
      } catch (e) {
        // A failed exchange leaves the association in an unknown state: start over next time.
        await this.client.release();
        throw e;
      }
    });
  }

  /** Rows up to `sequence` are stored: the next log read starts after it. */
  async acknowledge(sequence: number): Promise<void> {
    if (this.st.ackedSeq === null || sequence > this.st.ackedSeq) this.st.ackedSeq = sequence;
    await this.ctx.persist(this.state());
  }

  async close(): Promise<void> {
    await this.serial(() => this.client.release());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensure(): Promise<void> {
    if (this.client.isAssociated) return;
    await this.client.associate();
    if (!this.identity.serial) {
      const serial = await this.client.get({ classId: CLASS.data, obis: OBJECTS.serial, attribute: 2 });
      this.identity.serial = text(serial);
      const name = await this.client.get({ classId: CLASS.data, obis: OBJECTS.logicalDeviceName, attribute: 2 }).catch(() => undefined);
      if (name) this.identity.manufacturer = text(name).slice(0, 3);
    }
    if (this.intervalMs === 0) {
      const period = await this.client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 4 });
      const seconds = Number((period as { value?: unknown }).value);
      if (!Number.isInteger(seconds) || seconds < 60) throw new MeterProtocolError(this.meter.meterId, `load profile capture period ${seconds} s`);
      this.intervalMs = seconds * 1000;
      this.captureColumns = await this.client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 3 });
      for (const reg of [...Object.values(ENERGY), ...Object.values(INSTANTANEOUS)] as RegisterObject[]) {
        try {
          const su = await this.client.get({ classId: CLASS.register, obis: reg.obis, attribute: 3 });
          if (su.type === "structure" && su.value.length === 2) this.scalers[reg.obis] = { scaler: Number((su.value[0] as { value: number }).value), unit: Number((su.value[1] as { value: number }).value) };
        } catch {
          /* a register the meter does not have */
        }
      }
    }
  }

  private async meterClock(): Promise<number> {
    const d = await this.client.get({ classId: CLASS.clock, obis: OBJECTS.clock, attribute: 2 });
    const ms = d.type === "octet-string" && d.value.length === 12 ? cosemToMs(decodeDateTime(d.value)) : null;
    if (ms === null) throw new MeterProtocolError(this.meter.meterId, "the clock attribute is not a specified date-time");
    return ms;
  }

  private async readLog(maxRecords?: number): Promise<LogReadResult> {
    const interval = this.intervalMs;
    const max = Math.max(1, Math.min(maxRecords ?? this.capabilities.maxRecordsPerRead, this.capabilities.maxRecordsPerRead));
    const clockMs = await this.meterClock();
    const newestSeq = Math.floor(clockMs / interval);
    // From the stored row (its energies are the baseline), or on first contact `max` rows back.
    const firstSeq = this.st.ackedSeq ?? newestSeq - max;
    const buffer = await this.client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 2 }, rangeSelection(firstSeq * interval, (firstSeq + max) * interval));
    const rows = decodeProfileBuffer(buffer, this.captureColumns ?? [], this.scalers);
    const readings: NormalizedReading[] = [];
    let baseline = this.st.baseline;
    for (const row of rows) {
      const clock = row[OBJECTS.clock]?.value;
      const rowMs = typeof clock === "string" ? Date.parse(clock) : NaN;
      if (!Number.isFinite(rowMs)) throw new MeterProtocolError(this.meter.meterId, `load profile row without a valid clock (${String(clock)})`);
      const seq = Math.round(rowMs / interval);
      const values = numbers(row);
      const energies = { importWh: values[ENERGY.importWh.obis] ?? 0, exportWh: values[ENERGY.exportWh.obis] ?? 0, reactiveImportVarh: values[ENERGY.reactiveImportVarh.obis] ?? 0, reactiveExportVarh: values[ENERGY.reactiveExportVarh.obis] ?? 0 };
      if (seq <= firstSeq) {
        baseline = energies;
        continue;
      }
      const status = Number(row[OBJECTS.profileStatus]?.value ?? 0);
      const reading = readingFromRegisters({ meterId: this.meter.meterId, sequence: seq, clockMs: rowMs, values, intervalMs: interval, ...(baseline ? { previous: baseline } : {}), clockInvalid: (status & 0x02) !== 0 });
      readings.push(this.normalize(reading, interval));
      baseline = energies;
    }
    if (readings.length > 0) this.st.baseline = baseline;
    return { kind: "log", readings, newestSeq, ackedSeq: this.st.ackedSeq ?? 0, meterClockMs: clockMs, intervalMs: interval };
  }

  private async readInstantaneous(): Promise<InstantaneousReadResult> {
    const clockMs = await this.meterClock();
    const values: Record<string, number> = {};
    for (const reg of [...Object.values(ENERGY), ...Object.values(INSTANTANEOUS)] as RegisterObject[]) {
      if (!this.scalers[reg.obis]) continue;
      const d = await this.client.get({ classId: CLASS.register, obis: reg.obis, attribute: 2 });
      const raw = Number((d as { value?: unknown }).value);
      if (Number.isFinite(raw)) values[reg.obis] = raw * 10 ** this.scalers[reg.obis]!.scaler;
    }
    const reading = readingFromRegisters({ meterId: this.meter.meterId, sequence: this.st.ackedSeq ?? 0, clockMs, values, intervalMs: 0 });
    return { kind: "instantaneous", reading: this.normalize(reading, 0), meterClockMs: clockMs };
  }

  private normalize(r: MeterReading, intervalMs: number): NormalizedReading {
    return Object.assign(r, { intervalMs, raw: encodeReadingRecord(r), rawFormat: DLMS_RAW_FORMAT });
  }
}

function text(d: DlmsData): string {
  if (d.type === "visible-string" || d.type === "utf8-string") return d.value;
  if (d.type === "octet-string") return new TextDecoder().decode(d.value).replace(/\0+$/, "");
  return String((d as { value?: unknown }).value ?? "");
}

function numbers(row: Record<string, { value: number | string | null }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [obis, r] of Object.entries(row)) if (typeof r.value === "number") out[obis] = r.value;
  return out;
}
