// The court's view: a consumer's complete access history, verified against the AccessLedger, as
// a report to print or to download and re-verify with `sidegrid audit --report <file>`.
import { api, nameOf, session } from "./api.js";
import { download } from "./energy.js";
import { $, el, fmtDate, setBusy, setStatus, table } from "./ui.js";

let report = null;

async function audit() {
  const consumer = $("ct-consumer").value.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(consumer)) return setStatus($("ct-verdict"), "Enter the consumer's address (0x and 40 hex digits).", "error");
  setStatus($("ct-verdict"), "Auditing: rebuilding the chain of entries from BlockSEC's events…");
  report = (await api("GET", `/v1/courts/consumers/${consumer}/access-history`)).json;
  report.retrievedAt = new Date().toISOString();
  report.retrievedBy = session.address;
  const r = report;
  $("ct-report").hidden = false;
  setStatus(
    $("ct-verdict"),
    r.ok ? `Verified: ${r.count} entries; every one matches the hash the AccessLedger holds, and the chain ends at head ${r.head}.` : `Not verified: ${r.problems.map((p) => p.message).join("; ")}`,
    r.ok ? "ok" : "error",
  );
  $("ct-checked").textContent = `Checked against AccessLedger ${r.accessLedger} on chain ${r.chainId} at block ${r.auditedAtBlock}; report retrieved ${r.retrievedAt} by ${r.retrievedBy}.`;
  $("ct-subject").textContent = `Consumer ${nameOf(r.consumer)} — ${r.consumer}`;
  $("ct-checkpoint").textContent = checkpointLine(r.checkpoint);
  $("ct-checkpoint").className = r.checkpoint ? (r.checkpoint.ok ? "ok" : "error") : "meta";
  table($("ct-summary"), ["Requester", "Granted", "Denied"], r.summary.requesters.map((x) => [nameOf(x.requester), String(x.granted), String(x.denied)]), "No requests.");
  table(
    $("ct-entries"),
    ["#", "When (UTC)", "Requester", "What", "Outcome", "Block", "Transaction"],
    r.entries.map((e) => [String(e.index), fmtDate(e.timestamp, true), nameOf(e.requester), `${e.category}${e.resolution !== "NONE" ? ` / ${e.resolution}` : ""}`, e.granted ? "granted" : `denied: ${e.reason}`, String(e.blockNumber), el("code", { title: e.transactionHash ?? "" }, `${(e.transactionHash ?? "").slice(0, 12)}…`)]),
  );
  if (r.releases) {
    table($("ct-releases"), ["Entry", "Member", "Keys", "Block"], r.releases.map((x) => [String(x.entryIndex), nameOf(x.member), String(x.keyIds?.length ?? ""), String(x.blockNumber)]), "No key was released for this consumer.");
  }
}

/** What the federation's latest checkpoint says about the node that served this history. */
function checkpointLine(c) {
  if (!c) return "This gateway is not configured with the federation's checkpoints: re-verify the report with sidegrid audit --report, which checks them.";
  const cp = c.checkpoint;
  if (!cp) return "The federation has not checkpointed the AccessLedger yet.";
  const a = cp.attestation;
  const signed = a ? `signed by ${a.signers.length} federation member(s), ${a.threshold} needed${a.ok ? "" : ` — NOT attested: ${a.problems.join("; ")}`}` : "attestation not checked";
  // The node's own line says what differs; when it matches, the sentence says it all.
  const node = c.ok ? "" : ` ${c.endpoints.map((e) => e.message).join("; ")}`;
  return `Checkpoint #${cp.index} of the AccessLedger at BlockSEC block ${cp.secBlock} (root ${cp.root.slice(0, 12)}…, ${cp.entries} entries of ${cp.consumers} consumers), ${signed}. ${c.ok ? "This node's log matches it." : "This node's log does NOT match it."}${node}`;
}

export function wireCourt() {
  const known = $("ct-known");
  $("ct-form").onsubmit = (ev) => {
    ev.preventDefault();
    setBusy($("ct-submit"), audit).catch((e) => setStatus($("ct-verdict"), e.message, "error"));
  };
  $("ct-print").onclick = () => window.print();
  $("ct-download").onclick = () => report && download(`sidegrid-audit-${report.consumer}-block${report.auditedAtBlock}.json`, JSON.stringify(report, null, 2), "application/json");
  return known;
}

export function loadCourt() {
  const dl = $("ct-known");
  dl.innerHTML = "";
  for (const a of session.devAccounts.filter((x) => x.role === "household")) dl.append(el("option", { value: a.address }, a.label));
}
