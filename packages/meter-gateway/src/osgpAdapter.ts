// The built-in adapter: OSGP application layer over TCP (Sidegrid Pi meters, or any MEP-style
// meter behind a TCP bridge). One connection per meter, one request at a time; frames delimited by
// `len`. Security: aes-gcm (the Pi meters), or legacy RC4/OMA digest only when the meter is
// configured `legacy: true`.
import net from "node:net";
import {
  READING_RECORD_SIZE,
  SequenceCounter,
  createSecuritySuite,
  decodeReadingRecord,
  isOsgpError,
  type SecuritySuite,
  type ServiceRequest,
  type ServiceResponse,
} from "@sidegrid/osgp-codec";
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
} from "./adapter";
import {
  InvalidConfigError,
  MeterAuthenticationError,
  MeterConnectionError,
  MeterProtocolError,
  MeterRejectedError,
  MeterReplayError,
  MeterTimeoutError,
} from "./errors";
import { ADDRESS_FRAME_NAK, FrameReader, encodeAddressFrame } from "@sidegrid/osgp-codec";
import {
  CURRENT_READING_TABLE_ID,
  IDENTIFICATION_LAYOUT,
  IDENTIFICATION_TABLE_ID,
  LOG_ACK_LAYOUT,
  LOG_ACK_TABLE_ID,
  LOG_HEADER_LAYOUT,
  LOG_HEADER_SIZE,
  LOG_TABLE_ID,
  MAX_LOG_RECORDS_PER_FRAME,
  logReadCount,
  readAscii,
} from "@sidegrid/osgp-codec";

export const OSGP_TCP_PROTOCOL = "osgp-tcp";
export const OSGP_RAW_FORMAT = "osgp-et160-v1";
/** Sequence numbers reserved (persisted) ahead of use; below the meter's window of 8 so a restart resumes inside it. */
const SEQ_RESERVATION = 4;

export interface OsgpTcpAdapterOptions {
  /** aes-gcm master key (per-meter keys are derived from it) — or per meter in MeterConfig.options.keyHex. */
  masterKey?: Uint8Array;
  /** Records per log read (default 64, at most what fits one frame). */
  maxRecordsPerRead?: number;
}

interface OsgpState {
  /** Request sequence numbers below this may have been used: never send them again. */
  reservedSeq: number | null;
  /** The last response sequence number accepted (aes-gcm). */
  lastResponseSeq: number | null;
}

/**
 * The OSGP-over-TCP adapter factory.
 * @example
 * const registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey })]);
 */
export function osgpTcpAdapterFactory(options: OsgpTcpAdapterOptions = {}): MeterAdapterFactory {
  return {
    protocol: OSGP_TCP_PROTOCOL,
    create: (meter, context) => new OsgpTcpAdapter(meter, context, options),
  };
}

function hexKey(v: unknown, field: string, lengths: number[]): Uint8Array {
  if (typeof v !== "string" || !/^(0x)?[0-9a-fA-F]+$/.test(v)) throw new InvalidConfigError(field, v, "a hex key");
  const b = Buffer.from(v.replace(/^0x/, ""), "hex");
  if (!lengths.includes(b.length)) throw new InvalidConfigError(field, v, `${lengths.join(" or ")} bytes`);
  return new Uint8Array(b);
}

/** True when `seq` is ahead of `last` on the 32-bit ring (by 1..2^31). */
function isAfter(seq: number, last: number): boolean {
  const d = (seq - last + 0x100000000) % 0x100000000;
  return d > 0 && d < 0x80000000;
}

