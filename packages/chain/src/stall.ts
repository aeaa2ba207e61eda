// A transaction that has no receipt long after it was accepted. On a production network that is
// congestion, a low fee or a nonce gap; nothing here may touch such a network. On anvil in automine
// mode it is also a known race (foundry-rs/foundry#10122: the miner now and then leaves a ready
// transaction in the pool until the next transaction arrives). Seen in CI: the last of 500
// pipelined transactions stayed pending for the full 120 s receipt timeout because no further
// transaction came. Asking an automining dev node to mine one block flushes it. Not always: CI
// (and a repro on anvil 1.7.1 under load) also saw the pool file a transaction as "queued" behind a
// nonce that was already mined; no block includes it, however many are mined. Only taking the
// sender's transactions out of the pool and sending the same bytes again makes it ready.

/** What a node can be asked: ethers' `provider.send` and the members' raw RPC both fit. */
export interface RpcSend {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** What the node said about a transaction that has no receipt yet. */
export interface StalledTxDiagnosis {
  /** "pending": in the node's pool; "unknown": the node has no such transaction (dropped, or not yet seen by this node). */
  state: "pending" | "unknown" | "mined";
  /** True when the node automines and was asked to mine one block (anvil, hardhat). */
  flushed: boolean;
  /** The sender's latest mined nonce and the transaction's own, when known: a gap below explains a wait. */
  accountNonce?: number;
  txNonce?: number;
  /** Text for an error message: what a reader needs to tell congestion, a nonce gap and a dropped tx apart. */
  summary: string;
}

interface RawTx {
  blockNumber: string | null;
  nonce: string;
  from: string;
  maxFeePerGas?: string;
  gasPrice?: string;
}

/** Providers that answered neither dev method: real networks are not asked again. */
const NOT_DEV_NODES = new WeakSet<RpcSend>();

/** `anvil_getAutomine` / `hardhat_getAutomine`; undefined when the node has neither (a real network). */
async function automining(rpc: RpcSend): Promise<boolean | undefined> {
  if (NOT_DEV_NODES.has(rpc)) return undefined;
  let refused = 0;
  for (const method of ["anvil_getAutomine", "hardhat_getAutomine"]) {
    try {
      return Boolean(await rpc.send(method, []));
    } catch (e) {
      // Only a node that does not know the method is remembered; a failed connection is asked again.
      if (/-32601|method not found|not supported|does not exist|unknown method/i.test(JSON.stringify((e as { error?: unknown }).error ?? null) + String((e as Error)?.message))) refused++;
    }
  }
  if (refused === 2) NOT_DEV_NODES.add(rpc);
  return undefined;
}

/**
 * Looks at a transaction that has no receipt yet and, only on a dev node in automine mode that
 * still holds it pending, mines one block to flush it. Never mines on a node without automine
 * (manual mining belongs to whoever set it) or on a network that is not a dev node.
 *
 * @example
 * const d = await diagnoseStalledTx(provider, hash);
 * if (d.flushed) log(`flushed a stalled transaction: ${d.summary}`);
 */
export async function diagnoseStalledTx(rpc: RpcSend, hash: string): Promise<StalledTxDiagnosis> {
  let tx: RawTx | null;
  try {
    tx = (await rpc.send("eth_getTransactionByHash", [hash])) as RawTx | null;
  } catch (e) {
    return { state: "unknown", flushed: false, summary: `the node did not answer eth_getTransactionByHash (${(e as Error).message})` };
  }
  if (!tx) return { state: "unknown", flushed: false, summary: "the node does not know the transaction (dropped, or not yet propagated to this node)" };
  if (tx.blockNumber) return { state: "mined", flushed: false, summary: `mined in block ${Number(BigInt(tx.blockNumber))}` };
  const txNonce = Number(BigInt(tx.nonce));
  let accountNonce: number | undefined;
  let baseFee: bigint | undefined;
  try {
    const [n, block] = await Promise.all([
      rpc.send("eth_getTransactionCount", [tx.from, "latest"]) as Promise<string>,
      rpc.send("eth_getBlockByNumber", ["latest", false]) as Promise<{ baseFeePerGas?: string } | null>,
    ]);
    accountNonce = Number(BigInt(n));
    if (block?.baseFeePerGas) baseFee = BigInt(block.baseFeePerGas);
  } catch {
    /* the summary says less */
  }
  const fee = tx.maxFeePerGas ?? tx.gasPrice;
  const parts = [`pending with nonce ${txNonce}`];
  if (accountNonce !== undefined) parts.push(accountNonce < txNonce ? `the account's mined nonce is ${accountNonce} (a gap of ${txNonce - accountNonce})` : `the account's mined nonce is ${accountNonce}`);
  if (fee !== undefined && baseFee !== undefined) parts.push(`max fee ${BigInt(fee)} wei/gas against base fee ${baseFee}`);
  // Only a transaction that could be mined now is the automine race; a gap or a fee below the base
  // fee stays pending by the protocol's rules, and mining a block changes nothing for it.
  const minable = (accountNonce === undefined || accountNonce === txNonce) && (fee === undefined || baseFee === undefined || BigInt(fee) >= baseFee);
  let flushed = false;
  if (minable && (await automining(rpc)) === true) {
    try {
      await rpc.send("evm_mine", []);
      flushed = true;
      parts.push("the node automines yet left it pending: mined one block to flush it");
    } catch (e) {
      parts.push(`evm_mine failed (${(e as Error).message})`);
    }
  }
  return { state: "pending", flushed, txNonce, ...(accountNonce !== undefined ? { accountNonce } : {}), summary: parts.join("; ") };
}

/**
 * A sender's transactions that were accepted but not yet seen mined, by nonce, with their signed
 * bytes. `check` looks at the lowest one only (those above it wait on it): an automining dev node
 * that left it pending is asked for a block; a node that dropped it from its pool gets the same
 * signed bytes again (same nonce, same hash: nothing can be spent twice). Seen on a loaded anvil:
 * a dropped transaction held every later one of its sender for good.
 *
 * @example
 * const unmined = new UnminedTransactions();
 * unmined.add(nonce, hash, raw); ... if stalled: await unmined.check(provider, address);
 */
export class UnminedTransactions {
  /** Blocks asked of an automining node for a transaction it left pending. */
  flushed = 0;
  /** Transactions the node had dropped, broadcast again. */
  rebroadcast = 0;
  /** Nonces filled below the lowest unmined transaction after the chain lost mined ones (a rollback). */
  gapsFilled = 0;
  /** Times a dev node's pool kept a minable transaction through a flushed block and was refilled. */
  resubmitted = 0;
  // The hash whose flush the previous look asked for: still the lowest and pending means the block did not take it.
  private flushedHash: string | undefined;
  // A gap is filled only when two looks in a row saw the same one (a lagging node's count passes).
  private gapSeen: string | undefined;
  private readonly byNonce = new Map<number, { hash: string; raw: string }>();

