// Gas of every contract's deployment and of the operations the paper's Tables 4 and 5 price, from
// transaction receipts on the bench's own chains, sent through the packages' clients.
import { Interface, MaxUint256, Wallet, hexlify, parseEther, randomBytes, zeroPadValue, type JsonRpcProvider } from "ethers";
import { TxSender, rpcCall, sleep, type DeploymentsFile } from "@sidegrid/chain";
import { AccessDeniedError, BlockSecClient, type MeterRecord } from "@sidegrid/blocksec";
import { BlockTstClient, MarketMirror__factory } from "@sidegrid/blocktst";
import { FederationInbox__factory, TokenPeg__factory, WrappedToken__factory } from "@sidegrid/federation";
import { meterIdToBytes32 } from "@sidegrid/meter-gateway";
import { CliError } from "../errors";
import { freshConsumer, paperRecords, setTransLogData, BASELINE_GAS_LIMIT } from "./baseline";
import { PAPER_TABLE4, PAPER_TABLE5 } from "./paper";
import { percentile, round } from "./stats";
import type { DeployGasRow, OperationGasRow, PaperGasRow } from "./types";
import { ACCOUNTS, BENCH_CHAIN_IDS, type BenchConsumer, type BenchWorld } from "./world";

const inboxIface = FederationInbox__factory.createInterface();
const EXECUTED = inboxIface.getEvent("MessageExecuted").topicHash;
const pegIface = TokenPeg__factory.createInterface();

/** Deployment gas of every contract, from the deployment records the deploy functions wrote. */
export function deployGasRows(w: BenchWorld): DeployGasRow[] {
  const rows: DeployGasRow[] = [];
  const chains: [string, DeploymentsFile][] = [
    ["BlockPRI", w.deployments.pri.read()],
    ["BlockSEC", w.deployments.sec.read()],
    ["BlockTST", w.deployments.tst.read()],
  ];
  const notes: Record<string, string> = {
    PaperStorage: `the paper's Storage (baseline), ${w.paperStorage.compiler}, optimizer off`,
    TokenPeg: "remote pegs (BlockPRI, BlockSEC) create their WrappedToken in the constructor: included",
    "WrappedToken (standalone)": "deployed alone only to show its own cost",
    PPC: "the paper's Access (PPC)",
  };
  for (const [chain, file] of chains) {
    for (const [key, rec] of Object.entries(file.contracts)) {
      if (key.startsWith("RelayLoad")) continue; // bench load generator, not part of Sidegrid
      const note = key === "TokenPeg" ? (chain === "BlockTST" ? "home peg (escrows SGT)" : notes.TokenPeg) : notes[key];
      rows.push({ contract: key, chain, gas: Number(rec.gasUsed), ...(note ? { note } : {}) });
    }
  }
  return rows;
}

/** Deliver transactions on `inbox` since `fromBlock` that executed messages for `receiver`: gas per message. */
export async function deliverGas(url: string, inbox: string, receiver: string, fromBlock: number): Promise<{ txs: number; messages: number; gasPerMessage: number }> {
  const logs = await rpcCall<{ transactionHash: string }[]>(url, "eth_getLogs", [
    { fromBlock: `0x${fromBlock.toString(16)}`, toBlock: "latest", address: inbox, topics: [EXECUTED, null, null, zeroPadValue(receiver, 32)] },
  ]);
  const perTx = new Map<string, number>();
  for (const l of logs) perTx.set(l.transactionHash, (perTx.get(l.transactionHash) ?? 0) + 1);
  let gas = 0;
  for (const h of perTx.keys()) gas += Number(BigInt((await rpcCall<{ gasUsed: string }>(url, "eth_getTransactionReceipt", [h])).gasUsed));
  return { txs: perTx.size, messages: logs.length, gasPerMessage: logs.length ? Math.round(gas / logs.length) : NaN };
}

