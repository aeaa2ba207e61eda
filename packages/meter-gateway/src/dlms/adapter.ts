// DLMS/COSEM meters behind the adapter SPI: "dlms-wrapper" (the IP wrapper over TCP, as a G3-PLC
// or cellular meter is reached) and "dlms-hdlc" (HDLC over a TCP-to-serial bridge). A log read is
// a range read of load profile 1 from the last row the gateway stored; a row's sequence number is
// its interval index (capture time / capture period), so a missing row is a visible gap. DLMS
// meters keep their profile whatever the client stored, so `acknowledge` only moves the adapter's
// own position, persisted with the gateway's state. The gateway stores each reading as the
// 144-byte reading record (rawFormat "dlms-lp1-et160-v1": the DLMS row, normalized).
import { DlmsClient, DlmsMeterReader, HdlcLink, WrapperLink, tcpStream, udpStream, type DlmsLink } from "@sidegrid/dlms";
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
import { InvalidConfigError } from "../errors";
import { hexOption } from "./pushAdapter";

export const DLMS_WRAPPER_PROTOCOL = "dlms-wrapper";
export const DLMS_HDLC_PROTOCOL = "dlms-hdlc";
/** The IP wrapper over UDP, as a G3-PLC node (or its modem's IPv6 address) is reached. */
export const DLMS_UDP_PROTOCOL = "dlms-udp";
export const DLMS_RAW_FORMAT = "dlms-lp1-et160-v1";
const DEFAULT_MAX_RECORDS = 96;
const IC_RESERVATION = 10_000;

