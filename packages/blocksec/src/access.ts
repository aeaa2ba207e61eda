import { AbiCoder, ZeroHash, keccak256 } from "ethers";
import { AccessCategory, DenyReason, Resolution, type AccessEntry } from "./types";

const coder = AbiCoder.defaultAbiCoder();
const ENTRY_TYPES = ["bytes32", "address", "uint64", "address", "uint8", "uint8", "uint64", "uint64", "bool", "uint8", "uint64", "uint64", "bytes32"];

/**
 * The chain hash of `entry` from its fields and `prevHash` (the AccessLedger rule):
 * keccak256(abi.encode(prevHash, consumer, index, requester, category, resolution, from, to,
 * granted, reason, blockNumber, timestamp, requesterKey)).
 *
 * @example
 * accessEntryHash(entry) === entry.entryHash; // unless the entry was altered
 */
export function accessEntryHash(entry: Omit<AccessEntry, "entryHash">): string {
  return keccak256(
    coder.encode(ENTRY_TYPES, [
      entry.prevHash,
      entry.consumer,
      entry.index,
      entry.requester,
      AccessCategory[entry.category],
      Resolution[entry.resolution],
      entry.from,
      entry.to,
      entry.granted,
      DenyReason[entry.reason],
      entry.blockNumber,
      entry.timestamp,
      entry.requesterKey,
    ]),
  );
}

/** What the chain itself says: the head, the count, and optionally every entry's hash. */
export interface AccessChainHead {
  head: string;
  count: number;
  /** `entryHashAt(consumer, i)` for i < count: pins each entry, not only the last. */
  hashes?: readonly string[];
}

export type AccessChainProblemKind =
  | "missing" // an index below the head's count is not in the copy
  | "duplicate" // an index appears twice
  | "reordered" // an entry appears after one with a higher index
  | "altered" // the entry's fields do not hash to its hash, or to the chain's hash for its index
  | "broken-link" // prevHash is not the hash of the entry before it
  | "extra" // an index at or past the head's count
  | "foreign" // an entry of another consumer
  | "head-mismatch" // the copy does not end in the chain's head
  | "count-mismatch" // the copy does not have the chain's number of entries
  | "release-without-grant"; // KeyCustody shows key shares released for an entry that is not a granted CONSUMPTION entry

export interface AccessChainProblem {
  kind: AccessChainProblemKind;
  /** The entry's index (as it claims), when the problem is about one entry. */
  index?: number;
  /** The entry's position in the copy. */
  position?: number;
  message: string;
}

export interface AccessChainVerification {
  ok: boolean;
  problems: AccessChainProblem[];
  /** Entries examined. */
  checked: number;
}

/**
 * Verifies a (possibly tampered) copy of one consumer's access chain against the chain's head:
 * every entry hashes to its hash, links to the one before, indices run 0..count-1 in order, and
 * the last hash is the head. Pure: works on any copy, with no node.
 *
 * @example
 * const { ok, problems } = verifyAccessChain(entries, { head, count });
 */
export function verifyAccessChain(entries: readonly AccessEntry[], head: AccessChainHead): AccessChainVerification {
  const problems: AccessChainProblem[] = [];
  const consumer = entries[0]?.consumer.toLowerCase();
  const seen = new Set<number>();
  let maxIndex = -1;
  let prev = ZeroHash;
  entries.forEach((e, position) => {
    if (consumer !== undefined && e.consumer.toLowerCase() !== consumer) {
      problems.push({ kind: "foreign", index: e.index, position, message: `entry at position ${position} belongs to ${e.consumer}, not ${entries[0]!.consumer}` });
    }
    if (seen.has(e.index)) {
      problems.push({ kind: "duplicate", index: e.index, position, message: `index ${e.index} appears again at position ${position}` });
    } else if (e.index < maxIndex) {
      problems.push({ kind: "reordered", index: e.index, position, message: `index ${e.index} at position ${position} comes after index ${maxIndex}` });
    }
    if (e.index >= head.count) {
      problems.push({ kind: "extra", index: e.index, position, message: `index ${e.index} is past the chain's ${head.count} entries` });
    }
    seen.add(e.index);
    maxIndex = Math.max(maxIndex, e.index);

    const recomputed = accessEntryHash(e);
    const pinned = head.hashes?.[e.index];
    if (recomputed !== e.entryHash.toLowerCase()) {
      problems.push({ kind: "altered", index: e.index, position, message: `entry ${e.index}: its fields hash to ${recomputed}, not to its recorded hash ${e.entryHash}` });
    } else if (pinned !== undefined && pinned.toLowerCase() !== recomputed) {
      problems.push({ kind: "altered", index: e.index, position, message: `entry ${e.index}: hash ${recomputed} differs from the chain's ${pinned} for that index` });
    }
    const expectedPrev = position === 0 && e.index === 0 ? ZeroHash : prev;
    if (position > 0 || e.index === 0) {
      if (e.prevHash.toLowerCase() !== expectedPrev) {
        problems.push({ kind: "broken-link", index: e.index, position, message: `entry ${e.index} links to ${e.prevHash}, but the entry before it hashes to ${expectedPrev}` });
      }
    }
    prev = e.entryHash.toLowerCase();
  });
  for (let i = 0; i < head.count; i++) {
    if (!seen.has(i)) problems.push({ kind: "missing", index: i, message: `entry ${i} of ${head.count} is missing` });
  }
  if (entries.length !== head.count) {
    problems.push({ kind: "count-mismatch", message: `the copy has ${entries.length} entries, the chain ${head.count}` });
  }
  const last = entries.length > 0 ? accessEntryHash(entries[entries.length - 1]!) : ZeroHash;
  if (last !== head.head.toLowerCase()) {
    problems.push({ kind: "head-mismatch", message: `the copy ends in ${last}, the chain's head is ${head.head}` });
  }
  return { ok: problems.length === 0, problems, checked: entries.length };
}
