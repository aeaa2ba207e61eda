// pnpm bench: end-to-end readings/s from simulated meters to anchored on BlockSEC.
//   node dist-bench/bench/endToEnd.bench.js [--meters 1000] [--rate 6000] [--seconds 30]
//        [--warmup 8] [--interval 2000] [--gas-limit 30000000]
// A simulator process hosts the meters on one addressed port with an accelerated clock so that
// the fleet produces `rate` 15-minute readings per second; the gateway (this process) polls them
// through BullMQ, ingests, encrypts, and anchors on a real anvil. Figures: sustained anchored
// readings/s over the measurement window, and reading-to-anchored latency percentiles over every
// record read in that window (read = the gateway received it from the meter). Writes
// bench-results/end-to-end.json and bench-results/gas.json.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startGateway } from "../gateway";
import { spawnMeterSimulator } from "../spawn";
import { startBlockSecBenchFixture } from "../test-utils/fixture";

const CHAIN_ID = 31590;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      meters: { type: "string", default: "1000" },
      rate: { type: "string", default: "6000" },
      seconds: { type: "string", default: "30" },
      warmup: { type: "string", default: "8" },
      interval: { type: "string", default: "2000" },
      "gas-limit": { type: "string", default: "30000000" },
      concurrency: { type: "string", default: "48" },
      "max-batch": { type: "string", default: "1500" },
    },
  });
  const meters = Number(values.meters);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const interval = Number(values.interval);
  const gasLimit = BigInt(values["gas-limit"]!);
  // Each meter logs one record per simulated 15 minutes: speed = rate × 900 s / meters.
  const speed = (rate * 900) / meters;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-bench-"));
  const redisDir = path.join(dir, "redis");
  fs.mkdirSync(redisDir);
  const redisPort = 20000 + Math.floor(Math.random() * 20000);
  const redisPid = Number(
    execFileSync("sh", ["-c", `redis-server --port ${redisPort} --bind 127.0.0.1 --dir ${redisDir} --save '' --appendonly no --daemonize yes --pidfile ${redisDir}/r.pid >/dev/null && sleep 0.3 && cat ${redisDir}/r.pid`]).toString().trim(),
  );
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench: ${meters} meters, target ${rate} readings/s (clock ×${speed.toFixed(0)}), poll every ${interval} ms, ${seconds} s measured after ${warmup} s warm-up`);

  const fx = await startBlockSecBenchFixture({ secChainId: CHAIN_ID, gasLimit });
  const ids = Array.from({ length: meters }, (_, i) => i + 1);
  const t0 = Date.now();
  await fx.grantConsent(ids, "QUARTER_HOURLY");
  log(`consent for ${meters} consumers delivered in ${Date.now() - t0} ms`);
  const sim = await spawnMeterSimulator({ count: meters, seed: "bench", speed, capacity: 512, maxRecordsPerRead: 128, stateFile: path.join(dir, "meters.json"), detached: false });
  log(`simulator pid ${sim.pid} on ${sim.host}:${sim.port}`);
  const gw = await startGateway({
    config: {
      dataDir: path.join(dir, "gw"),
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      queuePrefix: "bench",
      blocksec: { rpcUrl: fx.sec.node.url, chainId: CHAIN_ID, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
      masterKeyHex: sim.masterKeyHex,
      simulator: { host: sim.host, port: sim.port, count: meters },
      clock: sim.clock,
      poll: { intervalMs: interval, concurrency: Number(values.concurrency), maxRecords: 128, maxPages: 2, timeoutMs: 5000 },
      anchor: { maxBatch: Number(values["max-batch"]), flushIntervalMs: 200, maxInFlight: 3 },
      policy: { pollMs: 1000, ttlMs: 600_000 },
      ingest: { driftThresholdMs: 24 * 3600_000, dataKeyMaxUses: 1000 },
      http: { portal: false },
    },
    log: (l) => log(`  gw: ${l}`),
  });
  const snap = () => gw.snapshot();
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const start = await snap();
  const windowStart = Date.now();
  const samples: { t: number; anchored: number; stored: number; pending: number }[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = await snap();
    samples.push({ t: s.at - start.at, anchored: s.anchored - start.anchored, stored: s.readings.stored - start.readings.stored, pending: s.outboxPending });
    log(`  t=${((s.at - start.at) / 1000).toFixed(0)}s anchored ${s.anchored - start.anchored} stored ${s.readings.stored - start.readings.stored} outbox ${s.outboxPending} polls ok ${s.polls.ok - start.polls.ok} failed ${s.polls.failed - start.polls.failed} queue w${s.queue.waiting} a${s.queue.active}`);
  }
  const end = await snap();
  const windowEnd = Date.now();
  const elapsed = (end.at - start.at) / 1000;
  process.kill(sim.pid, "SIGTERM");
  await gw.poller.close();
  await gw.anchorer.drain(60_000);

  // Latency of every record read from a meter during the window, from the gateway's books.
  const lat: number[] = [];
  let total = 0;
  for await (const v of gw.store.db.values({ gte: "r!", lt: "r~" })) {
    const r = v as { readAt: number; status: string; anchor?: { anchoredAt: number } };
    total++;
    if (r.readAt >= windowStart && r.readAt < windowEnd && r.anchor) lat.push(r.anchor.anchoredAt - r.readAt);
  }
  lat.sort((a, b) => a - b);
  const stats = gw.anchorer.stats;
  const result = {
    bench: "meter-gateway end-to-end",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    config: { meters, targetRate: rate, clockSpeed: speed, pollIntervalMs: interval, blockGasLimit: gasLimit.toString(), seconds, warmup },
    readingsPerSecond: {
      anchoredSustained: (end.anchored - start.anchored) / elapsed,
      storedSustained: (end.readings.stored - start.readings.stored) / elapsed,
      pollsPerSecond: (end.polls.ok - start.polls.ok) / elapsed,
    },
    latencyMs: { samples: lat.length, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN },
    anchoring: { rounds: stats.rounds, timingsMs: stats.timings, txs: stats.txs, records: stats.anchored, gasUsed: stats.gasUsed.toString(), gasPerRecord: stats.anchored ? Number(stats.gasUsed) / stats.anchored : NaN, recordsPerTx: stats.txs ? stats.anchored / stats.txs : NaN },
    pollFailures: end.polls.failed - start.polls.failed,
    alerts: end.alerts,
    totalRecords: total,
    timeline: samples,
  };
  const outDir = path.join(__dirname, "..", "..", "bench-results");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "end-to-end.json"), JSON.stringify(result, null, 2));
  const gasFile = path.join(outDir, "gas.json");
  fs.writeFileSync(gasFile, JSON.stringify({ anchorBatch: { gasPerRecord: result.anchoring.gasPerRecord, recordsPerTx: result.anchoring.recordsPerTx, blockGasLimit: gasLimit.toString(), payloadBytes: 242, payloadLayout: "v1: 2-byte header + 80-byte key envelope + 144-byte ET160 record + 16-byte tag", source: "pnpm bench (end-to-end.json)" } }, null, 2));
  console.log("\nmeter-gateway end-to-end bench");
  console.log(`  meters                     ${meters}`);
  console.log(`  anchored readings/s        ${result.readingsPerSecond.anchoredSustained.toFixed(0)} (sustained over ${elapsed.toFixed(1)} s; goal ≥ 5000)`);
  console.log(`  ingested readings/s        ${result.readingsPerSecond.storedSustained.toFixed(0)}`);
  console.log(`  polls/s                    ${result.readingsPerSecond.pollsPerSecond.toFixed(0)} (${result.pollFailures} failed)`);
  console.log(`  reading→anchored latency   p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms (goal p99 ≤ 2000 ms; ${lat.length} samples)`);
  console.log(`  anchorBatch                ${result.anchoring.txs} txs, ${result.anchoring.recordsPerTx.toFixed(0)} records/tx, ${result.anchoring.gasPerRecord.toFixed(0)} gas/record`);
  console.log(`  anchor rounds              ${stats.rounds}, wall ms: select ${stats.timings.select}, consent ${stats.timings.consent}, ledger ${stats.timings.ledger}, bookkeeping ${stats.timings.mark}`);
  console.log(`  written                    ${path.join(outDir, "end-to-end.json")}, ${gasFile}`);
  await gw.stop();
  await fx.stop();
  try {
    process.kill(redisPid, "SIGTERM");
  } catch {
    /* gone */
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
