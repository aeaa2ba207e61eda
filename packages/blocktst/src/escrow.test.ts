// Escrow and meter-confirmed delivery: nobody is paid without the buyer's meter's signature over
// exactly this trade, amount, market and chain; nothing is paid twice; the deadline always refunds.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Interface, Wallet, ZeroAddress, getAddress, recoverAddress } from "ethers";
import { Deployments, deployContract, readArtifact } from "@sidegrid/chain";
import { artifactsDir } from "./artifacts";
import { BlockTstClient } from "./client";
import { ONE, ROLES, TradeKind, TradeStatus } from "./constants";
import { deliveryDigest, signDeliveryConfirmation } from "./delivery";
import { MockTradeOutbox__factory } from "./generated";
import { decodeTradePayload, encodeRegistrationPayload, encodeTradePayload } from "./messages";
import { BLOCKPRI, revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

const PROSUMER = 2;
const BUYER = 3;
const OTHER = 4; // registered buyer too, with a meter of its own
const STRANGER = 6;
const WINDOW = 7200;

let f: Fixture;
let admin: BlockTstClient;
let prosumer: BlockTstClient;
let buyer: BlockTstClient;
let other: BlockTstClient;
let stranger: BlockTstClient;

beforeAll(async () => {
  f = await setupFixture(31203);
  [admin, prosumer, buyer, other, stranger] = await Promise.all([f.client(0), f.client(PROSUMER), f.client(BUYER), f.client(OTHER), f.client(STRANGER)]);
  await Promise.all([f.register(BUYER), f.register(OTHER)]);
  await f.fund([BUYER, OTHER]);
  await buyer.approve("market", 10n ** 30n);
  await other.approve("market", 10n ** 30n);
  await admin.publishGridState(75n, 25n); // 0.6 SGT/kWh
  await prosumer.sellEnergy(10_000_000n, 0n);
});

afterAll(() => f.stop());

/** Buys 50 kWh (30 SGT) from the prosumer. */
async function buy(client = buyer) {
  return client.buyEnergy(prosumer.address, 50_000n);
}

const sign = (tradeId: bigint, wh: bigint, key = f.meterKey(BUYER), chainId = f.chainId, market = f.addresses.market) =>
  signDeliveryConfirmation({ meterKey: key, chainId, market, tradeId, deliveredWh: wh });

describe("escrow", () => {
  it("locks the buyer's SGT in the market at purchase, snapshotting the buyer's meter key", async () => {
    const before = await buyer.balanceOf();
    const escrowBefore = await buyer.market.totalEscrowed();
    const { tradeId, amount, deadline, receipt } = await buy();
    expect(amount).toBe(30n * ONE);
    expect(await buyer.balanceOf()).toBe(before - amount);
    expect(await buyer.market.totalEscrowed()).toBe(escrowBefore + amount);
    const block = await f.chain.provider.getBlock(receipt.blockNumber);
    expect(deadline).toBe(BigInt(block!.timestamp + WINDOW));
    expect(await buyer.getTrade(tradeId)).toMatchObject({
      status: TradeStatus.OPEN,
      kind: TradeKind.CP,
      buyer: buyer.address,
      seller: prosumer.address,
      quantityWh: 50_000n,
      amount,
      unitPrice: (ONE * 6n) / 10n,
      meterSigner: new Wallet(f.meterKey(BUYER)).address,
    });
  });

  it("refuses a confirmation signed by the wrong key, naming the recovered and expected signers", async () => {
    const { tradeId } = await buy();
    const wrong = f.meterKey(OTHER);
    const r = await revertOf(() => prosumer.confirmDelivery(tradeId, 50_000n, sign(tradeId, 50_000n, wrong)));
    expect(r.errorName).toBe("MarketInvalidMeterSignature");
    expect(r.args).toEqual([tradeId, new Wallet(wrong).address, new Wallet(f.meterKey(BUYER)).address]);
    // The buyer's own wallet key is not the meter key either.
    const walletKey = (await f.chain.account(BUYER)).wallet.privateKey;
    const r2 = await revertOf(() => prosumer.confirmDelivery(tradeId, 50_000n, sign(tradeId, 50_000n, walletKey)));
    expect(r2.args).toEqual([tradeId, buyer.address, new Wallet(f.meterKey(BUYER)).address]);
    expect((await buyer.getTrade(tradeId)).status).toBe(TradeStatus.OPEN);
  });

  it("refuses a signature for another trade id, another amount, another chain or another market", async () => {
    const { tradeId } = await buy();
    const expected = new Wallet(f.meterKey(BUYER)).address;
    const cases: [string, string, bigint][] = [
      ["other trade id", sign(tradeId + 1000n, 50_000n), 50_000n],
      ["other amount", sign(tradeId, 50_000n), 40_000n],
      ["other chain's domain", sign(tradeId, 50_000n, f.meterKey(BUYER), 31003n), 50_000n],
      ["other market's domain", sign(tradeId, 50_000n, f.meterKey(BUYER), f.chainId, f.addresses.auction), 50_000n],
    ];
    for (const [, sig, wh] of cases) {
      const r = await revertOf(() => prosumer.confirmDelivery(tradeId, wh, sig));
      // What the contract recovers is whatever the signature says over *this* trade's digest.
      const recovered = recoverAddress(deliveryDigest({ chainId: f.chainId, market: f.addresses.market, tradeId, deliveredWh: wh }), sig);
      expect(recovered).not.toBe(expected);
      expect(r).toEqual({ errorName: "MarketInvalidMeterSignature", args: [tradeId, recovered, expected] });
    }
    const r = await revertOf(() => prosumer.confirmDelivery(tradeId, 50_000n, "0x1234"));
    expect(r).toEqual({ errorName: "MarketInvalidMeterSignature", args: [tradeId, ZeroAddress, expected] });
    expect((await buyer.getTrade(tradeId)).status).toBe(TradeStatus.OPEN);
  });

  it("pays the seller once on a valid confirmation and refuses the replayed signature", async () => {
    const { tradeId, amount } = await buy();
    const sig = sign(tradeId, 50_000n);
    const sellerBefore = await prosumer.balanceOf();
    const res = await stranger.confirmDelivery(tradeId, 50_000n, sig); // anyone may submit
    expect(res.paid).toBe(amount);
    expect(res.refunded).toBe(0n);
    expect(await prosumer.balanceOf()).toBe(sellerBefore + amount);
    const r = await revertOf(() => stranger.confirmDelivery(tradeId, 50_000n, sig));
    expect(r).toEqual({ errorName: "MarketTradeNotOpen", args: [tradeId, BigInt(TradeStatus.SETTLED)] });
    await f.chain.increaseTime(WINDOW + 10);
    const r2 = await revertOf(() => stranger.refund(tradeId));
    expect(r2).toEqual({ errorName: "MarketTradeNotOpen", args: [tradeId, BigInt(TradeStatus.SETTLED)] });
    expect(await prosumer.balanceOf()).toBe(sellerBefore + amount);
  });

  it("pays a partial delivery pro rata (rounded down) and refunds the rest", async () => {
    await admin.publishGridState(2n, 1n); // 0.5 × (1 + 0.4/3): a price that does not divide evenly
    const { tradeId, amount, unitPrice } = await buy();
    expect(unitPrice).toBe(566666666666666666n);
    const buyerBefore = await buyer.balanceOf();
    const sellerBefore = await prosumer.balanceOf();
    const res = await prosumer.confirmDelivery(tradeId, 33_333n, sign(tradeId, 33_333n));
    const paid = (amount * 33_333n) / 50_000n;
    expect(res.paid).toBe(paid);
    expect(res.refunded).toBe(amount - paid);
    expect(await prosumer.balanceOf()).toBe(sellerBefore + paid);
    expect(await buyer.balanceOf()).toBe(buyerBefore + amount - paid);
    expect(await buyer.getTrade(tradeId)).toMatchObject({ status: TradeStatus.SETTLED, deliveredWh: 33_333n });
    await admin.publishGridState(75n, 25n);
  });

  it("emits TradeSettled and the exact relay payload for the settled part", async () => {
    const { tradeId, amount } = await buy();
    const res = await prosumer.confirmDelivery(tradeId, 25_000n, sign(tradeId, 25_000n));
    const block = await f.chain.provider.getBlock(res.receipt.blockNumber);
    const expected = {
      tradeId,
      buyer: buyer.address,
      seller: prosumer.address,
      kind: TradeKind.CP,
      quantityWh: 25_000n,
      amount: amount / 2n,
      unitPrice: (ONE * 6n) / 10n,
      settledAt: BigInt(block!.timestamp),
    };
    expect(res.payload).toBe(encodeTradePayload(expected));
    expect(decodeTradePayload(res.payload!)).toEqual(expected);
    const iface = buyer.market.interface;
    const settled = res.receipt.logs.map((l) => iface.parseLog(l)).find((l) => l?.name === "TradeSettled")!;
    expect([...settled.args]).toEqual([tradeId, buyer.address, prosumer.address, BigInt(TradeKind.CP), 25_000n, amount / 2n, (ONE * 6n) / 10n]);
    const log = await buyer.settledTrades({ fromBlock: res.receipt.blockNumber });
    expect(log).toEqual([expected]);
  });

  it("refunds everything when the meter confirms zero delivery, and logs no trade", async () => {
    const { tradeId, amount } = await buy();
    const before = await buyer.balanceOf();
    const res = await prosumer.confirmDelivery(tradeId, 0n, sign(tradeId, 0n));
    expect(res).toMatchObject({ paid: 0n, refunded: amount, trade: null, payload: null });
    expect(await buyer.balanceOf()).toBe(before + amount);
    expect((await buyer.getTrade(tradeId)).status).toBe(TradeStatus.REFUNDED);
  });

  it("refuses a delivery larger than the trade", async () => {
    const { tradeId } = await buy();
    const r = await revertOf(() => prosumer.confirmDelivery(tradeId, 50_001n, sign(tradeId, 50_001n)));
    expect(r).toEqual({ errorName: "MarketDeliveryExceedsQuantity", args: [tradeId, 50_001n, 50_000n] });
  });

  it("refunds after the deadline only, to the buyer, whoever triggers it; late confirmations fail", async () => {
    const { tradeId, amount, deadline } = await buy();
    const early = await revertOf(() => stranger.refund(tradeId));
    expect(early.errorName).toBe("MarketDeadlineNotReached");
    expect(early.args[0]).toBe(tradeId);
    expect(early.args[1]).toBe(deadline);
    await f.chain.increaseTime(WINDOW + 1);
    const late = await revertOf(() => prosumer.confirmDelivery(tradeId, 50_000n, sign(tradeId, 50_000n)));
    expect(late.errorName).toBe("MarketDeadlinePassed");
    expect(late.args.slice(0, 2)).toEqual([tradeId, deadline]);
    const before = await buyer.balanceOf();
    const strangerBefore = await stranger.balanceOf();
    const res = await stranger.refund(tradeId);
    expect(res.amount).toBe(amount);
    expect(await buyer.balanceOf()).toBe(before + amount);
    expect(await stranger.balanceOf()).toBe(strangerBefore);
    const twice = await revertOf(() => stranger.refund(tradeId));
    expect(twice).toEqual({ errorName: "MarketTradeNotOpen", args: [tradeId, BigInt(TradeStatus.REFUNDED)] });
  });

  it("keeps the meter key of the purchase when the buyer re-registers another meter", async () => {
    const { tradeId } = await buy(other);
    const oldKey = f.meterKey(OTHER);
    // BlockPRI relays a new binding for OTHER with the meter key of account 9.
    const c = await f.client(OTHER);
    await admin.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodeRegistrationPayload(
      { consumer: c.address, meterId: "0x" + "77".repeat(32), meterSigner: new Wallet(f.meterKey(9)).address, encryptionKey: "0x" + "11".repeat(32) },
      2n,
    ));
    expect(await other.meterSignerOf(other.address)).toBe(new Wallet(f.meterKey(9)).address);
    const r = await revertOf(() => prosumer.confirmDelivery(tradeId, 1000n, sign(tradeId, 1000n, f.meterKey(9))));
    expect(r.errorName).toBe("MarketInvalidMeterSignature");
    const ok = await prosumer.confirmDelivery(tradeId, 1000n, sign(tradeId, 1000n, oldKey));
    expect(ok.deliveredWh).toBe(1000n);
  });
});

