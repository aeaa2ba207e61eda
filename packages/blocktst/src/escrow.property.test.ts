// Model-based property test of the bilateral market: random sequences of offers, purchases,
// confirmations (valid, forged, for the wrong amount), refunds, clock jumps and oracle updates run on
// anvil and on a TypeScript model written from the spec. After every step the balances, the escrow
// total and every trade's status agree, and SGT is conserved. Each run starts from the same snapshot.
import fc from "fast-check";
import { Category, ONE, Resolution, TradeStatus } from "./constants";
import { signDeliveryConfirmation } from "./delivery";
import { DEFAULT_PRICE_PARAMS, amountFor, bilateralPrice } from "./price";
import { BlockTstClient } from "./client";
import { latestTimestamp, revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

const COMPANY = 1;
const PROSUMER = 2;
const SHARER = 3; // lets the company monitor consumption: CC trades discounted
const PRIVATE = 4;
const STRANGER = 5;
const SELLERS = [COMPANY, PROSUMER] as const;
const BUYERS = [SHARER, PRIVATE] as const;
const ACCOUNTS = [COMPANY, PROSUMER, SHARER, PRIVATE, STRANGER];
const FUND = 1000n * ONE;

type Op =
  | { t: "sell"; seller: number; wh: bigint; price: bigint }
  | { t: "cancel"; seller: number }
  | { t: "buy"; buyer: number; seller: number; wh: bigint }
  | { t: "confirm"; trade: number; num: bigint; den: bigint; variant: "valid" | "wrongKey" | "wrongAmount" | "otherTrade" }
  | { t: "refund"; trade: number }
  | { t: "wait"; seconds: number }
  | { t: "grid"; demand: bigint; generation: bigint };

const sellerArb = fc.constantFrom(...SELLERS);
const buyArb = fc.record({ t: fc.constant("buy" as const), buyer: fc.constantFrom(...BUYERS), seller: sellerArb, wh: fc.integer({ min: 500, max: 15_000 }).map(BigInt) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ t: fc.constant("sell" as const), seller: sellerArb, wh: fc.integer({ min: 1, max: 60 }).map((k) => BigInt(k) * 1000n), price: fc.constantFrom(0n, (ONE * 3n) / 10n, (ONE * 6n) / 10n, (ONE * 9n) / 10n) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("cancel" as const), seller: sellerArb }) },
  { weight: 4, arbitrary: buyArb },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant("confirm" as const),
      trade: fc.nat(),
      num: fc.constantFrom(0n, 1n, 2n, 3n, 3n, 3n),
      den: fc.constant(3n),
      variant: fc.constantFrom("valid" as const, "valid" as const, "valid" as const, "wrongKey" as const, "wrongAmount" as const, "otherTrade" as const),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("refund" as const), trade: fc.nat() }) },
  // Jumps never sum to within minutes of the 7200 s window, so "before/after the deadline" is unambiguous.
  { weight: 3, arbitrary: fc.record({ t: fc.constant("wait" as const), seconds: fc.constantFrom(3000, 5000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("grid" as const), demand: fc.integer({ min: 1, max: 100 }).map(BigInt), generation: fc.integer({ min: 1, max: 100 }).map(BigInt) }) },
);

interface ModelTrade {
  id: bigint;
  buyer: number;
  seller: number;
  wh: bigint;
  amount: bigint;
  deadline: bigint;
  status: TradeStatus;
}

let f: Fixture;
const c: Record<number, BlockTstClient> = {};
let base: string;
/** How often each interesting path ran, to show the generator reaches them all. */
const seen = { settled: 0, partial: 0, refundedByMeter: 0, refundedAtDeadline: 0, forged: 0, late: 0, early: 0, replayed: 0 };

beforeAll(async () => {
  f = await setupFixture(31206);
  for (const i of [0, ...ACCOUNTS]) c[i] = await f.client(i);
  await c[0]!.grantDistributor(c[COMPANY]!.address);
  await Promise.all(BUYERS.map((b) => f.register(b)));
  await f.setPreferences(SHARER, [{ utility: c[COMPANY]!.address, category: Category.CONSUMPTION, allowed: true, resolution: Resolution.HOURLY, expiresAt: 0n }], 1n);
  await f.fund([...BUYERS], FUND);
  for (const b of BUYERS) await c[b]!.approve("market", 10n ** 30n);
  await c[0]!.publishGridState(50n, 50n);
  base = await f.chain.snapshot();
});

