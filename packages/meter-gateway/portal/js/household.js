// The household's view: her energy (decrypted here), who may see what, who read her data, her
// meter's alerts, and her data to take away.
import { api, boxKeys, nameOf, session, signAndRelay } from "./api.js";
import { openEpochKeys, openRecord } from "./keys.js";
import { BINS, binned, csv, download, drawChart, energyIntervals, formatTime } from "./energy.js";
import { $, el, fmtDate, setBusy, setStatus, table } from "./ui.js";

const RES_WORDS = { QUARTER_HOURLY: "every 15 minutes", HOURLY: "hourly", DAILY: "daily", MONTHLY: "monthly", NONE: "—" };
const ANY = "0x0000000000000000000000000000000000000000";
let opened = []; // [{ record, opened }]
let prefs = null; // { version, mirrorVersion, preferences }
let pending = new Map(); // "utility|category" → { allowed, resolution, expiresAt }

export async function loadHousehold() {
  await Promise.all([loadEnergy(), loadPreferences(), loadAccessHistory(), loadAlerts(), loadDemandResponse()]);
}

// ------------------------------------------------------------------ energy
async function loadEnergy() {
  const out = $("hh-energy-status");
  setStatus(out, "Deriving your key (one signature) and opening your readings…");
  const me = session.address;
  const box = await boxKeys();
  const [{ json: r }, { json: k }] = await Promise.all([api("GET", `/v1/consumers/${me}/readings?limit=5000`), api("GET", `/v1/consumers/${me}/keys`)]);
  const keys = await openEpochKeys(k.keys, box);
  opened = await Promise.all(r.readings.map(async (record) => ({ record, opened: await openRecord(record, keys, box).catch(() => null) })));
  const ok = opened.filter((x) => x.opened).length;
  const anchored = r.readings.filter((x) => x.status === "anchored").length;
  setStatus(out, `${r.readings.length} readings, ${ok} opened with your key in this page, ${anchored} anchored on BlockSEC.`);
  $("hh-energy").dataset.opened = String(ok);
  renderEnergy();
}

function renderEnergy() {
  const bin = $("hh-bin").value;
  const rows = binned(energyIntervals(opened), bin);
  drawChart($("hh-chart"), rows, bin);
  const total = rows.reduce((s, r) => ({ i: s.i + r.importKwh, e: s.e + r.exportKwh }), { i: 0, e: 0 });
  $("hh-total").textContent = `${total.i.toFixed(3)} kWh imported, ${total.e.toFixed(3)} kWh exported in ${rows.length} ${BINS[bin].label} periods.`;
  table($("hh-table"), ["Period", "Import kWh", "Export kWh"], rows.slice(-96).reverse().map((r) => [formatTime(r.t, bin), r.importKwh.toFixed(3), r.exportKwh.toFixed(3)]));
}

function exportCsv() {
  const lines = opened.map(({ record: r, opened: o }) => [new Date(r.periodStart).toISOString(), r.meterId, r.sequence, r.resolution, o ? (o.cumulative ? "register" : "period") : "unopened", o ? (o.importWh / 1000).toFixed(3) : "", o ? (o.exportWh / 1000).toFixed(3) : "", r.status, r.anchor ? r.anchor.txHash : ""]);
  download(`sidegrid-${session.address}-readings.csv`, csv(["period_start_utc", "meter", "sequence", "resolution", "kind", "import_kwh", "export_kwh", "status", "anchor_tx"], lines), "text/csv");
}

