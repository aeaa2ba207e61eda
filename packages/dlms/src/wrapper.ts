// The IEC 62056-47 wrapper used on TCP and UDP: version(2) | source wPort(2) | destination wPort(2) | length(2) | APDU.
import { FieldValueError, LengthMismatchError, TrailingBytesError, InvalidArgumentError } from "./errors";
import { compileLayout } from "./layout";

export const WRAPPER_VERSION = 1;
export const WRAPPER_HEADER_LAYOUT = compileLayout("wrapper header", [
  { name: "version", type: "u16" },
  { name: "sourcePort", type: "u16" },
  { name: "destinationPort", type: "u16" },
  { name: "length", type: "u16" },
] as const);

export interface WrapperHeader {
  version: number;
  sourcePort: number;
  destinationPort: number;
  length: number;
}

/**
 * Splits a wrapper frame into its header and APDU. With `exact` (the default) the APDU must be exactly
 * `length` bytes; otherwise trailing bytes are left (a TCP stream) and only a short APDU is an error.
 * @example
 * decodeWrapper(hexToBytes("00010001000100030f0000")).header // { version: 1, sourcePort: 1, destinationPort: 1, length: 3 }
 */
export function decodeWrapper(bytes: Uint8Array, exact = true): { header: WrapperHeader; apdu: Uint8Array; consumed: number } {
  const header = WRAPPER_HEADER_LAYOUT.decode(bytes);
  if (header.version !== WRAPPER_VERSION) throw new FieldValueError("BAD_WRAPPER_VERSION", "wrapper version", header.version, "0x0001");
  const available = bytes.length - WRAPPER_HEADER_LAYOUT.size;
  if (available < header.length) throw new LengthMismatchError("wrapper length", header.length, available);
  if (exact && available > header.length) throw new TrailingBytesError("wrapper APDU", available - header.length);
  const consumed = WRAPPER_HEADER_LAYOUT.size + header.length;
  return { header, apdu: bytes.slice(WRAPPER_HEADER_LAYOUT.size, consumed), consumed };
}

/**
 * Wraps an APDU.
 * @example
 * encodeWrapper({ sourcePort: 16, destinationPort: 1, apdu }) // 0001 0010 0001 <len> apdu
 */
export function encodeWrapper(p: { sourcePort: number; destinationPort: number; apdu: Uint8Array }): Uint8Array {
  if (p.apdu.length > 0xffff) throw new InvalidArgumentError("apdu.length", p.apdu.length, "at most 65535 bytes");
  const out = new Uint8Array(WRAPPER_HEADER_LAYOUT.size + p.apdu.length);
  WRAPPER_HEADER_LAYOUT.encodeInto({ version: WRAPPER_VERSION, sourcePort: p.sourcePort, destinationPort: p.destinationPort, length: p.apdu.length }, out, 0);
  out.set(p.apdu, WRAPPER_HEADER_LAYOUT.size);
  return out;
}