interface DlmsState {
  /** Interval index of the newest row stored (acknowledged by the gateway); null before the first. */
  ackedSeq: number | null;
  /** Its energy registers, the baseline for the next row's mean power. */
  baseline: { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number } | null;
  /** HLS-GMAC: the client's next invocation counter, kept so no counter is ever used twice with these keys. */
  ic?: number;
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
    { protocol: DLMS_UDP_PROTOCOL, create: (meter, ctx) => new DlmsAdapter(meter, ctx) },
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
  private readonly reader: DlmsMeterReader;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly meter: MeterConfig,
    private readonly ctx: AdapterContext,
  ) {
    const o = meter.options ?? {};
    const timeoutMs = ctx.timeoutMs;
    const lp = { meterId: meter.meterId, timeoutMs };
    const stream = tcpStream(meter.host, meter.port);
    let link: DlmsLink;
    if (meter.protocol === DLMS_HDLC_PROTOCOL) {
      link = new HdlcLink(lp, stream, {
        client: intOption(meter, "clientAddress", 16, 0x7f),
        logicalDevice: intOption(meter, "logicalDevice", 1, 0x3fff),
        physical: intOption(meter, "physicalAddress", meter.meterId & 0x3fff, 0x3fff),
      });
    } else if (meter.protocol === DLMS_WRAPPER_PROTOCOL || meter.protocol === DLMS_UDP_PROTOCOL) {
      link = new WrapperLink(lp, meter.protocol === DLMS_UDP_PROTOCOL ? udpStream(meter.host, meter.port) : stream, { client: intOption(meter, "clientAddress", 16, 0xffff), server: intOption(meter, "logicalDevice", 1, 0xffff) });
    } else {
      throw new InvalidConfigError(`meters[${meter.meterId}].protocol`, meter.protocol, `"${DLMS_WRAPPER_PROTOCOL}", "${DLMS_HDLC_PROTOCOL}" or "${DLMS_UDP_PROTOCOL}"`);
    }
    let password: Uint8Array | undefined;
    if (o.password !== undefined) {
      if (typeof o.password !== "string" || o.password.length === 0 || o.password.length > 64) throw new InvalidConfigError(`meters[${meter.meterId}].options.password`, "(hidden)", "a text of 1..64 characters");
      password = new TextEncoder().encode(o.password);
    }
    // HLS-GMAC and glo-ciphering when the meter's keys are configured (all three or none).
    const ek = hexOption(meter, "ekHex", 16);
    const ak = hexOption(meter, "akHex", 16);
    const systemTitle = hexOption(meter, "systemTitleHex", 8);
    if ((ek || ak || systemTitle) && !(ek && ak && systemTitle)) throw new InvalidConfigError(`meters[${meter.meterId}].options`, "(hidden)", "ekHex, akHex and systemTitleHex together (HLS-GMAC), or none");
    if (ek && password) throw new InvalidConfigError(`meters[${meter.meterId}].options.password`, "(hidden)", "no password with HLS-GMAC keys");
    const init = ctx.initialState as Partial<DlmsState> | null;
    const security = ek && ak && systemTitle ? { ek, ak, systemTitle, invocationCounter: typeof init?.ic === "number" ? init.ic : 1 } : undefined;
    this.client = new DlmsClient({ meterId: meter.meterId, link, ...(password ? { password } : {}), ...(security ? { security } : {}) });
    this.reader = new DlmsMeterReader(meter.meterId, this.client);
    this.identity = { meterId: meter.meterId, protocol: meter.protocol, endpoint: link.endpoint };
    this.capabilities = {
      loadProfile: true,
      instantaneous: true,
      acknowledge: false,
      maxRecordsPerRead: intOption(meter, "maxRecordsPerRead", DEFAULT_MAX_RECORDS, 10_000) || DEFAULT_MAX_RECORDS,
      security: security ? "dlms-hls-gmac" : password ? "dlms-lls" : "dlms-lowest",
      insecure: false,
    };
    this.st = { ackedSeq: typeof init?.ackedSeq === "number" ? init.ackedSeq : null, baseline: init?.baseline ?? null, ...(security ? { ic: security.invocationCounter } : {}) };
  }

  state(): Record<string, unknown> {
    if (this.st.ic !== undefined) this.st.ic = Math.max(this.st.ic, this.client.invocationCounter);
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
    if (this.st.ic !== undefined && !this.client.isAssociated) {
      // Counters are reserved before use: a gateway that dies mid-association restarts above
      // every counter it may have sent, so the meter never sees one twice.
      this.st.ic = this.client.invocationCounter + IC_RESERVATION;
      await this.ctx.persist(this.state());
    }
    await this.reader.prepare();
    if (this.reader.serial !== undefined) this.identity.serial = this.reader.serial;
    if (this.reader.manufacturer !== undefined) this.identity.manufacturer = this.reader.manufacturer;
  }

  private async readLog(maxRecords?: number): Promise<LogReadResult> {
    const interval = this.reader.intervalMs;
    const max = Math.max(1, Math.min(maxRecords ?? this.capabilities.maxRecordsPerRead, this.capabilities.maxRecordsPerRead));
    const clockMs = await this.reader.clock();
    const newestSeq = Math.floor(clockMs / interval);
    // From the stored row (its energies are the baseline), or on first contact `max` rows back.
    const firstSeq = this.st.ackedSeq ?? newestSeq - max;
    const { rows, baseline } = await this.reader.profile(firstSeq * interval, (firstSeq + max) * interval, { baseline: this.st.baseline, after: firstSeq });
    const readings = rows.map((r) => this.normalize(r.reading, interval));
    if (readings.length > 0) this.st.baseline = baseline;
    return { kind: "log", readings, newestSeq, ackedSeq: this.st.ackedSeq ?? 0, meterClockMs: clockMs, intervalMs: interval };
  }

  private async readInstantaneous(): Promise<InstantaneousReadResult> {
    const { clockMs, reading } = await this.reader.instantaneous(this.st.ackedSeq ?? 0);
    return { kind: "instantaneous", reading: this.normalize(reading, 0), meterClockMs: clockMs };
  }

  private normalize(r: MeterReading, intervalMs: number): NormalizedReading {
    return Object.assign(r, { intervalMs, raw: encodeReadingRecord(r), rawFormat: DLMS_RAW_FORMAT });
  }
}
