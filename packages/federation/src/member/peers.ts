import { createHash } from "node:crypto";
import { SigningKey, getAddress } from "ethers";
import { PeerAuthError } from "../errors";
import { recoverSigner } from "../messages";
import type { MemberMetrics } from "./metrics";

/**
 * One batch signature as members exchange it: destination, source, the batch's first nonce (which
 * names the batch), the batch digest signed, signature.
 */
export type SignatureItem = [dst: string, src: string, firstNonce: string, digest: string, signature: string];

/** v2: batch signatures (v1 carried one signature per message; the two do not mix). */
export const SIGNATURES_PATH = "/v2/signatures";
const SIGNER_HEADER = "x-federation-signer";
const AUTH_HEADER = "x-federation-auth";
const MAX_QUEUE = 200_000;

interface PeerLink {
  address: string;
  url: string;
  queue: SignatureItem[];
  sending: boolean;
  up: boolean;
  retryAt: number;
  backoffMs: number;
}

/**
 * Pushes this member's batch signatures to every other member over HTTP. Each POST carries many
 * signatures and one authentication signature over the body, so a receiver does one ECDSA recovery
 * per POST instead of one per signature (recovery runs ~600/s in JS). The body is hashed with
 * SHA-256 (prefixed with a domain tag) because it can be megabytes and keccak in JS is slow. The signatures inside are not
 * verified on receipt: the inbox verifies them on chain, and a relayer whose batch is refused checks
 * them one by one and drops the bad ones (see Relayer). A peer that is down keeps its queue and is
 * retried with backoff; anti-entropy re-sends cover restarts.
 */
export class PeerExchange {
  private readonly links: PeerLink[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly self: string,
    peers: readonly { address: string; url: string }[],
    private readonly key: SigningKey,
    private readonly metrics: MemberMetrics,
  ) {
    this.links = peers
      .filter((p) => p.address.toLowerCase() !== self.toLowerCase())
      .map((p) => ({ address: p.address, url: p.url.replace(/\/$/, ""), queue: [], sending: false, up: false, retryAt: 0, backoffMs: 100 }));
  }

  /**
   * Replaces the member directory (the operator changed the set): links of members still listed
   * keep their queues and take the new URL; new members get a link; removed members' queues go.
   */
  setPeers(peers: readonly { address: string; url: string }[]): void {
    const old = new Map(this.links.map((l) => [l.address.toLowerCase(), l]));
    const next: PeerLink[] = [];
    for (const p of peers) {
      const a = p.address.toLowerCase();
      if (a === this.self.toLowerCase()) continue;
      const l = old.get(a) ?? { address: p.address, url: "", queue: [], sending: false, up: false, retryAt: 0, backoffMs: 100 };
      l.url = p.url.replace(/\/$/, "");
      next.push(l);
    }
    this.links.splice(0, this.links.length, ...next);
    this.schedule(0);
  }

  get peerAddresses(): string[] {
    return this.links.map((l) => l.address);
  }

  peerStatus(): { address: string; url: string; up: boolean; queued: number }[] {
    return this.links.map((l) => ({ address: l.address, url: l.url, up: l.up, queued: l.queue.length }));
  }

  /** Queues signatures for `peers` (default: every peer) and schedules a push. */
  enqueue(items: readonly SignatureItem[], peers?: readonly string[]): void {
    if (items.length === 0) return;
    const only = peers ? new Set(peers.map((p) => p.toLowerCase())) : undefined;
    for (const l of this.links) {
      if (only && !only.has(l.address.toLowerCase())) continue;
      for (const it of items) l.queue.push(it);
      if (l.queue.length > MAX_QUEUE) l.queue.splice(0, l.queue.length - MAX_QUEUE);
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped || (this.timer && ms > 0)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pushAll();
    }, ms);
  }

  private pushAll(): void {
    const now = Date.now();
    let next = Infinity;
    for (const l of this.links) {
      if (l.sending || l.queue.length === 0) continue;
      if (l.retryAt > now) {
        next = Math.min(next, l.retryAt - now);
        continue;
      }
      void this.push(l);
    }
    if (next !== Infinity) this.schedule(next);
  }

  private async push(l: PeerLink): Promise<void> {
    const items = l.queue.splice(0, 5000);
    l.sending = true;
    const body = JSON.stringify({ from: this.self, items });
    const auth = this.key.sign(bodyHash(Buffer.from(body))).serialized;
    try {
      const res = await fetch(`${l.url}${SIGNATURES_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNER_HEADER]: this.self, [AUTH_HEADER]: auth },
        body,
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      await res.arrayBuffer();
      l.up = true;
      l.backoffMs = 100;
    } catch {
      // Keep the signatures for the next attempt; the peer may be restarting.
      l.queue.unshift(...items);
      if (l.queue.length > MAX_QUEUE) l.queue.splice(MAX_QUEUE);
      l.up = false;
      l.retryAt = Date.now() + l.backoffMs;
      l.backoffMs = Math.min(2000, l.backoffMs * 2);
    } finally {
      l.sending = false;
      this.metrics.peerUp.set({ peer: l.address }, l.up ? 1 : 0);
    }
    if (l.queue.length > 0) this.schedule(l.up ? 0 : Math.max(1, l.retryAt - Date.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The digest a POST's authentication signature covers: SHA-256 of the body (native, unlike keccak in JS). */
function bodyHash(body: Buffer): string {
  return `0x${createHash("sha256").update(Buffer.from("sidegrid-federation-batch-signatures:")).update(body).digest("hex")}`;
}

/**
 * Authenticates a signature POST: the body must be signed by the member named in the header, and
 * that member must be one of `members`. Returns the signer and the items.
 */
export function authenticatePush(
  body: Buffer,
  headers: Record<string, string | string[] | undefined>,
  members: ReadonlySet<string>,
): { signer: string; items: SignatureItem[] } {
  const claimed = String(headers[SIGNER_HEADER] ?? "");
  const auth = String(headers[AUTH_HEADER] ?? "");
  let recovered: string | undefined;
  try {
    recovered = recoverSigner(bodyHash(body), auth);
  } catch {
    recovered = undefined;
  }
  if (!recovered || !/^0x[0-9a-fA-F]{40}$/.test(claimed) || recovered !== getAddress(claimed) || !members.has(recovered.toLowerCase())) {
    throw new PeerAuthError(claimed, recovered);
  }
  const parsed = JSON.parse(body.toString("utf8")) as { from?: string; items?: unknown };
  if (!Array.isArray(parsed.items)) throw new PeerAuthError(claimed, recovered);
  const items = (parsed.items as unknown[]).filter(
    (it): it is SignatureItem => Array.isArray(it) && it.length === 5 && it.every((x) => typeof x === "string"),
  );
  return { signer: recovered, items };
}
