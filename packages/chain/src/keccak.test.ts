import fc from "fast-check";
import { keccak256 } from "ethers";
import { keccak256Buf } from "./keccak";

describe("keccak256Buf", () => {
  it("matches ethers' keccak256 on known and random inputs (all block boundaries)", () => {
    expect(keccak256Buf(new Uint8Array(0)).toString("hex")).toBe("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    for (let n = 130; n < 280; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
      expect(`0x${keccak256Buf(b).toString("hex")}`).toBe(keccak256(b));
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1000 }), (b) => `0x${keccak256Buf(b).toString("hex")}` === keccak256(b)), { numRuns: 300 });
  });
});
