// A fleet split over three gateway processes on a Redis Cluster (3 masters, 3 replicas). In the
// middle of a 12,000-reading run one gateway is killed (kill -9, never restarted) and so is one
// Redis master (its replica takes over). The survivors take the dead gateway's meters once its
// lease runs out, read again what it held unanchored (sharded gateways acknowledge only anchored
// records), and every reading ends up on BlockSEC exactly once.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { devPrivateKey, sleep } from "@sidegrid/chain";
import { SimClock, startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import type { GatewayConfig } from "./config";
import { freeRedisClusterPorts, startRedisCluster, type RedisCluster } from "./redisCluster";
import { spawnGateway, type SpawnedGateway } from "./spawn";
import { GatewayStore } from "./store";
import { ledgerRecords, startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";

const METERS = 60;
const PER_METER = 200;
const T0 = Date.UTC(2025, 9, 1);
const LEASE_MS = 5000;

jest.setTimeout(300_000);

describe("three sharded gateways on a Redis Cluster", () => {
  let fx: SidegridFixture;
  let sim: MeterSimulator;
  let cluster: RedisCluster;
  let dir: string;
  const gateways: SpawnedGateway[] = [];

  beforeAll(async () => {
    // The gateways run dist/: build it from the current sources.
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(__dirname, "..", "tsconfig.build.json")], { stdio: "inherit" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-shards-"));
    cluster = await startRedisCluster({ dir: path.join(dir, "redis"), basePort: await freeRedisClusterPorts(6, 21000 + (process.pid % 400) * 20), masters: 3, replicas: 1, nodeTimeoutMs: 1500 });
    fx = await startSidegridFixture({ priChainId: 31731, secChainId: 31732 });
    const ids = Array.from({ length: METERS }, (_, i) => i + 1);
    await fx.addConsumers(ids);
    await Promise.all(ids.map((id) => fx.setPreferences(id, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }])));
    await fx.relay();
    // Two more gateway accounts for the same utility: each gateway anchors from its own.
    for (const k of [4, 5]) await fx.secAdmin.grantGateway(new Wallet(devPrivateKey(k)).address, fx.utility.address);
    // A frozen clock: exactly 200 readings wait in every meter.
    sim = await startMeterSimulator({ count: METERS, seed: "shards", clock: new SimClock({ simStartMs: T0, manual: true }), installedAtMs: T0 - PER_METER * 900_000, capacity: 256 });
  });
  afterAll(async () => {
    for (const g of gateways) {
      try {
        process.kill(g.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    await sim?.close();
    await fx?.stop();
    await cluster?.stop();
    if (!process.env.MG_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("loses nothing and anchors nothing twice when a gateway and a Redis master die mid-run", async () => {
    const config = (n: number, key: string): GatewayConfig => ({
      dataDir: path.join(dir, `gw${n}`, "data"),
      redisCluster: cluster.urls,
      queuePrefix: `{test-shards-${process.pid}-gw${n}}`,
      shard: { group: `test-${process.pid}`, id: `gw${n}`, leaseMs: LEASE_MS },
      blocksec: { rpcUrl: fx.sec.node.url, chainId: 31732, addresses: fx.addresses, privateKey: key, startBlock: fx.startBlock },
      utility: fx.utility.address,
      masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
      simulator: { host: sim.host, port: sim.port, count: METERS },
      clock: { simStartMs: T0, realStartMs: Date.now(), speed: 1, manual: true },
      poll: { intervalMs: 400, concurrency: 8, maxRecords: 20, maxPages: 2, timeoutMs: 3000, stalledIntervalMs: 2000 },
      anchor: { maxBatch: 400, flushIntervalMs: 100 },
      policy: { pollMs: 200 },
    });
    const keys = [fx.gatewayKey, devPrivateKey(4), devPrivateKey(5)];
    try {
      for (let n = 0; n < 3; n++) {
        gateways.push(await spawnGateway({ config: config(n, keys[n]), stateFile: path.join(dir, `gw${n}`, "state.json"), detached: false, logFile: path.join(dir, `gw${n}.log`) }));
      }
      const total = BigInt(METERS * PER_METER);
      let atKill = 0n;
      for (const end = Date.now() + 90_000; Date.now() < end; await sleep(50)) {
        atKill = await ledgerRecords(fx);
        if (atKill >= 3000n) break;
      }
      expect(atKill).toBeGreaterThanOrEqual(3000n);
      // The faults: gateway 1 for good, and one Redis master.
      process.kill(gateways[1].pid, "SIGKILL");
      expect(await gateways[1].exited).toBe(null);
      const masters = await cluster.masters();
      expect(masters).toHaveLength(3);
      cluster.kill(masters[0]);
      const killedAt = Date.now();

      for (const end = Date.now() + 180_000; Date.now() < end && (await ledgerRecords(fx)) < total; ) await sleep(200);
      const finishedMs = Date.now() - killedAt;
      await sleep(1500); // nothing more may appear
      expect(await ledgerRecords(fx)).toBe(total);

      // Every (meter, sequence) exactly once in the ledger's events.
      let events = 0;
      for (const [meterId, c] of fx.consumers) {
        const seqs = (await fx.secAdmin.storedRecords({ consumer: c.address, fromBlock: fx.startBlock })).map((s) => Number(s.record.sequence)).sort((a, b) => a - b);
        events += seqs.length;
        expect({ meterId, seqs }).toEqual({ meterId, seqs: Array.from({ length: PER_METER }, (_, i) => i + 1) });
      }
      expect(events).toBe(METERS * PER_METER);
      // The meters forget their records once they are anchored: the survivors' next polls acknowledge the rest.
      for (const end = Date.now() + 30_000; Date.now() < end && sim.meters.some((m) => m.status().ackedSeq < PER_METER); ) await sleep(200);
      expect(sim.meters.filter((m) => m.status().ackedSeq < PER_METER).map((m) => m.meterId)).toEqual([]);
      // A replica holds the dead master's slots now.
      const after = await cluster.masters();
      expect(after).toHaveLength(3);
      expect(after).not.toContain(masters[0]);

      // The dead gateway's books: what it held unanchored when it died was anchored by the others.
      for (const g of [0, 2]) {
        process.kill(gateways[g].pid, "SIGTERM");
        await gateways[g].exited;
      }
      const counts: { pending: number; anchored: number }[] = [];
      for (let n = 0; n < 3; n++) {
        const store = await GatewayStore.open(path.join(dir, `gw${n}`, "data", "db"));
        try {
          counts.push(await store.countRecords());
        } finally {
          await store.close();
        }
      }
      // Each gateway anchored a share; the survivors hold nothing pending.
      expect(counts[0].pending).toBe(0);
      expect(counts[2].pending).toBe(0);
      for (const c of counts) expect(c.anchored).toBeGreaterThan(0);
      const log0 = fs.readFileSync(path.join(dir, "gw0.log"), "utf8");
      // The survivors saw gw1 leave the live set.
      expect(log0).toMatch(/shard gw0: \d+ of 60 meters \(live: gw0, gw2\)/);
      console.log(
        `sharded run: ${METERS * PER_METER} readings; killed gw1 at ${atKill} anchored and Redis master :${masters[0]}; ` +
          `all anchored ${finishedMs} ms later; gateway books (pending/anchored): ${counts.map((c, i) => `gw${i} ${c.pending}/${c.anchored}`).join(", ")}`,
      );
    } catch (e) {
      // Keep the evidence: the survivors' polling and outbox figures, then the logs.
      for (const g of gateways) {
        const m = await fetch(`${g.url}/metrics`).then((r) => r.text(), () => "");
        console.error(`--- ${g.url} metrics\n${m.split("\n").filter((l) => /^sidegrid_gateway_(polls_total|queue_jobs|outbox_pending|schedule_resyncs|anchored_records)/.test(l)).join("\n")}`);
      }
      for (let n = 0; n < 3; n++) {
        const f = path.join(dir, `gw${n}.log`);
        if (fs.existsSync(f)) console.error(`--- gw${n}.log\n${fs.readFileSync(f, "utf8").slice(-3000)}`);
      }
      throw e;
    }
  });
});
