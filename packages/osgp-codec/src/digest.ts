// The OMA digest of the MEP guide (078-0372-01BD, Appendix A), reimplemented from its description:
// an 8-byte state, one key bit per message byte, the key walked 1.5 times per block (once for a
// 48-bit key), message zero-padded to a whole block. The edge cases follow the reference C code
// exactly; see `finishState` and README "OMA digest".
import { InvalidKeyError } from "./errors";

export const OMA_DIGEST_SIZE = 8;
/** 48-, 96- and 128-bit keys. */
export const OMA_KEY_LENGTHS: readonly number[] = [6, 12, 16];

/** Per-key precomputation: for every position in a block, the offset of its row in ROUND_TABLE. */
export interface OmaKeySchedule {
  readonly key: Uint8Array;
  readonly blockSize: number;
  readonly rows: Uint16Array;
}

// ROUND_TABLE[(keyBit << 11) | (v << 8) | x] is the term the round adds when the state byte at
// index v holds x: rotate-left of ~(x + v) for a 1 bit, minus rotate-right for a 0 bit. A lookup
// keeps the hot loop free of key-dependent branches.
const ROUND_TABLE = new Uint8Array(2 * 8 * 256);
for (let bit = 0; bit < 2; bit++) {
  for (let v = 0; v < 8; v++) {
    for (let x = 0; x < 256; x++) {
      const n = ~(x + v) & 0xff;
      const term = bit ? (n << 1) | (n >> 7) : -((n >> 1) | (n << 7));
      ROUND_TABLE[(bit << 11) | (v << 8) | x] = term & 0xff;
    }
  }
}

const scheduleCache = new WeakMap<Uint8Array, OmaKeySchedule>();

/**
 * Block size in bytes for a key length: 8 × key bytes per block (48, 144 or 192).
 * @example
 * omaBlockSize(12) // 144
 */
export function omaBlockSize(keyLength: number): number {
  if (!OMA_KEY_LENGTHS.includes(keyLength)) throw new InvalidKeyError(keyLength, OMA_KEY_LENGTHS);
  // The reference walks the key 1.5 times per block, except a 6-byte key which it walks once.
  return 8 * (keyLength === 6 ? 6 : keyLength + keyLength / 2);
}

/** Returns the (cached) schedule for `key`; a key array mutated after use is detected and rebuilt. */
export function omaKeySchedule(key: Uint8Array): OmaKeySchedule {
  const cached = scheduleCache.get(key);
  if (cached && sameBytes(cached.key, key)) return cached;
  if (!(key instanceof Uint8Array)) throw new InvalidKeyError(-1, OMA_KEY_LENGTHS);
  const blockSize = omaBlockSize(key.length);
  const rows = new Uint16Array(blockSize);
  for (let pos = 0; pos < blockSize; pos++) {
    const keyByte = key[(pos >> 3) % key.length];
    const bitIndex = pos & 7;
    const bit = (keyByte >> bitIndex) & 1;
    // Bit b of a key byte drives state byte 7 - b: the reference walks the state downwards.
    rows[pos] = (bit << 11) | ((7 - bitIndex) << 8);
  }
  const schedule = { key: key.slice(), blockSize, rows };
  scheduleCache.set(key, schedule);
  return schedule;
}

/** Feeds `data[start, end)` into the state at block position `pos`; returns the new position. */
export function absorb(s: OmaKeySchedule, state: Uint8Array, pos: number, data: Uint8Array, start: number, end: number): number {
  const rows = s.rows;
  const blockSize = s.blockSize;
  // `last` chains each round to the byte written by the previous one, across calls too.
  let last = state[(8 - (pos & 7)) & 7];
  for (let k = start; k < end; k++) {
    const row = rows[pos];
    const v = (row >> 8) & 7;
    last = (last + data[k] + ROUND_TABLE[row | state[v]]) & 0xff;
    state[v] = last;
    if (++pos === blockSize) pos = 0;
  }
  return pos;
}

/**
 * The reference's final call (bEnd = TRUE): zero-pads to the end of the block. When the final call
 * brings no data and the state sits on a block boundary, the reference still runs one whole block
 * of zeros (its loop body runs at least once); when data ended exactly on the boundary, it adds
 * nothing.
 */
export function finishState(s: OmaKeySchedule, state: Uint8Array, pos: number, finalCallHadData: boolean): void {
  if (pos === 0 && finalCallHadData) return;
  const rows = s.rows;
  const blockSize = s.blockSize;
  let last = state[(8 - (pos & 7)) & 7];
  do {
    const row = rows[pos];
    const v = (row >> 8) & 7;
    last = (last + ROUND_TABLE[row | state[v]]) & 0xff;
    state[v] = last;
    if (++pos === blockSize) pos = 0;
  } while (pos !== 0);
}

