// A rule as one 32-byte word, so a Solidity contract can store it as bytes32 and read each field
// with a shift. The layout is data; encode and decode are both derived from it.
import { InvalidArgumentError, InvalidEncodingError, InvalidRuleError, UnknownCodeError } from "./errors";
import { RULE_ACTIONS, validateRule, type Rule, type RuleAction, type RuleCondition } from "./rules";
import type { KnownDevice } from "./types";

export const RULE_ENCODING_SIZE = 32;
export const RULE_ENCODING_VERSION = 1;

/** Device codes (uint8). 0 is never valid. */
export const DEVICE_CODES: Readonly<Record<KnownDevice, number>> = { washer: 1, dishwasher: 2, ev: 3, heat_pump: 4, battery: 5 };
/** Action codes (uint8). 0 is never valid. */
export const ACTION_CODES: Readonly<Record<RuleAction, number>> = { on: 1, off: 2, charge: 3, discharge: 4, defer: 5 };

/** Bits of the `flags` byte: which optional conditions are present, and the drEvent value. */
export const RULE_FLAGS = {
  priceBelow: 0x01,
  priceAbove: 0x02,
  fromMinute: 0x04,
  toMinute: 0x08,
  drEvent: 0x10,
  drEventValue: 0x20,
} as const;
const KNOWN_FLAGS = 0x3f;

export interface RuleField {
  name: "version" | "flags" | "device" | "action" | "id" | "priceBelowMilli" | "priceAboveMilli" | "fromMinute" | "toMinute";
  offset: number;
  size: 1 | 2 | 4;
  signed: boolean;
}

/**
 * Big-endian fields of the 32-byte word; bytes 20..31 are reserved (zero). In Solidity, field f is
 * `uint(r) >> (8 * (32 - f.offset - f.size))` masked to its size (cast through intN for signed).
 * Prices are milli-units (e.g. 2.75 cents → 2750) as int32 because day-ahead prices can be
 * negative; a price condition that is absent is encoded as 0 with its flag clear.
 */
export const RULE_LAYOUT: readonly RuleField[] = [
  { name: "version", offset: 0, size: 1, signed: false },
  { name: "flags", offset: 1, size: 1, signed: false },
  { name: "device", offset: 2, size: 1, signed: false },
  { name: "action", offset: 3, size: 1, signed: false },
  { name: "id", offset: 4, size: 4, signed: false },
  { name: "priceBelowMilli", offset: 8, size: 4, signed: true },
  { name: "priceAboveMilli", offset: 12, size: 4, signed: true },
  { name: "fromMinute", offset: 16, size: 2, signed: false },
  { name: "toMinute", offset: 18, size: 2, signed: false },
];
export const RULE_RESERVED = { offset: 20, size: 12 } as const;

type Fields = Record<RuleField["name"], number>;

function writeField(view: DataView, f: RuleField, value: number): void {
  if (f.size === 1) view.setUint8(f.offset, value);
  else if (f.size === 2) view.setUint16(f.offset, value);
  else if (f.signed) view.setInt32(f.offset, value);
  else view.setUint32(f.offset, value);
}

function readField(view: DataView, f: RuleField): number {
  if (f.size === 1) return view.getUint8(f.offset);
  if (f.size === 2) return view.getUint16(f.offset);
  return f.signed ? view.getInt32(f.offset) : view.getUint32(f.offset);
}

function toMilli(rule: Rule, field: "priceBelow" | "priceAbove", price: number): number {
  const milli = Math.round(price * 1000);
  // A price with more than three decimals would not survive the round trip.
  if (Math.abs(price * 1000 - milli) > 1e-6 * Math.max(1, Math.abs(milli))) {
    throw new InvalidRuleError(rule.id, `when.${field}`, price, "has more than 3 decimals; the encoding stores milli-units");
  }
  if (milli < -0x80000000 || milli > 0x7fffffff) throw new InvalidRuleError(rule.id, `when.${field}`, price, "outside the int32 milli-unit range ±2147483.647");
  return milli;
}

export type EncodeRuleErrorType = InvalidRuleError;
export type DecodeRuleErrorType = InvalidArgumentError | InvalidEncodingError | UnknownCodeError;

/**
 * The rule as 32 bytes (a Solidity bytes32). Only known devices and actions have codes.
 * @example
 * const word = encodeRule({ id: 7, device: "washer", when: { priceBelow: 3 }, action: "on" });
 * // 0x010101010000000700000bb8 followed by 20 zero bytes
 */
