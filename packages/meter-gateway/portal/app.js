// The portal: plain JS in the browser, talking to the gateway API with wallet-signed requests.
/* global ethers, nacl */
"use strict";
const $ = (id) => document.getElementById(id);
let signer = null;

function nonce() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function api(method, path, body) {
  if (!signer) throw new Error("sign in first");
  const text = body === undefined ? undefined : JSON.stringify(body);
  const ts = Date.now();
  const n = nonce();
  const bodyHash = ethers.keccak256(text === undefined ? new Uint8Array() : ethers.toUtf8Bytes(text));
  const signature = await signer.signMessage(["sidegrid-api/v1", method, path, bodyHash, String(ts), n].join("\n"));
  const headers = { "x-sidegrid-address": await signer.getAddress(), "x-sidegrid-timestamp": String(ts), "x-sidegrid-nonce": n, "x-sidegrid-signature": signature };
  if (text !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: text });
  const json = await res.json();
  if (!res.ok && !(json.error && json.error.entry)) throw new Error(`${res.status}: ${json.error ? json.error.message : res.statusText}`);
  return { status: res.status, json };
}

async function signIn(s) {
  signer = s;
  const me = (await api("GET", "/v1/me")).json;
  const roles = ["consumer", me.distributor && "distributor", me.auditor && "auditor", me.operator && "operator"].filter(Boolean).join(", ");
  $("who").textContent = `${me.address} (${roles})`;
}

$("mm").onclick = async () => {
  if (!window.ethereum) return alert("no browser wallet found");
  const p = new ethers.BrowserProvider(window.ethereum);
  await signIn(await p.getSigner());
};
$("usekey").onclick = () => signIn(new ethers.Wallet($("key").value.trim())).catch((e) => alert(e.message));
for (const b of document.querySelectorAll("nav button")) {
  b.onclick = () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.id === b.dataset.tab);
  };
}

function rows(table, list, cells) {
  const tb = $(table).querySelector("tbody");
  tb.innerHTML = "";
  for (const x of list) {
    const tr = document.createElement("tr");
    for (const c of cells(x)) {
      const td = document.createElement("td");
      if (c instanceof Node) td.append(c);
      else td.textContent = c;
      tr.append(td);
    }
    tb.append(tr);
  }
}

// --- payloads (README "Payload format"): opened here, with the household's X25519 key -----------
// v2: the record is sealed under an epoch key; KeyCustody holds that key boxed to her.
// v1: the record carries its own envelope of the data key.
const RES = { NONE: 0, MONTHLY: 1, DAILY: 2, HOURLY: 3, QUARTER_HOURLY: 4 };
const enc = (t) => new TextEncoder().encode(t);
async function sha512(parts) {
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-512", all));
}
function u64le(b, at) { return Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true)); }
function u32be(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; }

/** Her epoch keys: each KeyCustody envelope's consumer box, opened with her secret key. */
async function epochKeys(me, secret) {
  const { json } = await api("GET", `/v1/consumers/${me}/keys`);
  const pk = nacl.box.keyPair.fromSecretKey(secret).publicKey;
  const out = new Map();
  for (const k of json.keys) {
    const env = ethers.getBytes(k.envelope);
    const epk = env.subarray(0, 32);
    const ctx = new Uint8Array([...ethers.getBytes(k.consumer), ...u32be(k.keyId)]);
    const nonce = (await sha512([enc("sidegrid/custody/consumer/v1"), epk, pk, ctx])).subarray(0, 24);
    const key = nacl.box.open(env.subarray(32, 80), nonce, epk, secret);
    if (key) out.set(k.keyId, key);
  }
  return out;
}

async function openPayload(hex, secret, r, keys) {
  const p = ethers.getBytes(hex);
  const ctx = new Uint8Array(14);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(0, r.meterId);
  dv.setBigUint64(4, BigInt(r.sequence));
  ctx[12] = RES[r.resolution];
  ctx[13] = p[1];
  let plain;
  if (p[0] === 2) {
    const keyId = new DataView(p.buffer, p.byteOffset).getUint32(2);
    const key = keys.get(keyId);
    if (!key) return null;
    const nonce = (await sha512([enc("sidegrid/payload/v2"), ctx, u32be(keyId)])).subarray(0, 24);
    plain = nacl.secretbox.open(p.subarray(6), nonce, key);
  } else {
    const epk = p.subarray(2, 34);
    const pk = nacl.box.keyPair.fromSecretKey(secret).publicKey;
    const key = nacl.box.open(p.subarray(34, 82), (await sha512([epk, pk])).subarray(0, 24), epk, secret);
    if (!key) return null;
    plain = nacl.secretbox.open(p.subarray(82), (await sha512([enc("sidegrid/payload/v1"), ctx])).subarray(0, 24), key);
  }
  if (!plain) return null;
  // raw ET160 record (1) or its compact form (3, 8 bytes shorter before the registers): cumulative
  // registers; aggregate (2): energy in the period.
  if (p[1] === 1) return { importWh: u64le(plain, 20), exportWh: u64le(plain, 28), cumulative: true };
  if (p[1] === 3) return { importWh: u64le(plain, 12), exportWh: u64le(plain, 20), cumulative: true };
  return { importWh: u64le(plain, 32), exportWh: u64le(plain, 40), cumulative: false };
}

