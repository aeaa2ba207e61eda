// The paper's storage design as the benchmark baseline: packages/cli/baseline/PaperStorage.sol
// (the seed paper's Storage contract, Appendix B), compiled in-process with solc 0.5.17 (npm
// alias `solc-0.5`, the last 0.5 release; the paper's pragma is ^0.5.1). Optimizer off: the
// paper names no setting, and Truffle and Remix, the usual tools of its time, compiled without it.
import fs from "node:fs";
import path from "node:path";
import { AbiCoder, Wallet, concat, id, parseEther, type JsonRpcProvider } from "ethers";
import { TxSender, deployContract, type ContractArtifact, type Deployments } from "@sidegrid/chain";
import { encodeReadingRecord, type MeterReading } from "@sidegrid/osgp-codec";
import { CliError } from "../errors";
import type { StoreTiming } from "./types";
import { rate, round } from "./stats";

interface Solc05 {
  compile(input: string): string;
  version(): string;
}

export const BASELINE_SOURCE = path.join(__dirname, "..", "..", "baseline", "PaperStorage.sol");
export const BASELINE_SETTINGS = { optimizer: { enabled: false, runs: 200 } } as const;
/** Enough for setTransLog with a 144-byte string (~205–225k); fixed so no tx pays an estimate round trip. */
export const BASELINE_GAS_LIMIT = 400_000n;
const SET_TRANS_LOG = id("setTransLog(address,uint256,string)").slice(0, 10);

let compiled: (ContractArtifact & { settings: typeof BASELINE_SETTINGS }) | undefined;

/** Compiles PaperStorage.sol with solc 0.5.17 through the standard JSON interface (once per process). */
export function compilePaperStorage(): ContractArtifact & { settings: typeof BASELINE_SETTINGS } {
  compiled ??= compile();
  return compiled;
}

function compile(): ContractArtifact & { settings: typeof BASELINE_SETTINGS } {
  // solc-js 0.5 ships no types; this is the one function used.
  const solc = require("solc-0.5") as Solc05;
  const content = fs.readFileSync(BASELINE_SOURCE, "utf8");
  const input = {
    language: "Solidity",
    sources: { "PaperStorage.sol": { content } },
    settings: { ...BASELINE_SETTINGS, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  const c = output.contracts?.["PaperStorage.sol"]?.PaperStorage;
  if (errors.length || !c) throw new CliError("BENCH_FAILED", "the baseline contract PaperStorage.sol did not compile with solc 0.5.17", errors.map((e) => e.formattedMessage).join("\n"));
  return {
    contractName: "PaperStorage",
    sourceName: "PaperStorage.sol",
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    compiler: `solc ${solc.version()}`,
    settings: BASELINE_SETTINGS,
  };
}

/** Deploys the baseline on BlockSEC's chain; returns its address and deployment gas. */
export async function deployPaperStorage(sender: TxSender, deployments: Deployments): Promise<{ address: string; gasUsed: number; compiler: string }> {
  const artifact = compilePaperStorage();
  const r = await deployContract({ sender, deployments, artifact, key: "PaperStorage" });
  return { address: r.address, gasUsed: Number(r.record.gasUsed), compiler: artifact.compiler };
}

/**
 * `setTransLog(transDest, transValue, transCode)` with the 144 record bytes as the string: the ABI
 * encodes `string` and `bytes` alike, so this stores exactly 144 bytes (ethers would UTF-8-encode a
 * JS string and inflate every byte above 0x7f).
 */
export function setTransLogData(transDest: string, transValue: bigint, record: Uint8Array): string {
  return concat([SET_TRANS_LOG, AbiCoder.defaultAbiCoder().encode(["address", "uint256", "bytes"], [transDest, transValue, record])]);
}

/** `n` real 144-byte OSGP reading records (ET160) of one meter, 15 minutes apart. */
export function paperRecords(n: number, meterId = 4242, startMs = Date.UTC(2025, 0, 1)): Uint8Array[] {
  const out: Uint8Array[] = [];
  let importWh = 1_234_567;
  for (let i = 0; i < n; i++) {
    const powerW = 400 + ((i * 7919) % 2600);
    importWh += Math.round(powerW / 4);
    const reading: MeterReading = {
      meterId,
      sequence: i + 1,
      clockMs: startMs + (i + 1) * 900_000,
      activeEnergyImportWh: importWh,
      activeEnergyExportWh: 0,
      reactiveEnergyImportVarh: Math.round(importWh / 10),
      reactiveEnergyExportVarh: 0,
      activePowerW: powerW,
      reactivePowerVar: Math.round(powerW / 10),
      frequencyHz: 50,
      powerFactor: 0.98,
      phases: [{ voltageV: 230.1, currentA: round(powerW / 230, 3), activePowerW: powerW, reactivePowerVar: Math.round(powerW / 10), powerFactor: 0.98 }],
      flags: { terminalCoverOpen: false, caseOpen: false, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: false, selfTestFailed: false },
      tamperEvents: 0,
      powerOutages: 0,
    };
    out.push(encodeReadingRecord(reading));
  }
  return out;
}

/** A fresh consumer account (the baseline stores into msg.sender's array), funded by `funder`. */
export async function freshConsumer(funder: TxSender, provider: JsonRpcProvider): Promise<TxSender> {
  const wallet = Wallet.createRandom().connect(provider) as unknown as Wallet;
  await funder.sendAndWait({ to: wallet.address, value: parseEther("10") });
  return TxSender.create(wallet, provider, { network: "blocksec" });
}

/**
 * Stores `records` through the baseline, one transaction per record, from `consumer`:
 * "sequential" awaits each receipt before the next send (the paper's client), "pipelined" signs and
 * sends all in nonce order and then awaits the receipts (TxSender.sendMany), the baseline's best.
 */
export async function storeBaseline(params: { consumer: TxSender; storage: string; records: readonly Uint8Array[]; mode: "sequential" | "pipelined"; transDest: string }): Promise<StoreTiming> {
  const txs = params.records.map((r, i) => ({ to: params.storage, data: setTransLogData(params.transDest, BigInt(i + 1), r), gasLimit: BASELINE_GAS_LIMIT }));
  const t0 = performance.now();
  const receipts = [];
  if (params.mode === "sequential") {
    for (const tx of txs) receipts.push(await params.consumer.sendAndWait(tx, 60_000));
  } else {
    receipts.push(...(await params.consumer.sendMany(txs, 120_000)));
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    seconds: round(seconds, 3),
    readingsPerSecond: rate(txs.length, seconds),
    txs: receipts.length,
    gasUsed: receipts.reduce((a, r) => a + Number(r.gasUsed), 0),
  };
}
