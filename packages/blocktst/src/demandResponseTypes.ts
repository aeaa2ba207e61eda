// Types and bounds of the DemandResponse client (demandResponse.ts): what each call takes and returns.
import type { Deployments, TxReceipt, TxSender } from "@sidegrid/chain";
import type { Rule } from "@sidegrid/dsm";

/** The contract's bounds, checked by the client before sending. */
export const DEMAND_RESPONSE_LIMITS = {
  /** Prices per publication (96 quarter-hours = one day). */
  maxSlots: 96,
  minSlotSeconds: 60,
  maxSlotSeconds: 3600,
  /** Longest event: 24 h. */
  maxEventSeconds: 86_400,
  /** Rules per household. */
  maxRules: 32,
  /** Households per settleDayAhead (one call per day). */
  maxDayAheadHouseholds: 400,
  /** Households per payEfficiencyRewards call (an event's rewards may take several calls). */
  maxEfficiencyHouseholds: 250,
} as const;

/** A DemandResponse role, by name (see ROLES for the identifiers). */
export type DemandResponseRole = "DEFAULT_ADMIN" | "PRICE_ORACLE" | "DR_OPERATOR" | "REWARDER";

/** A unix time in seconds (uint64). */
export type Seconds = bigint | number;

export interface DemandResponseClientParameters {
  /** Signs and sends this client's transactions (its address is "me"). */
  sender: TxSender;
  /** The DemandResponse contract. */
  address: string;
  /** SGT; read from the contract when omitted (needed only by `fund` with `approve`). */
  token?: string;
}

export interface PublishPricesParameters {
  /** Start of the first slot, unix seconds. */
  firstSlotStart: Seconds;
  /** Slot length, 60..3600 s. */
  slotSeconds: number;
  /** Thousandths of a cent per kWh per slot (int32, may be negative), 1..96 of them. */
  pricesMilli: readonly number[];
}

/** One price publication: its prices hold from `firstSlotStart`, one per `slotSeconds`. */
export interface PricePublication {
  version: bigint;
  firstSlotStart: bigint;
  slotSeconds: number;
  pricesMilli: number[];
}

export interface PublishPricesReturnType extends PricePublication {
  receipt: TxReceipt;
}

/** Where a decoded log came from. */
export interface LogLocation {
  blockNumber: number;
  transactionHash: string;
}

export type PricePublicationLog = PricePublication & LogLocation;

export interface PriceAtReturnType {
  /** False when no publication covers the time. */
  known: boolean;
  /** Thousandths of a cent per kWh (0 when unknown). */
  priceMilli: number;
}

export interface AnnounceEventParameters {
  /** Unix seconds, inclusive (may be past: an event may be announced while it runs). */
  start: Seconds;
  /** Unix seconds, exclusive; must be in the future, at most 24 h after start. */
  end: Seconds;
  /** The reduction asked of each participating household, W (uint32, > 0). */
  reduceWatts: number;
  /** SGT wei per kWh saved. */
  rewardPerKwhWei: bigint;
}

/** A demand-response event. */
export interface DemandResponseEvent {
  eventId: bigint;
  start: bigint;
  end: bigint;
  reduceWatts: number;
  rewardPerKwhWei: bigint;
  cancelled: boolean;
}

export interface AnnounceEventReturnType {
  eventId: bigint;
  event: DemandResponseEvent;
  receipt: TxReceipt;
}

/** An announcement found in the logs; `cancelled` when the same range also holds its cancellation. */
export type DemandResponseEventLog = DemandResponseEvent & LogLocation;

export interface LogRangeParameters {
  fromBlock?: number;
  toBlock?: number | "latest";
}

/** A rule as the client takes it: a dsm Rule (encoded with encodeRule) or its 32-byte word. */
export type RuleInput = Rule | string | Uint8Array;

export interface SetRulesReturnType {
  version: bigint;
  /** The stored words, 0x-hex. */
  rules: string[];
  receipt: TxReceipt;
}

