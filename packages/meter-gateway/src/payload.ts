// Encrypted reading payloads, as anchored on BlockSEC. Readers switch on byte 0.
//
// Version 2 (written since key custody): sealed under an epoch key per (consumer, resolution,
// epoch), published once on BlockSEC's KeyCustody (to the consumer, and m-of-n to the federation).
//   offset size  field
//   0      1     version = 0x02
//   1      1     content type: 0x01 raw 144-byte ET160 record, 0x02 aggregate (96 bytes),
//                0x03 compact raw record (80/96/112 bytes for 1/2/3 phases: the ET160 record without
//                its meter id and sequence, which the ledger fields carry, its absent phases and
//                its 24 reserved zero bytes), 0x04 one side of a settled trade (164 bytes, below;
//                category TRADES, resolution NONE, sealed under the household's trade epoch key)
//   2      4     keyId (uint32, big-endian): the epoch key on KeyCustody, per consumer
//   6      n+16  NaCl secretbox(plaintext, nonce, epochKey),
//                nonce = SHA-512("sidegrid/payload/v2" ‖ meterId u32 ‖ sequence u64 ‖ resolution u8 ‖ content type u8 ‖ keyId u32)[0..24]
// A raw single-phase reading costs 102 bytes, a three-phase one 134 (v1: 242): no per-record
// envelope, and the compact content type.
// The compact form is exact: a reader rebuilds the 144 bytes from the ledger fields.
//
// Version 1 (still readable): a per-record envelope of the data key to the consumer.
//   0      1     version = 0x01
//   1      1     content type: 0x01 raw meter record, 0x02 aggregate
//   2      32    epk: ephemeral X25519 public key of the data-key envelope
//   34     48    NaCl box(dataKey) to the consumer's X25519 key from epk,
//                nonce = SHA-512(epk ‖ consumerKey)[0..24]   (epk is fresh per envelope: a derived nonce is safe)
//   82     n+16  NaCl secretbox(plaintext, nonce, dataKey),
//                nonce = SHA-512("sidegrid/payload/v1" ‖ meterId u32 ‖ sequence u64 ‖ resolution u8 ‖ content type u8)[0..24]
// The record nonce derives from the record's own ledger fields (meter, sequence, resolution), so a
// payload moved to another leaf does not open, and no nonce bytes are stored.
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";
import { getAddress } from "ethers";
import nacl from "tweetnacl";
import { READING_RECORD_SIZE, compileLayout, decodeReadingRecord, type LayoutValues, type MeterReading } from "@sidegrid/osgp-codec";
import { InvalidArgumentError, PayloadError } from "./errors";
import type { Resolution } from "./resolution";

export const PAYLOAD_VERSION = 1;
export const PAYLOAD_V2 = 2;
export const CONTENT_RAW_RECORD = 0x01;
export const CONTENT_AGGREGATE = 0x02;
export const CONTENT_RAW_COMPACT = 0x03;
export const CONTENT_TRADE = 0x04;
export const PAYLOAD_HEADER_SIZE = 82;
export const PAYLOAD_V2_HEADER_SIZE = 6;
/** Bytes of the largest compact raw record (three phases); one phase: 80. */
export const COMPACT_RECORD_SIZE = 112;
const NONCE_LABEL_V2 = Buffer.from("sidegrid/payload/v2", "utf8");
const ENVELOPE_SIZE = 32 + 48;
const NONCE_LABEL = Buffer.from("sidegrid/payload/v1", "utf8");
/** DER SubjectPublicKeyInfo prefix of an X25519 key (RFC 8410): raw key follows. */
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const SIGMA = new TextEncoder().encode("expand 32-byte k");

/** The ledger fields a payload is bound to. */
export interface PayloadContext {
  meterId: number;
  sequence: number;
  resolution: number;
}

function envelopeNonce(epk: Uint8Array, recipient: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha512").update(epk).update(recipient).digest().subarray(0, 24));
}

/** The secretbox nonce of a record (see the format above). */
export function recordNonce(ctx: PayloadContext, contentType: number): Uint8Array {
  const b = Buffer.alloc(14);
  b.writeUInt32BE(ctx.meterId >>> 0, 0);
  b.writeBigUInt64BE(BigInt(ctx.sequence), 4);
  b[12] = ctx.resolution;
  b[13] = contentType;
  return new Uint8Array(createHash("sha512").update(NONCE_LABEL).update(b).digest().subarray(0, 24));
}

