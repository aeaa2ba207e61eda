// Bench: decode + verify of a response carrying the 144-byte ET160 reading record, on one core,
// beside baselines measured in the same run. Run with `pnpm bench` (compiles to dist-bench/).
// Writes bench-results/osgp-codec.json.
import { createHmac, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { constantTimeEqual, omaResponseDigest } from "./digest";
import { decodeResponse, encodeRequest, encodeResponse, requestDigestInput } from "./frame";
import { READING_TABLE_ID, decodeReadingRecord, encodeReadingRecord, type MeterReading } from "./record";
import { createSecuritySuite } from "./suite";
import { referenceDigestCall, referenceState } from "./test-utils/referenceDigest";

const GOAL_PER_SECOND = 200_000;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const key = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i); // 96-bit key: 144-byte blocks
const reading: MeterReading = {
  meterId: 4711,
  sequence: 1,
  clockMs: Date.UTC(2025, 0, 1),
  activeEnergyImportWh: 12_345_678,
  activeEnergyExportWh: 9_876,
  reactiveEnergyImportVarh: 1_234,
  reactiveEnergyExportVarh: 56,
  activePowerW: 3456.789,
  reactivePowerVar: -210.5,
  frequencyHz: 50.012,
  powerFactor: 0.9812,
  phases: [1, 2, 3].map((p) => ({ voltageV: 230 + p / 10, currentA: 5 + p, activePowerW: 1152.263, reactivePowerVar: -70.167, powerFactor: 0.98 })),
  flags: { terminalCoverOpen: false, caseOpen: false, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: false, selfTestFailed: false },
  tamperEvents: 0,
  powerOutages: 2,
};

const requestFrame = encodeRequest({ request: { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: 144 }, seq: 0x1000, key });
const request = requestDigestInput(requestFrame);
const responseFrame = encodeResponse({ response: { response: "okData", data: encodeReadingRecord(reading) }, request, key });
const responsePdu = responseFrame.subarray(2, responseFrame.length - 8);
const responseDigest = responseFrame.subarray(responseFrame.length - 8);
const hmacKey = Buffer.alloc(16, 7);
const hmacTag = createHmac("sha256", hmacKey).update(request).update(responsePdu).digest();

const gcm = createSecuritySuite("aes-gcm", { key: new Uint8Array(16).fill(9), meterId: 4711 });
const gcmRequest = gcm.encodeRequest({ request: { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: 144 }, seq: 1 });
const gcmResponse = gcm.encodeResponse({ response: { response: "okData", data: encodeReadingRecord(reading) }, exchange: gcm.decodeRequest(gcmRequest.frame).exchange, seq: 1 });

let sink = 0;

const cases: Record<string, { description: string; run: () => void }> = {
  "codec: decodeResponse(verify) + decodeReadingRecord": {
    description: "the hot path: length checks, OMA response digest (2 blocks), constant-time compare, PDU and 144-byte record decode",
    run() {
      const r = decodeResponse(responseFrame, { key, request });
      if (r.response.response !== "okData") throw new Error("unexpected response");
      sink += decodeReadingRecord(r.response.data).activeEnergyImportWh;
    },
  },
  "codec: omaResponseDigest + compare (verify only)": {
    description: "the digest alone, as the public one-call API (allocates the 8-byte result)",
    run() {
      if (!constantTimeEqual(omaResponseDigest({ key, request, response: responsePdu }), responseDigest)) throw new Error("bad digest");
      sink++;
    },
  },
  "baseline: naive OMA digest (literal port of the guide's C) + compare": {
    description: "bit-by-bit model of Appendix A's Digest(), same bytes",
    run() {
      const st = referenceState();
      referenceDigestCall(request, key, st, false);
      referenceDigestCall(responsePdu, key, st, true);
      if (!constantTimeEqual(st.digest, responseDigest)) throw new Error("bad digest");
      sink++;
    },
  },
  "baseline: node:crypto HMAC-SHA256 over the same bytes + timingSafeEqual": {
    description: "createHmac per packet over request PDU‖seq‖response PDU",
    run() {
      const tag = createHmac("sha256", hmacKey).update(request).update(responsePdu).digest();
      if (!timingSafeEqual(tag, hmacTag)) throw new Error("bad tag");
      sink++;
    },
  },
  "aes-gcm suite: decodeResponse + decodeReadingRecord": {
    description: "Sidegrid's suite: AES-128-GCM open (node:crypto) + PDU and record decode",
    run() {
      const r = gcm.decodeResponse(gcmResponse, gcmRequest.exchange);
      if (r.response.response !== "okData") throw new Error("unexpected response");
      sink += decodeReadingRecord(r.response.data).activeEnergyImportWh;
    },
  },
};

