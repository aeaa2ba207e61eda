import fc from "fast-check";
import { keccak256 } from "ethers";
import { keccak256Buf, keccak256Into, keccak256IntoJs, keccakWasmReady } from "./keccak";

const js = (b: Uint8Array) => {
  const out = Buffer.alloc(32);
  keccak256IntoJs(b, out);
  return out;
};

describe("keccak256", () => {
  it.each([
    ["JavaScript", js],
    ["WebAssembly", keccak256Buf],
  ])("%s matches ethers' keccak256 on known and random inputs (all block boundaries)", async (_name, hash) => {
    expect(await keccakWasmReady).toBe(true);
    expect(hash(new Uint8Array(0)).toString("hex")).toBe("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    for (let n = 130; n < 280; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
      expect(`0x${hash(b).toString("hex")}`).toBe(keccak256(b));
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1000 }), (b) => `0x${hash(b).toString("hex")}` === keccak256(b)), { numRuns: 300 });
  });

  it("writes the digest at the given offset and leaves the rest of the buffer alone", async () => {
    await keccakWasmReady;
    const out = Buffer.alloc(70, 0xee);
    keccak256Into(Buffer.from("sidegrid"), out, 19);
    expect(out.subarray(19, 51).toString("hex")).toBe(keccak256(Buffer.from("sidegrid")).slice(2));
    expect([...out.subarray(0, 19), ...out.subarray(51)].every((b) => b === 0xee)).toBe(true);
  });
});
