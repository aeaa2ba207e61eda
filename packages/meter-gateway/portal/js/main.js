// The portal's shell: sign-in (browser wallet or a listed dev account), the views each role
// has, and navigation between them.
/* global ethers */
import { loadDevAccounts, nameOf, session, signIn, signOut } from "./api.js";
import { loadHousehold, wireHousehold } from "./household.js";
import { loadUtility, wireUtility } from "./utility.js";
import { loadCourt, wireCourt } from "./court.js";
import { startOperator, stopOperator } from "./operator.js";
import { $, el, setStatus } from "./ui.js";

const VIEWS = { household: loadHousehold, utility: loadUtility, court: async () => loadCourt(), operator: async () => startOperator() };

function rolesOf(me) {
  const r = [];
  if (me.distributor) r.push("utility");
  if (me.auditor) r.push("court");
  if (me.operator) r.push("operator");
  if (r.length === 0) r.push("household");
  return r;
}

async function show(view) {
  for (const s of document.querySelectorAll("main > section.view")) s.hidden = s.id !== view;
  for (const b of document.querySelectorAll("#views button")) b.setAttribute("aria-current", b.dataset.view === view ? "page" : "false");
  if (view !== "operator") stopOperator();
  document.body.dataset.view = view;
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  const h = $(view)?.querySelector("h2");
  if (h) h.focus({ preventScroll: true });
  await VIEWS[view]?.().catch((e) => setStatus($("global-status"), e.message, "error"));
  document.body.dataset.loaded = view;
}

async function enter(signer) {
  setStatus($("signin-status"), "Signing in…");
  const me = await signIn(signer);
  const roles = rolesOf(me);
  $("who").textContent = `${nameOf(me.address)} · ${roles.join(", ")}`;
  $("signout").hidden = false;
  $("signin").hidden = true;
  const nav = $("views");
  nav.innerHTML = "";
  for (const v of roles) {
    const b = el("button", { type: "button", "data-view": v }, { household: "My home", utility: "Utility", court: "Court", operator: "Operator" }[v]);
    b.onclick = () => show(v);
    nav.append(b);
  }
  nav.hidden = false;
  const wanted = location.hash.slice(1);
  await show(roles.includes(wanted) ? wanted : roles[0]);
}

function leave() {
  stopOperator();
  signOut();
  for (const s of document.querySelectorAll("main > section.view")) s.hidden = true;
  $("views").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("who").textContent = "Not signed in";
  document.body.dataset.view = "signin";
  document.body.dataset.loaded = "";
}

async function init() {
  wireHousehold();
  wireUtility();
  wireCourt();
  $("signout").onclick = leave;
  $("wallet").onclick = async () => {
    if (!window.ethereum) return setStatus($("signin-status"), "No browser wallet found in this browser.", "error");
    try {
      await enter(await new ethers.BrowserProvider(window.ethereum).getSigner());
    } catch (e) {
      setStatus($("signin-status"), e.message, "error");
    }
  };
  const dev = await loadDevAccounts();
  if (dev.length > 0) {
    const sel = $("dev-account");
    for (const a of dev) sel.append(el("option", { value: a.address }, a.label));
    $("dev").hidden = false;
    $("dev-signin").onclick = async () => {
      const a = dev.find((x) => x.address === sel.value);
      try {
        await enter(new ethers.Wallet(a.privateKey));
      } catch (e) {
        setStatus($("signin-status"), e.message, "error");
      }
    };
  }
  $("wallet").disabled = false;
  document.body.dataset.ready = "true";
}

init().catch((e) => setStatus($("signin-status"), e.message, "error"));
