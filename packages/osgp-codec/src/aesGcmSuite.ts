// aes-gcm: Sidegrid's suite for its Pi meters (specified in README "aes-gcm suite"). Both
// directions use one frame shape:
//   len(2, MSB) | AES-128-GCM ciphertext of the PDU | seq(4, MSB) | tag(16)      len = |C| + 20
// key   = HKDF-SHA256(masterKey, salt "sidegrid/osgp-codec/aes-gcm/v1", info "meter-key" ‖ meterId(4, MSB), 16)
// nonce = meterId(4, MSB) ‖ direction (01 request, 02 response) ‖ 00 00 00 ‖ seq(4, MSB)
// AAD   = request: len ‖ seq;  response: len ‖ seq ‖ request seq ‖ request tag
// The response seq is the meter's own counter, so a nonce never repeats even when the meter answers
// a replayed request (0x0C): nonces depend only on counters each side never reuses.
import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import { BadTagError, InvalidArgumentError, InvalidKeyError, TruncatedFrameError } from "./errors";
import { LENGTH_FIELD_SIZE, MAX_FRAME_BODY, SEQ_SIZE, checkFrame } from "./frame";
import { decodeRequestPdu, decodeResponsePdu, encodeRequestPdu, encodeResponsePdu } from "./services";
import type {
  SecuritySuite,
  SuiteDecodeRequestReturnType,
  SuiteDecodeResponseReturnType,
  SuiteEncodeRequestParameters,
  SuiteEncodeRequestReturnType,
  SuiteEncodeResponseParameters,
  SuiteExchange,
} from "./suiteTypes";

const NAME = "aes-gcm" as const;
export const AES_GCM_TAG_SIZE = 16;
export const AES_GCM_KEY_SALT = "sidegrid/osgp-codec/aes-gcm/v1";
export const AES_GCM_KEY_INFO = "meter-key";
export const AES_GCM_DIRECTION_REQUEST = 0x01;
export const AES_GCM_DIRECTION_RESPONSE = 0x02;
const TRAILER = SEQ_SIZE + AES_GCM_TAG_SIZE;

export type AesGcmSuiteOptions =
  | { meterId: number; masterKey: Uint8Array; key?: never }
  | { meterId: number; key: Uint8Array; masterKey?: never };

export interface DeriveMeterKeyParameters {
  /** 16 or 32 bytes of secret shared by the gateway and the provisioning of the meters. */
  masterKey: Uint8Array;
  meterId: number;
}

function checkU32(name: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(name, n, "an integer in 0..2^32-1");
  return n;
}

