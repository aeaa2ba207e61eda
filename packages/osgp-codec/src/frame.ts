// MEP/OSGP frames with the OMA digest (authenticated, unencrypted):
//   request : len(2, MSB) | service PDU | seq(4, MSB) | digest(8)
//   response: len(2, MSB) | response PDU               | digest(8)
// `len` counts every byte after itself. The request digest covers PDU ‖ seq; the response digest
// covers request PDU ‖ request seq ‖ response PDU.
import { bytesToHex } from "./hex";
import {
  OMA_DIGEST_SIZE,
  constantTimeEqualAt,
  digestSpanInto,
  omaKeySchedule,
  responseDigestSpanInto,
} from "./digest";
import { BadDigestError, InvalidArgumentError, LengthMismatchError, TruncatedFrameError } from "./errors";
import {
  decodeRequestPdu,
  decodeResponsePdu,
  encodeRequestPdu,
  encodeResponsePdu,
  type ServiceRequest,
  type ServiceResponse,
} from "./services";

export const LENGTH_FIELD_SIZE = 2;
export const SEQ_SIZE = 4;
export const DIGEST_SIZE = OMA_DIGEST_SIZE;
/** `len` is 16 bits, so a frame body is at most 65535 bytes (MEP servers stop at 476). */
export const MAX_FRAME_BODY = 0xffff;

// Scratch for computed digests on the decode path; never escapes a call.
const scratch = new Uint8Array(DIGEST_SIZE);

/** What to do when a key is given and the digest does not match. */
export type OnBadDigest = "throw" | "report";

/**
 * Size of the first frame in `buffer` (`len` + 2), or undefined while fewer than 2 bytes are
 * there. A size of 2 is the MEP alert sequence `00 00`.
 * @example
 * peekFrameSize(hexToBytes("0014 3f")) // 22
 */
export function peekFrameSize(buffer: Uint8Array): number | undefined {
  if (!(buffer instanceof Uint8Array)) throw new InvalidArgumentError("buffer", buffer, "bytes (Uint8Array)");
  if (buffer.length < LENGTH_FIELD_SIZE) return undefined;
  return ((buffer[0] << 8) | buffer[1]) + LENGTH_FIELD_SIZE;
}

/** Checks `len` against the frame and a minimum body; returns the end of the body. */
export function checkFrame(frame: Uint8Array, minBody: number, what: string): number {
  if (!(frame instanceof Uint8Array)) throw new InvalidArgumentError("frame", frame, "bytes (Uint8Array)");
  if (frame.length < LENGTH_FIELD_SIZE) throw new TruncatedFrameError(`${what} length`, LENGTH_FIELD_SIZE, frame.length);
  const declared = (frame[0] << 8) | frame[1];
  const actual = frame.length - LENGTH_FIELD_SIZE;
  if (declared !== actual) throw new LengthMismatchError(`${what} length`, declared, actual);
  if (actual < minBody) throw new TruncatedFrameError(what, minBody, actual);
  return frame.length;
}

function writeLength(frame: Uint8Array, body: number): void {
  if (body > MAX_FRAME_BODY) throw new InvalidArgumentError("frame body", body, `at most ${MAX_FRAME_BODY} bytes`);
  frame[0] = body >>> 8;
  frame[1] = body;
}

function checkSeq(seq: number): number {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw new InvalidArgumentError("seq", seq, "an integer in 0..2^32-1");
  return seq;
}

export interface EncodeRequestParameters {
  /** The service as an object, or a ready PDU (service code + fields). */
  request: ServiceRequest | Uint8Array;
  seq: number;
  /** OMA key: 6, 12 or 16 bytes. */
  key: Uint8Array;
}

/**
 * Frames a request: len | PDU | seq | digest(PDU ‖ seq).
 * @example
 * encodeRequest({ request: { service: "partialRead", tableId: 23, offset: 0, count: 44 }, seq: 0x01020304, key })
 */
export function encodeRequest({ request, seq, key }: EncodeRequestParameters): Uint8Array {
  const schedule = omaKeySchedule(key);
  const pdu = request instanceof Uint8Array ? request : encodeRequestPdu(request);
  if (pdu.length < 1) throw new InvalidArgumentError("request", pdu, "a PDU of at least 1 byte");
  checkSeq(seq);
  const body = pdu.length + SEQ_SIZE + DIGEST_SIZE;
  const frame = new Uint8Array(LENGTH_FIELD_SIZE + body);
  writeLength(frame, body);
  frame.set(pdu, LENGTH_FIELD_SIZE);
  const seqAt = LENGTH_FIELD_SIZE + pdu.length;
  frame[seqAt] = seq >>> 24;
  frame[seqAt + 1] = seq >>> 16;
  frame[seqAt + 2] = seq >>> 8;
  frame[seqAt + 3] = seq;
  digestSpanInto(schedule, scratch, frame, LENGTH_FIELD_SIZE, seqAt + SEQ_SIZE);
  frame.set(scratch, seqAt + SEQ_SIZE);
  return frame;
}

export interface DecodeRequestOptions {
  /** Verify the digest with this key; without a key `digestValid` is null. */
  key?: Uint8Array;
  /** Default "throw" ({@link BadDigestError}); "report" returns `digestValid: false` instead. */
  onBadDigest?: OnBadDigest;
}

export interface DecodeRequestReturnType {
  request: ServiceRequest;
  seq: number;
  /** The PDU bytes (view into the frame). */
  pdu: Uint8Array;
  /** The digest carried by the frame (view into the frame). */
  digest: Uint8Array;
  digestValid: boolean | null;
  /** The OMA digest is broken (Jovanovic & Neves 2015): such frames are never trustworthy. */
  insecure: true;
}

