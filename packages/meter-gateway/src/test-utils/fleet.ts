// A small fleet that consents at QUARTER_HOURLY, on a manual clock, read by a real gateway: the
// set-up of the fault and load tests (backpressure, Redis lost), which differ only in the
// gateway's configuration and what they break.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SimClock, startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "../gateway";
import type { GatewayConfig } from "../config";
import { startSidegridFixture, type SidegridFixture } from "./fixture";

export interface ConsentingFleet {
  fx: SidegridFixture;
  sim: MeterSimulator;
  gw: Gateway;
  clock: SimClock;
  /** Records each meter still holds unacknowledged, in meter order. */
  unacked(): number[];
  /** Sequences anchored on BlockSEC for a meter's household, ascending. */
  anchoredSequences(meterId: number): Promise<number[]>;
  /** Alerts the gateway raised, all kinds together. */
  alerts(): Promise<number>;
  stop(): Promise<void>;
}

/** Polls `cond` every 50 ms; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startConsentingFleet(p: {
  chainIds: [number, number];
  meters: readonly number[];
  seed: string;
  startMs: number;
  redisUrl: string;
  queuePrefix: string;
  /** Gateway settings beyond chains, Redis, meters and keys (a function: from the running simulator). */
  config: Partial<GatewayConfig> | ((sim: MeterSimulator) => Partial<GatewayConfig>);
  /** Start the simulator's control API (appliances, faults). */
  control?: boolean;
  log?: (line: string) => void;
}): Promise<ConsentingFleet> {
  const fx = await startSidegridFixture({ priChainId: p.chainIds[0], secChainId: p.chainIds[1] });
  const clock = new SimClock({ simStartMs: p.startMs, manual: true });
  const sim = await startMeterSimulator({ count: p.meters.length, seed: p.seed, clock, installedAtMs: p.startMs, ...(p.control ? { controlPort: 0 } : {}) });
  await fx.addConsumers(p.meters);
  for (const m of p.meters) await fx.setPreferences(m, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
  await fx.relay();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mg-${p.seed}-`));
  const gw = await startGateway({
    clock,
    config: {
      dataDir,
      redisUrl: p.redisUrl,
      queuePrefix: p.queuePrefix,
      blocksec: { rpcUrl: fx.sec.node.url, chainId: p.chainIds[1], addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
      masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
      simulator: { host: sim.host, port: sim.port, count: p.meters.length },
      policy: { pollMs: 100 },
      ...(typeof p.config === "function" ? p.config(sim) : p.config),
    },
    ...(p.log ? { log: p.log } : {}),
  });
  return {
    fx,
    sim,
    gw,
    clock,
    unacked: () => p.meters.map((m) => sim.meter(m).status().unacknowledged),
    anchoredSequences: async (meterId) =>
      (await fx.secAdmin.storedRecords({ consumer: fx.consumers.get(meterId)!.address, fromBlock: fx.startBlock })).map((s) => Number(s.record.sequence)).sort((a, b) => a - b),
    alerts: async () => (await gw.metrics.alerts.get()).values.reduce((s, v) => s + v.value, 0),
    async stop() {
      await gw.poller.obliterate().catch(() => undefined);
      await gw.stop();
      await sim.close();
      await fx.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
