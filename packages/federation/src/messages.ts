import { AbiCoder, SigningKey, TypedDataEncoder, concat, getAddress, keccak256, type TypedDataDomain } from "ethers";
import { keccak256Buf, keccak256Into } from "@sidegrid/chain";

// tiny-secp256k1's package exports send TypeScript's node16 resolution to its ES module build,
// while Node's require() gets its CommonJS build: required by hand, typed by what is used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { signRecoverable, recover } = require("tiny-secp256k1") as {
  signRecoverable(hash: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recoveryId: number };
  recover(hash: Uint8Array, signature: Uint8Array, recoveryId: number, compressed?: boolean): Uint8Array | null;
};

/** One cross-chain message, as the source outbox emitted it and the destination inbox executes it. */
export interface FederationMessage {
  srcChainId: bigint;
  /** The app contract that called `FederationOutbox.send`. */
  srcSender: string;
  /** Lane nonce: per (source chain, destination chain), from 1. */
  nonce: bigint;
  dstChainId: bigint;
  dstContract: string;
  /** Hex bytes handed to `onFederatedMessage`. */
  payload: string;
}

/** EIP-712 domain name and version of every `FederationInbox`. */
export const INBOX_DOMAIN_NAME = "SidegridFederationInbox";
export const INBOX_DOMAIN_VERSION = "1";

/** EIP-712 types signed by the members (the contracts hash exactly these). */
export const MESSAGE_TYPES = {
  Message: [
    { name: "srcChainId", type: "uint256" },
    { name: "srcSender", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "dstChainId", type: "uint256" },
    { name: "dstContract", type: "address" },
    { name: "payload", type: "bytes" },
  ],
} as const;

/** What members sign once for many messages of one source chain (the inbox's `Batch`). */
export const BATCH_TYPES = {
  Batch: [
    { name: "srcChainId", type: "uint256" },
    { name: "firstNonce", type: "uint64" },
    { name: "lastNonce", type: "uint64" },
    { name: "root", type: "bytes32" },
  ],
} as const;

/** A signed batch: messages of `srcChainId` with nonces in [firstNonce, lastNonce] under Merkle root `root` (see `MessageBatch`). */
export interface FederationBatch {
  srcChainId: bigint;
  firstNonce: bigint;
  lastNonce: bigint;
  root: string;
}

/** One entry of `FederationInbox.deliverBatches`: some messages of a batch with their multiproof. */
export interface FederationBatchDelivery {
  batch: FederationBatch;
  /** Packed 65-byte member signatures over the batch's digest. */
  signatures: string;
  /** In the order the multiproof consumes them (ascending leaf index). */
  messages: FederationMessage[];
  proof: string[];
  proofFlags: boolean[];
}

export const MEMBER_SET_TYPES = {
  MemberSetUpdate: [
    { name: "setIndex", type: "uint32" },
    { name: "members", type: "address[]" },
    { name: "threshold", type: "uint8" },
    { name: "pauseThreshold", type: "uint8" },
    { name: "unpauseThreshold", type: "uint8" },
  ],
} as const;

export const PAUSE_TYPES = {
  PauseChange: [
    { name: "srcChainId", type: "uint256" },
    { name: "paused", type: "bool" },
    { name: "nonce", type: "uint64" },
  ],
} as const;

const MESSAGE_TYPEHASH = keccak256(
  Buffer.from("Message(uint256 srcChainId,address srcSender,uint64 nonce,uint256 dstChainId,address dstContract,bytes payload)"),
);

/**
 * The EIP-712 domain of the inbox at `inbox` on chain `chainId`: signatures are bound to both.
 *
 * @example
 * const domain = inboxDomain(31002n, inboxAddress); // { name: "SidegridFederationInbox", version: "1", ... }
 */
export function inboxDomain(chainId: bigint | number, inbox: string): TypedDataDomain {
  return { name: INBOX_DOMAIN_NAME, version: INBOX_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: getAddress(inbox) };
}

/**
 * The domain separator of an inbox, computed once per destination and reused for every digest.
 *
 * @example
 * const sep = domainSeparator(31302n, inboxAddress);
 */
export function domainSeparator(chainId: bigint | number, inbox: string): string {
  return TypedDataEncoder.hashDomain(inboxDomain(chainId, inbox));
}

function word(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, "0"), "hex");
}

const TYPEHASH_BYTES = Buffer.from(MESSAGE_TYPEHASH.slice(2), "hex");

/**
 * The EIP-712 digest of `message` for the inbox with domain separator `separator`. Written out by
 * hand (three keccaks over Buffers, with the fast keccak of @sidegrid/chain) because ethers'
 * generic typed-data encoder is ~10× slower and every member hashes every message.
 *
 * @example
 * const digest = messageDigest(domainSeparator(dst, inbox), message);
 */
