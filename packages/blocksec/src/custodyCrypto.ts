// Key custody crypto: the envelopes of an epoch key (to the consumer and, split m-of-n with
// Shamir's scheme, to the federation members' custody keys) and the shares a member releases to a
// requester. Pure functions, no chain I/O. Layouts (all boxes are NaCl box = X25519 + XSalsa20-
// Poly1305, one ephemeral key per envelope):
//
//   published envelope := epk:32 | box(dataKey):48 to the consumer | box(share_i):49 to member i, set order
//   released shares    := epk:32 | box(share_k):49 to the requester, one per released key, in order
//
// Nonces are derived, never stored: SHA-512(label ‖ epk ‖ recipient ‖ context)[0..24], where the
// context names the consumer and key (and, for releases, the access entry). An epk is fresh per
// envelope, so no (key, nonce) pair repeats, and a box moved to another key or entry does not open.
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { combine, split } from "shamir-secret-sharing";
import nacl from "tweetnacl";
import { CustodyCryptoError, InvalidArgumentError } from "./errors";

export const DATA_KEY_SIZE = 32;
export const SHARE_SIZE = DATA_KEY_SIZE + 1;
export const EPK_SIZE = 32;
export const CONSUMER_BOX_SIZE = DATA_KEY_SIZE + 16;
export const SHARE_BOX_SIZE = SHARE_SIZE + 16;
/** Shares of a threshold-1 key carry this x-coordinate: the share is the key itself. */
const PLAIN_SHARE_X = 0;

const LABEL_CONSUMER = Buffer.from("sidegrid/custody/consumer/v1");
const LABEL_MEMBER = Buffer.from("sidegrid/custody/member/v1");
const LABEL_RELEASE = Buffer.from("sidegrid/custody/release/v1");
const LABEL_COMMIT = Buffer.from("sidegrid/custody/commitment/v1");
const LABEL_CUSTODY_KEY = Buffer.from("sidegrid/custody/key/v1");

// NaCl box is secretbox under HSalsa20(X25519(secret, public)). The X25519 step runs in Node's
// OpenSSL (~0.1 ms) instead of tweetnacl (~2.6 ms): a gateway seals thousands of keys at start.
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SIGMA = new TextEncoder().encode("expand 32-byte k");
const hsalsa20 = (nacl as unknown as { lowlevel: { crypto_core_hsalsa20(out: Uint8Array, inp: Uint8Array, k: Uint8Array, c: Uint8Array): void } }).lowlevel.crypto_core_hsalsa20;

// Importing a raw X25519 key into OpenSSL costs more than the key agreement itself (a private key
// ~0.4 ms, a public one ~0.09 ms, the agreement ~0.04 ms): ephemeral keys stay KeyObjects, and the
// keys met again and again (members' custody keys, a household's key, a member's own secret) are
// imported once.
const KEY_CACHE_LIMIT = 4096;
const publicKeys = new Map<string, KeyObject>();
/** By array, checked against a copy: an array refilled with another key is imported again. */
const privateKeys = new WeakMap<Uint8Array, { bytes: Buffer; key: KeyObject }>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString("hex");
  let k = publicKeys.get(id);
  if (!k) {
    k = createPublicKey({ key: Buffer.concat([X25519_SPKI, publicKey]), format: "der", type: "spki" });
    if (publicKeys.size >= KEY_CACHE_LIMIT) publicKeys.clear();
    publicKeys.set(id, k);
  }
  return k;
}

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  const hit = privateKeys.get(secretKey);
  if (hit && hit.bytes.equals(secretKey)) return hit.key;
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secretKey]), format: "der", type: "pkcs8" });
  privateKeys.set(secretKey, { bytes: Buffer.from(secretKey), key });
  return key;
}

function boxKey(secret: Uint8Array | KeyObject, publicKey: Uint8Array): Uint8Array {
  const shared = diffieHellman({ privateKey: secret instanceof Uint8Array ? privateKeyObject(secret) : secret, publicKey: publicKeyObject(publicKey) });
  const k = new Uint8Array(32);
  hsalsa20(k, new Uint8Array(16), new Uint8Array(shared), SIGMA);
  return k;
}

/** A fresh X25519 key pair from OpenSSL; the secret never leaves it. */
function ephemeral(): { publicKey: Uint8Array; secretKey: KeyObject } {
  const kp = generateKeyPairSync("x25519");
  return { publicKey: new Uint8Array(kp.publicKey.export({ format: "der", type: "spki" }).subarray(X25519_SPKI.length)), secretKey: kp.privateKey };
}

