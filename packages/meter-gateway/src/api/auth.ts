// Wallet-signature authentication of API requests. The caller signs, with EIP-191 personal_sign,
// the canonical text
//
//   sidegrid-api/v1
//   <METHOD>
//   <path with query, as sent>
//   <keccak256 of the raw body bytes, 0x hex (keccak256 of zero bytes when there is none)>
//   <timestamp, Unix ms>
//   <nonce, 8–64 of [A-Za-z0-9_-]>
//
// and sends x-sidegrid-address, x-sidegrid-timestamp, x-sidegrid-nonce, x-sidegrid-signature.
// The gateway recovers the signer, requires it to equal the address, the timestamp to be within
// the allowed skew, and the (address, nonce) pair to be unused within twice the skew (so a captured
// request cannot be replayed while its timestamp is still acceptable).
import { getAddress, isAddress, keccak256, verifyMessage, type Signer } from "ethers";
import type { Cluster, Redis } from "ioredis";
import { AuthFailedError } from "../errors";

export const AUTH_HEADERS = {
  address: "x-sidegrid-address",
  timestamp: "x-sidegrid-timestamp",
  nonce: "x-sidegrid-nonce",
  signature: "x-sidegrid-signature",
} as const;
export const AUTH_PREFIX = "sidegrid-api/v1";

export interface CanonicalRequest {
  method: string;
  /** Path and query string exactly as requested, e.g. "/v1/consumers/0xab.../readings?from=0". */
  path: string;
  body?: Uint8Array | string;
  timestamp: number;
  nonce: string;
}

/**
 * The text a caller signs for one request.
 * @example
 * canonicalRequestText({ method: "GET", path: "/v1/me", timestamp: Date.now(), nonce: "n0nce123" })
 */
export function canonicalRequestText(r: CanonicalRequest): string {
  const body = r.body === undefined ? new Uint8Array(0) : typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body;
  return [AUTH_PREFIX, r.method.toUpperCase(), r.path, keccak256(body), String(r.timestamp), r.nonce].join("\n");
}

export interface SignRequestParameters {
  signer: Signer;
  method: string;
  path: string;
  body?: string;
  timestamp?: number;
  nonce?: string;
}

/**
 * Signs a request for the gateway API and returns the headers to send with it.
 * @example
 * const headers = await signRequest({ signer: wallet, method: "POST", path: "/v1/access-requests", body });
 * await fetch(url + "/v1/access-requests", { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
 */
export async function signRequest(p: SignRequestParameters): Promise<Record<string, string>> {
  const timestamp = p.timestamp ?? Date.now();
  const nonce = p.nonce ?? Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
  const text = canonicalRequestText({ method: p.method, path: p.path, ...(p.body !== undefined ? { body: p.body } : {}), timestamp, nonce });
  const signature = await p.signer.signMessage(text);
  return {
    [AUTH_HEADERS.address]: await p.signer.getAddress(),
    [AUTH_HEADERS.timestamp]: String(timestamp),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: signature,
  };
}

/** Remembers used nonces for a while. */
export interface NonceStore {
  /**
   * True if `key` was unused (and is now used for `ttlMs`), false if it was used. `signedAt` is the
   * request's own timestamp: a store that lost its memory refuses requests signed before it knew.
   */
  claim(key: string, ttlMs: number, signedAt?: number): Promise<boolean>;
}

/** A store that lost the nonces it held cannot tell a replay from a first use. */
export class ReplayMemoryLostError extends AuthFailedError {
  constructor(lostAt: number) {
    super(`the gateway lost its record of used nonces (Redis restarted empty) at ${new Date(lostAt).toISOString()}: sign the request again`);
  }
}

// One round trip. The nonce counts only while the store still holds the marker set at start; a
// missing marker means Redis restarted empty or was flushed, and the nonces went with it: the
// moment is recorded (for every gateway sharing this Redis) and requests signed before it are
// refused. Returns {1} claimed, {0} used, {-1, lostAt} refused.
const CLAIM_SCRIPT = `local lost = tonumber(redis.call('GET', KEYS[3]) or '0')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  lost = tonumber(ARGV[3])
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
end
if tonumber(ARGV[4]) <= lost then return {-1, lost} end
if redis.call('SET', KEYS[2], '1', 'PX', ARGV[2], 'NX') then return {1} end
return {0}`;

