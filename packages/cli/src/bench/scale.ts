// `sidegrid bench --scale` (issue #17, cost growth): one gateway and fresh chains per fleet size (10 …
// 100,000 simulated meters on one addressed port). Every poll reads the same K records of a meter's
// load profile (its log holds a backlog; the simulated clock refills it as fast as polls drain it), so
// every size's anchor transactions hold ~K readings per meter: the batch composition is the same and
// what differs is the fleet. Measured after every meter anchored once (first-touch storage is a
// one-off per meter, reported apart). Per size: gas and calldata/storage bytes per reading from the
// mined anchor transactions, gateway and Redis memory, reading → anchored lag.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import IORedis from "ioredis";
import { readSecretFile, spawnMeterSimulator, startGateway, type Gateway, type SpawnedMeterSimulator } from "@sidegrid/meter-gateway";
import { CliError } from "../errors";
import { Cleanup, startRedis } from "./infra";
import { latencyStats, round } from "./stats";
import { SCALE_SIZES, flatness, flatnessLine, renderScaleMarkdown, scaleNotes, scaleTable, type ChainCost, type ScaleReport, type ScaleRow } from "./scaleReport";
import { startBenchWorld, type BenchChainIds, type BenchWorld } from "./world";
import { compositionModel, equalComposition, gasLine, predictGas, type TxSample } from "./scaleFit";
import { anchorTxs, freshSlots } from "./scaleChain";
import { fastFleetConsent, registerCustodyKeys } from "./scaleSetup";

export interface RunScaleBenchOptions {
  /** Fleet sizes, ascending (default 10, 1,000, 10,000, 100,000). */
  sizes?: readonly number[];
  /** Readings per second offered (default 400); a small fleet offers less (one poll per meter per two anchor rounds at most). */
  rate?: number;
  /** Records each poll reads from a meter, a meter's readings per anchor transaction (default 32: 8 h of 15-minute records; 1…40). */
  readingsPerPoll?: number;
  /** Measured seconds per size, after its warm-up (default 30). */
  windowSeconds?: number;
  /** The gateway's anchor round period (default 1000 ms): batches hold ~rate × this many readings at every size. */
  flushIntervalMs?: number;
  /**
   * BlockSEC mines a block every this many seconds while a size runs (default 1), as a QBFT chain does,
   * instead of one per transaction; longer where anvil needs longer to build an empty block (it
   * rebuilds its state trie every block: ~1.5 s with 100,000 households), twice that time rounded up.
   */
  blockSeconds?: number;
  /** Chain ids of the fresh chains (default SCALE_CHAIN_IDS; tests pass their own range). */
  chainIds?: BenchChainIds;
  /** Where scale-<timestamp>.{json,md} and scale-latest.{json,md} go. */
  outDir: string;
  log: (line: string) => void;
}

/** The scale bench's own chains (31701–31703 are its test's): it may run beside `sidegrid bench` (31901–31903). */
export const SCALE_CHAIN_IDS: BenchChainIds = { blockpri: 31704, blocksec: 31705, blocktst: 31706 };
const MAX_BATCH = 5000;
/** Sizes whose readings per meter per transaction are within this fraction of the largest size's compare like with like, measured. */
const SAME_COMPOSITION = 0.15;
/** Anchor transactions traced per phase for storage growth (tracing every one costs minutes at 100k). */
const TRACED_TXS = 24;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toMB = (b: number) => round(b / 1048576, 1);

function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

