// A HAN / push meter behind the adapter SPI ("dlms-push"): the meter (or its P1/HAN port bridge,
// or a G3-PLC node) pushes DLMS data-notifications to the gateway, which listens on the meter's
// configured host and port. Frames may be HDLC (0x7E, segments joined) or IP-wrapper; pushes may
// be ciphered (glo or general-glo-ciphering, keys in the options). Each push that carries the
// import energy register becomes an interval reading, sequenced by its device time (the push's
// date-time, or its clock register) ÷ `intervalSeconds`; a repeated push for the same interval is
// dropped (deduplicated by device time). Pushes are not acknowledged to the meter: the adapter
// buffers them until the gateway has stored them.
import net from "node:net";
import { PushReceiver, readingFromRegisters, type ReceivedPush } from "@sidegrid/dlms";
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
import { InvalidConfigError, MeterConnectionError, MeterTimeoutError } from "../errors";

export const DLMS_PUSH_PROTOCOL = "dlms-push";
export const DLMS_PUSH_RAW_FORMAT = "dlms-push-et160-v1";
/** Interval readings kept while the gateway does not store them (two days of 15-minute pushes). */
const MAX_BUFFERED = 192;

type Energies = { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number };

interface PushState {
  ackedSeq: number | null;
  baseline: Energies | null;
  /** Invocation counter of the newest ciphered push accepted: anything not above it is a replay. */
  lastIc?: number | null;
}

/** What the push listener has seen (for the tests and /metrics). */
export interface PushListenerStats {
  pushes: number;
  /** Interval readings accepted. */
  readings: number;
  /** Pushes for an interval already held or stored. */
  duplicates: number;
  /** Frames that did not decode or did not authenticate. */
  rejected: number;
  /** Ciphered pushes whose invocation counter was not above the last one's (replays). */
  replayed: number;
  /** Readings dropped because the gateway did not store them in time. */
  overflowed: number;
}

export function dlmsPushAdapterFactory(): MeterAdapterFactory {
  return { protocol: DLMS_PUSH_PROTOCOL, create: (meter, ctx) => new DlmsPushAdapter(meter, ctx) };
}

/** A hex key option of a meter's config (never echoed in the error: keys are secrets). */
export function hexOption(meter: MeterConfig, name: string, length: number): Uint8Array | undefined {
  const v = meter.options?.[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^(0x)?[0-9a-fA-F]+$/.test(v) || v.replace(/^0x/, "").length !== length * 2) throw new InvalidConfigError(`meters[${meter.meterId}].options.${name}`, "(hidden)", `${length} bytes as hex`);
  return new Uint8Array(Buffer.from(v.replace(/^0x/, ""), "hex"));
}

export class DlmsPushAdapter implements MeterAdapter {
  readonly identity: MeterIdentity;
  readonly capabilities: MeterCapabilities;
  readonly stats: PushListenerStats = { pushes: 0, readings: 0, duplicates: 0, rejected: 0, replayed: 0, overflowed: 0 };
  private readonly intervalMs: number;
  private readonly keys: { ek?: Uint8Array; ak?: Uint8Array; systemTitle?: Uint8Array };
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly buffered = new Map<number, NormalizedReading>();
  private latest: { registers: Record<string, number>; clockMs: number } | undefined;
  private st: PushState;
  private readonly counter: { last: number | null };

  constructor(
    readonly meter: MeterConfig,
    private readonly ctx: AdapterContext,
  ) {
    const seconds = meter.options?.intervalSeconds ?? 900;
    if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw new InvalidConfigError(`meters[${meter.meterId}].options.intervalSeconds`, seconds, "1..86400 seconds");
    this.intervalMs = seconds * 1000;
    const ek = hexOption(meter, "ekHex", 16);
    const ak = hexOption(meter, "akHex", 16);
    const systemTitle = hexOption(meter, "systemTitleHex", 8);
    this.keys = { ...(ek ? { ek } : {}), ...(ak ? { ak } : {}), ...(systemTitle ? { systemTitle } : {}) };
    this.identity = { meterId: meter.meterId, protocol: DLMS_PUSH_PROTOCOL, endpoint: `listen://${meter.host}:${meter.port}` };
    this.capabilities = { loadProfile: true, instantaneous: true, acknowledge: false, maxRecordsPerRead: MAX_BUFFERED, security: ek ? "dlms-glo-aes-gcm" : "dlms-push-plain", insecure: false };
    const init = ctx.initialState as Partial<PushState> | null;
    this.st = { ackedSeq: typeof init?.ackedSeq === "number" ? init.ackedSeq : null, baseline: init?.baseline ?? null };
    this.counter = { last: typeof init?.lastIc === "number" ? init.lastIc : null };
  }

