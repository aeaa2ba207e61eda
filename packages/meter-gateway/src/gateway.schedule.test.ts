// Scheduled polls against a meter whose next record is not due yet are skipped (no meter I/O), a
// meter is still looked at every `poll.quietMs`, and the poll after the record is due reads it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SimClock, startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "./gateway";
import { startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";

const T0 = Date.UTC(2025, 6, 2, 9, 5);
const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;
let fx: SidegridFixture;
let sim: MeterSimulator;
let gw: Gateway;
let clock: SimClock;
let dataDir: string;

async function polls(result: string): Promise<number> {
  const m = (await gw.metrics.polls.get()).values.find((v) => v.labels.result === result);
  return m?.value ?? 0;
}

async function until(cond: () => Promise<boolean>, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  fx = await startSidegridFixture({ priChainId: 31561, secChainId: 31562 });
  clock = new SimClock({ simStartMs: T0, manual: true });
  sim = await startMeterSimulator({ count: 1, seed: "schedule", clock, installedAtMs: T0 - 3600_000 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-schedule-"));
  gw = await startGateway({
    clock,
    config: {
      dataDir,
      redisUrl: REDIS,
      queuePrefix: `test-schedule-${process.pid}`,
      blocksec: { rpcUrl: fx.sec.node.url, chainId: 31562, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
      masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
      simulator: { host: sim.host, port: sim.port, count: 1 },
      poll: { intervalMs: 200, timeoutMs: 1000, spread: false, quietMs: 60_000 },
    },
  });
}, 60_000);
afterAll(async () => {
  await gw?.poller.obliterate().catch(() => undefined);
  await gw?.stop();
  await sim?.close();
  await fx?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it("skips scheduled polls until the meter's next record is due, then reads it", async () => {
  await until(async () => (await polls("ok")) >= 1, 10_000);
  expect(await polls("ok")).toBe(1);
  const requests = sim.meter(1).status().requests;
  await until(async () => (await polls("not_due")) >= 5, 10_000);
  // Five scheduled polls later: not one request reached the meter, and nothing was read twice.
  expect(sim.meter(1).status().requests).toBe(requests);
  expect(await polls("ok")).toBe(1);
  // The interval closes (9:15 on the meter's clock): the next scheduled poll reads.
  clock.advance(10 * 60_000);
  await until(async () => (await polls("ok")) >= 2, 10_000);
  expect(await polls("ok")).toBe(2);
  expect(sim.meter(1).status().requests).toBeGreaterThan(requests);
});
