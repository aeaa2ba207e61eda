// The operator's view: the fleet, queues and open alerts, pushed live (server-sent events), with
// alerts acknowledged here.
import { api, stream } from "./api.js";
import { $, el, setStatus, table } from "./ui.js";

let controller = null;
let updates = 0;

function render(d) {
  updates++;
  $("op-live").textContent = `Live · update ${updates} at ${new Date(d.at).toLocaleTimeString()}`;
  $("op-live").dataset.updates = String(updates);
  const q = d.queue ?? {};
  const a = d.anchor ?? {};
  table($("op-queue"), ["Outbox waiting", "Polls waiting", "Polls active", "Polls failed", "Anchored", "Anchor txs", "Anchor errors"], [[String(d.outboxPending), String(q.waiting ?? ""), String(q.active ?? ""), String(q.failed ?? ""), String(a.anchored ?? ""), String(a.txs ?? ""), String(a.errors ?? "")]]);
  table(
    $("op-meters"),
    ["Meter", "Last sequence", "Last good read", "Failures", "Flags", "Last error"],
    d.meters.map((m) => [String(m.meterId), String(m.lastSeq), m.lastOkAt ? new Date(m.lastOkAt).toLocaleTimeString() : "never", String(m.consecutiveFailures), [m.silent && "silent", m.drifting && "clock drift"].filter(Boolean).join(", ") || "ok", m.lastError ?? ""]),
    "No meters configured.",
  );
  renderAlerts(d.alerts);
}

function renderAlerts(alerts) {
  table(
    $("op-alerts"),
    ["When", "Meter", "Kind", "Severity", "Message", ""],
    alerts.map((a) => {
      const b = el("button", { type: "button", class: "secondary", "data-alert": a.id, "aria-label": `Acknowledge alert ${a.kind} of meter ${a.meterId}` }, "Acknowledge");
      b.onclick = () => ack(a.id, b);
      return [new Date(a.at).toLocaleString(), String(a.meterId), a.kind, a.severity, a.message, b];
    }),
    "No open alerts.",
  );
}

async function ack(id, button) {
  button.disabled = true;
  try {
    const { json } = await api("POST", `/v1/operator/alerts/${id}/ack`);
    button.replaceWith(el("span", { class: "ok" }, `acknowledged ${new Date(json.alert.acknowledged.at).toLocaleTimeString()}`));
  } catch (e) {
    button.disabled = false;
    setStatus($("op-status"), e.message, "error");
  }
}

export function startOperator() {
  stopOperator();
  controller = new AbortController();
  setStatus($("op-status"), "Connecting to the live feed…");
  stream("/v1/operator/events", (event, data) => {
    if (event === "fleet") {
      setStatus($("op-status"), "");
      render(data);
    } else if (event === "problem") setStatus($("op-status"), data.message, "warn");
  }, controller.signal).catch((e) => {
    if (e.name !== "AbortError") setStatus($("op-status"), `Live feed stopped: ${e.message}`, "error");
  });
}

export function stopOperator() {
  if (controller) controller.abort();
  controller = null;
}