describe("buying", () => {
  it("refuses an unregistered buyer, a self-trade, an oversized or empty purchase", async () => {
    await stranger.faucet(100n * ONE);
    await stranger.approve("market", 100n * ONE);
    expect(await revertOf(() => stranger.buyEnergy(prosumer.address, 1000n))).toEqual({ errorName: "MarketMeterNotRegistered", args: [stranger.address] });
    expect(await revertOf(() => prosumer.buyEnergy(prosumer.address, 1000n))).toEqual({ errorName: "MarketSelfTrade", args: [prosumer.address] });
    const offer = await buyer.offerOf(prosumer.address);
    expect(await revertOf(() => buyer.buyEnergy(prosumer.address, offer.quantityWh + 1n))).toEqual({
      errorName: "MarketInsufficientOffer",
      args: [prosumer.address, offer.quantityWh + 1n, offer.quantityWh],
    });
    const zero = buyer.market.interface.encodeFunctionData("buyEnergy", [prosumer.address, 0n]);
    expect(await revertOf(() => buyer.sender.sendAndWait({ to: f.addresses.market, data: zero }))).toEqual({ errorName: "MarketZeroQuantity", args: [] });
    await expect(buyer.buyEnergy(prosumer.address, 0n)).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "quantityWh", value: 0n });
  });

  it("honours the buyer's price limit", async () => {
    expect(await revertOf(() => buyer.buyEnergy(prosumer.address, 50_000n, { maxAmount: 29n * ONE }))).toEqual({
      errorName: "MarketAmountAboveLimit",
      args: [30n * ONE, 29n * ONE],
    });
    const ok = await buyer.buyEnergy(prosumer.address, 50_000n, { maxAmount: 30n * ONE });
    expect(ok.amount).toBe(30n * ONE);
  });

  it("reduces the offer by each purchase; a cancelled offer sells nothing, open trades stay", async () => {
    await prosumer.sellEnergy(60_000n, 0n);
    const { tradeId } = await buy();
    expect((await buyer.offerOf(prosumer.address)).quantityWh).toBe(10_000n);
    await prosumer.cancelOffer();
    expect(await buyer.offerOf(prosumer.address)).toEqual({ quantityWh: 0n, unitPrice: 0n });
    expect(await revertOf(() => buy())).toEqual({ errorName: "MarketInsufficientOffer", args: [prosumer.address, 50_000n, 0n] });
    const res = await prosumer.confirmDelivery(tradeId, 50_000n, sign(tradeId, 50_000n));
    expect(res.paid).toBe(30n * ONE);
    await prosumer.sellEnergy(10_000_000n, 0n);
  });

  it("refuses governance and oracle calls from other accounts with AccessControl's error", async () => {
    const r = await revertOf(() => stranger.publishGridState(1n, 1n));
    expect(r).toEqual({ errorName: "AccessControlUnauthorizedAccount", args: [stranger.address, ROLES.ORACLE] });
    const future = (await admin.currentInterval()) + 1n;
    expect(await revertOf(() => admin.publishGridState(1n, 1n, future))).toEqual({ errorName: "MarketFutureInterval", args: [future, future - 1n] });
    const i = await admin.currentInterval();
    expect(await revertOf(() => admin.publishGridState(0n, 0n))).toEqual({ errorName: "MarketInvalidGridState", args: [i, 0n, 0n] });
  });
});