/** A household's stored rules. */
export interface HouseholdRules {
  household: string;
  /** How many times she set them (0 = never). */
  version: bigint;
  /** The stored words, 0x-hex, as the contract returns them. */
  rules: string[];
  /** Each word decoded with the dsm package's decodeRule; null for a word it does not accept. */
  decoded: (Rule | null)[];
}

export interface HouseholdAmount {
  household: string;
  /** SGT wei. */
  amount: bigint;
}

export interface SettleDayAheadParameters {
  /** Start of the settled day, unix seconds (one settlement per value). */
  dayStart: Seconds;
  /** Merkle root of the day's schedule (non-zero). */
  scheduleRoot: string;
  /** Peak-to-average ratio before and after scheduling, in thousandths (uint32). */
  parBeforeMilli: number;
  parAfterMilli: number;
  /** One positive reward per household; the client sorts them by address as the contract requires. */
  rewards: readonly HouseholdAmount[];
}

export interface SettleDayAheadReturnType {
  dayStart: bigint;
  total: bigint;
  /** What each household received, in the order paid (ascending address). */
  paid: HouseholdAmount[];
  receipt: TxReceipt;
}

/** What the settlement of a day recorded. */
export interface DaySettlement {
  dayStart: bigint;
  scheduleRoot: string;
  total: bigint;
  parBeforeMilli: number;
  parAfterMilli: number;
  households: number;
}

export interface HouseholdSavings {
  household: string;
  /** Wh saved during the event (uint64, > 0). */
  savedWh: bigint;
}

export interface PayEfficiencyRewardsParameters {
  eventId: bigint;
  /** Merkle root of the anchored readings the savings were computed from (non-zero). */
  evidenceRoot: string;
  savings: readonly HouseholdSavings[];
}

/** One efficiency payment. */
export interface EfficiencyReward {
  eventId: bigint;
  household: string;
  savedWh: bigint;
  amount: bigint;
  evidenceRoot: string;
}

export interface PayEfficiencyRewardsReturnType {
  eventId: bigint;
  total: bigint;
  rewards: EfficiencyReward[];
  receipt: TxReceipt;
}

export interface EfficiencyRewardOfReturnType {
  paid: boolean;
  savedWh: bigint;
  amount: bigint;
}

/** A reward found in the logs. */
export type RewardLog =
  | ({ kind: "dayAhead"; dayStart: bigint; household: string; amount: bigint } & LogLocation)
  | ({ kind: "efficiency" } & EfficiencyReward & LogLocation);

export interface RewardsParameters extends LogRangeParameters {
  /** Only this household's rewards. */
  household?: string;
}

export interface FundOptions {
  /** Approve the contract for exactly `amount` first. */
  approve?: boolean;
}

export interface DeployDemandResponseParameters {
  /** The deployer; admin and holder of every role unless told otherwise. */
  sender: TxSender;
  /** SGT (BlockTstAddresses.token). */
  token: string;
  /** Also granted DEFAULT_ADMIN_ROLE (the deployer keeps its own until it renounces it). */
  admin?: string;
  /** PRICE_ORACLE_ROLE holder (default: the deployer). */
  priceOracle?: string;
  /** DR_OPERATOR_ROLE holder, the utility (default: the deployer). */
  operator?: string;
  /** REWARDER_ROLE holder (default: the deployer). */
  rewarder?: string;
  /**
   * How far the meters' clock may run behind the chain's (seconds, ≤ 7 days; default 0): events may
   * be announced (cancelled) until their end (start) plus this lag. Only for simulated fleets.
   */
  clockLagSeconds?: number;
  /** Deploy idempotently, recording the address under "DemandResponse"; without it, always deploys. */
  deployments?: Deployments;
  artifactsDir?: string;
}

export interface DeployDemandResponseReturnType {
  address: string;
  token: string;
  /** False when an identical recorded deployment was reused. */
  deployed: boolean;
  /** Role grants this call sent. */
  configured: number;
}