function seal(msg: Uint8Array, n: Uint8Array, to: Uint8Array, fromSecret: KeyObject): Uint8Array {
  return nacl.secretbox(msg, n, boxKey(fromSecret, to));
}

function unseal(box: Uint8Array, n: Uint8Array, from: Uint8Array, toSecret: Uint8Array): Uint8Array | null {
  try {
    return nacl.secretbox.open(box, n, boxKey(toSecret, from));
  } catch {
    return null; // a malformed public key (not on the curve's twist-safe encoding): does not open
  }
}

/** The public key of an X25519 secret key. */
function publicOf(secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" }).subarray(X25519_SPKI.length));
}

/** An X25519 key pair (NaCl box keys). */
export interface BoxKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Which key an envelope holds: the consumer and the key's id on KeyCustody. */
export interface KeyContext {
  consumer: string;
  keyId: number;
}

function bytes(v: Uint8Array | string, name: string, size?: number): Uint8Array {
  const b = typeof v === "string" ? (/^0x[0-9a-fA-F]*$/.test(v) && v.length % 2 === 0 ? new Uint8Array(Buffer.from(v.slice(2), "hex")) : null) : v;
  if (!(b instanceof Uint8Array)) throw new InvalidArgumentError(name, v, "must be bytes or 0x hex");
  if (size !== undefined && b.length !== size) throw new InvalidArgumentError(name, v, `must be ${size} bytes`);
  return b;
}

function ctxBytes(ctx: KeyContext): Buffer {
  if (!/^0x[0-9a-fA-F]{40}$/.test(ctx.consumer)) throw new InvalidArgumentError("consumer", ctx.consumer, "must be an address");
  if (!Number.isInteger(ctx.keyId) || ctx.keyId < 0 || ctx.keyId > 0xffffffff) throw new InvalidArgumentError("keyId", ctx.keyId, "must be a uint32");
  const b = Buffer.alloc(24);
  Buffer.from(ctx.consumer.slice(2).toLowerCase(), "hex").copy(b, 0);
  b.writeUInt32BE(ctx.keyId, 20);
  return b;
}

function nonce(label: Buffer, epk: Uint8Array, recipient: Uint8Array, context: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha512").update(label).update(epk).update(recipient).update(context).digest().subarray(0, 24));
}

/**
 * The commitment published with a key (sha256 of a label and the key), so a requester can tell
 * a correct combination of shares from a wrong one.
 * @example
 * keyCommitment(dataKey); // "0x…" (bytes32)
 */
export function keyCommitment(dataKey: Uint8Array): string {
  return `0x${createHash("sha256").update(LABEL_COMMIT).update(bytes(dataKey, "dataKey", DATA_KEY_SIZE)).digest("hex")}`;
}

/**
 * A member's custody key pair, derived from its signing key so it needs no storage of its own:
 * secret = SHA-512("sidegrid/custody/key/v1" ‖ private key)[0..32]. Rotating the signing key
 * rotates the custody key.
 * @example
 * const custody = deriveCustodyKeyPair(memberPrivateKey);
 */
export function deriveCustodyKeyPair(privateKey: string | Uint8Array): BoxKeyPair {
  const seed = bytes(privateKey, "privateKey", 32);
  const secret = new Uint8Array(createHash("sha512").update(LABEL_CUSTODY_KEY).update(seed).digest().subarray(0, 32));
  return { publicKey: publicOf(secret), secretKey: secret };
}

/** A fresh 32-byte data key. */
export function newEpochDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(DATA_KEY_SIZE));
}

export interface SealEpochKeyParameters {
  dataKey: Uint8Array;
  context: KeyContext;
  /** The consumer's registered X25519 key. */
  consumerKey: Uint8Array | string;
  /** The custody keys of the member set, in set order. */
  custodyKeys: readonly (Uint8Array | string)[];
  threshold: number;
}

/**
 * Seals a data key for publication: boxed to the consumer, and split into `custodyKeys.length`
 * Shamir shares (any `threshold` reconstruct it) each boxed to one member.
 * @example
 * const { envelope, commitment } = await sealEpochKey({ dataKey, context: { consumer, keyId }, consumerKey, custodyKeys, threshold: 2 });
 */
