// The utility's view: logged access requests (one household or many), the federation's key
// release as it happens, the granted readings decrypted here, and grid aggregates.
/* global ethers */
import { api, boxKeys, nameOf, session, signAndRelay } from "./api.js";
import { keysFromReleases, openRecord } from "./keys.js";
import { binned, csv, download, drawChart, energyIntervals, formatTime } from "./energy.js";
import { $, el, guarded, setBusy, setStatus, table } from "./ui.js";

const BIN_OF = { QUARTER_HOURLY: "15min", HOURLY: "hour", DAILY: "day", MONTHLY: "month" };
let lastRead = null; // { consumer, entry, items }

function households() {
  const typed = $("ut-consumers").value.split(/[\s,;]+/).filter(Boolean);
  const picked = [...document.querySelectorAll("#ut-known input:checked")].map((i) => i.value);
  return [...new Set([...typed, ...picked].map((a) => a.trim()))];
}

async function requestAll() {
  const list = households();
  const out = $("ut-results");
  out.innerHTML = "";
  if (list.length === 0) return setStatus($("ut-status"), "Name at least one household (an address, or tick one of the list).", "error");
  const bad = list.filter((a) => !/^0x[0-9a-fA-F]{40}$/.test(a));
  if (bad.length) return setStatus($("ut-status"), `Not an address: ${bad.join(", ")}`, "error");
  const resolution = $("ut-resolution").value;
  const from = Math.floor(Date.parse(`${$("ut-from").value}T00:00:00Z`) / 1000);
  const to = Math.floor(Date.parse(`${$("ut-to").value}T23:59:59Z`) / 1000);
  if (!(from < to)) return setStatus($("ut-status"), "The period's start must be before its end.", "error");
  const box = await boxKeys();
  const requesterKey = ethers.hexlify(box.publicKey);
  setStatus($("ut-status"), `Requesting ${list.length} household(s); each request is recorded on BlockSEC, granted or denied.`);
  for (const consumer of list) {
    const li = el("li", { "data-consumer": consumer.toLowerCase() }, el("strong", {}, nameOf(consumer)), " ", el("span", { class: "outcome" }, "requesting…"));
    out.append(li);
    const outcome = li.querySelector(".outcome");
    try {
      const { json: prep } = await api("POST", "/v1/access-requests", { consumer, category: "CONSUMPTION", resolution, from, to, requesterKey });
      const r = await signAndRelay(prep.tx, "/v1/access-requests/relay");
      if (r.json.viaWallet) {
        outcome.textContent = `sent through your wallet (${r.json.txHash}); the entry is on BlockSEC once mined.`;
        continue;
      }
      if (r.status === 403) {
        const e = r.json.error.entry;
        outcome.textContent = `denied (${e.reason.replace(/_/g, " ").toLowerCase()}), recorded as entry #${e.index} of the household's access log`;
        li.className = "denied";
        continue;
      }
      const entry = r.json.entry;
      li.className = "granted";
      outcome.textContent = `granted as entry #${entry.index}; waiting for the federation to release the keys…`;
      const read = el("button", { type: "button", class: "secondary" }, "Show readings");
      li.append(" ", read);
      read.onclick = guarded($("ut-status"), () => showGrant(consumer, entry.index, li));
      await showGrant(consumer, entry.index, li);
    } catch (e) {
      outcome.textContent = `failed: ${e.message}`;
      li.className = "error";
    }
  }
  setStatus($("ut-status"), "Done.", "ok");
}

/** Polls the grant until every covered key has m released shares, then opens the records here. */
async function showGrant(consumer, index, li) {
  const outcome = li.querySelector(".outcome");
  const box = await boxKeys();
  let g = null;
  let rel = null;
  for (let i = 0; i < 120; i++) {
    g = (await api("GET", `/v1/access/${consumer}/${index}/readings`)).json;
    rel = await keysFromReleases({ consumer, entryIndex: index, keys: g.keys, releases: g.releases, thresholds: g.thresholds ?? {} }, box);
    const done = rel.status.filter((s) => s.opened).length;
    const members = new Set(rel.status.flatMap((s) => s.releasedBy)).size;
    outcome.textContent = `granted as entry #${index}: ${done} of ${rel.status.length} key(s) released (shares from ${members} federation member(s))`;
    if (rel.status.length > 0 && done === rel.status.length) break;
    if (g.readings.length > 0 && rel.status.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const items = await Promise.all(g.readings.map(async (record) => ({ record, opened: await openRecord(record, rel.keys, null).catch(() => null) })));
  lastRead = { consumer, entry: g.entry, items };
  const ok = items.filter((x) => x.opened).length;
  outcome.textContent += ` — ${ok} of ${items.length} records opened in this page`;
  li.dataset.opened = String(ok);
  renderRead();
}

function renderRead() {
  if (!lastRead) return;
  const { consumer, entry, items } = lastRead;
  $("ut-read").hidden = false;
  $("ut-read-title").textContent = `${nameOf(consumer)}: ${entry.resolution.replace("_", "-").toLowerCase()} readings granted by entry #${entry.index}`;
  const bin = BIN_OF[entry.resolution] ?? "hour";
  const rows = binned(energyIntervals(items), bin);
  drawChart($("ut-chart"), rows, bin);
  table($("ut-table"), ["Period", "Import kWh", "Export kWh"], rows.slice(-96).reverse().map((r) => [formatTime(r.t, bin), r.importKwh.toFixed(3), r.exportKwh.toFixed(3)]), "No readings in this grant's period yet.");
  $("ut-csv").onclick = () =>
    download(`sidegrid-${consumer}-entry${entry.index}.csv`, csv(["period_start_utc", "import_kwh", "export_kwh"], rows.map((r) => [new Date(r.t).toISOString(), r.importKwh.toFixed(3), r.exportKwh.toFixed(3)])), "text/csv");
}

async function loadGrid() {
  const { json } = await api("GET", "/v1/operator/grid");
  const p = json.periods.slice(0, 8);
  $("ut-grid-now").textContent = `${json.instantaneous.meters} meters report now; net power ${(json.instantaneous.netPowerW / 1000).toFixed(2)} kW (sums only: nothing per household).`;
  table($("ut-grid"), ["Period (UTC)", "Meters", "Import kWh", "Export kWh", "Mean import kW"], p.map((x) => [formatTime(x.start, "15min"), String(x.meters), (x.importWh / 1000).toFixed(2), (x.exportWh / 1000).toFixed(2), (x.meanImportW / 1000).toFixed(2)]), "No interval aggregated yet.");
}

export async function loadUtility() {
  const known = $("ut-known");
  known.innerHTML = "";
  for (const a of session.devAccounts.filter((x) => x.role === "household")) {
    const id = `ut-k-${a.address.slice(2, 10)}`;
    known.append(el("label", { for: id }, el("input", { type: "checkbox", id, value: a.address }), ` ${a.label.replace(/ \(.*\)$/, "")}`));
  }
  const today = new Date();
  $("ut-to").value ||= today.toISOString().slice(0, 10);
  $("ut-from").value ||= new Date(today.getTime() - 30 * 86_400_000).toISOString().slice(0, 10);
  await loadGrid().catch((e) => setStatus($("ut-grid-now"), e.message, "error"));
}

export function wireUtility() {
  $("ut-form").onsubmit = guarded($("ut-status"), () => setBusy($("ut-submit"), requestAll));
  $("ut-grid-refresh").onclick = guarded($("ut-grid-now"), loadGrid);
  window.addEventListener("resize", renderRead);
}
