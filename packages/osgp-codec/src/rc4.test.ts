import { bytesToHex } from "./hex";
import { MEP_RC4_CONSTANT, Rc4, mepEncryptionKey, mepExchangeCipher } from "./rc4";
import { RC4_VECTORS } from "./test-utils/vectors";

describe("RC4", () => {
  for (const v of RC4_VECTORS) {
    it(`matches ${v.source}`, () => {
      expect(bytesToHex(new Rc4(v.key).process(v.plaintext))).toBe(bytesToHex(v.ciphertext));
    });
  }
  it("continues the keystream across calls, and copy() forks it", () => {
    const whole = new Rc4(RC4_VECTORS[0].key).process(new Uint8Array(32));
    const rc4 = new Rc4(RC4_VECTORS[0].key);
    const first = rc4.process(new Uint8Array(10));
    const fork = rc4.copy();
    expect(bytesToHex(first) + bytesToHex(rc4.process(new Uint8Array(22)))).toBe(bytesToHex(whole));
    expect(bytesToHex(fork.process(new Uint8Array(22)))).toBe(bytesToHex(whole.subarray(10)));
  });
});

describe("MEP key schedule (guide Appendix B)", () => {
  it("EncKey is RC4(MEP key) applied to the 16-byte constant 388B8FBC...3B99", () => {
    expect(bytesToHex(MEP_RC4_CONSTANT)).toBe("388b8fbc36a8558587afc90fb23a3b99");
    const key = new Uint8Array(16).fill(1);
    expect(bytesToHex(mepEncryptionKey(key))).toBe(bytesToHex(new Rc4(key).process(MEP_RC4_CONSTANT)));
  });
  it("the exchange cipher is keyed with EncKey XOR the request digest on its first 8 bytes", () => {
    const encKey = Uint8Array.from({ length: 16 }, (_, i) => i);
    const digest = Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0x01]);
    const manual = Uint8Array.from(encKey);
    manual[0] ^= 0xff;
    manual[7] ^= 0x01;
    expect(bytesToHex(mepExchangeCipher(encKey, digest).process(new Uint8Array(8)))).toBe(bytesToHex(new Rc4(manual).process(new Uint8Array(8))));
  });
});
