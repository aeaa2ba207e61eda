// Gas measurement shared by gas.test.ts (sizes up to the default cap) and gas.bench.ts (up to the
// hard cap): per-call gas of the market, clearing gas for growing auction books, and the
// DemandResponse operations. Prints a table and writes bench-results/gas.json.
import fs from "node:fs";
import path from "node:path";
import { Wallet, id } from "ethers";
import { devPrivateKey, type TxReceipt } from "@sidegrid/chain";
import type { Rule } from "@sidegrid/dsm";
import { clearAuction, type AuctionOrder } from "../auction";
import { Category, HOUR_SECONDS, ONE, Resolution } from "../constants";
import { deliveryKeyOf, signDeliveryConfirmation, signDiscountVoucher, signTradingAccountCertificate } from "../delivery";
import { DemandResponseClient, deployDemandResponse } from "../demandResponse";
import { EnergyAuction__factory } from "../generated";
import { latestTimestamp, setupFixture, type Fixture } from "./fixture";

export interface ClearingGas {
  perSide: number;
  orders: number;
  trades: number;
  matchedWh: string;
  gas: number;
  gasPerOrder: number;
}

export interface GasReport {
  generatedAt: string;
  node: string;
  market: Record<string, number>;
  auction: Record<string, number>;
  clearing: ClearingGas[];
  demandResponse: Record<string, number>;
}

const COMPANY = 1;
const PROSUMER = 2;
const BUYER = 3;
const TRADERS = [1, 2, 3, 4, 5, 6, 7, 8];
const INSTALLER = 0; // the admin also installs here
const TRADING_ACCOUNT = 6; // an auction trader too, later: not registered as a household
const auctionIface = EnergyAuction__factory.createInterface();

