// Public API of @sidegrid/blocktst. Everything other packages use is exported here by name.
export { artifactsDir } from "./artifacts";
export { bidEscrow, clearAuction } from "./auction";
export type { AuctionOrder, AuctionOrderOutcome, AuctionTrade, ClearAuctionParameters, ClearAuctionReturnType } from "./auction";
export { BLOCKTST_ABIS, BlockTstClient } from "./client";
export type {
  BlockTstAddresses,
  BlockTstClientParameters,
  BuyEnergyOptions,
  BuyEnergyReturnType,
  ClearHourReturnType,
  ConfirmDeliveryReturnType,
  EscrowTrade,
  HourBook,
  ListedOrder,
  Offer,
  PlaceOrderOptions,
  PlaceOrderReturnType,
  Quote,
  RefundReturnType,
  DiscountVoucher,
  TradingAccountInfo,
  SettledTradesParameters,
} from "./client";
export { DEMAND_RESPONSE_LIMITS, DemandResponseClient, deployDemandResponse } from "./demandResponse";
export type {
  AnnounceEventParameters,
  AnnounceEventReturnType,
  DaySettlement,
  DemandResponseClientParameters,
  DemandResponseEvent,
  DemandResponseEventLog,
  DemandResponseRole,
  DeployDemandResponseParameters,
  DeployDemandResponseReturnType,
  EfficiencyReward,
  EfficiencyRewardOfReturnType,
  FundOptions,
  HouseholdAmount,
  HouseholdRules,
  HouseholdSavings,
  LogLocation,
  LogRangeParameters,
  PayEfficiencyRewardsParameters,
  PayEfficiencyRewardsReturnType,
  PriceAtReturnType,
  PricePublication,
  PricePublicationLog,
  PublishPricesParameters,
  PublishPricesReturnType,
  RewardLog,
  RewardsParameters,
  RuleInput,
  SetRulesReturnType,
  SettleDayAheadParameters,
  SettleDayAheadReturnType,
} from "./demandResponse";
export { Category, HOUR_SECONDS, ONE, ROLES, Resolution, Side, TradeKind, TradeStatus, WH_PER_UNIT } from "./constants";
export {
  DELIVERY_TYPES,
  DISCOUNT_VOUCHER_TYPES,
  MARKET_DOMAIN_NAME,
  MARKET_DOMAIN_VERSION,
  TRADING_ACCOUNT_TYPES,
  deliveryDigest,
  deliveryKeyOf,
  marketDomain,
  signDeliveryConfirmation,
  signDiscountVoucher,
  signTradingAccountCertificate,
} from "./delivery";
export type { DeliveryConfirmationParameters, DiscountVoucherParameters, SignDeliveryConfirmationParameters, TradingAccountCertificateParameters } from "./delivery";
export { BLOCKTST_DEFAULTS, deployBlockTst } from "./deploy";
export type { DeployBlockTstParameters, DeployBlockTstReturnType } from "./deploy";
export { BlockTstDeployError, BlockTstError, EventMissingError, InvalidArgumentError, isBlockTstError } from "./errors";
export type { BlockTstErrorCode, BlockTstErrorOptions } from "./errors";
export {
  DemandResponse__factory,
  EnergyAuction__factory,
  EnergyMarket__factory,
  MarketMirror__factory,
  SmartGridToken__factory,
} from "./generated";
export type { DemandResponse, EnergyAuction, EnergyMarket, MarketMirror, SmartGridToken } from "./generated";
export {
  MessageKind,
  decodeTradePayload,
  encodePreferencesPayload,
  encodeRegistrationPayload,
  encodeTradePayload,
} from "./messages";
export type { Preference, Registration, Trade } from "./messages";
export { DEFAULT_PRICE_PARAMS, TABLE3, amountFor, bilateralPrice, unitPrice } from "./price";
export type {
  BilateralPriceParameters,
  BilateralPriceReturnType,
  PriceParams,
  Table3Row,
  UnitPriceParameters,
} from "./price";