describe("relay outbox hook", () => {
  it("sends every settled trade's payload through the outbox when one is set; a refusing outbox blocks settlement, not refunds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocktst-outbox-"));
    const { sender } = await f.chain.account(0);
    const { address: outbox } = await deployContract({
      sender,
      deployments: Deployments.forNetwork(dir, "outbox", Number(f.chainId)),
      artifact: readArtifact(artifactsDir, "MockTradeOutbox"),
    });
    fs.rmSync(dir, { recursive: true, force: true });
    const marketIface = admin.market.interface;
    const sec = getAddress("0x00000000000000000000000000000000000b5ec0");
    await sender.sendAndWait({ to: f.addresses.market, data: marketIface.encodeFunctionData("setOutbox", [outbox, 31002n, sec]) });

    const { tradeId } = await buy();
    const res = await prosumer.confirmDelivery(tradeId, 50_000n, sign(tradeId, 50_000n));
    const outIface = new Interface(MockTradeOutbox__factory.abi);
    const sent = res.receipt.logs.filter((l) => l.address.toLowerCase() === outbox.toLowerCase()).map((l) => outIface.parseLog(l)!);
    expect(sent).toHaveLength(1);
    expect([...sent[0]!.args]).toEqual([1n, f.addresses.market, 31002n, sec, res.payload]);

    await sender.sendAndWait({ to: outbox, data: outIface.encodeFunctionData("setRefuse", [true]) });
    const second = await buy();
    prosumer.sender.addAbi(MockTradeOutbox__factory.abi);
    const r = await revertOf(() => prosumer.confirmDelivery(second.tradeId, 50_000n, sign(second.tradeId, 50_000n)));
    expect(r).toEqual({ errorName: "MockOutboxRefused", args: [f.addresses.market] });
    expect((await buyer.getTrade(second.tradeId)).status).toBe(TradeStatus.OPEN);
    await f.chain.increaseTime(WINDOW + 1);
    expect((await stranger.refund(second.tradeId)).amount).toBe(30n * ONE);
    await sender.sendAndWait({ to: f.addresses.market, data: marketIface.encodeFunctionData("setOutbox", [ZeroAddress, 0n, ZeroAddress]) });
  });
});
