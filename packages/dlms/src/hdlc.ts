// HDLC frames of IEC 62056-46 (frame format type 3):
//   7E | A0+S+len(11 bits) | dst addr | src addr | control | [HCS | information] | FCS | 7E
// The length counts the bytes between the flags. HCS (over format..control) is present only when
// there is an information field; FCS covers format..information. Both are CRC-16/X.25, LSB first.
import { crc16x25 } from "./crc";
import { BadChecksumError, FieldValueError, InvalidArgumentError, LimitExceededError, TrailingBytesError, TruncatedError } from "./errors";
import { Reader, Writer } from "./layout";

export const HDLC_FLAG = 0x7e;
/** Largest frame length the 11-bit length field can express. */
export const HDLC_MAX_LENGTH = 0x7ff;
export const LLC_COMMAND = Uint8Array.of(0xe6, 0xe6, 0x00);
export const LLC_RESPONSE = Uint8Array.of(0xe6, 0xe7, 0x00);

/**
 * An HDLC address: `upper` (logical device / client SAP) and `lower` (physical device) HDLC
 * addresses; `length` is the encoded size, 1, 2 or 4 bytes. `lower` is null for 1-byte addresses.
 */
export interface HdlcAddress {
  upper: number;
  lower: number | null;
  length: 1 | 2 | 4;
}

export type HdlcFrameType = "I" | "RR" | "RNR" | "SNRM" | "UA" | "DISC" | "DM" | "FRMR" | "UI";

export interface HdlcControl {
  type: HdlcFrameType;
  /** Poll/final bit. */
  pf: boolean;
  /** N(S), send sequence number (I frames). */
  ns?: number;
  /** N(R), receive sequence number (I, RR, RNR). */
  nr?: number;
}

export interface HdlcFrame {
  /** Segmentation bit of the frame format field: more segments follow. */
  segmented: boolean;
  /** Frame length from the format field (bytes between the flags). */
  length: number;
  dst: HdlcAddress;
  src: HdlcAddress;
  control: HdlcControl;
  /** HCS as carried (null when the frame has no information field). */
  hcs: number | null;
  fcs: number;
  /** The information field (LLC header included when present). */
  info: Uint8Array;
}

// Unnumbered commands and responses: control byte with the P/F bit (0x10) cleared.
const U_FRAMES: Record<number, HdlcFrameType> = { 0x83: "SNRM", 0x63: "UA", 0x43: "DISC", 0x0f: "DM", 0x87: "FRMR", 0x03: "UI" };
const U_CODES: Partial<Record<HdlcFrameType, number>> = { SNRM: 0x83, UA: 0x63, DISC: 0x43, DM: 0x0f, FRMR: 0x87, UI: 0x03 };

/**
 * Decodes a control byte.
 * @example
 * decodeControl(0x93) // { type: "SNRM", pf: true }
 * decodeControl(0x32) // { type: "I", pf: true, ns: 1, nr: 1 }
 */
export function decodeControl(byte: number): HdlcControl {
  const pf = (byte & 0x10) !== 0;
  if ((byte & 1) === 0) return { type: "I", pf, ns: (byte >> 1) & 7, nr: byte >> 5 };
  if ((byte & 3) === 1) {
    const s = (byte >> 2) & 3;
    if (s === 0) return { type: "RR", pf, nr: byte >> 5 };
    if (s === 1) return { type: "RNR", pf, nr: byte >> 5 };
    throw new FieldValueError("BAD_FORMAT", "control (supervisory)", byte, "RR (xxx1 0001) or RNR (xxx1 0101); REJ/SREJ are not used by DLMS");
  }
  const type = U_FRAMES[byte & 0xef];
  if (type === undefined) throw new FieldValueError("BAD_FORMAT", "control (unnumbered)", byte, "SNRM, UA, DISC, DM, FRMR or UI");
  return { type, pf };
}

export function encodeControl(c: HdlcControl): number {
  const pf = c.pf ? 0x10 : 0;
  const seq = (name: "ns" | "nr") => {
    const v = c[name] ?? 0;
    if (!Number.isInteger(v) || v < 0 || v > 7) throw new InvalidArgumentError(`control.${name}`, v, "0..7");
    return v;
  };
  if (c.type === "I") return (seq("nr") << 5) | pf | (seq("ns") << 1);
  if (c.type === "RR") return (seq("nr") << 5) | pf | 0x01;
  if (c.type === "RNR") return (seq("nr") << 5) | pf | 0x05;
  const code = U_CODES[c.type];
  if (code === undefined) throw new InvalidArgumentError("control.type", c.type, "an HDLC frame type");
  return code | pf;
}

