import { AbiCoder, Interface, JsonRpcProvider, Wallet, type InterfaceAbi, type TransactionRequest } from "ethers";
import {
  ChainError,
  ContractRevertError,
  GasLimitExceededError,
  InsufficientFundsError,
  ReceiptTimeoutError,
  RpcError,
} from "./errors";
import { sleep } from "./process";
import { UnminedTransactions, diagnoseStalledTx } from "./stall";

/** A receipt as the node returned it, with numbers converted; logs stay raw for `Interface.parseLog`. */
export interface TxReceipt {
  transactionHash: string;
  blockNumber: number;
  blockHash: string;
  status: 0 | 1;
  gasUsed: bigint;
  to: string | null;
  contractAddress: string | null;
  logs: { address: string; topics: string[]; data: string; logIndex: number; transactionHash: string; blockNumber: number }[];
}

export interface SentTx {
  hash: string;
  nonce: number;
  gasLimit: bigint;
  /** Resolves with the receipt; rejects with ContractRevertError when it reverted on chain. */
  wait(timeoutMs?: number): Promise<TxReceipt>;
}

export interface TxSenderOptions {
  /** Name used in error messages ("blockpri"). */
  network?: string;
  receiptTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Headroom over eth_estimateGas, in percent (default 20). */
  gasHeadroomPercent?: number;
  /** Largest calldata per transaction; anvil closes connections on requests over ~2 MB. */
  maxCalldataBytes?: number;
  /** ABIs whose custom errors are decoded in ContractRevertError. */
  abis?: InterfaceAbi[];
  /**
   * How long a receipt may be missing before the node is asked about the transaction (default
   * 3000 ms); an automining dev node that left it pending is asked to mine a block (stall.ts).
   */
  stallCheckMs?: number;
}

interface RawReceipt {
  transactionHash: string;
  blockNumber: string;
  blockHash: string;
  status: string;
  gasUsed: string;
  to: string | null;
  contractAddress: string | null;
  logs: { address: string; topics: string[]; data: string; logIndex: string; transactionHash: string; blockNumber: string }[];
}

const ERROR_STRING = "0x08c379a0";
const PANIC = "0x4e487b71";

/**
 * Sends transactions for one signer: nonces assigned locally and in order (pipelined sends),
 * gas estimated before signing, receipts polled with a timeout (ethers' `tx.wait()` hung on
 * automining nodes, TOOLCHAIN.md), reverts decoded into typed errors from the registered ABIs.
 *
 * @example
 * const sender = await TxSender.create(wallet, provider, { abis: [PPC.abi] });
 * const receipt = await sender.sendAndWait({ to, data });
 */
