// `sidegrid bench` as a library function: every measurement of issue 8 on one fresh local system
// (three anvil chains, Redis, three federation members), written as JSON, markdown and SVG.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runApiQueryBench, runEndToEndBench } from "@sidegrid/meter-gateway";
import { CliError } from "../errors";
import { measureCodec } from "./codec";
import { demandResponseSection, measureDemandResponseCpu, measureDemandResponseGas } from "./demandResponse";
import { measureRelay, measureRevocation } from "./federation";
import { FIGURE9_METERS, measureFigure9 } from "./figure9";
import { deployGasRows, measureOperationGas, paperGasRows } from "./gas";
import { evaluateGoals } from "./goals";
import { Cleanup, startRedis } from "./infra";
import { measureKeyRelease } from "./keyRelease";
import { renderMarkdown } from "./markdown";
import { FIGURE9_N, PAPER_RECORD_BYTES } from "./paper";
import { intervalRates, round, spread } from "./stats";
import { renderDayAheadSvg, renderFigure9Svg } from "./svg";
import type { BenchReport, OperationGasRow, RunBenchOptions } from "./types";
import { BENCH_CHAIN_IDS, MEMBER_TUNING, grantFleetConsent, registerConsumers, startBenchWorld, startMembers } from "./world";

export type {
  AgentThroughput,
  ApiSection,
  BenchReport,
  CodecSection,
  DayAheadRun,
  DemandResponseGasRow,
  DemandResponseSection,
  DeployGasRow,
  EndToEndSection,
  Figure9Row,
  Figure9Section,
  GasSection,
  Goal,
  LatencyStats,
  OperationGasRow,
  PaperGasRow,
  RelaySection,
  RevocationSection,
  RoundSpread,
  RuleThroughput,
  RunBenchOptions,
  StoreTiming,
} from "./types";
export { GOALS, evaluateGoal, evaluateGoals } from "./goals";
export type { GoalSpec } from "./goals";
export { latencyStats, percentile, speedup } from "./stats";
export { renderMarkdown, table } from "./markdown";
export { renderDayAheadSvg, renderFigure9Svg, figure9Series } from "./svg";
export { BENCH_CHAIN_IDS } from "./world";
export { compilePaperStorage, setTransLogData } from "./baseline";
export { runScaleBench } from "./scale";
export type { RunScaleBenchOptions } from "./scale";
export { FLAT_RATIO, SCALE_SIZES, flatness, parsePositive, parseScaleSizes, renderScaleMarkdown, scaleTable } from "./scaleReport";
export type { ChainCost, FlatnessVerdict, ScaleReport, ScaleRow } from "./scaleReport";

/** What a quick and a full run measure. */
export const BENCH_PLANS = {
  quick: {
    codec: { rounds: 3, roundMs: 250 },
    demandResponse: { households: 10_000, ruleRounds: 5, agentMeters: 10_000, agentRounds: 4, dayAhead: [100], dayAheadRounds: 5 },
    keyReleases: 5,
    figure9: [10, 50, 100],
    revocations: 3,
    relayMessages: 2000,
    relayRounds: 1,
    endToEnd: { meters: 500, rate: 3000, warmup: 3, seconds: 6 },
    api: { queries: 50, accessRequests: 3 },
    wallLimitSeconds: 120,
  },
  full: {
    codec: { rounds: 7, roundMs: 600 },
    demandResponse: { households: 10_000, ruleRounds: 15, agentMeters: 10_000, agentRounds: 12, dayAhead: [100, 1000], dayAheadRounds: 10 },
    keyReleases: 30,
    figure9: [...FIGURE9_N],
    revocations: 20,
    // 20,000: the members' start-up (~3 s beside a running system) is inside the backlog's time,
    // and with 6,000 it was half of it; the figure is meant to be the members' relaying pace.
    relayMessages: 20_000,
    relayRounds: 3,
    // Offered at the goal: offered more (7,000/s, tried on 2026-12-05), the gateway's backpressure
    // holds the outbox near its limits, so p99 rises toward them (2.4 s) and the deferred polls
    // leave seconds with nothing to anchor (5,401/s sustained).
    endToEnd: { meters: 1000, rate: 6000, warmup: 8, seconds: 60 },
    api: { queries: 300, accessRequests: 20 },
    wallLimitSeconds: 900,
  },
} as const;