async function until(what: string, f: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f().catch(() => false))) {
    if (Date.now() > deadline) throw new CliError("BENCH_FAILED", `timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function receiptGas(provider: JsonRpcProvider, txHash: string | undefined): Promise<number> {
  if (!txHash) throw new CliError("BENCH_FAILED", "a denied access request carried no transaction hash");
  const r = (await provider.send("eth_getTransactionReceipt", [txHash])) as { gasUsed: string };
  return Number(BigInt(r.gasUsed));
}

export interface OperationGasContext {
  /** Consumers registered through BlockPRI with consent (registration and consent gas are theirs). */
  consenting: readonly BenchConsumer[];
  /** 10 consenting consumers whose meters only this measurement anchors for. */
  anchorGroup: readonly BenchConsumer[];
  /** Registered, no consent: access is denied. */
  refusing: BenchConsumer;
  /** Registered (meter signer = own key): buys energy and confirms delivery with that key. */
  buyer: BenchConsumer;
  log: (line: string) => void;
}

/** Sends each priced operation once (twice where first and steady state differ) and reads its receipt's gasUsed. */
export async function measureOperationGas(w: BenchWorld, ctx: OperationGasContext): Promise<{ rows: OperationGasRow[]; baselineSetTransLog: number }> {
  const rows: OperationGasRow[] = [];
  const add = (operation: string, contract: string, gas: number, per: string, note?: string) => {
    rows.push({ operation, contract, gas, per, ...(note ? { note } : {}) });
    ctx.log(`  gas ${operation.padEnd(58)} ${String(gas).padStart(9)} per ${per}`);
  };
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

  // BlockPRI: the consumers' own transactions.
  add("consumerRegister (signed meter binding, X25519 key)", "PPC", median(ctx.consenting.map((c) => c.registerGas)), "transaction", `median of ${ctx.consenting.length}; sends 2 relay messages`);
  add("setPreference (consent to a utility, QUARTER_HOURLY)", "PPC", median(ctx.consenting.map((c) => c.preferenceGas)), "transaction", "first entry; sends 2 relay messages");

  // BlockSEC: anchoring 1,000 records of 144-byte payloads, 10 meters × 100 (issue 4's figure).
  const gw = new BlockSecClient({ sender: (await w.sec.account(ACCOUNTS.gasGateway)).sender, addresses: w.secAddresses });
  const batch = (first: number): MeterRecord[] =>
    ctx.anchorGroup.flatMap((c) =>
      Array.from({ length: 100 }, (_, i) => ({
        consumer: c.address,
        meterId: meterIdToBytes32(c.meterId),
        sequence: BigInt(first + i),
        periodStart: 1_750_000_000 + (first + i) * 900,
        resolution: "QUARTER_HOURLY" as const,
        category: "CONSUMPTION" as const,
        // Sealed payloads look random: no cheap zero bytes in the calldata.
        payload: hexlify(randomBytes(144)),
      })),
    );
  for (const [label, first] of [["first batch of fresh meters", 1], ["steady state", 101]] as const) {
    const r = await gw.anchorBatch({ batchId: hexlify(randomBytes(32)), records: batch(first) });
    if (r.stored !== 1000) throw new CliError("BENCH_FAILED", `anchorBatch stored ${r.stored} of 1000 records (consent missing on the mirror?)`);
    add(`anchorBatch, 1,000 records of 144 B, 10 meters (${label})`, "MeterDataLedger", Math.round(Number(r.receipt.gasUsed) / 1000), "record", `${r.receipt.gasUsed} gas for the transaction`);
  }

  // BlockSEC: access requests, granted and denied (a denial is recorded, not reverted).
  const utility = new BlockSecClient({ sender: (await w.sec.account(ACCOUNTS.utility)).sender, addresses: w.secAddresses });
  const now = Math.floor(Date.now() / 1000);
  const granted = await utility.requestAccess({ consumer: ctx.anchorGroup[0]!.address, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: now - 86_400, to: now });
  add("requestAccess, granted", "AccessLedger", Number(granted.receipt.gasUsed), "transaction");
  const denied = await utility.requestAccess({ consumer: ctx.refusing.address, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: now - 86_400, to: now }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(denied instanceof AccessDeniedError)) throw new CliError("BENCH_FAILED", "an access request without consent was not denied");
  add("requestAccess, denied (no consent; recorded, no revert)", "AccessLedger", await receiptGas(w.sec.provider, denied.txHash), "transaction");
  const usage = await utility.getEnergyUsage(ctx.anchorGroup[0]!.address);
  add("getEnergyUsage (the paper's name), granted", "AccessLedger", Number(usage.receipt.gasUsed), "transaction");

  // The baseline's own Storage functions, for Table 5.
  const baselineConsumer = await freshConsumer(w.admins.sec, w.sec.provider);
  const [rec1, rec2] = paperRecords(2);
  const s1 = await baselineConsumer.sendAndWait({ to: w.paperStorage.address, data: setTransLogData(w.utility.address, 1n, rec1!), gasLimit: BASELINE_GAS_LIMIT });
  const s2 = await baselineConsumer.sendAndWait({ to: w.paperStorage.address, data: setTransLogData(w.utility.address, 2n, rec2!), gasLimit: BASELINE_GAS_LIMIT });
  add("setTransLog, 144-byte string (first record of a consumer)", "PaperStorage (baseline)", Number(s1.gasUsed), "record");
  add("setTransLog, 144-byte string (later records)", "PaperStorage (baseline)", Number(s2.gasUsed), "record");
  const storageIface = new Interface(["function getTransLog(address) returns ((address,uint256,string)[])"]);
  const g = await utility.sender.sendAndWait({ to: w.paperStorage.address, data: storageIface.encodeFunctionData("getTransLog", [baselineConsumer.address]), gasLimit: 1_000_000n });
  add("getTransLog (2 records)", "PaperStorage (baseline)", Number(g.gasUsed), "transaction");

  // BlockTST: sell, buy (escrow), meter-confirmed delivery.
  const tstAddrs = { token: w.tstApps.token, mirror: w.tstApps.mirror, market: w.tstApps.market, auction: w.tstApps.auction };
  const seller = new BlockTstClient({ sender: (await w.tst.account(ACCOUNTS.seller)).sender, addresses: tstAddrs });
  const sell = await seller.sellEnergy(50_000n, parseEther("0.5"));
  add("sellEnergy (new offer)", "EnergyMarket", Number(sell.gasUsed), "transaction");
  await w.admins.tst.sendAndWait({ to: ctx.buyer.address, value: parseEther("1") });
  const buyerSender = await TxSender.create(new Wallet(ctx.buyer.wallet.privateKey, w.tst.provider), w.tst.provider, { network: "blocktst" });
  const buyer = new BlockTstClient({ sender: buyerSender, addresses: tstAddrs });
  await buyer.faucet(parseEther("1000"));
  await buyer.approve("market", MaxUint256);
  const bought = await buyer.buyEnergy(seller.address, 2_000n);
  add("buyEnergy (CP, price locked in escrow)", "EnergyMarket", Number(bought.receipt.gasUsed), "transaction");
  // The buyer's meter key reaches BlockTST's market mirror through the federation.
  const marketMirror = MarketMirror__factory.connect(w.tstApps.mirror, w.tst.provider);
  await until("the buyer's meter key on BlockTST", async () => (await marketMirror.meterSignerOf(ctx.buyer.address)).toLowerCase() === ctx.buyer.address.toLowerCase());
  const sig = await buyer.signDelivery(ctx.buyer.wallet.privateKey, bought.tradeId, 2_000n);
  const confirmed = await buyer.confirmDelivery(bought.tradeId, 2_000n, sig);
  add("confirmDelivery (meter-signed; pays seller, relays the trade)", "EnergyMarket", Number(confirmed.receipt.gasUsed), "transaction");

  // The peg: lock on BlockTST mints wSGT on BlockPRI, burning it there releases the SGT.
  const homePeg = w.fed.chains[2]!.peg!;
  const remotePeg = w.fed.chains[0]!.peg!;
  const pegUserTst = (await w.tst.account(ACCOUNTS.pegUser)).sender;
  const pegUserPri = (await w.pri.account(ACCOUNTS.pegUser)).sender;
  const holder = new BlockTstClient({ sender: pegUserTst, addresses: tstAddrs });
  const amount = parseEther("40");
  await holder.faucet(amount);
  await holder.approve(homePeg, MaxUint256);
  const priFrom = Number(await w.pri.provider.send("eth_blockNumber", [])) + 1;
  const lock = await pegUserTst.sendAndWait({ to: homePeg, data: pegIface.encodeFunctionData("lock", [amount, BENCH_CHAIN_IDS.blockpri, pegUserTst.address]) });
  add("TokenPeg.lock (SGT escrowed, message to BlockPRI)", "TokenPeg (BlockTST)", Number(lock.gasUsed), "transaction");
  const wsgt = WrappedToken__factory.connect(w.fed.chains[0]!.wrappedToken!, w.pri.provider);
  await until("wSGT minted on BlockPRI", async () => (await wsgt.balanceOf(pegUserPri.address)) === amount);
  const mint = await deliverGas(w.pri.node.url, w.fed.chains[0]!.inbox, remotePeg, priFrom);
  add("FederationInbox.deliver, peg mint (1 message)", "FederationInbox (BlockPRI)", mint.gasPerMessage, "message", `${mint.txs} deliver tx`);
  const tstFrom = Number(await w.tst.provider.send("eth_blockNumber", [])) + 1;
  const burn = await pegUserPri.sendAndWait({ to: remotePeg, data: pegIface.encodeFunctionData("burn", [amount, pegUserTst.address]) });
  add("TokenPeg.burn (wSGT burnt, message to BlockTST)", "TokenPeg (BlockPRI)", Number(burn.gasUsed), "transaction");
  await until("SGT released on BlockTST", async () => (await holder.balanceOf(pegUserTst.address)) === amount);
  const release = await deliverGas(w.tst.node.url, w.fed.chains[2]!.inbox, homePeg, tstFrom);
  add("FederationInbox.deliver, peg release (1 message)", "FederationInbox (BlockTST)", release.gasPerMessage, "message", `${release.txs} deliver tx`);
  return { rows, baselineSetTransLog: Number(s2.gasUsed) };
}

/**
 * The paper's Tables 4 and 5 beside our figures. Its costs are ETH on Ropsten at an unstated gas
 * price; converting at the price that maps its setTransLog onto our baseline's setTransLog gas makes
 * orders of magnitude comparable (an estimate, and said so in the report).
 */
export function paperGasRows(deploy: readonly DeployGasRow[], ops: readonly OperationGasRow[], baselineSetTransLog: number): { rows: PaperGasRow[]; impliedGweiPerGas: number } {
  const setTransLogEth = PAPER_TABLE5.find((r) => r.fn === "setTranslog")!.eth;
  const weiPerGas = (setTransLogEth * 1e18) / baselineSetTransLog;
  const toGas = (eth: number) => Math.round((eth * 1e18) / weiPerGas);
  const dep = (contract: string) => deploy.find((d) => d.contract === contract)?.gas ?? NaN;
  const op = (prefix: string) => ops.find((o) => o.operation.startsWith(prefix))?.gas ?? NaN;
  const t4: Record<string, [string, number]> = {
    Access: ["PPC (BlockPRI)", dep("PPC")],
    Storage: ["PaperStorage (baseline, same design)", dep("PaperStorage")],
    Transfer: ["EnergyMarket (BlockTST)", dep("EnergyMarket")],
    Token: ["SmartGridToken (BlockTST)", dep("SmartGridToken")],
  };
  const t5: Record<string, [string, number]> = {
    setTranslog: ["baseline setTransLog, 144 B (Sidegrid: anchorBatch per record, next row)", baselineSetTransLog],
    buyEnergy: ["EnergyMarket.buyEnergy (escrow)", op("buyEnergy")],
    getEnergyUsage: ["AccessLedger.getEnergyUsage, granted", op("getEnergyUsage")],
    getTranslog: ["baseline getTransLog (2 records)", op("getTransLog")],
    sellEnergy: ["EnergyMarket.sellEnergy", op("sellEnergy")],
  };
  const rows: PaperGasRow[] = [
    ...PAPER_TABLE4.map((r) => ({ table: 4 as const, paper: `${r.contract} (deploy)`, paperEth: r.eth, paperGasEstimate: toGas(r.eth), ours: t4[r.contract]![0], oursGas: t4[r.contract]![1] })),
    ...PAPER_TABLE5.map((r) => ({ table: 5 as const, paper: `${r.contract}.${r.fn}`, paperEth: r.eth, paperGasEstimate: toGas(r.eth), ours: t5[r.fn]![0], oursGas: t5[r.fn]![1] })),
  ];
  // Sidegrid's answer to setTransLog, per record.
  rows.splice(PAPER_TABLE4.length + 1, 0, {
    table: 5,
    paper: "Storage.setTranslog",
    paperEth: setTransLogEth,
    paperGasEstimate: toGas(setTransLogEth),
    ours: "MeterDataLedger.anchorBatch per record (1,000/batch, steady)",
    oursGas: op("anchorBatch, 1,000 records of 144 B, 10 meters (steady"),
  });
  return { rows, impliedGweiPerGas: round(weiPerGas / 1e9, 3) };
}
