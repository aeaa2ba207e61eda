import fc from "fast-check";
import { SigningKey, Wallet, hexlify, recoverAddress } from "ethers";
import { signDigest } from "./messages";

describe("signDigest", () => {
  it("makes exactly the signature ethers' SigningKey makes (RFC 6979, low s, v 27/28), which recovers to the signer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (k, d) => {
        let key: SigningKey;
        try {
          key = new SigningKey(hexlify(k));
        } catch {
          return true; // zero or ≥ n: not a private key
        }
        const digest = hexlify(d);
        const sig = signDigest(key, digest);
        expect(sig).toBe(key.sign(digest).serialized);
        expect(recoverAddress(digest, sig)).toBe(new Wallet(key).address);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
