// Fuzz run: random and mutated frames through every decoder. Passes when no decoder throws anything
// but an OsgpError and no authenticated decoder accepts a changed frame with a changed meaning.
// Timing (slowest input, inputs over 10 ms: GC pauses show up there) is reported, not judged.
// Usage: pnpm fuzz [frames=1000000] [seed=24601]   (not part of the jest run)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, peekFrameSize, requestDigestInput } from "./frame";
import { OsgpError } from "./errors";
import { bytesToHex, hexToBytes as fromHex } from "./hex";
import { decodeProcedureCall, decodeProcedureResult, encodeProcedureCall } from "./procedure";
import { READING_RECORD_SIZE, READING_TABLE_ID, decodeReadingRecord, encodeReadingRecord } from "./record";
import { decodeRequestPdu, decodeResponsePdu, type ServiceRequest, type ServiceResponse } from "./services";
import { createSecuritySuite } from "./suite";
import type { SecuritySuite, SuiteExchange } from "./suiteTypes";
import { GUIDE_EXCHANGES, DEFAULT_MAK } from "./test-utils/vectors";

const FRAMES = Number(process.argv[2] ?? 1_000_000);
const SEED = Number(process.argv[3] ?? 24601);

/** sfc32: small, fast, seedable; fuzz runs are reproducible from the seed. */
function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}
const rnd = prng(SEED);
const below = (n: number) => rnd() % n;
const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd() & 0xff);

// ---- corpus: valid frames of every kind, with the context needed to verify them ----------------
const key96 = Uint8Array.from({ length: 12 }, (_, i) => 0x30 + i);
const legacy = createSecuritySuite("legacy-rc4-mep", { key: DEFAULT_MAK, allowInsecure: true });
const gcm = createSecuritySuite("aes-gcm", { masterKey: new Uint8Array(16).fill(3), meterId: 77 });

interface Seed {
  kind: "request" | "response";
  frame: Uint8Array;
  key: Uint8Array;
  /** request PDU ‖ seq for plain responses */
  request?: Uint8Array;
  suite?: SecuritySuite;
  exchange?: SuiteExchange;
}

const corpus: Seed[] = [];
for (const ex of Object.values(GUIDE_EXCHANGES)) {
  corpus.push({ kind: "request", frame: ex.request, key: DEFAULT_MAK });
  corpus.push({ kind: "response", frame: ex.response, key: DEFAULT_MAK, request: requestDigestInput(ex.request) });
}
const record = encodeReadingRecord({
  meterId: 77, sequence: 5, clockMs: 1_735_689_600_000, activeEnergyImportWh: 1_000_000, activeEnergyExportWh: 10, reactiveEnergyImportVarh: 2, reactiveEnergyExportVarh: 3,
  activePowerW: 1500, reactivePowerVar: -20, frequencyHz: 50, powerFactor: 0.99,
  phases: [{ voltageV: 231, currentA: 6.5, activePowerW: 1500, reactivePowerVar: -20, powerFactor: 0.99 }],
  flags: { terminalCoverOpen: false, caseOpen: false, magneticField: true, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: false, selfTestFailed: false },
  tamperEvents: 1, powerOutages: 0,
});
const requests: ServiceRequest[] = [
  { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: READING_RECORD_SIZE },
  { service: "fullRead", tableId: 23 },
  { service: "partialWrite", tableId: 2100, offset: 0, data: bytes(40) },
  encodeProcedureCall({ procedure: 2065, psn: 7, params: bytes(3) }),
];
const responses: ServiceResponse[] = [
  { response: "okData", data: record },
  { response: "okData", data: bytes(10) },
  { response: "ok" },
  { response: "invalidSequenceNumber", seq: 0x77635b90 },
  { response: "authenticationFailure" },
];
for (const [i, request] of requests.entries()) {
  for (const response of responses) {
    const isRead = request.service === "partialRead" || request.service === "fullRead";
    if ((response.response === "okData") !== isRead && (response.response === "ok" || response.response === "okData")) continue;
    const seq = 1000 + i;
    const plain = encodeRequest({ request, seq, key: key96 });
    corpus.push({ kind: "request", frame: plain, key: key96 });
    corpus.push({ kind: "response", frame: encodeResponse({ response, request: requestDigestInput(plain), key: key96 }), key: key96, request: requestDigestInput(plain) });
    for (const suite of [legacy, gcm]) {
      const { frame, exchange } = suite.encodeRequest({ request, seq });
      corpus.push({ kind: "request", frame, key: DEFAULT_MAK, suite });
      const meter = suite.decodeRequest(frame);
      corpus.push({ kind: "response", frame: suite.encodeResponse({ response, exchange: meter.exchange, seq: seq + 7 }), key: DEFAULT_MAK, suite, exchange });
    }
  }
}