function exportJson() {
  const doc = {
    format: "sidegrid-household-export/v1",
    consumer: session.address,
    exportedAt: new Date().toISOString(),
    note: "Each record's payload is what BlockSEC anchored; anchor.proof leads from the record's leaf to anchor.root, which the MeterDataLedger holds for anchor.batchId (sorted-pair keccak256 Merkle tree).",
    records: opened.map(({ record: r, opened: o }) => ({
      meterId: r.meterId,
      sequence: r.sequence,
      periodStart: new Date(r.periodStart).toISOString(),
      periodStartMs: r.periodStart,
      resolution: r.resolution,
      category: r.category,
      payload: r.payload,
      status: r.status,
      decrypted: o ? { importWh: o.importWh, exportWh: o.exportWh, kind: o.cumulative ? "register" : "period" } : null,
      anchor: r.anchor ?? null,
    })),
  };
  download(`sidegrid-${session.address}-readings.json`, JSON.stringify(doc, null, 2), "application/json");
}

// ------------------------------------------------------------------ preferences
async function loadPreferences() {
  prefs = (await api("GET", `/v1/consumers/${session.address}/preferences`)).json;
  pending = new Map();
  renderMatrix();
  renderMirror();
}

function entryOf(utility, category) {
  const key = `${utility.toLowerCase()}|${category}`;
  if (pending.has(key)) return { ...pending.get(key), changed: true };
  const p = prefs.preferences.find((x) => x.utility.toLowerCase() === utility.toLowerCase() && x.category === category);
  return p ? { allowed: p.allowed, resolution: p.resolution, expiresAt: Number(p.expiresAt), changed: false } : { allowed: false, resolution: category === "TRADES" ? "NONE" : "QUARTER_HOURLY", expiresAt: 0, changed: false, unset: true };
}

function utilitiesShown() {
  const list = [...new Set(prefs.preferences.map((p) => p.utility.toLowerCase()))];
  for (const k of pending.keys()) if (!list.includes(k.split("|")[0])) list.push(k.split("|")[0]);
  for (const a of session.devAccounts) if ((a.role === "utility" || a.role === "company") && !list.includes(a.address.toLowerCase())) list.push(a.address.toLowerCase());
  return list.sort((a, b) => (a === ANY ? 1 : b === ANY ? -1 : 0));
}

function describe(e, category) {
  if (!e.allowed) return "not allowed";
  const until = e.expiresAt ? ` until ${new Date(e.expiresAt * 1000).toISOString().slice(0, 10)}` : "";
  return category === "TRADES" ? `allowed${until}` : `${RES_WORDS[e.resolution]}${until}`;
}

function renderMatrix() {
  const tbody = $("hh-matrix").querySelector("tbody");
  tbody.innerHTML = "";
  for (const u of utilitiesShown()) {
    const tr = el("tr", { "data-utility": u });
    tr.append(el("th", { scope: "row" }, u === ANY ? "Any other distributor" : nameOf(u)));
    for (const category of ["CONSUMPTION", "TRADES"]) {
      const e = entryOf(u, category);
      const td = el("td", { class: e.changed ? "changed" : "", "data-label": category === "TRADES" ? "Your trades" : "Your consumption" });
      const id = `m-${u.slice(2, 10)}-${category}`;
      const toggle = el("input", { type: "checkbox", id: `${id}-on`, "aria-label": `${category === "TRADES" ? "Trades" : "Consumption"} for ${u === ANY ? "any other distributor" : nameOf(u)}` });
      toggle.checked = e.allowed;
      toggle.onchange = () => stage(u, category, { allowed: toggle.checked });
      td.append(el("label", { class: "switch", for: `${id}-on` }, toggle, el("span", {}, e.allowed ? "Allowed" : "Off")));
      if (category === "CONSUMPTION") {
        const sel = el("select", { id: `${id}-res`, "aria-label": `Finest resolution for ${nameOf(u)}` }, ...["QUARTER_HOURLY", "HOURLY", "DAILY", "MONTHLY"].map((r) => el("option", { value: r }, RES_WORDS[r])));
        sel.value = e.resolution === "NONE" ? "MONTHLY" : e.resolution;
        sel.disabled = !e.allowed;
        sel.onchange = () => stage(u, category, { resolution: sel.value });
        td.append(sel);
      }
      const date = el("input", { type: "date", id: `${id}-until`, "aria-label": `Allowed until (empty: no end) for ${nameOf(u)}` });
      date.value = e.expiresAt ? new Date(e.expiresAt * 1000).toISOString().slice(0, 10) : "";
      date.disabled = !e.allowed;
      date.onchange = () => stage(u, category, { expiresAt: date.value ? Math.floor(Date.parse(`${date.value}T23:59:59Z`) / 1000) : 0 });
      td.append(date);
      tr.append(td);
    }
    tbody.append(tr);
  }
  $("hh-review").disabled = pending.size === 0;
}

