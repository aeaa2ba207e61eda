// pnpm bench: end-to-end readings/s from simulated meters to anchored on BlockSEC.
//   node dist-bench/bench/endToEnd.bench.js [--meters 1000] [--rate 6000] [--seconds 30]
//        [--warmup 8] [--interval 2000] [--gas-limit 30000000] [--gas-limits bound|estimate]
// Starts its own redis-server and BlockSEC (anvil), delivers consent for the fleet straight to the
// mirror (the trusted-relayer role, what a federation round does), then runs runEndToEndBench
// (endToEnd.ts). Writes bench-results/end-to-end.json and bench-results/gas.json.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "@sidegrid/chain";
import { parseArgs } from "node:util";
import { startBlockSecBenchFixture } from "../test-utils/fixture";
import { runEndToEndBench } from "./endToEnd";

const CHAIN_ID = 31590;

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
      "gas-limits": { type: "string", default: "bound" },
    },
  });
  const meters = Number(values.meters);
  const rate = Number(values.rate);
  const gasLimit = BigInt(values["gas-limit"]!);
  const gasLimits = values["gas-limits"];
  if (gasLimits !== "bound" && gasLimits !== "estimate") throw new Error(`--gas-limits must be bound or estimate, got "${gasLimits}"`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-bench-"));
  const redisDir = path.join(dir, "redis");
  fs.mkdirSync(redisDir);
  const redisPort = await freePort();
  execFileSync("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir, "--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", `${redisDir}/r.pid`], { stdio: "ignore" });
  // A daemonized redis writes its pid file once it runs: on a busy machine that takes a while.
  const pidFile = path.join(redisDir, "r.pid");
  const readPid = () => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : 0);
  for (let i = 0; i < 200 && !(readPid() > 0); i++) await new Promise((r) => setTimeout(r, 50));
  const redisPid = readPid();
  if (!(redisPid > 0)) throw new Error(`redis-server on port ${redisPort} did not start within 10 s`);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const fx = await startBlockSecBenchFixture({ secChainId: CHAIN_ID, gasLimit });
  try {
    const t0 = Date.now();
    await fx.grantConsent(Array.from({ length: meters }, (_, i) => i + 1), "QUARTER_HOURLY");
    log(`consent for ${meters} consumers delivered in ${Date.now() - t0} ms`);
    const result = await runEndToEndBench({
      blocksec: { rpcUrl: fx.sec.node.url, chainId: CHAIN_ID, addresses: fx.addresses, gatewayKey: fx.gatewayKey, startBlock: fx.startBlock },
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      queuePrefix: "bench",
      dir: path.join(dir, "run"),
      meters,
      rate,
      seconds: Number(values.seconds),
      warmup: Number(values.warmup),
      intervalMs: Number(values.interval),
      concurrency: Number(values.concurrency),
      maxBatch: Number(values["max-batch"]),
      gasLimits,
      log: (l) => log(`  ${l}`),
    });
    const out = {
      bench: "meter-gateway end-to-end",
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      ...result,
      config: { ...result.config, blockGasLimit: gasLimit.toString() },
    };
    const outDir = path.join(__dirname, "..", "..", "bench-results");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "end-to-end.json"), JSON.stringify(out, null, 2));
    const gasFile = path.join(outDir, "gas.json");
    fs.writeFileSync(gasFile, JSON.stringify({ anchorBatch: { gasPerRecord: result.anchoring.gasPerRecord, recordsPerTx: result.anchoring.recordsPerTx, blockGasLimit: gasLimit.toString(), payloadBytes: 242, payloadLayout: "v1: 2-byte header + 80-byte key envelope + 144-byte ET160 record + 16-byte tag", source: "pnpm bench (end-to-end.json)" } }, null, 2));
    const a = result.anchoring;
    console.log("\nmeter-gateway end-to-end bench");
    console.log(`  meters                     ${meters}`);
    console.log(`  anchored readings/s        ${result.readingsPerSecond.anchoredSustained} (sustained over ${result.config.seconds} s; goal ≥ 5000)`);
    console.log(`  ingested readings/s        ${result.readingsPerSecond.storedSustained}`);
    console.log(`  polls/s                    ${result.readingsPerSecond.pollsPerSecond} (${result.pollFailures} failed)`);
    console.log(`  reading→anchored latency   p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms (goal p99 ≤ 2000 ms; ${result.latencyMs.samples} samples)`);
    console.log(`  anchorBatch                ${a.txs} txs, ${a.recordsPerTx} records/tx, ${a.gasPerRecord} gas/record`);
    console.log(`  anchor rounds              ${a.rounds}, wall ms: select ${a.timingsMs.select}, consent ${a.timingsMs.consent}, ledger ${a.timingsMs.ledger}, bookkeeping ${a.timingsMs.mark}`);
    console.log(`  written                    ${path.join(outDir, "end-to-end.json")}, ${gasFile}`);
  } finally {
    await fx.stop();
    try {
      process.kill(redisPid, "SIGTERM");
    } catch {
      /* gone */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