function readAddress(r: Reader, field: string): HdlcAddress {
  const bytes: number[] = [];
  for (;;) {
    const b = r.u8(field);
    bytes.push(b);
    if (b & 1) break;
    if (bytes.length === 4) throw new FieldValueError("BAD_ADDRESS", field, b, "an address of 1, 2 or 4 bytes ending in a byte with bit 0 set");
  }
  if (bytes.length === 1) return { upper: bytes[0] >> 1, lower: null, length: 1 };
  if (bytes.length === 2) return { upper: bytes[0] >> 1, lower: bytes[1] >> 1, length: 2 };
  if (bytes.length === 4) return { upper: ((bytes[0] >> 1) << 7) | (bytes[1] >> 1), lower: ((bytes[2] >> 1) << 7) | (bytes[3] >> 1), length: 4 };
  throw new FieldValueError("BAD_ADDRESS", field, bytes[bytes.length - 1], "an address of 1, 2 or 4 bytes (3 is not allowed)");
}

/** Builds an address in the smallest form that holds it (or `length` if given). */
export function hdlcAddress(upper: number, lower: number | null = null, length?: 1 | 2 | 4): HdlcAddress {
  const max = Math.max(upper, lower ?? 0);
  const len = length ?? (lower === null ? 1 : max < 0x80 ? 2 : 4);
  return { upper, lower: len === 1 ? null : lower ?? 0, length: len };
}

function writeAddress(w: Writer, a: HdlcAddress, field: string): void {
  const limit = a.length === 4 ? 0x3fff : 0x7f;
  const check = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > limit) throw new InvalidArgumentError(`${field}.${name}`, v, `0..${limit} for a ${a.length}-byte address`);
    return v;
  };
  const up = check("upper", a.upper);
  if (a.length === 1) {
    w.u8((up << 1) | 1);
    return;
  }
  const lo = check("lower", a.lower ?? 0);
  if (a.length === 2) w.u8(up << 1).u8((lo << 1) | 1);
  else w.u8((up >> 7) << 1).u8((up & 0x7f) << 1).u8((lo >> 7) << 1).u8(((lo & 0x7f) << 1) | 1);
}

export interface DecodeHdlcFrameOptions {
  /** Report bad HCS/FCS in the result instead of throwing (for debugging captures). Default: throw. */
  onBadChecksum?: "throw" | "report";
}
export interface DecodeHdlcFrameReturnType extends HdlcFrame {
  /** Bytes the frame took from the input, flags included. */
  consumed: number;
  checksumsValid: boolean;
}

/**
 * Decodes one HDLC frame starting at `offset` (which must hold the opening flag). Bytes after the
 * closing flag are left for the caller unless `exact` (then they are an error).
 * @example
 * decodeHdlcFrame(hexToBytes("7ea00802232193bd647e")).control // { type: "SNRM", pf: true }
 */
export function decodeHdlcFrame(bytes: Uint8Array, options: DecodeHdlcFrameOptions & { offset?: number; exact?: boolean } = {}): DecodeHdlcFrameReturnType {
  const start = options.offset ?? 0;
  const r = new Reader(bytes, start);
  const open = r.u8("opening flag");
  if (open !== HDLC_FLAG) throw new FieldValueError("BAD_FLAG", "opening flag", open, "0x7e");
  const format = r.u16("frame format");
  if (format >> 12 !== 0xa) throw new FieldValueError("BAD_FORMAT", "frame format type", format >> 12, "0xa (type 3)");
  const segmented = (format & 0x0800) !== 0;
  const length = format & 0x07ff;
  // format(2) + dst(>=1) + src(>=1) + control(1) + FCS(2)
  if (length < 7) throw new FieldValueError("BAD_FORMAT", "frame length", length, "at least 7");
  r.need(length - 1, "frame (length field)");
  const frameEnd = start + 1 + length; // index of the closing flag
  r.end = frameEnd;
  const dst = readAddress(r, "destination address");
  const src = readAddress(r, "source address");
  const controlByte = r.u8("control");
  const control = decodeControl(controlByte);
  const headerEnd = r.pos;
  let valid = true;
  const report = options.onBadChecksum === "report";
  let hcs: number | null = null;
  let info: Uint8Array;
  if (frameEnd - headerEnd === 2) {
    info = new Uint8Array(0);
  } else {
    hcs = r.u8("HCS") | (r.u8("HCS") << 8);
    const expected = crc16x25(bytes, start + 1, headerEnd);
    if (expected !== hcs) {
      if (!report) throw new BadChecksumError("HCS", expected, hcs);
      valid = false;
    }
    r.need(2, "FCS");
    info = bytes.slice(r.pos, frameEnd - 2);
  }
  const fcs = bytes[frameEnd - 2] | (bytes[frameEnd - 1] << 8);
  const expectedFcs = crc16x25(bytes, start + 1, frameEnd - 2);
  if (expectedFcs !== fcs) {
    if (!report) throw new BadChecksumError("FCS", expectedFcs, fcs);
    valid = false;
  }
  if (frameEnd >= bytes.length) throw new TruncatedError("closing flag", 1, 0);
  if (bytes[frameEnd] !== HDLC_FLAG) throw new FieldValueError("BAD_FLAG", "closing flag", bytes[frameEnd], "0x7e");
  const consumed = frameEnd + 1 - start;
  if (options.exact && frameEnd + 1 !== bytes.length) throw new TrailingBytesError("HDLC frame", bytes.length - frameEnd - 1);
  return { segmented, length, dst, src, control, hcs, fcs, info, consumed, checksumsValid: valid };
}

