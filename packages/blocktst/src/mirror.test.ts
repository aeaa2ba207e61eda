// The BlockPRI mirror on BlockTST: only the federation role, only from the configured source,
// never older versions, a preference set replaces the previous one, and the data-sharing discount
// follows it.
import { Wallet, ZeroAddress, ZeroHash, id } from "ethers";
import { BlockTstClient } from "./client";
import { Category, ONE, ROLES, Resolution } from "./constants";
import { encodeRegistrationPayload, encodeTradePayload, type Preference } from "./messages";
import { BLOCKPRI, latestTimestamp, revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

const COMPANY = 1;
const CONSUMER = 3;
let f: Fixture;
let relayer: BlockTstClient;
let company: BlockTstClient;
let consumer: BlockTstClient;

beforeAll(async () => {
  f = await setupFixture(31204);
  [relayer, company, consumer] = await Promise.all([f.client(0), f.client(COMPANY), f.client(CONSUMER)]);
  await relayer.grantDistributor(company.address);
  await relayer.publishGridState(25n, 75n); // CC price 0.4, 0.2 with the discount
  await company.sellEnergy(1_000_000n, 0n);
});

afterAll(() => f.stop());

const consumption = (utility: string, allowed: boolean, resolution: Resolution = Resolution.HOURLY, expiresAt = 0n): Preference => ({
  utility,
  category: Category.CONSUMPTION,
  allowed,
  resolution: allowed ? resolution : Resolution.NONE,
  expiresAt,
});

const reg = (signer: string) => ({ consumer: consumer.address, meterId: id("meter 3"), meterSigner: signer, encryptionKey: id("enc 3") });
const discounted = async () => (await consumer.quote(company.address, 1000n)).discounted;

describe("mirror access", () => {
  it("accepts messages only from FEDERATION_ROLE holders", async () => {
    const r = await revertOf(() => consumer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(reg(consumer.address), 1n)));
    expect(r).toEqual({ errorName: "AccessControlUnauthorizedAccount", args: [consumer.address, ROLES.FEDERATION] });
  });

  it("accepts messages only from the configured BlockPRI chain and contract", async () => {
    const payload = encodeRegistrationPayload(reg(consumer.address), 1n);
    expect(await revertOf(() => relayer.relayMessage(31002n, BLOCKPRI.ppc, payload))).toEqual({ errorName: "MirrorUnexpectedSource", args: [31002n, BLOCKPRI.ppc] });
    expect(await revertOf(() => relayer.relayMessage(BLOCKPRI.chainId, company.address, payload))).toEqual({
      errorName: "MirrorUnexpectedSource",
      args: [BLOCKPRI.chainId, company.address],
    });
    expect(await relayer.mirror.source()).toEqual([BLOCKPRI.chainId, BLOCKPRI.ppc]);
  });

  it("rejects malformed payloads with the offending values", async () => {
    expect(await revertOf(() => relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(reg(ZeroAddress), 1n)))).toEqual({
      errorName: "MirrorInvalidRegistration",
      args: [consumer.address, ZeroAddress],
    });
    const trade = encodeTradePayload({ tradeId: 1n, buyer: consumer.address, seller: company.address, kind: 0, quantityWh: 1n, amount: 1n, unitPrice: 1n, settledAt: 1n });
    expect(await revertOf(() => relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, trade))).toEqual({ errorName: "MirrorUnknownMessageKind", args: [3n] });
    const tooMany = Array.from({ length: 129 }, (_, i) => consumption(new Wallet(id(`u${i}`)).address, true));
    expect(await revertOf(() => f.setPreferences(CONSUMER, tooMany, 1n))).toEqual({ errorName: "MirrorTooManyPreferences", args: [consumer.address, 129n, 128n] });
  });
});