export async function sealEpochKey(p: SealEpochKeyParameters): Promise<{ envelope: Uint8Array; commitment: string }> {
  const key = bytes(p.dataKey, "dataKey", DATA_KEY_SIZE);
  const n = p.custodyKeys.length;
  if (n < 1 || n > 255) throw new InvalidArgumentError("custodyKeys", n, "must hold 1 to 255 keys");
  if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > n) throw new InvalidArgumentError("threshold", p.threshold, `must be 1..${n}`);
  const ctx = ctxBytes(p.context);
  const shares = await splitKey(key, n, p.threshold);
  const eph = ephemeral();
  const out = new Uint8Array(EPK_SIZE + CONSUMER_BOX_SIZE + n * SHARE_BOX_SIZE);
  out.set(eph.publicKey, 0);
  const consumerKey = bytes(p.consumerKey, "consumerKey", 32);
  out.set(seal(key, nonce(LABEL_CONSUMER, eph.publicKey, consumerKey, ctx), consumerKey, eph.secretKey), EPK_SIZE);
  p.custodyKeys.forEach((k, i) => {
    const pub = bytes(k, `custodyKeys[${i}]`, 32);
    const memberCtx = Buffer.concat([ctx, Buffer.from([i])]);
    out.set(seal(shares[i]!, nonce(LABEL_MEMBER, eph.publicKey, pub, memberCtx), pub, eph.secretKey), EPK_SIZE + CONSUMER_BOX_SIZE + i * SHARE_BOX_SIZE);
  });
  return { envelope: out, commitment: keyCommitment(key) };
}

async function splitKey(key: Uint8Array, n: number, threshold: number): Promise<Uint8Array[]> {
  // The library needs at least two shares and a threshold of two; a 1-of-n set holds the key itself.
  if (threshold === 1 || n === 1) return Array.from({ length: n }, () => Uint8Array.from([...key, PLAIN_SHARE_X]));
  return split(key, n, threshold);
}

/** How many members an envelope was made for. */
export function envelopeMembers(envelope: Uint8Array): number {
  const n = (envelope.length - EPK_SIZE - CONSUMER_BOX_SIZE) / SHARE_BOX_SIZE;
  if (!Number.isInteger(n) || n < 1) throw new CustodyCryptoError(`an envelope of ${envelope.length} bytes is not epk + consumer box + n share boxes`);
  return n;
}

/**
 * Opens the consumer's box of an envelope with her X25519 secret key.
 * @example
 * const dataKey = openConsumerEnvelope(envelope, { consumer, keyId }, household.secretKey);
 */
export function openConsumerEnvelope(envelope: Uint8Array | string, context: KeyContext, secretKey: Uint8Array): Uint8Array {
  const env = bytes(envelope, "envelope");
  envelopeMembers(env);
  const epk = env.subarray(0, EPK_SIZE);
  const pub = publicOf(secretKey);
  const key = unseal(env.subarray(EPK_SIZE, EPK_SIZE + CONSUMER_BOX_SIZE), nonce(LABEL_CONSUMER, epk, pub, ctxBytes(context)), epk, secretKey);
  if (!key) throw new CustodyCryptoError("the consumer's box does not open with this key");
  return key;
}

/**
 * Opens member `memberIndex`'s share of an envelope with its custody secret key.
 * @example
 * const share = openMemberShare(envelope, { consumer, keyId }, 1, custody.secretKey);
 */
export function openMemberShare(envelope: Uint8Array | string, context: KeyContext, memberIndex: number, secretKey: Uint8Array): Uint8Array {
  const env = bytes(envelope, "envelope");
  const n = envelopeMembers(env);
  if (!Number.isInteger(memberIndex) || memberIndex < 0 || memberIndex >= n) throw new InvalidArgumentError("memberIndex", memberIndex, `must be 0..${n - 1}`);
  const epk = env.subarray(0, EPK_SIZE);
  const pub = publicOf(secretKey);
  const at = EPK_SIZE + CONSUMER_BOX_SIZE + memberIndex * SHARE_BOX_SIZE;
  const share = unseal(env.subarray(at, at + SHARE_BOX_SIZE), nonce(LABEL_MEMBER, epk, pub, Buffer.concat([ctxBytes(context), Buffer.from([memberIndex])])), epk, secretKey);
  if (!share) throw new CustodyCryptoError(`share ${memberIndex} does not open with this custody key`);
  return share;
}

function releaseCtx(consumer: string, entryIndex: number, keyId: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(entryIndex));
  return Buffer.concat([ctxBytes({ consumer, keyId }), b]);
}

