// Gas of BlockSEC, measured on anvil (default hardfork, EIP-7623 calldata floor in force) and
// written to bench-results/gas.json. Run: pnpm bench (after pnpm build).
import fs from "node:fs";
import path from "node:path";
import { getBytes, hexlify, randomBytes, Wallet } from "ethers";
import { isChainError, latestTimestamp, startTestChain, type TestChain, type TxReceipt } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload } from "@sidegrid/blockpri";
import type { BlockSecClient } from "./client";
import { PolicyMirror__factory } from "./generated";
import { encodeTradePayload } from "./trades";
import { A, FAKE_PPC, FAKE_PRI_CHAIN_ID, meterId, readings, setupSec, type SecWorld } from "./test-utils/world";
import type { MeterRecord } from "./types";

const OUT = path.join(__dirname, "..", "bench-results", "gas.json");
const PAPER_SET_TRANS_LOG = 205_000; // the paper's Storage.setTransLog, 144-byte record (TOOLCHAIN.md)

let chain: TestChain;
let w: SecWorld;
let gw: BlockSecClient;
let utilityA: string;
let meterSeq = 1000;

/** EIP-7623: the least a transaction pays for its calldata (21,000 + 10 per token, nonzero byte = 4 tokens). */
function calldataCost(data: string): { floor: number; standard: number; bytes: number } {
  const b = getBytes(data);
  const zeros = b.filter((x) => x === 0).length;
  const nonzero = b.length - zeros;
  return { floor: 21000 + 10 * (zeros + 4 * nonzero), standard: 21000 + 4 * zeros + 16 * nonzero, bytes: b.length };
}

/** Registers `n` fresh consumers, each with one meter, all permitting utility A quarter-hourly. */
async function consumers(n: number): Promise<{ consumer: string; meter: string }[]> {
  const iface = PolicyMirror__factory.createInterface();
  const out = Array.from({ length: n }, () => ({ consumer: Wallet.createRandom().address, meter: meterId(meterSeq++) }));
  const txs = out.flatMap(({ consumer, meter }) => [
    encodeRegistrationPayload({ registration: { consumer, meterId: meter, meterSigner: consumer, encryptionKey: hexlify(randomBytes(32)) }, version: 1n }),
    encodePreferencesPayload({ consumer, version: 2n, prefs: [{ utility: utilityA, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY", expiresAt: 0 }] }),
  ]);
  for (let i = 0; i < txs.length; i += 400) {
    await w.admin.sendMany(txs.slice(i, i + 400).map((p) => ({ to: w.addresses.policyMirror, data: iface.encodeFunctionData("onFederatedMessage", [FAKE_PRI_CHAIN_ID, FAKE_PPC, p]), gasLimit: 400_000n })));
  }
  return out;
}

interface BatchFigure {
  records: number;
  meters: number;
  /** More than 1 when the batch did not fit one block and TxSender.sendBatched split it. */
  transactions: number;
  gasUsed: number;
  perRecord: number;
  calldataBytes: number;
  calldataFloor: number;
  /** True when the EIP-7623 floor, not execution, set the price. */
  floorBound: boolean;
}

async function anchor(label: string, recs: MeterRecord[], meters: number): Promise<BatchFigure> {
  let receipts: TxReceipt[];
  try {
    const r = await gw.anchorBatch({ batchId: hexlify(randomBytes(32)), records: recs });
    if (r.stored !== recs.length) throw new Error(`${label}: stored ${r.stored} of ${recs.length}`);
    receipts = [r.receipt];
  } catch (e) {
    if (!isChainError(e, "GAS_LIMIT_EXCEEDED")) throw e;
    const parts = await gw.anchorRecords({ batchId: hexlify(randomBytes(32)), records: recs });
    if (parts.reduce((n, p) => n + p.stored, 0) !== recs.length) throw new Error(`${label}: not all stored`);
    receipts = parts.map((p) => p.receipt);
  }
  let gasUsed = 0;
  let floor = 0;
  let bytes = 0;
  for (const r of receipts) {
    const tx = (await chain.provider.send("eth_getTransactionByHash", [r.transactionHash])) as { input: string };
    const c = calldataCost(tx.input);
    gasUsed += Number(r.gasUsed);
    floor += c.floor;
    bytes += c.bytes;
  }
  return {
    records: recs.length,
    meters,
    transactions: receipts.length,
    gasUsed,
    perRecord: Math.round(gasUsed / recs.length),
    calldataBytes: bytes,
    calldataFloor: floor,
    floorBound: gasUsed === floor,
  };
}

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31199 });
  w = await setupSec(chain);
  gw = await w.as(A.gatewayA);
  utilityA = await w.addr(A.utilityA);
}, 120_000);
afterAll(() => chain.stop());