/** Runs `run` for about `ms` milliseconds in growing batches (the clock stays out of the loop). */
function timeRound(run: () => void, ms: number): number {
  let batch = 256;
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) run();
    ops += batch;
    if (Number(process.hrtime.bigint() - t0) / 1e6 < 5) batch *= 2;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (ops / elapsed) * 1000;
}

/**
 * Rounds interleave the cases, so load from other processes hits all of them alike; the best
 * round estimates the undisturbed rate, the median the typical one.
 */
function measureAll(): Record<string, { best: number; median: number }> {
  const names = Object.keys(cases);
  for (const n of names) timeRound(cases[n].run, 300); // warm-up (JIT)
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) for (const n of names) rates[n].push(timeRound(cases[n].run, ROUND_MS));
  return Object.fromEntries(
    names.map((n) => {
      const r = rates[n].slice().sort((a, b) => a - b);
      return [n, { best: r[r.length - 1], median: r[Math.floor(r.length / 2)] }];
    }),
  );
}

function main(): void {
  const results: Record<string, { packetsPerSecond: number; medianPacketsPerSecond: number; microsecondsPerPacket: number; description: string }> = {};
  console.log(`osgp-codec decode bench — one core, node ${process.version}, ${os.cpus()[0]?.model ?? "unknown cpu"}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`packet: response frame of ${responseFrame.length} bytes (ET160 record, 96-bit key), request ${requestFrame.length} bytes`);
  console.log(`${ROUNDS} interleaved rounds of ${ROUND_MS} ms per case; best round (median in brackets)\n`);
  const measured = measureAll();
  for (const [name, c] of Object.entries(cases)) {
    const { best, median } = measured[name];
    results[name] = { packetsPerSecond: Math.round(best), medianPacketsPerSecond: Math.round(median), microsecondsPerPacket: Number((1e6 / best).toFixed(3)), description: c.description };
    console.log(`${name.padEnd(72)} ${Math.round(best).toLocaleString("en-US").padStart(10)} packets/s  ${(1e6 / best).toFixed(2).padStart(6)} µs  [${Math.round(median).toLocaleString("en-US")}]`);
  }
  const headline = results["codec: decodeResponse(verify) + decodeReadingRecord"].packetsPerSecond;
  const naive = results["baseline: naive OMA digest (literal port of the guide's C) + compare"].packetsPerSecond;
  const hmac = results["baseline: node:crypto HMAC-SHA256 over the same bytes + timingSafeEqual"].packetsPerSecond;
  console.log(`\ngoal ≥ ${GOAL_PER_SECOND.toLocaleString("en-US")} decode+verify/s per core: ${headline >= GOAL_PER_SECOND ? "met" : "NOT met"}`);
  console.log(`decode+verify vs naive digest alone: ${(headline / naive).toFixed(2)}×; vs HMAC-SHA256 alone: ${(headline / hmac).toFixed(2)}×`);
  const out = {
    package: "@sidegrid/osgp-codec",
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    perCore: true,
    roundMs: ROUND_MS,
    rounds: ROUNDS,
    statistic: "packetsPerSecond = best of interleaved rounds; medianPacketsPerSecond = median",
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    goalPacketsPerSecond: GOAL_PER_SECOND,
    goalMet: headline >= GOAL_PER_SECOND,
    responseFrameBytes: responseFrame.length,
    results,
  };
  const dir = path.resolve(__dirname, "..", "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "osgp-codec.json"), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(dir, "osgp-codec.json"))} (sink ${sink > 0 ? "ok" : "empty"})`);
}

main();
