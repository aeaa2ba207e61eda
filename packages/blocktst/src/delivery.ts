import { Signature, SigningKey, TypedDataEncoder, Wallet, concat, getAddress, getBytes, keccak256, toUtf8Bytes, type TypedDataDomain } from "ethers";
import { InvalidArgumentError } from "./errors";

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

/** What an installer signs to certify a trading account's delivery key (EnergyMarket.TRADING_ACCOUNT_TYPEHASH). */
export const TRADING_ACCOUNT_TYPES = {
  TradingAccount: [
    { name: "account", type: "address" },
    { name: "deliverySigner", type: "address" },
    { name: "expiresAt", type: "uint64" },
  ],
} as const;

/** What a company signs as a discount voucher (EnergyMarket.DISCOUNT_VOUCHER_TYPEHASH). */
export const DISCOUNT_VOUCHER_TYPES = {
  DiscountVoucher: [
    { name: "account", type: "address" },
    { name: "distributor", type: "address" },
    { name: "expiresAt", type: "uint64" },
  ],
} as const;

type Types = Record<string, { name: string; type: string }[]>;

function signTyped(key: string, domain: TypedDataDomain, types: Types, value: Record<string, unknown>): string {
  return Signature.from(new SigningKey(key).sign(TypedDataEncoder.hash(domain, types, value))).serialized;
}

/**
 * A meter's delivery key on BlockTST: derived from its device key, so the meter holds one secret,
 * yet distinct from the meter signer its BlockPRI registration shows (which would link the trading
 * account to the household).
 * @example
 * const delivery = deliveryKeyOf(meterKey); // a Wallet; delivery.address goes into the certificate
 */
export function deliveryKeyOf(meterKey: string): Wallet {
  let bytes: Uint8Array;
  try {
    bytes = getBytes(meterKey);
  } catch {
    throw new InvalidArgumentError("meterKey", meterKey, "a 32-byte private key (0x hex)");
  }
  if (bytes.length !== 32) throw new InvalidArgumentError("meterKey", meterKey, "a 32-byte private key (0x hex)");
  return new Wallet(keccak256(concat([bytes, toUtf8Bytes("sidegrid/blocktst/delivery-key")])));
}

export interface TradingAccountCertificateParameters {
  /** The installer's private key (an INSTALLER_ROLE holder on the market). */
  installerKey: string;
  chainId: bigint | number;
  market: string;
  account: string;
  deliverySigner: string;
  /** Unix seconds. */
  expiresAt: bigint | number;
}

/**
 * An installer's certificate that `deliverySigner` is the delivery key of a meter it installed,
 * for `account`; it names neither meter nor household.
 * @example
 * const signature = signTradingAccountCertificate({ installerKey, chainId, market, account, deliverySigner, expiresAt });
 */
export function signTradingAccountCertificate(p: TradingAccountCertificateParameters): string {
  return signTyped(p.installerKey, marketDomain(p.chainId, p.market), TRADING_ACCOUNT_TYPES as unknown as Types, {
    account: getAddress(p.account),
    deliverySigner: getAddress(p.deliverySigner),
    expiresAt: BigInt(p.expiresAt),
  });
}

export interface DiscountVoucherParameters {
  /** The company's private key: its DISTRIBUTOR account, the seller. */
  distributorKey: string;
  chainId: bigint | number;
  market: string;
  account: string;
  /** Unix seconds. */
  expiresAt: bigint | number;
}

/**
 * A company's discount voucher for a household's trading account, signed after checking privately
 * that she lets the company monitor her consumption.
 * @example
 * const signature = signDiscountVoucher({ distributorKey, chainId, market, account, expiresAt });
 */
export function signDiscountVoucher(p: DiscountVoucherParameters): string {
  return signTyped(p.distributorKey, marketDomain(p.chainId, p.market), DISCOUNT_VOUCHER_TYPES as unknown as Types, {
    account: getAddress(p.account),
    distributor: new Wallet(p.distributorKey).address,
    expiresAt: BigInt(p.expiresAt),
  });
}