function stage(utility, category, change) {
  const cur = entryOf(utility, category);
  const next = { allowed: cur.allowed, resolution: cur.resolution, expiresAt: cur.expiresAt, ...change };
  if (category === "TRADES") next.resolution = "NONE";
  else if (next.resolution === "NONE") next.resolution = "MONTHLY";
  pending.set(`${utility.toLowerCase()}|${category}`, next);
  renderMatrix();
}

function addUtility() {
  const v = $("hh-add-utility").value.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) return setStatus($("hh-pref-status"), "That is not an address (0x and 40 hex digits).", "error");
  stage(v, "CONSUMPTION", { allowed: false });
  $("hh-add-utility").value = "";
}

/** The confirmation names every change in words before anything is signed. */
function review() {
  const list = $("hh-changes");
  list.innerHTML = "";
  for (const [key, next] of pending) {
    const [u, category] = key.split("|");
    const prev = prefs.preferences.find((x) => x.utility.toLowerCase() === u && x.category === category);
    const before = prev ? describe({ ...prev, expiresAt: Number(prev.expiresAt) }, category) : "not set (the default applies)";
    list.append(el("li", {}, `${u === ANY ? "Any other distributor" : nameOf(u)} — ${category === "TRADES" ? "your trades" : "your consumption"}: ${before} → ${describe(next, category)}`));
  }
  $("hh-confirm").showModal();
}

async function apply() {
  $("hh-confirm").close();
  const status = $("hh-pref-status");
  const preferences = [...pending].map(([key, v]) => {
    const [u, category] = key.split("|");
    return { ...(u === ANY ? {} : { utility: u }), category, allowed: v.allowed, resolution: v.allowed ? v.resolution : category === "TRADES" ? "NONE" : v.resolution, expiresAt: v.expiresAt };
  });
  await setBusy($("hh-review"), async () => {
    setStatus(status, "Signing your change for BlockPRI…");
    const { json } = await api("POST", `/v1/consumers/${session.address}/preferences`, { preferences });
    const r = (await signAndRelay(json.tx, `/v1/consumers/${session.address}/preferences/relay`)).json;
    if (r.status !== 1) return setStatus(status, `BlockPRI refused the change (transaction ${r.txHash} reverted).`, "error");
    setStatus(status, `Recorded on BlockPRI in block ${r.blockNumber}. Waiting for BlockSEC to follow…`);
    await loadPreferences();
    await followMirror(status, r.blockNumber);
  });
}