  constructor(private readonly max = 10_000) {}

  get size(): number {
    return this.byNonce.size;
  }

  add(nonce: number, hash: string, raw: string): void {
    this.byNonce.set(nonce, { hash, raw });
    // A sender whose callers never wait keeps no more than a bounded record.
    if (this.byNonce.size > this.max) this.byNonce.delete(this.lowestNonce()!);
  }

  /** Forgets nonces from `nonce` on: the sender re-read its nonce, and they may be signed anew with other content. */
  forgetFrom(nonce: number): void {
    for (const n of [...this.byNonce.keys()]) if (n >= nonce) this.byNonce.delete(n);
  }

  mined(hash: string): void {
    for (const [n, u] of this.byNonce) if (u.hash === hash) this.byNonce.delete(n);
  }

  /** The hash with the lowest nonce, if any. */
  lowest(): string | undefined {
    const n = this.lowestNonce();
    return n === undefined ? undefined : this.byNonce.get(n)!.hash;
  }

  private lowestNonce(): number | undefined {
    let low: number | undefined;
    for (const n of this.byNonce.keys()) if (low === undefined || n < low) low = n;
    return low;
  }

  /**
   * A dev node whose pool kept the lowest transaction through a mined block (it filed it as waiting
   * on a nonce that is already mined): its transactions from this sender leave the pool
   * (`anvil_removePoolTransactions`, or hardhat's drop per hash) and the same signed bytes go back in
   * nonce order, so the pool files them anew against the chain's nonce. Same bytes, same hashes:
   * nothing runs twice, and a waiter's hash stays valid.
   */
  private async resubmit(rpc: RpcSend, from: string): Promise<void> {
    try {
      await rpc.send("anvil_removePoolTransactions", [from]);
    } catch {
      for (const u of this.byNonce.values()) await rpc.send("hardhat_dropTransaction", [u.hash]).catch(() => undefined);
    }
    for (const n of [...this.byNonce.keys()].sort((a, b) => a - b)) {
      try {
        await rpc.send("eth_sendRawTransaction", [this.byNonce.get(n)!.raw]);
      } catch {
        /* mined meanwhile (nonce too low) or still known: the next look tells */
      }
    }
    this.resubmitted++;
  }

  /**
   * Looks at the lowest unmined transaction and unsticks it when the node allows (see the class).
   * With `fillGap`: a gap below it that none of this sender's transactions covers and the node's
   * pool does not hold either means the chain lost transactions it had mined (a rollback, a node
   * restarted from an older state): they are gone, and every later transaction of the account
   * would wait on their nonces for good. `fillGap(from, to)` sends something at nonces from..to−1
   * (never the lost transactions again: their callers saw them mined and may have acted on it).
   */
  async check(rpc: RpcSend, from: string, fillGap?: (fromNonce: number, toNonce: number) => Promise<void>): Promise<void> {
    for (let i = 0; i < 8 && this.byNonce.size; i++) {
      const nonce = this.lowestNonce()!;
      const u = this.byNonce.get(nonce)!;
      const d = await diagnoseStalledTx(rpc, u.hash);
      if (d.state === "pending") {
        if (d.flushed) {
          this.flushed++;
          if (this.flushedHash === u.hash) {
            this.flushedHash = undefined;
            await this.resubmit(rpc, from);
            return;
          }
          this.flushedHash = u.hash;
        } else this.flushedHash = undefined;
        const gap = fillGap && d.accountNonce !== undefined && d.accountNonce < nonce ? `${d.accountNonce}:${nonce}` : undefined;
        if (gap === undefined || gap !== this.gapSeen) {
          this.gapSeen = gap;
          return;
        }
        this.gapSeen = undefined;
        // The pool's count stops at the first missing nonce: anything at accountNonce is pending.
        const pending = Number(BigInt((await rpc.send("eth_getTransactionCount", [from, "pending"])) as string));
        if (pending > d.accountNonce!) return;
        await fillGap!(d.accountNonce!, nonce);
        this.gapsFilled += nonce - d.accountNonce!;
        return;
      }
      if (d.state === "unknown") {
        const mined = Number(BigInt((await rpc.send("eth_getTransactionCount", [from, "latest"])) as string));
        if (mined <= nonce) {
          try {
            await rpc.send("eth_sendRawTransaction", [u.raw]);
            this.rebroadcast++;
          } catch {
            /* known again or mined meanwhile: the next look tells */
          }
          return;
        }
      }
      this.byNonce.delete(nonce);
    }
  }
}
