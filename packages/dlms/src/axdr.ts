// A-XDR encoding of COSEM `Data` (IEC 62056-6-2 / Green Book 9.5): tag byte, then the value.
// Lengths use the short form (< 0x80) or the long form 0x81..0x84 followed by 1..4 length bytes.
import { FieldValueError, InvalidArgumentError, LimitExceededError, UnknownTagError } from "./errors";
import { Reader, Writer, compileLayout } from "./layout";

/** Data type tags, by the names the Blue Book uses. */
export const DATA_TAGS = {
  "null-data": 0,
  array: 1,
  structure: 2,
  boolean: 3,
  "bit-string": 4,
  "double-long": 5,
  "double-long-unsigned": 6,
  "octet-string": 9,
  "visible-string": 10,
  "utf8-string": 12,
  bcd: 13,
  integer: 15,
  long: 16,
  unsigned: 17,
  "long-unsigned": 18,
  "compact-array": 19,
  long64: 20,
  "long64-unsigned": 21,
  enum: 22,
  float32: 23,
  float64: 24,
  "date-time": 25,
  date: 26,
  time: 27,
} as const;
export type DataTypeName = keyof typeof DATA_TAGS;
const TAG_NAMES: (DataTypeName | undefined)[] = [];
for (const [n, t] of Object.entries(DATA_TAGS)) TAG_NAMES[t] = n as DataTypeName;

/** COSEM date-time: `null` marks a field the meter left "not specified" (0xFF, 0xFFFF, 0x8000). */
export interface CosemDateTime {
  year: number | null;
  month: number | null;
  dayOfMonth: number | null;
  dayOfWeek: number | null;
  hour: number | null;
  minute: number | null;
  second: number | null;
  hundredths: number | null;
  /** Minutes of local time to UTC as sent (UTC = local + deviation, so CET is -60); null when not specified. */
  deviation: number | null;
  /** Bits: 0 invalid, 1 doubtful, 2 different base, 3 invalid status, 7 daylight saving active; null when 0xFF. */
  clockStatus: number | null;
}
export type CosemDate = Pick<CosemDateTime, "year" | "month" | "dayOfMonth" | "dayOfWeek">;
export type CosemTime = Pick<CosemDateTime, "hour" | "minute" | "second" | "hundredths">;

/** A compact-array type description (Blue Book 9.5: TypeDescription). */
export type TypeDescription =
  | { type: "array"; count: number; element: TypeDescription }
  | { type: "structure"; elements: TypeDescription[] }
  | { type: Exclude<DataTypeName, "array" | "structure" | "compact-array"> };

export type DlmsData =
  | { type: "null-data" }
  | { type: "boolean"; value: boolean }
  /** Bits as '0'/'1' characters, first bit first. */
  | { type: "bit-string"; value: string }
  | { type: "double-long" | "double-long-unsigned" | "integer" | "long" | "unsigned" | "long-unsigned" | "enum" | "bcd"; value: number }
  | { type: "long64" | "long64-unsigned"; value: bigint }
  | { type: "float32" | "float64"; value: number }
  | { type: "octet-string"; value: Uint8Array }
  | { type: "visible-string" | "utf8-string"; value: string }
  | { type: "date-time"; value: CosemDateTime }
  | { type: "date"; value: CosemDate }
  | { type: "time"; value: CosemTime }
  | { type: "array" | "structure"; value: DlmsData[] }
  | { type: "compact-array"; description: TypeDescription; value: DlmsData[] };

/** Nesting limit for arrays and structures: deep enough for any profile, shallow enough for the stack. */
export const MAX_DATA_DEPTH = 32;

export const DATE_TIME_LAYOUT = compileLayout("date-time", [
  { name: "year", type: "u16" },
  { name: "month", type: "u8" },
  { name: "dayOfMonth", type: "u8" },
  { name: "dayOfWeek", type: "u8" },
  { name: "hour", type: "u8" },
  { name: "minute", type: "u8" },
  { name: "second", type: "u8" },
  { name: "hundredths", type: "u8" },
  { name: "deviation", type: "i16" },
  { name: "clockStatus", type: "u8" },
] as const);
const DATE_LAYOUT = compileLayout("date", [
  { name: "year", type: "u16" },
  { name: "month", type: "u8" },
  { name: "dayOfMonth", type: "u8" },
  { name: "dayOfWeek", type: "u8" },
] as const);
const TIME_LAYOUT = compileLayout("time", [
  { name: "hour", type: "u8" },
  { name: "minute", type: "u8" },
  { name: "second", type: "u8" },
  { name: "hundredths", type: "u8" },
] as const);

const nul8 = (v: number) => (v === 0xff ? null : v);
const un8 = (v: number | null) => (v === null ? 0xff : v);

