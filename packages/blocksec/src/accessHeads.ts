// The AccessLedger's heads as one Merkle root: per consumer (consumer, entry count, head hash),
// rebuilt from events alone, so any node (also one that keeps no state of past blocks) can say what
// the ledger held at the end of a block. The federation checkpoints this root on BlockPRI; a court
// recomputes it from each node it asks and compares.
import { AbiCoder, ZeroHash, getAddress, keccak256, type JsonRpcProvider } from "ethers";
import { getLogs } from "@sidegrid/chain";
import { accessEntryHash } from "./access";
import type { AccessEntry } from "./types";
import { AccessLogInconsistentError } from "./errors";
import { DENIED_TOPIC as DENIED, GRANTED_TOPIC as GRANTED, entryFromLog } from "./accessLog";
import { merkleProof, merkleRoot } from "./merkle";

const coder = AbiCoder.defaultAbiCoder();

/** One consumer's chain head. */
export interface AccessHead {
  consumer: string;
  count: number;
  head: string;
}

/** The heads of every consumer at the end of one block, and their root. */
export interface AccessHeadsSnapshot {
  block: number;
  root: string;
  consumers: number;
  entries: number;
  /** Sorted by consumer address (the leaf order). */
  heads: AccessHead[];
}

/**
 * The leaf of one head (OZ StandardMerkleTree style, hashed twice):
 * keccak256(keccak256(abi.encode(address consumer, uint64 count, bytes32 head))).
 *
 * @example
 * accessHeadLeaf({ consumer, count: 3, head }); // what AccessCheckpoints.verifyHead hashes
 */
export function accessHeadLeaf(h: AccessHead): string {
  return keccak256(keccak256(coder.encode(["address", "uint64", "bytes32"], [h.consumer, h.count, h.head])));
}

/**
 * Follows AccessLedger entries in log order and keeps every consumer's head, checking each entry
 * continues its consumer's chain (index, link, hash); throws {@link AccessLogInconsistentError} where
 * one does not.
 *
 * @example
 * const t = new AccessHeadsTracker();
 * t.apply(entries);
 * const { root } = t.snapshot(block);
 */
export class AccessHeadsTracker {
  private readonly heads = new Map<string, AccessHead>();

  /** Starts from saved heads (a checkpointer's store). */
  constructor(initial: readonly AccessHead[] = []) {
    for (const h of initial) this.heads.set(getAddress(h.consumer), { consumer: getAddress(h.consumer), count: h.count, head: h.head.toLowerCase() });
  }

  apply(entries: readonly AccessEntry[]): void {
    for (const e of entries) {
      const consumer = getAddress(e.consumer);
      const cur = this.heads.get(consumer) ?? { consumer, count: 0, head: ZeroHash };
      const bad = (why: string) => new AccessLogInconsistentError(consumer, e.index, e.blockNumber, why);
      if (e.index !== cur.count) throw bad(`expected index ${cur.count}`);
      if (e.prevHash.toLowerCase() !== cur.head) throw bad(`links to ${e.prevHash}, the chain's head is ${cur.head}`);
      const h = accessEntryHash(e);
      if (h !== e.entryHash.toLowerCase()) throw bad(`fields hash to ${h}, not to ${e.entryHash}`);
      this.heads.set(consumer, { consumer, count: cur.count + 1, head: h });
    }
  }

  /** The head of `consumer` (count 0 and zero hash when it has no entry). */
  headOf(consumer: string): AccessHead {
    const c = getAddress(consumer);
    return this.heads.get(c) ?? { consumer: c, count: 0, head: ZeroHash };
  }

  /** Every head, sorted by consumer, with the root, labelled as the state at the end of `block`. */
  snapshot(block: number): AccessHeadsSnapshot {
    const heads = sortHeads([...this.heads.values()]);
    return { block, root: merkleRoot(heads.map(accessHeadLeaf)), consumers: heads.length, entries: heads.reduce((n, h) => n + h.count, 0), heads };
  }
}

export interface ReadAccessHeadsParameters {
  provider: JsonRpcProvider;
  accessLedger: string;
  /** The AccessLedger's deployment block (or earlier). */
  fromBlock: number;
  /** The block whose end state is wanted. */
  toBlock: number;
  /** Most blocks per eth_getLogs (default 5000). */
  rangeBlocks?: number;
}

/**
 * Reads every AccessLedger entry up to `toBlock` from the node's events and returns the heads and
 * their root at the end of that block.
 *
 * @example
 * const { root, heads } = await readAccessHeads({ provider, accessLedger, fromBlock: 0, toBlock: 1200 });
 */
export async function readAccessHeads(p: ReadAccessHeadsParameters): Promise<AccessHeadsSnapshot> {
  const t = new AccessHeadsTracker();
  const range = p.rangeBlocks ?? 5000;
  for (let from = p.fromBlock; from <= p.toBlock; from += range) {
    const to = Math.min(p.toBlock, from + range - 1);
    t.apply(await readAccessEntries(p.provider, p.accessLedger, from, to));
  }
  return t.snapshot(p.toBlock);
}

/**
 * Every consumer's AccessLedger entries in [`fromBlock`, `toBlock`], in log order.
 *
 * @example
 * tracker.apply(await readAccessEntries(provider, accessLedger, 101, 200));
 */
export async function readAccessEntries(provider: JsonRpcProvider, accessLedger: string, fromBlock: number, toBlock: number): Promise<AccessEntry[]> {
  const logs = await getLogs(provider, { address: getAddress(accessLedger), topics: [[GRANTED, DENIED]], fromBlock, toBlock });
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  return logs.map(entryFromLog);
}

/**
 * The Merkle proof of `consumer`'s leaf in a snapshot (for AccessCheckpoints.verifyHead), or
 * undefined when the consumer has no entry there.
 *
 * @example
 * const proof = accessHeadProof(snapshot, consumer);
 */
export function accessHeadProof(s: AccessHeadsSnapshot, consumer: string): string[] | undefined {
  const i = s.heads.findIndex((h) => h.consumer === getAddress(consumer));
  return i < 0 ? undefined : merkleProof(s.heads.map(accessHeadLeaf), i);
}

function sortHeads(heads: AccessHead[]): AccessHead[] {
  return heads.sort((a, b) => (a.consumer.toLowerCase() < b.consumer.toLowerCase() ? -1 : a.consumer.toLowerCase() > b.consumer.toLowerCase() ? 1 : 0));
}
