// Attack 5 of the consent issue — trade data around the access log — tried against a whole local
// system (`sidegrid up`: three anvil chains, Redis, three federation members 2-of-3, simulated
// meters, the gateway) after the demo has played its Table 3 trades. The adversaries:
// - a utility (or anyone) reading BlockSEC directly, with `eth_call` or the TradeLog's getters,
//   hoping for a household's trades without a ledger entry;
// - a utility asking for the trades of a household that refuses trade monitoring, or after she
//   withdrew it; a non-distributor asking at all;
// - someone linking a trading account to a household at the gateway (to pour a stranger's trades
//   into a log a utility may read, or to take another household's account).
import fs from "node:fs";
import { AbiCoder, Wallet, type FunctionFragment, type JsonRpcProvider } from "ethers";
import { connectNetwork, loadConfig, type ConnectedNetwork, type SidegridConfig } from "@sidegrid/chain";
import { BlockPriClient } from "@sidegrid/blockpri";
import { AccessDeniedError, AccessLedger__factory, BlockSecClient, KeyCustodyClient, TradeLog__factory } from "@sidegrid/blocksec";
import { BlockTstClient, ONE } from "@sidegrid/blocktst";
import { consumerKeys, createUi, readDeployment, readState, roleKey, runDemo, stopAll, up, walletBoxKeys, writeTestConfig, type DemoReport, type SystemDeployment } from "@sidegrid/cli";
import { TRADE_SEQUENCE_BASE, readGrantedTrades, signRequest, tradingAccountLinkMessage } from "@sidegrid/meter-gateway";

let cfg: SidegridConfig;
let dir: string;
let d: SystemDeployment;
let report: DemoReport;
let gatewayUrl: string;
let gatewayAddress: string;
let utilitySec: BlockSecClient;
let courtSec: BlockSecClient;
let custody: KeyCustodyClient;
const nets: ConnectedNetwork[] = [];
const ui = createUi(process.stderr, true);
const [alice, bob, carol, dave] = [consumerKeys(1), consumerKeys(2), consumerKeys(3), consumerKeys(4)];
const now = () => Math.floor(Date.now() / 1000);

async function net(network: "blockpri" | "blocksec" | "blocktst", key: string): Promise<ConnectedNetwork> {
  const n = await connectNetwork({ config: cfg, network, privateKey: key, requireFunds: false });
  nets.push(n);
  return n;
}

beforeAll(async () => {
  const t = await writeTestConfig([31731, 31732, 31733], { meters: 4 });
  dir = t.dir;
  cfg = loadConfig({ file: t.file });
  await up(cfg, ui);
  d = readDeployment(cfg);
  report = await runDemo(cfg, { say: () => undefined, timeoutMs: 120_000, demandResponse: false });
  expect(report.ok).toBe(true);
  const gw = readState(cfg)!.processes.find((p) => p.kind === "gateway")!;
  gatewayUrl = gw.url!;
  gatewayAddress = new Wallet(roleKey(cfg, "gateway")).address;
  const addresses = { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog };
  utilitySec = new BlockSecClient({ sender: (await net("blocksec", roleKey(cfg, "utility"))).sender, addresses });
  courtSec = new BlockSecClient({ sender: (await net("blocksec", roleKey(cfg, "court"))).sender, addresses });
  custody = new KeyCustodyClient({ address: d.blocksec.keyCustody, provider: utilitySec.provider });
}, 420_000);

