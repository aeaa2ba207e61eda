// One call from captured bytes to every layer: HDLC frame or IP wrapper (or a bare APDU), the APDU,
// the deciphered APDU when keys are given, and registers keyed by OBIS for pushes.
import { decodeApdu } from "./apdu";
import { type Apdu } from "./apduTypes";
import { type CosemDateTime, dataToJson, formatDateTime } from "./axdr";
import { type AnyCipheredApdu, decipherApdu, isCipheredApdu } from "./ciphering";
import { type HdlcAddress, type HdlcControl, type HdlcParameters, decodeHdlcFrame, decodeHdlcParameters, splitLlc } from "./hdlc";
import { bytesToHex } from "./hex";
import { type ExtractRegistersReturnType, type RegisterReading, decodeProfileBuffer, extractRegisters } from "./push";
import type { SecurityKeys } from "./security";
import { type WrapperHeader, decodeWrapper } from "./wrapper";

export interface DecodeDlmsOptions extends SecurityKeys {
  /** The sender's system title for glo-xxx APDUs (general-glo-ciphering carries its own). */
  systemTitle?: Uint8Array;
  /** OBIS codes of a profile's capture objects: a get-response carrying its buffer becomes `profile` rows. */
  profileColumns?: readonly string[];
}

export interface DecodedHdlc {
  dst: HdlcAddress;
  src: HdlcAddress;
  control: HdlcControl;
  segmented: boolean;
  length: number;
  hcs: number | null;
  fcs: number;
  llc: "command" | "response" | null;
  /** SNRM/UA parameter negotiation, when present. */
  parameters?: HdlcParameters;
}

export interface DecodeDlmsReturnType {
  hdlc?: DecodedHdlc;
  wrapper?: WrapperHeader;
  /** The outer APDU (absent for frames without one: SNRM, UA, RR, a middle segment...). */
  apdu?: Apdu;
  /** The APDU inside a ciphered one, when keys were given. */
  plain?: Apdu;
  registers?: ExtractRegistersReturnType["registers"];
  pushList?: string;
  /** Profile buffer rows keyed by OBIS (with `profileColumns`). */
  profile?: Record<string, RegisterReading>[];
}

/**
 * Decodes a capture: `7E...7E` as an HDLC frame, `00 01 ...` as an IP-wrapper frame, anything else
 * as a bare APDU. A segmented HDLC frame, or a continuation segment (I frame without the LLC
 * header), yields no APDU: feed such frames to `HdlcReassembler` and decode the joined APDU.
 * @example
 * decodeDlms(hexToBytes("7ea027010201105a87e6e7000f4000000009...7e")).registers
 * // { "1.0.1.7.0.255": { value: 1320, raw: 1320, scaler: 0, unit: "W", name: "active power import (+P)" } }
 */
export function decodeDlms(bytes: Uint8Array, options: DecodeDlmsOptions = {}): DecodeDlmsReturnType {
  const out: DecodeDlmsReturnType = {};
  let apduBytes: Uint8Array | undefined;
  if (bytes[0] === 0x7e) {
    const f = decodeHdlcFrame(bytes, { exact: true });
    const { llc, apdu } = splitLlc(f.info);
    out.hdlc = { dst: f.dst, src: f.src, control: f.control, segmented: f.segmented, length: f.length, hcs: f.hcs, fcs: f.fcs, llc };
    const t = f.control.type;
    if ((t === "SNRM" || t === "UA") && f.info.length > 0) out.hdlc.parameters = decodeHdlcParameters(f.info);
    else if ((t === "I" || t === "UI") && f.info.length > 0 && !f.segmented && llc !== null) apduBytes = apdu;
  } else if (bytes.length >= 8 && bytes[0] === 0x00 && bytes[1] === 0x01) {
    const w = decodeWrapper(bytes);
    out.wrapper = w.header;
    apduBytes = w.apdu;
  } else {
    apduBytes = bytes;
  }
  if (apduBytes === undefined) return out;
  out.apdu = decodeApdu(apduBytes);
  let inner: Apdu = out.apdu;
  const ciphered = cipheredPart(out.apdu);
  if (ciphered && options.ek) {
    out.plain = decipherApdu(ciphered, options);
    inner = out.plain;
  }
  if (options.profileColumns && inner.type === "get-response-normal" && "data" in inner.result) {
    out.profile = decodeProfileBuffer(inner.result.data, options.profileColumns);
  }
  if (inner.type === "data-notification") {
    const regs = extractRegisters(inner.body);
    if (regs) {
      out.registers = regs.registers;
      out.pushList = regs.list;
    }
  }
  return out;
}

function cipheredPart(apdu: Apdu): AnyCipheredApdu | undefined {
  if (isCipheredApdu(apdu)) return apdu;
  // AARQ/AARE carry glo-initiate-request/-response in user-information.
  if ((apdu.type === "aarq" || apdu.type === "aare") && apdu.userInformation && isCipheredApdu(apdu.userInformation)) return apdu.userInformation;
  return undefined;
}

/**
 * A plain-JSON copy of a decode result: bytes as hex, bigints as decimal strings, `Data` values as
 * `{ type, value }` with JSON values, HDLC checks as 0x-hex.
 */
export function dlmsToJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(dlmsToJson);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.type === "string" && "value" in o && isDataType(o.type)) {
      return { type: o.type, value: dataToJson(o as never) };
    }
    const out: Record<string, unknown> = {};
    if ("clockStatus" in o && "deviation" in o) out.iso = formatDateTime(o as unknown as CosemDateTime);
    for (const [k, v] of Object.entries(o)) {
      if ((k === "hcs" || k === "fcs") && typeof v === "number") out[k] = `0x${v.toString(16).padStart(4, "0")}`;
      else out[k] = dlmsToJson(v);
    }
    return out;
  }
  return value;
}

const DATA_TYPES = new Set([
  "array", "structure", "boolean", "bit-string", "double-long", "double-long-unsigned", "octet-string", "visible-string", "utf8-string", "bcd", "integer",
  "long", "unsigned", "long-unsigned", "compact-array", "long64", "long64-unsigned", "enum", "float32", "float64", "date-time", "date", "time",
]);
function isDataType(t: string): boolean {
  return DATA_TYPES.has(t);
}