// ---- mutations --------------------------------------------------------------------------------
function fixLength(f: Uint8Array): Uint8Array {
  if (f.length >= 2 && f.length - 2 <= 0xffff) {
    f[0] = (f.length - 2) >> 8;
    f[1] = (f.length - 2) & 0xff;
  }
  return f;
}

function mutate(src: Uint8Array): Uint8Array {
  let f = src.slice();
  const n = 1 + below(4);
  for (let m = 0; m < n; m++) {
    switch (below(9)) {
      case 0: // flip a bit
        if (f.length) f[below(f.length)] ^= 1 << below(8);
        break;
      case 1: // set a byte
        if (f.length) f[below(f.length)] = rnd() & 0xff;
        break;
      case 2: { // insert bytes
        const at = below(f.length + 1);
        f = Uint8Array.from([...f.subarray(0, at), ...bytes(1 + below(16)), ...f.subarray(at)]);
        break;
      }
      case 3: { // delete a range
        const at = below(f.length + 1);
        f = Uint8Array.from([...f.subarray(0, at), ...f.subarray(Math.min(f.length, at + 1 + below(16)))]);
        break;
      }
      case 4: // truncate
        f = f.slice(0, below(f.length + 1));
        break;
      case 5: // random length field
        if (f.length >= 2) {
          f[0] = rnd() & 0xff;
          f[1] = rnd() & 0xff;
        }
        break;
      case 6: // interesting values in a random place (counts, codes)
        if (f.length) f[below(f.length)] = [0x00, 0xff, 0x7f, 0x80, 0x30, 0x3f, 0x40, 0x4f, 0x0c, 0x0b][below(10)];
        break;
      case 7: { // splice with another corpus frame
        const other = corpus[below(corpus.length)].frame;
        const at = below(f.length + 1);
        f = Uint8Array.from([...f.subarray(0, at), ...other.subarray(below(other.length + 1))]);
        break;
      }
      default: // keep len consistent so the decoders go past the length check
        fixLength(f);
    }
  }
  if (below(2) === 0) fixLength(f);
  return f;
}

// ---- the run ----------------------------------------------------------------------------------
const stats = { frames: 0, randomFrames: 0, mutatedFrames: 0, decoderCalls: 0, osgpErrors: 0, accepted: 0, unexpected: 0, forgeriesAccepted: 0, inputsOver10ms: 0 };
const errorCodes: Record<string, number> = {};
const unexpectedSamples: { input: string; error: string }[] = [];
let slowestMs = 0;
let slowestInput = "";

function call(fn: () => unknown): boolean {
  stats.decoderCalls++;
  try {
    fn();
    stats.accepted++;
    return true;
  } catch (e) {
    if (e instanceof OsgpError) {
      stats.osgpErrors++;
      errorCodes[e.code] = (errorCodes[e.code] ?? 0) + 1;
    } else {
      stats.unexpected++;
      if (unexpectedSamples.length < 10) unexpectedSamples.push({ input: "", error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    return false;
  }
}

/** Verify and decode `frame` in the seed's own context (key, request, suite exchange). */
function authenticate(seed: Seed, frame: Uint8Array): object {
  if (seed.suite) {
    const r = seed.kind === "request" ? seed.suite.decodeRequest(frame) : seed.suite.decodeResponse(frame, seed.exchange!);
    return "request" in r ? { request: r.request, seq: r.seq } : { response: r.response, seq: r.seq };
  }
  if (seed.kind === "request") {
    const r = decodeRequest(frame, { key: seed.key });
    return { request: r.request, seq: r.seq };
  }
  return { response: decodeResponse(frame, { key: seed.key, request: seed.request! }).response };
}
/** What a decoded frame means, as comparable text (bytes as hex). */
function meaning(value: object): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? bytesToHex(v) : v));
}
const seedMeaning = new Map(corpus.map((c) => [c, meaning(authenticate(c, c.frame))]));

