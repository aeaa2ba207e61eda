// legacy-rc4-mep: the MEP guide's "RC4 security" — OMA digest over the plaintext, optional RC4 over
// PDU ‖ seq (request) and the response PDU, the response continuing the request's keystream. Both
// primitives are broken; every frame decoded here is flagged `insecure`.
import { bytesToHex } from "./hex";
import { OMA_KEY_LENGTHS, constantTimeEqualAt, digestSpanInto, omaKeySchedule, responseDigestSpanInto } from "./digest";
import { BadDigestError, InvalidArgumentError, InvalidKeyError } from "./errors";
import { DIGEST_SIZE, LENGTH_FIELD_SIZE, SEQ_SIZE, checkFrame, encodeRequest, encodeResponse } from "./frame";
import { mepEncryptionKey, mepExchangeCipher, type Rc4 } from "./rc4";
import { decodeRequestPdu, decodeResponsePdu, type ServiceResponse } from "./services";
import type {
  SecuritySuite,
  SuiteDecodeRequestReturnType,
  SuiteDecodeResponseReturnType,
  SuiteEncodeRequestParameters,
  SuiteEncodeRequestReturnType,
  SuiteEncodeResponseParameters,
  SuiteExchange,
} from "./suiteTypes";

const NAME = "legacy-rc4-mep" as const;
const AUTHENTICATION_FAILURE = 0x0b;

export interface LegacyRc4MepSuiteOptions {
  /** MEP key (MAK or MBK): 16 bytes; 6 or 12 only with `encrypt: false`. */
  key: Uint8Array;
  /** Must be true: this suite is broken and only for reading installed meters. */
  allowInsecure: boolean;
  /** Whether requests are RC4-encrypted (default true). Decoding accepts both. */
  encrypt?: boolean;
}

class LegacyExchange implements SuiteExchange {
  readonly suite = NAME;
  constructor(
    readonly seq: number,
    /** Plaintext request PDU ‖ seq (the response digest starts from it). */
    readonly requestPlain: Uint8Array,
    /** RC4 state right after the request, or null when the exchange is unencrypted. */
    readonly cipherAfterRequest: Rc4 | null,
  ) {}
}

