import { id } from "ethers";

/** 1.0 in the contracts' 18-decimal fixed point (and 1 SGT). */
export const ONE = 10n ** 18n;
/** Quantities are in Wh, prices per kWh: amount = price × Wh / 1000. */
export const WH_PER_UNIT = 1000n;
/** Length of an auction hour and of the default demand/generation interval, in seconds. */
export const HOUR_SECONDS = 3600;

/** Role identifiers (keccak256 of the name), as the contracts define them. */
export const ROLES = {
  DEFAULT_ADMIN: "0x0000000000000000000000000000000000000000000000000000000000000000",
  MINTER: id("MINTER_ROLE"),
  FEDERATION: id("FEDERATION_ROLE"),
  DISTRIBUTOR: id("DISTRIBUTOR_ROLE"),
  ORACLE: id("ORACLE_ROLE"),
  AUCTION: id("AUCTION_ROLE"),
  INSTALLER: id("INSTALLER_ROLE"),
  REGULATOR: id("REGULATOR_ROLE"),
  /** DemandResponse: publishes day-ahead prices. */
  PRICE_ORACLE: id("PRICE_ORACLE_ROLE"),
  /** DemandResponse: the utility, announces and cancels demand-response events. */
  DR_OPERATOR: id("DR_OPERATOR_ROLE"),
  /** DemandResponse: settles day-ahead schedules and pays efficiency rewards from the pool. */
  REWARDER: id("REWARDER_ROLE"),
} as const;

/** SidegridMessages.TradeKind. */
export const TradeKind = { CP: 0, CC: 1, AUCTION: 2 } as const;
export type TradeKind = (typeof TradeKind)[keyof typeof TradeKind];

/** IEnergyMarket.TradeStatus. */
export const TradeStatus = { NONE: 0, OPEN: 1, SETTLED: 2, REFUNDED: 3 } as const;
export type TradeStatus = (typeof TradeStatus)[keyof typeof TradeStatus];

/** SidegridMessages.Category. */
export const Category = { CONSUMPTION: 0, TRADES: 1 } as const;
export type Category = (typeof Category)[keyof typeof Category];

/** SidegridMessages.Resolution, coarse to fine. */
export const Resolution = { NONE: 0, MONTHLY: 1, DAILY: 2, HOURLY: 3, QUARTER_HOURLY: 4 } as const;
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

/** IEnergyAuction.Side. */
export const Side = { BID: 0, OFFER: 1 } as const;
export type Side = (typeof Side)[keyof typeof Side];
