
// These mirror SidegridMessages.sol (in @sidegrid/chain) and the BlockSEC interfaces. BlockPRI's
// client has the same Category/Resolution; they are repeated here because the chain packages do
// not depend on one another.

/** SidegridMessages.Category. */
export const Category = { CONSUMPTION: 0, TRADES: 1 } as const;
export type CategoryName = keyof typeof Category;

/** SidegridMessages.Resolution, coarse to fine. */
export const Resolution = { NONE: 0, MONTHLY: 1, DAILY: 2, HOURLY: 3, QUARTER_HOURLY: 4 } as const;
export type ResolutionName = keyof typeof Resolution;

/** IAccessLedger.AccessCategory: what an access request is for. */
export const AccessCategory = { CONSUMPTION: 0, TRADES: 1, ACCESS_LOG: 2, CURRENT_CONSUMPTION: 3 } as const;
export type AccessCategoryName = keyof typeof AccessCategory;

/** IAccessLedger.DenyReason (NONE = granted). */
export const DenyReason = { NONE: 0, NOT_A_DISTRIBUTOR: 1, NOT_PERMITTED: 2, INVALID_RANGE: 3, NOT_AN_AUDITOR: 4 } as const;
export type DenyReasonName = keyof typeof DenyReason;

/** IPolicyMirror.StorageDecision: why a reading may not be stored (PERMITTED = it may). */
export const StorageDecision = { PERMITTED: 0, METER_NOT_BOUND: 1, NOT_A_DISTRIBUTOR: 2, NOT_PERMITTED: 3 } as const;
export type StorageDecisionName = keyof typeof StorageDecision;


/** One meter reading as anchored: the logical record a Merkle leaf commits to. */
export interface MeterRecord {
  consumer: string;
  /** bytes32. */
  meterId: string;
  /** uint64, unique per meter. */
  sequence: bigint;
  /** Unix seconds the reading's period starts. */
  periodStart: number;
  resolution: ResolutionName;
  category: CategoryName;
  /** The (encrypted) reading, 0x hex; at most 65,535 bytes. */
  payload: string;
}

/** A settled trade as relayed from BlockTST (SidegridMessages.Trade). */
export interface Trade {
  tradeId: bigint;
  buyer: string;
  seller: string;
  kind: "CP" | "CC" | "AUCTION";
  quantityWh: bigint;
  amount: bigint;
  unitPrice: bigint;
  settledAt: number;
}

/** One entry of a consumer's access chain, as the AccessLedger emits and hashes it. */
export interface AccessEntry {
  consumer: string;
  index: number;
  requester: string;
  category: AccessCategoryName;
  resolution: ResolutionName;
  /** Unix seconds. */
  from: number;
  to: number;
  granted: boolean;
  /** NONE when granted. */
  reason: DenyReasonName;
  blockNumber: number;
  /** Unix seconds of the block. */
  timestamp: number;
  /** bytes32 X25519 key the grant's key shares go to (zero for the paper's calls). */
  requesterKey: string;
  prevHash: string;
  entryHash: string;
  /** Where the entry was emitted (absent on copies that do not carry it). */
  transactionHash?: string;
  logIndex?: number;
}
