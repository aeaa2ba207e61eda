// Redis killed with SIGKILL and restarted empty (its append-only file removed): the gateway's poll
// schedules are gone with it. The gateway notices, makes them again, and polling goes on without a
// manual step; every reading is anchored exactly once. Its own redis-server, so killing it touches
// no other test.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "@sidegrid/chain";
import { SimClock, startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "./gateway";
import { startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";

const T0 = Date.UTC(2025, 6, 4, 0, 0);
const Q = 15 * 60_000;
const METERS = [1, 2, 3];
let fx: SidegridFixture;
let sim: MeterSimulator;
let gw: Gateway;
let clock: SimClock;
let dataDir: string;
let redis: ChildProcess;
let redisPort: number;
let redisDir: string;
const logLines: string[] = [];

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.on("error", () => resolve(false));
  });
}

async function startRedis(): Promise<ChildProcess> {
  const bin = execFileSync("sh", ["-c", "command -v redis-server"]).toString().trim();
  fs.mkdirSync(redisDir, { recursive: true });
  const child = spawn(bin, ["--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir, "--appendonly", "yes", "--save", ""], { stdio: "ignore" });
  for (const end = Date.now() + 10_000; !(await ping(redisPort)); ) {
    if (Date.now() > end) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const unacked = () => METERS.map((m) => sim.meter(m).status().unacknowledged);

beforeAll(async () => {
  redisPort = await freePort();
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-redis-fault-"));
  redis = await startRedis();
  fx = await startSidegridFixture({ priChainId: 31565, secChainId: 31566 });
  clock = new SimClock({ simStartMs: T0, manual: true });
  sim = await startMeterSimulator({ count: METERS.length, seed: "redis-fault", clock, installedAtMs: T0 });
  await fx.addConsumers(METERS);
  for (const m of METERS) await fx.setPreferences(m, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
  await fx.relay();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-redis-fault-gw-"));
  gw = await startGateway({
    clock,
    config: {
      dataDir,
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      queuePrefix: "test-redis-fault",
      blocksec: { rpcUrl: fx.sec.node.url, chainId: 31566, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
      masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
      simulator: { host: sim.host, port: sim.port, count: METERS.length },
      poll: { intervalMs: 100, timeoutMs: 2000, spread: false, quietMs: 600_000, resyncMs: 500 },
      policy: { pollMs: 100 },
      anchor: { flushIntervalMs: 50 },
    },
    log: (l) => logLines.push(l),
  });
}, 90_000);
afterAll(async () => {
  await gw?.poller.obliterate().catch(() => undefined);
  await gw?.stop();
  await sim?.close();
  await fx?.stop();
  redis?.kill("SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(redisDir, { recursive: true, force: true });
});

it("polls on after Redis is killed and comes back empty, and anchors every reading exactly once", async () => {
  clock.advance(4 * Q);
  await until("the first readings read", () => unacked().every((n) => n === 0) && gw.store.pendingCount === 0 && gw.anchorer.stats.anchored === 12);
  expect((await gw.poller.depth()).schedulers).toBe(METERS.length);

  // kill -9, the append-only file gone with its directory, a new empty server on the same port.
  redis.kill("SIGKILL");
  await new Promise((r) => redis.once("exit", r));
  fs.rmSync(redisDir, { recursive: true, force: true });
  redis = await startRedis();
  expect(await ping(redisPort)).toBe(true);

  clock.advance(4 * Q);
  await until("the readings after the restart read", () => unacked().every((n) => n === 0));
  expect(await gw.anchorer.drain(30_000)).toBe(true);
  expect((await gw.poller.depth()).schedulers).toBe(METERS.length);
  expect((await gw.metrics.scheduleResyncs.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
  expect(logLines.some((l) => /poll schedules re-created: Redis held 0 of 3/.test(l))).toBe(true);
  for (const m of METERS) {
    const stored = await fx.secAdmin.storedRecords({ consumer: fx.consumers.get(m)!.address, fromBlock: fx.startBlock });
    expect(stored.map((s) => Number(s.record.sequence)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }
  const alerts = (await gw.metrics.alerts.get()).values.reduce((s, v) => s + v.value, 0);
  expect(alerts).toBe(0);
});
