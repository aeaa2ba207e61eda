// The shape of `sidegrid bench`'s report: written as <timestamp>.json, rendered to markdown and SVG.

import type { LatencySummary } from "@sidegrid/meter-gateway";

/** Nearest-rank percentiles of latency samples, in ms (rounded to 0.1). */
export type LatencyStats = LatencySummary;

/** Storing `readings` records one way, timed from the first send to the last receipt. */
export interface StoreTiming {
  seconds: number;
  readingsPerSecond: number;
  txs: number;
  gasUsed: number;
}

/** One N of Figure 9, measured three ways on the same chain in the same run. */
export interface Figure9Row {
  n: number;
  /** Baseline as the paper's client sent it: one transaction per record, each awaited. */
  baselineSequential: StoreTiming;
  /** Baseline pipelined (all sent in nonce order, receipts awaited together): the baseline (a). */
  baseline: StoreTiming;
  /** Sidegrid's ingest path (b): meters → gateway → anchorBatch. */
  sidegrid: StoreTiming;
  /** (b) over (a): sidegrid.readingsPerSecond / baseline.readingsPerSecond = baseline.seconds / sidegrid.seconds. */
  speedup: number;
  /** The same against the one-by-one baseline. */
  speedupVsSequential: number;
  /** The paper's Figure 9 value where its text gives one (seconds), else null. */
  paperSeconds: number | null;
}

export interface Figure9Section {
  rows: Figure9Row[];
  /** Meters the Sidegrid side reads (N/meters records each). */
  meters: number;
  payloadBytes: number;
  notes: string[];
}

export interface DeployGasRow {
  contract: string;
  chain: string;
  gas: number;
  note?: string;
}

export interface OperationGasRow {
  operation: string;
  contract: string;
  gas: number;
  /** What the figure is per (transaction, record, message). */
  per: string;
  note?: string;
}

/** A row of the paper's Table 4 or 5 with what we measured for the same job. */
export interface PaperGasRow {
  table: 4 | 5;
  paper: string;
  paperEth: number;
  /** paperEth at the gas price that maps the paper's setTransLog onto our baseline's gas. */
  paperGasEstimate: number;
  ours: string;
  oursGas: number;
}

export interface GasSection {
  deploy: DeployGasRow[];
  operations: OperationGasRow[];
  paper: PaperGasRow[];
  /** Gas price (gwei) implied by the paper's setTransLog in ETH and our baseline's setTransLog gas. */
  impliedGweiPerGas: number;
  notes: string[];
}

/** Grant → plaintext through the federation's key release. */
export interface KeyReleaseSection {
  reads: number;
  readingsPerRead: number;
  keysPerRead: number;
  allProven: boolean;
  grantToPlaintextMs: LatencyStats;
  releaseMs: LatencyStats;
  openMs: LatencyStats;
  notes: string[];
}

export interface EndToEndSection {
  meters: number;
  targetRate: number;
  seconds: number;
  warmup: number;
  anchoredPerSecond: number;
  storedPerSecond: number;
  pollsPerSecond: number;
  latencyMs: LatencyStats;
  /** End of the reading's interval to the gateway's read: how long backpressure left it at its meter. */
  heldAtMeterMs?: LatencyStats;
  /** Polls deferred because anchoring was behind. */
  deferredPolls?: number;
  /** Anchored readings per second in each one-second sample of the window: min / median / max. */
  anchoredPerSecondSpread?: { rounds: number; min: number; median: number; max: number };
  gasPerRecord: number;
  recordsPerTx: number;
  pollFailures: number;
  notes: string[];
}

export interface RevocationSection {
  /** Revocation on BlockPRI (transaction sent) until BlockSEC's PolicyMirror refuses. */
  revokeMs: LatencyStats;
  /** The grant back, same path. */
  grantMs: LatencyStats;
  notes: string[];
}

/** One relay measurement: `messages` preference messages BlockPRI → BlockSEC through the members. */
export interface RelayRun {
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  /** Sending the load on BlockPRI (0 for a backlog sent before the clock started). */
  appSendSeconds: number;
  deliverTxs: number;
  meanBatch: number;
  gasPerMessage: number;
}

export interface RelaySection {
  /** The members already running while the load is sent: bounded by how fast the load is sent. */
  live: RelayRun;
  /** The load waits on chain, the members are restarted; timed from spawning them (the median round). */
  backlog: RelayRun;
  /** msg/s of every backlog round, in the order run. */
  backlogRounds?: number[];
  /** Spawning the three members with nothing to catch up until all answer /health: the start-up share of `backlog`. */
  idleRestartSeconds: number;
  notes: string[];
}

export interface ApiSection {
  records: number;
  responseBytes: number;
  queryMs: LatencyStats;
  accessRequestMs: LatencyStats;
  notes: string[];
}

export interface CodecSection {
  /** decodeResponse (OMA digest verified) + decodeReadingRecord per second, one core: median of rounds. */
  perSecond: number;
  best: number;
  rounds: number;
  /** Sidegrid's aes-gcm suite, same record. */
  aesGcmPerSecond: number;
}

export interface Goal {
  id: string;
  figure: string;
  /** The issue the goal comes from. */
  issue: number;
  goal: string;
  comparator: "<=" | ">=";
  target: number;
  value: number;
  unit: string;
  met: boolean;
  note?: string;
}

export interface BenchReport {
  version: 1;
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  machine: { platform: string; arch: string; cpus: number; cpuModel: string; node: string };
  chains: { blockpri: number; blocksec: number; blocktst: number };
  figure9: Figure9Section;
  gas: GasSection;
  endToEnd: EndToEndSection;
  revocation: RevocationSection;
  relay: RelaySection;
  api: ApiSection;
  keyRelease: KeyReleaseSection;
  codec: CodecSection;
  goals: Goal[];
  /** The files this run wrote. */
  files: { json: string; markdown: string; svg: string };
}

export interface RunBenchOptions {
  /** A reduced set in under two minutes. */
  quick: boolean;
  /** Where <timestamp>.{json,md,svg} and latest.{json,md,svg} go. */
  outDir: string;
  /** Every figure is printed through this as it is measured. */
  log: (line: string) => void;
}
