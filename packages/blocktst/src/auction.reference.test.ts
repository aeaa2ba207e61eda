// The pure auction reference on its own: hand-worked books, input checks.
import { bidEscrow, clearAuction, type AuctionOrder } from "./auction";
import { ONE } from "./constants";
import { InvalidArgumentError } from "./errors";

const P = (cents: number) => (BigInt(cents) * ONE) / 100n;
const GRID = P(80);
const o = (id: number, side: "bid" | "offer", wh: number, cents: number, extra: Partial<AuctionOrder> = {}): AuctionOrder => ({
  id,
  owner: `0x${String(id).padStart(40, "0")}`,
  side,
  quantityWh: BigInt(wh),
  price: P(cents),
  ...extra,
});

describe("clearAuction (reference)", () => {
  it("takes the midpoint of [max(o, b'), min(b, o')] when the margin fills exactly", () => {
    const r = clearAuction({
      orders: [o(0, "bid", 1000, 70), o(1, "bid", 1000, 50), o(2, "offer", 1000, 40), o(3, "offer", 1000, 60)],
      gridPrice: GRID,
      gridAccount: "grid",
    });
    // b = 0.70, o = 0.40, b' = 0.50, o' = 0.60: [0.50, 0.60] → 0.55.
    expect([r.price, r.matchedWh, r.gridWh, r.crossed]).toEqual([P(55), 1000n, 1000n, true]);
    expect(r.trades.map((t) => [t.bidId, t.offerId, t.quantityWh, t.amount])).toEqual([
      [0, 2, 1000n, (P(55) * 1000n) / 1000n],
      [1, null, 1000n, P(80)],
    ]);
  });

  it("ignores cancelled orders and accounts every bid's escrow to the wei", () => {
    const orders = [o(0, "bid", 333, 61), o(1, "bid", 777, 61, { cancelled: true }), o(2, "offer", 250, 33), o(3, "offer", 999, 59)];
    const r = clearAuction({ orders, gridPrice: GRID, gridAccount: "grid" });
    expect(r.outcomes.map((x) => x.orderId)).toEqual([0, 2, 3]);
    const bid = r.outcomes[0]!;
    expect(bid.value + bid.gridAmount + bid.refund).toBe(bidEscrow(GRID, 333n));
    const sellers = r.outcomes.filter((x) => x.side === "offer").reduce((s, x) => s + x.value, 0n);
    expect(sellers).toBe(bid.value);
  });

  it("clears a book with only one side at the grid price", () => {
    expect(clearAuction({ orders: [o(0, "offer", 500, 10)], gridPrice: GRID, gridAccount: "grid" })).toMatchObject({ price: GRID, matchedWh: 0n, crossed: false, trades: [] });
  });

  it("refuses a bid above the grid price and a non-positive grid price", () => {
    expect(() => clearAuction({ orders: [o(0, "bid", 500, 81)], gridPrice: GRID, gridAccount: "grid" })).toThrow(InvalidArgumentError);
    expect(() => clearAuction({ orders: [], gridPrice: 0n, gridAccount: "grid" })).toThrow(/gridPrice = 0/);
  });
});
