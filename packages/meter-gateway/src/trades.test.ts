// The trade sealer alone: relayed trades in, sealed TRADES records and key publications out, in
// the gateway's real LevelDB store, with consent from an in-memory policy source (the chain side
// is covered by test/tradePrivacy.test.ts on a whole system). The adversaries here: an account
// linked without its signature or away from another household, and a refusing household.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import nacl from "tweetnacl";
import { Wallet } from "ethers";
import { deriveCustodyKeyPair, openConsumerEnvelope, type Trade } from "@sidegrid/blocksec";
import { EpochKeys } from "./epochKeys";
import { CONTENT_TRADE, decodeSealedTrade, encodeSealedTrade, openTradePayload, payloadKeyId, type SealedTrade } from "./payload";
import { CachedPolicy } from "./policy";
import { Category, Resolution } from "./resolution";
import { GatewayStore } from "./store";
import { MemoryPolicySource } from "./test-utils/memoryPolicy";
import { TRADE_SEQUENCE_BASE, TradeSealer, tradingAccountLinkMessage } from "./trades";

const members = [1, 2, 3].map((i) => deriveCustodyKeyPair(`0x${i.toString(16).padStart(64, "0")}`));
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const UTILITY = new Wallet(`0x${"11".repeat(32)}`).address;
const GATEWAY = new Wallet(`0x${"22".repeat(32)}`).address;
const CHAIN_ID = 31702;
const T = 1_765_000_000; // settlement time, Unix seconds

const alice = { wallet: new Wallet(`0x${"a1".repeat(32)}`), box: nacl.box.keyPair(), meterId: 1 };
const carol = { wallet: new Wallet(`0x${"c3".repeat(32)}`), box: nacl.box.keyPair(), meterId: 3 };
const aliceAccount = new Wallet(`0x${"a2".repeat(32)}`);
const prosumer = new Wallet(`0x${"50".repeat(32)}`).address;

let dir: string;
let store: GatewayStore;
let source: MemoryPolicySource;
let relayed: (Trade & { blockNumber: number })[];
let head: number;
let sealer: TradeSealer;
let keys: EpochKeys;

function tradeOf(id: bigint, buyer: string, seller: string, at = T): Trade & { blockNumber: number } {
  return { tradeId: id, buyer, seller, kind: "CP", quantityWh: 2_000n, amount: 3n * 10n ** 18n, unitPrice: 15n * 10n ** 14n, settledAt: at, blockNumber: ++head };
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "trades-"));
  store = await GatewayStore.open(path.join(dir, "db"));
  source = new MemoryPolicySource();
  source.bind(alice.meterId, { consumer: alice.wallet.address, encryptionKey: alice.box.publicKey });
  source.bind(carol.meterId, { consumer: carol.wallet.address, encryptionKey: carol.box.publicKey });
  source.allowTrades(alice.wallet.address, UTILITY, true);
  relayed = [];
  head = 100;
  keys = new EpochKeys({ source: { custodySet: async () => ({ setIndex: 0, keys: members.map((m) => hex(m.publicKey)), threshold: 2 }), keyTaken: async () => false } });
  const sec = {
    provider: { getBlockNumber: async () => head },
    relayedTrades: async (o: { fromBlock?: number; toBlock?: number | "latest"; party?: string } = {}) =>
      relayed.filter((t) => t.blockNumber >= (o.fromBlock ?? 0) && t.blockNumber <= (o.toBlock === undefined || o.toBlock === "latest" ? head : o.toBlock) && (!o.party || t.buyer === o.party || t.seller === o.party)),
  };
  sealer = new TradeSealer({ sec, store, policy: new CachedPolicy(source, { utility: UTILITY }), epochKeys: keys, meterIds: [1, 2, 3], gateway: GATEWAY, chainId: CHAIN_ID });
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const link = async (consumer: Wallet, account: Wallet, gateway = GATEWAY) =>
  sealer.link(consumer.address, account.address, await account.signMessage(tradingAccountLinkMessage({ consumer: consumer.address, account: account.address, gateway, chainId: CHAIN_ID })));

async function pendingTrades() {
  return (await store.pendingRecords(100)).filter((r) => r.category === Category.TRADES);
}

it("round-trips one side of a trade through its 164-byte plaintext and refuses a malformed one", () => {
  const t: SealedTrade = { side: "SELLER", kind: "AUCTION", tradeId: 2n ** 200n, settledAt: T, account: alice.wallet.address, counterparty: prosumer, quantityWh: 2n ** 100n, amount: 7n, unitPrice: 2n ** 255n };
  const b = encodeSealedTrade(t);
  expect(b.length).toBe(164);
  expect(decodeSealedTrade(b)).toEqual(t);
  expect(() => decodeSealedTrade(b.subarray(1))).toThrow(/163 bytes/);
  expect(() => encodeSealedTrade({ ...t, quantityWh: 2n ** 128n })).toThrow(/quantityWh/);
  const bad = b.slice();
  bad[2] = 9;
  expect(() => decodeSealedTrade(bad)).toThrow(/kind 9/);
});

