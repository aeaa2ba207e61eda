// Trading accounts on a real anvil chain: a household trades under an account nothing public ties
// to her BlockPRI identity. Its delivery key is a second key of her meter, certified by an
// installer without naming the meter; the company's discount reaches her through a voucher the
// company signs, not through the public mirror. The adversaries: an account certified by a
// non-installer, an expired or revoked certificate, a key that is not the certified one, a forged,
// misdirected or expired voucher, and an observer of BlockTST's logs hunting for her identity.
import { Wallet, ZeroAddress } from "ethers";
import { BlockTstClient } from "./client";
import { Category, ONE, Resolution, TradeKind } from "./constants";
import { deliveryKeyOf, signDiscountVoucher, signTradingAccountCertificate } from "./delivery";
import { revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

const ADMIN = 0;
const PROSUMER = 2;
const HOUSEHOLD = 3; // her BlockPRI identity, registered through the mirror with her meter signer
const COMPANY = 5;
const STRANGER = 6;
const INSTALLER = 7;
const ACCOUNT = 8; // her trading account: not registered anywhere
const OTHER_COMPANY = 9;

let f: Fixture;
let admin: BlockTstClient;
let prosumer: BlockTstClient;
let household: BlockTstClient;
let company: BlockTstClient;
let account: BlockTstClient;
let installerKey: string;
let delivery: Wallet;
let now: number;

const keyOf = async (i: number) => (await f.chain.account(i)).wallet.privateKey;

async function certify(p: { account?: string; deliverySigner?: string; expiresAt?: number; key?: string } = {}) {
  const expiresAt = p.expiresAt ?? now + 86_400;
  const signature = signTradingAccountCertificate({
    installerKey: p.key ?? installerKey,
    chainId: f.chainId,
    market: f.addresses.market,
    account: p.account ?? account.address,
    deliverySigner: p.deliverySigner ?? delivery.address,
    expiresAt,
  });
  return { deliverySigner: p.deliverySigner ?? delivery.address, expiresAt, signature };
}

async function voucher(p: { key?: string; account?: string; expiresAt?: number } = {}) {
  const expiresAt = p.expiresAt ?? now + 3_600;
  return { expiresAt, signature: signDiscountVoucher({ distributorKey: p.key ?? (await keyOf(COMPANY)), chainId: f.chainId, market: f.addresses.market, account: p.account ?? account.address, expiresAt }) };
}

beforeAll(async () => {
  f = await setupFixture(31207);
  [admin, prosumer, household, company, account] = await Promise.all([f.client(ADMIN), f.client(PROSUMER), f.client(HOUSEHOLD), f.client(COMPANY), f.client(ACCOUNT)]);
  installerKey = await keyOf(INSTALLER);
  delivery = deliveryKeyOf(f.meterKey(HOUSEHOLD));
  await admin.grantInstaller(new Wallet(installerKey).address);
  await admin.grantDistributor(company.address);
  await admin.grantDistributor((await f.client(OTHER_COMPANY)).address);
  await f.register(HOUSEHOLD);
  // Her identity lets the company monitor her consumption: the mirror-based discount, for comparison.
  await f.setPreferences(HOUSEHOLD, [{ utility: company.address, category: Category.CONSUMPTION, allowed: true, resolution: Resolution.QUARTER_HOURLY, expiresAt: 0n }], 2n);
  await f.fund([HOUSEHOLD, ACCOUNT]);
  await Promise.all([household.approve("market", 10n ** 30n), account.approve("market", 10n ** 30n)]);
  await admin.publishGridState(75n, 25n);
  await prosumer.sellEnergy(10_000_000n, 0n);
  await company.sellEnergy(10_000_000n, 5n * ONE);
  now = (await f.chain.provider.getBlock("latest"))!.timestamp;
});

afterAll(() => f.stop());

describe("a household's trading account", () => {
  it("derives a delivery key from the meter key that is not the meter signer on BlockPRI", () => {
    expect(delivery.address).not.toBe(new Wallet(f.meterKey(HOUSEHOLD)).address);
    expect(deliveryKeyOf(f.meterKey(HOUSEHOLD)).address).toBe(delivery.address);
    expect(() => deliveryKeyOf("0x1234")).toThrow(/meterKey/);
  });

  it("buys from a prosumer once an installer certified it, and its delivery key alone confirms", async () => {
    expect(await revertOf(() => account.buyEnergy(prosumer.address, 1_000n))).toEqual({ errorName: "MarketMeterNotRegistered", args: [account.address] });
    const cert = await certify();
    await account.registerTradingAccount(cert);
    expect(await account.tradingAccountOf()).toEqual({ deliverySigner: delivery.address, expiresAt: cert.expiresAt, installer: new Wallet(installerKey).address });
    const bought = await account.buyEnergy(prosumer.address, 2_000n);
    // Her BlockPRI meter key is not the one the escrow expects.
    const wrong = await account.signDelivery(f.meterKey(HOUSEHOLD), bought.tradeId, 2_000n);
    expect(await revertOf(() => account.confirmDelivery(bought.tradeId, 2_000n, wrong))).toEqual({ errorName: "MarketInvalidMeterSignature", args: [bought.tradeId, new Wallet(f.meterKey(HOUSEHOLD)).address, delivery.address] });
    const confirmed = await account.confirmDelivery(bought.tradeId, 2_000n, await account.signDelivery(delivery.privateKey, bought.tradeId, 2_000n));
    expect([confirmed.paid, confirmed.trade?.buyer, confirmed.trade?.seller]).toEqual([bought.amount, account.address, prosumer.address]);
  });

  it("refuses a certificate by a non-installer, an expired one, a bad delivery key and a malformed signature", async () => {
    const stranger = await f.client(STRANGER);
    const strangerKey = await keyOf(STRANGER);
    const forged = await certify({ account: stranger.address, key: strangerKey });
    expect(await revertOf(() => stranger.registerTradingAccount(forged))).toEqual({ errorName: "MarketNotCertifiedByInstaller", args: [stranger.address] });
    // A certificate issued to her account does not serve another.
    const hers = await certify();
    expect((await revertOf(() => stranger.registerTradingAccount(hers))).errorName).toBe("MarketNotCertifiedByInstaller");
    const expired = await certify({ account: stranger.address, expiresAt: now - 1 });
    expect(await revertOf(() => stranger.registerTradingAccount(expired))).toEqual({ errorName: "MarketExpired", args: [BigInt(now - 1), expect.any(BigInt)] });
    const zero = await certify({ account: stranger.address, deliverySigner: ZeroAddress });
    expect(await revertOf(() => stranger.registerTradingAccount(zero))).toEqual({ errorName: "MarketInvalidDeliverySigner", args: [ZeroAddress] });
    const self = await certify({ account: stranger.address, deliverySigner: stranger.address });
    expect(await revertOf(() => stranger.registerTradingAccount(self))).toEqual({ errorName: "MarketInvalidDeliverySigner", args: [stranger.address] });
    const garbled = { ...(await certify({ account: stranger.address })), signature: "0x1234" };
    expect(await revertOf(() => stranger.registerTradingAccount(garbled))).toEqual({ errorName: "MarketNotCertifiedByInstaller", args: [ZeroAddress] });
    expect((await stranger.tradingAccountOf()).deliverySigner).toBe(ZeroAddress);
  });

  it("stops buying once closed by itself or revoked by the regulator, and only the regulator revokes", async () => {
    const stranger = await f.client(STRANGER);
    expect((await revertOf(() => stranger.revokeTradingAccount(account.address))).errorName).toBe("AccessControlUnauthorizedAccount");
    await admin.revokeTradingAccount(account.address);
    expect(await revertOf(() => account.buyEnergy(prosumer.address, 1_000n))).toEqual({ errorName: "MarketMeterNotRegistered", args: [account.address] });
    await account.registerTradingAccount(await certify());
    await account.closeTradingAccount();
    expect(await revertOf(() => account.buyEnergy(prosumer.address, 1_000n))).toEqual({ errorName: "MarketMeterNotRegistered", args: [account.address] });
    await account.registerTradingAccount(await certify());
  });

  it("leaves the household trading under her own identity as before (her choice, linkable)", async () => {
    const bought = await household.buyEnergy(prosumer.address, 1_000n);
    const confirmed = await household.confirmDelivery(bought.tradeId, 1_000n, await household.signDelivery(f.meterKey(HOUSEHOLD), bought.tradeId, 1_000n));
    expect(confirmed.trade?.buyer).toBe(household.address);
  });
});

describe("the company's discount without a public link", () => {
  it("gives the trading account with a voucher exactly the price the mirror gives her identity", async () => {
    const v = await voucher();
    const viaMirror = await household.quote(company.address, 10_000n);
    const viaVoucher = await account.quote(company.address, 10_000n, account.address, v);
    const full = await account.quote(company.address, 10_000n);
    expect([viaMirror.kind, viaMirror.discounted, viaVoucher.discounted, full.discounted]).toEqual([TradeKind.CC, true, true, false]);
    expect(viaVoucher.amount).toBe(viaMirror.amount);
    expect(viaVoucher.amount).toBeLessThan(full.amount);
    const bought = await account.buyEnergy(company.address, 10_000n, { voucher: v, approve: true });
    expect([bought.amount, bought.kind]).toEqual([viaMirror.amount, TradeKind.CC]);
  });

  it("refuses a voucher by another company, for another account, expired, malformed, or for a prosumer's offer", async () => {
    const other = await keyOf(OTHER_COMPANY);
    const otherAddress = new Wallet(other).address;
    const byOther = await voucher({ key: other });
    expect(await revertOf(() => account.buyEnergy(company.address, 1_000n, { voucher: byOther }))).toEqual({ errorName: "MarketInvalidVoucher", args: [company.address, expect.any(String)] });
    const forHousehold = await voucher({ account: household.address });
    expect((await revertOf(() => account.buyEnergy(company.address, 1_000n, { voucher: forHousehold }))).errorName).toBe("MarketInvalidVoucher");
    const expired = await voucher({ expiresAt: now - 10 });
    expect((await revertOf(() => account.buyEnergy(company.address, 1_000n, { voucher: expired }))).errorName).toBe("MarketExpired");
    expect(await revertOf(() => account.buyEnergy(company.address, 1_000n, { voucher: { expiresAt: now + 3600, signature: "0x00" } }))).toEqual({ errorName: "MarketInvalidVoucher", args: [company.address, ZeroAddress] });
    const good = await voucher();
    expect(await revertOf(() => account.buyEnergy(prosumer.address, 1_000n, { voucher: good }))).toEqual({ errorName: "MarketVoucherNotForCompany", args: [prosumer.address] });
    // The other company's own voucher is good at its own offer only.
    expect(otherAddress).not.toBe(company.address);
    expect((await revertOf(() => account.quote(company.address, 1_000n, account.address, byOther))).errorName).toBe("MarketInvalidVoucher");
  });
});

describe("an observer of BlockTST", () => {
  it("finds neither her BlockPRI identity nor her meter signer in any log of her trading account's trades", async () => {
    const v = await voucher();
    await account.approve("market", 10n ** 30n); // the voucher purchase above approved exactly its amount
    const cp = await account.buyEnergy(prosumer.address, 3_000n);
    const cpConfirm = await account.confirmDelivery(cp.tradeId, 3_000n, await account.signDelivery(delivery.privateKey, cp.tradeId, 3_000n));
    const cc = await account.buyEnergy(company.address, 3_000n, { voucher: v, maxAmount: 10n ** 24n });
    const ccConfirm = await account.confirmDelivery(cc.tradeId, 3_000n, await account.signDelivery(delivery.privateKey, cc.tradeId, 3_000n));
    const cert = await certify();
    const register = await account.registerTradingAccount(cert);
    const hunted = [household.address, new Wallet(f.meterKey(HOUSEHOLD)).address].map((a) => a.slice(2).toLowerCase());
    const receipts = [cp.receipt, cpConfirm.receipt, cc.receipt, ccConfirm.receipt, register];
    const logs = receipts.flatMap((r) => r.logs);
    expect(logs.length).toBeGreaterThan(8);
    const text = logs.map((l) => [...l.topics, l.data].join("").toLowerCase()).join("");
    for (const h of hunted) expect(text).not.toContain(h);
    // What they do see: her trading account, and the certified delivery key.
    expect(text).toContain(account.address.slice(2).toLowerCase());
    expect(text).toContain(delivery.address.slice(2).toLowerCase());
    // Nor does any transaction's calldata name her.
    for (const r of receipts) {
      const tx = await f.chain.provider.getTransaction(r.transactionHash);
      for (const h of hunted) expect(tx!.data.toLowerCase()).not.toContain(h);
    }
  });
});
