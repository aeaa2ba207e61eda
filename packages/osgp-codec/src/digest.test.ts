import fc from "fast-check";
import { OmaDigest, constantTimeEqual, omaBlockSize, omaDigest, omaResponseDigest, verifyOmaDigest } from "./digest";
import { InvalidKeyError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { referenceDigest, referenceDigestCall, referenceState } from "./test-utils/referenceDigest";
import { DEFAULT_MAK, GUIDE_EXCHANGES, JN_VECTOR } from "./test-utils/vectors";

const body = (frame: Uint8Array) => frame.subarray(2, frame.length - 8);
const trailer = (frame: Uint8Array) => bytesToHex(frame.subarray(frame.length - 8));

describe("published OMA digest vectors", () => {
  it(`96-bit key DF×12 over the 28-byte message gives DBE5CDE507B1CB3D — ${JN_VECTOR.source}`, () => {
    expect(bytesToHex(omaDigest(JN_VECTOR.key, JN_VECTOR.message))).toBe("dbe5cde507b1cb3d");
    expect(JN_VECTOR.message.length).toBe(28);
  });

  for (const [name, ex] of Object.entries(GUIDE_EXCHANGES)) {
    it(`request digest, ${name} — ${ex.source}`, () => {
      expect(bytesToHex(omaDigest(DEFAULT_MAK, body(ex.request)))).toBe(trailer(ex.request));
    });
    it(`response digest over request PDU ‖ seq ‖ response PDU, ${name} — ${ex.source}`, () => {
      const digest = omaResponseDigest({ key: DEFAULT_MAK, request: body(ex.request), response: body(ex.response) });
      expect(bytesToHex(digest)).toBe(trailer(ex.response));
    });
  }

  it("a lone 0x00 response digests like zero padding, so it equals the request digest (RC4 Example 2, EP17 example)", () => {
    const ex = GUIDE_EXCHANGES["RC4 Example 2, partial write of ET50"];
    expect(trailer(ex.response)).toBe(trailer(ex.request));
    expect(bytesToHex(omaResponseDigest({ key: DEFAULT_MAK, request: body(ex.request), response: new Uint8Array([0x01]) }))).not.toBe(
      trailer(ex.request),
    );
  });
});

describe("block sizes", () => {
  it("is 8 × key bytes per block: 48, 144, 192 for 48-, 96-, 128-bit keys", () => {
    expect([6, 12, 16].map(omaBlockSize)).toEqual([48, 144, 192]);
  });
  it("rejects other key lengths with InvalidKeyError", () => {
    expect(() => omaDigest(new Uint8Array(8), new Uint8Array(1))).toThrow(InvalidKeyError);
    expect(() => omaBlockSize(10)).toThrow(expect.objectContaining({ code: "INVALID_KEY", length: 10 }));
  });
  it("zero-pads to a whole block: a message and the same message plus zeros up to the block end digest alike", () => {
    const key = hexToBytes("00112233445566778899aabb");
    const msg = hexToBytes("3f0017000000002c01020304");
    const padded = new Uint8Array(144);
    padded.set(msg);
    expect(bytesToHex(omaDigest(key, msg))).toBe(bytesToHex(omaDigest(key, padded)));
    expect(bytesToHex(omaDigest(key, msg))).not.toBe(bytesToHex(omaDigest(key, new Uint8Array(145))));
  });
});

describe("edge cases of the reference C code", () => {
  const key = DEFAULT_MAK;
  it("an empty message digests as one whole block of zeros (the loop body runs once)", () => {
    expect(bytesToHex(omaDigest(key, new Uint8Array(0)))).toBe(bytesToHex(omaDigest(key, new Uint8Array(192))));
    expect(bytesToHex(omaDigest(key, new Uint8Array(0)))).not.toBe("0000000000000000");
  });
  it("one-shot over a block-aligned message adds no padding block", () => {
    const msg = Uint8Array.from({ length: 192 }, (_, i) => i);
    const st = referenceState();
    referenceDigestCall(msg, key, st, true);
    expect(bytesToHex(omaDigest(key, msg))).toBe(bytesToHex(st.digest));
    expect(bytesToHex(omaDigest(key, msg))).not.toBe(bytesToHex(omaDigest(key, Uint8Array.from({ length: 384 }, (_, i) => (i < 192 ? i : 0)))));
  });
  it("streaming update() ending on a boundary then digest() with no tail adds a whole zero block", () => {
    const msg = Uint8Array.from({ length: 192 }, (_, i) => 255 - i);
    const streamed = new OmaDigest(key).update(msg).digest();
    const padded = new Uint8Array(384);
    padded.set(msg);
    expect(bytesToHex(streamed)).toBe(bytesToHex(omaDigest(key, padded)));
    expect(bytesToHex(streamed)).not.toBe(bytesToHex(omaDigest(key, msg)));
  });
  it("streaming update() ending mid-block then digest() equals the one-shot digest", () => {
    const msg = Uint8Array.from({ length: 100 }, (_, i) => i * 7);
    expect(bytesToHex(new OmaDigest(key).update(msg).digest())).toBe(bytesToHex(omaDigest(key, msg)));
  });
  it("digest() leaves the stream usable (the guide's method 1 for response digests)", () => {
    const ex = GUIDE_EXCHANGES["RC4 Example 1, first read (0x0C reply)"];
    const d = new OmaDigest(key).update(body(ex.request));
    expect(bytesToHex(d.digest())).toBe(trailer(ex.request));
    expect(bytesToHex(d.digest(body(ex.response)))).toBe(trailer(ex.response));
    expect(d.position).toBe(12);
    expect(bytesToHex(d.copy().update(body(ex.response)).digest())).toBe(trailer(ex.response));
    expect(d.reset().position).toBe(0);
  });
});

describe("against a literal model of the reference function", () => {
  const keyArb = fc.constantFrom(6, 12, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
  it("one-shot digests match for random keys and messages up to 3 blocks", () => {
    fc.assert(
      fc.property(keyArb, fc.uint8Array({ maxLength: 600 }), (key, msg) => {
        expect(bytesToHex(omaDigest(key, msg))).toBe(bytesToHex(referenceDigest(key, msg)));
      }),
      { numRuns: 500 },
    );
  });
  it("streams match for any split into update() calls and a final call", () => {
    fc.assert(
      fc.property(keyArb, fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), fc.uint8Array({ maxLength: 200 }), (key, parts, tail) => {
        const ref = referenceState();
        const d = new OmaDigest(key);
        for (const p of parts) {
          referenceDigestCall(p, key, ref, false);
          d.update(p);
        }
        referenceDigestCall(tail, key, ref, true);
        expect(bytesToHex(d.digest(tail))).toBe(bytesToHex(ref.digest));
      }),
      { numRuns: 500 },
    );
  });
  it("any single-byte change of the message changes the digest", () => {
    fc.assert(
      fc.property(keyArb, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (key, msg, at, delta) => {
        const changed = msg.slice();
        changed[at % msg.length] ^= delta;
        expect(bytesToHex(omaDigest(key, changed))).not.toBe(bytesToHex(omaDigest(key, msg)));
      }),
      { numRuns: 500 },
    );
  });
  it("a key array mutated after use is not served from a stale cache", () => {
    const key = new Uint8Array(12).fill(0xdf);
    const before = bytesToHex(omaDigest(key, JN_VECTOR.message));
    key[0] = 0;
    expect(bytesToHex(omaDigest(key, JN_VECTOR.message))).toBe(bytesToHex(referenceDigest(key, JN_VECTOR.message)));
    expect(bytesToHex(omaDigest(key, JN_VECTOR.message))).not.toBe(before);
  });
});

describe("verification", () => {
  it("verifyOmaDigest accepts the published digest and rejects a flipped bit", () => {
    expect(verifyOmaDigest({ key: JN_VECTOR.key, message: JN_VECTOR.message, digest: JN_VECTOR.digest })).toBe(true);
    const bad = JN_VECTOR.digest.slice();
    bad[7] ^= 1;
    expect(verifyOmaDigest({ key: JN_VECTOR.key, message: JN_VECTOR.message, digest: bad })).toBe(false);
  });
  it("constantTimeEqual compares length and every byte", () => {
    expect(constantTimeEqual(hexToBytes("0102"), hexToBytes("0102"))).toBe(true);
    expect(constantTimeEqual(hexToBytes("0102"), hexToBytes("0103"))).toBe(false);
    expect(constantTimeEqual(hexToBytes("0102"), hexToBytes("01"))).toBe(false);
  });
});