/**
 * Decodes a 12-byte COSEM date-time.
 * @example
 * decodeDateTime(hexToBytes("07e1090c0217122aff800000")) // { year: 2017, month: 9, dayOfMonth: 12, hour: 23, ... deviation: null }
 */
export function decodeDateTime(bytes: Uint8Array, offset = 0): CosemDateTime {
  const v = DATE_TIME_LAYOUT.decode(bytes, offset);
  return {
    year: v.year === 0xffff ? null : v.year,
    month: nul8(v.month),
    dayOfMonth: nul8(v.dayOfMonth),
    dayOfWeek: nul8(v.dayOfWeek),
    hour: nul8(v.hour),
    minute: nul8(v.minute),
    second: nul8(v.second),
    hundredths: nul8(v.hundredths),
    deviation: v.deviation === -0x8000 ? null : v.deviation,
    clockStatus: nul8(v.clockStatus),
  };
}

export function encodeDateTime(dt: CosemDateTime): Uint8Array {
  return DATE_TIME_LAYOUT.encode({
    year: dt.year === null ? 0xffff : dt.year,
    month: un8(dt.month),
    dayOfMonth: un8(dt.dayOfMonth),
    dayOfWeek: un8(dt.dayOfWeek),
    hour: un8(dt.hour),
    minute: un8(dt.minute),
    second: un8(dt.second),
    hundredths: un8(dt.hundredths),
    deviation: dt.deviation === null ? -0x8000 : dt.deviation,
    clockStatus: un8(dt.clockStatus),
  });
}

/**
 * ISO-8601 text for a date-time with year..second given: with the UTC offset (-deviation) when the
 * deviation is specified, else as local time without offset. Null if a field up to the second is missing.
 */