export interface EncodeHdlcFrameParameters {
  dst: HdlcAddress;
  src: HdlcAddress;
  control: HdlcControl;
  info?: Uint8Array;
  segmented?: boolean;
}

/**
 * Encodes one HDLC frame, flags, HCS and FCS included.
 * @example
 * encodeHdlcFrame({ dst: hdlcAddress(1, 17), src: hdlcAddress(16), control: { type: "SNRM", pf: true } })
 * // 7ea00802232193bd647e
 */
export function encodeHdlcFrame(p: EncodeHdlcFrameParameters): Uint8Array {
  const head = new Writer();
  writeAddress(head, p.dst, "dst");
  writeAddress(head, p.src, "src");
  head.u8(encodeControl(p.control));
  const addrCtl = head.finish();
  const info = p.info ?? new Uint8Array(0);
  const length = 2 + addrCtl.length + (info.length ? 2 + info.length : 0) + 2;
  if (length > HDLC_MAX_LENGTH) throw new InvalidArgumentError("info.length", info.length, `a frame of at most ${HDLC_MAX_LENGTH} bytes; segment it`);
  const out = new Uint8Array(length + 2);
  out[0] = HDLC_FLAG;
  out[1] = 0xa0 | (p.segmented ? 0x08 : 0) | (length >> 8);
  out[2] = length & 0xff;
  out.set(addrCtl, 3);
  let pos = 3 + addrCtl.length;
  if (info.length) {
    const hcs = crc16x25(out, 1, pos);
    out[pos++] = hcs & 0xff;
    out[pos++] = hcs >> 8;
    out.set(info, pos);
    pos += info.length;
  }
  const fcs = crc16x25(out, 1, pos);
  out[pos++] = fcs & 0xff;
  out[pos++] = fcs >> 8;
  out[pos] = HDLC_FLAG;
  return out;
}

/** The LLC header at the start of an information field, if any, and the APDU after it. */
export function splitLlc(info: Uint8Array): { llc: "command" | "response" | null; apdu: Uint8Array } {
  if (info.length >= 3 && info[0] === 0xe6 && (info[1] === 0xe6 || info[1] === 0xe7) && info[2] === 0x00) {
    return { llc: info[1] === 0xe6 ? "command" : "response", apdu: info.subarray(3) };
  }
  return { llc: null, apdu: info };
}

/** HDLC parameters negotiated in SNRM/UA information fields (IEC 62056-46 6.4.4.4.3.2). */
export interface HdlcParameters {
  maxInfoTransmit?: number;
  maxInfoReceive?: number;
  windowTransmit?: number;
  windowReceive?: number;
}
const PARAM_IDS: Record<number, keyof HdlcParameters> = { 5: "maxInfoTransmit", 6: "maxInfoReceive", 7: "windowTransmit", 8: "windowReceive" };

/**
 * Decodes an SNRM/UA parameter negotiation field (81 80 len {id len value}...).
 * @example
 * decodeHdlcParameters(hexToBytes("818012050180060180070101080101")) // { maxInfoTransmit: 128, ... }
 */
