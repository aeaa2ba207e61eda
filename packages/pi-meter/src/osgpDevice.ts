// The OSGP side of a Sidegrid Pi meter, whatever feeds its tables: the request sequence window,
// the response counter, the security suite, and the table services the gateway uses (BT01, ET160,
// ET161 log view, ET163 acknowledgement). The simulated meter and the Pi agent both answer
// through it, so the gateway cannot tell a simulated household from a real meter's agent.
import {
  CURRENT_READING_TABLE_ID,
  IDENTIFICATION_TABLE_ID,
  LOG_ACK_LAYOUT,
  LOG_ACK_SIZE,
  LOG_ACK_TABLE_ID,
  LOG_HEADER_LAYOUT,
  LOG_HEADER_SIZE,
  LOG_TABLE_ID,
  LOG_VERSION,
  MAX_LOG_RECORDS_PER_FRAME,
  READING_RECORD_SIZE,
  SequenceWindow,
  createSecuritySuite,
  type SecuritySuite,
  type ServiceRequest,
  type ServiceResponse,
} from "@sidegrid/osgp-codec";
import { InvalidArgumentError } from "./errors";

export type MeterSuiteName = "aes-gcm" | "legacy-rc4-mep";

/** What the device's tables hold right now. */
export interface DeviceTables {
  /** BT01, 32 bytes. */
  identification(): Uint8Array;
  /** ET160: the current reading record. */
  currentRecord(): Uint8Array;
  /** ET161: header and up to `limit` unacknowledged records (see {@link encodeLogView}). */
  logView(limit: number): Uint8Array;
  /** ET163: records up to `ackedSeq` are stored by the gateway; false when it names a record not yet made. */
  acknowledge(ackedSeq: number): boolean;
}

/** Faults a test can switch on (the simulator's behaviours); a real agent has none. */
export interface DeviceFaults {
  silent?: boolean;
  replay?: boolean;
  badDigest?: boolean;
}

export interface OsgpDeviceParameters {
  meterId: number;
  suite?: MeterSuiteName;
  /** Master key the aes-gcm meter key is derived from (16 or 32 bytes): the simulator's way. */
  masterKey?: Uint8Array;
  /** Or this meter's own aes-gcm key (16 bytes): what a device in the field holds, never the master key. */
  meterKey?: Uint8Array;
  /** 16-byte MEP key for the legacy suite. */
  legacyKey?: Uint8Array;
  /** Where the request window and the response counter start (a deployed meter's are anywhere). */
  requestSeqStart: number;
  responseSeqStart: number;
  /** Records per full read of ET161. */
  maxRecordsPerRead: number;
  tables: DeviceTables;
  faults?: () => DeviceFaults;
}

/**
 * One meter's OSGP responder.
 * @example
 * const device = new OsgpDevice({ meterId: 7, masterKey, requestSeqStart: 0, responseSeqStart: 0, maxRecordsPerRead: 64, tables });
 * const response = device.handleFrame(frame); // null: stay silent
 */
export class OsgpDevice {
  readonly suiteName: MeterSuiteName;
  requests = 0;
  private readonly suite: SecuritySuite;
  private readonly window: SequenceWindow;
  private responseSeq: number;
  private lastResponse: { pdu: ServiceResponse; seq: number } | undefined;

  /** The sequence number the next response will carry (a restarted meter must not go below it). */
  get nextResponseSeq(): number {
    return this.responseSeq;
  }

  constructor(private readonly p: OsgpDeviceParameters) {
    this.suiteName = p.suite ?? "aes-gcm";
    if (this.suiteName === "aes-gcm") {
      if (p.meterKey) this.suite = createSecuritySuite("aes-gcm", { key: p.meterKey, meterId: p.meterId });
      else if (p.masterKey) this.suite = createSecuritySuite("aes-gcm", { masterKey: p.masterKey, meterId: p.meterId });
      else throw new InvalidArgumentError("meterKey", p.meterKey, "the meter's 16-byte aes-gcm key (or a master key to derive it)");
    } else {
      if (!p.legacyKey) throw new InvalidArgumentError("legacyKey", p.legacyKey, "a 16-byte MEP key");
      this.suite = createSecuritySuite("legacy-rc4-mep", { key: p.legacyKey, allowInsecure: true });
    }
    this.window = new SequenceWindow({ current: p.requestSeqStart });
    this.responseSeq = p.responseSeqStart;
  }

