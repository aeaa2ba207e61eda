// BlockSEC rolls back under the gateway (evm_revert: what a reorg, or anvil restarted from its
// last state dump after kill -9, does to recent blocks). Records the gateway had marked anchored
// in blocks that left the chain go back to its outbox and are anchored again, each exactly once.
import { startConsentingFleet, until, type ConsentingFleet } from "./test-utils/fleet";

const Q = 15 * 60_000;
const METERS = [1, 2, 3, 4];
let f: ConsentingFleet;

beforeAll(async () => {
  f = await startConsentingFleet({
    chainIds: [31531, 31532],
    meters: METERS,
    seed: "rollback",
    startMs: Date.UTC(2025, 6, 5, 0, 0),
    redisUrl: process.env.SIDEGRID_TEST_REDIS_URL!,
    queuePrefix: `test-rollback-${process.pid}`,
    config: {
      poll: { intervalMs: 100, timeoutMs: 2000, spread: false },
      anchor: { maxBatch: 10, flushIntervalMs: 100, watch: { intervalMs: 200, depth: 64 } },
    },
  });
}, 90_000);
afterAll(() => f?.stop());

const seqs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const rollbacks = async () => (await f.gw.metrics.anchorRollbacks.get()).values.reduce((s, v) => s + v.value, 0);

it("sends again what a rollback took off the chain, and nothing twice", async () => {
  f.clock.advance(10 * Q);
  await until("40 readings anchored", async () => (await f.gw.store.countRecords()).anchored === 40, 60_000);
  const snapshot = await f.fx.sec.snapshot();
  f.clock.advance(10 * Q);
  await until("80 readings anchored", async () => (await f.gw.store.countRecords()).anchored === 80, 60_000);
  for (const m of METERS) expect(await f.anchoredSequences(m)).toEqual(seqs(20));
  const txsBefore = f.gw.anchorer.stats.txs;

  // The chain forgets everything after the snapshot: readings 11–20 of every meter.
  await f.fx.sec.revert(snapshot);
  for (const m of METERS) expect(await f.anchoredSequences(m)).toEqual(seqs(10));

  await until("the rollback noticed", async () => (await rollbacks()) === 1, 30_000);
  expect(f.gw.anchorer.watch!.stats.reanchored).toBe(40);
  await until("every reading on chain again", async () => {
    for (const m of METERS) if ((await f.anchoredSequences(m)).length !== 20) return false;
    return true;
  }, 60_000);
  // Each sequence exactly once in the ledger's events, and the gateway's books agree.
  for (const m of METERS) expect(await f.anchoredSequences(m)).toEqual(seqs(20));
  expect(await f.gw.store.countRecords()).toEqual({ pending: 0, anchored: 80 });
  expect(f.gw.anchorer.stats.txs).toBeGreaterThan(txsBefore);
  const r = await f.gw.store.record(3, 15);
  expect(r?.anchor?.blockNumber).toBeGreaterThan(0);
  // Its anchor is a block the chain has now.
  expect(await f.gw.sec.provider.getTransactionReceipt(r!.anchor!.txHash)).not.toBeNull();
  expect(await rollbacks()).toBe(1);
  expect(await f.alerts()).toBe(0);
});
