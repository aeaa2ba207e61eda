import { InvalidHexError } from "./errors";

const HEX_DIGITS = "0123456789abcdef";
const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15]);

/**
 * Parses hex as written in captures and in DLMS documentation: case-insensitive, an optional `0x`,
 * and spaces, colons, dashes or newlines between bytes.
 * @example
 * hexToBytes("00 14 3F") // Uint8Array [0x00, 0x14, 0x3f]
 */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== "string") throw new InvalidHexError(String(hex), "not a string");
  let clean = hex.replace(/[\s:_-]/g, "");
  if (clean.startsWith("0x") || clean.startsWith("0X")) clean = clean.slice(2);
  if (clean.length % 2 !== 0) throw new InvalidHexError(hex, "odd number of digits");
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new InvalidHexError(hex, "non-hex character");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Lower-case hex without separators.
 * @example
 * bytesToHex(new Uint8Array([0xdb, 0xe5])) // "dbe5"
 */
export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_HEX[bytes[i]];
  return s;
}
