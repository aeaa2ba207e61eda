import { SigningKey } from "ethers";
import { UnminedTransactions, diagnoseStalledTx, keccak256Buf } from "@sidegrid/chain";
import type { FederationBatchDelivery, FederationMessage } from "../messages";

// The relayer's hot path: ABI-encode `deliver` and RLP-encode/sign EIP-1559 transactions with
// Buffers. ethers' generic encoders cost ~1 ms per message for the ABI and ~0.8 ms per KB of
// calldata to serialize a transaction twice; this is ~20× less, which is what lets one member
// relay more than a thousand messages a second.

/** How long a relay transaction may lack a receipt before the node is asked about it. */
const STALL_CHECK_MS = 3000;

/** keccak256("deliver((uint256,address,uint64,uint256,address,bytes)[],bytes[])")[0:4] */
export const DELIVER_SELECTOR = "0x6d7f2161";

function u256(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, "0"), "hex");
}
function addr(a: string): Buffer {
  const b = Buffer.alloc(32);
  Buffer.from(a.slice(2), "hex").copy(b, 12);
  return b;
}
function bytesWord(hex: string): Buffer[] {
  const data = Buffer.from(hex.slice(2), "hex");
  const padded = Buffer.alloc(Math.ceil(data.length / 32) * 32);
  data.copy(padded);
  return [u256(BigInt(data.length)), padded];
}
function size(parts: Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** An array of dynamic items: length, one offset per item (from after the length), the items. */
function arrayOf(items: Buffer[][]): Buffer[] {
  const out: Buffer[] = [u256(BigInt(items.length))];
  let offset = 32 * items.length;
  for (const it of items) {
    out.push(u256(BigInt(offset)));
    offset += size(it);
  }
  for (const it of items) out.push(...it);
  return out;
}
function messageTuple(m: FederationMessage): Buffer[] {
  return [u256(m.srcChainId), addr(m.srcSender), u256(m.nonce), u256(m.dstChainId), addr(m.dstContract), u256(0xc0n), ...bytesWord(m.payload)];
}

/** Calldata of `FederationInbox.deliver(messages, signatures)`, byte-identical to the ABI encoder's. */
export function encodeDeliver(messages: readonly FederationMessage[], signatures: readonly string[]): string {
  const a = arrayOf(messages.map(messageTuple));
  const b = arrayOf(signatures.map((s) => bytesWord(s)));
  return `${DELIVER_SELECTOR}${Buffer.concat([u256(0x40n), u256(BigInt(0x40 + size(a))), ...a, ...b]).toString("hex")}`;
}

/** keccak256 of `deliverBatches`' signature, first 4 bytes. */
export const DELIVER_BATCHES_SELECTOR = `0x${keccak256Buf(
  Buffer.from("deliverBatches(((uint256,uint64,uint64,bytes32),bytes,(uint256,address,uint64,uint256,address,bytes)[],bytes32[],bool[])[])"),
)
  .subarray(0, 4)
  .toString("hex")}`;

/** Calldata of `FederationInbox.deliverBatches(deliveries)`, byte-identical to the ABI encoder's. */
export function encodeDeliverBatches(deliveries: readonly FederationBatchDelivery[]): string {
  const tuples = deliveries.map((d) => {
    // Head: the static Batch inline (4 words), then offsets of signatures, messages, proof, flags.
    const sigs = bytesWord(d.signatures);
    const msgs = arrayOf(d.messages.map(messageTuple));
    const proof = [u256(BigInt(d.proof.length)), ...d.proof.map((p) => Buffer.from(p.slice(2), "hex"))];
    const flags = [u256(BigInt(d.proofFlags.length)), ...d.proofFlags.map((f) => u256(f ? 1n : 0n))];
    const head = 32 * 8;
    const offSigs = head;
    const offMsgs = offSigs + size(sigs);
    const offProof = offMsgs + size(msgs);
    const offFlags = offProof + size(proof);
    const b = d.batch;
    return [u256(b.srcChainId), u256(b.firstNonce), u256(b.lastNonce), Buffer.from(b.root.slice(2), "hex"), u256(BigInt(offSigs)), u256(BigInt(offMsgs)), u256(BigInt(offProof)), u256(BigInt(offFlags)), ...sigs, ...msgs, ...proof, ...flags];
  });
  return `${DELIVER_BATCHES_SELECTOR}${Buffer.concat([u256(0x20n), ...arrayOf(tuples)]).toString("hex")}`;
}

// ---------------------------------------------------------------- RLP and EIP-1559

function rlpLength(len: number, offset: number): Buffer {
  if (len < 56) return Buffer.from([offset + len]);
  const hex = len.toString(16);
  const lenBytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  return Buffer.concat([Buffer.from([offset + 55 + lenBytes.length]), lenBytes]);
}
function rlpBytes(b: Buffer): Buffer {
  if (b.length === 1 && b[0]! < 0x80) return b;
  return Buffer.concat([rlpLength(b.length, 0x80), b]);
}
function rlpInt(v: bigint): Buffer {
  if (v === 0n) return Buffer.from([0x80]);
  const hex = v.toString(16);
  return rlpBytes(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex"));
}
function rlpList(items: Buffer[]): Buffer {
  return Buffer.concat([rlpLength(size(items), 0xc0), ...items]);
}

export interface Eip1559Fields {
  chainId: bigint;
  nonce: number;
  maxPriorityFeePerGas: bigint;
  maxFeePerGas: bigint;
  gasLimit: bigint;
  to: string;
  data: string;
}

/** Signs an EIP-1559 transaction (no value, empty access list); returns the raw transaction hex. */
export function signEip1559(key: SigningKey, tx: Eip1559Fields): string {
  const fields = [
    rlpInt(tx.chainId),
    rlpInt(BigInt(tx.nonce)),
    rlpInt(tx.maxPriorityFeePerGas),
    rlpInt(tx.maxFeePerGas),
    rlpInt(tx.gasLimit),
    rlpBytes(Buffer.from(tx.to.slice(2), "hex")),
    rlpInt(0n),
    rlpBytes(Buffer.from(tx.data.slice(2), "hex")),
    rlpList([]),
  ];
  const unsigned = Buffer.concat([Buffer.from([2]), rlpList(fields)]);
  // The unsigned tx carries the whole batch (hundreds of kB): the fast keccak matters here.
  const sig = key.sign(`0x${keccak256Buf(unsigned).toString("hex")}`);
  const signed = Buffer.concat([Buffer.from([2]), rlpList([...fields, rlpInt(BigInt(sig.yParity)), rlpInt(BigInt(sig.r)), rlpInt(BigInt(sig.s))])]);
  return `0x${signed.toString("hex")}`;
}

// ---------------------------------------------------------------- the relayer's sender

interface RawReceipt {
  status: string;
  gasUsed: string;
  blockNumber: string;
  logs: { topics: string[]; data: string }[];
}

export interface RelayReceipt {
  status: 0 | 1;
  gasUsed: bigint;
  blockNumber: number;
  logs: { topics: string[]; data: string }[];
}

export interface JsonRpcLike {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * Sends the relayer's `deliver` transactions for one member on one chain: local nonces in order,
 * fees from the latest block, own EIP-1559 signing (see above), receipts polled with a timeout.
 * Only the member's relayer uses its account, so the local nonce is authoritative; it is re-read
 * after any send error.
 */
export class RelaySender {
  blockGasLimit = 30_000_000n;
  private nonce = 0;
  /** Submissions in nonce order: the relayer and the custodian share this sender. */
  private lock: Promise<unknown> = Promise.resolve();
  private fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; at: number } | undefined;
  /** Sent, not yet seen mined: a dropped one is broadcast again, a left-over one flushed (stall.ts in @sidegrid/chain). */
  readonly unmined = new UnminedTransactions(1000);
  private nextStallCheck = 0;

  private constructor(
    private readonly key: SigningKey,
    readonly address: string,
    private readonly rpc: JsonRpcLike,
    readonly chainId: bigint,
  ) {}

  static async create(key: SigningKey, address: string, rpc: JsonRpcLike, chainId: bigint): Promise<RelaySender> {
    const s = new RelaySender(key, address, rpc, chainId);
    await s.sync();
    return s;
  }

  async sync(): Promise<void> {
    const [nonce, block] = await Promise.all([
      this.rpc.send("eth_getTransactionCount", [this.address, "pending"]) as Promise<string>,
      this.rpc.send("eth_getBlockByNumber", ["latest", false]) as Promise<{ gasLimit: string }>,
    ]);
    this.nonce = Number(BigInt(nonce));
    this.unmined.forgetFrom(this.nonce);
    this.blockGasLimit = BigInt(block.gasLimit);
  }

  /**
   * After a rollback of the chain: transactions this sender saw mined may be gone, so its local
   * nonce is ahead of the chain and every later transaction would wait on the gap. Re-reads the
   * mined nonce (not "pending": a gapped transaction in the pool would keep the gap), in order
   * with submissions.
   */
  async resyncAfterRollback(): Promise<void> {
    const run = this.lock.then(async () => {
      const nonce = Number(BigInt((await this.rpc.send("eth_getTransactionCount", [this.address, "latest"])) as string));
      if (nonce >= this.nonce) return;
      this.nonce = nonce;
      this.unmined.forgetFrom(nonce);
    });
    this.lock = run.catch(() => undefined);
    await run;
  }

  private async feeData(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (this.fees && Date.now() - this.fees.at < 2000) return this.fees;
    const block = (await this.rpc.send("eth_getBlockByNumber", ["latest", false])) as { baseFeePerGas?: string; gasLimit: string };
    this.blockGasLimit = BigInt(block.gasLimit);
    const base = block.baseFeePerGas ? BigInt(block.baseFeePerGas) : BigInt((await this.rpc.send("eth_gasPrice", [])) as string);
    const tip = 1_000_000n;
    this.fees = { maxFeePerGas: base * 2n + tip, maxPriorityFeePerGas: tip, at: Date.now() };
    return this.fees;
  }

  /** Signs and submits; resolves once the node accepted the transaction. */
  async send(to: string, data: string, gasLimit: bigint): Promise<{ hash: string; wait: (timeoutMs?: number) => Promise<RelayReceipt> }> {
    const run = this.lock.then(async () => {
      const fees = await this.feeData();
      const nonce = this.nonce;
      const raw = signEip1559(this.key, { chainId: this.chainId, nonce, ...fees, gasLimit, to, data });
      let hash: string;
      try {
        hash = (await this.rpc.send("eth_sendRawTransaction", [raw])) as string;
      } catch (e) {
        await this.sync().catch(() => undefined);
        throw e;
      }
      this.nonce = nonce + 1;
      this.unmined.add(nonce, hash, raw);
      return hash;
    });
    this.lock = run.catch(() => undefined);
    const hash = await run;
    return { hash, wait: (timeoutMs = 60_000) => this.waitForReceipt(hash, timeoutMs) };
  }

  private async waitForReceipt(hash: string, timeoutMs: number): Promise<RelayReceipt> {
    const deadline = Date.now() + timeoutMs;
    let nextCheck = Date.now() + STALL_CHECK_MS;
    let delay = 3;
    for (;;) {
      const r = (await this.rpc.send("eth_getTransactionReceipt", [hash])) as RawReceipt | null;
      if (r) {
        this.unmined.mined(hash);
        return { status: BigInt(r.status) === 1n ? 1 : 0, gasUsed: BigInt(r.gasUsed), blockNumber: Number(BigInt(r.blockNumber)), logs: r.logs };
      }
      const now = Date.now();
      if (now > deadline) {
        const d = await diagnoseStalledTx(this.rpc, hash);
        await this.sync().catch(() => undefined);
        throw new Error(`no receipt for ${hash} after ${timeoutMs} ms: ${d.summary}`);
      }
      if (now > nextCheck) {
        nextCheck = now + STALL_CHECK_MS;
        // One look for all of this sender's waits, at its lowest unmined nonce.
        if (now >= this.nextStallCheck) {
          this.nextStallCheck = now + STALL_CHECK_MS;
          await this.unmined.check(this.rpc, this.address).catch(() => undefined);
        }
      }
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(50, delay * 2);
    }
  }
}
