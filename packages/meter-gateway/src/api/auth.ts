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
import type { Redis } from "ioredis";
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
  /** True if `key` was unused (and is now used for `ttlMs`), false if it was used. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/** Nonces in Redis, shared by every gateway instance behind a load balancer. */
export class RedisNonceStore implements NonceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}
  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:nonce:${key}`, "1", "PX", ttlMs, "NX")) === "OK";
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
  if (!(await p.nonces.claim(`${caller.toLowerCase()}:${nonce}`, 2 * skew))) throw new AuthFailedError("nonce already used (replayed request)");
  return caller;
}