/**
 * Nonces in Redis, shared by every gateway instance behind a load balancer. Redis restarted empty
 * would forget them, and a request captured before could be replayed within the allowed clock
 * skew; so the store keeps a marker beside them and, once the marker is gone, refuses requests
 * signed before that moment (ReplayMemoryLostError). Test: `gateway.redis.test.ts`.
 */
export class RedisNonceStore implements NonceStore {
  private marker: string | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  /** Sets the marker, or adopts the one another gateway on this Redis set. */
  async init(): Promise<void> {
    const key = `${this.prefix}:nonce-memory`;
    await this.redis.set(key, Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString("hex"), "NX");
    this.marker = (await this.redis.get(key)) ?? undefined;
  }

  async claim(key: string, ttlMs: number, signedAt = 0): Promise<boolean> {
    if (this.marker === undefined) await this.init();
    const keys = [`${this.prefix}:nonce-memory`, `${this.prefix}:nonce:${key}`, `${this.prefix}:nonce-lost-at`];
    const r = (await this.redis.eval(CLAIM_SCRIPT, 3, ...keys, this.marker!, String(ttlMs), String(Date.now()), String(signedAt))) as number[];
    if (r[0] === -1) throw new ReplayMemoryLostError(Number(r[1]));
    return r[0] === 1;
  }
}

/** Nonces in memory (one process). */
export class MemoryNonceStore implements NonceStore {
  private readonly used = new Map<string, number>();
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.used.size > 100_000) for (const [k, exp] of this.used) if (exp < now) this.used.delete(k);
    const exp = this.used.get(key);
    if (exp !== undefined && exp > now) return false;
    this.used.set(key, now + ttlMs);
    return true;
  }
}

export interface VerifyRequestParameters {
  method: string;
  path: string;
  body: Uint8Array;
  headers: Record<string, string | string[] | undefined>;
  nonces: NonceStore;
  /** Accepted clock difference (ms, default 120 000). */
  maxSkewMs?: number;
  now?: number;
}

/**
 * Authenticates a signed request; returns the checksummed caller address.
 * @example
 * const caller = await verifySignedRequest({ method, path, body, headers, nonces });
 */
export async function verifySignedRequest(p: VerifyRequestParameters): Promise<string> {
  const h = (name: string) => {
    const v = p.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const address = h(AUTH_HEADERS.address);
  const ts = h(AUTH_HEADERS.timestamp);
  const nonce = h(AUTH_HEADERS.nonce);
  const signature = h(AUTH_HEADERS.signature);
  if (!address || !ts || !nonce || !signature) throw new AuthFailedError(`missing ${Object.values(AUTH_HEADERS).filter((x) => !h(x)).join(", ")}`);
  if (!isAddress(address)) throw new AuthFailedError(`${AUTH_HEADERS.address} is not an address`);
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(nonce)) throw new AuthFailedError("nonce must be 8-64 characters of [A-Za-z0-9_-]");
  if (!/^\d{1,16}$/.test(ts)) throw new AuthFailedError("timestamp must be Unix milliseconds");
  const skew = p.maxSkewMs ?? 120_000;
  const now = p.now ?? Date.now();
  const timestamp = Number(ts);
  if (Math.abs(now - timestamp) > skew) throw new AuthFailedError(`timestamp is ${Math.round((timestamp - now) / 1000)} s off the gateway clock (allowed ±${skew / 1000} s)`);
  let signer: string;
  try {
    signer = verifyMessage(canonicalRequestText({ method: p.method, path: p.path, body: p.body, timestamp, nonce }), signature);
  } catch (cause) {
    throw new AuthFailedError("malformed signature", { cause });
  }
  const caller = getAddress(address);
  if (signer !== caller) throw new AuthFailedError("signature does not match the address (wrong key, or the request was altered)");
  if (!(await p.nonces.claim(`${caller.toLowerCase()}:${nonce}`, 2 * skew, timestamp))) throw new AuthFailedError("nonce already used (replayed request)");
  return caller;
}