export class TxSender {
  readonly address: string;
  readonly network: string;
  chainId = 0n;
  blockGasLimit = 0n;
  private nonce = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly errorIfaces: Interface[] = [];
  private fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; at: number } | undefined;
  private readonly receiptTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly stallCheckMs: number;
  private readonly headroom: bigint;
  /** Sent transactions not yet seen mined (the stall check looks at the lowest; stall.ts). */
  private readonly unmined = new UnminedTransactions();
  /** Blocks asked of an automining dev node for a transaction it left pending. */
  get stalledFlushed(): number {
    return this.unmined.flushed;
  }
  /** Transactions the node had dropped from its pool that this sender broadcast again. */
  get rebroadcast(): number {
    return this.unmined.rebroadcast;
  }
  /** Times a dev node's pool kept this sender's lowest transaction through a flushed block and got them all again (stall.ts). */
  get resubmitted(): number {
    return this.unmined.resubmitted;
  }
  /** Nonces the chain lost (a rollback undid mined transactions) that this sender filled with empty transfers. */
  get gapsFilled(): number {
    return this.unmined.gapsFilled;
  }
  private nextStallCheck = 0;
  readonly maxCalldataBytes: number;

  private constructor(
    readonly wallet: Wallet,
    readonly provider: JsonRpcProvider,
    options: TxSenderOptions,
  ) {
    this.address = wallet.address;
    this.network = options.network ?? "chain";
    this.receiptTimeoutMs = options.receiptTimeoutMs ?? 30000;
    this.pollIntervalMs = options.pollIntervalMs ?? 20;
    this.stallCheckMs = options.stallCheckMs ?? 3000;
    this.headroom = BigInt(100 + (options.gasHeadroomPercent ?? 20));
    this.maxCalldataBytes = options.maxCalldataBytes ?? 1_000_000;
    for (const abi of options.abis ?? []) this.addAbi(abi);
  }

  static async create(privateKeyOrWallet: string | Wallet, provider: JsonRpcProvider, options: TxSenderOptions = {}): Promise<TxSender> {
    const wallet = typeof privateKeyOrWallet === "string" ? new Wallet(privateKeyOrWallet, provider) : privateKeyOrWallet;
    const s = new TxSender(wallet, provider, options);
    await s.sync();
    return s;
  }

  /** Re-reads the pending nonce, chain id and block gas limit (after an external send, say). */
  async sync(): Promise<void> {
    const [nonce, chainId, block] = await Promise.all([
      this.rpc<string>("eth_getTransactionCount", [this.address, "pending"]),
      this.rpc<string>("eth_chainId", []),
      this.rpc<{ gasLimit: string }>("eth_getBlockByNumber", ["latest", false]),
    ]);
    this.nonce = Number(BigInt(nonce));
    this.unmined.forgetFrom(this.nonce);
    this.chainId = BigInt(chainId);
    this.blockGasLimit = BigInt(block.gasLimit);
  }

  /** Registers an ABI whose custom errors this sender decodes. */
  addAbi(abi: InterfaceAbi): void {
    this.errorIfaces.push(abi instanceof Interface ? abi : new Interface(abi));
  }

  /** Estimates gas for a call from this signer, decoding a revert into ContractRevertError. */
  async estimateGas(tx: TransactionRequest): Promise<bigint> {
    try {
      const g = await this.rpc<string>("eth_estimateGas", [this.toRpcCall(tx)]);
      return BigInt(g);
    } catch (e) {
      throw this.translate(e, tx);
    }
  }

  /** Signs and sends one transaction with the next nonce; resolves once the node accepted it. */
  async send(tx: TransactionRequest): Promise<SentTx> {
    const data = typeof tx.data === "string" ? tx.data : "0x";
    if ((data.length - 2) / 2 > this.maxCalldataBytes) {
      throw new GasLimitExceededError(0n, this.blockGasLimit, { details: `calldata ${(data.length - 2) / 2} bytes exceeds ${this.maxCalldataBytes}` });
    }
    let gasLimit: bigint;
    if (tx.gasLimit !== undefined && tx.gasLimit !== null) gasLimit = BigInt(tx.gasLimit);
    else gasLimit = ((await this.estimateGas(tx)) * this.headroom) / 100n;
    if (gasLimit > this.blockGasLimit) {
      // A little headroom may be trimmed; a tx that truly needs more than a block vanishes on anvil.
      const needed = (gasLimit * 100n) / this.headroom;
      if (needed > this.blockGasLimit) throw new GasLimitExceededError(needed, this.blockGasLimit);
      gasLimit = this.blockGasLimit;
    }
    const fees = await this.feeData();
    // The lock keeps nonce assignment and submission in one order across concurrent callers.
    const run = this.lock.then(async () => {
      const nonce = this.nonce;
      const raw = await this.wallet.signTransaction({
        type: 2,
        chainId: this.chainId,
        nonce,
        to: tx.to as string | null,
        data,
        value: tx.value ?? 0n,
        gasLimit,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      let hash: string;
      try {
        hash = await this.rpc<string>("eth_sendRawTransaction", [raw]);
      } catch (e) {
        if (/nonce too low/i.test(String((e as Error).message))) await this.sync();
        throw this.translate(e, tx);
      }
      this.nonce = nonce + 1;
      this.unmined.add(nonce, hash, raw);
      return { hash, nonce };
    });
    this.lock = run.catch(() => undefined);
    const { hash, nonce } = await run;
    return {
      hash,
      nonce,
      gasLimit,
      wait: (timeoutMs?: number) => this.waitForSuccess(hash, tx, timeoutMs),
    };
  }

  async sendAndWait(tx: TransactionRequest, timeoutMs?: number): Promise<TxReceipt> {
    const sent = await this.send(tx);
    return sent.wait(timeoutMs);
  }

  /**
   * Pipelines transactions: all are signed and submitted in nonce order before any receipt is
   * awaited; resolves with the receipts in the same order.
   */
  async sendMany(txs: TransactionRequest[], timeoutMs?: number): Promise<TxReceipt[]> {
    const sent: SentTx[] = [];
    for (const tx of txs) sent.push(await this.send(tx));
    return Promise.all(sent.map((s) => s.wait(timeoutMs)));
  }

  /**
   * Sends `items` through `build(chunk)` transactions, splitting a chunk in halves whenever its
   * transaction would exceed the block gas limit or the calldata limit, so nothing is dropped.
   */
  async sendBatched<T>(
    items: readonly T[],
    build: (chunk: readonly T[]) => TransactionRequest,
    options: {
      maxItemsPerTx?: number;
      timeoutMs?: number;
      /**
       * The gas limit of a chunk's transaction when the caller can bound it (undefined: estimate).
       * The node then runs the transaction once, when it is mined, instead of two or three more
       * times to estimate it; the bound must hold, or the transaction runs out of gas.
       */
      gasLimitFor?: (chunk: readonly T[], tx: TransactionRequest) => bigint | undefined;
    } = {},
  ): Promise<{ items: readonly T[]; receipt: TxReceipt }[]> {
    const chunks: (readonly T[])[] = [];
    const max = options.maxItemsPerTx ?? items.length;
    for (let i = 0; i < items.length; i += max) chunks.push(items.slice(i, i + max));
    const planned: { items: readonly T[]; tx: TransactionRequest; gasLimit: bigint }[] = [];
    // Budget below the block limit: the estimate plus headroom must still fit.
    const budget = (this.blockGasLimit * 100n) / this.headroom;
    const plan = async (chunk: readonly T[]): Promise<void> => {
      const tx = build(chunk);
      const data = typeof tx.data === "string" ? tx.data : "0x";
      let tooBig = (data.length - 2) / 2 > this.maxCalldataBytes;
      let gas = 0n;
      const bound = tooBig ? undefined : options.gasLimitFor?.(chunk, tx);
      if (bound !== undefined && bound <= (this.blockGasLimit * 9n) / 10n) {
        planned.push({ items: chunk, tx, gasLimit: bound });
        return;
      }
      // A bound over the block splits the chunk like an estimate would; a single item is estimated.
      if (bound !== undefined && chunk.length > 1) tooBig = true;
      else if (!tooBig) {
        try {
          gas = await this.estimateGas(tx);
          tooBig = gas > budget;
        } catch (e) {
          if (e instanceof GasLimitExceededError) tooBig = true;
          else throw e;
        }
      }
      if (tooBig) {
        if (chunk.length === 1) throw new GasLimitExceededError(gas, this.blockGasLimit, { details: "a single item does not fit in one block" });
        const mid = Math.ceil(chunk.length / 2);
        await plan(chunk.slice(0, mid));
        await plan(chunk.slice(mid));
        return;
      }
      planned.push({ items: chunk, tx, gasLimit: (gas * this.headroom) / 100n });
    };
    for (const c of chunks) await plan(c);
    const sent: { items: readonly T[]; s: SentTx }[] = [];
    for (const p of planned) sent.push({ items: p.items, s: await this.send({ ...p.tx, gasLimit: p.gasLimit }) });
    return Promise.all(sent.map(async ({ items: it, s }) => ({ items: it, receipt: await s.wait(options.timeoutMs) })));
  }

  /** Polls `eth_getTransactionReceipt` until the receipt exists or the timeout passes. */
  async waitForReceipt(hash: string, timeoutMs = this.receiptTimeoutMs): Promise<TxReceipt> {
    const deadline = Date.now() + timeoutMs;
    let nextCheck = Date.now() + this.stallCheckMs;
    let delay = Math.max(1, Math.floor(this.pollIntervalMs / 4));
    for (;;) {
      const r = await this.rpc<RawReceipt | null>("eth_getTransactionReceipt", [hash]);
      if (r) {
        const receipt = parseReceipt(r);
        this.unmined.mined(hash);
        return receipt;
      }
      const now = Date.now();
      if (now > deadline) throw new ReceiptTimeoutError(hash, timeoutMs, await this.timeoutDiagnosis(hash));
      if (now > nextCheck) {
        nextCheck = now + this.stallCheckMs;
        await this.checkStall();
      }
      await sleep(delay);
      delay = Math.min(this.pollIntervalMs * 5, delay * 2);
    }
  }

  /** What the node says about `hash` and, when it is not the lowest, about this sender's lowest unmined transaction. */
  private async timeoutDiagnosis(hash: string): Promise<string> {
    const own = (await diagnoseStalledTx(this.provider, hash)).summary;
    const low = this.unmined.lowest();
    if (low === undefined || low === hash) return own;
    return `${own}; the sender's lowest unmined transaction ${low}: ${(await diagnoseStalledTx(this.provider, low)).summary}`;
  }

  /**
   * One look per `stallCheckMs` for all of this sender's waits, at its lowest unmined nonce: the
   * transactions above it wait on it (a gap), and 500 pipelined waits must not each ask the node.
   */
  private async checkStall(): Promise<void> {
    const now = Date.now();
    if (now < this.nextStallCheck) return;
    this.nextStallCheck = now + this.stallCheckMs;
    await this.unmined.check(this.provider, this.address, (from, to) => this.fillGap(from, to));
  }

  /**
   * Fills nonces from..to−1 with zero-value transfers to itself, so the transactions above them can
   * be mined. The transactions that held those nonces left the chain in a rollback after their
   * callers saw them mined: sending their content again could act twice, so only the nonces are used.
   */
  private async fillGap(from: number, to: number): Promise<void> {
    const fees = await this.feeData();
    for (let nonce = from; nonce < to; nonce++) {
      const raw = await this.wallet.signTransaction({ type: 2, chainId: this.chainId, nonce, to: this.address, value: 0n, data: "0x", gasLimit: 21_000n, ...fees });
      const hash = await this.rpc<string>("eth_sendRawTransaction", [raw]);
      this.unmined.add(nonce, hash, raw);
    }
  }

  /** Turns revert data into a ContractRevertError naming the custom error and its arguments. */
  decodeRevert(data: string | undefined, txHash?: string): ContractRevertError {
    const opts = txHash ? { txHash } : {};
    if (!data || data === "0x") return new ContractRevertError(undefined, [], data, opts);
    const selector = data.slice(0, 10).toLowerCase();
    if (selector === ERROR_STRING) {
      const [msg] = AbiCoder.defaultAbiCoder().decode(["string"], `0x${data.slice(10)}`);
      return new ContractRevertError("Error", [msg], data, opts);
    }
    if (selector === PANIC) {
      const [code] = AbiCoder.defaultAbiCoder().decode(["uint256"], `0x${data.slice(10)}`);
      return new ContractRevertError("Panic", [code], data, opts);
    }
    for (const iface of this.errorIfaces) {
      try {
        const parsed = iface.parseError(data);
        if (parsed) return new ContractRevertError(parsed.name, [...parsed.args], data, opts);
      } catch {
        /* not this ABI's error */
      }
    }
    return new ContractRevertError(undefined, [], data, opts);
  }

  private async waitForSuccess(hash: string, tx: TransactionRequest, timeoutMs?: number): Promise<TxReceipt> {
    const receipt = await this.waitForReceipt(hash, timeoutMs);
    if (receipt.status === 1) return receipt;
    // Replay the call on the state before its block to learn the revert reason.
    // Nodes that prune history (anvil --prune-history) cannot answer for the old block; then the
    // latest state is the best available approximation.
    let data: string | undefined;
    for (const block of [`0x${(receipt.blockNumber - 1).toString(16)}`, "latest"]) {
      try {
        await this.rpc("eth_call", [this.toRpcCall(tx), block]);
      } catch (e) {
        data = revertData(e);
      }
      if (data) break;
    }
    throw this.decodeRevert(data, hash);
  }

  private async feeData(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (this.fees && Date.now() - this.fees.at < 2000) return this.fees;
    const block = await this.rpc<{ baseFeePerGas?: string }>("eth_getBlockByNumber", ["latest", false]);
    const base = block.baseFeePerGas ? BigInt(block.baseFeePerGas) : BigInt(await this.rpc<string>("eth_gasPrice", []));
    const tip = 1_000_000n; // 0.001 gwei: local and permissioned networks do not auction block space
    this.fees = { maxFeePerGas: base * 2n + tip, maxPriorityFeePerGas: tip, at: Date.now() };
    return this.fees;
  }

  private toRpcCall(tx: TransactionRequest): Record<string, string> {
    const call: Record<string, string> = { from: this.address };
    if (tx.to) call.to = String(tx.to);
    if (typeof tx.data === "string") call.data = tx.data;
    if (tx.value !== undefined && tx.value !== null) call.value = `0x${BigInt(tx.value).toString(16)}`;
    return call;
  }

  private async rpc<T>(method: string, params: unknown[]): Promise<T> {
    return (await this.provider.send(method, params)) as T;
  }

  private translate(e: unknown, tx: TransactionRequest): ChainError {
    if (e instanceof ChainError) return e;
    const msg = errorMessage(e);
    if (/insufficient funds/i.test(msg)) {
      return new InsufficientFundsError(this.network, this.address, 0n, { cause: e, details: msg });
    }
    if (/gas required exceeds|exceeds block gas limit|intrinsic gas too high|gas limit reached/i.test(msg)) {
      return new GasLimitExceededError(BigInt(typeof tx.gasLimit === "bigint" ? tx.gasLimit : 0), this.blockGasLimit, { cause: e, details: msg });
    }
    const data = revertData(e);
    if (data !== undefined || /revert/i.test(msg)) return this.decodeRevert(data);
    return new RpcError(`${this.network}: ${msg}`, { cause: e });
  }
}

function parseReceipt(r: RawReceipt): TxReceipt {
  return {
    transactionHash: r.transactionHash,
    blockNumber: Number(BigInt(r.blockNumber)),
    blockHash: r.blockHash,
    status: BigInt(r.status) === 1n ? 1 : 0,
    gasUsed: BigInt(r.gasUsed),
    to: r.to,
    contractAddress: r.contractAddress,
    logs: r.logs.map((l) => ({
      address: l.address,
      topics: l.topics,
      data: l.data,
      logIndex: Number(BigInt(l.logIndex)),
      transactionHash: l.transactionHash,
      blockNumber: Number(BigInt(l.blockNumber)),
    })),
  };
}

/** Digs revert data out of the shapes ethers and JSON-RPC nodes wrap it in. */
export function revertData(e: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (v: unknown): string | undefined => {
    if (!v || typeof v !== "object" || seen.has(v)) return undefined;
    seen.add(v);
    const o = v as Record<string, unknown>;
    if (typeof o.data === "string" && /^0x[0-9a-fA-F]*$/.test(o.data) && o.data.length >= 10) return o.data;
    for (const k of ["error", "info", "cause", "data"]) {
      const r = visit(o[k]);
      if (r) return r;
    }
    return undefined;
  };
  return visit(e);
}

function errorMessage(e: unknown): string {
  if (!e || typeof e !== "object") return String(e);
  const o = e as { shortMessage?: string; message?: string; info?: { error?: { message?: string } }; error?: { message?: string } };
  return [o.info?.error?.message, o.error?.message, o.shortMessage, o.message].filter(Boolean).join(" | ");
}
