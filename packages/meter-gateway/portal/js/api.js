// The signed API: every call carries an EIP-191 signature of method, path, body hash, time and a
// nonce (the gateway README's "Authentication"); the wallet is the only credential.
/* global ethers */
import { deriveBoxKeys } from "./keys.js";

export const session = { signer: null, address: null, me: null, box: null, names: new Map(), devAccounts: [] };

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function nonce() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function signedHeaders(method, path, text) {
  const ts = String(Date.now());
  const n = nonce();
  const bodyHash = ethers.keccak256(text === undefined ? new Uint8Array() : ethers.toUtf8Bytes(text));
  const signature = await session.signer.signMessage(["sidegrid-api/v1", method, path, bodyHash, ts, n].join("\n"));
  const h = { "x-sidegrid-address": session.address, "x-sidegrid-timestamp": ts, "x-sidegrid-nonce": n, "x-sidegrid-signature": signature };
  if (text !== undefined) h["content-type"] = "application/json";
  return h;
}

/**
 * A signed call. Resolves with { status, json } for 2xx and for a recorded denial (403 with an
 * access entry: the ledger's answer, not a failure); throws ApiError otherwise.
 */
export async function api(method, path, body) {
  if (!session.signer) throw new Error("Sign in first.");
  const text = body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(path, { method, headers: await signedHeaders(method, path, text), body: text });
  const json = await res.json().catch(() => ({}));
  if (!res.ok && !(json.error && json.error.entry)) throw new ApiError(res.status, json);
  return { status: res.status, json };
}

/** Server-sent events over a signed fetch (EventSource cannot send the signature headers). */
export async function stream(path, onEvent, signal) {
  const res = await fetch(path, { headers: await signedHeaders("GET", path, undefined), signal });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = { event: "message", data: "" };
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) ev.event = line.slice(7);
        else if (line.startsWith("data: ")) ev.data += line.slice(6);
      }
      onEvent(ev.event, ev.data ? JSON.parse(ev.data) : null);
    }
  }
}

/** The dev accounts of a local system (404 anywhere else: then the list stays empty). */
export async function loadDevAccounts() {
  const res = await fetch("/v1/dev/accounts").catch(() => null);
  if (!res || !res.ok) return [];
  const { accounts } = await res.json();
  session.devAccounts = accounts;
  for (const a of accounts) session.names.set(a.address.toLowerCase(), a.label.replace(/ \(.*\)$/, ""));
  return accounts;
}

export async function signIn(signer) {
  session.signer = signer;
  session.address = await signer.getAddress();
  session.box = null;
  session.me = (await api("GET", "/v1/me")).json;
  return session.me;
}

export function signOut() {
  Object.assign(session, { signer: null, address: null, me: null, box: null });
}

/** The X25519 pair of the signed-in wallet: one signature, then kept in this page only. */
export async function boxKeys() {
  session.box ??= await deriveBoxKeys(session.signer);
  return session.box;
}

/** A readable name for an address: the dev list's label locally, else the shortened address. */
export function nameOf(address) {
  if (!address) return "";
  const n = session.names.get(address.toLowerCase());
  const short = `${address.slice(0, 6)}…${address.slice(-4)}`;
  return n ? `${n} (${short})` : short;
}

/**
 * Signs a prepared transaction and has the gateway relay it (dev keys), or sends it through the
 * browser wallet, which signs and sends in one step. Returns the relay's answer.
 */
export async function signAndRelay(tx, relayPath) {
  if (session.signer instanceof ethers.Wallet) {
    const signedTx = await session.signer.signTransaction(tx);
    return api("POST", relayPath, { signedTx });
  }
  const sent = await session.signer.sendTransaction(tx);
  const r = await sent.wait();
  return { status: 200, json: { txHash: sent.hash, blockNumber: r.blockNumber, status: r.status, viaWallet: true } };
}
