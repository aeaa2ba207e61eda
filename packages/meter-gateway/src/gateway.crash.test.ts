// kill -9 of a gateway process in the middle of a 10,000-reading run, then a restart: every
// reading is anchored exactly once. The gateway runs as a real child process (from dist, built
// here first); meters, chains and Redis outlive it.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep } from "@sidegrid/chain";
import { SimClock } from "@sidegrid/pi-meter";
import type { GatewayConfig } from "./config";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { validateGatewayConfig } from "./config";
import { gatewayConfigForSimulator, meterSimulatorControl, readSecretFile, spawnGateway, spawnMeterSimulator } from "./spawn";
import { GatewayStore } from "./store";
import { ledgerRecords, startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";


const METERS = 50;
const PER_METER = 200;
const T0 = Date.UTC(2025, 8, 1);
const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;

jest.setTimeout(180_000);

describe("gateway crash (kill -9) in the middle of a 10,000-reading run", () => {
  let fx: SidegridFixture;
  let sim: MeterSimulator;
  let dir: string;

  beforeAll(async () => {
    // The child process runs dist/: build it from the current sources.
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(__dirname, "..", "tsconfig.build.json")], { stdio: "inherit" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-crash-"));
    fx = await startSidegridFixture({ priChainId: 31503, secChainId: 31504 });
    const ids = Array.from({ length: METERS }, (_, i) => i + 1);
    await fx.addConsumers(ids);
    await Promise.all(ids.map((id) => fx.setPreferences(id, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }])));
    await fx.relay();
    // A frozen clock: exactly 200 readings wait in every meter.
    sim = await startMeterSimulator({ count: METERS, seed: "crash", clock: new SimClock({ simStartMs: T0, manual: true }), installedAtMs: T0 - PER_METER * 900_000, capacity: 256 });
  });
  afterAll(async () => {
    await sim?.close();
    await fx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("anchors every reading exactly once across the crash", async () => {
    try {
      await crashRun();
    } catch (e) {
      // Keep the evidence: both gateway logs.
      for (const f of ["gw1.log", "gw2.log"]) if (fs.existsSync(path.join(dir, f))) console.error(`--- ${f}\n${fs.readFileSync(path.join(dir, f), "utf8").slice(-4000)}`);
      throw e;
    }
  });

  async function crashRun(): Promise<void> {
    const config: GatewayConfig = {
      dataDir: path.join(dir, "gw"),
      redisUrl: REDIS,
      queuePrefix: `test-crash-${process.pid}`,
      blocksec: { rpcUrl: fx.sec.node.url, chainId: 31504, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
      masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
      simulator: { host: sim.host, port: sim.port, count: METERS },
      clock: { simStartMs: T0, realStartMs: Date.now(), speed: 1, manual: true },
      poll: { intervalMs: 400, concurrency: 8, maxRecords: 20, maxPages: 1, timeoutMs: 2000, stalledIntervalMs: 2000 },
      anchor: { maxBatch: 400, flushIntervalMs: 100 },
      policy: { pollMs: 200 },
    };
    const stateFile = path.join(dir, "gw-state.json");
    const first = await spawnGateway({ config, stateFile, detached: false, logFile: path.join(dir, "gw1.log") });
    // Let it get well into the run, then pull the plug.
    let atKill = 0n;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      atKill = await ledgerRecords(fx);
      if (atKill >= 2500n) break;
      await sleep(25);
    }
    process.kill(first.pid, "SIGKILL");
    expect(await first.exited).toBe(null);
    const afterKill = await ledgerRecords(fx);
    expect(afterKill).toBeGreaterThanOrEqual(2500n);
    expect(afterKill).toBeLessThan(BigInt(METERS * PER_METER));

    const t1 = Date.now();
    const second = await spawnGateway({ config, stateFile, detached: false, logFile: path.join(dir, "gw2.log") });
    const end = Date.now() + 90_000;
    while (Date.now() < end && (await ledgerRecords(fx)) < BigInt(METERS * PER_METER)) await sleep(100);
    if (process.env.MG_DEBUG) console.log(`kill at ${afterKill}; second run took ${Date.now() - t1} ms`);
    // Give it a moment more: nothing further may appear.
    await sleep(1500);
    process.kill(second.pid, "SIGTERM");
    await second.exited;
    if (process.env.MG_DEBUG) console.log(fs.readFileSync(path.join(dir, "gw1.log"), "utf8").slice(-2000), fs.readFileSync(path.join(dir, "gw2.log"), "utf8").slice(-3000));

    expect(await ledgerRecords(fx)).toBe(BigInt(METERS * PER_METER));
    // Every (meter, sequence) exactly once in the ledger's events.
    let events = 0;
    for (const [meterId, c] of fx.consumers) {
      const seqs = (await fx.secAdmin.storedRecords({ consumer: c.address, fromBlock: fx.startBlock })).map((s) => Number(s.record.sequence)).sort((a, b) => a - b);
      events += seqs.length;
      expect({ meterId, seqs }).toEqual({ meterId, seqs: Array.from({ length: PER_METER }, (_, i) => i + 1) });
      expect(sim.meter(meterId).status().ackedSeq).toBe(PER_METER);
    }
    expect(events).toBe(METERS * PER_METER);
    // And the gateway's own books agree: all anchored, none pending, each with its transaction.
    const store = await GatewayStore.open(path.join(config.dataDir, "db"));
    try {
      expect(await store.countRecords()).toEqual({ pending: 0, anchored: METERS * PER_METER });
      const r = await store.record(7, 123);
      expect(r?.anchor?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    } finally {
      await store.close();
    }
  }

  it("spawns a simulator process (what `sidegrid up` runs) whose control API injects faults, and derives a gateway config for it", async () => {
    const stateFile = path.join(dir, "meters.json");
    const sp = await spawnMeterSimulator({ count: 10, seed: "up", speed: 60, controlPort: 0, stateFile, detached: false });
    try {
      expect(sp).toMatchObject({ count: 10, firstMeterId: 1, addressed: true, clock: { speed: 60 } });
      expect(readSecretFile(sp.masterKeyFile!)).toMatch(/^[0-9a-f]{32}$/);
      const control = meterSimulatorControl(sp);
      const status = await control.request<{ meterId: number }>("GET", "/meters/3");
      expect(status.meterId).toBe(3);
      const changed = await control.request<{ behaviour: { silent: boolean } }>("POST", "/meters/3/behaviour", { silent: true });
      expect(changed.behaviour).toEqual({ silent: true });
      const cfg = gatewayConfigForSimulator({ dataDir: dir, redisUrl: REDIS, blocksec: { rpcUrl: fx.sec.node.url, chainId: 31504, addresses: fx.addresses, privateKey: fx.gatewayKey }, simulator: sp });
      expect(validateGatewayConfig(cfg)).toMatchObject({ simulator: { port: sp.port, count: 10 }, poll: { intervalMs: 15_000 }, clock: sp.clock });
    } finally {
      process.kill(sp.pid, "SIGTERM");
      await sp.exited;
    }
  });
});
