// Sidegrid's side of the seed paper's Figure 9: N readings of 144 bytes stored on chain, through
// the gateway's own components. A fleet of simulated Pi meters (in this process, one addressed TCP
// port, manual clock) logs N/meters 15-minute records each; a run then polls every meter over
// OSGP/AES-GCM (pollMeter: decode, authenticate, tamper checks, consent from BlockSEC's
// PolicyMirror, encryption to the consumer, LevelDB outbox, acknowledgement) and the Anchorer sends
// the outbox to MeterDataLedger.anchorBatch through BlockSecLedger, until every reading is
// anchored. Nothing is shortcut: a run is what a gateway does with the next N readings of its
// fleet. The state (connections, policy cache, store) stays warm between runs, as in a running
// gateway; `startIngestBench` does one untimed warm-up round.
import fs from "node:fs";
import path from "node:path";
import { BlockSecClient, KeyCustodyClient } from "@sidegrid/blocksec";
import { TxSender } from "@sidegrid/chain";
import { AdapterRegistry, type MeterAdapter } from "../adapter";
import { Anchorer } from "../anchorer";
import { BlockSecLedger, BlockSecPolicySource } from "../blocksec";
import { SimClock } from "@sidegrid/pi-meter";
import { InvalidArgumentError, LedgerError } from "../errors";
import { FastJsonRpcProvider, FastWallet } from "../fastRpc";
import { IngestPipeline } from "../ingest";
import { OSGP_TCP_PROTOCOL, osgpTcpAdapterFactory } from "../osgpAdapter";
import { CachedPolicy } from "../policy";
import { pollMeter } from "../poll";
import { GridAggregator } from "../realtime";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { GatewayStore } from "../store";
import { EpochKeys, chainEpochKeySource } from "../epochKeys";
import { KeyPublisher } from "../keyPublisher";
import type { GatewayConfig } from "../config";

const QUARTER_HOUR = 900_000;
const RECORDS_PER_READ = 128;

export interface StartIngestBenchParameters {
  /** BlockSEC and the gateway account (GATEWAY_ROLE on the MeterDataLedger for some utility). */
  blocksec: { rpcUrl: string; chainId: number; addresses: GatewayConfig["blocksec"]["addresses"]; gatewayKey: string };
  /**
   * The fleet: meters firstMeterId .. firstMeterId + meters − 1, each bound on the PolicyMirror to a
   * consumer who permits the gateway's utility to store QUARTER_HOURLY consumption.
   */
  firstMeterId: number;
  meters: number;
  /** Work directory for the gateway store (created; left for the caller to remove). */
  dir: string;
  seed?: string;
  /** Unread records each meter can hold (default 512). */
  capacity?: number;
}

/**
 * anvil (--prune-history) now and then refuses an eth_call while it mines a block; a poll whose
 * consent lookup hit that is simply polled again, as the gateway's queue would retry it.
 */