export function messageDigest(separator: string, message: FederationMessage): string {
  // Every member hashes every message it relays: one scratch struct and one outer buffer, written
  // in place (a third of the time of building them with Buffer.concat).
  if (separator !== scratchSeparator) {
    OUTER.write(separator.slice(2), 2, "hex");
    scratchSeparator = separator;
  }
  writeWord(STRUCT, 32, message.srcChainId);
  writeAddress(STRUCT, 64, message.srcSender);
  writeWord(STRUCT, 96, message.nonce);
  writeWord(STRUCT, 128, message.dstChainId);
  writeAddress(STRUCT, 160, message.dstContract);
  keccak256Into(Buffer.from(message.payload.slice(2), "hex"), STRUCT, 192);
  keccak256Into(STRUCT, OUTER, 34);
  return `0x${keccak256Buf(OUTER).toString("hex")}`;
}

const STRUCT = Buffer.alloc(7 * 32);
TYPEHASH_BYTES.copy(STRUCT, 0);
const OUTER = Buffer.from([0x19, 0x01, ...new Array<number>(64).fill(0)]);
let scratchSeparator = "";

function writeWord(b: Buffer, at: number, v: bigint): void {
  b.write(v.toString(16).padStart(64, "0"), at, "hex");
}

function writeAddress(b: Buffer, at: number, a: string): void {
  b.fill(0, at, at + 12);
  b.write(a.slice(2), at + 12, "hex");
}

const BATCH_TYPEHASH_BYTES = keccak256Buf(Buffer.from("Batch(uint256 srcChainId,uint64 firstNonce,uint64 lastNonce,bytes32 root)"));

/**
 * The EIP-712 digest of `batch` for the inbox with domain separator `separator` (what members sign
 * for a batch; the inbox's `batchDigest`).
 *
 * @example
 * const digest = batchDigest(domainSeparator(dst, inbox), { srcChainId, firstNonce: 1n, lastNonce: 400n, root });
 */
export function batchDigest(separator: string, batch: FederationBatch): string {
  const struct = Buffer.concat([BATCH_TYPEHASH_BYTES, word(batch.srcChainId), word(batch.firstNonce), word(batch.lastNonce), Buffer.from(batch.root.slice(2), "hex")]);
  const outer = Buffer.concat([Buffer.from([0x19, 0x01]), Buffer.from(separator.slice(2), "hex"), keccak256Buf(struct)]);
  return `0x${keccak256Buf(outer).toString("hex")}`;
}

/**
 * The digest members sign to replace the member set of an inbox.
 *
 * @example
 * const d = memberSetDigest(inboxDomain(chainId, inbox), { setIndex: 1, members, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
 */
export function memberSetDigest(
  domain: TypedDataDomain,
  update: { setIndex: number; members: readonly string[]; threshold: number; pauseThreshold: number; unpauseThreshold: number },
): string {
  return TypedDataEncoder.hash(domain, MEMBER_SET_TYPES as unknown as Record<string, { name: string; type: string }[]>, {
    ...update,
    members: [...update.members],
  });
}

/**
 * The digest members sign to pause or unpause delivery from `srcChainId` (0 = all).
 *
 * @example
 * const d = pauseDigest(inboxDomain(chainId, inbox), { srcChainId: 0n, paused: true, nonce: await inbox.governanceNonce() });
 */
export function pauseDigest(domain: TypedDataDomain, change: { srcChainId: bigint; paused: boolean; nonce: bigint }): string {
  return TypedDataEncoder.hash(domain, PAUSE_TYPES as unknown as Record<string, { name: string; type: string }[]>, change);
}

/** EIP-712 domain name and version of every `FederationGovernor`. */
export const GOVERNOR_DOMAIN_NAME = "SidegridFederationGovernor";
export const GOVERNOR_DOMAIN_VERSION = "1";

/** What members sign to schedule a call batch on a chain's timelock (FederationGovernor.schedule). */
export const SCHEDULE_TYPES = {
  Schedule: [
    { name: "targets", type: "address[]" },
    { name: "values", type: "uint256[]" },
    { name: "payloads", type: "bytes[]" },
    { name: "predecessor", type: "bytes32" },
    { name: "salt", type: "bytes32" },
    { name: "delay", type: "uint256" },
  ],
} as const;

/** What members sign to cancel a scheduled operation (FederationGovernor.cancel). */
export const CANCEL_TYPES = { Cancel: [{ name: "operationId", type: "bytes32" }] } as const;

/** A call batch for the timelock, as the governor schedules it. */
export interface GovernanceProposal {
  targets: readonly string[];
  values: readonly bigint[];
  payloads: readonly string[];
  predecessor: string;
  salt: string;
  delay: bigint;
}

/**
 * The EIP-712 domain of the governor at `governor` on chain `chainId`.
 *
 * @example
 * const domain = governorDomain(31002n, governorAddress);
 */
