// The paper's Table 3 reproduced on a real chain: the oracle publishes D and G, the buyer's
// preferences arrive through the mirror, and buyEnergy escrows exactly the paper's price.
import { ZeroAddress } from "ethers";
import { BlockTstClient } from "./client";
import { Category, ONE, Resolution, TradeKind } from "./constants";
import { DEFAULT_PRICE_PARAMS, TABLE3, amountFor, bilateralPrice } from "./price";
import { setupFixture, type Fixture } from "./test-utils/fixture";

const COMPANY = 1;
const PROSUMER = 2;
const BUYER = 3;

let f: Fixture;
let admin: BlockTstClient;
let company: BlockTstClient;
let prosumer: BlockTstClient;
let buyer: BlockTstClient;
let prefVersion = 1n;

beforeAll(async () => {
  f = await setupFixture(31202);
  [admin, company, prosumer, buyer] = await Promise.all([f.client(0), f.client(COMPANY), f.client(PROSUMER), f.client(BUYER)]);
  await admin.grantDistributor(company.address);
  await f.register(BUYER);
  await f.fund([BUYER]);
});

afterAll(() => f.stop());

/** The buyer's whole preference set: consumption monitoring for the company on or off. */
async function setSharing(enabled: boolean): Promise<void> {
  await f.setPreferences(
    BUYER,
    [
      { utility: company.address, category: Category.CONSUMPTION, allowed: enabled, resolution: enabled ? Resolution.HOURLY : Resolution.NONE, expiresAt: 0n },
      { utility: ZeroAddress, category: Category.TRADES, allowed: enabled, resolution: Resolution.NONE, expiresAt: 0n },
    ],
    prefVersion++,
  );
}

describe("Table 3 on chain", () => {
  it.each([...TABLE3])(
    "situation $situation: $kind trade, D $demand / G $generation, privacy sharing $dataSharing → 50 units cost $priceSgt SGT",
    async (row) => {
      const seller = row.kind === "CC" ? company : prosumer;
      await setSharing(row.dataSharing);
      await admin.publishGridState(row.demand, row.generation);
      // The company's own asking price is ignored for CC; the prosumer follows the rule (0).
      await seller.sellEnergy(50_000n, row.kind === "CC" ? 5n * ONE : 0n);

      const quote = await buyer.quote(seller.address, row.units * 1000n);
      const model = bilateralPrice({ params: DEFAULT_PRICE_PARAMS, demand: row.demand, generation: row.generation, kind: row.kind, dataSharing: row.dataSharing, offerPrice: 0n });
      expect(quote).toMatchObject({
        kind: row.kind === "CC" ? TradeKind.CC : TradeKind.CP,
        discounted: row.kind === "CC" && row.dataSharing,
        amount: row.priceSgt * ONE,
        unitPrice: model.unitPrice,
        demand: row.demand,
        generation: row.generation,
      });

      const before = await buyer.balanceOf();
      const sellerBefore = await seller.balanceOf();
      const bought = await buyer.buyEnergy(seller.address, row.units * 1000n, { approve: true });
      expect(bought.amount).toBe(row.priceSgt * ONE);
      expect(bought.amount).toBe(amountFor(model.unitPrice, row.units * 1000n));
      expect(await buyer.balanceOf()).toBe(before - row.priceSgt * ONE);

      const sig = await buyer.signDelivery(f.meterKey(BUYER), bought.tradeId, row.units * 1000n);
      const settled = await prosumer.confirmDelivery(bought.tradeId, row.units * 1000n, sig);
      expect(settled.paid).toBe(row.priceSgt * ONE);
      expect(settled.trade).toMatchObject({ amount: row.priceSgt * ONE, quantityWh: 50_000n, buyer: buyer.address, seller: seller.address });
      expect(await seller.balanceOf()).toBe(sellerBefore + row.priceSgt * ONE);
    },
  );

  it("caps a prosumer's asking price by the rule and keeps a lower one", async () => {
    await admin.publishGridState(75n, 25n); // rule: 0.6 SGT/kWh
    await prosumer.sellEnergy(10_000n, ONE);
    expect((await buyer.quote(prosumer.address, 10_000n)).unitPrice).toBe((ONE * 6n) / 10n);
    await prosumer.sellEnergy(10_000n, ONE / 4n);
    const q = await buyer.quote(prosumer.address, 10_000n);
    expect(q).toMatchObject({ unitPrice: ONE / 4n, rulePrice: (ONE * 6n) / 10n, amount: (ONE * 25n) / 10n });
  });

  it("uses the latest published interval until the oracle publishes the current one", async () => {
    const i = await admin.currentInterval();
    await admin.publishGridState(25n, 75n, i);
    await f.chain.increaseTime(3600);
    const q = await buyer.quote(company.address, 1000n);
    expect(q.interval).toBe(i);
    expect(q.demand).toBe(25n);
    expect(await admin.currentInterval()).toBeGreaterThan(i);
    await admin.publishGridState(75n, 25n);
    const q2 = await buyer.quote(company.address, 1000n);
    expect(q2.interval).toBe(await admin.currentInterval());
    expect(q2.demand).toBe(75n);
  });
});