export class OsgpTcpAdapter implements MeterAdapter {
  readonly identity: MeterIdentity;
  readonly capabilities: MeterCapabilities;
  private readonly suite: SecuritySuite;
  private readonly counter: SequenceCounter;
  private st: OsgpState;
  private socket: net.Socket | undefined;
  private connecting: Promise<void> | undefined;
  private reader = new FrameReader();
  private waiter: { resolve: (f: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private identified = false;
  private closed = false;

  constructor(
    readonly meter: MeterConfig,
    private readonly ctx: AdapterContext,
    options: OsgpTcpAdapterOptions,
  ) {
    const o = meter.options ?? {};
    const suiteName = (o.suite as string | undefined) ?? "aes-gcm";
    if (suiteName === "aes-gcm") {
      const key = o.keyHex !== undefined ? hexKey(o.keyHex, `meters[${meter.meterId}].options.keyHex`, [16]) : undefined;
      const master = o.masterKeyHex !== undefined ? hexKey(o.masterKeyHex, `meters[${meter.meterId}].options.masterKeyHex`, [16, 32]) : options.masterKey;
      if (key) this.suite = createSecuritySuite("aes-gcm", { meterId: meter.meterId, key });
      else if (master) this.suite = createSecuritySuite("aes-gcm", { meterId: meter.meterId, masterKey: master });
      else throw new InvalidConfigError(`meters[${meter.meterId}].options`, undefined, "keyHex, masterKeyHex or an adapter masterKey for aes-gcm");
    } else if (suiteName === "legacy-rc4-mep") {
      // Broken crypto: refused unless this meter is explicitly configured as legacy.
      if (meter.legacy !== true) throw new InvalidConfigError(`meters[${meter.meterId}].legacy`, meter.legacy, "true to read a meter with the broken legacy-rc4-mep suite");
      this.suite = createSecuritySuite("legacy-rc4-mep", { key: hexKey(o.legacyKeyHex, `meters[${meter.meterId}].options.legacyKeyHex`, [16]), allowInsecure: true });
    } else {
      throw new InvalidConfigError(`meters[${meter.meterId}].options.suite`, suiteName, "aes-gcm or legacy-rc4-mep");
    }
    const init = (ctx.initialState ?? {}) as Partial<OsgpState>;
    this.st = { reservedSeq: typeof init.reservedSeq === "number" ? init.reservedSeq : null, lastResponseSeq: typeof init.lastResponseSeq === "number" ? init.lastResponseSeq : null };
    // A fresh adapter starts anywhere; the meter's 0x0C answer tells the real position.
    this.counter = new SequenceCounter(this.st.reservedSeq ?? ((meter.meterId * 2654435761) >>> 0) % 0x7fffffff);
    const max = Math.min(options.maxRecordsPerRead ?? 64, MAX_LOG_RECORDS_PER_FRAME);
    this.identity = {
      meterId: meter.meterId,
      protocol: OSGP_TCP_PROTOCOL,
      endpoint: `tcp://${meter.host}:${meter.port}${meter.addressed ? `#${meter.meterId}` : ""}`,
    };
    this.capabilities = {
      loadProfile: true,
      instantaneous: true,
      acknowledge: true,
      maxRecordsPerRead: max,
      security: this.suite.name,
      insecure: this.suite.insecure,
    };
  }

  state(): Record<string, unknown> {
    return { ...this.st };
  }

  async connect(): Promise<void> {
    await this.ensureSocket();
    if (!this.identified) {
      const data = await this.readTable({ service: "fullRead", tableId: IDENTIFICATION_TABLE_ID });
      const id = IDENTIFICATION_LAYOUT.decode(data);
      this.identity.manufacturer = readAscii(id.manufacturer);
      this.identity.model = readAscii(id.model);
      this.identity.serial = readAscii(id.serial);
      this.identity.firmware = `${id.fwVersion}.${id.fwRevision}`;
      this.identified = true;
    }
  }

  read(spec: { kind: "log"; maxRecords?: number }): Promise<LogReadResult>;
  read(spec: { kind: "instantaneous" }): Promise<InstantaneousReadResult>;
  read(spec: ReadingSpec): Promise<ReadResult>;
  async read(spec: ReadingSpec): Promise<ReadResult> {
    if (spec.kind === "instantaneous") {
      const data = await this.readTable({ service: "fullRead", tableId: CURRENT_READING_TABLE_ID });
      const reading = this.normalize(data, 0);
      return { kind: "instantaneous", reading, meterClockMs: reading.clockMs };
    }
    const n = Math.max(1, Math.min(spec.maxRecords ?? this.capabilities.maxRecordsPerRead, MAX_LOG_RECORDS_PER_FRAME));
    const data = await this.readTable({ service: "partialRead", tableId: LOG_TABLE_ID, offset: 0, count: logReadCount(n) });
    if (data.length < LOG_HEADER_SIZE) throw new MeterProtocolError(this.meter.meterId, `ET161 answer of ${data.length} bytes, shorter than its header`);
    const h = LOG_HEADER_LAYOUT.decode(data, 0, LOG_HEADER_SIZE);
    if (h.recordSize !== READING_RECORD_SIZE || data.length !== LOG_HEADER_SIZE + h.count * READING_RECORD_SIZE) {
      throw new MeterProtocolError(this.meter.meterId, `ET161 header says ${h.count} × ${h.recordSize}-byte records, ${data.length - LOG_HEADER_SIZE} bytes present`);
    }
    const intervalMs = h.intervalSeconds * 1000;
    const readings: NormalizedReading[] = [];
    for (let i = 0; i < h.count; i++) {
      const at = LOG_HEADER_SIZE + i * READING_RECORD_SIZE;
      readings.push(this.normalize(data.slice(at, at + READING_RECORD_SIZE), intervalMs));
    }
    return { kind: "log", readings, newestSeq: h.newestSeq, ackedSeq: h.ackedSeq, meterClockMs: h.clockMs, intervalMs };
  }

  async acknowledge(sequence: number): Promise<void> {
    const response = await this.exchange({ service: "fullWrite", tableId: LOG_ACK_TABLE_ID, data: LOG_ACK_LAYOUT.encode({ ackedSeq: sequence, reserved: 0 }) });
    if (response.response !== "ok") throw new MeterRejectedError(this.meter.meterId, response.response);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropSocket(new MeterConnectionError(this.meter.meterId, this.identity.endpoint, { details: "adapter closed" }));
  }

  private normalize(record: Uint8Array, intervalMs: number): NormalizedReading {
    try {
      const r = decodeReadingRecord(record);
      return Object.assign(r, { intervalMs, raw: record, rawFormat: OSGP_RAW_FORMAT });
    } catch (cause) {
      throw new MeterProtocolError(this.meter.meterId, "malformed ET160 record", { cause });
    }
  }

  private async readTable(request: ServiceRequest): Promise<Uint8Array> {
    const response = await this.exchange(request);
    if (response.response !== "okData") throw new MeterRejectedError(this.meter.meterId, response.response);
    return response.data;
  }

  /** One request/response, serialised per adapter; follows one 0x0C resync. */
  private exchange(request: ServiceRequest): Promise<ServiceResponse> {
    const run = this.queue.then(async () => {
      for (let attempt = 0; ; attempt++) {
        const response = await this.exchangeOnce(request);
        if (response.response === "invalidSequenceNumber" && attempt < 2) {
          // The meter tells its current number; continue above it (never below what we reserved
          // unless the meter is behind: then the protocol leaves no choice but to follow it).
          this.counter.resync(response.seq);
          continue;
        }
        return response;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchangeOnce(request: ServiceRequest): Promise<ServiceResponse> {
    if (this.closed) throw new MeterConnectionError(this.meter.meterId, this.identity.endpoint, { details: "adapter closed" });
    await this.ensureSocket();
    const seq = this.counter.next;
    const headroom = this.st.reservedSeq === null ? 0 : (this.st.reservedSeq - seq + 0x100000000) % 0x100000000;
    if (headroom === 0 || headroom > SEQ_RESERVATION) {
      // Write-ahead: after a crash we resume at the reservation, so no seq (= GCM nonce) repeats.
      this.st.reservedSeq = (seq + SEQ_RESERVATION) >>> 0;
      await this.ctx.persist(this.state());
    }
    this.counter.take();
    const { frame, exchange } = this.suite.encodeRequest({ request, seq });
    const responseFrame = await this.roundTrip(frame);
    let decoded;
    try {
      decoded = this.suite.decodeResponse(responseFrame, exchange);
    } catch (cause) {
      if (isOsgpError(cause, "BAD_TAG") || isOsgpError(cause, "BAD_DIGEST")) throw new MeterAuthenticationError(this.meter.meterId, this.suite.name, { cause });
      this.dropSocket(undefined);
      throw new MeterProtocolError(this.meter.meterId, `undecodable response: ${(cause as Error).message}`, { cause });
    }
    if (decoded.seq !== null) {
      if (this.st.lastResponseSeq !== null && !isAfter(decoded.seq, this.st.lastResponseSeq)) {
        throw new MeterReplayError(this.meter.meterId, decoded.seq, this.st.lastResponseSeq);
      }
      this.st.lastResponseSeq = decoded.seq;
    }
    return decoded.response;
  }

  private roundTrip(frame: Uint8Array): Promise<Uint8Array> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new MeterConnectionError(this.meter.meterId, this.identity.endpoint));
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        // The stream may now be out of step: start over on a fresh connection.
        this.dropSocket(undefined);
        reject(new MeterTimeoutError(this.meter.meterId, this.ctx.timeoutMs));
      }, this.ctx.timeoutMs);
      this.waiter = { resolve, reject, timer };
      socket.write(frame);
    });
  }

