// What a quorum read is (multiRpc.ts asks the endpoints; this file decides what to ask and what
// counts as agreement).
//
// Nodes of one chain never share a head at the same instant, so "latest" cannot be compared as
// asked. A quorum read of the latest state is pinned: every endpoint is asked for its head, the
// k-th highest head H is the newest block at least k endpoints have (k = quorum), and the read is
// sent with block number H, to the endpoints whose head is at least H. `eth_blockNumber` itself
// answers H. The answer is therefore never newer than what k nodes have seen, and it may be a
// block or two older than the fastest node's head.
import { toQuantity } from "ethers";
import type { RpcAnswer, RpcPayload } from "./endpoints";

/** Where the block tag sits in each read's params. */
const TAG_INDEX: Readonly<Record<string, number>> = {
  eth_call: 1,
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
  eth_getBlockByNumber: 0,
};

/** Reads compared across endpoints when a quorum is set; everything else is failover only. */
const QUORUM_METHODS = new Set([...Object.keys(TAG_INDEX), "eth_getLogs", "eth_blockNumber", "eth_getTransactionReceipt", "eth_getTransactionByHash", "eth_getBlockByHash"]);

/** Reads whose `null` means "this node has not seen it yet" rather than an answer to compare. */
const NULL_MEANS_NOT_YET = new Set(["eth_getTransactionReceipt", "eth_getTransactionByHash", "eth_getBlockByHash", "eth_getBlockByNumber"]);

function params(p: RpcPayload): unknown[] {
  return Array.isArray(p.params) ? p.params : [];
}

function logFilter(p: RpcPayload): Record<string, unknown> | undefined {
  const f = params(p)[0];
  return f && typeof f === "object" ? (f as Record<string, unknown>) : undefined;
}

/** True for a read that quorum applies to. "pending" reads are each node's own pool and stay failover only. */
export function isQuorumRead(p: RpcPayload): boolean {
  if (!QUORUM_METHODS.has(p.method)) return false;
  if (p.method === "eth_getLogs") {
    const f = logFilter(p);
    return f?.fromBlock !== "pending" && f?.toBlock !== "pending";
  }
  const i = TAG_INDEX[p.method];
  return i === undefined || params(p)[i] !== "pending";
}

/** True when the read names the moving head ("latest", or no tag, which nodes take as "latest"). */
export function readsLatest(p: RpcPayload): boolean {
  if (p.method === "eth_getLogs") {
    const f = logFilter(p);
    if (!f || f.blockHash !== undefined) return false;
    return [f.fromBlock, f.toBlock].some((t) => t === undefined || t === "latest");
  }
  const i = TAG_INDEX[p.method];
  if (i === undefined) return false;
  const tag = params(p)[i];
  return tag === undefined || tag === "latest";
}

/** The same read with "latest" (or the missing tag) replaced by block `head`. */
export function pinToBlock(p: RpcPayload, head: bigint): RpcPayload {
  const h = toQuantity(head);
  const pin = (t: unknown): unknown => (t === undefined || t === "latest" ? h : t);
  const args = [...params(p)];
  if (p.method === "eth_getLogs") {
    const f = { ...logFilter(p) };
    f.fromBlock = pin(f.fromBlock);
    f.toBlock = pin(f.toBlock);
    args[0] = f;
  } else {
    args[TAG_INDEX[p.method]!] = h; // a missing tag (eth_call [tx]) is the last param, so this appends it
  }
  return { ...p, params: args };
}

/** The k-th highest head (k = quorum): the newest block at least `quorum` endpoints have. */
export function quorumHead(heads: readonly bigint[], quorum: number): bigint | undefined {
  const sorted = [...heads].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return sorted[quorum - 1];
}

/** A key equal for equal answers: object keys sorted and hex in lower case, since clients differ in both. */
export function answerKey(a: RpcAnswer): string {
  const norm = (v: unknown): unknown => {
    if (typeof v === "string") return /^0x[0-9a-fA-F]*$/.test(v) ? v.toLowerCase() : v;
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify("error" in a ? { error: { code: a.error.code, message: a.error.message, data: norm(a.error.data) } } : { result: norm(a.result) });
}

/** An answer as it reads in an error message. */
export function describeAnswer(a: RpcAnswer): string {
  const text = "error" in a ? `error ${a.error.code} ${JSON.stringify(a.error.message)}` : JSON.stringify(a.result) ?? "undefined";
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/**
 * The answer at least `quorum` endpoints gave, or undefined. Lagging nodes answering null for a
 * receipt, transaction or block the others have do not make a disagreement: while the non-null
 * answers agree among themselves but are still too few, the read answers null ("not yet").
 */
export function agreedAnswer(method: string, answers: readonly RpcAnswer[], quorum: number): RpcAnswer | undefined {
  const groups = new Map<string, RpcAnswer[]>();
  for (const a of answers) {
    const k = answerKey(a);
    const g = groups.get(k);
    if (g) g.push(a);
    else groups.set(k, [a]);
  }
  let best: RpcAnswer[] | undefined;
  for (const g of groups.values()) if (g.length >= quorum && (!best || g.length > best.length)) best = g;
  if (best) return best[0];
  if (NULL_MEANS_NOT_YET.has(method)) {
    const nulls = answers.filter((a) => "result" in a && a.result === null);
    const others = new Set(answers.filter((a) => !nulls.includes(a)).map(answerKey));
    if (nulls.length > 0 && others.size <= 1) return nulls[0];
  }
  return undefined;
}
