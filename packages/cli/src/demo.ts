// `sidegrid demo`: the seed paper's three scenarios, the peg and a revocation, played with real
// transactions on a running system (`sidegrid up`). Every step returns what it did (tx hashes,
// prices, decisions) so `--json` and the scenario tests can check the outcome, not the narration.
// Longer than 500 lines on purpose: the scenarios read top to bottom as the paper tells them.
import fs from "node:fs";
import path from "node:path";
import { MaxUint256, Wallet, concat, formatEther, getBytes, hexlify, keccak256, parseEther, toUtf8Bytes } from "ethers";
import { connectNetwork, operatorKey, sleep, type ConnectedNetwork, type NetworkName, type SidegridConfig } from "@sidegrid/chain";
import { BlockPriClient, type SetPreferenceParameters } from "@sidegrid/blockpri";
import { AccessDeniedError, BlockSecClient, KeyCustodyClient, Resolution as SecResolution, recordLeaf, verifyMerkleProof, type AccessEntry, type AuditReport } from "@sidegrid/blocksec";
import { BlockTstClient, MarketMirror__factory, ONE, TABLE3, deliveryKeyOf, signTradingAccountCertificate } from "@sidegrid/blocktst";
import { TokenPeg__factory, WrappedToken__factory } from "@sidegrid/federation";
import { TRADE_SEQUENCE_BASE, tradingAccountLinkMessage, consumerDataKeys, meterIdToBytes32, meterSimulatorControl, openReadingPayload, payloadKeyId, readGranted, readGrantedTrades, signRequest, type SpawnedMeterSimulator } from "@sidegrid/meter-gateway";
import { SimClock } from "@sidegrid/pi-meter";
import { allLocal, boxPublicKeyHex, consumerKeys, roleKey, walletBoxKeys, type ConsumerKeys, type RoleName } from "./accounts";
import { readDeployment, type SystemDeployment } from "./deploy-system";
import { CliError } from "./errors";
import { readState } from "./system";
import { demandResponseSkip, playDemandResponse, type DemoDemandResponse } from "./demoDemandResponse";

export interface DemoOptions {
  /** Narration, one line at a time (human output). */
  say: (line: string) => void;
  /** Longest wait for relays and anchoring (default 120 s). */
  timeoutMs?: number;
  /** Play scenario (iv), demand response and day-ahead DSM (default true; it waits about an hour of meter time). */
  demandResponse?: boolean;
}

export interface DemoConsumer {
  name: string;
  meter: number;
  /** How the gateway reads her meter: "osgp-tcp", or "dlms-wrapper"/"dlms-hdlc" for a DLMS meter. */
  protocol: string;
  address: string;
  meterSigner: string;
  registerTx: string | null;
  preferenceTxs: string[];
  shares: string;
}

export interface DemoTrade {
  situation: number;
  kind: "CP" | "CC";
  buyer: string;
  seller: string;
  demand: number;
  generation: number;
  dataSharing: boolean;
  energyKWh: number;
  priceSgt: string;
  expectedSgt: string;
  matchesPaper: boolean;
  tradeId: string;
  buyTx: string;
  confirmTx: string;
  /** Sealed into the buyer's trade log on BlockSEC: only when she lets utilities monitor trades. */
  sealedOnBlockSec: boolean;
}

/** Bob's trade under a trading account that nothing public ties to his BlockPRI identity. */
export interface DemoTradingAccount {
  household: string;
  account: string;
  deliverySigner: string;
  certifiedBy: string;
  tradeId: string;
  registerTx: string | null;
  buyTx: string;
  confirmTx: string;
  /** Whether any log or calldata of those transactions names his BlockPRI wallet or meter signer. */
  identityOnBlockTst: boolean;
  /** Sealed into his own trade log on BlockSEC by his gateway (he linked the account there). */
  sealedInHisLog: boolean;
}

export interface DemoAccess {
  requester: string;
  consumer: string;
  granted: boolean;
  reason: string;
  index: number;
  txHash: string;
}

export interface DemoReport {
  ok: boolean;
  startedAt: string;
  durationMs: number;
  networks: Record<NetworkName, { chainId: number; rpcUrl: string }>;
  scenario1: { consumers: DemoConsumer[]; relayedToBlockSecMs: number; relayedToBlockTstMs: number };
  scenario2: { trades: DemoTrade[]; table3Reproduced: boolean; tradingAccount: DemoTradingAccount };
  scenario3: {
    anchoredForConsenting: { consumer: string; records: number }[];
    refusingConsumerRecords: number;
    grant: DemoAccess & {
      /** Records the gateway's API served for the grant. */
      readings: number;
      proofVerifiedOnChain: boolean;
      opened: { meterId: number; sequence: number; energyImportWh: string } | null;
      /** Readings the utility opened with the released keys, and whether each was proven. */
      plaintextReadings: number;
      allProven: boolean;
      keysReleased: number;
      releasedBy: string[];
      keyReleaseMs: number;
    };
    denial: DemoAccess;
    figure11: { consumer: string; trades: { destination: string; valueSgt: string; tradeId: string; proven: boolean }[]; tradeGrant: { index: number; keysReleased: number }; osgpRecords: { sequence: number; resolution: string; ciphertext: string; osgpPlaintext: string | null }[] };
    audit: { consumer: string; ok: boolean; granted: number; denied: number; entries: number; courtReadTx: string | null }[];
  };
  scenario4: {
    peg: { amountSgt: string; lockTx: string; mintedOnBlockPriMs: number; burnTx: string; releasedOnBlockTstMs: number; roundTripOk: boolean };
    revocation: { consumer: string; revokeTx: string; refusedOnBlockSecMs: number; afterRevocation: DemoAccess };
  };
  /** Scenario (iv): demand response and day-ahead DSM (absent when not played). */
  demandResponse?: DemoDemandResponse;
  /** Scenario (iv) not played: why, and how long it would have waited (ms). */
  demandResponseSkipped?: { reason: string; waitMs: number };
}