it("seals a consenting household's trades under her trade epoch key and nobody else's, once, with her key published", async () => {
  relayed.push(tradeOf(7n, alice.wallet.address, prosumer), tradeOf(8n, carol.wallet.address, prosumer), tradeOf(9n, prosumer, Wallet.createRandom().address));
  await sealer.poll();
  await sealer.poll(); // nothing new: nothing twice
  const recs = await pendingTrades();
  expect(recs.map((r) => [r.consumer, r.meterId, r.sequence, r.resolution, r.periodStart])).toEqual([[alice.wallet.address, 1, TRADE_SEQUENCE_BASE + 14, Resolution.NONE, T * 1000]]);
  expect(sealer.stats).toMatchObject({ sealed: 1, notPermitted: 1, notOurs: 4, cursor: head });
  // Her key, published with the record: resolution NONE, boxed to her; it opens the sealed trade.
  const [pub] = await store.pendingKeys();
  expect([pub!.consumer, pub!.resolution, pub!.keyId]).toEqual([alice.wallet.address, Resolution.NONE, payloadKeyId(Buffer.from(recs[0]!.payload.slice(2), "hex"))]);
  const envelope = Buffer.from(pub!.envelope.slice(2), "hex");
  const dataKey = openConsumerEnvelope(envelope, { consumer: alice.wallet.address, keyId: pub!.keyId }, alice.box.secretKey);
  const payload = Buffer.from(recs[0]!.payload.slice(2), "hex");
  expect(payload[1]).toBe(CONTENT_TRADE);
  const opened = openTradePayload(payload, dataKey, { meterId: 1, sequence: TRADE_SEQUENCE_BASE + 14, resolution: 0 });
  expect(opened).toMatchObject({ side: "BUYER", tradeId: 7n, account: alice.wallet.address, counterparty: prosumer, amount: 3n * 10n ** 18n });
  // Moved to another leaf (another sequence), the payload does not open.
  expect(() => openTradePayload(payload, dataKey, { meterId: 1, sequence: TRADE_SEQUENCE_BASE + 15, resolution: 0 })).toThrow(/does not authenticate/);
});

it("seals the trades of a linked trading account into the household's log, including those before the link", async () => {
  relayed.push(tradeOf(1n, aliceAccount.address, prosumer));
  await sealer.poll();
  expect(await pendingTrades()).toEqual([]);
  expect(await link(alice.wallet, aliceAccount)).toMatchObject({ consumer: alice.wallet.address, account: aliceAccount.address });
  relayed.push(tradeOf(2n, prosumer, aliceAccount.address));
  await sealer.poll();
  const recs = await pendingTrades();
  expect(recs.map((r) => [r.consumer, r.sequence]).sort()).toEqual([
    [alice.wallet.address, TRADE_SEQUENCE_BASE + 2],
    [alice.wallet.address, TRADE_SEQUENCE_BASE + 5],
  ]);
  expect((await sealer.accountsOf(alice.wallet.address)).map((l) => l.account)).toEqual([aliceAccount.address]);
  expect(await sealer.unlink(carol.wallet.address, aliceAccount.address)).toBe(false);
  expect(await sealer.unlink(alice.wallet.address, aliceAccount.address)).toBe(true);
  relayed.push(tradeOf(3n, aliceAccount.address, prosumer));
  await sealer.poll();
  expect((await pendingTrades()).length).toBe(2);
});

it("refuses a link the account did not sign, signed for another gateway, of her own address, of a household not here, or of another household's account", async () => {
  const sig = (w: Wallet, consumer: string, account: string, gateway = GATEWAY) => w.signMessage(tradingAccountLinkMessage({ consumer, account, gateway, chainId: CHAIN_ID }));
  await expect(sealer.link(alice.wallet.address, aliceAccount.address, await sig(alice.wallet, alice.wallet.address, aliceAccount.address))).rejects.toMatchObject({ code: "LINK_REFUSED" });
  await expect(link(alice.wallet, aliceAccount, Wallet.createRandom().address)).rejects.toMatchObject({ code: "LINK_REFUSED" });
  await expect(sealer.link(alice.wallet.address, alice.wallet.address, await sig(alice.wallet, alice.wallet.address, alice.wallet.address))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  await expect(sealer.link(alice.wallet.address, aliceAccount.address, "0x1234")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  const stranger = new Wallet(`0x${"77".repeat(32)}`);
  await expect(link(stranger, aliceAccount)).rejects.toMatchObject({ code: "NOT_FOUND" });
  await link(alice.wallet, aliceAccount);
  await expect(link(carol.wallet, aliceAccount)).rejects.toMatchObject({ code: "LINK_CONFLICT" });
  expect((await sealer.accountsOf(carol.wallet.address)).length).toBe(0);
});

it("stops sealing when she withdraws trade monitoring, and does not lose the cursor over a restart", async () => {
  relayed.push(tradeOf(1n, alice.wallet.address, prosumer));
  await sealer.poll();
  source.allowTrades(alice.wallet.address, UTILITY, false);
  relayed.push(tradeOf(2n, alice.wallet.address, prosumer));
  await sealer.poll();
  expect((await pendingTrades()).map((r) => r.sequence)).toEqual([TRADE_SEQUENCE_BASE + 2]);
  expect(await store.getMeta("trades-cursor")).toBe(head);
  // Restart: a new store handle and sealer. Trade 2 (refused then) is not re-read now that she
  // allows trades again; trade 3 is sealed.
  await store.close();
  store = await GatewayStore.open(path.join(dir, "db"));
  source.allowTrades(alice.wallet.address, UTILITY, true);
  const sec = { provider: { getBlockNumber: async () => head }, relayedTrades: async (o: { fromBlock?: number; toBlock?: number | "latest" } = {}) => relayed.filter((t) => t.blockNumber >= (o.fromBlock ?? 0) && t.blockNumber <= (typeof o.toBlock === "number" ? o.toBlock : head)) };
  const again = new TradeSealer({ sec, store, policy: new CachedPolicy(source, { utility: UTILITY }), epochKeys: keys, meterIds: [1], gateway: GATEWAY, chainId: CHAIN_ID });
  relayed.push(tradeOf(3n, alice.wallet.address, prosumer));
  await again.poll();
  expect((await pendingTrades()).map((r) => r.sequence).sort()).toEqual([TRADE_SEQUENCE_BASE + 2, TRADE_SEQUENCE_BASE + 6]);
});
