// Security suite 0 (AES-GCM-128) of the Green Book (9.2.7.2): the security header is
// security control (1) | invocation counter (4); the IV is system title (8) | invocation counter (4).
//   authentication only:  tag = GMAC(EK, IV, SC | AK | plaintext), information = plaintext | tag
//   encryption only:      information = AES-GCM ciphertext (no tag)
//   both:                 tag over AAD = SC | AK, information = ciphertext | tag
// The tag is truncated to 12 bytes.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { BadTagError, InvalidArgumentError, InvalidKeyError, MissingKeyError, TruncatedError, UnsupportedSecurityError } from "./errors";
import { bytesToHex } from "./hex";

export const GCM_TAG_SIZE = 12;
export const SYSTEM_TITLE_SIZE = 8;

export interface SecurityControl {
  /** Bits 0-3: the security suite (only 0 is supported). */
  suite: number;
  authentication: boolean;
  encryption: boolean;
  broadcastKey: boolean;
  compression: boolean;
}

export function decodeSecurityControl(sc: number): SecurityControl {
  return { suite: sc & 0x0f, authentication: (sc & 0x10) !== 0, encryption: (sc & 0x20) !== 0, broadcastKey: (sc & 0x40) !== 0, compression: (sc & 0x80) !== 0 };
}

export function encodeSecurityControl(c: Partial<SecurityControl>): number {
  return ((c.suite ?? 0) & 0x0f) | (c.authentication ? 0x10 : 0) | (c.encryption ? 0x20 : 0) | (c.broadcastKey ? 0x40 : 0) | (c.compression ? 0x80 : 0);
}

export interface SecurityKeys {
  /** Global unicast (or broadcast) encryption key, 16 bytes. */
  ek?: Uint8Array;
  /** Authentication key, 16 bytes. */
  ak?: Uint8Array;
}

export interface ProtectParameters extends SecurityKeys {
  securityControl: number;
  /** The sender's system title (8 bytes). */
  systemTitle: Uint8Array;
  invocationCounter: number;
  plaintext: Uint8Array;
}

function checkKey(name: "ek" | "ak", key: Uint8Array | undefined): Uint8Array {
  if (key === undefined) throw new MissingKeyError(name);
  if (key.length !== 16) throw new InvalidKeyError(name.toUpperCase(), key.length, 16);
  return key;
}

function checkSuite(sc: number): SecurityControl {
  const c = decodeSecurityControl(sc);
  if (c.suite !== 0) throw new UnsupportedSecurityError(sc, `security suite ${c.suite} (only suite 0, AES-GCM-128, is supported)`);
  if (c.compression) throw new UnsupportedSecurityError(sc, "compression is not supported");
  if (!c.authentication && !c.encryption) throw new UnsupportedSecurityError(sc, "neither authentication nor encryption is set");
  return c;
}

function iv(systemTitle: Uint8Array, invocationCounter: number): Buffer {
  if (systemTitle.length !== SYSTEM_TITLE_SIZE) throw new InvalidArgumentError("systemTitle", systemTitle, `${SYSTEM_TITLE_SIZE} bytes`);
  if (!Number.isInteger(invocationCounter) || invocationCounter < 0 || invocationCounter > 0xffffffff) throw new InvalidArgumentError("invocationCounter", invocationCounter, "0..2^32-1");
  const out = Buffer.alloc(12);
  out.set(systemTitle, 0);
  out.writeUInt32BE(invocationCounter, 8);
  return out;
}

/**
 * Protects an APDU under suite 0 and returns `ciphertext | tag` (the part after the security header).
 * @example
 * protect({ securityControl: 0x30, systemTitle, invocationCounter: 0x01234567, ek, ak, plaintext })
 */
export function protect(p: ProtectParameters): Uint8Array {
  const c = checkSuite(p.securityControl);
  const ek = checkKey("ek", p.ek);
  const nonce = iv(p.systemTitle, p.invocationCounter);
  if (!c.authentication) {
    // Encryption without a tag is GCM's CTR part alone, counting from block 2.
    const ctr = createCipheriv("aes-128-ctr", ek, Buffer.concat([nonce, Uint8Array.of(0, 0, 0, 2)]));
    return new Uint8Array(Buffer.concat([ctr.update(p.plaintext), ctr.final()]));
  }
  const ak = checkKey("ak", p.ak);
  const cipher = createCipheriv("aes-128-gcm", ek, nonce, { authTagLength: GCM_TAG_SIZE });
  cipher.setAAD(Buffer.concat([Uint8Array.of(p.securityControl), ak, c.encryption ? new Uint8Array(0) : p.plaintext]));
  const body = c.encryption ? Buffer.concat([cipher.update(p.plaintext), cipher.final()]) : (cipher.final(), Buffer.from(p.plaintext));
  return new Uint8Array(Buffer.concat([body, cipher.getAuthTag()]));
}

export interface UnprotectParameters extends SecurityKeys {
  securityControl: number;
  systemTitle: Uint8Array;
  invocationCounter: number;
  /** ciphertext | tag, as carried after the security header. */
  information: Uint8Array;
}

/**
 * Checks the tag and decrypts; throws {@link BadTagError} when the tag does not verify.
 * @example
 * unprotect({ securityControl: 0x30, systemTitle, invocationCounter, ek, ak, information }) // the plaintext APDU
 */
export function unprotect(p: UnprotectParameters): Uint8Array {
  const c = checkSuite(p.securityControl);
  const ek = checkKey("ek", p.ek);
  const nonce = iv(p.systemTitle, p.invocationCounter);
  if (!c.authentication) {
    const ctr = createDecipheriv("aes-128-ctr", ek, Buffer.concat([nonce, Uint8Array.of(0, 0, 0, 2)]));
    return new Uint8Array(Buffer.concat([ctr.update(p.information), ctr.final()]));
  }
  const ak = checkKey("ak", p.ak);
  if (p.information.length < GCM_TAG_SIZE) throw new TruncatedError("GCM tag", GCM_TAG_SIZE, p.information.length);
  const body = p.information.subarray(0, p.information.length - GCM_TAG_SIZE);
  const tag = p.information.subarray(p.information.length - GCM_TAG_SIZE);
  const decipher = createDecipheriv("aes-128-gcm", ek, nonce, { authTagLength: GCM_TAG_SIZE });
  decipher.setAAD(Buffer.concat([Uint8Array.of(p.securityControl), ak, c.encryption ? new Uint8Array(0) : body]));
  decipher.setAuthTag(tag);
  const plain = c.encryption ? decipher.update(body) : Buffer.from(body);
  try {
    decipher.final();
  } catch (e) {
    throw new BadTagError(bytesToHex(p.systemTitle), p.invocationCounter, { cause: e });
  }
  return new Uint8Array(plain);
}