interface Actors {
  nets: ConnectedNetwork[];
  on(network: NetworkName, key: string): Promise<ConnectedNetwork>;
  close(): void;
}

function actors(cfg: SidegridConfig): Actors {
  const nets: ConnectedNetwork[] = [];
  const cache = new Map<string, Promise<ConnectedNetwork>>();
  return {
    nets,
    on(network, key) {
      const id = `${network}:${key}`;
      let p = cache.get(id);
      if (!p) {
        p = connectNetwork({ config: cfg, network, privateKey: key, requireFunds: false }).then((n) => {
          nets.push(n);
          return n;
        });
        cache.set(id, p);
      }
      return p;
    },
    close() {
      for (const n of nets) n.provider.destroy();
    },
  };
}

/** Polls `f` until true; reads retry because anvil may refuse a call while it mines. Returns ms waited. */
async function waitUntil(logs: string, what: string, f: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await f()) return Date.now() - t0;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new CliError("DEMO_FAILED", `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}; the logs are in ${logs}`);
    }
    await sleep(100);
  }
}

const sgt = (wei: bigint) => formatEther(wei).replace(/\.0$/, "");

function accessOf(e: AccessEntry): DemoAccess {
  return { requester: e.requester, consumer: e.consumer, granted: e.granted, reason: e.reason, index: e.index, txHash: e.transactionHash ?? "" };
}

interface Household {
  name: string;
  keys: ConsumerKeys;
  prefs: SetPreferenceParameters[];
  trades: boolean;
  shares: string;
  protocol: string;
}

/**
 * The four households of the demo and what each lets the utility and the company see, and a fifth,
 * Erin, whose meter speaks DLMS/COSEM, when the system simulates DLMS meters.
 */