async function chainCost(w: BenchWorld, gw: Gateway, from: number, to: number, metersOfTx: Map<string, Set<number>>, freshOfTx: Map<string, number>, keys: { published: number; gas: bigint }): Promise<{ cost: ChainCost; samples: TxSample[] }> {
  const txs = await anchorTxs(w, gw.address.toLowerCase(), from, to);
  const readings = txs.reduce((s, t) => s + t.stored, 0);
  const sum = (f: (t: (typeof txs)[number]) => number) => txs.reduce((s, t) => s + f(t), 0);
  // Storage growth from a sample of the transactions, spread over the phase, scaled by their readings.
  const step = Math.max(1, Math.ceil(txs.length / TRACED_TXS));
  let slots = 0;
  let traced = 0;
  let traceable = txs.length > 0;
  for (let i = 0; i < txs.length && traceable; i += step) {
    const s = await freshSlots(w, txs[i]!.hash);
    if (s === null) traceable = false;
    else {
      slots += s;
      traced += txs[i]!.stored;
    }
  }
  const meters = txs.map((t) => metersOfTx.get(t.hash)?.size ?? 0);
  const samples = txs.map((t, i) => ({ gas: t.gas, calldata: t.calldata, readings: t.stored, meters: meters[i]!, fresh: freshOfTx.get(t.hash) ?? 0 }));
  const meterSum = meters.reduce((a, b) => a + b, 0);
  const cost: ChainCost = {
    txs: txs.length,
    readings,
    skipped: sum((t) => t.skipped),
    gasPerReading: readings ? Math.round(sum((t) => t.gas) / readings) : NaN,
    calldataBytesPerReading: readings ? round(sum((t) => t.calldata) / readings, 1) : NaN,
    storageBytesPerReading: traceable && traced ? round((slots * 32) / traced, 2) : null,
    readingsPerTx: txs.length ? Math.round(readings / txs.length) : NaN,
    metersPerTx: txs.length ? Math.round(meterSum / txs.length) : NaN,
    readingsPerMeterPerTx: meterSum ? round(readings / meterSum, 2) : NaN,
    line: gasLine(samples),
    keysPublished: keys.published,
    keyGasPerKey: keys.published ? Math.round(Number(keys.gas) / keys.published) : null,
  };
  return { cost, samples };
}

