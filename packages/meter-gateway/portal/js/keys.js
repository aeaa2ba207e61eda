// Keys and payloads in the page: the wallet's X25519 key (derived from a signature, never typed,
// never sent), her epoch keys from KeyCustody, a utility's released shares, and the records.
// Formats: docs/key-custody.md and the gateway README's "Payload format".
/* global ethers, nacl */
import { combine } from "/vendor/shamir/index.js";

/** Must equal BOX_KEY_MESSAGE in @sidegrid/blocksec (walletKeys.ts): one character more, another key. */
export const BOX_KEY_MESSAGE = [
  "Sidegrid encryption key",
  "",
  "Signing this derives your X25519 key for reading your Sidegrid data.",
  "It sends no transaction and costs nothing. Sign it only in a Sidegrid portal you trust.",
  "",
  "Version: 1",
].join("\n");

const N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

/** keccak256 of the canonical (low-s, v 27/28) signature → X25519 key pair. */
export async function deriveBoxKeys(signer) {
  const sig = await signer.signMessage(BOX_KEY_MESSAGE);
  let s = BigInt(`0x${sig.slice(66, 130)}`);
  let v = parseInt(sig.slice(130, 132), 16);
  if (v < 27) v += 27;
  if (s > N / 2n) {
    s = N - s;
    v = v === 27 ? 28 : 27;
  }
  const canonical = `${sig.slice(0, 66)}${s.toString(16).padStart(64, "0")}${v.toString(16)}`;
  return nacl.box.keyPair.fromSecretKey(ethers.getBytes(ethers.keccak256(canonical)));
}

const enc = (t) => new TextEncoder().encode(t);
function cat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
async function sha(alg, parts) {
  return new Uint8Array(await crypto.subtle.digest(alg, cat(parts)));
}
const u32be = (n) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const u64be = (n) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
};
const u64le = (b, at) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));
/** consumer (20 bytes) ‖ keyId (uint32 BE): the context of every custody box. */
const keyCtx = (consumer, keyId) => cat([ethers.getBytes(consumer.toLowerCase()), u32be(keyId)]);
const nonce24 = async (parts) => (await sha("SHA-512", parts)).subarray(0, 24);

/** Her epoch keys: each KeyCustody envelope's consumer box, opened with her secret key. */
export async function openEpochKeys(list, box) {
  const out = new Map();
  for (const k of list) {
    const env = ethers.getBytes(k.envelope);
    const epk = env.subarray(0, 32);
    const n = await nonce24([enc("sidegrid/custody/consumer/v1"), epk, box.publicKey, keyCtx(k.consumer, k.keyId)]);
    const key = nacl.box.open(env.subarray(32, 80), n, epk, box.secretKey);
    if (key) out.set(k.keyId, key);
  }
  return out;
}

/**
 * A grant's keys from the members' releases (boxed to the requester's key): per key, the shares
 * that opened, combined once m are in and checked against the published commitment.
 */
export async function keysFromReleases({ consumer, entryIndex, keys, releases, thresholds }, box) {
  const shares = new Map();
  const by = new Map();
  for (const r of releases) {
    const b = ethers.getBytes(r.shares);
    if (b.length !== 32 + r.keyIds.length * 49) continue;
    const epk = b.subarray(0, 32);
    const shared = nacl.box.before(epk, box.secretKey);
    for (let i = 0; i < r.keyIds.length; i++) {
      const n = await nonce24([enc("sidegrid/custody/release/v1"), epk, box.publicKey, cat([keyCtx(consumer, r.keyIds[i]), u64be(entryIndex)])]);
      const share = nacl.secretbox.open(b.subarray(32 + i * 49, 32 + (i + 1) * 49), n, shared);
      if (!share) continue; // a faulty member's box: the others may still make m
      shares.set(r.keyIds[i], [...(shares.get(r.keyIds[i]) ?? []), share]);
      by.set(r.keyIds[i], [...(by.get(r.keyIds[i]) ?? []), r.member]);
    }
  }
  const opened = new Map();
  const status = [];
  for (const k of keys) {
    const got = shares.get(k.keyId) ?? [];
    const m = thresholds[k.setIndex] ?? 1;
    let key = null;
    if (got.length >= m) key = await combineChecked(got, m, k.commitment);
    if (key) opened.set(k.keyId, key);
    status.push({ keyId: k.keyId, resolution: k.resolution, shares: got.length, threshold: m, releasedBy: by.get(k.keyId) ?? [], opened: Boolean(key) });
  }
  return { keys: opened, status };
}

async function commitmentOf(key) {
  return ethers.hexlify(await sha("SHA-256", [enc("sidegrid/custody/commitment/v1"), key]));
}

/** m-of-n Shamir with a commitment check; a share whose x is 0 is the key itself (m = 1). */
async function combineChecked(shares, m, commitment) {
  const want = commitment.toLowerCase();
  for (const s of shares) if (s[32] === 0 && (await commitmentOf(s.subarray(0, 32))) === want) return s.subarray(0, 32);
  if (m <= 1) return null;
  // Every m-subset in order: one wrong share among more than m does not block the others.
  const idx = [...Array(m).keys()];
  for (;;) {
    const key = await combine(idx.map((i) => shares[i])).catch(() => null);
    if (key && (await commitmentOf(key)) === want) return key;
    let i = m - 1;
    while (i >= 0 && idx[i] === shares.length - m + i) i--;
    if (i < 0) return null;
    idx[i]++;
    for (let j = i + 1; j < m; j++) idx[j] = idx[j - 1] + 1;
  }
}

const RES = { NONE: 0, MONTHLY: 1, DAILY: 2, HOURLY: 3, QUARTER_HOURLY: 4 };

/**
 * Opens one stored record: v2 under an epoch key (keys: Map keyId → key), v1 with its own envelope
 * (box: the consumer's X25519 pair). Returns registers (raw records) or period energy (aggregates).
 */
export async function openRecord(r, keys, box) {
  const p = ethers.getBytes(r.payload);
  const ctx = new Uint8Array(14);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(0, r.meterId);
  dv.setBigUint64(4, BigInt(r.sequence));
  ctx[12] = RES[r.resolution];
  ctx[13] = p[1];
  let plain = null;
  if (p[0] === 2) {
    const keyId = new DataView(p.buffer, p.byteOffset).getUint32(2);
    const key = keys.get(keyId);
    if (!key) return null;
    plain = nacl.secretbox.open(p.subarray(6), await nonce24([enc("sidegrid/payload/v2"), ctx, u32be(keyId)]), key);
  } else if (p[0] === 1 && box) {
    const epk = p.subarray(2, 34);
    const key = nacl.box.open(p.subarray(34, 82), await nonce24([epk, box.publicKey]), epk, box.secretKey);
    if (key) plain = nacl.secretbox.open(p.subarray(82), await nonce24([enc("sidegrid/payload/v1"), ctx]), key);
  }
  if (!plain) return null;
  // Raw ET160 record (1) or its compact form (3): cumulative registers; aggregate (2): period energy.
  if (p[1] === 1) return { importWh: u64le(plain, 20), exportWh: u64le(plain, 28), cumulative: true };
  if (p[1] === 3) return { importWh: u64le(plain, 12), exportWh: u64le(plain, 20), cumulative: true };
  return { importWh: u64le(plain, 32), exportWh: u64le(plain, 40), cumulative: false };
}
