import { toQuantity, type ContractRunner, type JsonRpcProvider, type TransactionRequest } from "ethers";
import { RpcError } from "./errors";

// ethers' providers answer a repeated eth_call / eth_getLogs / eth_blockNumber from a 250 ms cache
// (AbstractProvider `cacheTimeout`), so a read right after a transaction can return the state
// before it. `makeProvider` turns the cache off; these reads go straight to the node through
// `provider.send` whatever provider a client was given.

/** A contract runner whose view calls bypass ethers' request cache. */
export function uncachedRunner(provider: JsonRpcProvider): ContractRunner {
  return {
    provider,
    async call(tx: TransactionRequest): Promise<string> {
      const req: Record<string, string> = { to: String(tx.to), data: String(tx.data ?? "0x") };
      if (tx.from) req.from = String(tx.from);
      const tag = tx.blockTag === undefined || tx.blockTag === null ? "latest" : typeof tx.blockTag === "string" ? tx.blockTag : toQuantity(tx.blockTag);
      return (await provider.send("eth_call", [req, tag])) as string;
    },
  };
}

/** A log as the node returns it, numbers converted. */
export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  transactionHash: string;
  index: number;
}

/** `eth_getLogs` without the cache; `topics` as in the JSON-RPC filter. */
export async function getLogs(
  provider: JsonRpcProvider,
  filter: { address: string; topics: (string | string[] | null)[]; fromBlock?: number; toBlock?: number | "latest" },
): Promise<RawLog[]> {
  const raw = (await provider.send("eth_getLogs", [
    {
      address: filter.address,
      topics: filter.topics,
      fromBlock: toQuantity(filter.fromBlock ?? 0),
      toBlock: filter.toBlock === undefined || filter.toBlock === "latest" ? "latest" : toQuantity(filter.toBlock),
    },
  ])) as { address: string; topics: string[]; data: string; blockNumber: string; transactionHash: string; logIndex: string }[];
  return raw.map((l) => ({
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: Number(BigInt(l.blockNumber)),
    transactionHash: l.transactionHash,
    index: Number(BigInt(l.logIndex)),
  }));
}

/** The node's latest block number, without the cache. */
export async function blockNumber(provider: JsonRpcProvider): Promise<number> {
  return Number(BigInt((await provider.send("eth_blockNumber", [])) as string));
}

/** The latest block's timestamp (unix seconds), without the cache. */
export async function latestTimestamp(provider: JsonRpcProvider): Promise<number> {
  const b = (await provider.send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
  return Number(BigInt(b.timestamp));
}

/**
 * A read retried a few times with a short pause: anvil now and then refuses an eth_call while it
 * mines ("missing revert data", BlockOutOfRange), and a reader must not fail for that.
 * @example
 * const head = await retryRead(() => ledger.accessHead(consumer));
 */
export async function retryRead<T>(f: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 25 * i));
    }
  }
}

/** What {@link settledBlock} needs of a node: a raw JSON-RPC `send` (an ethers provider, a MultiRpc runner). */
export interface RawRpc {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface SettledBlockParameters {
  /** The latest block, if the caller has already read it. */
  head?: { number: string | number; timestamp: string | number };
  /** Blocks a block must be under (0: the head itself may settle). */
  confirmations: number;
  /**
   * How old (wall clock against the block's timestamp) a block must be. A node that loses its
   * newest blocks — an anvil restarted from a state dump written every 2 s, a rollback a few
   * seconds deep — loses only blocks younger than this, which nobody acted on yet. 0: depth only.
   */
  minAgeMs: number;
  /** A block known to have settled already (the caller's cursor): the search starts above it. */
  floor: number;
  nowMs?: number;
}

export interface SettledBlockReturnType {
  /** The newest block that is `confirmations` deep and `minAgeMs` old (≥ floor). */
  block: number;
  head: number;
  /** When the next block above `block` becomes old enough (undefined: none is waiting, or only depth is). */
  nextAtMs: number | undefined;
}

/**
 * The newest block a reader may act on: `confirmations` deep and `minAgeMs` old. Block timestamps
 * never decrease, so the youngest-enough block is found by bisection between `floor` and the depth
 * limit (one read when the head is old enough, as on an idle chain).
 * @example
 * const { block } = await settledBlock(provider, { confirmations: 0, minAgeMs: 4000, floor: cursor });
 */
export async function settledBlock(rpc: RawRpc, p: SettledBlockParameters): Promise<SettledBlockReturnType> {
  // A block below the head that the node no longer has means the chain was rolled back while it was
  // searched (a reorg, an anvil reverted or restarted from its dump): search again from the new head,
  // rather than fail a caller that would only retry.
  for (let attempt = 1; ; attempt++) {
    const { head: _given, ...again } = p;
    const r = await settledBlockOnce(rpc, attempt === 1 ? p : again);
    if (r !== undefined) return r;
    if (attempt >= SETTLED_ATTEMPTS) throw new RpcError(`the node lost blocks below its head ${SETTLED_ATTEMPTS} times in a row while its settled block was searched`);
  }
}

const SETTLED_ATTEMPTS = 3;

/** One search; undefined when a block below the head it read is gone. */
async function settledBlockOnce(rpc: RawRpc, p: SettledBlockParameters): Promise<SettledBlockReturnType | undefined> {
  const get = async (tag: string) => (await rpc.send("eth_getBlockByNumber", [tag, false])) as { number: string; timestamp: string } | null;
  const h = p.head ?? (await get("latest"));
  if (!h) throw new RpcError("the node returned no latest block");
  const head = Number(BigInt(h.number));
  const deep = head - p.confirmations;
  if (p.minAgeMs <= 0 || deep <= p.floor) return { block: Math.max(p.floor, deep), head, nextAtMs: undefined };
  // Timestamps are whole seconds (a block stamped t was made in [t, t+1)): it is old enough once t + 1 is.
  const cutoff = Math.floor(((p.nowMs ?? Date.now()) - p.minAgeMs) / 1000) - 1;
  const tsOf = async (n: number) => {
    const b = n === head ? h : await get(`0x${n.toString(16)}`);
    return b ? Number(BigInt(b.timestamp)) : undefined;
  };
  // Invariant: lo has settled (the floor, or a block found old enough), hi + 1.. have not.
  let lo = p.floor;
  let hi = deep;
  const deepTs = await tsOf(deep);
  if (deepTs === undefined) return undefined;
  if (deepTs <= cutoff) return { block: deep, head, nextAtMs: undefined };
  hi = deep - 1;
  let youngest = deepTs; // the timestamp of the lowest block known to be too young
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const ts = await tsOf(mid);
    if (ts === undefined) return undefined;
    if (ts <= cutoff) lo = mid;
    else {
      hi = mid - 1;
      youngest = ts;
    }
  }
  return { block: lo, head, nextAtMs: (youngest + 1) * 1000 + p.minAgeMs };
}
