// The pure TypeScript reference (price rule, payload encoders) against its Solidity twin, and the
// Table 3 arithmetic on its own.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { Wallet, ZeroAddress, id } from "ethers";
import { Deployments, deployContract, readArtifact, startTestChain, type TestChain } from "@sidegrid/chain";
import { artifactsDir } from "./artifacts";
import { Category, ONE, Resolution, TradeKind } from "./constants";
import { InvalidArgumentError } from "./errors";
import { BlockTstHarness__factory, type BlockTstHarness } from "./generated";
import { decodeTradePayload, encodePreferencesPayload, encodeRegistrationPayload, encodeTradePayload, type Trade } from "./messages";
import { DEFAULT_PRICE_PARAMS, TABLE3, amountFor, bilateralPrice, unitPrice } from "./price";

let chain: TestChain;
let harness: BlockTstHarness;
let dir: string;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31209 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocktst-ref-"));
  const { sender } = await chain.account(0);
  const { address } = await deployContract({
    sender,
    deployments: Deployments.forNetwork(dir, "ref", 31209),
    artifact: readArtifact(artifactsDir, "BlockTstHarness"),
  });
  harness = BlockTstHarness__factory.connect(address, chain.provider);
});

afterAll(async () => {
  await chain.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("Table 3 (paper §5.2) from the rule alone", () => {
  it.each([...TABLE3])("situation $situation ($kind, D $demand, G $generation, sharing $dataSharing): 50 kWh cost $priceSgt SGT", (row) => {
    const { unitPrice: price } = bilateralPrice({
      params: DEFAULT_PRICE_PARAMS,
      demand: row.demand,
      generation: row.generation,
      kind: row.kind,
      dataSharing: row.dataSharing,
      offerPrice: 0n,
    });
    expect(amountFor(price, row.units * 1000n)).toBe(row.priceSgt * ONE);
  });

  it("works out D and G as the paper's high-demand (75/25) and high-generation (25/75) situations", () => {
    expect(TABLE3.map((r) => [r.demand, r.generation, r.kind, r.dataSharing])).toEqual([
      [75n, 25n, "CP", false],
      [25n, 75n, "CC", false],
      [75n, 25n, "CP", true],
      [25n, 75n, "CC", true],
    ]);
    // Per unit: 0.5 × (1 ± 0.4 × 0.5) = 0.6 or 0.4, halved for CC with data sharing.
    expect(unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 75n, generation: 25n, discounted: false })).toBe((ONE * 6n) / 10n);
    expect(unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 25n, generation: 75n, discounted: false })).toBe((ONE * 4n) / 10n);
    expect(unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 25n, generation: 75n, discounted: true })).toBe((ONE * 2n) / 10n);
  });
});

describe("price rule reference", () => {
  it("rounds down at each of its two steps", () => {
    // 0.5 × (1 − 0.4/3) = 0.4333…: floor to the wei; then × 0.5 floors again.
    const p = unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 1n, generation: 2n, discounted: false });
    expect(p).toBe(433333333333333333n);
    expect(unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 1n, generation: 2n, discounted: true })).toBe(216666666666666666n);
    expect(amountFor(p, 1n)).toBe(433333333333333n);
  });

  it("is the base price when demand equals generation or nothing was published", () => {
    expect(unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 40n, generation: 40n, discounted: false })).toBe(ONE / 2n);
    expect(unitPrice({ params: DEFAULT_PRICE_PARAMS, demand: 0n, generation: 0n, discounted: false })).toBe(ONE / 2n);
  });

  it("caps a prosumer's price by the rule and ignores a company's own price", () => {
    const base = { params: DEFAULT_PRICE_PARAMS, demand: 75n, generation: 25n, dataSharing: true };
    expect(bilateralPrice({ ...base, kind: "CP", offerPrice: ONE }).unitPrice).toBe((ONE * 6n) / 10n);
    expect(bilateralPrice({ ...base, kind: "CP", offerPrice: ONE / 4n })).toEqual({ unitPrice: ONE / 4n, rulePrice: (ONE * 6n) / 10n, discounted: false });
    expect(bilateralPrice({ ...base, kind: "CC", offerPrice: ONE / 4n })).toEqual({ unitPrice: (ONE * 3n) / 10n, rulePrice: (ONE * 3n) / 10n, discounted: true });
  });

  it("rejects out-of-range parameters with the offending value", () => {
    const bad = () => unitPrice({ params: { ...DEFAULT_PRICE_PARAMS, k: ONE + 1n }, demand: 1n, generation: 1n, discounted: false });
    expect(bad).toThrow(InvalidArgumentError);
    try {
      bad();
    } catch (e) {
      expect((e as InvalidArgumentError).argument).toBe("k");
      expect((e as InvalidArgumentError).value).toBe(ONE + 1n);
      expect((e as InvalidArgumentError).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("agrees with PriceRule.sol to the wei on random inputs", async () => {
    const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        fc.bigInt({ min: 0n, max: ONE }),
        fc.bigInt({ min: 0n, max: ONE }),
        fc.oneof(u128, fc.bigInt({ min: 0n, max: 1000n })),
        fc.oneof(u128, fc.bigInt({ min: 0n, max: 1000n })),
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        async (base, k, discount, demand, generation, discounted, wh) => {
          const params = { base, k, discount, discountResolution: Resolution.MONTHLY };
          const ts = unitPrice({ params, demand, generation, discounted });
          expect(await harness.unitPrice(base, k, discount, demand, generation, discounted)).toBe(ts);
          expect(await harness.amountFor(ts, wh)).toBe(amountFor(ts, wh));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("payload encoders", () => {
  const trade: Trade = {
    tradeId: 42n,
    buyer: new Wallet(id("b")).address,
    seller: new Wallet(id("s")).address,
    kind: TradeKind.CC,
    quantityWh: 50_000n,
    amount: 10n * ONE,
    unitPrice: ONE / 5n,
    settledAt: 1_700_000_000n,
  };

  it("encodes a trade exactly as SidegridMessages.encodeTrade and decodes it back", async () => {
    const payload = encodeTradePayload(trade);
    expect(payload).toBe(await harness.encodeTrade(trade));
    expect(decodeTradePayload(payload)).toEqual(trade);
  });

  it("encodes registrations and preference sets exactly as BlockPRI's library does", async () => {
    const reg = { consumer: trade.buyer, meterId: id("meter"), meterSigner: trade.seller, encryptionKey: id("x25519") };
    expect(encodeRegistrationPayload(reg, 7n)).toBe(await harness.encodeRegistration(reg, 7n));
    const prefs = [
      { utility: ZeroAddress, category: Category.CONSUMPTION, allowed: true, resolution: Resolution.DAILY, expiresAt: 0n },
      { utility: trade.seller, category: Category.TRADES, allowed: false, resolution: Resolution.NONE, expiresAt: 99n },
    ];
    expect(encodePreferencesPayload(trade.buyer, 3n, prefs)).toBe(await harness.encodePreferences(trade.buyer, 3n, prefs));
    expect(encodePreferencesPayload(trade.buyer, 4n, [])).toBe(await harness.encodePreferences(trade.buyer, 4n, []));
  });
});