/**
 * Boxes a member's shares to the requester of access entry `entryIndex` (the `shares` argument of
 * `KeyCustody.releaseShares`).
 * @example
 * const shares = boxSharesForRequester({ consumer, entryIndex: 3, requesterKey, shares: [{ keyId, share }] });
 */
export function boxSharesForRequester(p: { consumer: string; entryIndex: number; requesterKey: Uint8Array | string; shares: readonly { keyId: number; share: Uint8Array }[] }): Uint8Array {
  const to = bytes(p.requesterKey, "requesterKey", 32);
  if (to.every((b) => b === 0)) throw new InvalidArgumentError("requesterKey", p.requesterKey, "is zero: the request named no key");
  const eph = ephemeral();
  const out = new Uint8Array(EPK_SIZE + p.shares.length * SHARE_BOX_SIZE);
  out.set(eph.publicKey, 0);
  const k = boxKey(eph.secretKey, to);
  p.shares.forEach((s, i) => {
    const share = bytes(s.share, "share", SHARE_SIZE);
    out.set(nacl.secretbox(share, nonce(LABEL_RELEASE, eph.publicKey, to, releaseCtx(p.consumer, p.entryIndex, s.keyId)), k), EPK_SIZE + i * SHARE_BOX_SIZE);
  });
  return out;
}

/**
 * Opens the shares one member released for access entry `entryIndex`, with the requester's secret key.
 * @example
 * const byKey = openReleasedShares({ consumer, entryIndex, keyIds, shares, secretKey });
 */
export function openReleasedShares(p: { consumer: string; entryIndex: number; keyIds: readonly number[]; shares: Uint8Array | string; secretKey: Uint8Array }): Map<number, Uint8Array> {
  const b = bytes(p.shares, "shares");
  if (b.length !== EPK_SIZE + p.keyIds.length * SHARE_BOX_SIZE) throw new CustodyCryptoError(`released shares of ${b.length} bytes for ${p.keyIds.length} key(s)`);
  const epk = b.subarray(0, EPK_SIZE);
  const pub = publicOf(p.secretKey);
  const out = new Map<number, Uint8Array>();
  let k: Uint8Array;
  try {
    k = boxKey(p.secretKey, epk);
  } catch {
    throw new CustodyCryptoError("released shares carry a malformed ephemeral key");
  }
  p.keyIds.forEach((keyId, i) => {
    const at = EPK_SIZE + i * SHARE_BOX_SIZE;
    const share = nacl.secretbox.open(b.subarray(at, at + SHARE_BOX_SIZE), nonce(LABEL_RELEASE, epk, pub, releaseCtx(p.consumer, p.entryIndex, keyId)), k);
    if (!share) throw new CustodyCryptoError(`released share of key ${keyId} does not open with this key`);
    out.set(keyId, share);
  });
  return out;
}

/**
 * Reconstructs a data key from shares and checks it against the published commitment. With more
 * shares than needed, subsets are tried so one wrong share (a faulty member) does not block.
 * @example
 * const dataKey = await combineShares([s1, s2], 2, commitment);
 */
export async function combineShares(shares: readonly Uint8Array[], threshold: number, commitment: string): Promise<Uint8Array> {
  const plain = shares.find((s) => s.length === SHARE_SIZE && s[SHARE_SIZE - 1] === PLAIN_SHARE_X);
  if (threshold <= 1 || plain) {
    for (const s of shares) {
      const key = s.subarray(0, DATA_KEY_SIZE);
      if (s[SHARE_SIZE - 1] === PLAIN_SHARE_X && keyCommitment(key) === commitment.toLowerCase()) return new Uint8Array(key);
    }
    throw new CustodyCryptoError("no share opens to the committed key");
  }
  if (shares.length < threshold) throw new CustodyCryptoError(`${shares.length} share(s), ${threshold} needed`);
  for (const subset of subsets(shares.length, threshold)) {
    const key = await combine(subset.map((i) => shares[i]!));
    if (keyCommitment(key) === commitment.toLowerCase()) return key;
  }
  throw new CustodyCryptoError(`no ${threshold} of the ${shares.length} shares reconstruct the committed key`);
}

function* subsets(n: number, k: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === k) {
    yield [...acc];
    return;
  }
  for (let i = start; i <= n - (k - acc.length); i++) {
    acc.push(i);
    yield* subsets(n, k, i + 1, acc);
    acc.pop();
  }
}