  state(): Record<string, unknown> {
    return { ...this.st, lastIc: this.counter.last };
  }

  /** Starts listening for the meter's pushes (idempotent). */
  async connect(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) => reject(new MeterConnectionError(this.meter.meterId, this.identity.endpoint, { cause: e, details: "cannot listen for pushes" })));
      server.listen(this.meter.port, this.meter.host, () => resolve());
    });
    this.server = server;
  }

  read(spec: { kind: "log"; maxRecords?: number }): Promise<LogReadResult>;
  read(spec: { kind: "instantaneous" }): Promise<InstantaneousReadResult>;
  read(spec: ReadingSpec): Promise<ReadResult>;
  async read(spec: ReadingSpec): Promise<ReadResult> {
    await this.connect();
    if (spec.kind === "instantaneous") {
      if (!this.latest) throw new MeterTimeoutError(this.meter.meterId, this.ctx.timeoutMs, { details: "no push received yet" });
      const r = readingFromRegisters({ meterId: this.meter.meterId, sequence: this.st.ackedSeq ?? 0, clockMs: this.latest.clockMs, values: this.latest.registers, intervalMs: 0 });
      return { kind: "instantaneous", reading: this.normalize(r, 0), meterClockMs: this.latest.clockMs };
    }
    const max = Math.max(1, Math.min(spec.maxRecords ?? MAX_BUFFERED, MAX_BUFFERED));
    const seqs = [...this.buffered.keys()].filter((s) => this.st.ackedSeq === null || s > this.st.ackedSeq).sort((a, b) => a - b).slice(0, max);
    const readings = seqs.map((s) => this.buffered.get(s)!);
    const newestSeq = Math.max(this.st.ackedSeq ?? 0, ...this.buffered.keys());
    return { kind: "log", readings, newestSeq, ackedSeq: this.st.ackedSeq ?? 0, meterClockMs: this.latest?.clockMs ?? 0, intervalMs: this.intervalMs };
  }

  async acknowledge(sequence: number): Promise<void> {
    if (this.st.ackedSeq === null || sequence > this.st.ackedSeq) {
      this.st.ackedSeq = sequence;
      // The stored row's energies: the baseline of the next interval's mean power after a restart.
      const r = this.buffered.get(sequence);
      if (r) this.st.baseline = { importWh: r.activeEnergyImportWh, exportWh: r.activeEnergyExportWh, reactiveImportVarh: r.reactiveEnergyImportVarh, reactiveExportVarh: r.reactiveEnergyExportVarh };
    }
    for (const s of [...this.buffered.keys()]) if (s <= sequence) this.buffered.delete(s);
    await this.ctx.persist(this.state());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const rx = new PushReceiver({ keys: this.keys, counter: this.counter, now: () => this.ctx.clock.now(), onPush: (p) => this.onPush(p), onReject: () => this.stats.rejected++, onReplay: () => this.stats.replayed++ });
    socket.on("data", (chunk: Buffer) => rx.feed(chunk));
  }

  private onPush(p: ReceivedPush): void {
    this.stats.pushes++;
    const { registers, clockMs } = p;
    this.latest = { registers, clockMs };
    if (!p.hasEnergy) return; // an instantaneous-only list
    const seq = Math.floor(clockMs / this.intervalMs);
    if ((this.st.ackedSeq !== null && seq <= this.st.ackedSeq) || this.buffered.has(seq)) {
      this.stats.duplicates++;
      return;
    }
    // Mean power from the previous interval's energies, when that push arrived; else the pushed power.
    const prev = this.buffered.get(seq - 1);
    const previous = prev ? { importWh: prev.activeEnergyImportWh, exportWh: prev.activeEnergyExportWh, reactiveImportVarh: prev.reactiveEnergyImportVarh, reactiveExportVarh: prev.reactiveEnergyExportVarh } : this.st.ackedSeq === seq - 1 ? this.st.baseline : null;
    const reading = readingFromRegisters({ meterId: this.meter.meterId, sequence: seq, clockMs, values: registers, intervalMs: this.intervalMs, ...(previous ? { previous } : {}) });
    this.buffered.set(seq, this.normalize(reading, this.intervalMs));
    this.stats.readings++;
    while (this.buffered.size > MAX_BUFFERED) {
      this.buffered.delete(Math.min(...this.buffered.keys()));
      this.stats.overflowed++;
    }
  }

  private normalize(r: MeterReading, intervalMs: number): NormalizedReading {
    return Object.assign(r, { intervalMs, raw: encodeReadingRecord(r), rawFormat: DLMS_PUSH_RAW_FORMAT });
  }
}
