// Backpressure against real chains, Redis and simulated meters: anchoring stands still (as when
// BlockSEC falls behind), the outbox stops at its limit while the meters keep their records, a
// meter that has held `holdRecords` records is read anyway, and once anchoring catches up every
// reading is anchored exactly once.
import { startConsentingFleet, until, type ConsentingFleet } from "./test-utils/fleet";

const Q = 15 * 60_000;
const METERS = [1, 2, 3, 4];
let f: ConsentingFleet;

const polls = async (result: string) => (await f.gw.metrics.polls.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

beforeAll(async () => {
  f = await startConsentingFleet({
    chainIds: [31563, 31564],
    meters: METERS,
    seed: "backpressure",
    startMs: Date.UTC(2025, 6, 3, 0, 0),
    redisUrl: process.env.SIDEGRID_TEST_REDIS_URL!,
    queuePrefix: `test-backpressure-${process.pid}`,
    config: {
      poll: { intervalMs: 100, timeoutMs: 2000, spread: false, quietMs: 600_000 },
      // Anchoring stands still until the test drains: the chain has fallen behind.
      anchor: { maxBatch: 1_000_000, flushIntervalMs: 3_600_000 },
      backpressure: { maxPending: 40, maxAgeMs: 3_600_000, holdRecords: 25 },
    },
  });
}, 90_000);
afterAll(() => f?.stop());

it("stops filling the outbox at its limit while the meters hold their records", async () => {
  f.clock.advance(10 * Q);
  // The meter is acknowledged after the outbox commit: wait for both.
  await until("40 records in the outbox, each meter acknowledged", () => f.gw.store.pendingCount >= 40 && f.unacked().every((n) => n === 0));
  expect(f.gw.store.pendingCount).toBe(40);
  expect(f.unacked()).toEqual([0, 0, 0, 0]);

  f.clock.advance(20 * Q);
  const deferredBefore = await polls("deferred");
  await until("8 deferred polls", async () => (await polls("deferred")) >= deferredBefore + 8);
  // Twenty new records per meter, all still at the meters; the outbox has not grown.
  expect(f.gw.store.pendingCount).toBe(40);
  expect(f.unacked()).toEqual([20, 20, 20, 20]);
  const snap = await f.gw.snapshot();
  expect(snap.backpressure.engaged).toBe(true);
  expect(snap.outboxPending).toBe(40);
  // Deferred polls are skipped, not failed.
  expect(snap.polls.skipped).toBeGreaterThanOrEqual(8);
  expect(snap.polls.failed).toBe(0);
});

it("reads a meter anyway once it has held `holdRecords` records, so its log never overflows", async () => {
  f.clock.advance(6 * Q); // 26 records since each meter's last poll: above holdRecords (25)
  await until("the overdue meters read", () => f.unacked().every((n) => n === 0));
  expect(f.gw.store.pendingCount).toBe(40 + 4 * 26);
  expect((await f.gw.snapshot()).backpressure.overdue).toBeGreaterThanOrEqual(4);
});

it("once anchoring catches up, reads the rest, and every reading is anchored exactly once", async () => {
  f.clock.advance(4 * Q); // 4 more each, deferred while the outbox is over its limit
  await until("4 records held at each meter", () => f.unacked().every((n) => n === 4));
  expect(await f.gw.anchorer.drain(60_000)).toBe(true);
  await until("the held records read", () => f.unacked().every((n) => n === 0));
  expect(await f.gw.anchorer.drain(60_000)).toBe(true);
  expect((await f.gw.snapshot()).backpressure.engaged).toBe(false);
  for (const m of METERS) expect(await f.anchoredSequences(m)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  // Nothing was lost at a meter or skipped: no gap alert, no failed poll.
  expect(await f.alerts()).toBe(0);
  expect(await polls("error")).toBe(0);
});