export function formatDateTime(dt: CosemDateTime): string | null {
  if (dt.year === null || dt.month === null || dt.dayOfMonth === null || dt.hour === null || dt.minute === null || dt.second === null) return null;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  let s = `${p(dt.year, 4)}-${p(dt.month)}-${p(dt.dayOfMonth)}T${p(dt.hour)}:${p(dt.minute)}:${p(dt.second)}`;
  if (dt.hundredths !== null) s += `.${p(dt.hundredths)}`;
  if (dt.deviation !== null) {
    const off = -dt.deviation;
    s += `${off < 0 ? "-" : "+"}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  }
  return s;
}

/** Reads an A-XDR length (short form or 0x81..0x84 long form). */
export function readLength(r: Reader, field: string): number {
  const first = r.u8(field);
  if (first < 0x80) return first;
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new FieldValueError("BAD_LENGTH_ENCODING", field, first, "a short length or 0x81..0x84");
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + r.u8(field);
  return len;
}

export function writeLength(w: Writer, length: number): Writer {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new InvalidArgumentError("length", length, "0..2^32-1");
  if (length < 0x80) return w.u8(length);
  if (length <= 0xff) return w.u8(0x81).u8(length);
  if (length <= 0xffff) return w.u8(0x82).u16(length);
  if (length <= 0xffffff) return w.u8(0x83).u8(length >>> 16).u16(length & 0xffff);
  return w.u8(0x84).u32(length);
}

/**
 * Decodes one A-XDR `Data` value at the reader's position.
 * @example
 * decodeData(new Reader(hexToBytes("0600000528"))) // { type: "double-long-unsigned", value: 1320 }
 */
export function decodeData(r: Reader, depth = 0): DlmsData {
  if (depth > MAX_DATA_DEPTH) throw new LimitExceededError("TOO_DEEP", MAX_DATA_DEPTH, depth);
  const tag = r.u8("data tag");
  const name = TAG_NAMES[tag];
  if (name === undefined) throw new UnknownTagError("data", tag);
  return decodeTyped(r, name, depth);
}

function decodeTyped(r: Reader, type: DataTypeName, depth: number): DlmsData {
  switch (type) {
    case "null-data":
      return { type };
    case "array":
    case "structure": {
      const count = readLength(r, `${type} count`);
      // Every element takes at least one byte: a count larger than what is left is a lie, not an allocation.
      if (count > r.remaining) r.need(count, `${type} of ${count} elements`);
      const value: DlmsData[] = [];
      for (let i = 0; i < count; i++) value.push(decodeData(r, depth + 1));
      return { type, value };
    }
    case "boolean":
      return { type, value: r.u8("boolean") !== 0 };
    case "bit-string": {
      const bits = readLength(r, "bit-string length");
      const bytes = r.view(Math.ceil(bits / 8), "bit-string");
      let value = "";
      for (let i = 0; i < bits; i++) value += (bytes[i >> 3] >> (7 - (i & 7))) & 1 ? "1" : "0";
      return { type, value };
    }
    case "double-long": {
      r.need(4, type);
      return { type, value: r.u32(type) | 0 };
    }
    case "double-long-unsigned":
      return { type, value: r.u32(type) };
    case "octet-string":
      return { type, value: r.take(readLength(r, "octet-string length"), "octet-string") };
    case "visible-string":
      return { type, value: latin1(r.view(readLength(r, "visible-string length"), "visible-string")) };
    case "utf8-string":
      return { type, value: new TextDecoder().decode(r.view(readLength(r, "utf8-string length"), "utf8-string")) };
    case "bcd":
    case "unsigned":
    case "enum":
      return { type, value: r.u8(type) };
    case "integer":
      return { type, value: r.i8(type) };
    case "long":
      return { type, value: (r.u16(type) << 16) >> 16 };
    case "long-unsigned":
      return { type, value: r.u16(type) };
    case "long64":
    case "long64-unsigned": {
      const b = r.view(8, type);
      const dv = new DataView(b.buffer, b.byteOffset, 8);
      return { type, value: type === "long64" ? dv.getBigInt64(0) : dv.getBigUint64(0) };
    }
    case "float32":
    case "float64": {
      const n = type === "float32" ? 4 : 8;
      const b = r.view(n, type);
      const dv = new DataView(b.buffer, b.byteOffset, n);
      return { type, value: n === 4 ? dv.getFloat32(0) : dv.getFloat64(0) };
    }
    case "date-time":
      return { type, value: decodeDateTime(r.view(12, type)) };
    case "date": {
      const v = r.layout(DATE_LAYOUT);
      return { type, value: { year: v.year === 0xffff ? null : v.year, month: nul8(v.month), dayOfMonth: nul8(v.dayOfMonth), dayOfWeek: nul8(v.dayOfWeek) } };
    }
    case "time": {
      const v = r.layout(TIME_LAYOUT);
      return { type, value: { hour: nul8(v.hour), minute: nul8(v.minute), second: nul8(v.second), hundredths: nul8(v.hundredths) } };
    }
    case "compact-array": {
      const description = readTypeDescription(r, depth + 1);
      // Every element must take at least one byte, or a short capture could describe billions of them.
      if (!takesBytes(description)) throw new FieldValueError("BAD_FORMAT", "compact-array type description", DATA_TAGS[description.type], "a type whose values take at least one byte");
      const len = readLength(r, "compact-array contents length");
      const sub = new Reader(r.bytes, r.pos, r.pos + len);
      r.need(len, "compact-array contents");
      r.pos += len;
      const value: DlmsData[] = [];
      while (sub.remaining > 0) value.push(decodeDescribed(sub, description, depth + 1));
      return { type, description, value };
    }
  }
}

function readTypeDescription(r: Reader, depth: number): TypeDescription {
  if (depth > MAX_DATA_DEPTH) throw new LimitExceededError("TOO_DEEP", MAX_DATA_DEPTH, depth);
  const tag = r.u8("type description tag");
  const name = TAG_NAMES[tag];
  if (name === undefined || name === "compact-array") throw new UnknownTagError("type description", tag);
  if (name === "array") {
    const count = r.u16("array description count");
    return { type: "array", count, element: readTypeDescription(r, depth + 1) };
  }
  if (name === "structure") {
    const n = readLength(r, "structure description count");
    if (n > r.remaining) r.need(n, "structure description");
    const elements: TypeDescription[] = [];
    for (let i = 0; i < n; i++) elements.push(readTypeDescription(r, depth + 1));
    return { type: "structure", elements };
  }
  return { type: name };
}

function takesBytes(d: TypeDescription): boolean {
  if (d.type === "null-data") return false;
  if (d.type === "array") return d.count > 0 && takesBytes(d.element);
  if (d.type === "structure") return d.elements.length > 0 && d.elements.every(takesBytes);
  return true;
}

function decodeDescribed(r: Reader, d: TypeDescription, depth: number): DlmsData {
  if (depth > MAX_DATA_DEPTH) throw new LimitExceededError("TOO_DEEP", MAX_DATA_DEPTH, depth);
  if (d.type === "array") {
    if (d.count > r.remaining) r.need(d.count, "compact array element");
    const value: DlmsData[] = [];
    for (let i = 0; i < d.count; i++) value.push(decodeDescribed(r, d.element, depth + 1));
    return { type: "array", value };
  }
  if (d.type === "structure") return { type: "structure", value: d.elements.map((e) => decodeDescribed(r, e, depth + 1)) };
  return decodeTyped(r, d.type, depth);
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/**
 * Encodes one `Data` value (tag and value).
 * @example
 * encodeData({ type: "long-unsigned", value: 230 }) // 12 00 e6
 */
export function encodeData(data: DlmsData): Uint8Array {
  const w = new Writer();
  writeData(w, data);
  return w.finish();
}

function intIn(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, v, `an integer in ${min}..${max}`);
  return v;
}

export function writeData(w: Writer, data: DlmsData): Writer {
  w.u8(DATA_TAGS[data.type]);
  switch (data.type) {
    case "null-data":
      return w;
    case "array":
    case "structure":
      writeLength(w, data.value.length);
      for (const d of data.value) writeData(w, d);
      return w;
    case "boolean":
      return w.u8(data.value ? 1 : 0);
    case "bit-string": {
      if (!/^[01]*$/.test(data.value)) throw new InvalidArgumentError("bit-string", data.value, "'0'/'1' characters");
      const out = new Uint8Array(Math.ceil(data.value.length / 8));
      for (let i = 0; i < data.value.length; i++) if (data.value[i] === "1") out[i >> 3] |= 0x80 >> (i & 7);
      return writeLength(w, data.value.length).bytes(out);
    }
    case "double-long":
      return w.u32(intIn(data.type, data.value, -0x80000000, 0x7fffffff) >>> 0);
    case "double-long-unsigned":
      return w.u32(intIn(data.type, data.value, 0, 0xffffffff));
    case "octet-string":
      return writeLength(w, data.value.length).bytes(data.value);
    case "visible-string": {
      const b = Uint8Array.from(data.value, (c) => c.charCodeAt(0) & 0xff);
      return writeLength(w, b.length).bytes(b);
    }
    case "utf8-string": {
      const b = new TextEncoder().encode(data.value);
      return writeLength(w, b.length).bytes(b);
    }
    case "bcd":
    case "unsigned":
    case "enum":
      return w.u8(intIn(data.type, data.value, 0, 0xff));
    case "integer":
      return w.u8(intIn(data.type, data.value, -0x80, 0x7f));
    case "long":
      return w.u16(intIn(data.type, data.value, -0x8000, 0x7fff) & 0xffff);
    case "long-unsigned":
      return w.u16(intIn(data.type, data.value, 0, 0xffff));
    case "long64":
    case "long64-unsigned": {
      const b = new Uint8Array(8);
      const dv = new DataView(b.buffer);
      try {
        if (data.type === "long64") dv.setBigInt64(0, BigInt.asIntN(64, data.value) === data.value ? data.value : (() => { throw new RangeError(); })());
        else dv.setBigUint64(0, BigInt.asUintN(64, data.value) === data.value ? data.value : (() => { throw new RangeError(); })());
      } catch {
        throw new InvalidArgumentError(data.type, data.value, "a 64-bit integer");
      }
      return w.bytes(b);
    }
    case "float32":
    case "float64": {
      const n = data.type === "float32" ? 4 : 8;
      const b = new Uint8Array(n);
      const dv = new DataView(b.buffer);
      if (n === 4) dv.setFloat32(0, data.value);
      else dv.setFloat64(0, data.value);
      return w.bytes(b);
    }
    case "date-time":
      return w.bytes(encodeDateTime(data.value));
    case "date":
      return w.bytes(encodeDateTime({ ...data.value, hour: null, minute: null, second: null, hundredths: null, deviation: null, clockStatus: null }).subarray(0, 5));
    case "time":
      return w.bytes(encodeDateTime({ year: null, month: null, dayOfMonth: null, dayOfWeek: null, ...data.value, deviation: null, clockStatus: null }).subarray(5, 9));
    case "compact-array": {
      writeTypeDescription(w, data.description);
      const inner = new Writer();
      for (const d of data.value) writeDescribed(inner, d);
      const contents = inner.finish();
      return writeLength(w, contents.length).bytes(contents);
    }
  }
}

function writeTypeDescription(w: Writer, d: TypeDescription): void {
  w.u8(DATA_TAGS[d.type]);
  if (d.type === "array") {
    w.u16(d.count);
    writeTypeDescription(w, d.element);
  } else if (d.type === "structure") {
    writeLength(w, d.elements.length);
    for (const e of d.elements) writeTypeDescription(w, e);
  }
}

function writeDescribed(w: Writer, d: DlmsData): void {
  if (d.type === "array" || d.type === "structure") {
    for (const e of d.value) writeDescribed(w, e);
    return;
  }
  const full = encodeData(d);
  w.bytes(full.subarray(1));
}

/**
 * A plain-JSON view of a value: numbers stay numbers, bytes become hex, 64-bit integers become
 * decimal strings, date-times carry their ISO form.
 */
export function dataToJson(d: DlmsData): unknown {
  switch (d.type) {
    case "null-data":
      return null;
    case "array":
    case "structure":
    case "compact-array":
      return d.value.map(dataToJson);
    case "octet-string":
      return hex(d.value);
    case "long64":
    case "long64-unsigned":
      return d.value.toString();
    case "date-time":
      return { ...d.value, iso: formatDateTime(d.value) };
    default:
      return d.value;
  }
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}
