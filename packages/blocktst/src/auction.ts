import { InvalidArgumentError } from "./errors";
import { amountFor } from "./price";

/** One order of an hour's book, as the reference clearing takes it. */
export interface AuctionOrder {
  /** Order id (its index in the hour's book): the time priority. */
  id: number;
  owner: string;
  side: "bid" | "offer";
  quantityWh: bigint;
  /** SGT per kWh, 18 decimals. */
  price: bigint;
  cancelled?: boolean;
}

/** A trade produced by a clearing: a matched pair, or a bid's grid fallback (`offerId` null). */
export interface AuctionTrade {
  bidId: number;
  offerId: number | null;
  buyer: string;
  seller: string;
  quantityWh: bigint;
  amount: bigint;
  unitPrice: bigint;
}

/** Settlement of one live order (the contract's OrderFilled event). */
export interface AuctionOrderOutcome {
  orderId: number;
  owner: string;
  side: "bid" | "offer";
  /** Wh matched in the local market. */
  filledWh: bigint;
  /** Paid to sellers (bid) or received (offer). */
  value: bigint;
  gridWh: bigint;
  gridAmount: bigint;
  refund: bigint;
}

export interface ClearAuctionParameters {
  orders: readonly AuctionOrder[];
  /** The hour's grid tariff (SGT per kWh). */
  gridPrice: bigint;
  /** Receives payment for grid supply. */
  gridAccount: string;
}

export interface ClearAuctionReturnType {
  price: bigint;
  matchedWh: bigint;
  gridWh: bigint;
  crossed: boolean;
  /** Matched pairs in matching order, then grid fallbacks in bid id order (the contract's trade order). */
  trades: AuctionTrade[];
  /** One entry per live order, in id order. */
  outcomes: AuctionOrderOutcome[];
}

/**
 * Reference clearing of an hourly uniform-price double auction, the same rule as
 * EnergyAuction.sol: price-time priority; pair the best remaining bid and offer while they cross;
 * price = floor of the midpoint of [max(o, b'), min(b, o')] (b/o: prices of the last matched Wh,
 * b'/o': of the first unmatched Wh); no crossing = the grid price; each bid's unmatched Wh is
 * bought from the grid at the grid price; the bidder's refund is escrow − paid − grid amount.
 *
 * @example
 * const r = clearAuction({ orders, gridPrice: 8n * 10n ** 17n, gridAccount: utility });
 * r.price; r.matchedWh; r.trades;
 */
export function clearAuction(p: ClearAuctionParameters): ClearAuctionReturnType {
  if (p.gridPrice <= 0n) throw new InvalidArgumentError("gridPrice", p.gridPrice, "must be positive");
  const live = p.orders.filter((o) => !o.cancelled);
  for (const o of live) {
    if (o.quantityWh <= 0n) throw new InvalidArgumentError(`order ${o.id} quantityWh`, o.quantityWh, "must be positive");
    if (o.side === "bid" && o.price > p.gridPrice) throw new InvalidArgumentError(`order ${o.id} price`, o.price, "a bid may not exceed the grid price");
  }
  const bids = live.filter((o) => o.side === "bid").sort((a, b) => (a.price === b.price ? a.id - b.id : a.price > b.price ? -1 : 1));
  const offers = live.filter((o) => o.side === "offer").sort((a, b) => (a.price === b.price ? a.id - b.id : a.price < b.price ? -1 : 1));

  const pairs: { bid: AuctionOrder; offer: AuctionOrder; wh: bigint }[] = [];
  let bi = 0;
  let oi = 0;
  let remB = bids[0]?.quantityWh ?? 0n;
  let remO = offers[0]?.quantityWh ?? 0n;
  let lastBid = 0n;
  let lastOffer = 0n;
  let matchedWh = 0n;
  while (bi < bids.length && oi < offers.length && bids[bi]!.price >= offers[oi]!.price) {
    const wh = remB < remO ? remB : remO;
    pairs.push({ bid: bids[bi]!, offer: offers[oi]!, wh });
    matchedWh += wh;
    lastBid = bids[bi]!.price;
    lastOffer = offers[oi]!.price;
    remB -= wh;
    remO -= wh;
    if (remB === 0n && ++bi < bids.length) remB = bids[bi]!.quantityWh;
    if (remO === 0n && ++oi < offers.length) remO = offers[oi]!.quantityWh;
  }

  const crossed = pairs.length > 0;
  let price = p.gridPrice;
  if (crossed) {
    let lo = lastOffer;
    let hi = lastBid;
    if (bi < bids.length && bids[bi]!.price > lo) lo = bids[bi]!.price;
    if (oi < offers.length && offers[oi]!.price < hi) hi = offers[oi]!.price;
    price = (lo + hi) / 2n;
  }

  const filled = new Map<number, bigint>();
  const value = new Map<number, bigint>();
  const add = (m: Map<number, bigint>, k: number, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);
  const trades: AuctionTrade[] = [];
  for (const { bid, offer, wh } of pairs) {
    const amount = amountFor(price, wh);
    add(filled, bid.id, wh);
    add(filled, offer.id, wh);
    add(value, bid.id, amount);
    add(value, offer.id, amount);
    trades.push({ bidId: bid.id, offerId: offer.id, buyer: bid.owner, seller: offer.owner, quantityWh: wh, amount, unitPrice: price });
  }
  let gridWh = 0n;
  const byId = [...live].sort((a, b) => a.id - b.id);
  for (const o of byId) {
    if (o.side !== "bid") continue;
    const rest = o.quantityWh - (filled.get(o.id) ?? 0n);
    if (rest === 0n) continue;
    gridWh += rest;
    trades.push({ bidId: o.id, offerId: null, buyer: o.owner, seller: p.gridAccount, quantityWh: rest, amount: amountFor(p.gridPrice, rest), unitPrice: p.gridPrice });
  }
  const outcomes = byId.map((o): AuctionOrderOutcome => {
    const f = filled.get(o.id) ?? 0n;
    const v = value.get(o.id) ?? 0n;
    if (o.side === "offer") return { orderId: o.id, owner: o.owner, side: "offer", filledWh: f, value: v, gridWh: 0n, gridAmount: 0n, refund: 0n };
    const g = o.quantityWh - f;
    const gridAmount = amountFor(p.gridPrice, g);
    const refund = bidEscrow(p.gridPrice, o.quantityWh) - v - gridAmount;
    return { orderId: o.id, owner: o.owner, side: "bid", filledWh: f, value: v, gridWh: g, gridAmount, refund };
  });
  return { price, matchedWh, gridWh, crossed, trades, outcomes };
}

/**
 * What a bid escrows: its quantity at the hour's grid price (the most it can ever pay).
 *
 * @example
 * bidEscrow(8n * 10n ** 17n, 2_000n); // 1.6e18
 */
export function bidEscrow(gridPrice: bigint, quantityWh: bigint): bigint {
  return amountFor(gridPrice, quantityWh);
}
