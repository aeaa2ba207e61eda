import { concat, keccak256, ZeroHash } from "ethers";
import { InvalidArgumentError } from "./errors";

// Sorted-pair Merkle tree, the shape MeterDataLedger builds on chain: level by level, adjacent
// nodes hashed as keccak256(min ‖ max) (OZ Hashes.commutativeKeccak256); an odd last node moves
// up unchanged. Proofs verify with OZ MerkleProof.verify.

function hashPair(a: string, b: string): string {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return keccak256(concat(x < y ? [x, y] : [y, x]));
}

function levels(leaves: readonly string[]): string[][] {
  const out: string[][] = [leaves.map((l) => l.toLowerCase())];
  while (out[out.length - 1]!.length > 1) {
    const cur = out[out.length - 1]!;
    const next: string[] = [];
    for (let i = 0; i + 1 < cur.length; i += 2) next.push(hashPair(cur[i]!, cur[i + 1]!));
    if (cur.length % 2 === 1) next.push(cur[cur.length - 1]!);
    out.push(next);
  }
  return out;
}

/**
 * The root over `leaves` in order; zero hash for none, the leaf itself for one.
 *
 * @example
 * const root = merkleRoot(records.map(recordLeaf));
 */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return ZeroHash;
  const l = levels(leaves);
  return l[l.length - 1]![0]!;
}

/**
 * The proof for leaf `index`: the sibling at each level that has one.
 *
 * @example
 * const proof = merkleProof(leaves, 3);
 */
export function merkleProof(leaves: readonly string[], index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new InvalidArgumentError("index", index, `is not a leaf index (0..${leaves.length - 1})`);
  }
  const proof: string[] = [];
  let i = index;
  for (const level of levels(leaves)) {
    if (level.length === 1) break;
    const sibling = i ^ 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    i >>= 1;
  }
  return proof;
}

/**
 * True if `leaf` is under `root` by `proof` (the rule of OZ MerkleProof.verify).
 *
 * @example
 * verifyMerkleProof(proof, batch.root, recordLeaf(record)); // true
 */
export function verifyMerkleProof(proof: readonly string[], root: string, leaf: string): boolean {
  let h = leaf.toLowerCase();
  for (const p of proof) h = hashPair(h, p);
  return h === root.toLowerCase();
}