/** Meter id ranges, one per group of consumers, so no two measurements share a (meter, sequence). */
const METERS = { fleet: 1, figure9: 1_000_001, anchorGas: 3_000_001, api: 5_000_001, refusing: 6_000_001, revocation: 7_000_001, buyer: 8_000_001 } as const;

function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/**
 * Runs the benchmark suite on its own fresh chains and Redis (SIDEGRID_TEST_REDIS_URL if set),
 * stops everything it started (also on error), writes `<outDir>/<timestamp>.{json,md,svg,dsm.svg}`
 * and `<outDir>/latest.{json,md,svg,dsm.svg}`, and returns the report.
 *
 * @example
 * const report = await runBench({ quick: true, outDir: "bench/results", log: console.log });
 * report.goals.filter((g) => !g.met);
 */
export async function runBench(opts: RunBenchOptions): Promise<BenchReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const plan = opts.quick ? BENCH_PLANS.quick : BENCH_PLANS.full;
  const log = opts.log;
  const cleanup = new Cleanup();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-bench-"));
  cleanup.add("remove the work directory", () => fs.rmSync(dir, { recursive: true, force: true }));
  const phase = (name: string) => log(`\n== ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  try {
    log(`sidegrid bench (${opts.quick ? "quick" : "full"}): ${os.cpus().length} cores, Node ${process.version}`);

    // Pure CPU first, before any chain, member or gateway process competes for the cores.
    phase("OSGP codec: decode + verify, one core");
    const codec = measureCodec(plan.codec);
    log(`  decodeResponse (OMA digest) + decodeReadingRecord: ${codec.perSecond.toLocaleString("en-US")} packets/s (best round ${codec.best.toLocaleString("en-US")}); aes-gcm suite ${codec.aesGcmPerSecond.toLocaleString("en-US")}/s`);

    phase(`demand response: day-ahead DSM (${plan.demandResponse.dayAhead.join(", ")} households), rule evaluation, the gateway's agent, one core`);
    const drCpu = await measureDemandResponseCpu(plan.demandResponse, log);

    phase("starting Redis, three chains, every contract, three federation members");
    let redisUrl = process.env.SIDEGRID_TEST_REDIS_URL;
    if (!redisUrl) {
      const redis = await startRedis();
      cleanup.add("stop redis-server", () => redis.stop());
      redisUrl = redis.url;
    }
    log(`  redis ${redisUrl}`);
    const w = await startBenchWorld({ dir, cleanup, log: (l) => log(`  ${l}`) });
    const members = await startMembers(w, cleanup, log);
    log("  federation: 3 member processes (threshold 2) healthy");

    phase("consumers register on BlockPRI; the federation relays them to BlockSEC and BlockTST");
    const range = (first: number, n: number, permit: boolean) => Array.from({ length: n }, (_, i) => ({ meterId: first + i, permit }));
    const consumers = await registerConsumers(w, [
      ...range(METERS.figure9, FIGURE9_METERS, true),
      ...range(METERS.anchorGas, 10, true),
      ...range(METERS.api, 1, true),
      ...range(METERS.revocation, 1, true),
      ...range(METERS.refusing, 1, false),
      ...range(METERS.buyer, 1, false),
    ]);
    const byMeter = (id: number) => consumers.find((c) => c.meterId === id)!;
    log(`  ${consumers.length} consumers registered, consent mirrored on BlockSEC`);

    phase(`Figure 9: N = ${plan.figure9.join(", ")}`);
    // Figure 9 needs no federation, and rolls BlockSEC back after each baseline run (figure9.ts).
    await members.stopAll();
    const rows = await measureFigure9(w, { ns: plan.figure9, firstMeterId: METERS.figure9, dir, log });
    await Promise.all(members.urls.map((_, i) => members.start(i)));

    phase("gas");
    const deploy = deployGasRows(w);
    for (const d of deploy) log(`  deploy ${`${d.contract} (${d.chain})`.padEnd(40)} ${String(d.gas).padStart(9)}`);
    const opsGas = await measureOperationGas(w, {
      consenting: consumers.filter((c) => c.preferenceGas > 0),
      anchorGroup: range(METERS.anchorGas, 10, true).map((r) => byMeter(r.meterId)),
      refusing: byMeter(METERS.refusing),
      buyer: byMeter(METERS.buyer),
      log,
    });
    const operations: OperationGasRow[] = [...opsGas.rows];
    const last = rows[rows.length - 1]!;
    operations.push({ operation: `anchorBatch through the gateway, N = ${last.n} (134-byte v2 payloads)`, contract: "MeterDataLedger", gas: Math.round(last.sidegrid.gasUsed / last.n), per: "record", note: `${last.sidegrid.txs} tx; payload v2 = 6-byte header, 112-byte compact ET160 record, tag; epoch keys published on KeyCustody` });

    phase("demand response: gas of the DemandResponse operations on BlockTST");
    const drGas = await measureDemandResponseGas(w, drCpu, log);

    phase("revocation latency: BlockPRI → federation → BlockSEC");
    const revocation = await measureRevocation(w, byMeter(METERS.revocation), plan.revocations, log);
    log(`  revoke → refused: p50 ${revocation.revokeMs.p50} ms, p99 ${revocation.revokeMs.p99} ms; grant → permitted: p50 ${revocation.grantMs.p50} ms`);
    operations.push(
      { operation: "setPreference (revoke: an update of an entry)", contract: "PPC", gas: revocation.revokeGas, per: "transaction", note: "sends 2 relay messages" },
      { operation: "FederationInbox.deliver, preference to PolicyMirror", contract: "FederationInbox (BlockSEC)", gas: revocation.deliverGasPerMessage, per: "message", note: "batches as they came during the revocations" },
    );

    phase(`federation relay throughput (${plan.relayMessages} messages)`);
    const relay = await measureRelay(w, members, plan.relayMessages, log, plan.relayRounds);
    operations.push({
      operation: `FederationInbox.deliver, batched (mean ${relay.backlog.deliver.meanBatch} per tx)`,
      contract: "FederationInbox (BlockSEC)",
      gas: relay.backlog.deliver.gasPerMessage,
      per: "message",
      note: "relay backlog run, to the load generator's mirror",
    });
    const relayRun = (r: typeof relay.live) => ({
      messages: r.messages,
      seconds: r.seconds,
      messagesPerSecond: r.messagesPerSecond,
      appSendSeconds: r.appSendSeconds,
      deliverTxs: r.deliver.txs,
      meanBatch: r.deliver.meanBatch,
      gasPerMessage: r.deliver.gasPerMessage,
    });

    phase(`end-to-end ingest: ${plan.endToEnd.meters} simulated meters, ${plan.endToEnd.seconds} s measured`);
    const tConsent = performance.now();
    await grantFleetConsent(w, Array.from({ length: plan.endToEnd.meters }, (_, i) => METERS.fleet + i));
    log(`  consent of the fleet (${plan.endToEnd.meters} meters) on BlockSEC's mirror in ${((performance.now() - tConsent) / 1000).toFixed(1)} s`);
    const e2e = await runEndToEndBench({
      blocksec: { rpcUrl: w.sec.node.url, chainId: BENCH_CHAIN_IDS.blocksec, addresses: w.gatewayAddresses, gatewayKey: w.key("e2eGateway"), startBlock: w.secStartBlock },
      redisUrl,
      dir: path.join(dir, "e2e"),
      meters: plan.endToEnd.meters,
      firstMeterId: METERS.fleet,
      rate: plan.endToEnd.rate,
      seconds: plan.endToEnd.seconds,
      warmup: plan.endToEnd.warmup,
      log: (l) => log(`  ${l}`),
    });
    log(`  anchored ${e2e.readingsPerSecond.anchoredSustained} readings/s sustained; reading → anchored p50 ${e2e.latencyMs.p50} ms, p99 ${e2e.latencyMs.p99} ms`);
    const perSecond = spread(intervalRates(e2e.timeline.map((x) => ({ t: x.t, n: x.anchored }))));
    log(`  anchored per second over the window: min ${perSecond.min}, median ${perSecond.median}, max ${perSecond.max} (${perSecond.rounds} one-second samples)`);
    log(`  backpressure: ${e2e.backpressure.deferred} polls deferred (${e2e.backpressure.engagements} engagements, ${e2e.backpressure.overdue} read as overdue); held at meter p50 ${Math.round(e2e.heldAtMeterMs.p50)} ms, p99 ${Math.round(e2e.heldAtMeterMs.p99)} ms`);

    phase("API: a utility's one-day query");
    const api = await runApiQueryBench({
      blocksec: { rpcUrl: w.sec.node.url, chainId: BENCH_CHAIN_IDS.blocksec, addresses: w.gatewayAddresses, gatewayKey: w.key("apiGateway"), startBlock: w.secStartBlock },
      redisUrl,
      dir: path.join(dir, "api"),
      meterId: METERS.api,
      utilityKey: w.key("utility"),
      queries: plan.api.queries,
      accessRequests: plan.api.accessRequests,
    });
    log(`  one-day query (${api.records} records, ${api.responseBytes} bytes): p50 ${api.queryMs.p50} ms, p99 ${api.queryMs.p99} ms; access request round p50 ${api.accessRequestMs.p50} ms, p99 ${api.accessRequestMs.p99} ms`);

    phase(`key release: grant → plaintext, ${plan.keyReleases} reads of one day`);
    const keyRelease = await measureKeyRelease(w, byMeter(METERS.api).address, plan.keyReleases, log);

    const paper = paperGasRows(deploy, operations, opsGas.baselineSetTransLog);
    const wallSeconds = round((performance.now() - t0) / 1000, 1);
    const anchorSteady = operations.find((o) => o.operation.includes("steady state"))!.gas;
    const goals = evaluateGoals(
      {
        "codec-decode": codec.perSecond,
        "anchor-gas": anchorSteady,
        "revocation-p99": revocation.revokeMs.p99,
        "relay-throughput": relay.backlog.messagesPerSecond,
        "e2e-throughput": e2e.readingsPerSecond.anchoredSustained,
        "e2e-throughput-loaded": e2e.readingsPerSecond.anchoredSustained,
        "relay-throughput-loaded": relay.backlog.messagesPerSecond,
        "e2e-latency-p99": e2e.latencyMs.p99,
        "anchor-gas-v2": e2e.anchoring.gasPerRecord,
        "key-release-p99": keyRelease.grantToPlaintextMs.p99,
        "bench-wall-time": wallSeconds,
      },
      {
        ...(opts.quick ? { "e2e-throughput": `quick run: ${plan.endToEnd.meters} meters offered ${plan.endToEnd.rate}/s; the full run offers 1,000 meters × 6,000/s` } : {}),
        "e2e-throughput-loaded": `${plan.endToEnd.seconds} s window${opts.quick ? " (quick run; the goal is for the full run's 60 s)" : ""}; the goal counts with the default system (sidegrid up) running beside the bench`,
        "relay-throughput-loaded": "the backlog figure; the goal counts with the default system (sidegrid up) running beside the bench",
        "relay-throughput": `backlog of ${relay.backlog.messages} from spawning the members, whose start alone takes ${relay.idleRestartSeconds} s; live: ${relay.live.messagesPerSecond} msg/s`,
        "bench-wall-time": "before stopping the processes",
        "anchor-gas-v2": `end-to-end run: ${e2e.anchoring.recordsPerTx} readings per anchorBatch transaction, 134-byte payloads`,
      },
      { "bench-wall-time": { target: plan.wallLimitSeconds, goal: opts.quick ? "quick < 2 min" : "full < 15 min" } },
    );
    for (const g of goals) log(`  goal ${g.met ? "met    " : "NOT met"} ${g.figure}: ${g.value} ${g.unit} (${g.goal})`);

    const name = stamp(startedAt);
    fs.mkdirSync(opts.outDir, { recursive: true });
    const files = {
      json: path.join(opts.outDir, `${name}.json`),
      markdown: path.join(opts.outDir, `${name}.md`),
      svg: path.join(opts.outDir, `${name}.svg`),
      dayAheadSvg: path.join(opts.outDir, `${name}.dsm.svg`),
    };
    const report: BenchReport = {
      version: 1,
      quick: opts.quick,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds,
      machine: { platform: process.platform, arch: process.arch, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version },
      chains: { ...BENCH_CHAIN_IDS },
      figure9: {
        rows,
        meters: FIGURE9_METERS,
        payloadBytes: PAPER_RECORD_BYTES,
        notes: [
          `(a) baseline: packages/cli/baseline/PaperStorage.sol (the paper's Storage, Appendix B), ${w.paperStorage.compiler}, optimizer off; one setTransLog transaction per record carrying the 144-byte record as its string, pushed into the sending consumer's array; a fresh consumer per run.`,
          "(a) is pipelined: all transactions signed and sent in nonce order by one TxSender, then the receipts awaited, because Sidegrid's gateway pipelines too. \"one by one\" awaits each receipt before the next send, as the paper's web3 client did; both have a fixed gas limit (no per-transaction estimate).",
          `(b) Sidegrid: ${FIGURE9_METERS} simulated Pi meters log N/${FIGURE9_METERS} 15-minute ET160 records each; timed from the gateway's first OSGP read request to the last anchorBatch receipt: reading over TCP with AES-GCM, tamper checks, consent from BlockSEC's PolicyMirror (relayed from BlockPRI by the federation), encryption to each consumer, LevelDB outbox, anchoring. Work (a) does not do is inside (b)'s time.`,
          "speed-up = (b) readings/s ÷ (a) readings/s = (a) seconds ÷ (b) seconds.",
          "The paper (Loom, immediate mining, Core i5-8625U) states only the ends of its Figure 9: 0.8 s for 10 and 94 s for 1,000 transactions; its other points are in an image.",
          "All three columns run on BlockSEC's anvil (automine, --prune-history) right after the consumers registered, with the federation members stopped (Figure 9 needs none).",
          "Each baseline run starts from the same chain state and is rolled back afterwards (evm_snapshot / evm_revert): anvil's time per block grows with its chain (when this bench was written, 1,000 pipelined setTransLog ran at 164 tx/s on a fresh chain and at 82 tx/s right after another 1,000), so without the rollback every run would be slowed by the baseline runs before it. Sidegrid's runs are not rolled back (one or two blocks each).",
        ],
      },
      gas: {
        deploy,
        operations,
        paper: paper.rows,
        impliedGweiPerGas: paper.impliedGweiPerGas,
        notes: [
          "Every figure is a receipt's gasUsed on anvil 1.7.1 (default hardfork; EIP-7623 calldata floor in force). Sidegrid contracts: solc 0.8.37, optimizer 200 runs.",
          "Per record / per message figures divide a transaction's gas by what it carried.",
        ],
      },
      endToEnd: {
        meters: plan.endToEnd.meters,
        targetRate: plan.endToEnd.rate,
        seconds: plan.endToEnd.seconds,
        warmup: plan.endToEnd.warmup,
        anchoredPerSecond: e2e.readingsPerSecond.anchoredSustained,
        storedPerSecond: e2e.readingsPerSecond.storedSustained,
        pollsPerSecond: e2e.readingsPerSecond.pollsPerSecond,
        latencyMs: e2e.latencyMs,
        heldAtMeterMs: e2e.heldAtMeterMs,
        deferredPolls: e2e.backpressure.deferred,
        anchoredPerSecondSpread: perSecond,
        gasPerRecord: e2e.anchoring.gasPerRecord,
        recordsPerTx: e2e.anchoring.recordsPerTx,
        pollFailures: e2e.pollFailures,
        notes: [
          "meter-gateway's runEndToEndBench: a simulator process with the fleet behind one addressed port and an accelerated clock; the gateway in this process polls through BullMQ (every 2 s per meter, 48 concurrent), ingests, encrypts and anchors.",
          "Consent for the fleet is delivered to the PolicyMirror by the regulator's trusted-relayer role (the federation's path is measured by the revocation figures), so the run measures the gateway.",
          "Latency: from the gateway receiving a record to its anchor receipt, over every record read in the measured window.",
          "Backpressure: while the outbox is over 20,000 records or its oldest is 1.5 s old, polls of meters are deferred (each at most 384 intervals: the simulated meters keep 512 records) and the records wait in the meters' logs; 'held at meter' is that wait, from the end of a reading's interval to its read.",
        ],
      },
      revocation: {
        revokeMs: revocation.revokeMs,
        grantMs: revocation.grantMs,
        notes: [
          `${plan.revocations} revocations of one consumer's consent with the PPC's setPreference, each followed by the grant back; timed from just before the transaction is sent on BlockPRI until BlockSEC's PolicyMirror answers accordingly (read every 5 ms).`,
          `Three member processes, threshold 2, tuning ${JSON.stringify(MEMBER_TUNING)}.`,
        ],
      },
      relay: {
        live: relayRun(relay.live),
        backlog: relayRun(relay.backlog),
        backlogRounds: relay.backlogRounds,
        idleRestartSeconds: relay.idleRestartSeconds,
        notes: [
          "federation's measureRelayThroughput: a load generator on BlockPRI (400 outbox sends per transaction, registered on the real outbox) sends preference messages to a mirror on BlockSEC; the clock stops at the last MessageExecuted on BlockSEC's inbox.",
          "live: the members run while the load is sent, timed from the first load transaction; sending the load (16M-gas transactions) is the pace here.",
          "backlog: the members are stopped (SIGTERM), the load is sent, and the clock starts when the three member processes are spawned again: process start-up, catching up from their LevelDB cursors, signing, exchanging signatures, batching and delivering are all inside. The goal is held against this figure.",
        ],
      },
      api: {
        records: api.records,
        responseBytes: api.responseBytes,
        queryMs: api.queryMs,
        accessRequestMs: api.accessRequestMs,
        notes: [
          "A real gateway (meter-gateway's startGateway) with one consumer's meter holding a day of 15-minute records, anchored; the utility requests that day through the API (prepare, sign with its wallet, relay: one AccessLedger transaction per request) and then fetches the granted day (GET /v1/access/{consumer}/{entry}/readings, every request wallet-signed; signing happens before the clock starts).",
          "No issue sets a goal for this figure.",
        ],
      },
      keyRelease,
      codec,
      demandResponse: demandResponseSection(drCpu, drGas, plan.demandResponse),
      goals,
      files,
    };
    const subtitle = `${opts.quick ? "quick" : "full"} run, ${report.startedAt}, ${report.machine.cpus} cores`;
    const svg = renderFigure9Svg(rows, subtitle);
    const charted = report.demandResponse.dayAhead[report.demandResponse.dayAhead.length - 1]!;
    fs.writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(files.markdown, renderMarkdown(report, path.basename(files.svg)));
    fs.writeFileSync(files.svg, `${svg}\n`);
    fs.writeFileSync(files.dayAheadSvg, `${renderDayAheadSvg(charted, `${subtitle}; seed ${charted.seed}, ${charted.flexibleLoads} flexible loads`)}\n`);
    // <stamp>.json → latest.json, <stamp>.dsm.svg → latest.dsm.svg, …
    for (const f of Object.values(files)) fs.copyFileSync(f, path.join(opts.outDir, `latest${path.basename(f).slice(name.length)}`));
    log(`\nwrote ${files.json}, ${files.markdown}, ${files.svg}, ${files.dayAheadSvg} (and latest.*) in ${wallSeconds} s`);
    return report;
  } catch (e) {
    if (e instanceof CliError) throw e;
    const err = e as Error;
    throw new CliError("BENCH_FAILED", `bench failed: ${err?.message?.split("\n")[0] ?? String(e)}`, err?.stack, { cause: e });
  } finally {
    const failures = await cleanup.run();
    for (const f of failures) log(`cleanup: ${f}`);
  }
}