/** One-shot digest of `data[start, end)` into `state` (8 bytes, overwritten). */
export function digestSpanInto(s: OmaKeySchedule, state: Uint8Array, data: Uint8Array, start: number, end: number): void {
  state.fill(0);
  const pos = absorb(s, state, 0, data, start, end);
  finishState(s, state, pos, end > start);
}

/** Response digest (request span, then response span as the final call) into `state`. */
export function responseDigestSpanInto(
  s: OmaKeySchedule,
  state: Uint8Array,
  request: Uint8Array,
  requestStart: number,
  requestEnd: number,
  response: Uint8Array,
  responseStart: number,
  responseEnd: number,
): void {
  state.fill(0);
  let pos = absorb(s, state, 0, request, requestStart, requestEnd);
  pos = absorb(s, state, pos, response, responseStart, responseEnd);
  finishState(s, state, pos, responseEnd > responseStart);
}

/**
 * OMA digest of one message in a single final call, as a MEP request digest is computed.
 * @example
 * omaDigest(new Uint8Array(12).fill(0xdf), message) // 8 bytes
 */
export function omaDigest(key: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(OMA_DIGEST_SIZE);
  digestSpanInto(omaKeySchedule(key), out, message, 0, message.length);
  return out;
}

export interface OmaResponseDigestParameters {
  key: Uint8Array;
  /** Request PDU ‖ request seq (the bytes between `len` and the request digest). */
  request: Uint8Array;
  /** Response PDU (the bytes between `len` and the response digest). */
  response: Uint8Array;
}

/**
 * Response digest: the request PDU ‖ seq streamed in, then the response PDU as the final call.
 * @example
 * omaResponseDigest({ key, request: hexToBytes("3f0017000000002c01020304"), response: hexToBytes("0c77635b90") })
 */
export function omaResponseDigest({ key, request, response }: OmaResponseDigestParameters): Uint8Array {
  const out = new Uint8Array(OMA_DIGEST_SIZE);
  responseDigestSpanInto(omaKeySchedule(key), out, request, 0, request.length, response, 0, response.length);
  return out;
}

const EMPTY = new Uint8Array(0);

/**
 * Streaming OMA digest with the reference function's semantics: `update` is a call with
 * bEnd = FALSE, `digest(tail)` a call with bEnd = TRUE on a copy of the state, so the stream can
 * go on (the guide's "method 1" for response digests).
 * @example
 * const d = new OmaDigest(key).update(requestPduAndSeq);
 * const responseDigest = d.digest(responsePdu);
 */
export class OmaDigest {
  private readonly schedule: OmaKeySchedule;
  private readonly state = new Uint8Array(OMA_DIGEST_SIZE);
  private pos = 0;

  constructor(key: Uint8Array) {
    this.schedule = omaKeySchedule(key);
  }

  /** Bytes per block: 48, 144 or 192. */
  get blockSize(): number {
    return this.schedule.blockSize;
  }

  /** Position inside the current block (0 on a boundary). */
  get position(): number {
    return this.pos;
  }

  update(data: Uint8Array): this {
    this.pos = absorb(this.schedule, this.state, this.pos, data, 0, data.length);
    return this;
  }

  /**
   * Final call with `tail` (default empty) on a copy of the state. Note the reference's edge case:
   * after updates ending on a block boundary, `digest()` with no tail adds a whole zero block, so
   * it differs from the one-shot {@link omaDigest} of the same bytes.
   */
  digest(tail: Uint8Array = EMPTY): Uint8Array {
    const out = this.state.slice();
    const pos = absorb(this.schedule, out, this.pos, tail, 0, tail.length);
    finishState(this.schedule, out, pos, tail.length > 0);
    return out;
  }

  copy(): OmaDigest {
    const c = new OmaDigest(this.schedule.key);
    c.state.set(this.state);
    c.pos = this.pos;
    return c;
  }

  reset(): this {
    this.state.fill(0);
    this.pos = 0;
    return this;
  }
}

/**
 * Compares two byte ranges in time independent of where they differ.
 * @example
 * constantTimeEqual(computed, received) // true or false
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return constantTimeEqualAt(a, 0, b, 0, a.length);
}

/** `a[aStart..+length)` against `b[bStart..+length)` without an early exit. */
export function constantTimeEqualAt(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= a[aStart + i] ^ b[bStart + i];
  return diff === 0;
}

export interface VerifyOmaDigestParameters {
  key: Uint8Array;
  message: Uint8Array;
  digest: Uint8Array;
}

/**
 * Checks a one-shot digest in constant time.
 * @example
 * verifyOmaDigest({ key, message, digest }) // true when the digest matches
 */
export function verifyOmaDigest({ key, message, digest }: VerifyOmaDigestParameters): boolean {
  return constantTimeEqual(omaDigest(key, message), digest);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
