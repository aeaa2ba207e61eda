// Backpressure against real chains, Redis and simulated meters: anchoring stands still (as when
// BlockSEC falls behind), the outbox stops at its limit while the meters keep their records, a
// meter that has held `holdRecords` records is read anyway, and once anchoring catches up every
// reading is anchored exactly once.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SimClock, startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "./gateway";
import { startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";

const T0 = Date.UTC(2025, 6, 3, 0, 0);
const Q = 15 * 60_000;
const METERS = [1, 2, 3, 4];
const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;
let fx: SidegridFixture;
let sim: MeterSimulator;
let gw: Gateway;
let clock: SimClock;
let dataDir: string;

async function polls(result: string): Promise<number> {
  return (await gw.metrics.polls.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const unacked = () => METERS.map((m) => sim.meter(m).status().unacknowledged);

beforeAll(async () => {
  fx = await startSidegridFixture({ priChainId: 31563, secChainId: 31564 });
  clock = new SimClock({ simStartMs: T0, manual: true });
  sim = await startMeterSimulator({ count: METERS.length, seed: "backpressure", clock, installedAtMs: T0 });
  await fx.addConsumers(METERS);
  for (const m of METERS) await fx.setPreferences(m, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
  await fx.relay();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-backpressure-"));
  gw = await startGateway({
    clock,
    config: {
      dataDir,
      redisUrl: REDIS,
      queuePrefix: `test-backpressure-${process.pid}`,
      blocksec: { rpcUrl: fx.sec.node.url, chainId: 31564, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
      masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
      simulator: { host: sim.host, port: sim.port, count: METERS.length },
      poll: { intervalMs: 100, timeoutMs: 2000, spread: false, quietMs: 600_000 },
      policy: { pollMs: 100 },
      // Anchoring stands still until the test drains: the chain has fallen behind.
      anchor: { maxBatch: 1_000_000, flushIntervalMs: 3_600_000 },
      backpressure: { maxPending: 40, maxAgeMs: 3_600_000, holdRecords: 25 },
    },
  });
}, 90_000);
afterAll(async () => {
  await gw?.poller.obliterate().catch(() => undefined);
  await gw?.stop();
  await sim?.close();
  await fx?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it("stops filling the outbox at its limit while the meters hold their records", async () => {
  clock.advance(10 * Q);
  await until("40 records in the outbox", () => gw.store.pendingCount >= 40);
  expect(gw.store.pendingCount).toBe(40);
  expect(unacked()).toEqual([0, 0, 0, 0]);

  clock.advance(20 * Q);
  const deferredBefore = await polls("deferred");
  await until("8 deferred polls", async () => (await polls("deferred")) >= deferredBefore + 8);
  // Twenty new records per meter, all still at the meters; the outbox has not grown.
  expect(gw.store.pendingCount).toBe(40);
  expect(unacked()).toEqual([20, 20, 20, 20]);
  const snap = await gw.snapshot();
  expect(snap.backpressure.engaged).toBe(true);
  expect(snap.outboxPending).toBe(40);
});

it("reads a meter anyway once it has held `holdRecords` records, so its log never overflows", async () => {
  clock.advance(6 * Q); // 26 records since each meter's last poll: above holdRecords (25)
  await until("the overdue meters read", () => unacked().every((n) => n === 0));
  expect(gw.store.pendingCount).toBe(40 + 4 * 26);
  expect((await gw.snapshot()).backpressure.overdue).toBeGreaterThanOrEqual(4);
});

it("once anchoring catches up, reads the rest, and every reading is anchored exactly once", async () => {
  clock.advance(4 * Q); // 4 more each, deferred while the outbox is over its limit
  await until("4 records held at each meter", () => unacked().every((n) => n === 4));
  expect(await gw.anchorer.drain(60_000)).toBe(true);
  await until("the held records read", () => unacked().every((n) => n === 0));
  expect(await gw.anchorer.drain(60_000)).toBe(true);
  expect((await gw.snapshot()).backpressure.engaged).toBe(false);
  for (const m of METERS) {
    const stored = await fx.secAdmin.storedRecords({ consumer: fx.consumers.get(m)!.address, fromBlock: fx.startBlock });
    expect(stored.map((s) => Number(s.record.sequence)).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  }
  // Nothing was lost at a meter or skipped: no gap alert, no failed poll.
  const alerts = (await gw.metrics.alerts.get()).values.reduce((s, v) => s + v.value, 0);
  expect(alerts).toBe(0);
  expect(await polls("error")).toBe(0);
});
