import { toQuantity, type ContractRunner, type JsonRpcProvider, type TransactionRequest } from "ethers";

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
