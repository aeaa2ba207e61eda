import fc from "fast-check";
import { getAddress, hexlify, ZeroHash } from "ethers";
import { merkleProof, merkleRoot, verifyMerkleProof } from "./merkle";
import { BATCH_HEADER_LAYOUT, GROUP_HEADER_LAYOUT, RECORD_HEADER_LAYOUT, decodeBatch, decodeStoredRecords, encodeBatch, recordLeaf, sortRecords } from "./records";
import { Category, Resolution, type MeterRecord } from "./types";

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));
const record: fc.Arbitrary<MeterRecord> = fc.record({
  consumer: fc.constantFrom("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
  meterId: fc.constantFrom(`0x${"01".repeat(32)}`, `0x${"02".repeat(32)}`),
  sequence: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  periodStart: fc.integer({ min: 0, max: 2 ** 40 }),
  resolution: fc.constantFrom(...(Object.keys(Resolution) as (keyof typeof Resolution)[])),
  category: fc.constantFrom(...(Object.keys(Category) as (keyof typeof Category)[])),
  payload: fc.integer({ min: 0, max: 300 }).chain((n) => hex(n)),
});

describe("packed batch layout", () => {
  it("has the sizes the contract parses", () => {
    const size = (l: readonly { offset: number; size: number }[]) => Math.max(...l.map((f) => f.offset + f.size));
    expect([size(BATCH_HEADER_LAYOUT), size(GROUP_HEADER_LAYOUT), size(RECORD_HEADER_LAYOUT)]).toEqual([5, 56, 18]);
  });

  it("round-trips any records; a 144-byte reading costs 162 bytes plus its group's 56", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (recs) => {
        const enc = encodeBatch(recs);
        const back = decodeBatch(enc.data);
        expect(back).toEqual(recs.map((r) => ({ ...r, consumer: getAddress(r.consumer), payload: r.payload.toLowerCase() })));
        expect(enc.root).toBe(merkleRoot(recs.map(recordLeaf)));
      }),
      { numRuns: 150 },
    );
    const one = encodeBatch([{ consumer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", meterId: `0x${"01".repeat(32)}`, sequence: 1n, periodStart: 1, resolution: "DAILY", category: "CONSUMPTION", payload: `0x${"ff".repeat(144)}` }]);
    expect((one.data.length - 2) / 2).toBe(5 + 56 + 162);
  });

  it("groups consecutive records of one meter under one header after sorting", () => {
    const base = { consumer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", category: "CONSUMPTION" as const, resolution: "HOURLY" as const, periodStart: 0, payload: "0x01" };
    const recs: MeterRecord[] = [
      { ...base, meterId: `0x${"02".repeat(32)}`, sequence: 2n },
      { ...base, meterId: `0x${"01".repeat(32)}`, sequence: 9n },
      { ...base, meterId: `0x${"02".repeat(32)}`, sequence: 1n },
    ];
    const sorted = sortRecords(recs);
    expect(sorted.map((r) => [r.meterId.slice(0, 4), r.sequence])).toEqual([
      ["0x01", 9n],
      ["0x02", 1n],
      ["0x02", 2n],
    ]);
    expect((encodeBatch(sorted).data.length - 2) / 2).toBe(5 + 2 * 56 + 3 * 19);
    expect((encodeBatch(recs).data.length - 2) / 2).toBe(5 + 3 * 56 + 3 * 19);
  });

  it("rejects malformed bytes with a typed error", () => {
    const enc = encodeBatch([{ consumer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", meterId: `0x${"01".repeat(32)}`, sequence: 1n, periodStart: 1, resolution: "DAILY", category: "CONSUMPTION", payload: "0xabcd" }]);
    expect(() => decodeBatch(enc.data.slice(0, -2))).toThrow(expect.objectContaining({ code: "MALFORMED_RECORDS", offset: 61 }));
    expect(() => decodeBatch(`0x02${enc.data.slice(4)}`)).toThrow(expect.objectContaining({ code: "MALFORMED_RECORDS" }));
    expect(() => decodeStoredRecords({ consumer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", meterId: ZeroHash, category: "CONSUMPTION", resolution: "DAILY" }, "0x0001")).toThrow(
      expect.objectContaining({ code: "MALFORMED_RECORDS", offset: 0 }),
    );
    expect(() => encodeBatch([{ consumer: "nope", meterId: ZeroHash, sequence: 1n, periodStart: 1, resolution: "DAILY", category: "CONSUMPTION", payload: "0x" }])).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", argument: "consumer" }),
    );
  });
});

describe("sorted-pair Merkle tree", () => {
  it("proves every leaf of any tree and nothing else", () => {
    fc.assert(
      fc.property(fc.array(hex(32), { minLength: 1, maxLength: 70 }), fc.nat(), (leaves, pick) => {
        const root = merkleRoot(leaves);
        const i = pick % leaves.length;
        const proof = merkleProof(leaves, i);
        expect(verifyMerkleProof(proof, root, leaves[i]!)).toBe(true);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)));
        const other = leaves.find((l) => l !== leaves[i]);
        if (other) expect(verifyMerkleProof(proof, root, other)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("has the agreed edge cases: zero for none, the leaf for one", () => {
    expect(merkleRoot([])).toBe(ZeroHash);
    const leaf = `0x${"aa".repeat(32)}`;
    expect(merkleRoot([leaf])).toBe(leaf);
    expect(merkleProof([leaf], 0)).toEqual([]);
    expect(() => merkleProof([leaf], 1)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