/** The secretbox nonce of a v2 record (see the format above). */
export function recordNonceV2(ctx: PayloadContext, contentType: number, keyId: number): Uint8Array {
  const b = Buffer.alloc(18);
  b.writeUInt32BE(ctx.meterId >>> 0, 0);
  b.writeBigUInt64BE(BigInt(ctx.sequence), 4);
  b[12] = ctx.resolution;
  b[13] = contentType;
  b.writeUInt32BE(keyId >>> 0, 14);
  return new Uint8Array(createHash("sha512").update(NONCE_LABEL_V2).update(b).digest().subarray(0, 24));
}

// Compact raw record (content type 3): record[0..4) (version, phase count, status), record[12..64)
// (clock, registers, totals), the phase blocks actually present (16 bytes each, record[64..64+16p)),
// record[112..120) (tamper events, power outages). Meter id and sequence come from the ledger
// fields, the reserved tail and absent phases are zero by the layout. Its length tells the phase
// count, a property of the installation that does not change with what the household does.
const PHASES_AT = 64;
const PHASE_SIZE = 16;
const TAIL_AT = 112;

/** Bytes of a compact record with `phases` phase blocks (80, 96 or 112). */
export function compactRecordSize(phases: number): number {
  return 4 + (PHASES_AT - 12) + PHASE_SIZE * phases + 8;
}

/**
 * The smallest exact plaintext of a raw ET160 record: the compact form when its meter id and
 * sequence equal the ledger fields and the bytes it drops are zero, the whole record otherwise.
 * @example
 * const { contentType, plaintext } = compactRawRecord(record144, { meterId, sequence, resolution });
 */
export function compactRawRecord(raw: Uint8Array, ctx: PayloadContext): { contentType: number; plaintext: Uint8Array } {
  if (raw.length !== READING_RECORD_SIZE) throw new PayloadError(`raw record of ${raw.length} bytes`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const phases = raw[1]!;
  const sameIds = dv.getUint32(4, true) === ctx.meterId >>> 0 && dv.getUint32(8, true) === ctx.sequence;
  let dropsZero = phases >= 1 && phases <= 3;
  for (let i = PHASES_AT + PHASE_SIZE * phases; i < TAIL_AT && dropsZero; i++) dropsZero = raw[i] === 0;
  for (let i = 120; i < READING_RECORD_SIZE && dropsZero; i++) dropsZero = raw[i] === 0;
  if (!sameIds || !dropsZero) return { contentType: CONTENT_RAW_RECORD, plaintext: raw };
  const out = new Uint8Array(compactRecordSize(phases));
  out.set(raw.subarray(0, 4), 0);
  out.set(raw.subarray(12, PHASES_AT + PHASE_SIZE * phases), 4);
  out.set(raw.subarray(TAIL_AT, 120), out.length - 8);
  return { contentType: CONTENT_RAW_COMPACT, plaintext: out };
}

/** Rebuilds the 144-byte ET160 record from its compact form and the ledger fields. */
export function expandRawRecord(compact: Uint8Array, ctx: PayloadContext): Uint8Array {
  const phases = compact[1] ?? 0;
  if (phases < 1 || phases > 3 || compact.length !== compactRecordSize(phases)) throw new PayloadError(`compact record of ${compact.length} bytes with ${phases} phase(s)`);
  const out = new Uint8Array(READING_RECORD_SIZE);
  out.set(compact.subarray(0, 4), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, ctx.meterId >>> 0, true);
  dv.setUint32(8, ctx.sequence >>> 0, true);
  out.set(compact.subarray(4, compact.length - 8), 12);
  out.set(compact.subarray(compact.length - 8), TAIL_AT);
  return out;
}

/**
 * Encrypts one plaintext under an epoch key into a v2 payload bound to its ledger fields and key.
 * @example
 * const payload = sealReadingPayloadV2(epochKey, keyId, CONTENT_RAW_COMPACT, compact, { meterId, sequence, resolution });
 */
export function sealReadingPayloadV2(key: Uint8Array, keyId: number, contentType: number, plaintext: Uint8Array, ctx: PayloadContext): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new InvalidArgumentError("key", key, "32 bytes");
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) throw new InvalidArgumentError("keyId", keyId, "a uint32");
  const box = nacl.secretbox(plaintext, recordNonceV2(ctx, contentType, keyId), key);
  const out = new Uint8Array(PAYLOAD_V2_HEADER_SIZE + box.length);
  out[0] = PAYLOAD_V2;
  out[1] = contentType;
  new DataView(out.buffer).setUint32(2, keyId >>> 0);
  out.set(box, PAYLOAD_V2_HEADER_SIZE);
  return out;
}

