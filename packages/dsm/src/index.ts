// Public API of @sidegrid/dsm. Everything other packages use is exported here by name.
export {
  DsmError,
  InvalidArgumentError,
  InvalidBaseLoadError,
  InvalidEncodingError,
  InvalidLoadError,
  InvalidPricingError,
  InvalidRuleError,
  UnknownCodeError,
  UnknownHouseholdError,
  isDsmError,
} from "./errors";
export type { DsmErrorCode, DsmErrorOptions } from "./errors";
export { efficiencyBaseline, efficiencyReward } from "./efficiency";
export type { EfficiencyBaselineErrorType, EfficiencyBaselineParameters, EfficiencyBaselineReturnType, EfficiencyWindow, IntervalEnergy } from "./efficiency";
export { DEFAULT_GAME_SEED, DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE, bestResponseGame, evaluateSchedule } from "./game";
export type {
  BestResponseGameErrorType,
  BestResponseGameParameters,
  BestResponseGameReturnType,
  EvaluateScheduleErrorType,
  EvaluateScheduleParameters,
  GameSnapshot,
  HouseholdCost,
  ScheduledLoad,
} from "./game";
export { MOHSENIAN_RAD_COEFFICIENTS, mohsenianRadPricing, slotPrices } from "./pricing";
export { createPrng, shuffle } from "./prng";
export type { Prng } from "./prng";
export type {
  FixedPricing,
  MohsenianRadPricingErrorType,
  MohsenianRadPricingParameters,
  Pricing,
  QuadraticPricing,
  SlotPricesErrorType,
  SlotPricesParameters,
  SlotPricesReturnType,
} from "./pricing";
export {
  ACTION_CODES,
  DEVICE_CODES,
  RULE_ENCODING_SIZE,
  RULE_ENCODING_VERSION,
  RULE_FLAGS,
  RULE_LAYOUT,
  RULE_RESERVED,
  decodeRule,
  encodeRule,
} from "./ruleCodec";
export type { DecodeRuleErrorType, EncodeRuleErrorType, RuleField } from "./ruleCodec";
export { RULE_ACTIONS, evaluateRules, ruleMatches, validateRule } from "./rules";
export type { EvaluateRulesErrorType, Rule, RuleAction, RuleCondition, RuleContext, RuleDecision, ValidateRuleErrorType } from "./rules";
export {
  DEFAULT_SYNTHETIC_START_MINUTE,
  SYNTHETIC_BASE_LOAD,
  SYNTHETIC_DEVICES,
  SYNTHETIC_LOADS_PER_HOUSEHOLD,
  syntheticHouseholds,
} from "./synthetic";
export type {
  SyntheticDeviceSpec,
  SyntheticHourDraw,
  SyntheticHouseholdsErrorType,
  SyntheticHouseholdsParameters,
  SyntheticHouseholdsReturnType,
} from "./synthetic";
export { DAY_SLOTS, DEFAULT_SLOT_MINUTES, MINUTES_PER_DAY, peakToAverageRatio, slotsPerDay } from "./types";
export type { BaseLoad, Device, FlexibleLoad, KnownDevice } from "./types";
