// Batches of messages under one signed root: a Merkle tree over the messages' EIP-712 digests with
// OpenZeppelin's sorted-pair hashing (`Hashes.commutativeKeccak256`), laid out like
// @openzeppelin/merkle-tree's (an array, leaf i at index 2n-2-i), so OZ's `MerkleProof`
// verifies single proofs and multiproofs of it. Leaves are in nonce order, not sorted by hash: the
// order is part of what every member computes identically. Leaves are EIP-712 digests that the
// inbox computes itself from a message (0x1901 ‖ domain ‖ struct, 66 bytes hashed), so an inner
// node (64 bytes hashed) cannot pass for a leaf and no double hashing is needed.
import { keccak256Buf } from "@sidegrid/chain";
import { batchDigest, messageDigest, type FederationBatch, type FederationBatchDelivery, type FederationMessage } from "./messages";

const hex = (b: Buffer): string => `0x${b.toString("hex")}`;
const buf = (h: string): Buffer => Buffer.from(h.slice(2), "hex");

/** keccak256 of the two nodes in ascending order (OZ `Hashes.commutativeKeccak256`). */
function hashPair(a: Buffer, b: Buffer): Buffer {
  return keccak256Buf(Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a]));
}

/** A multiproof of some leaves: pass `leaves` (in this order), `proof` and `proofFlags` to OZ's `multiProofVerify`. */
export interface MultiProof {
  /** Leaf indices in the order the multiproof consumes them (ascending). */
  indices: number[];
  proof: string[];
  proofFlags: boolean[];
}

/**
 * A complete binary Merkle tree over `leaves` (32-byte hex), in the given order.
 *
 * @example
 * const tree = new MerkleTree(digests);
 * const { proof, proofFlags } = tree.multiProof([0, 3]); // MerkleProof.multiProofVerify(proof, proofFlags, tree.root, [digests[0], digests[3]])
 */
export class MerkleTree {
  readonly root: string;
  readonly size: number;
  private readonly nodes: Buffer[];

  constructor(leaves: readonly string[]) {
    const n = leaves.length;
    if (n === 0) throw new RangeError("a Merkle tree needs at least one leaf");
    this.size = n;
    this.nodes = new Array<Buffer>(2 * n - 1);
    leaves.forEach((l, i) => (this.nodes[2 * n - 2 - i] = buf(l)));
    for (let i = n - 2; i >= 0; i--) this.nodes[i] = hashPair(this.nodes[2 * i + 1]!, this.nodes[2 * i + 2]!);
    this.root = hex(this.nodes[0]!);
  }

  /** The proof of leaf `i` alone, for OZ `MerkleProof.verify`. */
  proof(i: number): string[] {
    const out: string[] = [];
    for (let j = this.treeIndex(i); j > 0; j = (j - 1) >> 1) out.push(hex(this.nodes[j % 2 === 1 ? j + 1 : j - 1]!));
    return out;
  }

  /** A multiproof of the leaves `indices` (any order, no duplicates), as @openzeppelin/merkle-tree builds it. */
  multiProof(indices: readonly number[]): MultiProof {
    const sorted = [...indices].sort((a, b) => a - b);
    if (sorted.length === 0) throw new RangeError("a multiproof needs at least one leaf");
    for (let k = 1; k < sorted.length; k++) if (sorted[k] === sorted[k - 1]) throw new RangeError(`leaf ${sorted[k]} twice in a multiproof`);
    // A queue of tree indices, highest first (= ascending leaf index); each step pairs the head
    // with its sibling (from the queue, or from the proof) and queues the parent.
    const queue = sorted.map((i) => this.treeIndex(i));
    const proof: string[] = [];
    const proofFlags: boolean[] = [];
    let head = 0;
    while (head < queue.length && queue[head]! > 0) {
      const j = queue[head++]!;
      const s = j % 2 === 1 ? j + 1 : j - 1;
      if (head < queue.length && queue[head] === s) {
        proofFlags.push(true);
        head++;
      } else {
        proofFlags.push(false);
        proof.push(hex(this.nodes[s]!));
      }
      queue.push((j - 1) >> 1);
    }
    return { indices: sorted, proof, proofFlags };
  }

  private treeIndex(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`leaf ${i} outside a tree of ${this.size}`);
    return 2 * this.size - 2 - i;
  }
}

/**
 * Messages of one source chain for one inbox, in nonce order, with their digests, their tree and
 * the batch members sign (`batch`; its digest is `batchDigest(separator, batch)`).
 *
 * @example
 * const b = new MessageBatch(domainSeparator(dst, inbox), messages);
 * const sigs = packSignatures(keys.map((k) => signDigest(k, b.digest)));
 * const delivery = b.delivery(sigs); // or b.delivery(sigs, [0, 2]) for a subset
 */
export class MessageBatch {
  readonly messages: readonly FederationMessage[];
  readonly digests: readonly string[];
  readonly tree: MerkleTree;
  readonly batch: FederationBatch;
  /** What members sign: the batch's EIP-712 digest for this inbox. */
  readonly digest: string;

  constructor(separator: string, messages: readonly FederationMessage[], digests?: readonly string[]) {
    if (messages.length === 0) throw new RangeError("a batch needs at least one message");
    const order = messages.map((_, i) => i).sort((a, b) => (messages[a]!.nonce < messages[b]!.nonce ? -1 : messages[a]!.nonce > messages[b]!.nonce ? 1 : 0));
    this.messages = order.map((i) => messages[i]!);
    const src = this.messages[0]!.srcChainId;
    if (this.messages.some((m) => m.srcChainId !== src)) throw new RangeError("a batch holds messages of one source chain");
    this.digests = digests ? order.map((i) => digests[i]!) : this.messages.map((m) => messageDigest(separator, m));
    this.tree = new MerkleTree(this.digests);
    this.batch = { srcChainId: src, firstNonce: this.messages[0]!.nonce, lastNonce: this.messages[this.messages.length - 1]!.nonce, root: this.tree.root };
    this.digest = batchDigest(separator, this.batch);
  }

  /** The delivery of the messages at `indices` (default: all) with the packed `signatures` over {@link digest}. */
  delivery(signatures: string, indices?: readonly number[]): FederationBatchDelivery {
    const mp = this.tree.multiProof(indices ?? this.messages.map((_, i) => i));
    return { batch: this.batch, signatures, messages: mp.indices.map((i) => this.messages[i]!), proof: mp.proof, proofFlags: mp.proofFlags };
  }
}