/** The epoch key id of a v2 payload; null for v1 (which carries its own envelope). */
export function payloadKeyId(payload: Uint8Array): number | null {
  if (!(payload instanceof Uint8Array) || payload.length < PAYLOAD_V2_HEADER_SIZE) throw new PayloadError(`${payload?.length ?? 0} bytes is not a payload`);
  if (payload[0] === PAYLOAD_VERSION) return null;
  if (payload[0] !== PAYLOAD_V2) throw new PayloadError(`unknown version ${payload[0]}`);
  return new DataView(payload.buffer, payload.byteOffset, payload.length).getUint32(2);
}

export const AGGREGATE_LAYOUT = compileLayout("aggregate.v1", [
  { name: "version", type: "u8" },
  { name: "resolution", type: "u8" },
  { name: "count", type: "u16le" },
  { name: "meterId", type: "u32le" },
  { name: "firstSeq", type: "u32le" },
  { name: "lastSeq", type: "u32le" },
  { name: "periodStartMs", type: "u64le" },
  { name: "periodEndMs", type: "u64le" },
  { name: "importWh", type: "u64le" },
  { name: "exportWh", type: "u64le" },
  { name: "reactiveImportVarh", type: "u64le" },
  { name: "reactiveExportVarh", type: "u64le" },
  { name: "importRegisterWh", type: "u64le" },
  { name: "exportRegisterWh", type: "u64le" },
  { name: "peakPowerW", type: "i32le" },
  { name: "reserved", type: "bytes", length: 12 },
] as const);
export const AGGREGATE_SIZE = 96;
export type Aggregate = Omit<LayoutValues<typeof AGGREGATE_LAYOUT.layout>, "version" | "reserved"> & { resolution: Resolution };

/** A data key and its envelope to one consumer. */
export interface DataKey {
  readonly key: Uint8Array;
  readonly envelope: Uint8Array;
  uses: number;
  readonly createdAt: number;
}

/**
 * A fresh data key sealed to `consumerPublicKey` (X25519, 32 bytes).
 * @example
 * const dk = newDataKey(consumerKey);
 */
export function newDataKey(consumerPublicKey: Uint8Array, now = Date.now()): DataKey {
  if (!(consumerPublicKey instanceof Uint8Array) || consumerPublicKey.length !== 32) throw new InvalidArgumentError("consumerPublicKey", consumerPublicKey, "32 bytes (X25519)");
  const key = nacl.randomBytes(32);
  // NaCl box = secretbox under HSalsa20(X25519(eph, consumer)); the X25519 step runs in Node's
  // OpenSSL (~0.25 ms per envelope instead of ~2.6 ms in tweetnacl), the rest in tweetnacl.
  const eph = generateKeyPairSync("x25519");
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, consumerPublicKey]), format: "der", type: "spki" }) });
  const boxKey = new Uint8Array(32);
  (nacl as unknown as { lowlevel: { crypto_core_hsalsa20(out: Uint8Array, inp: Uint8Array, k: Uint8Array, c: Uint8Array): void } }).lowlevel.crypto_core_hsalsa20(boxKey, new Uint8Array(16), new Uint8Array(shared), SIGMA);
  const epk = new Uint8Array(eph.publicKey.export({ format: "der", type: "spki" }).subarray(X25519_SPKI_PREFIX.length));
  const boxed = nacl.secretbox(key, envelopeNonce(epk, consumerPublicKey), boxKey);
  const envelope = new Uint8Array(ENVELOPE_SIZE);
  envelope.set(epk, 0);
  envelope.set(boxed, 32);
  return { key, envelope, uses: 0, createdAt: now };
}

/**
 * Encrypts one plaintext under a data key into a v1 payload bound to its ledger fields.
 * @example
 * const payload = sealReadingPayload(dk, CONTENT_RAW_RECORD, record144, { meterId, sequence, resolution });
 */
export function sealReadingPayload(dataKey: DataKey, contentType: number, plaintext: Uint8Array, ctx: PayloadContext): Uint8Array {
  const box = nacl.secretbox(plaintext, recordNonce(ctx, contentType), dataKey.key);
  const out = new Uint8Array(PAYLOAD_HEADER_SIZE + box.length);
  out[0] = PAYLOAD_VERSION;
  out[1] = contentType;
  out.set(dataKey.envelope, 2);
  out.set(box, PAYLOAD_HEADER_SIZE);
  dataKey.uses++;
  return out;
}

export type OpenedPayload =
  | { version: 1 | 2; contentType: typeof CONTENT_RAW_RECORD | typeof CONTENT_RAW_COMPACT; plaintext: Uint8Array; reading: MeterReading }
  | { version: 1 | 2; contentType: typeof CONTENT_AGGREGATE; plaintext: Uint8Array; aggregate: Aggregate };

