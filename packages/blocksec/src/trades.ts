import { AbiCoder, getAddress } from "ethers";
import { InvalidArgumentError } from "./errors";
import type { Trade } from "./types";

const coder = AbiCoder.defaultAbiCoder();
const TRADE_TUPLE =
  "tuple(uint256 tradeId, address buyer, address seller, uint8 kind, uint256 quantityWh, uint256 amount, uint256 unitPrice, uint64 settledAt)";
const KINDS = ["CP", "CC", "AUCTION"] as const;
/** SidegridMessages.KIND_TRADE. */
const KIND_TRADE = 3;

/**
 * Encodes `SidegridMessages.encodeTrade(trade)`: what BlockTST relays to the trade log.
 *
 * @example
 * await sec.deliverTrade(tstChainId, market, encodeTradePayload(trade));
 */
export function encodeTradePayload(t: Trade): string {
  return coder.encode(
    ["uint8", TRADE_TUPLE],
    [KIND_TRADE, [t.tradeId, t.buyer, t.seller, KINDS.indexOf(t.kind), t.quantityWh, t.amount, t.unitPrice, t.settledAt]],
  );
}

/**
 * Decodes a trade payload relayed from BlockTST.
 *
 * @example
 * const trade = decodeTradePayload(payload);
 */
export function decodeTradePayload(payload: string): Trade {
  let kind: bigint;
  let tuple: unknown[];
  try {
    [kind, tuple] = coder.decode(["uint8", TRADE_TUPLE], payload) as unknown as [bigint, unknown[]];
  } catch (e) {
    throw new InvalidArgumentError("payload", payload.slice(0, 74), `does not decode as a trade message: ${(e as Error).message}`);
  }
  if (Number(kind) !== KIND_TRADE) throw new InvalidArgumentError("payload", payload.slice(0, 74), `has kind ${kind}, not TRADE (3)`);
  const [tradeId, buyer, seller, k, quantityWh, amount, unitPrice, settledAt] = tuple as [bigint, string, string, bigint, bigint, bigint, bigint, bigint];
  const name = KINDS[Number(k)];
  if (!name) throw new InvalidArgumentError("kind", k, "is not a TradeKind (0 CP, 1 CC, 2 AUCTION)");
  return { tradeId, buyer: getAddress(buyer), seller: getAddress(seller), kind: name, quantityWh, amount, unitPrice, settledAt: Number(settledAt) };
}