afterAll(() => f.stop());

async function now(): Promise<bigint> {
  return latestTimestamp(f.chain);
}

async function run(ops: readonly Op[]): Promise<void> {
  await f.chain.revert(base);
  base = await f.chain.snapshot();
  const bal = new Map<number | "market", bigint>(ACCOUNTS.map((a) => [a, BUYERS.includes(a as 3 | 4) ? FUND : 0n]));
  bal.set("market", 0n);
  const offers = new Map<number, { wh: bigint; price: bigint }>();
  const trades: ModelTrade[] = [];
  let grid = { demand: 50n, generation: 50n };
  const move = (from: number | "market", to: number | "market", amount: bigint) => {
    bal.set(from, bal.get(from)! - amount);
    bal.set(to, bal.get(to)! + amount);
  };

  for (const op of ops) {
    switch (op.t) {
      case "sell":
        await c[op.seller]!.sellEnergy(op.wh, op.price);
        offers.set(op.seller, { wh: op.wh, price: op.price });
        break;
      case "cancel":
        await c[op.seller]!.cancelOffer();
        offers.delete(op.seller);
        break;
      case "grid":
        await c[0]!.publishGridState(op.demand, op.generation);
        grid = { demand: op.demand, generation: op.generation };
        break;
      case "wait":
        await f.chain.increaseTime(op.seconds);
        break;
      case "buy": {
        const offer = offers.get(op.seller) ?? { wh: 0n, price: 0n };
        const buyer = c[op.buyer]!;
        if (op.wh > offer.wh) {
          expect(await revertOf(() => buyer.buyEnergy(c[op.seller]!.address, op.wh))).toEqual({
            errorName: "MarketInsufficientOffer",
            args: [c[op.seller]!.address, op.wh, offer.wh],
          });
          break;
        }
        const cc = op.seller === COMPANY;
        const { unitPrice } = bilateralPrice({ params: DEFAULT_PRICE_PARAMS, ...grid, kind: cc ? "CC" : "CP", dataSharing: op.buyer === SHARER, offerPrice: offer.price });
        const amount = amountFor(unitPrice, op.wh);
        const r = await buyer.buyEnergy(c[op.seller]!.address, op.wh);
        expect([r.amount, r.unitPrice, r.kind]).toEqual([amount, unitPrice, cc ? 1 : 0]);
        expect(r.tradeId).toBe(BigInt(trades.length + 1));
        offer.wh -= op.wh;
        move(op.buyer, "market", amount);
        trades.push({ id: r.tradeId, buyer: op.buyer, seller: op.seller, wh: op.wh, amount, deadline: r.deadline, status: TradeStatus.OPEN });
        break;
      }
      case "confirm": {
        if (trades.length === 0) break;
        const t = trades[op.trade % trades.length]!;
        const delivered = (t.wh * op.num) / op.den;
        let key = f.meterKey(t.buyer);
        let signedId = t.id;
        let signedWh = delivered;
        if (op.variant === "wrongKey") key = f.meterKey(t.buyer === SHARER ? PRIVATE : SHARER);
        if (op.variant === "otherTrade") signedId = t.id + 1n;
        if (op.variant === "wrongAmount") signedWh = delivered === 0n ? 1n : delivered - 1n;
        const sig = signDeliveryConfirmation({ meterKey: key, chainId: f.chainId, market: f.addresses.market, tradeId: signedId, deliveredWh: signedWh });
        const submit = () => c[STRANGER]!.confirmDelivery(t.id, delivered, sig);
        if (t.status !== TradeStatus.OPEN) {
          expect(await revertOf(submit)).toEqual({ errorName: "MarketTradeNotOpen", args: [t.id, BigInt(t.status)] });
          seen.replayed++;
        } else if ((await now()) > t.deadline) {
          expect((await revertOf(submit)).errorName).toBe("MarketDeadlinePassed");
          seen.late++;
        } else if (op.variant !== "valid") {
          expect((await revertOf(submit)).errorName).toBe("MarketInvalidMeterSignature");
          seen.forged++;
        } else {
          const res = await submit();
          const paid = (t.amount * delivered) / t.wh;
          expect([res.paid, res.refunded]).toEqual([paid, t.amount - paid]);
          move("market", t.seller, paid);
          move("market", t.buyer, t.amount - paid);
          t.status = delivered === 0n ? TradeStatus.REFUNDED : TradeStatus.SETTLED;
          if (delivered === 0n) seen.refundedByMeter++;
          else if (delivered < t.wh) seen.partial++;
          else seen.settled++;
        }
        break;
      }
      case "refund": {
        if (trades.length === 0) break;
        const t = trades[op.trade % trades.length]!;
        const submit = () => c[STRANGER]!.refund(t.id);
        if (t.status !== TradeStatus.OPEN) {
          expect(await revertOf(submit)).toEqual({ errorName: "MarketTradeNotOpen", args: [t.id, BigInt(t.status)] });
        } else if ((await now()) <= t.deadline) {
          expect((await revertOf(submit)).errorName).toBe("MarketDeadlineNotReached");
          seen.early++;
        } else {
          expect((await submit()).amount).toBe(t.amount);
          move("market", t.buyer, t.amount);
          t.status = TradeStatus.REFUNDED;
          seen.refundedAtDeadline++;
        }
        break;
      }
    }
    // After every step: balances, escrow and conservation agree with the model.
    const chain = await Promise.all(ACCOUNTS.map((a) => c[a]!.balanceOf()));
    expect(chain).toEqual(ACCOUNTS.map((a) => bal.get(a)));
    const escrow = await c[0]!.balanceOf(f.addresses.market);
    expect(escrow).toBe(bal.get("market"));
    expect(await c[0]!.market.totalEscrowed()).toBe(escrow);
    expect(chain.reduce((s, b) => s + b, escrow)).toBe(FUND * BigInt(BUYERS.length));
  }
  for (const t of trades) expect((await c[0]!.getTrade(t.id)).status).toBe(t.status);
  expect(trades.filter((t) => t.status === TradeStatus.OPEN).reduce((s, t) => s + t.amount, 0n)).toBe(bal.get("market"));
}