/**
 * Opens a payload given the ledger fields of its record. A v1 payload opens with the consumer's
 * X25519 secret key (its own envelope) or its data key; a v2 payload with its epoch key (the
 * consumer's from KeyCustody's envelope, a grantee's from released shares).
 * @example
 * const opened = openReadingPayload(payload, { dataKey: epochKey }, { meterId, sequence, resolution });
 * if (opened.contentType !== CONTENT_AGGREGATE) opened.reading.activeEnergyImportWh;
 */
export function openReadingPayload(payload: Uint8Array, keys: { secretKey: Uint8Array } | { dataKey: Uint8Array }, ctx: PayloadContext): OpenedPayload {
  if (!(payload instanceof Uint8Array) || payload.length < PAYLOAD_V2_HEADER_SIZE + 16) throw new PayloadError(`${payload?.length ?? 0} bytes is shorter than a payload`);
  const contentType = payload[1];
  let plaintext: Uint8Array | null;
  const version = payload[0];
  if (version === PAYLOAD_V2) {
    if (!("dataKey" in keys)) throw new PayloadError("a v2 payload opens with its epoch key (from KeyCustody), not with a secret key");
    const keyId = new DataView(payload.buffer, payload.byteOffset, payload.length).getUint32(2);
    plaintext = nacl.secretbox.open(payload.subarray(PAYLOAD_V2_HEADER_SIZE), recordNonceV2(ctx, contentType, keyId), keys.dataKey);
  } else if (version === PAYLOAD_VERSION) {
    if (payload.length < PAYLOAD_HEADER_SIZE + 16) throw new PayloadError(`${payload.length} bytes is shorter than a v1 payload`);
    let key: Uint8Array | null;
    if ("dataKey" in keys) key = keys.dataKey;
    else {
      const epk = payload.subarray(2, 34);
      const recipient = nacl.box.keyPair.fromSecretKey(keys.secretKey).publicKey;
      key = nacl.box.open(payload.subarray(34, 82), envelopeNonce(epk, recipient), epk, keys.secretKey);
      if (!key) throw new PayloadError("the data-key envelope does not open with this key");
    }
    plaintext = nacl.secretbox.open(payload.subarray(PAYLOAD_HEADER_SIZE), recordNonce(ctx, contentType), key);
  } else throw new PayloadError(`unknown version ${version}`);
  if (!plaintext) throw new PayloadError("ciphertext does not authenticate (wrong key, or not this record's payload)");
  const v = version as 1 | 2;
  if (contentType === CONTENT_RAW_RECORD) {
    if (plaintext.length !== READING_RECORD_SIZE) throw new PayloadError(`raw record of ${plaintext.length} bytes`);
    return { version: v, contentType, plaintext, reading: decodeReadingRecord(plaintext) };
  }
  if (contentType === CONTENT_RAW_COMPACT && v === 2) {
    const full = expandRawRecord(plaintext, ctx);
    return { version: v, contentType, plaintext: full, reading: decodeReadingRecord(full) };
  }
  if (contentType === CONTENT_AGGREGATE) return { version: v, contentType, plaintext, aggregate: decodeAggregate(plaintext) };
  throw new PayloadError(`unknown content type ${contentType}`);
}

export function encodeAggregate(a: Aggregate): Uint8Array {
  return AGGREGATE_LAYOUT.encode({ ...a, version: 1, reserved: new Uint8Array(12) });
}

export function decodeAggregate(bytes: Uint8Array): Aggregate {
  if (bytes.length !== AGGREGATE_SIZE) throw new PayloadError(`aggregate of ${bytes.length} bytes, expected ${AGGREGATE_SIZE}`);
  const v = AGGREGATE_LAYOUT.decode(bytes);
  if (v.version !== 1) throw new PayloadError(`aggregate version ${v.version}`);
  const { version: _v, reserved: _r, ...rest } = v;
  return rest as Aggregate;
}

// One side of a settled trade, as a household's gateway seals it (content type 0x04), big-endian:
//   0 u8 format (1) | 1 u8 side (0 buyer, 1 seller) | 2 u8 kind (0 CP, 1 CC, 2 AUCTION) | 3 u8 zero |
//   4 u64 settledAt (s) | 12 account (20) | 32 counterparty (20) | 52 u256 tradeId |
//   84 u128 quantityWh | 100 u256 amount (SGT wei) | 132 u256 unitPrice (SGT wei per unit)
export const TRADE_PLAINTEXT_SIZE = 164;
const TRADE_KINDS = ["CP", "CC", "AUCTION"] as const;

