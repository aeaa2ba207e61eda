import { AbiCoder, getAddress } from "ethers";
import type { Category, Resolution, TradeKind } from "./constants";

// Payload layouts of SidegridMessages.sol, as ABI type strings: every payload is
// abi.encode(uint8 kind, ...). Checked against the Solidity encoders in messages.test.ts.
const TRADE_TUPLE =
  "tuple(uint256 tradeId,address buyer,address seller,uint8 kind,uint256 quantityWh,uint256 amount,uint256 unitPrice,uint64 settledAt)";
const REGISTRATION_TUPLE = "tuple(address consumer,bytes32 meterId,address meterSigner,bytes32 encryptionKey)";
const PREFERENCE_TUPLE = "tuple(address utility,uint8 category,bool allowed,uint8 resolution,uint64 expiresAt)";

/** SidegridMessages payload kinds. */
export const MessageKind = { PREFERENCES: 1, REGISTRATION: 2, TRADE: 3 } as const;

/** A settled trade as BlockTST relays it to BlockSEC (SidegridMessages.Trade). */
export interface Trade {
  tradeId: bigint;
  buyer: string;
  seller: string;
  kind: TradeKind;
  quantityWh: bigint;
  /** SGT paid, 18 decimals. */
  amount: bigint;
  /** SGT per kWh, 18 decimals. */
  unitPrice: bigint;
  settledAt: bigint;
}

/** A consumer's meter binding (SidegridMessages.Registration). */
export interface Registration {
  consumer: string;
  meterId: string;
  meterSigner: string;
  encryptionKey: string;
}

/** One preference entry (SidegridMessages.Preference); utility 0x0…0 is the any-distributor default. */
export interface Preference {
  utility: string;
  category: Category;
  allowed: boolean;
  resolution: Resolution;
  expiresAt: bigint;
}

const coder = AbiCoder.defaultAbiCoder();

/**
 * The exact relay payload of a settled trade: `SidegridMessages.encodeTrade(trade)`.
 *
 * @example
 * const payload = encodeTradePayload(trade); // equals the RelayPayload event's bytes
 */
export function encodeTradePayload(trade: Trade): string {
  return coder.encode(
    ["uint8", TRADE_TUPLE],
    [
      MessageKind.TRADE,
      [trade.tradeId, trade.buyer, trade.seller, trade.kind, trade.quantityWh, trade.amount, trade.unitPrice, trade.settledAt],
    ],
  );
}

/**
 * Decodes a trade payload (kind 3).
 *
 * @example
 * const trade = decodeTradePayload(relayPayload);
 */
export function decodeTradePayload(payload: string): Trade {
  const [, t] = coder.decode(["uint8", TRADE_TUPLE], payload);
  return {
    tradeId: t[0] as bigint,
    buyer: getAddress(t[1] as string),
    seller: getAddress(t[2] as string),
    kind: Number(t[3]) as TradeKind,
    quantityWh: t[4] as bigint,
    amount: t[5] as bigint,
    unitPrice: t[6] as bigint,
    settledAt: t[7] as bigint,
  };
}

/**
 * A registration payload as BlockPRI relays it: `SidegridMessages.encodeRegistration(reg, version)`.
 *
 * @example
 * const payload = encodeRegistrationPayload({ consumer, meterId, meterSigner, encryptionKey }, 1n);
 */
export function encodeRegistrationPayload(registration: Registration, version: bigint): string {
  return coder.encode(
    ["uint8", REGISTRATION_TUPLE, "uint64"],
    [
      MessageKind.REGISTRATION,
      [registration.consumer, registration.meterId, registration.meterSigner, registration.encryptionKey],
      version,
    ],
  );
}

/**
 * A preferences payload as BlockPRI relays it: the consumer's complete entry list at `version`.
 *
 * @example
 * const payload = encodePreferencesPayload(consumer, 2n, [{ utility, category: Category.CONSUMPTION, allowed: true, resolution: Resolution.HOURLY, expiresAt: 0n }]);
 */
export function encodePreferencesPayload(consumer: string, version: bigint, prefs: readonly Preference[]): string {
  return coder.encode(
    ["uint8", "address", "uint64", `${PREFERENCE_TUPLE}[]`],
    [MessageKind.PREFERENCES, consumer, version, prefs.map((p) => [p.utility, p.category, p.allowed, p.resolution, p.expiresAt])],
  );
}