async function followMirror(status, block) {
  for (let i = 0; i < 120; i++) {
    if (BigInt(prefs.mirrorVersion) >= BigInt(prefs.version)) {
      setStatus(status, `Recorded on BlockPRI in block ${block}; BlockSEC follows (version ${prefs.version}): storage and access now obey it.`, "ok");
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
    prefs = (await api("GET", `/v1/consumers/${session.address}/preferences`)).json;
    renderMirror();
  }
  setStatus(status, `Recorded on BlockPRI in block ${block}; BlockSEC has not followed yet (the federation relays it; look again in a minute).`, "warn");
}

function renderMirror() {
  const same = BigInt(prefs.mirrorVersion) >= BigInt(prefs.version);
  $("hh-mirror").textContent = same ? `BlockPRI and BlockSEC agree (version ${prefs.version}).` : `BlockSEC is at version ${prefs.mirrorVersion} of ${prefs.version}: the federation is relaying your last change.`;
  $("hh-mirror").className = same ? "ok" : "warn";
}

// ------------------------------------------------------------------ access history
async function loadAccessHistory() {
  const { json } = await api("GET", `/v1/consumers/${session.address}/access-history`);
  const v = $("hh-history-verdict");
  v.textContent = json.ok ? `Verified against BlockSEC's AccessLedger at block ${json.auditedAtBlock}: ${json.count} attempts, none missing or altered.` : `Verification problems: ${json.problems.map((p) => p.message).join("; ")}`;
  v.className = json.ok ? "ok" : "error";
  const list = $("hh-history");
  list.innerHTML = "";
  for (const e of [...json.entries].reverse()) {
    const what = e.category === "CONSUMPTION" ? `consumption (${RES_WORDS[e.resolution] ?? e.resolution})` : e.category.toLowerCase().replace(/_/g, " ");
    const period = e.category === "CONSUMPTION" || e.category === "TRADES" ? ` from ${fmtDate(e.from)} to ${fmtDate(Math.min(e.to, e.timestamp))}` : "";
    list.append(
      el("li", { class: e.granted ? "granted" : "denied", "data-index": String(e.index) },
        el("strong", {}, e.granted ? "Granted" : "Denied"),
        ` ${fmtDate(e.timestamp, true)} — ${nameOf(e.requester)} asked for ${what}${period}`,
        e.granted ? "" : ` (${e.reason.replace(/_/g, " ").toLowerCase()})`,
        el("span", { class: "meta" }, ` · entry #${e.index}, block ${e.blockNumber}${json.ok ? " · verified" : ""}`)),
    );
  }
  if (json.entries.length === 0) list.append(el("li", {}, "Nobody has asked for your data yet."));
}

// ------------------------------------------------------------------ demand response
const ACTION_WORDS = { on: "switched on", off: "switched off", charge: "charging", discharge: "discharging", defer: "deferred", auto: "back to your own use" };

async function loadDemandResponse() {
  const { json } = await api("GET", `/v1/consumers/${session.address}/demand-response?limit=50`);
  table(
    $("hh-dr"),
    ["From (meter time)", "Appliance", "What", "Why"],
    json.actions.map((a) => [formatTime(a.atMs, "15min"), a.device.replace("_", " "), ACTION_WORDS[a.action] ?? a.action, a.ruleId === null ? "no rule holds any more" : `rule ${a.ruleId}${a.drEventId ? `, demand-response event #${a.drEventId}` : ""}${a.price !== null ? `, price ${a.price.toFixed(2)} ¢/kWh` : ""}`]),
    "Your rules have not acted yet (or you set none).",
  );
}

// ------------------------------------------------------------------ alerts
async function loadAlerts() {
  const { json } = await api("GET", `/v1/consumers/${session.address}/alerts?limit=50`);
  $("hh-alerts-meters").textContent = json.meters.length ? `Meter${json.meters.length > 1 ? "s" : ""} ${json.meters.join(", ")}.` : "No meter has reported for you yet.";
  table($("hh-alerts"), ["When", "Meter", "What", "Status"], json.alerts.map((a) => [new Date(a.at).toLocaleString(), String(a.meterId), a.message, a.acknowledged ? "handled by the operator" : "open"]), "No alerts: your meter's readings all checked out.");
}

export function wireHousehold() {
  $("hh-bin").onchange = renderEnergy;
  $("hh-csv").onclick = exportCsv;
  $("hh-json").onclick = exportJson;
  $("hh-review").onclick = review;
  $("hh-apply").onclick = () => apply().catch((e) => setStatus($("hh-pref-status"), e.message, "error"));
  $("hh-cancel").onclick = () => $("hh-confirm").close();
  $("hh-add").onclick = addUtility;
  $("hh-discard").onclick = () => {
    pending = new Map();
    renderMatrix();
  };
  window.addEventListener("resize", () => opened.length && renderEnergy());
}