afterAll(async () => {
  for (const n of nets) n.provider.destroy();
  await stopAll(cfg, ui);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Trade ids sealed into `consumer`'s trade log on BlockSEC. */
async function sealedIds(consumer: string): Promise<string[]> {
  const recs = await utilitySec.storedRecords({ consumer, fromBlock: d.blocksec.startBlock });
  return recs.filter((r) => r.record.category === "TRADES").map((r) => ((BigInt(r.record.sequence) - BigInt(TRADE_SEQUENCE_BASE)) / 2n).toString());
}

async function until(what: string, f: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** `buyer` buys `wh` from the prosumer under her own address; her meter confirms. Returns the trade id. */
async function trade(buyer: typeof alice, wh: bigint): Promise<string> {
  const prosumer = new BlockTstClient({ sender: (await net("blocktst", roleKey(cfg, "prosumer"))).sender, addresses: d.blocktst });
  const b = new BlockTstClient({ sender: (await net("blocktst", buyer.privateKey)).sender, addresses: d.blocktst });
  if ((await b.balanceOf()) < 50n * ONE) await b.faucet(50n * ONE);
  await prosumer.sellEnergy(wh, 0n);
  const bought = await b.buyEnergy(prosumer.address, wh, { approve: true });
  await b.confirmDelivery(bought.tradeId, wh, await b.signDelivery(buyer.meterKey, bought.tradeId, wh));
  return bought.tradeId.toString();
}

async function ppcOf(h: typeof alice): Promise<BlockPriClient> {
  return new BlockPriClient({ sender: (await net("blockpri", h.privateKey)).sender, address: d.blockpri.ppc });
}

describe("a utility, or anyone, reading BlockSEC without a grant", () => {
  it("gets no trades from the paper's getter, not even through eth_call, and the TradeLog has no getter by party", async () => {
    const iface = AccessLedger__factory.createInterface();
    for (const h of [alice, carol]) {
      const raw = await (utilitySec.provider as JsonRpcProvider).call({ from: utilitySec.sender.address, to: d.blocksec.accessLedger, data: iface.encodeFunctionData("getTransLog", [h.address]) });
      // Two words: the decision and the entry index it would have. No trade in the reply.
      expect((raw.length - 2) / 2).toBe(64);
      const [granted] = AbiCoder.defaultAbiCoder().decode(["bool", "uint64"], raw);
      expect(granted).toBe(h === alice);
    }
    const tradeLog = TradeLog__factory.createInterface();
    const fns = tradeLog.fragments.filter((f): f is FunctionFragment => f.type === "function");
    expect(fns.filter((f) => f.outputs.some((o) => o.baseType === "tuple" || o.baseType === "array")).map((f) => f.name)).toEqual([]);
    // The only view that takes an address is AccessControl's role check.
    expect(fns.filter((f) => f.constant && f.inputs.some((i) => i.type === "address")).map((f) => f.name)).toEqual(["hasRole"]);
  });

  it("finds Alice's trades on BlockSEC only sealed: no amount, counterparty or trade id in the clear", async () => {
    const mine = report.scenario2.trades.filter((t) => t.dataSharing);
    expect(mine.length).toBe(2);
    const recs = (await utilitySec.storedRecords({ consumer: alice.address, fromBlock: d.blocksec.startBlock })).filter((r) => r.record.category === "TRADES");
    expect(recs.map((r) => r.record.resolution).every((res) => res === "NONE")).toBe(true);
    const relayed = await utilitySec.relayedTrades({ party: alice.address, fromBlock: d.blocksec.startBlock });
    for (const t of relayed.filter((x) => mine.some((m) => m.tradeId === x.tradeId.toString()))) {
      const rec = recs.find((r) => BigInt(r.record.sequence) === BigInt(TRADE_SEQUENCE_BASE) + t.tradeId * 2n)!;
      expect(rec).toBeDefined();
      const payload = rec.record.payload.toLowerCase();
      expect(payload).not.toContain(t.seller.slice(2).toLowerCase());
      expect(payload).not.toContain(t.amount.toString(16).padStart(64, "0"));
    }
  });
});

describe("a household reading her own trade log at her gateway", () => {
  it("gets her sealed trades apart from her readings, and nobody else gets them", async () => {
    const get = async (signer: Wallet, p: string) => {
      const res = await fetch(`${gatewayUrl}${p}`, { headers: await signRequest({ signer, method: "GET", path: p }) });
      return { status: res.status, body: (await res.json()) as { trades?: { category: string; resolution: string }[]; readings?: { category: string }[] } };
    };
    const mine = await get(new Wallet(alice.privateKey), `/v1/consumers/${alice.address}/trades`);
    expect(mine.status).toBe(200);
    expect(mine.body.trades!.length).toBeGreaterThanOrEqual(2);
    expect(mine.body.trades!.every((t) => t.category === "TRADES" && t.resolution === "NONE")).toBe(true);
    const readings = await get(new Wallet(alice.privateKey), `/v1/consumers/${alice.address}/readings`);
    expect(readings.body.readings!.every((r) => r.category === "CONSUMPTION")).toBe(true);
    expect((await get(new Wallet(carol.privateKey), `/v1/consumers/${alice.address}/trades`)).status).toBe(403);
  });
});

describe("a utility asking for the trades of a household that refuses trade monitoring", () => {
  it("finds Carol's trades sealed nowhere, is denied, and the court sees the attempt", async () => {
    const hers = report.scenario2.trades.filter((t) => !t.dataSharing).map((t) => t.tradeId);
    expect(hers.length).toBe(2);
    const relayed = (await utilitySec.relayedTrades({ party: carol.address, fromBlock: d.blocksec.startBlock })).map((t) => t.tradeId.toString());
    expect(relayed).toEqual(expect.arrayContaining(hers));
    expect(await sealedIds(carol.address)).toEqual([]);
    const denied = (await utilitySec.requestAccess({ consumer: carol.address, category: "TRADES", from: 0, to: now(), requesterKey: `0x${Buffer.from(walletBoxKeys(roleKey(cfg, "utility")).publicKey).toString("hex")}` }).catch((e: unknown) => e)) as AccessDeniedError;
    expect(denied).toBeInstanceOf(AccessDeniedError);
    expect(denied.entry).toMatchObject({ category: "TRADES", granted: false, reason: "NOT_PERMITTED", requester: d.accounts.utility });
    const audit = await courtSec.audit(carol.address, { fromBlock: d.blocksec.startBlock });
    expect(audit.ok).toBe(true);
    expect(audit.entries.find((e) => e.index === denied.entry.index)).toMatchObject({ category: "TRADES", granted: false, requester: d.accounts.utility });
  });

  it("a non-distributor asking for Alice's trades is denied and recorded", async () => {
    const e = (await courtSec.getTransLog(alice.address).catch((x: unknown) => x)) as AccessDeniedError;
    expect(e).toBeInstanceOf(AccessDeniedError);
    expect(e.entry).toMatchObject({ category: "TRADES", granted: false, reason: "NOT_A_DISTRIBUTOR" });
    expect((await courtSec.accessLog(alice.address, d.blocksec.startBlock)).some((x) => x.index === e.entry.index && !x.granted)).toBe(true);
  });

  it("once Alice withdraws trade monitoring, her next trade is sealed nowhere (Dave's later one is) and the utility is denied", async () => {
    await (await ppcOf(dave)).setMonitorTransfPref(true);
    await (await ppcOf(alice)).setMonitorTransfPref(false);
    await until("the federation to relay both choices to BlockSEC", async () => {
      const [a, dv] = await Promise.all([
        utilitySec.isPermitted({ consumer: alice.address, utility: d.accounts.utility, category: "TRADES", resolution: "NONE" }),
        utilitySec.isPermitted({ consumer: dave.address, utility: d.accounts.utility, category: "TRADES", resolution: "NONE" }),
      ]);
      return !a && dv;
    });
    const aliceTrade = await trade(alice, 1_000n);
    const daveTrade = await trade(dave, 1_000n);
    // The gateway seals in block order: once Dave's later trade is in his log, Alice's was seen.
    await until("Dave's trade to be sealed and anchored", async () => (await sealedIds(dave.address)).includes(daveTrade));
    expect(await sealedIds(alice.address)).not.toContain(aliceTrade);
    const denied = (await utilitySec.getTransLog(alice.address).catch((x: unknown) => x)) as AccessDeniedError;
    expect(denied.entry).toMatchObject({ category: "TRADES", granted: false, reason: "NOT_PERMITTED" });
    // Dave's consenting log opens to the utility after a logged grant, with the federation's release.
    const read = await readGrantedTrades({ sec: utilitySec, custody, secretKey: walletBoxKeys(roleKey(cfg, "utility")).secretKey, consumer: dave.address, from: 0, to: now(), fromBlock: d.blocksec.startBlock, timeoutMs: 60_000 });
    expect(read.trades.filter((t) => t.tradeId.toString() === daveTrade).map((t) => [t.side, t.account, t.quantityWh, t.proven])).toEqual([["BUYER", dave.address, 1_000n, true]]);
    expect(read.entry).toMatchObject({ category: "TRADES", granted: true });
  });
});

describe("an observer of BlockTST, and a granted utility", () => {
  it("sees Bob's demo trade under his trading account only; the utility with a TRADES grant reads it from his sealed log", async () => {
    const t = report.scenario2.tradingAccount;
    expect(t.identityOnBlockTst).toBe(false);
    const relayed = await utilitySec.relayedTrades({ party: t.account, fromBlock: d.blocksec.startBlock });
    expect(relayed.map((x) => x.tradeId.toString())).toContain(t.tradeId);
    expect(await utilitySec.relayedTrades({ party: bob.address, fromBlock: d.blocksec.startBlock })).toEqual([]);
    const read = await readGrantedTrades({ sec: utilitySec, custody, secretKey: walletBoxKeys(roleKey(cfg, "utility")).secretKey, consumer: bob.address, from: 0, to: now(), fromBlock: d.blocksec.startBlock, timeoutMs: 60_000 });
    expect(read.trades.filter((x) => x.tradeId.toString() === t.tradeId).map((x) => [x.side, x.account, x.proven])).toEqual([["BUYER", t.account, true]]);
  });
});

describe("someone linking a trading account to a household at the gateway", () => {
  const path = (c: string) => `/v1/consumers/${c}/trading-accounts`;
  async function post(signer: Wallet, consumer: string, body: unknown): Promise<{ status: number; body: { error?: { code: string } } & Record<string, unknown> }> {
    const text = JSON.stringify(body);
    const headers = await signRequest({ signer, method: "POST", path: path(consumer), body: text });
    const res = await fetch(`${gatewayUrl}${path(consumer)}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: text });
    return { status: res.status, body: (await res.json()) as never };
  }
  const account = new Wallet(Wallet.createRandom().privateKey);
  const bobWallet = () => new Wallet(bob.privateKey);
  const linkSig = (w: Wallet, consumer: string, gateway = gatewayAddress) => w.signMessage(tradingAccountLinkMessage({ consumer, account: w.address, gateway, chainId: d.networks.blocksec.chainId }));

  it("refuses a link the account did not sign, one signed for another gateway, and a link to somebody else's household", async () => {
    const bySelf = await post(bobWallet(), bob.address, { account: account.address, signature: await bobWallet().signMessage(tradingAccountLinkMessage({ consumer: bob.address, account: account.address, gateway: gatewayAddress, chainId: d.networks.blocksec.chainId })) });
    expect([bySelf.status, bySelf.body.error?.code]).toEqual([403, "LINK_REFUSED"]);
    const elsewhere = await post(bobWallet(), bob.address, { account: account.address, signature: await linkSig(account, bob.address, Wallet.createRandom().address) });
    expect([elsewhere.status, elsewhere.body.error?.code]).toEqual([403, "LINK_REFUSED"]);
    const forCarol = await post(bobWallet(), carol.address, { account: account.address, signature: await linkSig(account, carol.address) });
    expect([forCarol.status, forCarol.body.error?.code]).toEqual([403, "FORBIDDEN"]);
  });

  it("links an account signed for the household, and refuses it to a second household", async () => {
    const ok = await post(bobWallet(), bob.address, { account: account.address, signature: await linkSig(account, bob.address) });
    expect([ok.status, ok.body.account, ok.body.consumer]).toEqual([200, account.address, bob.address]);
    const taken = await post(new Wallet(alice.privateKey), alice.address, { account: account.address, signature: await linkSig(account, alice.address) });
    expect([taken.status, taken.body.error?.code]).toEqual([409, "LINK_CONFLICT"]);
    const listPath = path(bob.address);
    const res = await fetch(`${gatewayUrl}${listPath}`, { headers: await signRequest({ signer: bobWallet(), method: "GET", path: listPath }) });
    // His demo trading account and this one.
    expect(((await res.json()) as { accounts: { account: string }[] }).accounts.map((a) => a.account).sort()).toEqual([account.address, report.scenario2.tradingAccount.account].sort());
  });
});
