// End-to-end readings/s from simulated meters to anchored on BlockSEC, against a BlockSEC that is
// already deployed and holds consent for the fleet. A simulator process hosts the meters on one
// addressed port with an accelerated clock so that the fleet produces `rate` 15-minute readings
// per second; the gateway (this process) polls them through BullMQ, ingests, encrypts and anchors.
// Figures: sustained anchored readings/s over the measurement window, and reading-to-anchored
// latency percentiles over every record read in that window (read = the gateway received it).
import fs from "node:fs";
import path from "node:path";
import { startGateway, type Gateway } from "../gateway";
import { readSecretFile, spawnMeterSimulator, type SpawnedMeterSimulator } from "../spawn";
import { summarize, type LatencySummary } from "./stats";
import type { GatewayConfig } from "../config";
import { Resolution } from "../resolution";
import type { BackpressureStats } from "../backpressure";

export interface RunEndToEndBenchParameters {
  blocksec: { rpcUrl: string; chainId: number; addresses: GatewayConfig["blocksec"]["addresses"]; gatewayKey: string; startBlock?: number };
  redisUrl: string;
  /** Work directory (simulator state, gateway LevelDB); left for the caller to remove. */
  dir: string;
  /** Simulated meters; ids firstMeterId.. must be bound on the mirror with consent for the gateway's utility. */
  meters: number;
  firstMeterId?: number;
  /** Readings per second the fleet produces (the simulated clock runs at rate × 900 s / meters). */
  rate: number;
  /** Measured seconds, after `warmup` seconds. */
  seconds: number;
  warmup: number;
  /** Poll interval per meter (ms, default 2000). */
  intervalMs?: number;
  /** Concurrent polls (default 48). */
  concurrency?: number;
  /** Records per anchoring round (default 1500). */
  maxBatch?: number;
  /** Anchor gas limits computed by the gateway (default) or estimated by the node (the old way, for comparison). */
  gasLimits?: "bound" | "estimate";
  /** BullMQ key prefix (default unique per run, so a shared Redis is fine). */
  queuePrefix?: string;
  seed?: string;
  log?: (line: string) => void;
}

export interface EndToEndSample {
  t: number;
  anchored: number;
  stored: number;
  pending: number;
}

