// Bench: decoding real captures end to end (HDLC + APDU + registers by OBIS), on one core, beside
// baselines measured in the same run: the raw CRC-16/X.25 over the same frame (the least any HDLC
// decoder must do) and node:crypto AES-128-GCM over the same ciphered bytes.
// Run with `pnpm --filter @sidegrid/dlms run bench`; writes bench-results/dlms.json.
import { createDecipheriv } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { crc16x25 } from "./crc";
import { decodeDlms } from "./decode";
import { decodeHdlcFrame } from "./hdlc";
import { hexToBytes } from "./hex";
import { KAIFA_LIST1, KAMSTRUP_LIST3, UDP_GGC, UI_PUSH } from "./test-utils/captures";

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const kamstrup = hexToBytes(KAMSTRUP_LIST3);
const ui = hexToBytes(UI_PUSH);
const kaifa = hexToBytes(KAIFA_LIST1);
const ggc = hexToBytes(UDP_GGC);
const key = new TextEncoder().encode("MYDUMMYGLOBALKEY");
// The GCM part of the general-glo-ciphering APDU: IV = system title | invocation counter.
const ggcIv = Buffer.concat([ggc.subarray(10, 18), ggc.subarray(20, 24)]);
const ggcBody = ggc.subarray(24, ggc.length - 12);
const ggcTag = ggc.subarray(ggc.length - 12);
const ggcAad = Buffer.concat([Uint8Array.of(0x30), key]);

let sink = 0;
const cases: Record<string, { description: string; bytes: number; run: () => void }> = {
  "codec: decodeDlms Kamstrup list 3 -> 19 registers": {
    description: "HDLC checks, LLC, data-notification, OBIS/value pairs to registers with scalers",
    bytes: kamstrup.length,
    run() {
      sink += Object.keys(decodeDlms(kamstrup).registers!).length;
    },
  },
  "codec: decodeDlms UI push with scaler_unit -> 27 registers": {
    description: "581-byte frame, 27 structure{OBIS, value, scaler_unit} entries",
    bytes: ui.length,
    run() {
      sink += Object.keys(decodeDlms(ui).registers!).length;
    },
  },
  "codec: decodeDlms Kaifa list 1 -> 1 register": {
    description: "the 2-second HAN push",
    bytes: kaifa.length,
    run() {
      sink += Object.keys(decodeDlms(kaifa).registers!).length;
    },
  },
  "codec: decodeDlms wrapper + general-glo-ciphering, decrypt": {
    description: "IP wrapper, AES-128-GCM open with 12-byte tag, inner data-notification",
    bytes: ggc.length,
    run() {
      if (decodeDlms(ggc, { ek: key, ak: key }).plain?.type !== "data-notification") throw new Error("bad decrypt");
      sink++;
    },
  },
  "codec: decodeHdlcFrame Kamstrup list 3 (frame only)": {
    description: "flags, format, addresses, control, HCS and FCS",
    bytes: kamstrup.length,
    run() {
      sink += decodeHdlcFrame(kamstrup).length;
    },
  },
  "baseline: CRC-16/X.25 over the Kamstrup frame": {
    description: "the FCS computation alone, table-driven",
    bytes: kamstrup.length,
    run() {
      sink += crc16x25(kamstrup, 1, kamstrup.length - 3);
    },
  },
  "baseline: node:crypto AES-128-GCM open of the same ciphered bytes": {
    description: "createDecipheriv + setAAD + setAuthTag + update + final",
    bytes: ggc.length,
    run() {
      const d = createDecipheriv("aes-128-gcm", key, ggcIv, { authTagLength: 12 });
      d.setAAD(ggcAad);
      d.setAuthTag(ggcTag);
      sink += d.update(ggcBody).length;
      d.final();
    },
  },
};

function timeRound(run: () => void, ms: number): number {
  let batch = 64;
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

function main(): void {
  const names = Object.keys(cases);
  console.log(`dlms decode bench — one core, node ${process.version}, ${os.cpus()[0]?.model ?? "unknown cpu"}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${ROUNDS} interleaved rounds of ${ROUND_MS} ms per case; best round (median in brackets)\n`);
  for (const n of names) timeRound(cases[n].run, 200);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) for (const n of names) rates[n].push(timeRound(cases[n].run, ROUND_MS));
  const results: Record<string, { framesPerSecond: number; medianFramesPerSecond: number; microsecondsPerFrame: number; bytes: number; description: string }> = {};
  for (const n of names) {
    const s = rates[n].slice().sort((a, b) => a - b);
    const best = s[s.length - 1];
    const median = s[Math.floor(s.length / 2)];
    results[n] = { framesPerSecond: Math.round(best), medianFramesPerSecond: Math.round(median), microsecondsPerFrame: Number((1e6 / best).toFixed(3)), bytes: cases[n].bytes, description: cases[n].description };
    console.log(`${n.padEnd(66)} ${Math.round(best).toLocaleString("en-US").padStart(11)} frames/s ${(1e6 / best).toFixed(2).padStart(7)} µs  [${Math.round(median).toLocaleString("en-US")}]`);
  }
  const full = results["codec: decodeDlms Kamstrup list 3 -> 19 registers"].framesPerSecond;
  const crc = results["baseline: CRC-16/X.25 over the Kamstrup frame"].framesPerSecond;
  console.log(`\nfull decode of a 303-byte HAN frame costs ${(crc / full).toFixed(1)}× its CRC alone`);
  const out = {
    package: "@sidegrid/dlms",
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    perCore: true,
    roundMs: ROUND_MS,
    rounds: ROUNDS,
    statistic: "framesPerSecond = best of interleaved rounds; medianFramesPerSecond = median",
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    results,
  };
  const dir = path.resolve(__dirname, "..", "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "dlms.json"), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), path.join(dir, "dlms.json"))} (sink ${sink > 0 ? "ok" : "empty"})`);
}

main();