/** One side of a settled trade in a household's sealed trade log. */
export interface SealedTrade {
  side: "BUYER" | "SELLER";
  kind: (typeof TRADE_KINDS)[number];
  tradeId: bigint;
  /** Unix seconds. */
  settledAt: number;
  /** The household's account in the trade (a trading account or her own). */
  account: string;
  counterparty: string;
  quantityWh: bigint;
  amount: bigint;
  unitPrice: bigint;
}

function putUint(out: Uint8Array, at: number, size: number, v: bigint, field: string): void {
  if (v < 0n || v >= 1n << BigInt(size * 8)) throw new InvalidArgumentError(field, v, `an unsigned ${size * 8}-bit integer`);
  for (let i = size - 1; i >= 0; i--, v >>= 8n) out[at + i] = Number(v & 0xffn);
}

function getUint(b: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

function addressBytes(a: string, field: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new InvalidArgumentError(field, a, "a 20-byte address");
  return new Uint8Array(Buffer.from(a.slice(2), "hex"));
}

/** The 164-byte plaintext of one side of a trade. */
export function encodeSealedTrade(t: SealedTrade): Uint8Array {
  const out = new Uint8Array(TRADE_PLAINTEXT_SIZE);
  out[0] = 1;
  out[1] = t.side === "BUYER" ? 0 : t.side === "SELLER" ? 1 : (() => { throw new InvalidArgumentError("side", t.side, "BUYER or SELLER"); })();
  const kind = TRADE_KINDS.indexOf(t.kind);
  if (kind < 0) throw new InvalidArgumentError("kind", t.kind, "CP, CC or AUCTION");
  out[2] = kind;
  putUint(out, 4, 8, BigInt(t.settledAt), "settledAt");
  out.set(addressBytes(t.account, "account"), 12);
  out.set(addressBytes(t.counterparty, "counterparty"), 32);
  putUint(out, 52, 32, t.tradeId, "tradeId");
  putUint(out, 84, 16, t.quantityWh, "quantityWh");
  putUint(out, 100, 32, t.amount, "amount");
  putUint(out, 132, 32, t.unitPrice, "unitPrice");
  return out;
}

/** The inverse of {@link encodeSealedTrade}; addresses come back checksummed. */
export function decodeSealedTrade(b: Uint8Array): SealedTrade {
  if (b.length !== TRADE_PLAINTEXT_SIZE) throw new PayloadError(`trade of ${b.length} bytes, expected ${TRADE_PLAINTEXT_SIZE}`);
  if (b[0] !== 1) throw new PayloadError(`trade format ${b[0]}`);
  if (b[1]! > 1 || b[2]! > 2 || b[3] !== 0) throw new PayloadError(`trade with side ${b[1]}, kind ${b[2]}`);
  const addr = (at: number) => getAddress(`0x${Buffer.from(b.subarray(at, at + 20)).toString("hex")}`);
  return {
    side: b[1] === 0 ? "BUYER" : "SELLER",
    kind: TRADE_KINDS[b[2]!]!,
    settledAt: Number(getUint(b, 4, 8)),
    account: addr(12),
    counterparty: addr(32),
    tradeId: getUint(b, 52, 32),
    quantityWh: getUint(b, 84, 16),
    amount: getUint(b, 100, 32),
    unitPrice: getUint(b, 132, 32),
  };
}

/**
 * Opens a sealed trade (v2, content type 0x04) with its epoch key and its record's ledger fields.
 * @example
 * const t = openTradePayload(payload, epochKey, { meterId, sequence, resolution: 0 });
 */
export function openTradePayload(payload: Uint8Array, dataKey: Uint8Array, ctx: PayloadContext): SealedTrade {
  if (!(payload instanceof Uint8Array) || payload.length < PAYLOAD_V2_HEADER_SIZE + 16) throw new PayloadError(`${payload?.length ?? 0} bytes is shorter than a payload`);
  if (payload[0] !== PAYLOAD_V2 || payload[1] !== CONTENT_TRADE) throw new PayloadError(`not a sealed trade (version ${payload[0]}, content type ${payload[1]})`);
  const keyId = new DataView(payload.buffer, payload.byteOffset, payload.length).getUint32(2);
  const plaintext = nacl.secretbox.open(payload.subarray(PAYLOAD_V2_HEADER_SIZE), recordNonceV2(ctx, CONTENT_TRADE, keyId), dataKey);
  if (!plaintext) throw new PayloadError("ciphertext does not authenticate (wrong key, or not this record's payload)");
  return decodeSealedTrade(plaintext);
}