  private ensureSocket(): Promise<void> {
    if (this.socket && !this.socket.destroyed && !this.connecting) return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.connecting = this.openSocket().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private openSocket(): Promise<void> {
    const { host, port, meterId, addressed } = this.meter;
    return new Promise<void>((resolve, reject) => {
      this.reader = new FrameReader();
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      let ready = false;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MeterTimeoutError(meterId, this.ctx.timeoutMs, { details: "connect" }));
      }, this.ctx.timeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (!ready) reject(new MeterConnectionError(meterId, this.identity.endpoint, { cause: e }));
      };
      socket.once("error", fail);
      socket.on("close", () => {
        if (this.socket === socket) this.socket = undefined;
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          clearTimeout(w.timer);
          w.reject(new MeterConnectionError(meterId, this.identity.endpoint, { details: "connection closed" }));
        }
        if (!ready) fail(new Error("closed during connect"));
      });
      socket.on("data", (chunk) => {
        for (const frame of this.reader.push(chunk)) {
          if (!ready) {
            // Answer to the address frame: an echo, or NK.
            clearTimeout(timer);
            if (frame.length === ADDRESS_FRAME_NAK.length && frame[2] === ADDRESS_FRAME_NAK[2] && frame[3] === ADDRESS_FRAME_NAK[3]) {
              socket.destroy();
              reject(new MeterConnectionError(meterId, this.identity.endpoint, { details: "the concentrator does not know this meter" }));
              return;
            }
            ready = true;
            this.socket = socket;
            resolve();
            continue;
          }
          const w = this.waiter;
          if (!w) continue; // a late answer after a timeout: dropped with the connection anyway
          this.waiter = undefined;
          clearTimeout(w.timer);
          w.resolve(frame);
        }
      });
      socket.once("connect", () => {
        socket.off("error", fail);
        socket.on("error", () => socket.destroy());
        if (addressed) {
          socket.write(encodeAddressFrame(meterId));
        } else {
          clearTimeout(timer);
          ready = true;
          this.socket = socket;
          resolve();
        }
      });
    });
  }

  private dropSocket(reason: Error | undefined): void {
    const s = this.socket;
    this.socket = undefined;
    if (s) s.destroy();
    if (reason && this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.reject(reason);
    }
  }
}
