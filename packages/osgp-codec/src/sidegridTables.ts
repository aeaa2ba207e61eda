// The Sidegrid Pi meter's table set beyond the codec's ET160 reading record. Table data is LSB
// first (C12.19); layouts are data, encode/decode derived by the codec's compileLayout.
//
// | table | id     | access | content |
// | BT01  | 0x0001 | read   | C12.19 General Manufacturer Identification: manufacturer, model, versions, serial |
// | ET160 | 0x08A0 | read   | current reading (1-minute instantaneous values + registers), codec READING_RECORD_LAYOUT |
// | ET161 | 0x08A1 | read   | load-profile log view: 32-byte header + up to N unacknowledged 15-minute records (ET160 layout each), oldest first |
// | ET163 | 0x08A3 | write  | log acknowledgement: the gateway stored everything up to `ackedSeq` |
//
// A full read of ET161 returns up to the meter's default number of records; a partial read with
// offset 0 and count C returns up to floor((C − 32) / 144) records. Records are served from
// `ackedSeq + 1` on; the meter keeps a ring of the newest `capacity` records, so a gateway that
// stays away longer than capacity × interval sees a jump in sequence numbers (a gap).
import { compileLayout } from "./layout";
import { READING_RECORD_SIZE } from "./record";
import { tableId } from "./tableId";

export const IDENTIFICATION_TABLE_ID = tableId({ number: 1 });
export const CURRENT_READING_TABLE_ID = tableId({ number: 160, extended: true });
export const LOG_TABLE_ID = tableId({ number: 161, extended: true });
export const LOG_ACK_TABLE_ID = tableId({ number: 163, extended: true });

export const IDENTIFICATION_LAYOUT = compileLayout("BT01", [
  { name: "manufacturer", type: "bytes", length: 4 },
  { name: "model", type: "bytes", length: 8 },
  { name: "hwVersion", type: "u8" },
  { name: "hwRevision", type: "u8" },
  { name: "fwVersion", type: "u8" },
  { name: "fwRevision", type: "u8" },
  { name: "serial", type: "bytes", length: 16 },
] as const);
export const IDENTIFICATION_SIZE = 32;

export const LOG_HEADER_LAYOUT = compileLayout("ET161.header", [
  { name: "version", type: "u8" },
  { name: "recordSize", type: "u8" },
  { name: "count", type: "u16le" },
  { name: "newestSeq", type: "u32le" },
  { name: "ackedSeq", type: "u32le" },
  { name: "intervalSeconds", type: "u32le" },
  { name: "clockMs", type: "u64le" },
  { name: "reserved", type: "bytes", length: 8 },
] as const);
export const LOG_HEADER_SIZE = 32;
export const LOG_VERSION = 1;

export const LOG_ACK_LAYOUT = compileLayout("ET163", [
  { name: "ackedSeq", type: "u32le" },
  { name: "reserved", type: "u32le" },
] as const);
export const LOG_ACK_SIZE = 8;

/** Largest number of log records one frame can carry (len is 16 bits; aes-gcm adds 20 bytes). */
export const MAX_LOG_RECORDS_PER_FRAME = Math.floor((0xffff - 1 - 2 - 20 - LOG_HEADER_SIZE) / READING_RECORD_SIZE);

/** Byte count of a partial read of ET161 asking for `records` records. */
export function logReadCount(records: number): number {
  return LOG_HEADER_SIZE + records * READING_RECORD_SIZE;
}

export function asciiField(text: string, size: number): Uint8Array {
  const out = new Uint8Array(size).fill(0x20);
  const b = Buffer.from(text, "latin1");
  out.set(b.subarray(0, size));
  return out;
}

export function readAscii(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1").replace(/[\s\0]+$/, "");
}
