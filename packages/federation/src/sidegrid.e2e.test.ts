// The federation wired to the real apps (BlockPRI's PPC, BlockSEC's PolicyMirror and TradeLog,
// BlockTST's EnergyMarket, MarketMirror and SGT) with three real member processes (2-of-3).
import fs from "node:fs";
import { MaxUint256, Wallet, hexlify, parseEther, randomBytes } from "ethers";
import { Deployments, sleep, startTestChain, type TestChain, type TxSender } from "@sidegrid/chain";
import { BlockPriClient, deployBlockPri, signMeterBinding } from "@sidegrid/blockpri";
import { BlockSecClient, deployBlockSec } from "@sidegrid/blocksec";
import { BlockTstClient, MarketMirror__factory, deployBlockTst } from "@sidegrid/blocktst";
import type { DeployFederationReturnType } from "./deploy";
import { TokenPeg__factory, WrappedToken__factory } from "./generated";
import { localMemberKeys } from "./member/config";
import { spawnFederation, type MemberProcesses } from "./test-utils/members";
import { pegIface, tmpDir } from "./test-utils/world";
import { SIDEGRID_RELAYS, wireSidegrid } from "./wiring";

const IDS = [31341, 31342, 31343] as const; // BlockPRI, BlockSEC, BlockTST
let chains: TestChain[];
let admins: TxSender[];
let fed: DeployFederationReturnType;
let members: MemberProcesses;
let dir: string;
let pri: { ppc: string };
let sec: { policyMirror: string; meterDataLedger: string; accessLedger: string; tradeLog: string };
let tst: { token: string; mirror: string; market: string; auction: string };
const utility = Wallet.createRandom().address;
const meter = Wallet.createRandom();