export function decodeHdlcParameters(info: Uint8Array): HdlcParameters {
  const r = new Reader(info);
  const format = r.u8("format identifier");
  if (format !== 0x81) throw new FieldValueError("BAD_FORMAT", "parameter format identifier", format, "0x81");
  const group = r.u8("group identifier");
  if (group !== 0x80) throw new FieldValueError("BAD_FORMAT", "parameter group identifier", group, "0x80");
  const len = r.u8("group length");
  r.need(len, "parameter group");
  r.end = r.pos + len;
  const out: HdlcParameters = {};
  while (r.remaining > 0) {
    const id = r.u8("parameter id");
    const n = r.u8("parameter length");
    if (n > 4) throw new FieldValueError("BAD_FORMAT", "parameter length", n, "1..4");
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + r.u8("parameter value");
    const key = PARAM_IDS[id];
    if (key) out[key] = v;
  }
  return out;
}

export function encodeHdlcParameters(p: HdlcParameters): Uint8Array {
  const body = new Writer();
  for (const [id, key] of Object.entries(PARAM_IDS)) {
    const v = p[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidArgumentError(key, v, "0..2^32-1");
    const n = v <= 0xff ? 1 : v <= 0xffff ? 2 : 4;
    body.u8(Number(id)).u8(n);
    for (let i = n - 1; i >= 0; i--) body.u8(Math.floor(v / 256 ** i) & 0xff);
  }
  const b = body.finish();
  return new Writer().u8(0x81).u8(0x80).u8(b.length).bytes(b).finish();
}

/**
 * Joins the information fields of segmented I/UI frames (segmentation bit set on all but the last)
 * into one message, per source/destination pair. Memory is bounded twice over: a message may not
 * exceed `maxMessageSize` (SEGMENT_OVERFLOW), and at most `maxPending` unfinished messages are kept
 * (the oldest is dropped and counted in `evicted`), so a peer cycling addresses cannot grow the table.
 */
export class HdlcReassembler {
  private parts = new Map<string, { chunks: Uint8Array[]; size: number }>();
  /** Unfinished messages dropped to make room for newer ones. */
  evicted = 0;
  constructor(
    readonly maxMessageSize = 0x10000,
    readonly maxPending = 16,
  ) {}

  /** Feeds one decoded frame; returns the whole information field when the frame completes a message. */
  push(frame: HdlcFrame): Uint8Array | undefined {
    if (frame.control.type !== "I" && frame.control.type !== "UI") return undefined;
    const key = `${frame.src.upper}/${frame.src.lower}>${frame.dst.upper}/${frame.dst.lower}`;
    let entry = this.parts.get(key);
    if (entry === undefined) {
      if (!frame.segmented) return frame.info;
      if (this.parts.size >= this.maxPending) {
        this.parts.delete(this.parts.keys().next().value as string);
        this.evicted++;
      }
      entry = { chunks: [], size: 0 };
    }
    entry.size += frame.info.length;
    if (entry.size > this.maxMessageSize) {
      this.parts.delete(key);
      throw new LimitExceededError("SEGMENT_OVERFLOW", this.maxMessageSize, entry.size);
    }
    entry.chunks.push(frame.info);
    if (frame.segmented) {
      this.parts.set(key, entry);
      return undefined;
    }
    this.parts.delete(key);
    const out = new Uint8Array(entry.size);
    let p = 0;
    for (const c of entry.chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }

  /** Messages still waiting for segments. */
  get pending(): number {
    return this.parts.size;
  }
}

/**
 * Splits an information field into segments of at most `maxInfo` bytes and frames them as I frames
 * with consecutive N(S) from `ns` (mod 8), the segmentation bit on all but the last.
 */
export function segmentHdlc(p: { dst: HdlcAddress; src: HdlcAddress; info: Uint8Array; maxInfo: number; ns: number; nr: number }): Uint8Array[] {
  if (!Number.isInteger(p.maxInfo) || p.maxInfo < 1) throw new InvalidArgumentError("maxInfo", p.maxInfo, "a positive integer");
  const frames: Uint8Array[] = [];
  for (let off = 0, i = 0; off < p.info.length || i === 0; off += p.maxInfo, i++) {
    const chunk = p.info.subarray(off, off + p.maxInfo);
    const last = off + p.maxInfo >= p.info.length;
    frames.push(encodeHdlcFrame({ dst: p.dst, src: p.src, control: { type: "I", pf: true, ns: (p.ns + i) & 7, nr: p.nr }, info: chunk, segmented: !last }));
  }
  return frames;
}
