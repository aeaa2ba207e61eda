import { Wallet } from "ethers";
import { startTestChain, type TestChain } from "@sidegrid/chain";
import { merkleProof } from "./merkle";
import { recordLeaf } from "./records";
import { A, meterId, readings, setupSec, type SecWorld } from "./test-utils/world";

// A chain with a 4M block gas limit: 1,000 records (~6.3M gas) cannot go in one transaction.
let chain: TestChain;
let w: SecWorld;
beforeAll(async () => {
  chain = await startTestChain({ chainId: 31113, gasLimit: 4_000_000n });
  w = await setupSec(chain);
});
afterAll(() => chain.stop());

it("anchorRecords splits a batch over the block gas limit into transactions that fit, losing nothing", async () => {
  const utilityA = await w.addr(A.utilityA);
  const consumers = Array.from({ length: 4 }, () => Wallet.createRandom().address);
  for (const [i, c] of consumers.entries()) {
    await w.register(c, meterId(i));
    await w.setPrefs(c, [{ utility: utilityA, resolution: "QUARTER_HOURLY" }]);
  }
  const recs = consumers.flatMap((c, i) => readings({ consumer: c, meter: meterId(i), n: 250 }));
  const gw = await w.as(A.gatewayA);
  const parts = await gw.anchorRecords({ batchId: `0x${"ab".repeat(32)}`, records: recs });
  expect(parts.length).toBeGreaterThan(1);
  expect(parts.reduce((s, p) => s + p.stored, 0)).toBe(1000);
  for (const p of parts) expect(p.receipt.gasUsed).toBeLessThan(4_000_000n);
  expect(new Set(parts.map((p) => p.batchId)).size).toBe(parts.length);
  expect(await gw.totals()).toEqual({ batches: BigInt(parts.length), records: 1000n });
  for (const c of consumers) expect((await gw.storedRecords({ consumer: c })).length).toBe(250);
  const last = parts[parts.length - 1]!;
  const leaves = last.records.map(recordLeaf);
  expect(await gw.verifyRecordOnChain(last.batchId, last.records[5]!, merkleProof(leaves, 5))).toBe(true);
  // Resending the same records: each split part is already anchored or skipped, nothing twice.
  const again = await gw.anchorRecords({ batchId: `0x${"ac".repeat(32)}`, records: recs.slice(0, 10) });
  expect(again.map((p) => [p.stored, p.skipped.flatMap((s) => s.sequences).length])).toEqual([[0, 10]]);
  expect((await gw.totals()).records).toBe(1000n);
});
