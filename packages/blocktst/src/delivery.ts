import { Signature, SigningKey, TypedDataEncoder, type TypedDataDomain } from "ethers";

/** EIP-712 domain name and version of EnergyMarket. */
export const MARKET_DOMAIN_NAME = "Sidegrid EnergyMarket";
export const MARKET_DOMAIN_VERSION = "1";

/** The typed data a buyer's meter signs to confirm a delivery. */
export const DELIVERY_TYPES = {
  DeliveryConfirmation: [
    { name: "tradeId", type: "uint256" },
    { name: "deliveredWh", type: "uint256" },
  ],
} as const;

/**
 * The EIP-712 domain of the EnergyMarket at `market` on chain `chainId`.
 *
 * @example
 * const domain = marketDomain(31003n, market);
 */
export function marketDomain(chainId: bigint | number, market: string): TypedDataDomain {
  return { name: MARKET_DOMAIN_NAME, version: MARKET_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: market };
}

export interface DeliveryConfirmationParameters {
  chainId: bigint | number;
  /** EnergyMarket address. */
  market: string;
  tradeId: bigint;
  deliveredWh: bigint;
}

/**
 * The digest the meter signs (equals `EnergyMarket.deliveryDigest(tradeId, deliveredWh)`).
 *
 * @example
 * const digest = deliveryDigest({ chainId, market, tradeId: 1n, deliveredWh: 50_000n });
 */
export function deliveryDigest(p: DeliveryConfirmationParameters): string {
  return TypedDataEncoder.hash(marketDomain(p.chainId, p.market), DELIVERY_TYPES as unknown as Record<string, { name: string; type: string }[]>, {
    tradeId: p.tradeId,
    deliveredWh: p.deliveredWh,
  });
}

export interface SignDeliveryConfirmationParameters extends DeliveryConfirmationParameters {
  /** The meter's secp256k1 private key (0x-prefixed hex) — the key registered as meterSigner on BlockPRI. */
  meterKey: string;
}

/**
 * Produces the meter's 65-byte EIP-712 signature confirming `deliveredWh` for `tradeId`
 * (what the gateway does with the meter's key; synchronous, no provider needed).
 *
 * @example
 * const sig = signDeliveryConfirmation({ meterKey, chainId: 31003n, market, tradeId: 1n, deliveredWh: 50_000n });
 * await client.confirmDelivery(1n, 50_000n, sig);
 */
export function signDeliveryConfirmation(p: SignDeliveryConfirmationParameters): string {
  const key = new SigningKey(p.meterKey);
  return Signature.from(key.sign(deliveryDigest(p))).serialized;
}