function u32be(n: number): Uint8Array {
  return Uint8Array.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/**
 * The per-meter AES-128 key: HKDF-SHA256(masterKey, salt, "meter-key" ‖ meterId(4, MSB)), 16 bytes.
 * @example
 * deriveMeterKey({ masterKey, meterId: 42 }) // 16 bytes
 */
export function deriveMeterKey({ masterKey, meterId }: DeriveMeterKeyParameters): Uint8Array {
  if (!(masterKey instanceof Uint8Array) || (masterKey.length !== 16 && masterKey.length !== 32)) {
    throw new InvalidKeyError(masterKey?.length ?? 0, [16, 32]);
  }
  checkU32("meterId", meterId);
  const info = Buffer.concat([Buffer.from(AES_GCM_KEY_INFO, "utf8"), u32be(meterId)]);
  return new Uint8Array(hkdfSync("sha256", masterKey, Buffer.from(AES_GCM_KEY_SALT, "utf8"), info, 16));
}

export interface AesGcmNonceParameters {
  meterId: number;
  direction: typeof AES_GCM_DIRECTION_REQUEST | typeof AES_GCM_DIRECTION_RESPONSE;
  seq: number;
}

/**
 * The 12-byte GCM nonce: meterId(4) ‖ direction(1) ‖ 00 00 00 ‖ seq(4), integers MSB first.
 * @example
 * aesGcmNonce({ meterId: 42, direction: 1, seq: 7 }) // 0000002a 01 000000 00000007
 */
export function aesGcmNonce({ meterId, direction, seq }: AesGcmNonceParameters): Uint8Array {
  const n = new Uint8Array(12);
  n.set(u32be(checkU32("meterId", meterId)), 0);
  n[4] = direction;
  n.set(u32be(checkU32("seq", seq)), 8);
  return n;
}

class AesGcmExchange implements SuiteExchange {
  readonly suite = NAME;
  constructor(
    readonly seq: number,
    readonly requestTag: Uint8Array,
    readonly requestServiceCode: number,
  ) {}
}

export function createAesGcmSuite(options: AesGcmSuiteOptions): SecuritySuite {
  const meterId = checkU32("meterId", options.meterId);
  let key: Uint8Array;
  if (options.key !== undefined) {
    if (!(options.key instanceof Uint8Array) || options.key.length !== 16) throw new InvalidKeyError(options.key?.length ?? 0, [16]);
    key = options.key.slice();
  } else {
    key = deriveMeterKey({ masterKey: options.masterKey as Uint8Array, meterId });
  }

  function seal(pdu: Uint8Array, seq: number, direction: number, extraAad: Uint8Array | null): Uint8Array {
    const body = pdu.length + TRAILER;
    if (body > MAX_FRAME_BODY) throw new InvalidArgumentError("frame body", body, `at most ${MAX_FRAME_BODY} bytes`);
    const frame = new Uint8Array(LENGTH_FIELD_SIZE + body);
    frame[0] = body >>> 8;
    frame[1] = body;
    const seqAt = LENGTH_FIELD_SIZE + pdu.length;
    frame.set(u32be(seq), seqAt);
    const cipher = createCipheriv("aes-128-gcm", key, aesGcmNonce({ meterId, direction: direction as 1 | 2, seq }), { authTagLength: AES_GCM_TAG_SIZE });
    cipher.setAAD(aad(frame, seqAt, extraAad));
    const c1 = cipher.update(pdu);
    const c2 = cipher.final();
    frame.set(c1, LENGTH_FIELD_SIZE);
    frame.set(c2, LENGTH_FIELD_SIZE + c1.length);
    frame.set(cipher.getAuthTag(), seqAt + SEQ_SIZE);
    return frame;
  }

  /** Returns the plaintext PDU, the seq and the tag (a view) of a verified frame. */
  function open(frame: Uint8Array, direction: number, extraAad: Uint8Array | null, what: string) {
    const end = checkFrame(frame, 1 + TRAILER, what);
    const tagAt = end - AES_GCM_TAG_SIZE;
    const seqAt = tagAt - SEQ_SIZE;
    const seq = frame[seqAt] * 0x1000000 + ((frame[seqAt + 1] << 16) | (frame[seqAt + 2] << 8) | frame[seqAt + 3]);
    const tag = frame.subarray(tagAt, end);
    const decipher = createDecipheriv("aes-128-gcm", key, aesGcmNonce({ meterId, direction: direction as 1 | 2, seq }), { authTagLength: AES_GCM_TAG_SIZE });
    decipher.setAAD(aad(frame, seqAt, extraAad));
    decipher.setAuthTag(tag);
    let pdu: Uint8Array;
    try {
      const p1 = decipher.update(frame.subarray(LENGTH_FIELD_SIZE, seqAt));
      const p2 = decipher.final();
      pdu = p2.length ? Buffer.concat([p1, p2]) : p1;
    } catch (cause) {
      throw new BadTagError(NAME, { cause });
    }
    return { pdu: new Uint8Array(pdu.buffer, pdu.byteOffset, pdu.length), seq, tag };
  }

  function exchangeOf(exchange: SuiteExchange): AesGcmExchange {
    if (!(exchange instanceof AesGcmExchange)) throw new InvalidArgumentError("exchange", exchange, `an exchange from this ${NAME} suite`);
    return exchange;
  }

  return {
    name: NAME,
    insecure: false,

    encodeRequest({ request, seq }: SuiteEncodeRequestParameters): SuiteEncodeRequestReturnType {
      checkU32("seq", seq);
      const pdu = request instanceof Uint8Array ? request : encodeRequestPdu(request);
      if (pdu.length < 1) throw new InvalidArgumentError("request", pdu, "a PDU of at least 1 byte");
      const frame = seal(pdu, seq, AES_GCM_DIRECTION_REQUEST, null);
      return { frame, exchange: new AesGcmExchange(seq, frame.slice(frame.length - AES_GCM_TAG_SIZE), pdu[0]) };
    },

    decodeRequest(frame: Uint8Array): SuiteDecodeRequestReturnType {
      const { pdu, seq, tag } = open(frame, AES_GCM_DIRECTION_REQUEST, null, "request");
      const request = decodeRequestPdu(pdu);
      return { suite: NAME, request, seq, encrypted: true, insecure: false, exchange: new AesGcmExchange(seq, tag.slice(), pdu[0]) };
    },

    encodeResponse({ response, exchange, seq }: SuiteEncodeResponseParameters): Uint8Array {
      const ex = exchangeOf(exchange);
      if (seq === undefined) throw new InvalidArgumentError("seq", seq, "the meter's response sequence number (aes-gcm nonce)");
      checkU32("seq", seq);
      const pdu = response instanceof Uint8Array ? response : encodeResponsePdu(response);
      if (pdu.length < 1) throw new InvalidArgumentError("response", pdu, "a PDU of at least 1 byte");
      return seal(pdu, seq, AES_GCM_DIRECTION_RESPONSE, responseAad(ex));
    },

    decodeResponse(frame: Uint8Array, exchange: SuiteExchange): SuiteDecodeResponseReturnType {
      const ex = exchangeOf(exchange);
      const { pdu, seq } = open(frame, AES_GCM_DIRECTION_RESPONSE, responseAad(ex), "response");
      if (pdu.length < 1) throw new TruncatedFrameError("response code", 1, 0);
      const response = decodeResponsePdu(pdu, 0, pdu.length, { requestServiceCode: ex.requestServiceCode });
      return { suite: NAME, response, seq, encrypted: true, insecure: false };
    },
  };
}

/** Response AAD tail: request seq(4) ‖ request tag(16), binding a response to its request. */
function responseAad(ex: AesGcmExchange): Uint8Array {
  const out = new Uint8Array(SEQ_SIZE + AES_GCM_TAG_SIZE);
  out.set(u32be(ex.seq), 0);
  out.set(ex.requestTag, SEQ_SIZE);
  return out;
}

/** len(2) ‖ seq(4) from the frame, then the direction-specific tail. */
function aad(frame: Uint8Array, seqAt: number, extra: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(LENGTH_FIELD_SIZE + SEQ_SIZE + (extra ? extra.length : 0));
  out[0] = frame[0];
  out[1] = frame[1];
  out.set(frame.subarray(seqAt, seqAt + SEQ_SIZE), LENGTH_FIELD_SIZE);
  if (extra) out.set(extra, LENGTH_FIELD_SIZE + SEQ_SIZE);
  return out;
}