/** Deterministic pseudo-random numbers (a 32-bit LCG): the same books on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function measureGas(chainId: number, sizes: readonly number[], maxOrdersPerSide: number): Promise<GasReport> {
  const f: Fixture = await setupFixture(chainId, { maxOrdersPerSide, gridAccount: new Wallet(devPrivateKey(9)).address });
  try {
    const admin = await f.client(0);
    const company = await f.client(COMPANY);
    const prosumer = await f.client(PROSUMER);
    const buyer = await f.client(BUYER);
    const market: Record<string, number> = {};
    const g = (r: TxReceipt) => Number(r.gasUsed);

    await admin.grantDistributor(company.address);
    await f.register(BUYER);
    await f.setPreferences(BUYER, [{ utility: company.address, category: Category.CONSUMPTION, allowed: true, resolution: Resolution.HOURLY, expiresAt: 0n }], 1n);
    await f.fund(TRADERS, 5000n * ONE);
    await buyer.approve("market", 10n ** 30n);
    market.publishGridState = g(await admin.publishGridState(75n, 25n));
    market["sellEnergy (new offer)"] = g(await prosumer.sellEnergy(1_000_000n, 0n));
    market["sellEnergy (update)"] = g(await prosumer.sellEnergy(1_000_000n, 0n));
    await company.sellEnergy(1_000_000n, 0n);
    const cp1 = await buyer.buyEnergy(prosumer.address, 50_000n);
    market["buyEnergy CP (buyer's first)"] = g(cp1.receipt);
    const cp2 = await buyer.buyEnergy(prosumer.address, 50_000n);
    market["buyEnergy CP"] = g(cp2.receipt);
    const cc = await buyer.buyEnergy(company.address, 50_000n);
    market["buyEnergy CC (discount checked)"] = g(cc.receipt);
    const sign = (id: bigint, wh: bigint) =>
      signDeliveryConfirmation({ meterKey: f.meterKey(BUYER), chainId: f.chainId, market: f.addresses.market, tradeId: id, deliveredWh: wh });
    market["confirmDelivery (full)"] = g((await prosumer.confirmDelivery(cp1.tradeId, 50_000n, sign(cp1.tradeId, 50_000n))).receipt);
    market["confirmDelivery (partial)"] = g((await prosumer.confirmDelivery(cc.tradeId, 20_000n, sign(cc.tradeId, 20_000n))).receipt);
    // A trading account: certified once, then it buys like anyone; a CC purchase with a voucher.
    const account = await f.client(TRADING_ACCOUNT);
    await admin.grantInstaller(admin.address);
    await account.approve("market", 10n ** 30n);
    const expiresAt = Number(await latestTimestamp(f.chain)) + 86_400;
    const deliverySigner = deliveryKeyOf(f.meterKey(BUYER)).address;
    const certificate = signTradingAccountCertificate({ installerKey: devPrivateKey(INSTALLER), chainId: f.chainId, market: f.addresses.market, account: account.address, deliverySigner, expiresAt });
    market.registerTradingAccount = g(await account.registerTradingAccount({ deliverySigner, expiresAt, signature: certificate }));
    market["buyEnergy CP (trading account)"] = g((await account.buyEnergy(prosumer.address, 50_000n)).receipt);
    const voucher = { expiresAt, signature: signDiscountVoucher({ distributorKey: devPrivateKey(COMPANY), chainId: f.chainId, market: f.addresses.market, account: account.address, expiresAt }) };
    market["buyEnergyWithVoucher CC (trading account)"] = g((await account.buyEnergy(company.address, 50_000n, { voucher })).receipt);
    await f.chain.increaseTime(7300);
    market.refund = g((await admin.refund(cp2.tradeId)).receipt);
    market.cancelOffer = g(await company.cancelOffer());

    const auction: Record<string, number> = {};
    const clients = await Promise.all(TRADERS.map((i) => f.client(i)));
    for (const c of clients) await c.approve("auction", 10n ** 30n);
    const clearing: ClearingGas[] = [];
    for (const n of sizes) {
      const hour = (await admin.currentHour()) + 1n;
      const rnd = lcg(n * 7919);
      const orders: AuctionOrder[] = [];
      // Bids 0.40–0.80, offers 0.30–0.70 SGT/kWh: the curves cross around the middle.
      const specs = Array.from({ length: 2 * n }, (_, k) => {
        const side = k % 2 === 0 ? ("bid" as const) : ("offer" as const);
        const cents = side === "bid" ? 40 + Math.floor(rnd() * 41) : 30 + Math.floor(rnd() * 41);
        return { side, wh: BigInt(100 + Math.floor(rnd() * 50) * 100), price: (BigInt(cents) * ONE) / 100n, client: clients[k % clients.length]! };
      });
      // One pipelined batch per account keeps nonces in order (TOOLCHAIN.md).
      const byClient = new Map<number, typeof specs>();
      specs.forEach((s, k) => byClient.set(k % clients.length, [...(byClient.get(k % clients.length) ?? []), s]));
      for (const [ci, list] of byClient) {
        const receipts = await clients[ci]!.sender.sendMany(
          list.map((s) => ({
            to: f.addresses.auction,
            data: s.side === "bid" ? auctionIface.encodeFunctionData("placeBid", [hour, s.wh, s.price]) : auctionIface.encodeFunctionData("placeOffer", [hour, s.wh, s.price]),
          })),
        );
        // The hour's first order also fixes its grid tariff; later ones show the steady cost.
        if (n === sizes[0]) list.forEach((s, k) => (auction[s.side === "bid" ? "placeBid (first of the hour)" : "placeOffer (first)"] ??= Number(receipts[k]!.gasUsed)));
        if (n === sizes[1]) list.forEach((s, k) => k > 0 && (auction[s.side === "bid" ? "placeBid" : "placeOffer"] = Number(receipts[k]!.gasUsed)));
      }
      const book = await admin.listOrders(hour);
      for (const o of book) orders.push({ id: Number(o.orderId), owner: o.owner, side: o.side, quantityWh: o.quantityWh, price: o.price });
      const ts = await latestTimestamp(f.chain);
      await f.chain.increaseTime(Number(hour * BigInt(HOUR_SECONDS) - ts));
      const res = await admin.clearHour(hour);
      const ref = clearAuction({ orders, gridPrice: (await admin.hourOf(hour)).gridPrice, gridAccount: new Wallet(devPrivateKey(9)).address });
      if (res.price !== ref.price || res.matchedWh !== ref.matchedWh || res.trades.length !== ref.trades.length) {
        throw new Error(`clearing of ${n} per side disagrees with the reference`);
      }
      const gas = Number(res.receipt.gasUsed);
      clearing.push({ perSide: n, orders: 2 * n, trades: res.trades.length, matchedWh: res.matchedWh.toString(), gas, gasPerOrder: Math.round(gas / (2 * n)) });
    }
    const demandResponse = await measureDemandResponse(f);
    const report: GasReport = { generatedAt: new Date().toISOString(), node: "anvil (cancun, solc 0.8.37, optimizer 200 runs)", market, auction, clearing, demandResponse };
    return report;
  } finally {
    await f.stop();
  }
}

/** Households paid per settlement in the gas report. */
export const DR_HOUSEHOLDS = 100;

/**
 * DemandResponse on the same chain: a 96-slot publication, an event, 4 rules, day-ahead settlement
 * and efficiency rewards for DR_HOUSEHOLDS households, each paid first to addresses that hold no
 * SGT yet (a new balance slot each) and then to holders.
 */