  /**
   * Handles one request frame and returns the response frame, or null when the meter stays silent
   * (a fault, or a request that does not authenticate: an aes-gcm meter cannot answer those).
   */
  handleFrame(frame: Uint8Array): Uint8Array | null {
    this.requests++;
    const faults = this.p.faults?.() ?? {};
    if (faults.silent) return null;
    let decoded;
    try {
      decoded = this.suite.decodeRequest(frame);
    } catch {
      return null;
    }
    let response: ServiceResponse;
    let responseSeq: number | undefined;
    const check = this.window.check(decoded.seq);
    if (!check.accepted) {
      response = this.window.rejection();
    } else if (faults.replay && this.lastResponse) {
      // Authenticated, but the meter's counter has been rolled back: a replayed answer.
      this.window.accept(decoded.seq);
      response = this.lastResponse.pdu;
      responseSeq = this.lastResponse.seq;
    } else {
      this.window.accept(decoded.seq);
      response = this.answer(decoded.request);
    }
    if (responseSeq === undefined) {
      responseSeq = this.responseSeq;
      this.responseSeq = (this.responseSeq + 1) >>> 0;
    }
    if (response.response === "okData") this.lastResponse = { pdu: { response: "okData", data: response.data.slice() }, seq: responseSeq };
    const out =
      this.suiteName === "aes-gcm"
        ? this.suite.encodeResponse({ response, exchange: decoded.exchange, seq: responseSeq })
        : this.suite.encodeResponse({ response, exchange: decoded.exchange });
    if (faults.badDigest) out[out.length - 1] ^= 0x5a;
    return out;
  }

  private answer(request: ServiceRequest): ServiceResponse {
    const t = this.p.tables;
    switch (request.service) {
      case "fullRead":
      case "partialRead": {
        const offset = request.service === "partialRead" ? request.offset : 0;
        if (request.tableId === LOG_TABLE_ID) {
          if (offset !== 0) return { response: "operationNotPossible" };
          const limit = request.service === "partialRead" ? Math.floor((request.count - LOG_HEADER_SIZE) / READING_RECORD_SIZE) : this.p.maxRecordsPerRead;
          if (limit < 0) return { response: "operationNotPossible" };
          return { response: "okData", data: t.logView(Math.min(limit, MAX_LOG_RECORDS_PER_FRAME)) };
        }
        let table: Uint8Array | undefined;
        if (request.tableId === CURRENT_READING_TABLE_ID) table = t.currentRecord();
        else if (request.tableId === IDENTIFICATION_TABLE_ID) table = t.identification();
        if (!table) return { response: "operationNotPossible" };
        if (request.service === "fullRead") return { response: "okData", data: table };
        if (offset + request.count > table.length) return { response: "operationNotPossible" };
        return { response: "okData", data: table.slice(offset, offset + request.count) };
      }
      case "fullWrite":
      case "partialWrite": {
        if (request.tableId !== LOG_ACK_TABLE_ID || request.service !== "fullWrite" || request.data.length !== LOG_ACK_SIZE) {
          return { response: "operationNotPossible" };
        }
        const { ackedSeq } = LOG_ACK_LAYOUT.decode(request.data);
        return t.acknowledge(ackedSeq) ? { response: "ok" } : { response: "operationNotPossible" };
      }
      default:
        return { response: "unsupportedRequest" };
    }
  }
}

/** ET161's answer: the 32-byte header, then the records (144 bytes each, oldest first). */
export function encodeLogView(v: { records: readonly Uint8Array[]; newestSeq: number; ackedSeq: number; intervalSeconds: number; clockMs: number }): Uint8Array {
  const out = new Uint8Array(LOG_HEADER_SIZE + v.records.length * READING_RECORD_SIZE);
  LOG_HEADER_LAYOUT.encodeInto(
    {
      version: LOG_VERSION,
      recordSize: READING_RECORD_SIZE,
      count: v.records.length,
      newestSeq: v.newestSeq,
      ackedSeq: v.ackedSeq,
      intervalSeconds: v.intervalSeconds,
      clockMs: Math.max(0, Math.round(v.clockMs)),
      reserved: new Uint8Array(8),
    },
    out,
    0,
  );
  for (let i = 0; i < v.records.length; i++) out.set(v.records[i]!, LOG_HEADER_SIZE + i * READING_RECORD_SIZE);
  return out;
}
