import fc from "fast-check";
import { SigningKey, TypedDataEncoder, Wallet, getAddress, hexlify, recoverAddress } from "ethers";
import { MESSAGE_TYPES, domainSeparator, inboxDomain, messageDigest, recoverSigner, signDigest } from "./messages";

const N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
/** A private key (1 ≤ k < n) and a 32-byte digest. */
const keyAndDigest = fc
  .record({ k: fc.bigInt({ min: 1n, max: N - 1n }), d: fc.uint8Array({ minLength: 32, maxLength: 32 }) })
  .map(({ k, d }) => ({ key: new SigningKey(`0x${k.toString(16).padStart(64, "0")}`), digest: hexlify(d) }));

describe("signDigest", () => {
  it("makes exactly the signature ethers' SigningKey makes (RFC 6979, low s, v 27/28), which recovers to the signer", () => {
    fc.assert(
      fc.property(keyAndDigest, ({ key, digest }) => {
        const sig = signDigest(key, digest);
        expect(sig).toBe(key.sign(digest).serialized);
        expect(recoverAddress(digest, sig)).toBe(new Wallet(key).address);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

describe("recoverSigner", () => {
  it("recovers what ethers' recoverAddress recovers, for any key and digest", () => {
    fc.assert(
      fc.property(keyAndDigest, ({ key, digest }) => {
        const sig = signDigest(key, digest);
        expect(recoverSigner(digest, sig)).toBe(recoverAddress(digest, sig));
        // v as 0/1 (as some signers write it) names the same signer.
        const v01 = `${sig.slice(0, 130)}${(parseInt(sig.slice(130), 16) - 27).toString(16).padStart(2, "0")}`;
        expect(recoverSigner(digest, v01)).toBe(new Wallet(key).address);
        return true;
      }),
      { numRuns: 200 },
    );
  });

  it("names no signer for a malformed, out-of-range or malleated signature", () => {
    const key = new SigningKey(hexlify(new Uint8Array(32).fill(7)));
    const digest = `0x${"ab".repeat(32)}`;
    const sig = signDigest(key, digest);
    expect(recoverSigner(digest, sig.slice(0, -2))).toBeUndefined(); // 64 bytes
    expect(recoverSigner(digest, `${sig.slice(0, 130)}1d`)).toBeUndefined(); // v = 29
    expect(recoverSigner(digest, `0x${"00".repeat(64)}1b`)).toBeUndefined(); // r = s = 0
    expect(recoverSigner("0x1234", sig)).toBeUndefined();
    // s → n - s with v flipped is the same key's other valid signature: refused (EIP-2).
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const twin = `${sig.slice(0, 66)}${(N - s).toString(16).padStart(64, "0")}${sig.slice(130) === "1b" ? "1c" : "1b"}`;
    expect(() => recoverAddress(digest, twin)).toThrow(/non-canonical s/); // ethers refuses it too
    expect(recoverSigner(digest, twin)).toBeUndefined();
  });
});

describe("messageDigest", () => {
  it("is the EIP-712 digest ethers computes for the inbox's domain, for any message and across domains", () => {
    const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));
    const addr = hex(20).map((a) => getAddress(a));
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
        addr,
        fc.record({ srcChainId: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), srcSender: addr, nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), dstChainId: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), dstContract: addr, payload: fc.uint8Array({ maxLength: 300 }).map((b) => hexlify(b)) }),
        (chainId, inbox, m) => {
          const expected = TypedDataEncoder.hash(inboxDomain(chainId, inbox), MESSAGE_TYPES as unknown as Record<string, { name: string; type: string }[]>, m);
          expect(messageDigest(domainSeparator(chainId, inbox), m)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
