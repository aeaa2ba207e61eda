// Merkle trees of anchored batches with the ledger's rule: sorted pairs (OZ commutativeKeccak256),
// an odd last node moves up unchanged. Built once per batch so all proofs cost O(n) hashing.
import { keccak256Buf } from "@sidegrid/chain";
import { concat, keccak256 } from "ethers";

/**
 * The Merkle tree of a batch, built once (the ledger's rule: sorted pairs, an odd last node moves
 * up unchanged), so that proofs of all leaves cost O(n) hashing instead of O(n²).
 */
export function merkleLevels(leaves: readonly string[]): string[][] {
  const out: string[][] = [leaves.map((l) => l.toLowerCase())];
  while (out[out.length - 1].length > 1) {
    const cur = out[out.length - 1];
    const next: string[] = [];
    for (let i = 0; i + 1 < cur.length; i += 2) {
      const a = cur[i];
      const b = cur[i + 1];
      next.push(keccak256(concat(a < b ? [a, b] : [b, a])));
    }
    if (cur.length % 2 === 1) next.push(cur[cur.length - 1]);
    out.push(next);
  }
  return out;
}

export function proofFromLevels(levels: readonly string[][], index: number): string[] {
  const proof: string[] = [];
  let i = index;
  for (const level of levels) {
    if (level.length === 1) break;
    const s = i ^ 1;
    if (s < level.length) proof.push(level[s]);
    i >>= 1;
  }
  return proof;
}

/** {@link merkleLevels} on Buffers (the anchoring hot path). */
export function merkleLevelsBuf(leaves: readonly string[]): Buffer[][] {
  const out: Buffer[][] = [leaves.map((l) => Buffer.from(l.slice(2), "hex"))];
  while (out[out.length - 1].length > 1) {
    const cur = out[out.length - 1];
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < cur.length; i += 2) {
      const a = cur[i];
      const b = cur[i + 1];
      next.push(keccak256Buf(Buffer.compare(a, b) < 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a])));
    }
    if (cur.length % 2 === 1) next.push(cur[cur.length - 1]);
    out.push(next);
  }
  return out;
}

export function proofFromLevelsBuf(levels: readonly Buffer[][], index: number): string[] {
  const proof: string[] = [];
  let i = index;
  for (const level of levels) {
    if (level.length === 1) break;
    const sib = i ^ 1;
    if (sib < level.length) proof.push(`0x${level[sib].toString("hex")}`);
    i >>= 1;
  }
  return proof;
}