async function withRetry<T>(f: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** One timed run: N readings from the meters to anchored on BlockSEC. */
export interface IngestBenchRun {
  readings: number;
  meters: number;
  seconds: number;
  readingsPerSecond: number;
  /** anchorBatch transactions and their gas. */
  txs: number;
  gasUsed: number;
  gasPerReading: number;
}

export interface IngestBench {
  /** The utility the gateway account stores for. */
  readonly utility: string;
  /** Lets each meter log `readings / meters` new records, then times their ingest and anchoring. */
  run(readings: number): Promise<IngestBenchRun>;
  stop(): Promise<void>;
}

/**
 * Starts the fleet and the gateway components for Figure 9's Sidegrid column.
 *
 * @example
 * const bench = await startIngestBench({ blocksec, firstMeterId: 1_000_001, meters: 10, dir });
 * const r = await bench.run(1000); // { seconds, readingsPerSecond, txs, gasPerReading, ... }
 * await bench.stop();
 */
export async function startIngestBench(p: StartIngestBenchParameters): Promise<IngestBench> {
  if (!Number.isInteger(p.meters) || p.meters < 1) throw new InvalidArgumentError("meters", p.meters, "a positive integer");
  fs.mkdirSync(p.dir, { recursive: true });
  const clock = new SimClock({ simStartMs: Math.floor(Date.now() / QUARTER_HOUR) * QUARTER_HOUR, manual: true });
  const closers: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    closers.length = 0;
  };
  try {
    const sim: MeterSimulator = await startMeterSimulator({
      count: p.meters,
      firstMeterId: p.firstMeterId,
      seed: p.seed ?? "figure9",
      clock,
      installedAtMs: clock.now(),
      capacity: p.capacity ?? 512,
      maxRecordsPerRead: RECORDS_PER_READ,
    });
    closers.push(() => sim.close());
    const store = await GatewayStore.open(path.join(p.dir, "db"));
    closers.push(() => store.close());
    // The gateway's own transport: anchor transactions carry hundreds of kB (fastRpc.ts).
    const provider = new FastJsonRpcProvider(p.blocksec.rpcUrl, p.blocksec.chainId);
    closers.push(() => provider.destroy());
    const sender = await TxSender.create(new FastWallet(p.blocksec.gatewayKey, provider), provider, { network: "blocksec", receiptTimeoutMs: 60_000 });
    const sec = new BlockSecClient({ sender, addresses: p.blocksec.addresses });
    const utility = await sec.gatewayUtility(sender.address);
    if (!utility) throw new LedgerError(`gateway ${sender.address} has no utility on the MeterDataLedger (grantGateway first)`);
    const policySource = new BlockSecPolicySource(sec, { pollMs: 500 });
    const policy = new CachedPolicy(policySource, { utility });
    closers.push(() => {
      policy.close();
      policySource.close();
    });
    // Epoch keys in federation custody, as a gateway configured with KeyCustody seals (payload v2).
    const custodyAddress = p.blocksec.addresses.keyCustody;
    const custody = custodyAddress ? new KeyCustodyClient({ address: custodyAddress, provider, sender }) : undefined;
    const epochKeys = custody ? new EpochKeys({ source: chainEpochKeySource(custody, store) }) : undefined;
    const pipeline = new IngestPipeline({ store, policy, clock, grid: new GridAggregator(), ...(epochKeys ? { epochKeys } : {}) });
    const anchorer = new Anchorer({ store, ledger: new BlockSecLedger(sec), policy, maxBatch: 5000, ...(custody ? { keys: new KeyPublisher({ store, custody }) } : {}) });
    closers.push(() => anchorer.stop());
    const registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey: sim.masterKey, maxRecordsPerRead: RECORDS_PER_READ })]);
    const adapters: MeterAdapter[] = [];
    for (let i = 0; i < p.meters; i++) {
      const meterId = p.firstMeterId + i;
      adapters.push(
        registry.create(
          { meterId, protocol: OSGP_TCP_PROTOCOL, host: sim.host, port: sim.port, addressed: true },
          { initialState: await store.adapterState(meterId), persist: (s) => store.putAdapterState(meterId, s), timeoutMs: 5000, clock },
        ),
      );
    }
    closers.push(async () => {
      for (const a of adapters) await a.close();
    });

    const round = async (perMeter: number): Promise<IngestBenchRun> => {
      clock.advance(perMeter * QUARTER_HOUR);
      const before = { anchored: anchorer.stats.anchored, txs: anchorer.stats.txs, gas: anchorer.stats.gasUsed };
      const t0 = performance.now();
      const polls = await Promise.all(
        adapters.map((adapter) => withRetry(() => pollMeter({ adapter, pipeline, clock, maxRecords: RECORDS_PER_READ, maxPages: Math.ceil(perMeter / RECORDS_PER_READ) + 1 }))),
      );
      if (!(await anchorer.drain(120_000))) throw new LedgerError(`the anchorer did not drain the outbox (${store.pendingCount} pending, last error: ${anchorer.stats.lastError})`);
      const seconds = (performance.now() - t0) / 1000;
      const readings = perMeter * p.meters;
      const stored = polls.reduce((n, r) => n + r.outcome.stored, 0);
      const anchored = anchorer.stats.anchored - before.anchored;
      // Every reading must have been stored and anchored, or the figure would flatter Sidegrid.
      if (stored !== readings || anchored !== readings) {
        throw new LedgerError(`ingest bench: ${readings} readings, ${stored} stored, ${anchored} anchored (consent missing on the mirror?)`);
      }
      const gasUsed = Number(anchorer.stats.gasUsed - before.gas);
      return {
        readings,
        meters: p.meters,
        seconds: Math.round(seconds * 1000) / 1000,
        readingsPerSecond: Math.round(readings / seconds),
        txs: anchorer.stats.txs - before.txs,
        gasUsed,
        gasPerReading: Math.round(gasUsed / readings),
      };
    };
    // Warm-up: connections, meter identities, the policy cache, the ledger's gas-per-record estimate.
    await round(1);
    return {
      utility,
      async run(readings: number) {
        if (!Number.isInteger(readings) || readings < p.meters || readings % p.meters !== 0) {
          throw new InvalidArgumentError("readings", readings, `a positive multiple of the ${p.meters} meters`);
        }
        return round(readings / p.meters);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
