// Packets/s of the gateway's per-reading hot path in the codec: a response frame carrying the
// 144-byte ET160 record, digest verified (OMA, 96-bit key) and the record decoded, on this core.
// (The same cases as packages/osgp-codec's decode.bench.ts, shorter: a figure for the report.)
import {
  READING_TABLE_ID,
  createSecuritySuite,
  decodeReadingRecord,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  requestDigestInput,
} from "@sidegrid/osgp-codec";
import { paperRecords } from "./baseline";
import { percentile } from "./stats";
import type { CodecSection } from "./types";

/** Runs `run` for about `ms` ms in growing batches (the clock stays out of the inner loop). */
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
 * Measures decode + verify throughput in interleaved rounds (load from other processes hits both
 * cases alike); the median round is the figure, the best one shows the undisturbed ceiling.
 */
export function measureCodec(opts: { rounds: number; roundMs: number }): CodecSection {
  const record = paperRecords(1)[0]!;
  const key = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i); // 96-bit key: 144-byte digest blocks
  const requestFrame = encodeRequest({ request: { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: 144 }, seq: 0x1000, key });
  const request = requestDigestInput(requestFrame);
  const responseFrame = encodeResponse({ response: { response: "okData", data: record }, request, key });
  const gcm = createSecuritySuite("aes-gcm", { key: new Uint8Array(16).fill(9), meterId: 4242 });
  const gcmRequest = gcm.encodeRequest({ request: { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: 144 }, seq: 1 });
  const gcmResponse = gcm.encodeResponse({ response: { response: "okData", data: record }, exchange: gcm.decodeRequest(gcmRequest.frame).exchange, seq: 1 });
  let sink = 0;
  const oma = () => {
    const r = decodeResponse(responseFrame, { key, request });
    if (r.response.response !== "okData" || r.digestValid !== true) throw new Error("codec bench: digest did not verify");
    sink += decodeReadingRecord(r.response.data).activeEnergyImportWh;
  };
  const aes = () => {
    const r = gcm.decodeResponse(gcmResponse, gcmRequest.exchange);
    if (r.response.response !== "okData") throw new Error("codec bench: unexpected response");
    sink += decodeReadingRecord(r.response.data).activeEnergyImportWh;
  };
  timeRound(oma, 200); // JIT warm-up
  timeRound(aes, 200);
  const omaRates: number[] = [];
  const aesRates: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    omaRates.push(timeRound(oma, opts.roundMs));
    aesRates.push(timeRound(aes, opts.roundMs));
  }
  if (sink === 0) throw new Error("codec bench: nothing decoded");
  omaRates.sort((a, b) => a - b);
  aesRates.sort((a, b) => a - b);
  return {
    perSecond: Math.round(percentile(omaRates, 50)),
    best: Math.round(omaRates[omaRates.length - 1]!),
    rounds: opts.rounds,
    aesGcmPerSecond: Math.round(percentile(aesRates, 50)),
  };
}
