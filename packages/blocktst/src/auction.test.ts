// The hourly double auction on a real chain against the TypeScript reference and against
// equilibrium conditions checked from the raw curves in this file.
import fc from "fast-check";
import { Wallet } from "ethers";
import { devPrivateKey } from "@sidegrid/chain";
import { clearAuction, bidEscrow, type AuctionOrder } from "./auction";
import { BlockTstClient } from "./client";
import { HOUR_SECONDS, ONE, TradeKind } from "./constants";
import { latestTimestamp, revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

const GRID = 9;
const GRID_PRICE = (ONE * 8n) / 10n;
const PARTICIPANTS = [1, 2, 3, 4, 5, 6, 7, 8];
const P = (x: number) => (BigInt(Math.round(x * 1000)) * ONE) / 1000n; // price in SGT/kWh

let f: Fixture;
let admin: BlockTstClient;
let grid: BlockTstClient;
const c: Record<number, BlockTstClient> = {};

beforeAll(async () => {
  f = await setupFixture(31205, { gridAccount: new Wallet(devPrivateKey(GRID)).address, maxOrdersPerSide: 20 });
  admin = await f.client(0);
  grid = await f.client(GRID);
  for (const i of PARTICIPANTS) c[i] = await f.client(i);
  await f.fund(PARTICIPANTS, 5000n * ONE);
  await Promise.all(PARTICIPANTS.map((i) => c[i]!.approve("auction", 10n ** 30n)));
});

afterAll(() => f.stop());

/** The next hour whose gate is still open. */
async function nextHour(): Promise<bigint> {
  return (await admin.currentHour()) + 1n;
}

/** Moves the chain clock to the start of `hour`. */
async function openHour(hour: bigint): Promise<void> {
  const ts = await latestTimestamp(f.chain);
  const start = hour * BigInt(HOUR_SECONDS);
  if (ts < start) await f.chain.increaseTime(Number(start - ts));
}

interface Placed extends AuctionOrder {
  account: number;
}

async function place(hour: bigint, orders: readonly { account: number; side: "bid" | "offer"; wh: bigint; price: bigint }[]): Promise<Placed[]> {
  const out: Placed[] = [];
  for (const o of orders) {
    const cl = c[o.account]!;
    const r = o.side === "bid" ? await cl.placeBid(hour, o.wh, o.price) : await cl.placeOffer(hour, o.wh, o.price);
    out.push({ id: Number(r.orderId), owner: cl.address, side: o.side, quantityWh: o.wh, price: o.price, account: o.account });
  }
  return out;
}

async function balances(): Promise<Map<string, bigint>> {
  const m = new Map<string, bigint>();
  for (const cl of [...Object.values(c), grid]) m.set(cl.address, await cl.balanceOf());
  m.set("auction", await admin.balanceOf(f.addresses.auction));
  return m;
}

/** Equilibrium conditions read off the raw curves, independent of how the clearing walks them. */
function checkEquilibrium(orders: readonly AuctionOrder[], price: bigint, matchedWh: bigint, filled: Map<number, bigint>): void {
  const live = orders.filter((o) => !o.cancelled);
  const bids = live.filter((o) => o.side === "bid");
  const offers = live.filter((o) => o.side === "offer");
  const demandAt = (x: bigint) => bids.filter((b) => b.price >= x).reduce((s, b) => s + b.quantityWh, 0n);
  const supplyAt = (x: bigint) => offers.filter((o) => o.price <= x).reduce((s, o) => s + o.quantityWh, 0n);
  // The traded volume is the largest any single price could support.
  let best = 0n;
  for (const x of live.map((o) => o.price)) {
    const v = demandAt(x) < supplyAt(x) ? demandAt(x) : supplyAt(x);
    if (v > best) best = v;
  }
  expect(matchedWh).toBe(best);
  if (matchedWh === 0n) return; // nothing crosses: the grid price is a convention, not an equilibrium
  for (const o of live) {
    const got = filled.get(o.id) ?? 0n;
    if (got > 0n) expect(o.side === "bid" ? o.price >= price : o.price <= price).toBe(true); // nobody trades against their limit
    if (o.side === "bid" && o.price > price) expect(got).toBe(o.quantityWh); // everyone strictly in the money is served
    if (o.side === "offer" && o.price < price) expect(got).toBe(o.quantityWh);
  }
}

describe("clearing a known book", () => {
  it("clears at the midpoint of the crossing interval with the quantities worked out by hand", async () => {
    const hour = await nextHour();
    const before = await balances();
    const orders = await place(hour, [
      { account: 3, side: "bid", wh: 3000n, price: P(0.7) },
      { account: 4, side: "bid", wh: 1500n, price: P(0.6) },
      { account: 5, side: "bid", wh: 1000n, price: P(0.45) },
      { account: 2, side: "offer", wh: 2500n, price: P(0.4) },
      { account: 6, side: "offer", wh: 2000n, price: P(0.55) },
      { account: 1, side: "offer", wh: 3000n, price: P(0.65) },
    ]);
    await openHour(hour);
    const res = await admin.clearHour(hour);

    // Walk: 0.70×3000 takes 2500 @0.40 and 500 @0.55; 0.60×1500 takes the remaining 1500 @0.55.
    // Last matched b = 0.60, o = 0.55; first unmatched b' = 0.45, o' = 0.65: [0.55, 0.60] → 0.575.
    expect(res).toMatchObject({ price: P(0.575), matchedWh: 4500n, gridWh: 1000n, crossed: true });
    const a = (wh: bigint, p: bigint) => (wh * p) / 1000n;
    expect(res.trades.map((t) => [t.buyer, t.seller, t.kind, t.quantityWh, t.amount, t.unitPrice])).toEqual([
      [c[3]!.address, c[2]!.address, TradeKind.AUCTION, 2500n, a(2500n, P(0.575)), P(0.575)],
      [c[3]!.address, c[6]!.address, TradeKind.AUCTION, 500n, a(500n, P(0.575)), P(0.575)],
      [c[4]!.address, c[6]!.address, TradeKind.AUCTION, 1500n, a(1500n, P(0.575)), P(0.575)],
      [c[5]!.address, grid.address, TradeKind.AUCTION, 1000n, a(1000n, GRID_PRICE), GRID_PRICE],
    ]);
    expect(res.trades.map((t) => t.tradeId)).toEqual([0n, 1n, 2n, 3n].map((k) => res.firstTradeId + k));
    expect(a(2500n, P(0.575))).toBe((14375n * ONE) / 10000n);

    const after = await balances();
    const delta = (i: number) => after.get(c[i]!.address)! - before.get(c[i]!.address)!;
    expect(delta(3)).toBe(-(17250n * ONE) / 10000n);
    expect(delta(4)).toBe(-(8625n * ONE) / 10000n);
    expect(delta(5)).toBe(-(8n * ONE) / 10n);
    expect(delta(2)).toBe((14375n * ONE) / 10000n);
    expect(delta(6)).toBe((115n * ONE) / 100n);
    expect(delta(1)).toBe(0n);
    expect(after.get(grid.address)! - before.get(grid.address)!).toBe((8n * ONE) / 10n);
    expect(after.get("auction")).toBe(before.get("auction"));

    // The reference agrees trade by trade and order by order.
    const ref = clearAuction({ orders, gridPrice: GRID_PRICE, gridAccount: grid.address });
    expect(ref.price).toBe(res.price);
    expect(res.trades.map((t) => [t.buyer, t.seller, t.quantityWh, t.amount, t.unitPrice])).toEqual(
      ref.trades.map((t) => [t.buyer, t.seller, t.quantityWh, t.amount, t.unitPrice]),
    );
    expect(res.outcomes).toEqual(ref.outcomes);
    checkEquilibrium(orders, res.price, res.matchedWh, new Map(ref.outcomes.map((o) => [o.orderId, o.filledWh])));
    expect(await admin.hourOf(hour)).toMatchObject({ cleared: true, crossed: true, clearingPrice: P(0.575), matchedWh: 4500n, gridPrice: GRID_PRICE });
  });

  it("prices at the marginal bid when it is only partly filled, and fills equal prices in time order", async () => {
    const hour = await nextHour();
    const orders = await place(hour, [
      { account: 3, side: "bid", wh: 3000n, price: P(0.7) },
      { account: 4, side: "bid", wh: 2000n, price: P(0.6) },
      { account: 6, side: "offer", wh: 2000n, price: P(0.5) }, // same price: 6 came first, fills first
      { account: 2, side: "offer", wh: 2000n, price: P(0.5) },
      { account: 1, side: "offer", wh: 500n, price: P(0.5) },
    ]);
    await openHour(hour);
    const res = await admin.clearHour(hour);
    // 4500 offered at 0.50 against 5000 bid: the 0.60 bid is short 500, so b = b' = 0.60.
    expect(res).toMatchObject({ price: P(0.6), matchedWh: 4500n, gridWh: 500n });
    expect(res.trades.map((t) => [t.buyer, t.seller, t.quantityWh])).toEqual([
      [c[3]!.address, c[6]!.address, 2000n],
      [c[3]!.address, c[2]!.address, 1000n],
      [c[4]!.address, c[2]!.address, 1000n],
      [c[4]!.address, c[1]!.address, 500n],
      [c[4]!.address, grid.address, 500n],
    ]);
    expect(res.outcomes).toEqual(clearAuction({ orders, gridPrice: GRID_PRICE, gridAccount: grid.address }).outcomes);
  });

  it("clears an hour whose curves do not cross at the grid price, all demand from the grid", async () => {
    const hour = await nextHour();
    await place(hour, [
      { account: 3, side: "bid", wh: 1000n, price: P(0.3) },
      { account: 4, side: "bid", wh: 2000n, price: P(0.35) },
      { account: 2, side: "offer", wh: 5000n, price: P(0.5) },
    ]);
    const before = await balances();
    await openHour(hour);
    const res = await admin.clearHour(hour);
    expect(res).toMatchObject({ price: GRID_PRICE, matchedWh: 0n, gridWh: 3000n, crossed: false });
    expect(res.trades.map((t) => [t.buyer, t.seller, t.quantityWh, t.amount])).toEqual([
      [c[3]!.address, grid.address, 1000n, (8n * ONE) / 10n],
      [c[4]!.address, grid.address, 2000n, (16n * ONE) / 10n],
    ]);
    const after = await balances();
    expect(after.get(c[2]!.address)).toBe(before.get(c[2]!.address));
    expect(after.get(grid.address)! - before.get(grid.address)!).toBe((24n * ONE) / 10n);
  });

  it("clears an empty hour at the grid price with no trades, once, and not before it starts", async () => {
    const hour = await nextHour();
    const early = await revertOf(() => admin.clearHour(hour));
    expect(early.errorName).toBe("AuctionNotClearable");
    expect(early.args.slice(0, 2)).toEqual([hour, hour * 3600n]);
    await openHour(hour);
    const res = await admin.clearHour(hour);
    expect(res).toMatchObject({ price: GRID_PRICE, matchedWh: 0n, gridWh: 0n, crossed: false, trades: [], outcomes: [], firstTradeId: 0n });
    expect(await revertOf(() => admin.clearHour(hour))).toEqual({ errorName: "AuctionAlreadyCleared", args: [hour] });
  });
});

describe("orders", () => {
  it("lists and cancels an owner's orders before the hour starts, refunding the bid's escrow", async () => {
    const hour = await nextHour();
    const b1 = await c[3]!.placeBid(hour, 2000n, P(0.5));
    await c[4]!.placeOffer(hour, 1000n, P(0.4));
    const b2 = await c[3]!.placeOffer(hour, 500n, P(0.45));
    expect(b1.escrow).toBe(bidEscrow(GRID_PRICE, 2000n));
    expect((await c[3]!.listOrders(hour, c[3]!.address)).map((o) => [o.orderId, o.side, o.quantityWh, o.price, o.cancelled])).toEqual([
      [0n, "bid", 2000n, P(0.5), false],
      [2n, "offer", 500n, P(0.45), false],
    ]);
    expect((await c[3]!.auction.orderIdsOf(hour, c[3]!.address))).toEqual([0n, 2n]);

    expect(await revertOf(() => c[4]!.cancelOrder(hour, 0n))).toEqual({ errorName: "AuctionNotOrderOwner", args: [hour, 0n, c[4]!.address, c[3]!.address] });
    expect(await revertOf(() => c[3]!.cancelOrder(hour, 7n))).toEqual({ errorName: "AuctionUnknownOrder", args: [hour, 7n] });
    const before = await c[3]!.balanceOf();
    await c[3]!.cancelOrder(hour, 0n);
    expect(await c[3]!.balanceOf()).toBe(before + b1.escrow);
    expect(await revertOf(() => c[3]!.cancelOrder(hour, 0n))).toEqual({ errorName: "AuctionOrderCancelled", args: [hour, 0n] });
    expect((await c[3]!.listOrders(hour, c[3]!.address))[0]!.cancelled).toBe(true);

    await openHour(hour);
    const late = await revertOf(() => c[3]!.cancelOrder(hour, b2.orderId));
    expect(late.errorName).toBe("AuctionGateClosed");
    const placeLate = await revertOf(() => c[3]!.placeBid(hour, 1000n, P(0.5)));
    expect(placeLate.errorName).toBe("AuctionGateClosed");
    expect(placeLate.args.slice(0, 2)).toEqual([hour, hour * 3600n]);
    const res = await admin.clearHour(hour);
    // The cancelled bid is gone: no demand left, nothing matches.
    expect(res).toMatchObject({ matchedWh: 0n, gridWh: 0n, crossed: false });
    expect(res.outcomes.map((o) => o.orderId)).toEqual([1, 2]);
  });

  it("refuses bids above the grid price, tiny orders, full books and hours too far ahead", async () => {
    const hour = await nextHour();
    expect(await revertOf(() => c[3]!.placeBid(hour, 1000n, GRID_PRICE + 1n))).toEqual({ errorName: "AuctionBidAboveGridPrice", args: [GRID_PRICE + 1n, GRID_PRICE] });
    expect(await revertOf(() => c[3]!.placeBid(hour, 99n, P(0.5)))).toEqual({ errorName: "AuctionOrderTooSmall", args: [99n, 100n] });
    const far = hour + 200n;
    expect(await revertOf(() => c[3]!.placeOffer(far, 1000n, P(0.5)))).toEqual({ errorName: "AuctionHourTooFar", args: [far, hour - 1n + 168n] });
    const absurd = 1n << 255n;
    expect(await revertOf(() => c[3]!.cancelOrder(absurd, 0n))).toEqual({ errorName: "AuctionUnknownOrder", args: [absurd, 0n] });
    const notYet = await revertOf(() => admin.clearHour(absurd));
    expect(notYet.errorName).toBe("AuctionNotClearable");
    expect(notYet.args.slice(0, 2)).toEqual([absurd, (1n << 256n) - 1n]);
    for (let i = 0; i < 20; i++) await c[2]!.placeOffer(hour, 100n, P(0.5));
    expect(await revertOf(() => c[2]!.placeOffer(hour, 100n, P(0.5)))).toEqual({ errorName: "AuctionBookFull", args: [hour, 1n, 20n] });
    expect((await admin.hourOf(hour)).offers).toBe(20);
    await openHour(hour);
    await admin.clearHour(hour);
  });

  it("keeps an hour's grid tariff once its first order fixed it", async () => {
    const hour = await nextHour();
    const { escrow } = await c[3]!.placeBid(hour, 1000n, P(0.5));
    const auctionIface = admin.auction.interface;
    await admin.sender.sendAndWait({ to: f.addresses.auction, data: auctionIface.encodeFunctionData("setGridTariff", [ONE, grid.address]) });
    const { escrow: e2 } = await c[4]!.placeBid(hour, 1000n, P(0.5));
    expect(e2).toBe(escrow);
    expect(await revertOf(() => c[4]!.placeBid(hour, 1000n, P(0.9)))).toEqual({ errorName: "AuctionBidAboveGridPrice", args: [P(0.9), GRID_PRICE] });
    await openHour(hour);
    expect((await admin.clearHour(hour)).price).toBe(GRID_PRICE);
    await admin.sender.sendAndWait({ to: f.addresses.auction, data: auctionIface.encodeFunctionData("setGridTariff", [GRID_PRICE, grid.address]) });
  });
});

describe("random books", () => {
  it("clear on chain exactly as the reference, at an equilibrium price, conserving SGT", async () => {
    const priceArb = fc.integer({ min: 6, max: 16 }).map((k) => P(k * 0.05)); // 0.30..0.80, ties likely
    const orderArb = fc.record({
      account: fc.constantFrom(...PARTICIPANTS),
      side: fc.constantFrom("bid" as const, "offer" as const),
      wh: fc.integer({ min: 1, max: 50 }).map((k) => BigInt(k) * 100n),
      price: priceArb,
      cancel: fc.integer({ min: 0, max: 9 }).map((k) => k === 0),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(orderArb, { minLength: 1, maxLength: 16 }), async (spec) => {
        const hour = await nextHour();
        const placed = await place(hour, spec);
        for (const [i, o] of spec.entries()) {
          if (o.cancel) {
            await c[o.account]!.cancelOrder(hour, BigInt(placed[i]!.id));
            placed[i]!.cancelled = true;
          }
        }
        const before = await balances();
        await openHour(hour);
        const res = await admin.clearHour(hour);
        const ref = clearAuction({ orders: placed, gridPrice: GRID_PRICE, gridAccount: grid.address });
        expect([res.price, res.matchedWh, res.gridWh, res.crossed]).toEqual([ref.price, ref.matchedWh, ref.gridWh, ref.crossed]);
        expect(res.trades.map((t) => [t.buyer, t.seller, t.quantityWh, t.amount, t.unitPrice])).toEqual(
          ref.trades.map((t) => [t.buyer, t.seller, t.quantityWh, t.amount, t.unitPrice]),
        );
        expect(res.outcomes).toEqual(ref.outcomes);
        checkEquilibrium(placed, res.price, res.matchedWh, new Map(ref.outcomes.map((o) => [o.orderId, o.filledWh])));
        const after = await balances();
        const sum = (m: Map<string, bigint>) => [...m.values()].reduce((s, v) => s + v, 0n);
        expect(sum(after)).toBe(sum(before));
        // Each account's change is exactly what the reference says it pays and receives.
        const expected = new Map<string, bigint>();
        for (const o of ref.outcomes) {
          const d = o.side === "offer" ? o.value : o.refund;
          expected.set(o.owner, (expected.get(o.owner) ?? 0n) + d);
        }
        for (const [addr, d] of expected) expect(after.get(addr)! - before.get(addr)!).toBe(d);
        const gridIncome = ref.outcomes.reduce((s, o) => s + o.gridAmount, 0n);
        expect(after.get(grid.address)! - before.get(grid.address)!).toBe(gridIncome);
        expect(await admin.auction.totalEscrowed()).toBe(0n);
      }),
      { numRuns: 12 },
    );
  });
});
