import { ONE, Resolution, WH_PER_UNIT } from "./constants";
import { InvalidArgumentError } from "./errors";

/** The price rule's governance parameters (18-decimal fixed point). */
export interface PriceParams {
  /** SGT per kWh. */
  base: bigint;
  /** Scarcity sensitivity, at most 1e18. */
  k: bigint;
  /** Consumer-to-company data-sharing discount, at most 1e18. */
  discount: bigint;
  /** Coarsest consumption resolution the buyer must share to earn the discount. */
  discountResolution: Resolution;
}

/** The defaults that reproduce the paper's Table 3: base 0.5 SGT, k 0.4, discount 0.5. */
export const DEFAULT_PRICE_PARAMS: PriceParams = {
  base: ONE / 2n,
  k: (ONE * 4n) / 10n,
  discount: ONE / 2n,
  discountResolution: Resolution.MONTHLY,
};

/** One row of the paper's Table 3 (§5.2), with the demand and generation that produce it. */
export interface Table3Row {
  situation: number;
  demand: bigint;
  generation: bigint;
  /** Consumption monitoring enabled for the selling company. */
  dataSharing: boolean;
  kind: "CP" | "CC";
  /** kWh. */
  units: bigint;
  /** Total price in SGT (whole tokens). */
  priceSgt: bigint;
}

/** The paper's Table 3 as the rule reproduces it. */
export const TABLE3: readonly Table3Row[] = [
  { situation: 1, demand: 75n, generation: 25n, dataSharing: false, kind: "CP", units: 50n, priceSgt: 30n },
  { situation: 2, demand: 25n, generation: 75n, dataSharing: false, kind: "CC", units: 50n, priceSgt: 20n },
  { situation: 3, demand: 75n, generation: 25n, dataSharing: true, kind: "CP", units: 50n, priceSgt: 30n },
  { situation: 4, demand: 25n, generation: 75n, dataSharing: true, kind: "CC", units: 50n, priceSgt: 10n },
];

export interface UnitPriceParameters {
  params: PriceParams;
  /** Demand in the interval (any unit, same as generation). */
  demand: bigint;
  generation: bigint;
  /** Apply the data-sharing discount. */
  discounted: boolean;
}

/**
 * The rule's unit price, exactly as PriceRule.sol computes it:
 * floor(base × ((D+G)·1e18 + k·(D−G)) / ((D+G)·1e18)), then floor(· × (1e18 − discount) / 1e18).
 *
 * @example
 * unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 75n, generation: 25n, discounted: false }); // 0.6e18
 */
export function unitPrice(p: UnitPriceParameters): bigint {
  const { base, k, discount } = p.params;
  checkParams(p.params);
  if (p.demand < 0n || p.generation < 0n) throw new InvalidArgumentError("demand/generation", `${p.demand}/${p.generation}`, "must not be negative");
  let price = base;
  const total = p.demand + p.generation;
  if (total !== 0n && p.demand !== p.generation) {
    const den = total * ONE;
    const num = p.demand > p.generation ? den + k * (p.demand - p.generation) : den - k * (p.generation - p.demand);
    price = (base * num) / den;
  }
  if (p.discounted) price = (price * (ONE - discount)) / ONE;
  return price;
}

/**
 * SGT owed for `quantityWh` at `price` per kWh, rounded down (PriceRule.amountFor).
 *
 * @example
 * amountFor(6n * 10n ** 17n, 50_000n); // 30e18: 50 kWh at 0.6 SGT
 */
export function amountFor(price: bigint, quantityWh: bigint): bigint {
  return (price * quantityWh) / WH_PER_UNIT;
}

export interface BilateralPriceParameters {
  params: PriceParams;
  demand: bigint;
  generation: bigint;
  /** CC when the seller holds DISTRIBUTOR on BlockTST. */
  kind: "CP" | "CC";
  /** The buyer lets this company monitor their consumption (CC only). */
  dataSharing: boolean;
  /** The seller's offer price; 0 = follow the rule. Ignored for CC. */
  offerPrice: bigint;
}

export interface BilateralPriceReturnType {
  unitPrice: bigint;
  /** The rule's price (with the discount for CC), before the CP cap. */
  rulePrice: bigint;
  discounted: boolean;
}

/**
 * What EnergyMarket charges per kWh: CC at the rule's price (discounted when the buyer shares
 * consumption data with the company); CP at the prosumer's price capped by the undiscounted rule.
 *
 * @example
 * bilateralPrice({ params: DEFAULT_PRICE_PARAMS, demand: 25n, generation: 75n, kind: "CC", dataSharing: true, offerPrice: 0n }).unitPrice; // 0.2e18
 */
export function bilateralPrice(p: BilateralPriceParameters): BilateralPriceReturnType {
  if (p.kind === "CC") {
    const discounted = p.dataSharing && p.params.discount !== 0n;
    const rulePrice = unitPrice({ params: p.params, demand: p.demand, generation: p.generation, discounted });
    return { unitPrice: rulePrice, rulePrice, discounted };
  }
  const rulePrice = unitPrice({ params: p.params, demand: p.demand, generation: p.generation, discounted: false });
  const price = p.offerPrice === 0n || p.offerPrice > rulePrice ? rulePrice : p.offerPrice;
  return { unitPrice: price, rulePrice, discounted: false };
}

function checkParams(params: PriceParams): void {
  if (params.base <= 0n) throw new InvalidArgumentError("base", params.base, "must be positive");
  if (params.k < 0n || params.k > ONE) throw new InvalidArgumentError("k", params.k, "must be within [0, 1e18]");
  if (params.discount < 0n || params.discount > ONE) throw new InvalidArgumentError("discount", params.discount, "must be within [0, 1e18]");
}