describe("registrations", () => {
  it("stores the meter binding and ignores versions it already has or has passed", async () => {
    const k1 = new Wallet(id("k1")).address;
    const k2 = new Wallet(id("k2")).address;
    await relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(reg(k1), 5n));
    expect(await consumer.meterSignerOf(consumer.address)).toBe(k1);
    const [stored, version] = await relayer.mirror.registrationOf(consumer.address);
    expect([stored.consumer, stored.meterId, stored.meterSigner, stored.encryptionKey, version]).toEqual([consumer.address, id("meter 3"), k1, id("enc 3"), 5n]);

    for (const v of [5n, 4n]) {
      const receipt = await relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(reg(k2), v));
      const ev = receipt.logs.map((l) => relayer.mirror.interface.parseLog(l)).find((e) => e?.name === "StaleMessageIgnored")!;
      expect([...ev.args]).toEqual([consumer.address, 2n, 5n, v]);
      expect(await consumer.meterSignerOf(consumer.address)).toBe(k1);
    }
    await relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(reg(k2), 6n));
    expect(await consumer.meterSignerOf(consumer.address)).toBe(k2);
    // The household moved out (released, or an installer moved the meter): no meter, no signer.
    const released = { ...reg(ZeroAddress), meterId: ZeroHash };
    await relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(released, 7n));
    expect(await consumer.meterSignerOf(consumer.address)).toBe(ZeroAddress);
    // A meter without a signer is still malformed.
    expect(await revertOf(() => relayer.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(reg(ZeroAddress), 8n)))).toEqual({
      errorName: "MirrorInvalidRegistration",
      args: [consumer.address, ZeroAddress],
    });
  });
});

describe("preferences and the CC discount", () => {
  it("keeps preference versions apart from registration versions (BlockPRI bumps one counter for both)", async () => {
    // Registration is at 6; a preference set at version 2 is still the newest preference set.
    await f.setPreferences(CONSUMER, [consumption(company.address, true)], 2n);
    expect(await relayer.mirror.preferencesVersionOf(consumer.address)).toBe(2n);
    expect(await discounted()).toBe(true);
    expect((await consumer.quote(company.address, 50_000n)).amount).toBe(10n * ONE);
  });

  it("replaces the whole set: an entry missing from the new set no longer applies", async () => {
    await f.setPreferences(CONSUMER, [consumption(ZeroAddress, false)], 3n);
    const [set] = await relayer.mirror.preferenceOf(consumer.address, company.address, Category.CONSUMPTION);
    expect(set).toBe(false);
    expect(await discounted()).toBe(false);
    expect((await consumer.quote(company.address, 50_000n)).amount).toBe(20n * ONE);
  });

  it("falls back to the default entry, and a specific denial overrides a default grant", async () => {
    await f.setPreferences(CONSUMER, [consumption(ZeroAddress, true, Resolution.MONTHLY)], 4n);
    expect(await discounted()).toBe(true);
    await f.setPreferences(CONSUMER, [consumption(ZeroAddress, true), consumption(company.address, false)], 5n);
    expect(await discounted()).toBe(false);
  });

  it("ignores a stale preference set", async () => {
    await f.setPreferences(CONSUMER, [consumption(company.address, true)], 4n);
    expect(await relayer.mirror.preferencesVersionOf(consumer.address)).toBe(5n);
    expect(await discounted()).toBe(false);
  });

  it("gives no discount for trades-only sharing, an expired grant, or a grant to another company", async () => {
    const now = await latestTimestamp(f.chain);
    await f.setPreferences(CONSUMER, [{ utility: company.address, category: Category.TRADES, allowed: true, resolution: Resolution.NONE, expiresAt: 0n }], 6n);
    expect(await discounted()).toBe(false);
    await f.setPreferences(CONSUMER, [consumption(company.address, true, Resolution.HOURLY, now - 1n)], 7n);
    expect(await discounted()).toBe(false);
    await f.setPreferences(CONSUMER, [consumption(consumer.address, true)], 8n);
    expect(await discounted()).toBe(false);
    await f.setPreferences(CONSUMER, [consumption(company.address, true, Resolution.HOURLY, now + 3600n)], 9n);
    expect(await discounted()).toBe(true);
    await f.chain.increaseTime(3700);
    expect(await discounted()).toBe(false);
  });

  it("requires the governance-set resolution for the discount", async () => {
    const params = await relayer.priceParams();
    await relayer.setPriceParams({ ...params, discountResolution: Resolution.HOURLY });
    await f.setPreferences(CONSUMER, [consumption(company.address, true, Resolution.DAILY)], 10n);
    expect(await discounted()).toBe(false);
    await f.setPreferences(CONSUMER, [consumption(company.address, true, Resolution.QUARTER_HOURLY)], 11n);
    expect(await discounted()).toBe(true);
    await relayer.setPriceParams(params);
  });

  it("applies no discount to CP trades, whatever the buyer shares", async () => {
    const prosumer = await f.client(2);
    await prosumer.sellEnergy(1000n, 0n);
    await f.setPreferences(CONSUMER, [consumption(ZeroAddress, true), consumption(prosumer.address, true)], 12n);
    expect(await consumer.quote(prosumer.address, 1000n)).toMatchObject({ kind: 0, discounted: false, unitPrice: (ONE * 4n) / 10n });
  });
});