it("measures BlockSEC gas", async () => {
  const results: Record<string, unknown> = {};

  // Deployment.
  const deployments = w.deployments.read().contracts;
  results.deploy = Object.fromEntries(Object.entries(deployments).map(([k, v]) => [k, Number(v.gasUsed)]));

  // anchorBatch: 144-byte payloads; fresh meters (first batch: bitmap words created) and steady
  // state (the next batch of the same meters).
  const anchorFigures: Record<string, Record<string, BatchFigure>> = {};
  for (const [scenario, metersFor] of [
    ["10 meters", (n: number) => Math.min(10, n)],
    ["1 meter", () => 1],
    ["every record a different meter", (n: number) => n],
  ] as const) {
    const figs: Record<string, BatchFigure> = {};
    for (const n of [10, 100, 1000]) {
      const m = metersFor(n);
      const cs = await consumers(m);
      const per = n / m;
      figs[`${n} fresh`] = await anchor(`${scenario} ${n}`, cs.flatMap((c) => readings({ consumer: c.consumer, meter: c.meter, n: per })), m);
      figs[`${n} steady`] = await anchor(`${scenario} ${n} again`, cs.flatMap((c) => readings({ consumer: c.consumer, meter: c.meter, first: BigInt(per + 1), n: per })), m);
    }
    anchorFigures[scenario] = figs;
  }
  results.anchorBatch = anchorFigures;

  // Largest batch per 30M block and the split of a batch that does not fit.
  const cs = await consumers(10);
  const big = cs.flatMap((c) => readings({ consumer: c.consumer, meter: c.meter, first: 10_000n, n: 600 }));
  const parts = await gw.anchorRecords({ batchId: hexlify(randomBytes(32)), records: big });
  results.split = {
    records: big.length,
    blockGasLimit: Number(gw.sender.blockGasLimit),
    transactions: parts.map((p) => ({ records: p.stored, gasUsed: Number(p.receipt.gasUsed), perRecord: Math.round(Number(p.receipt.gasUsed) / p.stored) })),
  };
  const perRecord1000 = (anchorFigures["10 meters"]!["1000 steady"] as BatchFigure).perRecord;
  results.largestBatchPer30MBlock = Math.floor((30_000_000 - 21_000) / perRecord1000);

  // Per-operation gas.
  const ops: Record<string, number> = {};
  const g = (r: TxReceipt | { receipt: TxReceipt }) => Number(("receipt" in r ? r.receipt : r).gasUsed);
  const relayer = await w.as(A.admin);
  const alice = await w.addr(A.alice);
  const bob = await w.addr(A.bob);
  const v = (c: string) => (w.versions.get(c) ?? 0n) + 1n;
  ops["mirror: registration (first)"] = g(await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodeRegistrationPayload({ registration: { consumer: alice, meterId: meterId(1), meterSigner: alice, encryptionKey: hexlify(randomBytes(32)) }, version: v(alice) })));
  w.versions.set(alice, v(alice));
  const prefs = (n: number) => Array.from({ length: n }, (_, i) => ({ utility: i === 0 ? utilityA : Wallet.createRandom().address, category: "CONSUMPTION" as const, allowed: true, resolution: "DAILY" as const, expiresAt: 0 }));
  ops["mirror: preferences, 1 entry (first)"] = g(await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer: alice, version: v(alice), prefs: prefs(1) })));
  w.versions.set(alice, v(alice));
  ops["mirror: preferences, 1 entry (update)"] = g(await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer: alice, version: v(alice), prefs: [{ ...prefs(1)[0]!, category: "TRADES", resolution: "NONE" }, ...prefs(1)] })));
  w.versions.set(alice, v(alice));
  ops["mirror: preferences, 5 entries"] = g(await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer: alice, version: v(alice), prefs: prefs(5) })));
  w.versions.set(alice, v(alice));
  // The largest list BlockPRI can emit: 2 defaults + 8 utilities × 2 categories, all new slots.
  const carol = Wallet.createRandom().address;
  const maxList = [
    { utility: "0x0000000000000000000000000000000000000000", category: "CONSUMPTION" as const, allowed: true, resolution: "MONTHLY" as const, expiresAt: 0 },
    { utility: "0x0000000000000000000000000000000000000000", category: "TRADES" as const, allowed: true, resolution: "NONE" as const, expiresAt: 0 },
    ...Array.from({ length: 8 }, () => Wallet.createRandom().address).flatMap((u) => [
      { utility: u, category: "CONSUMPTION" as const, allowed: true, resolution: "HOURLY" as const, expiresAt: 0 },
      { utility: u, category: "TRADES" as const, allowed: true, resolution: "NONE" as const, expiresAt: 0 },
    ]),
  ];
  ops["mirror: preferences, 18 entries (BlockPRI's maximum)"] = g(await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer: carol, version: 1n, prefs: maxList })));
  await w.register(bob, meterId(2));
  await w.setPrefs(bob, [{ category: "TRADES" }]);
  const utilA = await w.as(A.utilityA);
  const stranger = await w.as(A.stranger);
  const court = await w.as(A.court);
  const t = await latestTimestamp(chain.provider);
  ops["requestAccess granted (first entry)"] = g(await utilA.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "DAILY", from: 0, to: t, requesterKey: hexlify(randomBytes(32)) }));
  ops["requestAccess granted (later entry)"] = g(await utilA.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "DAILY", from: 0, to: t, requesterKey: hexlify(randomBytes(32)) }));
  const deniedGas = async (p: Promise<unknown>) => {
    const e = (await p.catch((x: unknown) => x)) as { txHash: string };
    const r = (await chain.provider.send("eth_getTransactionReceipt", [e.txHash])) as { gasUsed: string };
    return Number(BigInt(r.gasUsed));
  };
  ops["requestAccess denied (not permitted)"] = await deniedGas(utilA.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: 0, to: t }));
  ops["getEnergyUsage, self-declared distributor (denied)"] = await deniedGas(stranger.getEnergyUsage(alice));
  ops["getEnergyUsage granted"] = g(await utilA.getEnergyUsage(alice));
  ops["getCurrentEnergyUsage granted"] = g(await utilA.getCurrentEnergyUsage(alice));
  ops["readAccessLog (court)"] = g(await court.readAccessLog(alice));
  const market = "0x000000000000000000000000000000000000bEEF";
  await relayer.setTradeSource(31160, market);
  ops["trade relayed (first)"] = g(await relayer.deliverTrade(31160, market, encodeTradePayload({ tradeId: 1n, buyer: bob, seller: alice, kind: "CP", quantityWh: 50n, amount: 30n, unitPrice: 1n, settledAt: t })));
  ops["trade relayed (later)"] = g(await relayer.deliverTrade(31160, market, encodeTradePayload({ tradeId: 2n, buyer: alice, seller: Wallet.createRandom().address, kind: "CC", quantityWh: 50n, amount: 30n, unitPrice: 1n, settledAt: t })));
  ops["getTransLog granted (recorded, no trades returned)"] = g(await utilA.getTransLog(bob));
  results.operations = ops;
  results.paperSetTransLogPerRecord = PAPER_SET_TRANS_LOG;
  results.measuredWith = { node: "anvil 1.7.1 (default hardfork, EIP-7623 calldata floor)", solc: "0.8.37, optimizer 200 runs, evm cancun", payloadBytes: 144 };

  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  const rows = Object.entries(anchorFigures).flatMap(([s, figs]) =>
    Object.entries(figs).map(([k, f]) => `${s.padEnd(32)} ${k.padEnd(12)} ${String(f.gasUsed).padStart(10)} gas in ${f.transactions} tx ${String(f.perRecord).padStart(7)}/record  floor-bound ${f.floorBound}`),
  );
  console.log(`anchorBatch (144-byte payloads; the paper: ~${PAPER_SET_TRANS_LOG} gas per record)\n${rows.join("\n")}\n\nsplit: ${JSON.stringify(results.split)}\n\noperations: ${JSON.stringify(ops, null, 2)}\n\ndeploy: ${JSON.stringify(results.deploy)}`);
  expect(perRecord1000).toBeLessThanOrEqual(7000);
}, 600_000);
