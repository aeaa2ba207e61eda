// Latency of a utility's one-day query against the gateway's HTTP API: one consumer's meter with a
// day of 15-minute records (96), ingested and anchored by a real gateway; the utility asks
// BlockSEC's AccessLedger for that day through the API (prepare, sign, relay: one transaction each)
// and then fetches the granted day again and again, every request signed with its wallet.
import fs from "node:fs";
import path from "node:path";
import { Wallet } from "ethers";
import { signRequest } from "../api/auth";
import { SimClock } from "@sidegrid/pi-meter";
import { GatewayError, LedgerError } from "../errors";
import { startGateway, type Gateway } from "../gateway";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { summarize, type LatencySummary } from "./stats";
import type { GatewayConfig } from "../config";

const DAY = 86_400_000;

export interface RunApiQueryBenchParameters {
  blocksec: { rpcUrl: string; chainId: number; addresses: GatewayConfig["blocksec"]["addresses"]; gatewayKey: string; startBlock?: number };
  redisUrl: string;
  /** Work directory (gateway LevelDB); left for the caller to remove. */
  dir: string;
  /** The consumer's meter: bound on the mirror, QUARTER_HOURLY consumption permitted to the gateway's utility. */
  meterId: number;
  /** The utility's key: a distributor on BlockSEC with ETH for its access requests. */
  utilityKey: string;
  /** Timed one-day queries of the granted day (default 200). */
  queries?: number;
  /** Timed access requests (prepare, sign, relay: each a BlockSEC transaction; default 10). */
  accessRequests?: number;
  seed?: string;
  log?: (line: string) => void;
}

export interface RunApiQueryBenchReturnType {
  /** Records in the day (96 for 15-minute records). */
  records: number;
  /** Bytes of one query's JSON response. */
  responseBytes: number;
  /** GET /v1/access/{consumer}/{index}/readings, signed, for the whole day: request sent to body parsed. */
  queryMs: LatencySummary;
  /** POST /v1/access-requests, sign the returned transaction, POST /v1/access-requests/relay: the whole round. */
  accessRequestMs: LatencySummary;
}

async function callApi(gw: Gateway, signer: Wallet, method: "GET" | "POST", p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; bytes: number }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = await signRequest({ signer, method, path: p, ...(text !== undefined ? { body: text } : {}) });
  if (text !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(gw.url + p, { method, headers, ...(text !== undefined ? { body: text } : {}) });
  const raw = await res.text();
  return { status: res.status, json: JSON.parse(raw) as Record<string, unknown>, bytes: Buffer.byteLength(raw) };
}

/**
 * Runs the API bench and stops everything it started (simulator, gateway, its BullMQ queue).
 *
 * @example
 * const r = await runApiQueryBench({ blocksec, redisUrl, dir, meterId: 5_000_001, utilityKey });
 * console.log(r.queryMs.p99);
 */