describe("bilateral market against its model", () => {
  it("conserves SGT, never pays without the meter, never pays twice, always refunds after the deadline", async () => {
    const preamble = fc.tuple(
      fc.record({ t: fc.constant("sell" as const), seller: fc.constant(COMPANY), wh: fc.constant(40_000n), price: fc.constant(0n) }),
      fc.record({ t: fc.constant("sell" as const), seller: fc.constant(PROSUMER), wh: fc.constant(40_000n), price: fc.constantFrom(0n, (ONE * 3n) / 10n, ONE) }),
    );
    const ops = fc.tuple(preamble, fc.array(opArb, { minLength: 8, maxLength: 30 })).map(([p, rest]): Op[] => [...p, ...rest]);
    // A hand-written sequence that visits every path runs first; random sequences follow.
    const tour: Op[] = [
      { t: "sell", seller: COMPANY, wh: 40_000n, price: 0n },
      { t: "sell", seller: PROSUMER, wh: 40_000n, price: 0n },
      { t: "buy", buyer: SHARER, seller: PROSUMER, wh: 10_000n },
      { t: "confirm", trade: 0, num: 3n, den: 3n, variant: "valid" },
      { t: "confirm", trade: 0, num: 3n, den: 3n, variant: "valid" },
      { t: "buy", buyer: PRIVATE, seller: COMPANY, wh: 6_000n },
      { t: "confirm", trade: 1, num: 1n, den: 3n, variant: "valid" },
      { t: "buy", buyer: SHARER, seller: COMPANY, wh: 3_000n },
      { t: "confirm", trade: 2, num: 0n, den: 3n, variant: "valid" },
      { t: "buy", buyer: PRIVATE, seller: PROSUMER, wh: 5_000n },
      { t: "confirm", trade: 3, num: 3n, den: 3n, variant: "wrongKey" },
      { t: "refund", trade: 3 },
      { t: "wait", seconds: 5000 },
      { t: "wait", seconds: 3000 },
      { t: "confirm", trade: 3, num: 3n, den: 3n, variant: "valid" },
      { t: "refund", trade: 3 },
    ];
    await fc.assert(fc.asyncProperty(ops, run), { numRuns: 30, examples: [[tour]] });
    console.log(`escrow property paths reached: ${JSON.stringify(seen)}`);
    for (const [path, n] of Object.entries(seen)) expect([path, n > 0]).toEqual([path, true]);
  });
});
