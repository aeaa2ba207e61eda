// RC4 (needed only to read installed MEP meters; Node's OpenSSL 3 no longer ships it) and the MEP
// key schedule of the guide's Appendix B: EncKey = RC4(key = MEP key) applied to a fixed 16-byte
// constant; per exchange, RC4 is keyed with EncKey whose first 8 bytes are XORed with the request
// digest, and the response continues that keystream.
import { InvalidKeyError } from "./errors";

/** The constant of the MEP guide, Appendix B. */
export const MEP_RC4_CONSTANT = Uint8Array.from([
  0x38, 0x8b, 0x8f, 0xbc, 0x36, 0xa8, 0x55, 0x85, 0x87, 0xaf, 0xc9, 0x0f, 0xb2, 0x3a, 0x3b, 0x99,
]);

export class Rc4 {
  private s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length < 1 || key.length > 256) throw new InvalidKeyError(key?.length ?? 0, [1, 256]);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      j = (j + s[k] + key[k % key.length]) & 0xff;
      const t = s[k];
      s[k] = s[j];
      s[j] = t;
    }
  }

  /** XORs the next keystream bytes into `data[start, end)` in place. */
  applyInPlace(data: Uint8Array, start = 0, end = data.length): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = start; k < end; k++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]) & 0xff;
      const t = s[i];
      s[i] = s[j];
      s[j] = t;
      data[k] ^= s[(s[i] + s[j]) & 0xff];
    }
    this.i = i;
    this.j = j;
  }

  /** Returns `data` XOR the next keystream bytes (a new array). */
  process(data: Uint8Array): Uint8Array {
    const out = data.slice();
    this.applyInPlace(out);
    return out;
  }

  copy(): Rc4 {
    // Skip the key schedule: the copy takes this state as is.
    const c = Object.create(Rc4.prototype) as Rc4;
    c.s = this.s.slice();
    c.i = this.i;
    c.j = this.j;
    return c;
  }
}

/**
 * The MEP encryption key: RC4 keyed with the 16-byte MEP key, applied to {@link MEP_RC4_CONSTANT}.
 * @example
 * mepEncryptionKey(new Uint8Array(16).fill(1)) // 16 bytes
 */
export function mepEncryptionKey(mepKey: Uint8Array): Uint8Array {
  if (!(mepKey instanceof Uint8Array) || mepKey.length !== 16) throw new InvalidKeyError(mepKey?.length ?? 0, [16]);
  return new Rc4(mepKey).process(MEP_RC4_CONSTANT);
}

/**
 * The RC4 state for one exchange: EncKey with its first 8 bytes XORed with the request digest.
 * @example
 * const rc4 = mepExchangeCipher(encKey, requestDigest); rc4.applyInPlace(pduAndSeq);
 */
export function mepExchangeCipher(encryptionKey: Uint8Array, requestDigest: Uint8Array): Rc4 {
  const k = encryptionKey.slice(0, 16);
  for (let i = 0; i < 8; i++) k[i] ^= requestDigest[i];
  return new Rc4(k);
}