const anyRequest = requestDigestInput(corpus[0].frame);
const corpusHex = new Set(corpus.map((c) => bytesToHex(c.frame)));
const started = Date.now();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < FRAMES; i++) {
  const random = below(4) === 0;
  const seed = corpus[below(corpus.length)];
  const input = random ? (below(2) ? fixLength(bytes(below(600))) : bytes(below(64))) : mutate(seed.frame);
  if (random) stats.randomFrames++;
  else stats.mutatedFrames++;
  stats.frames++;
  const before = stats.unexpected;
  const t0 = process.hrtime.bigint();

  // Every decoder sees every input; the seed's own context is used for authenticated decoding.
  call(() => peekFrameSize(input));
  call(() => decodeRequest(input));
  call(() => decodeResponse(input));
  call(() => decodeResponse(input, { key: key96, request: anyRequest, onBadDigest: "report" }));
  call(() => decodeRequestPdu(input));
  call(() => decodeResponsePdu(input));
  call(() => decodeProcedureCall(input));
  call(() => decodeProcedureResult(input));
  call(() => decodeReadingRecord(input));
  if (input.length >= READING_RECORD_SIZE) call(() => decodeReadingRecord(input.subarray(input.length - READING_RECORD_SIZE)));

  // Authenticated decoding of a changed frame must never succeed.
  // A splice can rebuild another authentic corpus frame whole; that is a replay, not a forgery.
  const changed = !random && !corpusHex.has(bytesToHex(input));
  let decoded: string | undefined;
  call(() => {
    decoded = meaning(authenticate(seed, input));
  });
  // Accepting different bytes with the same meaning is not a forgery: legacy RC4 lets a clear 0x0B
  // also travel encrypted, and both carry the same authenticated content.
  if (decoded !== undefined && changed && decoded !== seedMeaning.get(seed)) {
    stats.forgeriesAccepted++;
    if (unexpectedSamples.length < 10) unexpectedSamples.push({ input: bytesToHex(input), error: "changed frame accepted as authentic" });
  }
  // And the other suites must reject it too (or decode it as their own, which needs their key).
  call(() => legacy.decodeRequest(input));
  call(() => gcm.decodeRequest(input));

  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (ms > 10) stats.inputsOver10ms++;
  if (ms > slowestMs) {
    slowestMs = ms;
    slowestInput = bytesToHex(input);
  }
  if (stats.unexpected > before) for (const s of unexpectedSamples) if (!s.input) s.input = bytesToHex(input.subarray(0, 256));
  if ((i + 1) % 200_000 === 0) process.stderr.write(`  ${i + 1} frames, ${stats.unexpected} unexpected, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
const seconds = (Date.now() - started) / 1000;

// Wall-clock maxima above include GC pauses and other processes; re-time the slowest input alone.
const slowest = fromHex(slowestInput);
const retimeRuns = 200;
const r0 = process.hrtime.bigint();
for (let r = 0; r < retimeRuns; r++) {
  for (const fn of [
    () => decodeRequest(slowest),
    () => decodeResponse(slowest, { key: key96, request: anyRequest, onBadDigest: "report" }),
    () => decodeReadingRecord(slowest),
    () => legacy.decodeRequest(slowest),
    () => gcm.decodeRequest(slowest),
  ]) {
    try {
      fn();
    } catch {
      // expected: OsgpError, already counted above
    }
  }
}
const slowestRetimedMs = Number(process.hrtime.bigint() - r0) / 1e6 / retimeRuns;
const summary = {
  command: `pnpm fuzz ${FRAMES} ${SEED}`,
  seed: SEED,
  corpusFrames: corpus.length,
  ...stats,
  errorCodes,
  slowestInputMs: Number(slowestMs.toFixed(3)),
  slowestInput,
  slowestInputRetimedMs: Number(slowestRetimedMs.toFixed(4)),
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  heapGrowthMB: Number(((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(1)),
  seconds,
  node: process.version,
  unexpectedSamples,
  passed: stats.unexpected === 0 && stats.forgeriesAccepted === 0,
};
const dir = path.resolve(__dirname, "..", "bench-results");
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "osgp-codec-fuzz.json"), `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary, null, 2));
process.exitCode = summary.passed ? 0 : 1;