export function governorDomain(chainId: bigint | number, governor: string): TypedDataDomain {
  return { name: GOVERNOR_DOMAIN_NAME, version: GOVERNOR_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: getAddress(governor) };
}

/**
 * The digest members sign to schedule `proposal` through a governor.
 *
 * @example
 * const d = scheduleDigest(governorDomain(chainId, governor), { targets: [mirror], values: [0n], payloads: [data], predecessor: ZeroHash, salt, delay: 60n });
 */
export function scheduleDigest(domain: TypedDataDomain, proposal: GovernanceProposal): string {
  return TypedDataEncoder.hash(domain, SCHEDULE_TYPES as unknown as Record<string, { name: string; type: string }[]>, {
    ...proposal,
    targets: proposal.targets.map((t) => getAddress(t)),
    values: [...proposal.values],
    payloads: [...proposal.payloads],
  });
}

/**
 * The digest members sign to cancel timelock operation `operationId` through a governor.
 *
 * @example
 * const d = cancelDigest(governorDomain(chainId, governor), operationId);
 */
export function cancelDigest(domain: TypedDataDomain, operationId: string): string {
  return TypedDataEncoder.hash(domain, CANCEL_TYPES as unknown as Record<string, { name: string; type: string }[]>, { operationId });
}

/**
 * Signs a 32-byte digest; returns the 65-byte `r ‖ s ‖ v` signature the inbox expects.
 *
 * @example
 * const sig = signDigest(new SigningKey(privateKey), digest);
 */
export function signDigest(key: SigningKey, digest: string): string {
  // libsecp256k1 (WebAssembly): the same RFC 6979, low-s signature as ethers' SigningKey.sign in a
  // third of the time (0.11 ms against 0.38 ms here) — a member signs every message it relays.
  let priv = PRIVATE_BYTES.get(key);
  if (!priv) PRIVATE_BYTES.set(key, (priv = Buffer.from(key.privateKey.slice(2), "hex")));
  const { signature, recoveryId } = signRecoverable(Buffer.from(digest.slice(2), "hex"), priv);
  return `0x${Buffer.from(signature).toString("hex")}${(27 + recoveryId).toString(16)}`;
}

const PRIVATE_BYTES = new WeakMap<SigningKey, Buffer>();

/**
 * The checksummed address that signed a 32-byte digest with a 65-byte signature (v 27/28 or 0/1),
 * or undefined when the signature does not recover (bad length, r/s out of range, high s). Same
 * answer as ethers' recoverAddress for every low-s signature, on libsecp256k1 (WebAssembly).
 * @example
 * recoverSigner(digest, signDigest(key, digest)) === new Wallet(key.privateKey).address // true
 */
export function recoverSigner(digest: string, signature: string): string | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature) || !/^0x[0-9a-fA-F]{64}$/.test(digest)) return undefined;
  const sig = Buffer.from(signature.slice(2), "hex");
  const v = sig[64]!;
  const recoveryId = v >= 27 ? v - 27 : v;
  if (recoveryId !== 0 && recoveryId !== 1) return undefined;
  // EIP-2: a high-s signature is the malleable twin of a low-s one, which is what members make.
  if (sig.subarray(32, 64).compare(HALF_N) > 0) return undefined;
  let pub: Uint8Array | null;
  try {
    pub = recover(Buffer.from(digest.slice(2), "hex"), sig.subarray(0, 64), recoveryId, false);
  } catch {
    return undefined;
  }
  if (!pub) return undefined;
  return getAddress(`0x${keccak256Buf(pub.subarray(1)).subarray(12).toString("hex")}`);
}

const HALF_N = Buffer.from("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", "hex");

/**
 * Concatenates 65-byte signatures into the blob `deliver` takes per message.
 *
 * @example
 * const blob = packSignatures([sigOfMember0, sigOfMember1]);
 */
export function packSignatures(signatures: readonly string[]): string {
  return concat(signatures.map((s) => s));
}

/**
 * Decodes a peg payload: `abi.encode(uint8 16, address from, address recipient, uint256 amount)`.
 *
 * @example
 * const { recipient, amount } = decodePegPayload(message.payload);
 */
export function decodePegPayload(payload: string): { kind: number; from: string; recipient: string; amount: bigint } {
  const [kind, from, recipient, amount] = AbiCoder.defaultAbiCoder().decode(["uint8", "address", "address", "uint256"], payload);
  return { kind: Number(kind), from: String(from), recipient: String(recipient), amount: BigInt(amount) };
}

/**
 * Lane-ordered key of a message: destination, source, zero-padded nonce (sorts in lane order).
 *
 * @example
 * messageKey(31002n, 31001n, 7n); // "31002/31001/00000000000000000007"
 */
export function messageKey(dstChainId: bigint | number, srcChainId: bigint | number, nonce: bigint | number): string {
  return `${dstChainId}/${srcChainId}/${BigInt(nonce).toString().padStart(20, "0")}`;
}