/**
 * Parses a request frame and, with a key, verifies its digest in constant time.
 * @example
 * decodeRequest(frame, { key }).request // { service: "partialRead", tableId: 23, offset: 0, count: 44 }
 */
export function decodeRequest(frame: Uint8Array, options: DecodeRequestOptions = {}): DecodeRequestReturnType {
  options ??= {};
  const end = checkFrame(frame, 1 + SEQ_SIZE + DIGEST_SIZE, "request");
  const digestAt = end - DIGEST_SIZE;
  const seqAt = digestAt - SEQ_SIZE;
  let digestValid: boolean | null = null;
  if (options.key !== undefined) {
    digestSpanInto(omaKeySchedule(options.key), scratch, frame, LENGTH_FIELD_SIZE, digestAt);
    digestValid = checkScratchDigest(options.onBadDigest, frame, digestAt);
  }
  const request = decodeRequestPdu(frame, LENGTH_FIELD_SIZE, seqAt);
  const seq = frame[seqAt] * 0x1000000 + ((frame[seqAt + 1] << 16) | (frame[seqAt + 2] << 8) | frame[seqAt + 3]);
  return {
    request,
    seq,
    pdu: frame.subarray(LENGTH_FIELD_SIZE, seqAt),
    digest: frame.subarray(digestAt, end),
    digestValid,
    insecure: true,
  };
}

/** Compares the computed digest in `scratch` with the frame's, in constant time. */
function checkScratchDigest(onBadDigest: OnBadDigest | undefined, frame: Uint8Array, digestAt: number): boolean {
  const ok = constantTimeEqualAt(scratch, 0, frame, digestAt, DIGEST_SIZE);
  if (!ok && onBadDigest !== "report") {
    throw new BadDigestError(bytesToHex(scratch), bytesToHex(frame.subarray(digestAt, digestAt + DIGEST_SIZE)));
  }
  return ok;
}

/**
 * The bytes a response digest starts from: request PDU ‖ seq, a view into the request frame.
 * @example
 * requestDigestInput(requestFrame) // frame without len and digest
 */
export function requestDigestInput(requestFrame: Uint8Array): Uint8Array {
  const end = checkFrame(requestFrame, 1 + SEQ_SIZE + DIGEST_SIZE, "request");
  return requestFrame.subarray(LENGTH_FIELD_SIZE, end - DIGEST_SIZE);
}

export interface EncodeResponseParameters {
  /** The response as an object, or a ready response PDU. */
  response: ServiceResponse | Uint8Array;
  /** Request PDU ‖ request seq, see {@link requestDigestInput}. */
  request: Uint8Array;
  key: Uint8Array;
}

/**
 * Frames a response: len | PDU | digest(request PDU ‖ seq ‖ response PDU).
 * @example
 * encodeResponse({ response: { response: "invalidSequenceNumber", seq: 0x77635b90 }, request, key })
 */
export function encodeResponse({ response, request, key }: EncodeResponseParameters): Uint8Array {
  const schedule = omaKeySchedule(key);
  const pdu = response instanceof Uint8Array ? response : encodeResponsePdu(response);
  if (pdu.length < 1) throw new InvalidArgumentError("response", pdu, "a PDU of at least 1 byte");
  if (!(request instanceof Uint8Array)) throw new InvalidArgumentError("request", request, "request PDU ‖ seq bytes");
  const body = pdu.length + DIGEST_SIZE;
  const frame = new Uint8Array(LENGTH_FIELD_SIZE + body);
  writeLength(frame, body);
  frame.set(pdu, LENGTH_FIELD_SIZE);
  const digestAt = LENGTH_FIELD_SIZE + pdu.length;
  responseDigestSpanInto(schedule, scratch, request, 0, request.length, frame, LENGTH_FIELD_SIZE, digestAt);
  frame.set(scratch, digestAt);
  return frame;
}

export interface DecodeResponseOptions {
  /** Verify the digest with this key (needs `request`). */
  key?: Uint8Array;
  /** Request PDU ‖ request seq; also tells whether an OK response carries data. */
  request?: Uint8Array;
  onBadDigest?: OnBadDigest;
}

export interface DecodeResponseReturnType {
  response: ServiceResponse;
  pdu: Uint8Array;
  digest: Uint8Array;
  digestValid: boolean | null;
  insecure: true;
}

/**
 * Parses a response frame and, with key and request, verifies its digest in constant time.
 * @example
 * decodeResponse(frame, { key, request: requestDigestInput(requestFrame) }).response
 */
export function decodeResponse(frame: Uint8Array, options: DecodeResponseOptions = {}): DecodeResponseReturnType {
  options ??= {};
  const end = checkFrame(frame, 1 + DIGEST_SIZE, "response");
  const digestAt = end - DIGEST_SIZE;
  const { key, request } = options;
  if (request !== undefined && (!(request instanceof Uint8Array) || request.length < 1 + SEQ_SIZE)) {
    throw new InvalidArgumentError("request", request, "request PDU ‖ seq (at least 5 bytes)");
  }
  let digestValid: boolean | null = null;
  if (key !== undefined) {
    if (request === undefined) throw new InvalidArgumentError("request", request, "request PDU ‖ seq to verify a response digest");
    responseDigestSpanInto(omaKeySchedule(key), scratch, request, 0, request.length, frame, LENGTH_FIELD_SIZE, digestAt);
    digestValid = checkScratchDigest(options.onBadDigest, frame, digestAt);
  }
  const response = decodeResponsePdu(frame, LENGTH_FIELD_SIZE, digestAt, request ? { requestServiceCode: request[0] } : {});
  return {
    response,
    pdu: frame.subarray(LENGTH_FIELD_SIZE, digestAt),
    digest: frame.subarray(digestAt, end),
    digestValid,
    insecure: true,
  };
}
