// The README's usage example, run as written (with a test chain instead of `sidegrid up`).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, id } from "ethers";
import { Deployments, latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import { efficiencyReward } from "@sidegrid/dsm";
import {
  BlockTstClient,
  DemandResponseClient,
  ONE,
  clearAuction,
  deployBlockTst,
  deployDemandResponse,
  encodeRegistrationPayload,
  signDeliveryConfirmation,
} from "./index";

let chain: TestChain;
let dir: string;
beforeAll(async () => {
  chain = await startTestChain({ chainId: 31211 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocktst-readme-"));
});
afterAll(async () => {
  await chain.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("runs the README example", async () => {
  const ppc = "0x000000000000000000000000000000000000c0DE"; // BlockPRI's PPC on chain 31001
  const [admin, prosumer, buyer] = await Promise.all([chain.account(0), chain.account(2), chain.account(3)]);
  const addresses = await deployBlockTst({
    sender: admin.sender,
    deployments: Deployments.forNetwork(dir, "blocktst", 31211),
    blockpri: { chainId: 31001, ppc },
  });
  const regulator = new BlockTstClient({ sender: admin.sender, addresses }); // admin, oracle, relayer

  // BlockPRI's registration of the buyer's meter, relayed to the mirror.
  const meterKey = id("the meter's secret key");
  await regulator.relayMessage(31001, ppc, encodeRegistrationPayload(
    { consumer: buyer.wallet.address, meterId: id("meter-42"), meterSigner: new Wallet(meterKey).address, encryptionKey: id("x25519") },
    1n,
  ));
  await regulator.publishGridState(75n, 25n); // D > G: 0.5 × (1 + 0.4 × 0.5) = 0.6 SGT/kWh

  const seller = new BlockTstClient({ sender: prosumer.sender, addresses });
  await seller.sellEnergy(50_000n); // 50 kWh at the rule's price

  const me = new BlockTstClient({ sender: buyer.sender, addresses });
  await me.faucet(100n * ONE);
  const { tradeId, amount } = await me.buyEnergy(seller.address, 50_000n, { approve: true });
  expect(amount).toBe(30n * ONE); // Table 3, situation 1

  // The buyer's meter signs what it received; anyone submits it.
  const sig = signDeliveryConfirmation({ meterKey, chainId: 31211n, market: addresses.market, tradeId, deliveredWh: 50_000n });
  const { paid, trade, payload } = await seller.confirmDelivery(tradeId, 50_000n, sig);
  expect(paid).toBe(30n * ONE);
  expect(trade?.quantityWh).toBe(50_000n);
  expect(payload).toMatch(/^0x/);

  // Hourly auction: bid and offer for the next hour, clear once it starts.
  const hour = (await me.currentHour()) + 1n;
  await me.placeBid(hour, 2_000n, (ONE * 7n) / 10n, { approve: true });
  await seller.placeOffer(hour, 1_500n, (ONE * 5n) / 10n);
  await chain.increaseTime(3600);
  const cleared = await regulator.clearHour(hour);
  const ref = clearAuction({
    orders: [
      { id: 0, owner: me.address, side: "bid", quantityWh: 2_000n, price: (ONE * 7n) / 10n },
      { id: 1, owner: seller.address, side: "offer", quantityWh: 1_500n, price: (ONE * 5n) / 10n },
    ],
    gridPrice: (ONE * 8n) / 10n,
    gridAccount: regulator.address,
  });
  expect([cleared.price, cleared.matchedWh, cleared.gridWh]).toEqual([ref.price, 1_500n, 500n]);
});

it("runs the README's demand-response example", async () => {
  // The first example's accounts and deployment (deployBlockTst is idempotent).
  const [admin, buyer] = await Promise.all([chain.account(0), chain.account(3)]);
  const addresses = await deployBlockTst({
    sender: admin.sender,
    deployments: Deployments.forNetwork(dir, "blocktst", 31211),
    blockpri: { chainId: 31001, ppc: "0x000000000000000000000000000000000000c0DE" },
  });
  const regulator = new BlockTstClient({ sender: admin.sender, addresses });

  const { address } = await deployDemandResponse({ sender: admin.sender, token: addresses.token });
  const utility = new DemandResponseClient({ sender: admin.sender, address }); // oracle, operator, rewarder
  const alice = new DemandResponseClient({ sender: buyer.sender, address });

  const day = (BigInt(await latestTimestamp(chain.provider)) / 86_400n + 1n) * 86_400n;
  const pricesMilli = Array.from({ length: 96 }, (_, i) => (i >= 72 && i < 84 ? 31_000 : 2_900));
  await utility.publishPrices({ firstSlotStart: day, slotSeconds: 900, pricesMilli });
  expect(await utility.priceAt(day + 18n * 3600n)).toEqual({ known: true, priceMilli: 31_000 });

  await alice.setRules([
    { id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" },
    { id: 2, device: "washer", when: { drEvent: true }, action: "off" },
  ]);
  const { version, decoded } = await utility.rulesOf(alice.address);
  expect([version, decoded]).toEqual([
    1n,
    [
      { id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" },
      { id: 2, device: "washer", when: { drEvent: true }, action: "off" },
    ],
  ]);

  const { eventId } = await utility.announceEvent({ start: day + 18n * 3600n, end: day + 19n * 3600n, reduceWatts: 1_500, rewardPerKwhWei: ONE / 2n });

  await regulator.faucet(100n * ONE);
  await utility.fund(100n * ONE, { approve: true });
  await utility.settleDayAhead({ dayStart: day, scheduleRoot: id("the day's schedule"), parBeforeMilli: 4_221, parAfterMilli: 1_604, rewards: [{ household: alice.address, amount: ONE }] });
  await chain.increaseTime(Number(day + 19n * 3600n - BigInt(await latestTimestamp(chain.provider))));
  const evidenceRoot = id("Merkle root of the anchored readings of the event window");
  const paid = await utility.payEfficiencyRewards({ eventId, evidenceRoot, savings: [{ household: alice.address, savedWh: 1_200n }] });
  expect(paid.total).toBe((ONE * 6n) / 10n);
  expect(paid.total).toBe(efficiencyReward(1_200, ONE / 2n));
  const rewards = await utility.rewards({ household: alice.address });
  expect(rewards.map((r) => [r.kind, r.amount])).toEqual([
    ["dayAhead", ONE],
    ["efficiency", (ONE * 6n) / 10n],
  ]);
});