export interface RunEndToEndBenchReturnType {
  config: { meters: number; targetRate: number; clockSpeed: number; pollIntervalMs: number; seconds: number; warmup: number };
  readingsPerSecond: { anchoredSustained: number; storedSustained: number; pollsPerSecond: number };
  /** Reading (received from the meter) to anchored (receipt), ms, over records read in the window. */
  latencyMs: LatencySummary;
  /** From the end of a 15-minute interval (on real time) to the gateway's read: the wait at the meter. */
  heldAtMeterMs: LatencySummary;
  /** Polls deferred because anchoring was behind (backpressure.ts). */
  backpressure: BackpressureStats;
  anchoring: { rounds: number; txs: number; records: number; gasUsed: string; gasPerRecord: number; recordsPerTx: number; timingsMs: { select: number; consent: number; ledger: number; mark: number } };
  pollFailures: number;
  alerts: number;
  totalRecords: number;
  timeline: EndToEndSample[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the end-to-end ingest bench once and stops everything it started (simulator process,
 * gateway, its BullMQ queue).
 *
 * @example
 * const r = await runEndToEndBench({ blocksec, redisUrl, dir, meters: 1000, rate: 6000, seconds: 30, warmup: 8 });
 * console.log(r.readingsPerSecond.anchoredSustained, r.latencyMs.p99);
 */
export async function runEndToEndBench(p: RunEndToEndBenchParameters): Promise<RunEndToEndBenchReturnType> {
  const log = p.log ?? (() => undefined);
  const interval = p.intervalMs ?? 2000;
  // Each meter logs one record per simulated 15 minutes: speed = rate × 900 s / meters.
  const speed = (p.rate * 900) / p.meters;
  fs.mkdirSync(p.dir, { recursive: true });
  let sim: SpawnedMeterSimulator | undefined;
  let gw: Gateway | undefined;
  try {
    sim = await spawnMeterSimulator({
      count: p.meters,
      ...(p.firstMeterId !== undefined ? { firstMeterId: p.firstMeterId } : {}),
      seed: p.seed ?? "bench",
      speed,
      capacity: 512,
      maxRecordsPerRead: 128,
      stateFile: path.join(p.dir, "meters.json"),
      detached: false,
    });
    log(`simulator pid ${sim.pid} on ${sim.host}:${sim.port}, ${p.meters} meters, clock ×${speed.toFixed(0)}`);
    gw = await startGateway({
      config: {
        dataDir: path.join(p.dir, "gw"),
        redisUrl: p.redisUrl,
        queuePrefix: p.queuePrefix ?? `bench-e2e-${process.pid}-${Date.now()}`,
        blocksec: { rpcUrl: p.blocksec.rpcUrl, chainId: p.blocksec.chainId, addresses: p.blocksec.addresses, privateKey: p.blocksec.gatewayKey, ...(p.blocksec.startBlock !== undefined ? { startBlock: p.blocksec.startBlock } : {}) },
        ...(sim.masterKeyFile ? { masterKeyHex: readSecretFile(sim.masterKeyFile) } : {}),
        simulator: { host: sim.host, port: sim.port, count: p.meters, ...(p.firstMeterId !== undefined ? { firstMeterId: p.firstMeterId } : {}) },
        clock: sim.clock,
        poll: { intervalMs: interval, concurrency: p.concurrency ?? 48, maxRecords: 128, maxPages: 2, timeoutMs: 5000 },
        anchor: { maxBatch: p.maxBatch ?? 1500, flushIntervalMs: 200, maxInFlight: 3, ...(p.gasLimits ? { gasLimits: p.gasLimits } : {}) },
        // The simulated meters keep 512 records: they may hold 384 (three quarters) while anchoring is behind.
        backpressure: { holdRecords: 384 },
        policy: { pollMs: 1000, ttlMs: 600_000 },
        // The accelerated clock runs ahead of the chain's; drift alerts would only be noise here.
        ingest: { driftThresholdMs: 24 * 3600_000, dataKeyMaxUses: 1000 },
        http: { portal: false },
      },
      log: (l) => log(`gw: ${l}`),
    });
    const g = gw;
    await sleep(p.warmup * 1000);
    const start = await g.snapshot();
    const windowStart = Date.now();
    const timeline: EndToEndSample[] = [];
    for (let i = 0; i < p.seconds; i++) {
      await sleep(1000);
      const s = await g.snapshot();
      const sample = { t: s.at - start.at, anchored: s.anchored - start.anchored, stored: s.readings.stored - start.readings.stored, pending: s.outboxPending };
      timeline.push(sample);
      log(`t=${(sample.t / 1000).toFixed(0)}s anchored ${sample.anchored} stored ${sample.stored} outbox ${sample.pending}${s.backpressure.engaged ? " (backpressure)" : ""} queue w${s.queue.waiting} a${s.queue.active}`);
    }
    const end = await g.snapshot();
    const windowEnd = Date.now();
    const elapsed = (end.at - start.at) / 1000;
    // Stop the supply, then let the anchorer finish what was read in the window.
    // (The queue is removed first: after close() its connection is gone, and a shared Redis
    // should not keep this run's schedulers.)
    process.kill(sim.pid, "SIGTERM");
    await g.poller.obliterate().catch(() => undefined);
    await g.poller.close();
    const tDrain = Date.now();
    await g.anchorer.drain(60_000);
    log(`supply stopped; outbox drained in ${Date.now() - tDrain} ms`);
    const t = g.anchorer.stats.timings;
    const kp = g.keyPublisher?.stats;
    log(`anchorer: ${g.anchorer.stats.rounds} rounds, ${g.anchorer.stats.txs} txs; time in select ${t.select} ms, consent ${t.consent} ms, send + receipts ${t.ledger} ms, bookkeeping ${t.mark} ms${kp ? `; epoch keys: ${g.epochKeys?.created ?? 0} made, ${kp.published} published in ${kp.txs} txs` : ""}`);

    // Latency of every record read from a meter during the window, from the gateway's books.
    // Also how long each waited at its meter (backpressure defers polls; the meter keeps the
    // record): from the end of its interval, moved onto real time, to the read.
    const lat: number[] = [];
    const held: number[] = [];
    const c = sim.clock;
    let total = 0;
    for await (const v of g.store.db.values({ gte: "r!", lt: "r~" })) {
      const r = v as { readAt: number; periodEnd: number; resolution: number; anchor?: { anchoredAt: number } };
      total++;
      if (r.readAt >= windowStart && r.readAt < windowEnd && r.anchor) {
        lat.push(r.anchor.anchoredAt - r.readAt);
        if (r.resolution === Resolution.QUARTER_HOURLY) held.push(Math.max(0, r.readAt - (c.realStartMs + (r.periodEnd - c.simStartMs) / c.speed)));
      }
    }
    const stats = g.anchorer.stats;
    return {
      config: { meters: p.meters, targetRate: p.rate, clockSpeed: speed, pollIntervalMs: interval, seconds: p.seconds, warmup: p.warmup },
      readingsPerSecond: {
        anchoredSustained: Math.round((end.anchored - start.anchored) / elapsed),
        storedSustained: Math.round((end.readings.stored - start.readings.stored) / elapsed),
        pollsPerSecond: Math.round((end.polls.ok - start.polls.ok) / elapsed),
      },
      latencyMs: summarize(lat),
      heldAtMeterMs: summarize(held),
      backpressure: end.backpressure,
      anchoring: {
        rounds: stats.rounds,
        txs: stats.txs,
        records: stats.anchored,
        gasUsed: stats.gasUsed.toString(),
        gasPerRecord: stats.anchored ? Math.round(Number(stats.gasUsed) / stats.anchored) : NaN,
        recordsPerTx: stats.txs ? Math.round(stats.anchored / stats.txs) : NaN,
        timingsMs: { ...stats.timings },
      },
      pollFailures: end.polls.failed - start.polls.failed,
      alerts: end.alerts,
      totalRecords: total,
      timeline,
    };
  } finally {
    if (sim) {
      try {
        process.kill(sim.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      await sim.exited;
    }
    if (gw) {
      await gw.poller.obliterate().catch(() => undefined);
      await gw.stop().catch(() => undefined);
    }
  }
}