export function createLegacyRc4MepSuite(options: LegacyRc4MepSuiteOptions): SecuritySuite {
  const key = options.key;
  if (!(key instanceof Uint8Array) || !OMA_KEY_LENGTHS.includes(key.length)) throw new InvalidKeyError(key?.length ?? 0, OMA_KEY_LENGTHS);
  const encrypt = options.encrypt ?? true;
  if (encrypt && key.length !== 16) throw new InvalidKeyError(key.length, [16]);
  const schedule = omaKeySchedule(key);
  // RC4 needs the 16-byte key; with a shorter OMA key the suite is digest-only.
  const encryptionKey = key.length === 16 ? mepEncryptionKey(key) : null;
  const digest = new Uint8Array(DIGEST_SIZE);

  function exchangeOf(exchange: SuiteExchange): LegacyExchange {
    if (!(exchange instanceof LegacyExchange)) throw new InvalidArgumentError("exchange", exchange, `an exchange from this ${NAME} suite`);
    return exchange;
  }

  return {
    name: NAME,
    insecure: true,

    encodeRequest({ request, seq }: SuiteEncodeRequestParameters): SuiteEncodeRequestReturnType {
      const frame = encodeRequest({ request, seq, key });
      const digestAt = frame.length - DIGEST_SIZE;
      const requestPlain = frame.slice(LENGTH_FIELD_SIZE, digestAt);
      let cipher: Rc4 | null = null;
      if (encrypt && encryptionKey) {
        cipher = mepExchangeCipher(encryptionKey, frame.subarray(digestAt));
        cipher.applyInPlace(frame, LENGTH_FIELD_SIZE, digestAt);
      }
      return { frame, exchange: new LegacyExchange(seq, requestPlain, cipher) };
    },

    decodeRequest(frame: Uint8Array): SuiteDecodeRequestReturnType {
      const end = checkFrame(frame, 1 + SEQ_SIZE + DIGEST_SIZE, "request");
      const digestAt = end - DIGEST_SIZE;
      // As a MEP server: try the frame as plaintext, then as RC4-encrypted.
      digestSpanInto(schedule, digest, frame, LENGTH_FIELD_SIZE, digestAt);
      let plain: Uint8Array;
      let cipher: Rc4 | null = null;
      if (constantTimeEqualAt(digest, 0, frame, digestAt, DIGEST_SIZE)) {
        plain = frame.slice(LENGTH_FIELD_SIZE, digestAt);
      } else {
        const plainGuess = bytesToHex(digest);
        if (!encryptionKey) throw new BadDigestError(plainGuess, bytesToHex(frame.subarray(digestAt, end)));
        plain = frame.slice(LENGTH_FIELD_SIZE, digestAt);
        cipher = mepExchangeCipher(encryptionKey, frame.subarray(digestAt, end));
        cipher.applyInPlace(plain);
        digestSpanInto(schedule, digest, plain, 0, plain.length);
        if (!constantTimeEqualAt(digest, 0, frame, digestAt, DIGEST_SIZE)) {
          throw new BadDigestError(plainGuess, bytesToHex(frame.subarray(digestAt, end)), {
            details: `neither as plaintext nor RC4-decrypted (which would give ${bytesToHex(digest)})`,
          });
        }
      }
      const seqAt = plain.length - SEQ_SIZE;
      const request = decodeRequestPdu(plain, 0, seqAt);
      const seq = plain[seqAt] * 0x1000000 + ((plain[seqAt + 1] << 16) | (plain[seqAt + 2] << 8) | plain[seqAt + 3]);
      return {
        suite: NAME,
        request,
        seq,
        encrypted: cipher !== null,
        insecure: true,
        exchange: new LegacyExchange(seq, plain, cipher),
      };
    },

    encodeResponse({ response, exchange }: SuiteEncodeResponseParameters): Uint8Array {
      const ex = exchangeOf(exchange);
      const frame = encodeResponse({ response, request: ex.requestPlain, key });
      // The guide: a 0x0B (authentication failure) response is never encrypted, 0x0C is.
      if (ex.cipherAfterRequest && frame[LENGTH_FIELD_SIZE] !== AUTHENTICATION_FAILURE) {
        ex.cipherAfterRequest.copy().applyInPlace(frame, LENGTH_FIELD_SIZE, frame.length - DIGEST_SIZE);
      }
      return frame;
    },

    decodeResponse(frame: Uint8Array, exchange: SuiteExchange): SuiteDecodeResponseReturnType {
      const ex = exchangeOf(exchange);
      const end = checkFrame(frame, 1 + DIGEST_SIZE, "response");
      const digestAt = end - DIGEST_SIZE;
      const requestCode = ex.requestPlain[0];
      let pdu = frame.subarray(LENGTH_FIELD_SIZE, digestAt);
      let encrypted = false;
      if (ex.cipherAfterRequest) {
        const decrypted = pdu.slice();
        ex.cipherAfterRequest.copy().applyInPlace(decrypted);
        responseDigestSpanInto(schedule, digest, ex.requestPlain, 0, ex.requestPlain.length, decrypted, 0, decrypted.length);
        const decryptedOk = constantTimeEqualAt(digest, 0, frame, digestAt, DIGEST_SIZE);
        // A one-byte 0x0B travels in clear; every other response of an encrypted exchange is encrypted.
        if (decryptedOk || !(pdu.length === 1 && pdu[0] === AUTHENTICATION_FAILURE)) {
          if (!decryptedOk) throw new BadDigestError(bytesToHex(digest), bytesToHex(frame.subarray(digestAt, end)));
          pdu = decrypted;
          encrypted = true;
        }
      }
      if (!encrypted) {
        responseDigestSpanInto(schedule, digest, ex.requestPlain, 0, ex.requestPlain.length, pdu, 0, pdu.length);
        if (!constantTimeEqualAt(digest, 0, frame, digestAt, DIGEST_SIZE)) {
          throw new BadDigestError(bytesToHex(digest), bytesToHex(frame.subarray(digestAt, end)));
        }
      }
      const response: ServiceResponse = decodeResponsePdu(pdu, 0, pdu.length, { requestServiceCode: requestCode });
      return { suite: NAME, response, seq: null, encrypted, insecure: true };
    },
  };
}
