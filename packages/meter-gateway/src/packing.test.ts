import fc from "fast-check";
import { MeterDataLedger__factory, encodeBatch, recordLeaf, sortRecords } from "@sidegrid/blocksec";
import { Wallet, hexlify } from "ethers";
import { toMeterRecord } from "./blocksec";
import { anchorBatchCalldata, packBatch, recordLeafFast, sortForBatch, type PackableRecord } from "./packing";
import type { OutboxRecord } from "./store";

const consumers = [Wallet.createRandom().address, Wallet.createRandom().address, "0x00000000000000000000000000000000000000ab"];
const arbRecord = fc.record({
  consumer: fc.constantFrom(...consumers),
  meterId: fc.integer({ min: 0, max: 0xffffffff }),
  sequence: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat()),
  periodStart: fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => s * 1000),
  resolution: fc.integer({ min: 0, max: 4 }),
  category: fc.integer({ min: 0, max: 1 }),
  payload: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => hexlify(b)),
});
const asOutbox = (r: PackableRecord) => ({ ...r }) as unknown as OutboxRecord;

describe("fast packing matches @sidegrid/blocksec", () => {
  it("leaves equal recordLeaf", () => {
    fc.assert(fc.property(arbRecord, (r) => recordLeafFast(r) === recordLeaf(toMeterRecord(asOutbox(r)))), { numRuns: 200 });
  });

  it("sorted batches pack to the same bytes as encodeBatch, and the calldata is the ABI encoding", () => {
    fc.assert(
      fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 40 }), (recs) => {
        const mine = sortForBatch(recs);
        const theirs = encodeBatch(sortRecords(recs.map((r) => toMeterRecord(asOutbox(r)))));
        expect(`0x${packBatch(mine).toString("hex")}`).toBe(theirs.data);
        const batchId = hexlify(Wallet.createRandom().privateKey);
        expect(anchorBatchCalldata(batchId, theirs.root, packBatch(mine))).toBe(MeterDataLedger__factory.createInterface().encodeFunctionData("anchorBatch", [batchId, theirs.root, theirs.data]));
      }),
      { numRuns: 60 },
    );
  });
});