function processRssMB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round(Number(m[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

async function redisFigures(url: string): Promise<{ usedMemoryMB: number; keys: number }> {
  const r = new IORedis(url, { maxRetriesPerRequest: 2 });
  try {
    const info = await r.info("memory");
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    return { usedMemoryMB: round(used / 1048576, 2), keys: await r.dbsize() };
  } finally {
    r.disconnect();
  }
}

/** The slowest of three empty blocks mined on BlockSEC (ms), automine on. */
async function timeEmptyBlocks(w: BenchWorld): Promise<number> {
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await w.sec.provider.send("evm_mine", []);
    worst = Math.max(worst, performance.now() - t);
  }
  return Math.round(worst);
}

/** Distinct meters with an anchored record in the gateway's books. */
async function anchoredMeters(gw: Gateway): Promise<number> {
  const seen = new Set<number>();
  for await (const v of gw.store.db.values({ gte: "r!", lt: "r~" })) {
    const r = v as { meterId: number; anchor?: unknown };
    if (r.anchor) seen.add(r.meterId);
  }
  return seen.size;
}

interface SizeContext {
  w: BenchWorld;
  redisUrl: string;
  dir: string;
  rate: number;
  readingsPerPoll: number;
  windowSeconds: number;
  flushIntervalMs: number;
  blockSeconds: number;
  firstMeterId: number;
  log: (line: string) => void;
}

async function measureSize(n: number, c: SizeContext): Promise<{ row: ScaleRow; samples: TxSample[]; warmSamples: TxSample[] }> {
  const { w, log } = c;
  const k = c.readingsPerPoll;
  // Each meter is polled for k records every interval; at least two anchor rounds apart, so one round
  // (one transaction) holds at most one poll of a meter: ~k readings per meter per transaction at every size.
  const pollIntervalMs = Math.max(2 * c.flushIntervalMs, Math.round((n * k * 1000) / c.rate));
  const offeredRate = round((n * k * 1000) / pollIntervalMs, 1);
  // The meter's clock logs k records (15 simulated minutes each) per poll interval: the backlog stays as it started.
  const speed = (k * 900 * 1000) / pollIntervalMs;
  // The backlog (2k records) starts after 01:00 UTC and the large sizes' clocks run at a few × real time: no
  // simulated day closes there (each day opens an epoch key per household).
  const today = new Date();
  const simStartMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 1) + k * 1800_000;
  // anvil builds an empty block in time growing with its state; blocks come at least twice that far apart.
  const emptyBlockMs = await timeEmptyBlocks(w);
  const blockSeconds = Math.max(c.blockSeconds, Math.ceil((2 * emptyBlockMs) / 1000));
  const dir = path.join(c.dir, `size-${n}`);
  fs.mkdirSync(dir, { recursive: true });
  let sim: SpawnedMeterSimulator | undefined;
  let gw: Gateway | undefined;
  try {
    let t = performance.now();
    sim = await spawnMeterSimulator({
      count: n,
      firstMeterId: c.firstMeterId,
      seed: `scale-${n}`,
      speed,
      simStartMs,
      // 2k records waiting in every meter: its polls always find k.
      installedHoursAgo: k / 2,
      capacity: 512,
      maxRecordsPerRead: 128,
      stateFile: path.join(dir, "meters.json"),
      detached: false,
      timeoutMs: 600_000,
    });
    const simulatorStartSeconds = round((performance.now() - t) / 1000, 1);
    log(`  ${n} meters: simulator pid ${sim.pid} up in ${simulatorStartSeconds} s, clock ×${round(speed, 2)}, ${k} records per poll every ${pollIntervalMs} ms (${offeredRate} readings/s); an empty block takes ${emptyBlockMs} ms, blocks every ${blockSeconds} s`);
    const rssBefore = process.memoryUsage().rss;
    // Blocks on a clock: how many transactions the gateway sends does not set how many blocks anvil builds.
    await w.sec.provider.send("evm_setAutomine", [false]);
    await w.sec.provider.send("evm_setIntervalMining", [blockSeconds]);
    const startBlock = await w.sec.provider.getBlockNumber();
    t = performance.now();
    gw = await startGateway({
      config: {
        dataDir: path.join(dir, "gw"),
        redisUrl: c.redisUrl,
        queuePrefix: `bench-scale-${n}-${process.pid}`,
        blocksec: { rpcUrl: w.sec.node.url, chainId: w.chainIds.blocksec, addresses: w.gatewayAddresses, privateKey: w.key("e2eGateway"), startBlock },
        ...(sim.masterKeyFile ? { masterKeyHex: readSecretFile(sim.masterKeyFile) } : {}),
        simulator: { host: sim.host, port: sim.port, count: n, firstMeterId: c.firstMeterId },
        clock: sim.clock,
        poll: { intervalMs: pollIntervalMs, quietMs: 2 * pollIntervalMs, concurrency: 64, maxRecords: k, maxPages: 1, timeoutMs: 10_000 },
        anchor: { maxBatch: MAX_BATCH, flushIntervalMs: c.flushIntervalMs, maxInFlight: 2 },
        backpressure: { holdRecords: 384 },
        // Consent does not change during the run: the cache's first look-up per meter is the cost.
        policy: { pollMs: 2000, ttlMs: 3_600_000 },
        ingest: { driftThresholdMs: 24 * 3600_000, dataKeyMaxUses: 1000 },
        http: { portal: false },
      },
      log: (l) => !l.startsWith("gateway ") && log(`    gw: ${l}`),
    });
    const gatewayStartSeconds = round((performance.now() - t) / 1000, 1);
    log(`  ${n} meters: gateway started (${n} poll schedulers) in ${gatewayStartSeconds} s`);

    // Scheduled polls wait during the warm-up: at 100,000 meters they offered the ledger more than it anchors
    // beside the first contacts, and the warm-up crawled. Polls missed meanwhile are skipped, not run at once.
    await gw.poller.pause();
    // Warm-up: until every meter has an anchored record (its bitmap word on the ledger exists). Each meter is
    // polled now for one or two records, 64 at a time: waiting for its schedule would take a whole interval (~43 min at 100,000).
    t = performance.now();
    let nextWarm = 0;
    let warmFailures = 0;
    const warmPolls = async () => {
      while (nextWarm < n) {
        const id = c.firstMeterId + nextWarm++;
        for (let attempt = 0; attempt < 3; attempt++) {
          // One record for the first half of the fleet, two for the second: transactions of one-reading groups
          // and of two-reading groups separate a reading's gas from its group's (mixed by parity, every
          // transaction held ~1.5 readings per meter and the split was not determined).
          const records = id - c.firstMeterId < n / 2 ? 1 : 2;
          const ok = await gw!.pollNow(id, { maxRecords: records, maxPages: 1 }).then(() => true, () => false);
          if (ok) break;
          warmFailures++;
        }
      }
    };
    const warming = Promise.all(Array.from({ length: 64 }, warmPolls));
    // First contact with a household (consent reads, its epoch key sealed to 3 members and the consumer) costs
    // the gateway ~8 ms of CPU: ~125 new meters/s on this 2-core machine, so 100,000 need ~15 minutes.
    // ~10 ms of gateway CPU per first contact here (100 meters/s at 10,000); slower where anvil's blocks take seconds.
    const warmDeadline = Date.now() + Math.max(120_000, n * 50 + 120_000);
    let lastCount = -1;
    for (let i = 0; ; i++) {
      await sleep(1000);
      const anchored = gw.anchorer.stats.anchored;
      // The scan reads every record in the store: every 5 s only (seconds of CPU at 100,000 meters).
      if (anchored >= n && i % 5 === 4) {
        lastCount = await anchoredMeters(gw);
        if (lastCount >= n) break;
      }
      if (i % 10 === 9) {
        // Where a slow warm-up waits: polls, ingest, the outbox, the anchorer's phases or key publications.
        const s = await gw.snapshot();
        const tm = gw.anchorer.stats.timings;
        const kp = gw.keyPublisher?.stats;
        log(
          `    warm-up ${round((performance.now() - t) / 1000)} s: ${Math.min(nextWarm, n)} of ${n} meters asked (${warmFailures} failed), polls ${s.polls.ok} ok / ${s.polls.failed} failed, queue w${s.queue.waiting} a${s.queue.active} d${s.queue.delayed}, readings ${s.readings.stored}, outbox ${s.outboxPending}, ${anchored} anchored in ${s.anchorTxs} txs ` +
            `(ms select ${tm.select} consent ${tm.consent} ledger ${tm.ledger} mark ${tm.mark}), keys ${kp?.published ?? 0} in ${kp?.txs ?? 0} txs${lastCount >= 0 ? `, ${lastCount} of ${n} meters` : ""}; load ${os.loadavg()[0]!.toFixed(1)}`,
        );
      }
      if (Date.now() > warmDeadline) throw new CliError("BENCH_FAILED", `scale bench: ${n} meters did not all anchor a reading within ${round((warmDeadline - Date.now() + (performance.now() - t)) / 1000)} s (${anchored} readings anchored)`);
    }
    await warming;
    const { skipped: missedPolls } = await gw.poller.resume({ skipMissed: true });
    const warmupSeconds = round((performance.now() - t) / 1000, 1);
    const warmBlock = await w.sec.provider.getBlockNumber();
    const kp0 = { published: gw.keyPublisher?.stats.published ?? 0, gas: gw.keyPublisher?.stats.gasUsed ?? 0n };
    log(`  ${n} meters: every meter anchored once after ${warmupSeconds} s (${missedPolls} scheduled polls skipped); measuring ${c.windowSeconds} s`);

    const s0 = await gw.snapshot();
    const windowStart = Date.now();
    for (let i = 0; i < c.windowSeconds; i += 5) await sleep(Math.min(5, c.windowSeconds - i) * 1000);
    const s1 = await gw.snapshot();
    const windowEnd = Date.now();
    const mem = process.memoryUsage();
    const simRss = processRssMB(sim.pid);
    const redis = await redisFigures(c.redisUrl);
    const schedulers = (await gw.poller.depth()).schedulers;
    const endBlock = await w.sec.provider.getBlockNumber();
    const kp1 = { published: gw.keyPublisher?.stats.published ?? 0, gas: gw.keyPublisher?.stats.gasUsed ?? 0n };
    const elapsed = (s1.at - s0.at) / 1000;

    // Stop the supply, let the anchorer finish what the window read, then read the books.
    process.kill(sim.pid, "SIGTERM");
    await gw.poller.obliterate().catch(() => undefined);
    await gw.poller.close();
    await gw.anchorer.drain(120_000);
    const lag: number[] = [];
    const metersOfTx = new Map<string, Set<number>>();
    // The transaction that first wrote each (meter, sequence ÷ 256) bitmap word: it paid the fresh SSTORE.
    const firstWrite = new Map<string, { block: number; tx: string }>();
    for await (const v of gw.store.db.values({ gte: "r!", lt: "r~" })) {
      const r = v as { meterId: number; sequence: number; readAt: number; anchor?: { anchoredAt: number; txHash: string; blockNumber: number } };
      if (!r.anchor) continue;
      const word = `${r.meterId}:${r.sequence >> 8}`;
      const f = firstWrite.get(word);
      if (!f || r.anchor.blockNumber < f.block) firstWrite.set(word, { block: r.anchor.blockNumber, tx: r.anchor.txHash });
      let s = metersOfTx.get(r.anchor.txHash);
      if (!s) metersOfTx.set(r.anchor.txHash, (s = new Set()));
      s.add(r.meterId);
      if (r.readAt >= windowStart && r.readAt < windowEnd) lag.push(r.anchor.anchoredAt - r.readAt);
    }
    const freshOfTx = new Map<string, number>();
    for (const f of firstWrite.values()) freshOfTx.set(f.tx, (freshOfTx.get(f.tx) ?? 0) + 1);
    const { cost: warmup, samples: warmSamples } = await chainCost(w, gw, startBlock, warmBlock, metersOfTx, freshOfTx, kp0);
    const { cost: window, samples } = await chainCost(w, gw, warmBlock, endBlock, metersOfTx, freshOfTx, { published: kp1.published - kp0.published, gas: kp1.gas - kp0.gas });
    const row: ScaleRow = {
      meters: n,
      clockSpeed: round(speed, 3),
      pollIntervalMs,
      readingsPerPoll: k,
      offeredRate,
      emptyBlockMs,
      blockSeconds,
      warmupPollFailures: warmFailures,
      simulatorStartSeconds,
      gatewayStartSeconds,
      warmupSeconds,
      warmup,
      windowSeconds: round(elapsed, 1),
      window,
      anchoredPerSecond: Math.round((s1.anchored - s0.anchored) / elapsed),
      lagMs: latencyStats(lag),
      gateway: { rssMB: toMB(mem.rss), rssDeltaMB: toMB(mem.rss - rssBefore), heapUsedMB: toMB(mem.heapUsed), heapTotalMB: toMB(mem.heapTotal) },
      simulatorRssMB: simRss,
      redis: { ...redis, schedulers },
      pollFailures: s1.polls.failed - s0.polls.failed,
    };
    log(
      `  ${n} meters: ${window.gasPerReading} gas/reading (warm-up ${warmup.gasPerReading}; fit ${window.line.fixedGasPerTx} + ${window.line.gasPerReading}/reading), ${window.calldataBytesPerReading} calldata B/reading, ${window.readingsPerTx} readings in ${window.metersPerTx} meters per tx (${window.readingsPerMeterPerTx} per meter), ${window.skipped} skipped; ` +
        `${row.anchoredPerSecond} anchored/s, lag p50 ${row.lagMs.p50} ms p99 ${row.lagMs.p99} ms; RSS ${row.gateway.rssMB} MB (heap ${row.gateway.heapUsedMB} MB), Redis ${redis.usedMemoryMB} MB / ${redis.keys} keys`,
    );
    return { row, samples, warmSamples };
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

/**
 * Runs the scale bench on fresh chains and its own Redis, writes `<outDir>/scale-<timestamp>.{json,md}`
 * and `scale-latest.{json,md}`, and returns the report.
 * @example
 * const r = await runScaleBench({ sizes: [10, 1000], outDir: "bench/results", log: console.log });
 * r.flatness.flat;
 */
export async function runScaleBench(opts: RunScaleBenchOptions): Promise<ScaleReport> {
  const sizes = [...(opts.sizes ?? SCALE_SIZES)];
  const rate = opts.rate ?? 400;
  const readingsPerPoll = opts.readingsPerPoll ?? 32;
  if (!Number.isInteger(readingsPerPoll) || readingsPerPoll < 1 || readingsPerPoll > 40) throw new CliError("BAD_ARGUMENT", `readings per poll must be an integer in 1..40 (a simulated day holds the backlog), got ${readingsPerPoll}`);
  const windowSeconds = opts.windowSeconds ?? 30;
  const flushIntervalMs = opts.flushIntervalMs ?? 1000;
  const blockSeconds = opts.blockSeconds ?? 1;
  const log = opts.log;
  const startedAt = new Date();
  const loadAverage = os.loadavg().map((x) => round(x, 2));
  const t0 = performance.now();
  const cleanup = new Cleanup();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-scale-"));
  cleanup.add("remove the work directory", () => fs.rmSync(dir, { recursive: true, force: true }));
  try {
    log(`sidegrid bench --scale: ${sizes.join(", ")} meters at ${rate} readings/s, ${readingsPerPoll} records per poll, ${windowSeconds} s windows; ${os.cpus().length} cores, load ${loadAverage.join(" ")}`);
    const redis = await startRedis();
    cleanup.add("stop redis-server", () => redis.stop());
    const rows: ScaleRow[] = [];
    const samples: TxSample[][] = [];
    const warmSamples: TxSample[][] = [];
    let consentSeconds = 0;
    for (const n of sizes) {
      log(`\n== ${n} meters (${round((performance.now() - t0) / 1000)} s)`);
      // Fresh chains per size: anvil (1.7) rebuilds its whole state trie for every block, so consent for every
      // size's households in one chain made each block of the later sizes cost ~1 s (the 10,000-meter stall).
      const sizeCleanup = new Cleanup();
      let m: Awaited<ReturnType<typeof measureSize>>;
      try {
        fs.mkdirSync(path.join(dir, `world-${n}`));
        const w = await startBenchWorld({ dir: path.join(dir, `world-${n}`), cleanup: sizeCleanup, log: (l) => log(`  ${l}`), chainIds: opts.chainIds ?? SCALE_CHAIN_IDS });
        await registerCustodyKeys(w);
        const t = performance.now();
        await fastFleetConsent(w, Array.from({ length: n }, (_, j) => 1 + j));
        const s = round((performance.now() - t) / 1000, 1);
        consentSeconds += s;
        log(`  consent for ${n} meters on BlockSEC's mirror in ${s} s`);
        m = await measureSize(n, { w, redisUrl: redis.url, dir, rate, readingsPerPoll, windowSeconds, flushIntervalMs, blockSeconds, firstMeterId: 1, log });
      } finally {
        for (const f of await sizeCleanup.run()) log(`cleanup: ${f}`);
      }
      rows.push(m.row);
      samples.push(m.samples);
      warmSamples.push(m.warmSamples);
    }
    const verdict = flatness(rows.map((r) => ({ gas: r.window.gasPerReading, bytes: r.window.calldataBytesPerReading })));
    // The split, over the warm-up's transactions (groups of one and two readings, fresh words) and the windows' (groups of k).
    const model = compositionModel([...samples.flat(), ...warmSamples.flat()]);
    if (model) {
      rows.forEach((r, i) => {
        r.equal = equalComposition(model, samples[i]!);
        // The warm-up's gas beyond what the model predicts without fresh words, per meter: first touch.
        const excess = warmSamples[i]!.reduce((s, t) => s + t.gas - predictGas(model, { ...t, fresh: 0 }), 0);
        r.firstTouchGasPerMeter = Math.round(excess / r.meters);
      });
    }
    const equalVerdict = model ? flatness(rows.map((r) => ({ gas: r.equal!.gasPerReading, bytes: r.equal!.calldataBytesPerReading }))) : null;
    // Measured like with like, no model: the sizes whose batches are composed like the largest fleet's.
    const kMax = rows.at(-1)?.window.readingsPerMeterPerTx ?? NaN;
    const single = rows.filter((r) => Math.abs(r.window.readingsPerMeterPerTx - kMax) <= SAME_COMPOSITION * kMax);
    const singleVerdict = single.length >= 2 ? { sizes: single.map((r) => r.meters), ...flatness(single.map((r) => ({ gas: r.window.gasPerReading, bytes: r.window.calldataBytesPerReading }))) } : null;
    const name = `scale-${stamp(startedAt)}`;
    fs.mkdirSync(opts.outDir, { recursive: true });
    const files = { json: path.join(opts.outDir, `${name}.json`), markdown: path.join(opts.outDir, `${name}.md`) };
    const report: ScaleReport = {
      version: 1,
      kind: "scale",
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: round((performance.now() - t0) / 1000, 1),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version, loadAverage },
      config: { sizes, rate, readingsPerPoll, windowSeconds, flushIntervalMs, blockSeconds, maxBatch: MAX_BATCH, blocksecChainId: (opts.chainIds ?? SCALE_CHAIN_IDS).blocksec },
      consentSeconds,
      rows,
      flatness: verdict,
      model,
      flatnessEqual: equalVerdict,
      flatnessSingle: singleVerdict,
      notes: scaleNotes({ rate, readingsPerPoll, flushIntervalMs, blockSeconds }),
      files,
    };
    fs.writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(files.markdown, renderScaleMarkdown(report));
    for (const f of Object.values(files)) fs.copyFileSync(f, path.join(opts.outDir, `scale-latest${path.extname(f)}`));
    log(`\n${scaleTable(report)}\n\nflatness (as measured): ${flatnessLine(verdict)}\nflatness (equal composition, model): ${equalVerdict ? flatnessLine(equalVerdict) : "model not determined"}\nflatness (measured, sizes within ±${SAME_COMPOSITION * 100} % of the largest size's readings/meter/tx: ${singleVerdict?.sizes.join(", ") ?? "fewer than two"}): ${singleVerdict ? flatnessLine(singleVerdict) : "—"}\nwrote ${files.json} and ${files.markdown} in ${report.wallSeconds} s`);
    return report;
  } catch (e) {
    if (e instanceof CliError) throw e;
    const err = e as Error;
    throw new CliError("BENCH_FAILED", `scale bench failed: ${err?.message?.split("\n")[0] ?? String(e)}`, err?.stack, { cause: e });
  } finally {
    for (const f of await cleanup.run()) log(`cleanup: ${f}`);
  }
}