export function encodeRule(rule: Rule): Uint8Array {
  validateRule(rule);
  const device = Object.hasOwn(DEVICE_CODES, rule.device) ? DEVICE_CODES[rule.device as KnownDevice] : undefined;
  if (device === undefined) {
    throw new InvalidRuleError(rule.id, "device", rule.device, `has no code; encodable devices are ${Object.keys(DEVICE_CODES).join(", ")}`);
  }
  const w = rule.when;
  let flags = 0;
  if (w.priceBelow !== undefined) flags |= RULE_FLAGS.priceBelow;
  if (w.priceAbove !== undefined) flags |= RULE_FLAGS.priceAbove;
  if (w.fromMinute !== undefined) flags |= RULE_FLAGS.fromMinute;
  if (w.toMinute !== undefined) flags |= RULE_FLAGS.toMinute;
  if (w.drEvent !== undefined) flags |= RULE_FLAGS.drEvent | (w.drEvent ? RULE_FLAGS.drEventValue : 0);
  const fields: Fields = {
    version: RULE_ENCODING_VERSION,
    flags,
    device,
    action: ACTION_CODES[rule.action],
    id: rule.id,
    priceBelowMilli: w.priceBelow === undefined ? 0 : toMilli(rule, "priceBelow", w.priceBelow),
    priceAboveMilli: w.priceAbove === undefined ? 0 : toMilli(rule, "priceAbove", w.priceAbove),
    fromMinute: w.fromMinute ?? 0,
    toMinute: w.toMinute ?? 0,
  };
  const out = new Uint8Array(RULE_ENCODING_SIZE);
  const view = new DataView(out.buffer);
  for (const f of RULE_LAYOUT) writeField(view, f, fields[f.name]);
  // Rounding to milli-units may close a narrow price band; such a word would decode to a rule that never matches.
  if (w.priceBelow !== undefined && w.priceAbove !== undefined && fields.priceAboveMilli >= fields.priceBelowMilli) {
    throw new InvalidRuleError(rule.id, "when.priceAbove", w.priceAbove, "band narrower than 0.001 after rounding to milli-units");
  }
  return out;
}

/**
 * A rule from its 32 bytes (or 0x-prefixed hex of them). Rejects unknown versions, codes and flags,
 * non-zero reserved bytes, and non-zero values in absent fields, so each rule has exactly one encoding.
 * @example
 * const rule = decodeRule(await contract.ruleOf(household, 7)); // bytes32 from a contract call
 */
export function decodeRule(input: Uint8Array | string): Rule {
  const bytes = typeof input === "string" ? fromHex(input) : input;
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("input", input, "a Uint8Array or 0x-prefixed hex string of 32 bytes");
  if (bytes.length !== RULE_ENCODING_SIZE) throw new InvalidEncodingError("length", bytes.length, `${RULE_ENCODING_SIZE} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = Object.fromEntries(RULE_LAYOUT.map((field) => [field.name, readField(view, field)])) as Fields;
  if (f.version !== RULE_ENCODING_VERSION) throw new InvalidEncodingError("version", f.version, String(RULE_ENCODING_VERSION));
  if ((f.flags & ~KNOWN_FLAGS) !== 0) throw new InvalidEncodingError("flags", f.flags, "only bits 0..5 set");
  if ((f.flags & RULE_FLAGS.drEventValue) !== 0 && (f.flags & RULE_FLAGS.drEvent) === 0) {
    throw new InvalidEncodingError("flags", f.flags, "drEvent value bit only with the drEvent bit");
  }
  for (let i = RULE_RESERVED.offset; i < RULE_RESERVED.offset + RULE_RESERVED.size; i++) {
    if (bytes[i] !== 0) throw new InvalidEncodingError(`reserved byte ${i}`, bytes[i], "0");
  }
  const device = (Object.keys(DEVICE_CODES) as KnownDevice[]).find((d) => DEVICE_CODES[d] === f.device);
  if (device === undefined) throw new UnknownCodeError("device", f.device);
  const action = RULE_ACTIONS.find((a) => ACTION_CODES[a] === f.action);
  if (action === undefined) throw new UnknownCodeError("action", f.action);
  const when: RuleCondition = {};
  const optional = [
    ["priceBelow", RULE_FLAGS.priceBelow, f.priceBelowMilli, (v: number) => (when.priceBelow = v / 1000)],
    ["priceAbove", RULE_FLAGS.priceAbove, f.priceAboveMilli, (v: number) => (when.priceAbove = v / 1000)],
    ["fromMinute", RULE_FLAGS.fromMinute, f.fromMinute, (v: number) => (when.fromMinute = v)],
    ["toMinute", RULE_FLAGS.toMinute, f.toMinute, (v: number) => (when.toMinute = v)],
  ] as const;
  for (const [name, bit, value, set] of optional) {
    if ((f.flags & bit) !== 0) set(value);
    else if (value !== 0) throw new InvalidEncodingError(name, value, `0 when flag bit 0x${bit.toString(16)} is clear`);
  }
  if ((f.flags & RULE_FLAGS.drEvent) !== 0) when.drEvent = (f.flags & RULE_FLAGS.drEventValue) !== 0;
  const rule: Rule = { id: f.id, device, when, action };
  try {
    validateRule(rule);
  } catch (e) {
    throw new InvalidEncodingError("rule", `0x${toHex(bytes)}`, "a rule that can match (minutes in range, non-empty price band)", { cause: e });
  }
  return rule;
}

function fromHex(s: string): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new InvalidArgumentError("input", s, "0x-prefixed hex with an even number of digits");
  const out = new Uint8Array((s.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