function households(d: SystemDeployment, dlmsMeters: readonly { meterId: number; protocol: string }[]): Household[] {
  const { utility, company } = d.accounts;
  const protocolOf = (meterId: number) => dlmsMeters.find((e) => e.meterId === meterId)?.protocol ?? "osgp-tcp";
  const dlms = dlmsMeters.find((e) => e.meterId > 4);
  const erin: Household[] = dlms
    ? [{ name: "Erin", keys: consumerKeys(dlms.meterId), prefs: [{ utility, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }], trades: false, shares: `consumption every 15 min with the utility, from a DLMS meter (${dlms.protocol})`, protocol: dlms.protocol }]
    : [];
  const homes: Omit<Household, "protocol">[] = [
    {
      name: "Alice",
      keys: consumerKeys(1),
      prefs: [
        { utility, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" },
        { utility: company, category: "CONSUMPTION", allowed: true, resolution: "HOURLY" },
      ],
      trades: true,
      shares: "consumption every 15 min with the utility, hourly with the company; trades",
    },
    {
      name: "Bob",
      keys: consumerKeys(2),
      prefs: [{ utility, category: "CONSUMPTION", allowed: true, resolution: "HOURLY" }],
      trades: true,
      shares: "hourly consumption with the utility; trades (from a trading account)",
    },
    {
      name: "Carol",
      keys: consumerKeys(3),
      prefs: [
        { utility, category: "CONSUMPTION", allowed: false },
        { utility: company, category: "CONSUMPTION", allowed: false },
      ],
      trades: false,
      shares: "nothing (refuses all monitoring)",
    },
    {
      name: "Dave",
      keys: consumerKeys(4),
      prefs: [{ utility, category: "CONSUMPTION", allowed: true, resolution: "DAILY" }],
      trades: false,
      shares: "daily consumption with the utility",
    },
  ];
  return [...homes.map((h) => ({ ...h, protocol: protocolOf(h.keys.meter) })), ...erin];
}

/**
 * Plays the demo on the system `sidegrid up` started. Needs local chains (the demo's households
 * use anvil's public dev keys) and at least four simulated meters.
 */
export async function runDemo(cfg: SidegridConfig, opts: DemoOptions): Promise<DemoReport> {
  const t0 = Date.now();
  const say = opts.say;
  const timeout = opts.timeoutMs ?? 120_000;
  if (!allLocal(cfg)) throw new CliError("BAD_ARGUMENT", "the demo plays households with anvil's public dev keys: it runs on local chains only");
  if (!readState(cfg)) throw new CliError("NOT_RUNNING", "nothing is running: start the system with `sidegrid up` first");
  if (cfg.services.meters < 4) throw new CliError("BAD_ARGUMENT", `the demo needs at least 4 simulated meters (services.meters is ${cfg.services.meters})`);
  const d = readDeployment(cfg);
  const gatewayUrl = readState(cfg)!.processes.find((p) => p.kind === "gateway")?.url;
  if (!gatewayUrl) throw new CliError("NOT_RUNNING", "the gateway is not running: run `sidegrid up` again");
  const a = actors(cfg);
  const logs = path.join(cfg.dataDir, "logs");
  const waitFor = (what: string, f: () => Promise<boolean>, timeoutMs: number) => waitUntil(logs, what, f, timeoutMs);
  try {
    const key = (r: RoleName | "operator") => (r === "operator" ? operatorKey(cfg, "blocktst") : roleKey(cfg, r));
    const operator = { pri: await a.on("blockpri", key("operator")), tst: await a.on("blocktst", key("operator")) };
    const simStateFile = path.join(cfg.dataDir, "meters", "state.json");
    if (!fs.existsSync(simStateFile)) throw new CliError("NOT_RUNNING", "the meter simulator is not running: run `sidegrid up` again");
    const simState = JSON.parse(fs.readFileSync(simStateFile, "utf8")) as SpawnedMeterSimulator;
    const homes = households(d, simState.dlms ?? []);
    const tstAddrs = d.blocktst;
    const secAddrs = { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog };
    const secOf = async (k: string) => new BlockSecClient({ sender: (await a.on("blocksec", k)).sender, addresses: secAddrs });
    const tstOf = async (k: string) => new BlockTstClient({ sender: (await a.on("blocktst", k)).sender, addresses: tstAddrs });
    const utilitySec = await secOf(key("utility"));

    // Households need gas on BlockPRI (preferences) and BlockTST (trades): the operator tops them up.
    const topUp = async (net: ConnectedNetwork, addrs: string[]) => {
      const need: string[] = [];
      for (const x of addrs) if ((await net.provider.getBalance(x)) < parseEther("10")) need.push(x);
      if (need.length) await net.sender.sendMany(need.map((to) => ({ to, value: parseEther("100") })));
    };
    const trader = new Wallet(key("trader")).address;
    await topUp(operator.pri, homes.map((h) => h.keys.address));
    await topUp(operator.tst, [...homes.map((h) => h.keys.address), trader]);

    // ---------------------------------------------------------------- scenario (i)
    say("");
    say("Scenario (i) — consumers register their meters on BlockPRI and decide who may monitor what");
    const consumers: DemoConsumer[] = [];
    // Each household asks its meter for a binding (the button and display of a real meter): the
    // simulator's control API, authenticated with its token.
    const meterControl = meterSimulatorControl(simState);
    for (const h of homes) {
      const ppc = new BlockPriClient({ sender: (await a.on("blockpri", h.keys.privateKey)).sender, address: d.blockpri.ppc });
      const meterId = meterIdToBytes32(h.keys.meter);
      const existing = await ppc.registrationOf(h.keys.address);
      let registerTx: string | null = null;
      if (!existing || existing.meterId !== meterId || existing.meterSigner !== h.keys.meterSigner) {
        const binding = await ppc.meterBinding({ meterId, consumer: h.keys.address });
        const { signature } = await meterControl.requestBinding(h.keys.meter, { consumer: h.keys.address, nonce: binding.nonce, expiry: binding.expiry, chainId: ppc.chainId, ppc: ppc.address });
        registerTx = (await ppc.consumerRegister({ binding, signature, encryptionKey: boxPublicKeyHex(h.keys) })).receipt.transactionHash;
      }
      const txs = [(await ppc.setPreferences(h.prefs)).receipt.transactionHash];
      txs.push((await ppc.setMonitorTransfPref(h.trades)).receipt.transactionHash);
      consumers.push({ name: h.name, meter: h.keys.meter, protocol: h.protocol, address: h.keys.address, meterSigner: h.keys.meterSigner, registerTx, preferenceTxs: txs, shares: h.shares });
      say(`  ${h.name.padEnd(6)} meter ${h.keys.meter}  ${h.keys.address}  shares ${h.shares}${registerTx ? `  (register ${registerTx.slice(0, 12)}…)` : " (already registered)"}`);
    }
    // The federation carries every change to BlockSEC's PolicyMirror and BlockTST's MarketMirror.
    const [alice, bob, carol, dave] = homes as [Household, Household, Household, Household];
    const erin = homes[4];
    const marketMirror = MarketMirror__factory.connect(tstAddrs.mirror, operator.tst.provider);
    const relayedToBlockSecMs = await waitFor(
      "the federation to relay the preferences to BlockSEC",
      async () =>
        (await utilitySec.isPermitted({ consumer: alice.keys.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "QUARTER_HOURLY" })) &&
        (await utilitySec.isPermitted({ consumer: dave.keys.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "DAILY" })) &&
        !(await utilitySec.isPermitted({ consumer: carol.keys.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "MONTHLY" })) &&
        (await utilitySec.isPermitted({ consumer: bob.keys.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "HOURLY" })),
      timeout,
    );
    const relayedToBlockTstMs = await waitFor(
      "the federation to relay the registrations to BlockTST",
      async () => {
        for (const h of homes) if ((await marketMirror.meterSignerOf(h.keys.address)) !== h.keys.meterSigner) return false;
        return true;
      },
      timeout,
    );
    say(`  relayed by the federation: BlockSEC PolicyMirror after ${relayedToBlockSecMs} ms, BlockTST MarketMirror after ${relayedToBlockTstMs} ms`);

    // ---------------------------------------------------------------- scenario (ii)
    say("");
    say("Scenario (ii) — energy trades on BlockTST paid in SGT, delivery confirmed by the buyer's meter (Table 3)");
    const oracle = await tstOf(key("operator"));
    const prosumer = await tstOf(key("prosumer"));
    const company = await tstOf(key("company"));
    const buyers = { Carol: await tstOf(carol.keys.privateKey), Alice: await tstOf(alice.keys.privateKey) };
    for (const b of Object.values(buyers)) if ((await b.balanceOf()) < 100n * ONE) await b.faucet(100n * ONE);
    const trades: DemoTrade[] = [];
    for (const row of TABLE3) {
      // Situations 1–2: Carol, who shares nothing; 3–4: Alice, who shares her consumption with the company.
      const buyerHome = row.dataSharing ? alice : carol;
      const buyer = row.dataSharing ? buyers.Alice : buyers.Carol;
      const seller = row.kind === "CC" ? company : prosumer;
      await oracle.publishGridState(row.demand, row.generation);
      const wh = row.units * 1000n;
      await seller.sellEnergy(wh, row.kind === "CC" ? 5n * ONE : 0n);
      const bought = await buyer.buyEnergy(seller.address, wh, { approve: true });
      const signature = await buyer.signDelivery(buyerHome.keys.meterKey, bought.tradeId, wh);
      const confirmed = await seller.confirmDelivery(bought.tradeId, wh, signature);
      const t: DemoTrade = {
        situation: row.situation,
        kind: row.kind,
        buyer: `${buyerHome.name} ${buyer.address}`,
        seller: `${row.kind === "CC" ? "company" : "prosumer"} ${seller.address}`,
        demand: Number(row.demand),
        generation: Number(row.generation),
        dataSharing: row.dataSharing,
        energyKWh: Number(row.units),
        priceSgt: sgt(bought.amount),
        expectedSgt: sgt(row.priceSgt * ONE),
        matchesPaper: bought.amount === row.priceSgt * ONE && confirmed.paid === bought.amount,
        tradeId: bought.tradeId.toString(),
        buyTx: bought.receipt.transactionHash,
        confirmTx: confirmed.receipt.transactionHash,
        sealedOnBlockSec: false,
      };
      trades.push(t);
      say(`  situation ${row.situation}: D ${row.demand} / G ${row.generation}, ${row.kind}, sharing ${row.dataSharing ? "on " : "off"} → ${row.units} kWh for ${t.priceSgt} SGT (paper: ${t.expectedSgt})  buy ${t.buyTx.slice(0, 12)}…`);
    }
    // Settled trades travel to BlockSEC's TradeLog through the federation, as public there as on
    // BlockTST. A household's own trade log is sealed: her gateway seals each of her trades under
    // her trade epoch key and anchors it, only if she lets utilities monitor trades (Alice does,
    // Carol does not). Nobody reads it without a logged TRADES grant and the federation's release.
    const sealedFor = async (h: typeof alice) =>
      (await utilitySec.storedRecords({ consumer: h.keys.address, fromBlock: d.blocksec.startBlock }))
        .filter((r) => r.record.category === "TRADES")
        .map((r) => ((BigInt(r.record.sequence) - BigInt(TRADE_SEQUENCE_BASE)) / 2n).toString());
    await waitFor(
      "the gateway to seal and anchor Alice's trades on BlockSEC",
      async () => {
        const sealed = await sealedFor(alice);
        return trades.filter((t) => t.dataSharing).every((t) => sealed.includes(t.tradeId));
      },
      timeout,
    );
    // Carol's trades reached BlockSEC's TradeLog too (the lanes deliver in order), and were sealed nowhere.
    await waitFor(
      "the federation to relay Carol's trades to BlockSEC",
      async () => {
        const relayed = (await utilitySec.relayedTrades({ party: carol.keys.address, fromBlock: d.blocksec.startBlock })).map((t) => t.tradeId.toString());
        return trades.filter((t) => !t.dataSharing).every((t) => relayed.includes(t.tradeId));
      },
      timeout,
    );
    const carolSealed = await sealedFor(carol);
    const aliceSealed = await sealedFor(alice);
    for (const t of trades) t.sealedOnBlockSec = (t.dataSharing ? aliceSealed : carolSealed).includes(t.tradeId);
    const table3Reproduced = trades.every((t) => t.matchesPaper);
    say(`  Table 3 reproduced: ${table3Reproduced ? "yes (30 / 20 / 30 / 10 SGT)" : "NO"}`);

    // Bob trades under a trading account: his meter's delivery key, certified by the installer
    // without naming meter or household, confirms; his gateway alone knows the account is his.
    const bobAccountKey = keccak256(concat([getBytes(bob.keys.privateKey), toUtf8Bytes("sidegrid demo trading account")]));
    await topUp(operator.tst, [new Wallet(bobAccountKey).address]);
    const bobTst = await tstOf(bobAccountKey);
    if ((await bobTst.balanceOf()) < 20n * ONE) await bobTst.faucet(20n * ONE);
    const delivery = deliveryKeyOf(bob.keys.meterKey);
    let accountRegisterTx: string | null = null;
    const held = await bobTst.tradingAccountOf();
    if (held.deliverySigner !== delivery.address || held.expiresAt < Date.now() / 1000 + 3600) {
      const expiresAt = Math.floor(Date.now() / 1000) + 365 * 86_400;
      const signature = signTradingAccountCertificate({ installerKey: key("installer"), chainId: (await bobTst.provider.getNetwork()).chainId, market: tstAddrs.market, account: bobTst.address, deliverySigner: delivery.address, expiresAt });
      accountRegisterTx = (await bobTst.registerTradingAccount({ deliverySigner: delivery.address, expiresAt, signature })).transactionHash;
    }
    const linkPath = `/v1/consumers/${bob.keys.address}/trading-accounts`;
    const linkBody = JSON.stringify({ account: bobTst.address, signature: await new Wallet(bobAccountKey).signMessage(tradingAccountLinkMessage({ consumer: bob.keys.address, account: bobTst.address, gateway: d.accounts.gateway, chainId: d.networks.blocksec.chainId })) });
    const linked = await fetch(`${gatewayUrl}${linkPath}`, { method: "POST", headers: { ...(await signRequest({ signer: new Wallet(bob.keys.privateKey), method: "POST", path: linkPath, body: linkBody })), "content-type": "application/json" }, body: linkBody });
    if (!linked.ok) throw new CliError("DEMO_FAILED", `the gateway refused Bob's trading-account link: ${linked.status} ${await linked.text()}`);
    await prosumer.sellEnergy(2_000n, 0n);
    const bobBought = await bobTst.buyEnergy(prosumer.address, 2_000n, { approve: true });
    const bobConfirmed = await bobTst.confirmDelivery(bobBought.tradeId, 2_000n, await bobTst.signDelivery(delivery.privateKey, bobBought.tradeId, 2_000n));
    const hunted = [bob.keys.address, bob.keys.meterSigner].map((x) => x.slice(2).toLowerCase());
    let identityOnBlockTst = false;
    for (const r of [bobBought.receipt, bobConfirmed.receipt]) {
      const tx = await bobTst.provider.getTransaction(r.transactionHash);
      const text = [tx?.data ?? "", ...r.logs.flatMap((l) => [...l.topics, l.data])].join("").toLowerCase();
      if (hunted.some((h) => text.includes(h))) identityOnBlockTst = true;
    }
    const bobTradeId = bobBought.tradeId.toString();
    await waitFor("the gateway to seal Bob's trade into his trade log", async () => (await sealedFor(bob)).includes(bobTradeId), timeout);
    const tradingAccount: DemoTradingAccount = {
      household: "Bob",
      account: bobTst.address,
      deliverySigner: delivery.address,
      certifiedBy: (await bobTst.tradingAccountOf()).installer,
      tradeId: bobTradeId,
      registerTx: accountRegisterTx,
      buyTx: bobBought.receipt.transactionHash,
      confirmTx: bobConfirmed.receipt.transactionHash,
      identityOnBlockTst,
      sealedInHisLog: true,
    };
    say(`  Bob trades from account ${bobTst.address} (delivery key ${delivery.address.slice(0, 10)}…, certified by the installer): trade #${bobTradeId}, 2 kWh`);
    say(`    his BlockPRI wallet or meter signer in that trade's calldata or logs on BlockTST: ${identityOnBlockTst ? "FOUND" : "none"}; sealed into his own trade log on BlockSEC by his gateway: yes`);
    say(`  BlockSEC: Alice's ${trades.filter((t) => t.dataSharing && t.sealedOnBlockSec).length} trade(s) sealed into her trade log (she shares trades); Carol's ${trades.filter((t) => !t.dataSharing && !t.sealedOnBlockSec).length} sealed nowhere (she does not)`);

    // ---------------------------------------------------------------- scenario (iii)
    say("");
    say("Scenario (iii) — the utility monitors consenting consumers; BlockSEC stores only what the PPC permits");
    // Readings only: her sealed trades are in the same ledger under category TRADES.
    const stored = async (c: string) => (await utilitySec.storedRecords({ consumer: c, fromBlock: d.blocksec.startBlock })).filter((s) => s.record.category === "CONSUMPTION");
    const anchoredForConsenting: { consumer: string; records: number }[] = [];
    await waitFor(
      `the gateway to anchor readings of Alice, Bob and Dave${erin ? " and of Erin's DLMS meter" : ""} (meters report every 15 simulated minutes)`,
      async () => {
        anchoredForConsenting.length = 0;
        for (const h of [alice, bob, dave, ...(erin ? [erin] : [])]) anchoredForConsenting.push({ consumer: h.name, records: (await stored(h.keys.address)).length });
        // Alice's (and Erin's) 15-minute records arrive first; Bob's hourly and Dave's daily aggregates need a full period.
        return (anchoredForConsenting[0]?.records ?? 0) > 0 && (!erin || (anchoredForConsenting[3]?.records ?? 0) > 0);
      },
      timeout,
    );
    const refusingConsumerRecords = (await stored(carol.keys.address)).length;
    for (const x of anchoredForConsenting) say(`  ${x.consumer.padEnd(6)} ${x.records} record(s) anchored on BlockSEC so far`);
    say(`  Carol  ${refusingConsumerRecords} record(s) — her meter is read (grid totals) but nothing of hers is stored`);

    // A logged grant; the federation releases the covered epoch keys to the utility's X25519 key;
    // the utility opens Alice's records and proves each against its anchored root.
    const nowSec = Math.floor(Date.now() / 1000);
    const utilityBox = walletBoxKeys(key("utility"));
    const custody = new KeyCustodyClient({ address: d.blocksec.keyCustody, provider: utilitySec.provider });
    const read = await readGranted({
      sec: utilitySec,
      custody,
      secretKey: utilityBox.secretKey,
      consumer: alice.keys.address,
      from: nowSec - 7 * 86400,
      to: nowSec,
      resolution: "QUARTER_HOURLY",
      fromBlock: d.blocksec.startBlock,
      timeoutMs: timeout,
    });
    const grantEntry = read.entry;
    // The same grant through the gateway's API: the records, the covered keys and the members' releases.
    const utilityWallet = new Wallet(key("utility"));
    const pathGrant = `/v1/access/${alice.keys.address}/${grantEntry.index}/readings`;
    const res = await fetch(`${gatewayUrl}${pathGrant}`, { headers: await signRequest({ signer: utilityWallet, method: "GET", path: pathGrant }) });
    if (!res.ok) throw new CliError("DEMO_FAILED", `gateway answered ${res.status} to the utility's granted read: ${await res.text()}`);
    const body = (await res.json()) as { readings: { meterId: number; sequence: number; anchor?: { batchId: string; root: string; proof: string[] } }[]; releases: unknown[] };
    const onChain = await stored(alice.keys.address);
    let proofVerifiedOnChain = false;
    const first = body.readings.find((r) => r.anchor);
    const chainCopy = first && onChain.find((s) => Number(s.record.sequence) === first.sequence);
    if (first?.anchor && chainCopy) {
      proofVerifiedOnChain =
        verifyMerkleProof(first.anchor.proof, first.anchor.root, recordLeaf(chainCopy.record)) &&
        (await utilitySec.verifyRecordOnChain(first.anchor.batchId, chainCopy.record, first.anchor.proof));
    }
    const firstOpened = read.readings.find((r) => r.reading);
    const opened = firstOpened?.reading ? { meterId: firstOpened.meterId, sequence: firstOpened.sequence, energyImportWh: String(firstOpened.reading.activeEnergyImportWh) } : null;
    const releasedBy = [...new Set(read.keys.flatMap((k) => k.releasedBy))];
    const grant = {
      ...accessOf(grantEntry),
      readings: body.readings.length,
      proofVerifiedOnChain,
      opened,
      plaintextReadings: read.readings.length,
      allProven: read.readings.length > 0 && read.readings.every((r) => r.proven),
      keysReleased: read.keys.filter((k) => k.opened).length,
      releasedBy,
      keyReleaseMs: read.timings.releaseMs,
    };
    say(`  utility → Alice: GRANTED (access entry #${grant.index}, tx ${grant.txHash.slice(0, 12)}…, 15-minute resolution, the last 7 days up to the grant)`);
    say(`    ${releasedBy.length} federation member(s) released their shares of ${grant.keysReleased} epoch key(s) to the utility's key in ${grant.keyReleaseMs} ms`);
    say(`    the utility opened ${grant.plaintextReadings} reading(s), each proven against its anchored Merkle root: ${grant.allProven ? "yes" : "NO"}; the gateway's API serves the same grant (${grant.readings} record(s), proof verified on chain: ${proofVerifiedOnChain})`);
    if (opened) say(`    e.g. meter ${opened.meterId}, reading #${opened.sequence}: import register ${opened.energyImportWh} Wh`);

    // Figure 10: the utility tries to read the consumer who refused.
    let denial: DemoAccess;
    try {
      await utilitySec.getEnergyUsage(carol.keys.address);
      throw new CliError("DEMO_FAILED", "the ledger granted access to Carol's data although she refused it");
    } catch (e) {
      if (!(e instanceof AccessDeniedError)) throw e;
      denial = { requester: e.requester, consumer: e.consumer, granted: false, reason: e.reason, index: e.index, txHash: e.txHash ?? "" };
    }
    say(`  utility → Carol: DENIED (${denial.reason}) — the attempt itself is recorded: entry #${denial.index}, tx ${denial.txHash.slice(0, 12)}…  (paper, Figure 10)`);

    // Figure 11: what BlockSEC holds for Alice — trades (destination, value in SGT) and OSGP tables.
    // Her trades are read as her readings are: a logged TRADES grant, then the federation's release.
    const tradeRead = await readGrantedTrades({
      sec: utilitySec,
      custody,
      secretKey: walletBoxKeys(key("utility")).secretKey,
      consumer: alice.keys.address,
      from: 0,
      to: Math.floor(Date.now() / 1000),
      fromBlock: d.blocksec.startBlock,
      timeoutMs: timeout,
    });
    const aliceTrades = tradeRead.trades;
    // Alice opens her own records with her key: her envelopes of the epoch keys on KeyCustody.
    const aliceKeys = await consumerDataKeys({ custody, consumer: alice.keys.address, secretKey: alice.keys.box.secretKey, fromBlock: d.blocksec.startBlock });
    const figure11 = {
      consumer: alice.keys.address,
      trades: aliceTrades.map((t) => ({ destination: t.counterparty, valueSgt: sgt(t.amount), tradeId: t.tradeId.toString(), proven: t.proven })),
      tradeGrant: { index: tradeRead.entry.index, keysReleased: tradeRead.keys.filter((k) => k.opened).length },
      // Her 15-minute records carry the OSGP table (Figure 11); a day closed inside the demo's history
      // also stores DAILY aggregates, which carry the aggregate layout, not the table.
      osgpRecords: onChain.filter((s) => s.record.resolution === "QUARTER_HOURLY").slice(0, 3).map((s) => {
        let plain: string | null = null;
        try {
          const payload = Buffer.from(s.record.payload.slice(2), "hex");
          const o = openReadingPayload(payload, { dataKey: aliceKeys.get(payloadKeyId(payload) ?? -1)! }, {
            meterId: alice.keys.meter,
            sequence: Number(s.record.sequence),
            resolution: SecResolution[s.record.resolution],
          });
          plain = hexlify(o.plaintext);
        } catch {
          plain = null;
        }
        return { sequence: Number(s.record.sequence), resolution: s.record.resolution, ciphertext: s.record.payload, osgpPlaintext: plain };
      }),
    };
    say(`  Figure 11 — stored for Alice: ${figure11.trades.length} sealed trade(s), ${onChain.filter((x) => x.record.resolution === "QUARTER_HOURLY").length} encrypted OSGP table(s) and ${onChain.filter((x) => x.record.resolution !== "QUARTER_HOURLY").length} aggregate(s)`);
    say(`    her trades, read by the utility on TRADES grant #${tradeRead.entry.index} (${figure11.tradeGrant.keysReleased} trade key(s) released by the federation):`);
    for (const t of figure11.trades) say(`    trade #${t.tradeId}  destination ${t.destination}  value ${t.valueSgt} SGT  proven against its anchored root: ${t.proven ? "yes" : "NO"}`);
    for (const r of figure11.osgpRecords.slice(0, 1)) {
      say(`    record #${r.sequence} (${r.resolution}) on chain: ${r.ciphertext.slice(0, 42)}… (${(r.ciphertext.length - 2) / 2} bytes)`);
      if (r.osgpPlaintext) say(`      opened by Alice with her own key: ${(r.osgpPlaintext.length - 2) / 2}-byte OSGP ${r.resolution === "QUARTER_HOURLY" ? "ET160 record" : "aggregate"} ${r.osgpPlaintext.slice(0, 42)}…`);
    }

    // A court audits both consumers: every attempt, granted or denied, verified against the chain head.
    const court = await secOf(key("court"));
    const audit: DemoReport["scenario3"]["audit"] = [];
    for (const h of [alice, carol]) {
      const r: AuditReport = await court.audit(h.keys.address, { fromBlock: d.blocksec.startBlock, record: true, keyCustody: d.blocksec.keyCustody });
      const byUtility = r.entries.filter((e) => e.requester === d.accounts.utility);
      const row = {
        consumer: h.name,
        ok: r.ok,
        granted: byUtility.filter((e) => e.granted).length,
        denied: byUtility.filter((e) => !e.granted).length,
        entries: r.count,
        courtReadTx: r.courtRead?.transactionHash ?? null,
      };
      audit.push(row);
      say(`  court audits ${h.name}: hash chain ${r.ok ? "verified" : "BROKEN"}; the utility's attempts: ${row.granted} granted, ${row.denied} denied; ${r.count} entries in all (the court's own read is recorded too)`);
    }

    // ---------------------------------------------------------------- scenario 4: peg and revocation
    say("");
    say("Federation — a two-way peg of SGT between BlockTST and BlockPRI, and a preference revocation");
    const fedPri = d.federation.chains.find((c) => c.name === "blockpri")!;
    const fedTst = d.federation.chains.find((c) => c.name === "blocktst")!;
    const traderTst = await tstOf(key("trader"));
    const traderPri = await a.on("blockpri", key("trader"));
    const amount = 40n * ONE;
    if ((await traderTst.balanceOf()) < amount) await traderTst.faucet(amount);
    await traderTst.approve(fedTst.peg!, MaxUint256);
    const pegIface = TokenPeg__factory.createInterface();
    const wsgt = WrappedToken__factory.connect(fedPri.wrappedToken!, operator.pri.provider);
    const wBefore = await wsgt.balanceOf(trader);
    const sgtBefore = await traderTst.balanceOf();
    const lock = await (await a.on("blocktst", key("trader"))).sender.sendAndWait({ to: fedTst.peg!, data: pegIface.encodeFunctionData("lock", [amount, fedPri.chainId, trader]) });
    const mintedOnBlockPriMs = await waitFor("wSGT to be minted on BlockPRI", async () => (await wsgt.balanceOf(trader)) === wBefore + amount, timeout);
    say(`  lock ${sgt(amount)} SGT on BlockTST (tx ${lock.transactionHash.slice(0, 12)}…) → ${sgt(amount)} wSGT minted on BlockPRI after ${mintedOnBlockPriMs} ms`);
    const burn = await traderPri.sender.sendAndWait({ to: fedPri.peg!, data: pegIface.encodeFunctionData("burn", [amount, trader]) });
    const releasedOnBlockTstMs = await waitFor("SGT to be released on BlockTST", async () => (await traderTst.balanceOf()) === sgtBefore, timeout);
    const roundTripOk = (await wsgt.balanceOf(trader)) === wBefore && (await traderTst.balanceOf()) === sgtBefore;
    say(`  burn ${sgt(amount)} wSGT on BlockPRI (tx ${burn.transactionHash.slice(0, 12)}…) → SGT released on BlockTST after ${releasedOnBlockTstMs} ms; balances back where they were: ${roundTripOk}`);

    const bobPpc = new BlockPriClient({ sender: (await a.on("blockpri", bob.keys.privateKey)).sender, address: d.blockpri.ppc });
    const revoke = await bobPpc.setPreference({ utility: d.accounts.utility, category: "CONSUMPTION", allowed: false });
    const refusedOnBlockSecMs = await waitFor(
      "the revocation to reach BlockSEC",
      async () => !(await utilitySec.isPermitted({ consumer: bob.keys.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "MONTHLY" })),
      timeout,
    );
    let afterRevocation: DemoAccess;
    try {
      const g = await utilitySec.requestAccess({ consumer: bob.keys.address, category: "CONSUMPTION", resolution: "HOURLY", from: 0, to: nowSec });
      afterRevocation = accessOf(g.entry);
    } catch (e) {
      if (!(e instanceof AccessDeniedError)) throw e;
      afterRevocation = { requester: e.requester, consumer: e.consumer, granted: false, reason: e.reason, index: e.index, txHash: e.txHash ?? "" };
    }
    say(`  Bob revokes the utility (tx ${revoke.receipt.transactionHash.slice(0, 12)}…): BlockSEC refuses after ${refusedOnBlockSecMs} ms; the utility's next request: ${afterRevocation.granted ? "GRANTED" : `DENIED (${afterRevocation.reason})`}`);
    // Bob's choice stands for the demo run only: restore it so the next demo starts the same way.
    await bobPpc.setPreference({ utility: d.accounts.utility, category: "CONSUMPTION", allowed: true, resolution: "HOURLY" });

    let demandResponse: DemoDemandResponse | undefined;
    let demandResponseSkipped: DemoReport["demandResponseSkipped"];
    if (opts.demandResponse !== false) {
      say("");
      say("Scenario (iv) — demand response and day-ahead DSM on the simulated fleet");
      // Meters whose clock has met the wall clock (a system that ran for more than their two days'
      // lead at ×speed) report an event an hour ahead only in real time: say so instead of timing out.
      demandResponseSkipped = demandResponseSkip(new SimClock(simState.clock), timeout);
      if (demandResponseSkipped) {
        say(`  skipped: ${demandResponseSkipped.reason}, so an event an hour ahead would take ${Math.ceil(demandResponseSkipped.waitMs / 60_000)} minutes of real time to play (longer than --timeout ${timeout / 1000} s).`);
        say(`  \`sidegrid demo --timeout ${Math.ceil(demandResponseSkipped.waitMs / 1000 + 120)}\` waits for it; a fresh installation (\`sidegrid down\`, remove .sidegrid/, \`sidegrid up\`) replays two days at ×${simState.clock.speed} first.`);
      }
    }
    if (opts.demandResponse !== false && !demandResponseSkipped) {
      demandResponse = await playDemandResponse({ d, on: (n, k) => a.on(n, k), operatorKey: key("operator"), utilityKey: key("utility"), alice: alice.keys, bob: bob.keys, simState, gatewayUrl, utilitySec, say, waitFor, timeoutMs: timeout });
    }

    const report: DemoReport = {
      ok: false,
      startedAt: new Date(t0).toISOString(),
      durationMs: 0,
      networks: d.networks,
      scenario1: { consumers, relayedToBlockSecMs, relayedToBlockTstMs },
      scenario2: { trades, table3Reproduced, tradingAccount },
      scenario3: { anchoredForConsenting, refusingConsumerRecords, grant, denial, figure11, audit },
      scenario4: {
        peg: { amountSgt: sgt(amount), lockTx: lock.transactionHash, mintedOnBlockPriMs, burnTx: burn.transactionHash, releasedOnBlockTstMs, roundTripOk },
        revocation: { consumer: bob.keys.address, revokeTx: revoke.receipt.transactionHash, refusedOnBlockSecMs, afterRevocation },
      },
      ...(demandResponse ? { demandResponse } : {}),
      ...(demandResponseSkipped ? { demandResponseSkipped } : {}),
    };
    report.ok =
      table3Reproduced &&
      trades.every((t) => t.sealedOnBlockSec === t.dataSharing) &&
      !tradingAccount.identityOnBlockTst &&
      refusingConsumerRecords === 0 &&
      grant.granted &&
      grant.readings > 0 &&
      grant.plaintextReadings > 0 &&
      grant.allProven &&
      proofVerifiedOnChain &&
      !denial.granted &&
      audit.every((x) => x.ok) &&
      (audit.find((x) => x.consumer === "Carol")?.denied ?? 0) > 0 &&
      roundTripOk &&
      !afterRevocation.granted &&
      (demandResponse?.ok ?? true);
    report.durationMs = Date.now() - t0;
    say("");
    say(`Demo ${report.ok ? "complete: every outcome as expected" : "FINISHED WITH UNEXPECTED OUTCOMES"} (${(report.durationMs / 1000).toFixed(1)} s). Portal: ${gatewayUrl}/`);
    return report;
  } finally {
    a.close();
  }
}
