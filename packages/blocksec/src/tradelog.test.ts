import { latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import type { BlockSecClient } from "./client";
import type { FunctionFragment } from "ethers";
import { TradeLog__factory } from "./generated";
import { decodeTradePayload, encodeTradePayload } from "./trades";
import { A, meterId, revertOf, setupSec, type SecWorld } from "./test-utils/world";
import type { Trade } from "./types";

const TST_CHAIN_ID = 31160;
const MARKET = "0x000000000000000000000000000000000000bEEF";
let chain: TestChain;
let w: SecWorld;
let relayer: BlockSecClient;
let alice: string;
let bob: string;
let carol: string;
let snap: string;
const iface = TradeLog__factory.createInterface();

async function trade(id: bigint, buyer: string, seller: string, kind: Trade["kind"] = "CP"): Promise<Trade> {
  return { tradeId: id, buyer, seller, kind, quantityWh: 50_000n, amount: 30n * 10n ** 18n, unitPrice: 6n * 10n ** 14n, settledAt: await latestTimestamp(chain.provider) };
}

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31115 });
  w = await setupSec(chain);
  relayer = await w.as(A.admin);
  [alice, bob, carol] = await Promise.all([w.addr(A.alice), w.addr(A.bob), w.addr(A.carol)]);
  await relayer.setTradeSource(TST_CHAIN_ID, MARKET);
  // Alice permits trade monitoring (by utility A only); Bob does not; Carol is not registered.
  await w.register(alice, meterId(1));
  await w.setPrefs(alice, [{ utility: await w.addr(A.utilityA), category: "TRADES" }]);
  await w.register(bob, meterId(2));
  await w.setPrefs(bob, [{ category: "TRADES", allowed: false }]);
});
afterAll(() => chain.stop());
beforeEach(async () => {
  snap = await chain.snapshot();
});
afterEach(() => chain.revert(snap));

it("round-trips the trade payload", async () => {
  const t = await trade(7n, alice, bob, "CC");
  expect(decodeTradePayload(encodeTradePayload(t))).toEqual(t);
});

it("accepts a relayed trade once and announces it, keeping no per-household log and no getter by party", async () => {
  const t = await trade(1n, alice, bob);
  const r = await relayer.deliverTrade(TST_CHAIN_ID, MARKET, encodeTradePayload(t));
  const events = r.logs.map((l) => iface.parseLog(l)!);
  expect(events.map((e) => [e.name, e.args.tradeId, e.args.buyer, e.args.seller])).toEqual([["TradeRelayed", 1n, alice, bob]]);
  expect(await relayer.trades.isKnown(1n)).toBe(true);
  expect(await relayer.trades.isKnown(2n)).toBe(false);
  // Attack 5 of the consent issue: no function of the contract returns trades by party.
  const fns = iface.fragments.filter((f): f is FunctionFragment => f.type === "function");
  expect(fns.filter((f) => f.outputs.some((o) => o.baseType === "tuple" || o.baseType === "array")).map((f) => f.name)).toEqual([]);
  expect(fns.filter((f) => /trade/i.test(f.name)).map((f) => f.format("sighash")).sort()).toEqual(["setTradeSource(uint256,address)", "tradeSource()"]);
  await relayer.deliverTrade(TST_CHAIN_ID, MARKET, encodeTradePayload(await trade(2n, carol, alice)));
  const ofAlice = await relayer.relayedTrades({ party: alice });
  expect(ofAlice.map((x) => [x.tradeId, x.buyer, x.seller])).toEqual([[1n, alice, bob], [2n, carol, alice]]);
  expect((await relayer.relayedTrades({ party: bob })).map((x) => x.tradeId)).toEqual([1n]);
  expect((await relayer.relayedTrades()).map((x) => ({ ...x, blockNumber: 0 }))[0]).toEqual({ ...t, blockNumber: 0 });
});

it("refuses duplicates, other sources and other message kinds", async () => {
  const payload = encodeTradePayload(await trade(1n, alice, bob));
  await relayer.deliverTrade(TST_CHAIN_ID, MARKET, payload);
  const dup = await revertOf(relayer.deliverTrade(TST_CHAIN_ID, MARKET, payload));
  expect(dup.errorName).toBe("TradeLogDuplicateTrade");
  expect(dup.args).toEqual([1n]);
  const src = await revertOf(relayer.deliverTrade(TST_CHAIN_ID + 1, MARKET, payload));
  expect(src.errorName).toBe("TradeLogUnexpectedSource");
  expect(src.args).toEqual([BigInt(TST_CHAIN_ID + 1), MARKET]);
  const kind = await revertOf(relayer.deliverTrade(TST_CHAIN_ID, MARKET, `0x${"1".padStart(64, "0")}`));
  expect(kind.errorName).toBe("TradeLogUnknownMessageKind");
  expect(kind.args).toEqual([1n]);
  const stranger = await w.as(A.stranger);
  const role = await revertOf(stranger.deliverTrade(TST_CHAIN_ID, MARKET, payload));
  expect(role.errorName).toBe("AccessControlUnauthorizedAccount");
});