$("loadReadings").onclick = async () => {
  const me = await signer.getAddress();
  const { json } = await api("GET", `/v1/consumers/${me}/readings?limit=500`);
  const sk = $("x25519").value.trim();
  const secret = sk ? ethers.getBytes(sk.startsWith("0x") ? sk : `0x${sk}`) : null;
  const keys = secret ? await epochKeys(me, secret) : new Map();
  const opened = await Promise.all(json.readings.map((r) => (secret ? openPayload(r.payload, secret, r, keys).catch(() => null) : null)));
  rows("readings", json.readings.map((r, i) => [r, opened[i]]), ([r, o]) => [
    r.meterId, r.sequence, new Date(r.periodStart).toISOString(), r.resolution, r.status,
    r.anchor ? `${r.anchor.txHash.slice(0, 10)}…` : "",
    o ? `${(o.importWh / 1000).toFixed(3)}${o.cumulative ? " (register)" : ""}` : "🔒",
    o ? (o.exportWh / 1000).toFixed(3) : "🔒",
  ]);
};

$("loadPrefs").onclick = async () => {
  const me = await signer.getAddress();
  $("prefs").textContent = JSON.stringify((await api("GET", `/v1/consumers/${me}/preferences`)).json, null, 2);
};

// A failed request is shown where its answer would be, not lost in the console.
const guarded = (outId, fn) => async (ev) => {
  if (ev && ev.preventDefault) ev.preventDefault();
  try {
    await fn(ev);
  } catch (e) {
    $(outId).textContent = `Error: ${e.message}`;
  }
};

$("prefForm").onsubmit = async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const me = await signer.getAddress();
  const pref = { category: f.get("category"), allowed: f.get("allowed") === "on", resolution: f.get("category") === "TRADES" ? "NONE" : f.get("resolution") };
  if (f.get("utility")) pref.utility = f.get("utility");
  const { json } = await api("POST", `/v1/consumers/${me}/preferences`, { preferences: [pref] });
  if (signer instanceof ethers.Wallet) {
    const signedTx = await signer.signTransaction(json.tx);
    const r = await api("POST", `/v1/consumers/${me}/preferences/relay`, { signedTx });
    alert(`BlockPRI transaction ${r.json.txHash}: ${r.json.status === 1 ? "done" : "failed"}`);
  } else {
    const sent = await signer.sendTransaction(json.tx);
    alert(`sent ${sent.hash} through your wallet`);
  }
};

$("loadLog").onclick = async () => {
  const me = await signer.getAddress();
  const { json } = await api("GET", `/v1/consumers/${me}/access-log`);
  rows("accessLog", json.entries, (e) => [e.index, e.requester, e.category, e.resolution, e.granted ? "yes" : "no", e.reason, e.blockNumber]);
};

$("accessForm").onsubmit = guarded("accessResult", async (ev) => {
  const f = new FormData(ev.target);
  const sec = (v) => Math.floor(new Date(v).getTime() / 1000);
  const body = { consumer: f.get("consumer"), category: "CONSUMPTION", resolution: f.get("resolution"), from: sec(f.get("from")), to: sec(f.get("to")) };
  const { json } = await api("POST", "/v1/access-requests", body);
  if (!(signer instanceof ethers.Wallet)) return ($("accessResult").textContent = "Browser wallets cannot sign without sending; send this transaction yourself:\n" + JSON.stringify(json.tx, null, 2));
  const signedTx = await signer.signTransaction(json.tx);
  const r = await api("POST", "/v1/access-requests/relay", { signedTx });
  $("accessResult").textContent = r.status === 403 ? `DENIED (${r.json.error.entry.reason}) — recorded as entry #${r.json.error.entry.index} of the consumer's access chain` : `GRANTED entry #${r.json.entry.index}: ${r.json.readings.length} encrypted records\n` + JSON.stringify(r.json.readings.slice(0, 3), null, 2);
});

$("courtForm").onsubmit = guarded("courtVerdict", async (ev) => {
  const c = new FormData(ev.target).get("consumer");
  $("courtVerdict").textContent = "Auditing…";
  const { json } = await api("GET", `/v1/courts/consumers/${c}/access-history`);
  $("courtVerdict").innerHTML = json.ok ? `<b class="granted">Chain verified</b>: ${json.count} entries, head ${json.head}` : `<b class="denied">Problems:</b> ${json.problems.map((p) => p.message).join("; ")}`;
  rows("courtLog", json.entries, (e) => [e.index, e.requester, e.category, e.granted ? "yes" : "no", e.reason, e.blockNumber, `${(e.transactionHash || "").slice(0, 10)}…`]);
});

$("loadOps").onclick = async () => {
  const [m, a, q] = await Promise.all([api("GET", "/v1/operator/meters"), api("GET", "/v1/operator/alerts?limit=100"), api("GET", "/v1/operator/queue")]);
  $("queue").textContent = JSON.stringify(q.json, null, 2);
  rows("meters", m.json.meters, (x) => [x.meterId, x.lastSeq, x.lastOkAt ? new Date(x.lastOkAt).toISOString() : "", x.consecutiveFailures, x.silent ? "yes" : "", x.drifting ? "yes" : "", x.lastError || ""]);
  rows("alerts", a.json.alerts, (x) => [new Date(x.at).toISOString(), x.meterId, x.kind, x.message]);
};