async function read<T>(f: () => Promise<T>): Promise<T> {
  // Anvil with --prune-history sometimes refuses an eth_call while it mines the next block.
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 5) throw e;
      await sleep(20);
    }
  }
}

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 20000): Promise<number> {
  const t0 = Date.now();
  while (!(await read(f))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

beforeAll(async () => {
  chains = await Promise.all(IDS.map((chainId) => startTestChain({ chainId })));
  admins = await Promise.all(chains.map(async (c) => (await c.account(0)).sender));
  dir = tmpDir("sidegrid");
  const deps = IDS.map((id, i) => Deployments.forNetwork(dir, ["blockpri", "blocksec", "blocktst"][i]!, id));
  pri = await deployBlockPri({ sender: admins[0]!, deployments: deps[0]!, distributors: [utility], installers: [(await chains[0]!.account(9)).wallet.address] });
  sec = await deployBlockSec({ sender: admins[1]!, deployments: deps[1]!, distributors: [utility] });
  tst = await deployBlockTst({ sender: admins[2]!, deployments: deps[2]! });
  const keys = localMemberKeys(3);
  const params = {
    blockpri: { sender: admins[0]!, deployments: deps[0]!, ppc: pri.ppc },
    blocksec: { sender: admins[1]!, deployments: deps[1]!, policyMirror: sec.policyMirror, tradeLog: sec.tradeLog },
    blocktst: { sender: admins[2]!, deployments: deps[2]!, market: tst.market, marketMirror: tst.mirror, sgt: tst.token },
    members: keys.map((k) => new Wallet(k).address),
    threshold: 2,
    fundMembers: parseEther("100"),
  };
  fed = await wireSidegrid(params);
  // Idempotent: a second run sends nothing.
  const nonces = await Promise.all(chains.map((c) => c.provider.getTransactionCount(admins[0]!.address)));
  await wireSidegrid(params);
  expect(await Promise.all(chains.map((c) => c.provider.getTransactionCount(admins[0]!.address)))).toEqual(nonces);
  members = await spawnFederation({
    dir,
    deployment: fed,
    rpcUrls: { blockpri: chains[0]!.node.url, blocksec: chains[1]!.node.url, blocktst: chains[2]!.node.url },
    memberKeys: keys,
    tuning: { pollIntervalMs: 20, batchDelayMs: 5, takeoverMs: 1000, resendMs: 1000 },
  });
}, 120_000);

afterAll(async () => {
  await members?.stopAll();
  await Promise.all((chains ?? []).map((c) => c.stop()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the federation wired to BlockPRI, BlockSEC and BlockTST", () => {
  it("lists the relays it wires", () => {
    expect(SIDEGRID_RELAYS.map((r) => `${r.from}:${r.app} → ${r.to}:${r.receiver}`)).toEqual([
      "blockpri:PPC → blocksec:PolicyMirror",
      "blockpri:PPC → blocktst:MarketMirror",
      "blocktst:EnergyMarket → blocksec:TradeLog",
      "blocktst:TokenPeg → blockpri, blocksec:TokenPeg (mints wSGT)",
      "blockpri, blocksec:TokenPeg → blocktst:TokenPeg (releases SGT)",
    ]);
  });

  it("relays a registration and a grant from BlockPRI, then a revocation both destinations refuse", async () => {
    const consumer = (await chains[0]!.account(3)).sender;
    const ppc = new BlockPriClient({ sender: consumer, address: pri.ppc });
    const mirror = new BlockSecClient({ sender: admins[1]!, addresses: sec });
    const marketMirror = MarketMirror__factory.connect(tst.mirror, chains[2]!.provider);
    const now = async () => (await chains[2]!.provider.getBlock("latest"))!.timestamp;
    // The installer commissions the meter; the household binds it with the meter's own signature.
    const meterId = hexlify(randomBytes(32));
    await new BlockPriClient({ sender: (await chains[0]!.account(9)).sender, address: pri.ppc }).commissionMeter({ meterId, deviceKey: meter.address });
    const binding = await ppc.meterBinding({ meterId, consumer: consumer.address });
    await ppc.consumerRegister({ binding, signature: await signMeterBinding({ signer: meter, chainId: ppc.chainId, ppc: pri.ppc, binding }), encryptionKey: hexlify(randomBytes(32)) });
    await ppc.setPreference({ utility, category: "CONSUMPTION", allowed: true, resolution: "HOURLY" });
    await ppc.setMonitorTransfPref(true);
    await waitFor("grant on BlockSEC", () => mirror.isPermitted({ consumer: consumer.address, utility, category: "CONSUMPTION", resolution: "HOURLY" }));
    await waitFor("grant on BlockTST", async () => marketMirror.permits(consumer.address, utility, 0, 3, await now()));
    expect(await marketMirror.meterSignerOf(consumer.address)).toBe(meter.address);

    await ppc.setPreference({ utility, category: "CONSUMPTION", allowed: false });
    const secMs = await waitFor("revocation on BlockSEC", async () => !(await mirror.isPermitted({ consumer: consumer.address, utility, category: "CONSUMPTION", resolution: "HOURLY" })));
    const tstMs = await waitFor("revocation on BlockTST", async () => !(await marketMirror.permits(consumer.address, utility, 0, 3, await now())));
    console.log(`real apps: revocation refused on BlockSEC after ${secMs} ms, on BlockTST after ${secMs + tstMs} ms`);
    expect(await mirror.isPermitted({ consumer: consumer.address, utility, category: "CONSUMPTION", resolution: "DAILY" })).toBe(false);
  });

  it("relays a settled trade from BlockTST's market to BlockSEC's TradeLog", async () => {
    const buyer = (await chains[2]!.account(3)).sender; // same key as the registered consumer
    const seller = (await chains[2]!.account(4)).sender;
    const b = new BlockTstClient({ sender: buyer, addresses: tst });
    const s = new BlockTstClient({ sender: seller, addresses: tst });
    await s.sellEnergy(5_000n, parseEther("0.5"));
    await b.faucet(parseEther("100"));
    const bought = await b.buyEnergy(seller.address, 2_000n, { approve: true });
    const sig = await b.signDelivery(meter.privateKey, bought.tradeId, 2_000n);
    const confirmed = await b.confirmDelivery(bought.tradeId, 2_000n, sig);
    expect(confirmed.trade?.tradeId).toBe(bought.tradeId);
    const log = new BlockSecClient({ sender: admins[1]!, addresses: sec });
    await waitFor("trade relayed to BlockSEC", async () => (await log.relayedTrades({ party: buyer.address })).some((t) => t.tradeId === bought.tradeId));
    const [t] = (await log.relayedTrades({ party: buyer.address })).filter((x) => x.tradeId === bought.tradeId);
    expect([t!.seller, t!.quantityWh, t!.amount]).toEqual([seller.address, 2_000n, confirmed.paid]);
  });

  it("pegs SGT: lock on BlockTST mints wSGT on BlockPRI, burning it releases the SGT", async () => {
    const user = (await chains[2]!.account(5)).sender;
    const remote = (await chains[0]!.account(5)).sender;
    const c = new BlockTstClient({ sender: user, addresses: tst });
    const homePeg = fed.chains[2]!.peg!;
    const amount = parseEther("40");
    await c.faucet(amount);
    await c.approve(homePeg, MaxUint256);
    await user.sendAndWait({ to: homePeg, data: pegIface.encodeFunctionData("lock", [amount, IDS[0], user.address]) });
    expect(await TokenPeg__factory.connect(homePeg, chains[2]!.provider).lockedFor(IDS[0])).toBe(amount);
    const wsgt = WrappedToken__factory.connect(fed.chains[0]!.wrappedToken!, chains[0]!.provider);
    await waitFor("wSGT minted on BlockPRI", async () => (await wsgt.balanceOf(user.address)) === amount);
    await remote.sendAndWait({ to: fed.chains[0]!.peg!, data: pegIface.encodeFunctionData("burn", [amount, user.address]) });
    await waitFor("SGT released on BlockTST", async () => (await c.balanceOf(user.address)) === amount);
    expect(await TokenPeg__factory.connect(homePeg, chains[2]!.provider).lockedFor(IDS[0])).toBe(0n);
    expect(await wsgt.totalSupply()).toBe(0n);
  });
});