export async function runApiQueryBench(p: RunApiQueryBenchParameters): Promise<RunApiQueryBenchReturnType> {
  const log = p.log ?? (() => undefined);
  fs.mkdirSync(p.dir, { recursive: true });
  // Real time, so that the requested day (Unix seconds on chain) is the day the records cover.
  const now = Math.floor(Date.now() / 900_000) * 900_000;
  const clock = new SimClock({ simStartMs: now, manual: true });
  let sim: MeterSimulator | undefined;
  let gw: Gateway | undefined;
  try {
    sim = await startMeterSimulator({ count: 1, firstMeterId: p.meterId, seed: p.seed ?? "api", clock, installedAtMs: now - DAY, maxRecordsPerRead: 128 });
    gw = await startGateway({
      clock,
      config: {
        dataDir: path.join(p.dir, "gw"),
        redisUrl: p.redisUrl,
        queuePrefix: `bench-api-${process.pid}-${Date.now()}`,
        blocksec: { rpcUrl: p.blocksec.rpcUrl, chainId: p.blocksec.chainId, addresses: p.blocksec.addresses, privateKey: p.blocksec.gatewayKey, ...(p.blocksec.startBlock !== undefined ? { startBlock: p.blocksec.startBlock } : {}) },
        masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
        simulator: { host: sim.host, port: sim.port, count: 1, firstMeterId: p.meterId },
        // The queue would poll hourly; the bench reads the day once with pollNow.
        poll: { intervalMs: 3_600_000, maxRecords: 128, maxPages: 4 },
        policy: { pollMs: 500 },
        anchor: { flushIntervalMs: 50 },
        http: { portal: false },
      },
    });
    const g = gw;
    // One retry: anvil now and then refuses an eth_call (the consent lookup) while it mines.
    const { outcome } = await g.pollNow(p.meterId).catch(() => g.pollNow(p.meterId));
    if (!(await g.anchorer.drain(60_000))) throw new LedgerError("the day's records were not anchored");
    const binding = await g.policy.bindingOfMeter(p.meterId);
    if (!binding || outcome.stored === 0) throw new LedgerError(`meter ${p.meterId}: no consumer with consent on the mirror (stored ${outcome.stored})`);
    log(`api bench: ${outcome.stored} records of meter ${p.meterId} anchored for consumer ${binding.consumer}`);

    const utility = new Wallet(p.utilityKey);
    const request = { consumer: binding.consumer, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: Math.floor((now - DAY) / 1000), to: Math.floor(now / 1000) };
    const grant = async () => {
      const prep = await callApi(g, utility, "POST", "/v1/access-requests", request);
      if (prep.status !== 200) throw new GatewayError("LEDGER_FAILED", `access request preparation answered ${prep.status}`, { details: JSON.stringify(prep.json) });
      const signedTx = await utility.signTransaction(prep.json.tx as Parameters<Wallet["signTransaction"]>[0]);
      const relayed = await callApi(g, utility, "POST", "/v1/access-requests/relay", { signedTx });
      if (relayed.status !== 200) throw new GatewayError("LEDGER_FAILED", `access request answered ${relayed.status}`, { details: JSON.stringify(relayed.json) });
      return relayed.json as { entry: { index: number }; readings: unknown[] };
    };
    const accessSamples: number[] = [];
    let entryIndex = -1;
    for (let i = 0; i < (p.accessRequests ?? 10); i++) {
      const t0 = performance.now();
      const r = await grant();
      accessSamples.push(performance.now() - t0);
      entryIndex = r.entry.index;
    }
    if (entryIndex < 0) entryIndex = (await grant()).entry.index;

    const queryPath = `/v1/access/${binding.consumer}/${entryIndex}/readings`;
    const querySamples: number[] = [];
    let records = 0;
    let responseBytes = 0;
    for (let i = 0; i < (p.queries ?? 200); i++) {
      // Signing is the client's work, not the API's: it happens before the clock starts.
      const headers = await signRequest({ signer: utility, method: "GET", path: queryPath });
      const t0 = performance.now();
      const res = await fetch(g.url + queryPath, { headers });
      const raw = await res.text();
      querySamples.push(performance.now() - t0);
      if (res.status !== 200) throw new GatewayError("LEDGER_FAILED", `one-day query answered ${res.status}`, { details: raw.slice(0, 500) });
      records = (JSON.parse(raw) as { readings: unknown[] }).readings.length;
      responseBytes = Buffer.byteLength(raw);
    }
    if (records !== outcome.stored) throw new LedgerError(`the one-day query returned ${records} of ${outcome.stored} records`);
    return { records, responseBytes, queryMs: summarize(querySamples.map(round1)), accessRequestMs: summarize(accessSamples.map(round1)) };
  } finally {
    if (gw) {
      await gw.poller.obliterate().catch(() => undefined);
      await gw.stop().catch(() => undefined);
    }
    await sim?.close();
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
