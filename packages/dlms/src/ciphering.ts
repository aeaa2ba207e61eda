// Ciphered APDUs: glo-xxx (the sender's system title comes from the association, e.g. the AARE's
// responding-AP-title) and general-glo-ciphering (carries the system title itself).
import { decodeApdu } from "./apdu";
import { APDU_TAGS, type Apdu, CIPHERED_TAGS, type CipheredApdu, type CipheredApduType, type GeneralGloCiphering } from "./apduTypes";
import { FieldValueError, InvalidArgumentError, MissingKeyError } from "./errors";
import { SYSTEM_TITLE_SIZE, type SecurityKeys, protect, unprotect } from "./security";

export type AnyCipheredApdu = CipheredApdu | GeneralGloCiphering;

/** Whether an APDU is a ciphered one this module can open. */
export function isCipheredApdu(apdu: Apdu): apdu is AnyCipheredApdu {
  return apdu.type in CIPHERED_TAGS || apdu.type === "general-glo-ciphering" || apdu.type === "general-ded-ciphering";
}

export interface DecipherApduParameters extends SecurityKeys {
  /** The sender's system title; required for glo-xxx APDUs, ignored for general-glo-ciphering. */
  systemTitle?: Uint8Array;
}

/**
 * Verifies and decrypts a ciphered APDU and decodes the APDU inside.
 * @example
 * decipherApdu(decodeApdu(frame), { ek, ak, systemTitle }) // { type: "get-request-normal", ... }
 */
export function decipherApdu(apdu: AnyCipheredApdu, p: DecipherApduParameters): Apdu {
  return decodeApdu(decipherApduBytes(apdu, p));
}

/** As {@link decipherApdu}, returning the plaintext bytes. */
export function decipherApduBytes(apdu: AnyCipheredApdu, p: DecipherApduParameters): Uint8Array {
  const systemTitle = "systemTitle" in apdu ? apdu.systemTitle : p.systemTitle;
  if (systemTitle === undefined) throw new MissingKeyError("systemTitle");
  // A general-glo-ciphering APDU carries its own title: a wrong length is a malformed APDU, not a bad argument.
  if (systemTitle.length !== SYSTEM_TITLE_SIZE) throw new FieldValueError("BAD_FORMAT", "system-title length", systemTitle.length, `${SYSTEM_TITLE_SIZE}`);
  return unprotect({
    securityControl: apdu.securityControl,
    invocationCounter: apdu.invocationCounter,
    systemTitle,
    information: apdu.information,
    ...(p.ek ? { ek: p.ek } : {}),
    ...(p.ak ? { ak: p.ak } : {}),
  });
}

// Plain APDU tag -> its glo- counterpart.
const GLO_FOR: Record<number, CipheredApduType> = {
  [APDU_TAGS["initiate-request"]]: "glo-initiate-request",
  [APDU_TAGS["initiate-response"]]: "glo-initiate-response",
  [APDU_TAGS["confirmed-service-error"]]: "glo-confirmed-service-error",
  [APDU_TAGS["get-request"]]: "glo-get-request",
  [APDU_TAGS["set-request"]]: "glo-set-request",
  [APDU_TAGS["action-request"]]: "glo-action-request",
  [APDU_TAGS["get-response"]]: "glo-get-response",
  [APDU_TAGS["set-response"]]: "glo-set-response",
  [APDU_TAGS["action-response"]]: "glo-action-response",
};

export interface CipherApduParameters extends SecurityKeys {
  /** The encoded plain APDU. */
  plaintext: Uint8Array;
  /** Our system title (the IV's first 8 bytes). */
  systemTitle: Uint8Array;
  invocationCounter: number;
  /** Default 0x30: suite 0, authenticated and encrypted. */
  securityControl?: number;
  /** "glo" (default: the glo- tag matching the plain APDU) or "general-glo" (general-glo-ciphering). */
  form?: "glo" | "general-glo";
}

/**
 * Protects an encoded APDU and wraps it as glo-xxx or general-glo-ciphering.
 * @example
 * cipherApdu({ plaintext: hexToBytes("c0010000080000010000ff0200"), systemTitle, invocationCounter: 0x01234567, ek, ak })
 * // { type: "glo-get-request", securityControl: 0x30, invocationCounter: 0x01234567, information: ... }
 */
export function cipherApdu(p: CipherApduParameters): AnyCipheredApdu {
  const securityControl = p.securityControl ?? 0x30;
  const information = protect({ securityControl, systemTitle: p.systemTitle, invocationCounter: p.invocationCounter, plaintext: p.plaintext, ...(p.ek ? { ek: p.ek } : {}), ...(p.ak ? { ak: p.ak } : {}) });
  if (p.form === "general-glo") return { type: "general-glo-ciphering", systemTitle: p.systemTitle.slice(), securityControl, invocationCounter: p.invocationCounter, information };
  const type = GLO_FOR[p.plaintext[0]];
  if (type === undefined) throw new InvalidArgumentError("plaintext[0]", p.plaintext[0], "an APDU with a glo- form (initiate, get/set/action request/response); use form: 'general-glo'");
  return { type, securityControl, invocationCounter: p.invocationCounter, information };
}
