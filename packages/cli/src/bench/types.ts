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

/** Min / median / max of one figure over repeated rounds (stats.ts's spread). */
export interface RoundSpread {
  rounds: number;
  min: number;
  median: number;
  max: number;
}

/** Households' rules (issue #16) evaluated by @sidegrid/dsm alone, one core. */
export interface RuleThroughput {
  households: number;
  rulesPerHousehold: number;
  /** Slots of the day-ahead price the reports cycle through (each household at a different one). */
  slots: number;
  /** evaluateRules on rules decoded beforehand: evaluations (one household's list at one report) per second. */
  evaluatePerSecond: RoundSpread;
  /** decodeRule of each of the household's bytes32 words (0x hex, as a contract read returns them), then evaluateRules. */
  decodeAndEvaluatePerSecond: RoundSpread;
  /** Device decisions in one round over every household (the same in every round). */
  decisionsPerRound: number;
}

/** The gateway's DemandResponseAgent.onReport with every chain read served from memory. */
export interface AgentThroughput {
  meters: number;
  /** Measured consecutive 15-minute reports of every meter (one round each), each deciding the interval after it. */
  rounds: number;
  /** Wall-clock minute of the first interval the measured reports decide (the rules' DR event runs 18:00–19:00). */
  firstIntervalMinute: number;
  reportsPerSecond: RoundSpread;
  /** Appliance commands sent in each round (only a changed decision is sent again). */
  commandsByRound: number[];
}

/** One day-ahead DSM run: @sidegrid/dsm's best-response game on synthetic households. */
export interface DayAheadRun {
  households: number;
  flexibleLoads: number;
  seed: number;
  /** Wall-clock minute at which slot 0 starts, and the slot length. */
  startMinute: number;
  slotMinutes: number;
  converged: boolean;
  iterations: number;
  moves: number;
  parBefore: number;
  parAfter: number;
  /** 100 × (1 − after / before). */
  parReductionPercent: number;
  peakKwBefore: number;
  peakKwAfter: number;
  averageKw: number;
  /** The day's grid cost (the sum of the bills), in the pricing's unit (cents). */
  totalCostBefore: number;
  totalCostAfter: number;
  /** bestResponseGame alone (the population generated beforehand), ms per round. */
  gameMs: RoundSpread;
  /** The grid's load per slot, kW: every load at its earliest start, and at the equilibrium. */
  loadBeforeKw: number[];
  loadAfterKw: number[];
}

export interface DemandResponseGasRow {
  operation: string;
  gas: number;
  /** Households the transaction pays, where it is per household. */
  households?: number;
  gasPerHousehold?: number;
  note?: string;
}

/** Demand response (issue #16): rule throughput, the day-ahead DSM game and the DemandResponse contract's gas. */
export interface DemandResponseSection {
  rules: RuleThroughput;
  agent: AgentThroughput;
  dayAhead: DayAheadRun[];
  /** DemandResponse's deployment on BlockTST. */
  deployGas: number;
  gas: DemandResponseGasRow[];
  notes: string[];
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
  demandResponse: DemandResponseSection;
  goals: Goal[];
  /** The files this run wrote: `svg` is Figure 9, `dayAheadSvg` the day-ahead DSM load before/after. */
  files: { json: string; markdown: string; svg: string; dayAheadSvg: string };
}

export interface RunBenchOptions {
  /** A reduced set in under two minutes. */
  quick: boolean;
  /** Where <timestamp>.{json,md,svg} and latest.{json,md,svg} go. */
  outDir: string;
  /** Every figure is printed through this as it is measured. */
  log: (line: string) => void;
}