async function measureDemandResponse(f: Fixture): Promise<Record<string, number>> {
  const gas: Record<string, number> = {};
  const g = (r: TxReceipt) => Number(r.gasUsed);
  const { sender } = await f.chain.account(0);
  const { address } = await deployDemandResponse({ sender, token: f.addresses.token });
  const dr = new DemandResponseClient({ sender, address });
  const household = new DemandResponseClient({ sender: (await f.chain.account(BUYER)).sender, address });
  const now = await latestTimestamp(f.chain);
  const day = (now / 86_400n + 1n) * 86_400n;
  const prices = Array.from({ length: 96 }, (_, i) => 8_000 + 150 * i - (i % 4) * 4_000);
  gas["publishPrices (96 slots)"] = g((await dr.publishPrices({ firstSlotStart: day, slotSeconds: 900, pricesMilli: prices })).receipt);
  gas["publishPrices (96 slots, overwriting)"] = g((await dr.publishPrices({ firstSlotStart: day, slotSeconds: 900, pricesMilli: prices.map((p) => p + 1) })).receipt);
  const ev = await dr.announceEvent({ start: now + 600n, end: now + 4_200n, reduceWatts: 1_500, rewardPerKwhWei: ONE / 2n });
  gas.announceEvent = g(ev.receipt);
  const rules: Rule[] = [
    { id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" },
    { id: 2, device: "washer", when: { drEvent: true }, action: "off" },
    { id: 3, device: "ev", when: { fromMinute: 1320, toMinute: 360 }, action: "charge" },
    { id: 4, device: "heat_pump", when: { priceAbove: 20, drEvent: true }, action: "defer" },
  ];
  gas["setRules (4 rules, first)"] = g((await household.setRules(rules)).receipt);
  gas["setRules (4 rules, replacing 4)"] = g((await household.setRules([...rules].reverse())).receipt);
  await (await f.client(0)).faucet(1_000n * ONE);
  gas["fund (with approve before)"] = g(await dr.fund(1_000n * ONE, { approve: true }));
  const homes = (tag: string) => Array.from({ length: DR_HOUSEHOLDS }, (_, i) => new Wallet(id(`${tag} household ${i}`)).address);
  const [first, second] = [homes("a"), homes("b")];
  const settle = async (dayStart: bigint, hs: string[]) =>
    g((await dr.settleDayAhead({ dayStart, scheduleRoot: id(`schedule ${dayStart}`), parBeforeMilli: 1_800, parAfterMilli: 1_350, rewards: hs.map((h, i) => ({ household: h, amount: ONE / 1000n + BigInt(i) })) })).receipt);
  gas[`settleDayAhead (${DR_HOUSEHOLDS} households, new holders)`] = await settle(day - 86_400n, first);
  gas[`settleDayAhead (${DR_HOUSEHOLDS} households, holders)`] = await settle(day - 2n * 86_400n, first);
  await f.chain.increaseTime(Number(ev.event.end - (await latestTimestamp(f.chain))) + 1);
  const pay = async (hs: string[]) =>
    g((await dr.payEfficiencyRewards({ eventId: ev.eventId, evidenceRoot: id("readings"), savings: hs.map((h, i) => ({ household: h, savedWh: 500n + BigInt(i) })) })).receipt);
  gas[`payEfficiencyRewards (${DR_HOUSEHOLDS} households, holders)`] = await pay(first);
  gas[`payEfficiencyRewards (${DR_HOUSEHOLDS} households, new holders)`] = await pay(second);
  return gas;
}

/** Prints the report as tables and writes it to bench-results/gas.json. */
export function writeGasReport(report: GasReport): string {
  const lines = ["BlockTST gas", ...Object.entries({ ...report.market, ...report.auction }).map(([k, v]) => `  ${k.padEnd(34)} ${String(v).padStart(9)}`)];
  lines.push("  auction clearing: per side | orders | trades | gas | gas/order");
  for (const c of report.clearing) {
    lines.push(`    ${String(c.perSide).padStart(4)} | ${String(c.orders).padStart(4)} | ${String(c.trades).padStart(4)} | ${String(c.gas).padStart(10)} | ${String(c.gasPerOrder).padStart(7)}`);
  }
  lines.push("  demand response:");
  for (const [k, v] of Object.entries(report.demandResponse)) lines.push(`    ${k.padEnd(52)} ${String(v).padStart(9)}`);
  const text = lines.join("\n");
  console.log(text);
  const dir = path.join(__dirname, "..", "..", "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "gas.json");
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
