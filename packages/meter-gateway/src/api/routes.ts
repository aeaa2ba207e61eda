// The API's route table: every route with its schemas, roles and handler. app.ts derives the
// express handlers, the ajv validators and the OpenAPI document from it.
import type { Response } from "express";
import { getAddress } from "ethers";
import { Category, RESOLUTION_NAMES } from "../resolution";
import type { Alert, AlertKind, OutboxRecord } from "../store";
import { demandResponseActions } from "../demandResponseLog";
import { CustodyUnavailableError, ForbiddenError, NotFoundError } from "../errors";
import type { AccessRequestInput, PreferenceInput } from "./chainOps";
import * as S from "./schemas";
import type { ApiDependencies, Call, Route, TradingAccounts } from "./types";

function tradingAccounts(d: ApiDependencies): TradingAccounts {
  if (!d.tradingAccounts) throw new CustodyUnavailableError("this gateway seals no trades (it has no KeyCustody configured)");
  return d.tradingAccounts;
}

const self = async (c: Call) => {
  if (getAddress(c.params.address) !== c.caller) throw new ForbiddenError(c.caller, `act for consumer ${c.params.address}`);
};
const operator = async (c: Call, d: ApiDependencies) => {
  if (!d.operators.some((o) => getAddress(o) === c.caller)) throw new ForbiddenError(c.caller, "use operator endpoints");
};
const auditor = async (c: Call, d: ApiDependencies) => {
  if (!(await d.chain.roles(c.caller)).auditor) throw new ForbiddenError(c.caller, "read access histories (AUDITOR role on BlockSEC required)");
};

async function recordViews(d: ApiDependencies, recs: readonly OutboxRecord[]) {
  return Promise.all(recs.map(async (r) => {
    const v = recordView(r);
    if (v.anchor) v.anchor = { ...v.anchor, proof: (await d.store.proofOf(r)) ?? [] };
    return v;
  }));
}

function recordView(r: OutboxRecord) {
  return {
    meterId: r.meterId,
    sequence: r.sequence,
    consumer: r.consumer,
    periodStart: r.periodStart,
    periodEnd: r.periodEnd,
    resolution: (RESOLUTION_NAMES[r.resolution] ?? "NONE").toUpperCase().replace("-", "_"),
    category: r.category === 0 ? "CONSUMPTION" : "TRADES",
    firstSeq: r.firstSeq,
    lastSeq: r.lastSeq,
    payload: r.payload,
    status: r.status,
    ...(r.anchor ? { anchor: r.anchor } : {}),
  };
}

const RES_ORDER = ["NONE", "MONTHLY", "DAILY", "HOURLY", "QUARTER_HOURLY"];

/** The route table: the API is exactly this list. */
export const ROUTES: Route[] = [
  {
    method: "get",
    path: "/v1/me",
    summary: "Who the signature says you are, and your roles",
    tag: "system",
    auth: true,
    roles: "any signed caller",
    response: { type: "object", properties: { address: S.ADDRESS, distributor: { type: "boolean" }, auditor: { type: "boolean" }, operator: { type: "boolean" } } },
    handler: async (c, d) => ({ address: c.caller, ...(await d.chain.roles(c.caller)), operator: d.operators.some((o) => getAddress(o) === c.caller) }),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/preferences",
    summary: "The consumer's preferences on BlockPRI",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    response: { type: "object" },
    authorize: self,
    handler: async (c, d) => d.chain.preferences(getAddress(c.params.address)),
  },
  {
    method: "post",
    path: "/v1/consumers/{address}/preferences",
    summary: "Prepare the unsigned PPC.setPreferences transaction for the consumer to sign",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    body: S.preferencesBody,
    response: { type: "object", properties: { tx: S.unsignedTx } },
    authorize: self,
    handler: async (c, d) => ({ tx: await d.chain.prepareSetPreferences(c.caller, (c.body as { preferences: PreferenceInput[] }).preferences) }),
  },
  {
    method: "post",
    path: "/v1/consumers/{address}/preferences/relay",
    summary: "Relay a preference transaction the consumer signed to BlockPRI",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    body: S.relayBody,
    response: { type: "object", properties: { txHash: S.BYTES32, blockNumber: { type: "integer" }, status: { type: "integer" } } },
    authorize: self,
    handler: async (c, d) => d.chain.relayPreferences(c.caller, (c.body as { signedTx: string }).signedTx),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/readings",
    summary: "The consumer's stored readings (encrypted to them), with anchors and Merkle proofs",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    query: S.readingsQuery,
    response: { type: "object", properties: { readings: { type: "array", items: S.readingRecord } } },
    authorize: self,
    handler: async (c, d) => {
      const q = c.query as { from?: number; to?: number; limit?: number };
      const recs = await d.store.consumerRecords(c.params.address, q.from ?? 0, q.to ?? Number.MAX_SAFE_INTEGER, q.limit ?? 1000);
      return { readings: await recordViews(d, recs.filter((r) => r.category === Category.CONSUMPTION)) };
    },
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/trades",
    summary: "The consumer's sealed trade log (one record per side of each of her trades, sealed under her trade keys), with anchors and proofs",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    query: S.readingsQuery,
    response: { type: "object", properties: { trades: { type: "array", items: S.readingRecord } } },
    authorize: self,
    handler: async (c, d) => {
      const q = c.query as { from?: number; to?: number; limit?: number };
      const recs = await d.store.consumerRecords(c.params.address, q.from ?? 0, q.to ?? Number.MAX_SAFE_INTEGER, q.limit ?? 1000);
      return { trades: await recordViews(d, recs.filter((r) => r.category === Category.TRADES)) };
    },
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/keys",
    summary: "The consumer's epoch keys on KeyCustody, each boxed to her X25519 key (and in shares to the federation): what opens her v2 readings",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    response: { type: "object", properties: { keys: { type: "array", items: { type: "object" } } } },
    authorize: self,
    handler: async (c, d) => ({ keys: await d.chain.consumerKeys(getAddress(c.params.address)) }),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/trading-accounts",
    summary: "The trading accounts the consumer linked to her household here (known to this gateway only)",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    response: { type: "object", properties: { accounts: { type: "array", items: { type: "object" } } } },
    authorize: self,
    handler: async (c, d) => ({ accounts: await tradingAccounts(d).accountsOf(getAddress(c.params.address)) }),
  },
  {
    method: "post",
    path: "/v1/consumers/{address}/trading-accounts",
    summary: "Link a BlockTST trading account to the consumer's household, so that her trades under it go into her sealed trade log where she permits trade monitoring; the account signs the link message",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    body: S.tradingAccountBody,
    response: { type: "object" },
    authorize: self,
    handler: async (c, d) => {
      const b = c.body as { account: string; signature: string };
      return tradingAccounts(d).link(c.caller, b.account, b.signature);
    },
  },
  {
    method: "post",
    path: "/v1/consumers/{address}/trading-accounts/unlink",
    summary: "Unlink a trading account: later trades under it are no longer sealed into her log",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    body: S.unlinkAccountBody,
    response: { type: "object", properties: { unlinked: { type: "boolean" } } },
    authorize: self,
    handler: async (c, d) => ({ unlinked: await tradingAccounts(d).unlink(c.caller, (c.body as { account: string }).account) }),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/access-log",
    summary: "Who asked for the consumer's data, granted or denied (BlockSEC AccessLedger)",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    response: { type: "object", properties: { entries: { type: "array", items: { type: "object" } } } },
    authorize: self,
    handler: async (c, d) => ({ entries: await d.chain.accessLog(getAddress(c.params.address)) }),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/access-history",
    summary: "The consumer's own access history, verified as a court verifies it (every entry against the hashes the AccessLedger holds)",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    response: { type: "object" },
    authorize: self,
    handler: async (c, d) => d.chain.audit(getAddress(c.params.address)),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/demand-response",
    summary: "What the consumer's demand-response rules did to her appliances, newest first (kept at this gateway only)",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    query: S.consumerAlertsQuery,
    response: { type: "object", properties: { actions: { type: "array", items: { type: "object" } } } },
    authorize: self,
    handler: async (c, d) => ({ actions: await demandResponseActions(d.store, c.params.address, (c.query as { limit?: number }).limit ?? 200) }),
  },
  {
    method: "get",
    path: "/v1/consumers/{address}/alerts",
    summary: "Tamper and health alerts of the consumer's own meters, newest first",
    tag: "consumer",
    auth: true,
    roles: "the consumer",
    params: S.consumerParams,
    query: S.consumerAlertsQuery,
    response: { type: "object", properties: { meters: { type: "array", items: { type: "integer" } }, alerts: { type: "array" } } },
    authorize: self,
    handler: async (c, d) => {
      // Her meter as BlockSEC binds it now, and any meter her stored records came from (a replaced one).
      const bound = await d.chain.meterOf(getAddress(c.params.address));
      const fromRecords = (await d.store.consumerRecords(c.params.address, 0, Number.MAX_SAFE_INTEGER, 500)).map((r) => r.meterId);
      const meters = [...new Set([...(bound !== undefined ? [bound] : []), ...fromRecords])].sort((a, b) => a - b);
      const alerts = meters.length === 0 ? [] : await d.store.alerts({ limit: (c.query as { limit?: number }).limit ?? 100, meterIds: meters });
      return { meters, alerts };
    },
  },
  {
    method: "post",
    path: "/v1/access-requests",
    summary: "Prepare the unsigned AccessLedger.requestAccess transaction for the utility to sign",
    tag: "utility",
    auth: true,
    roles: "any signed caller (the ledger decides)",
    body: S.accessRequestBody,
    response: { type: "object", properties: { tx: S.unsignedTx } },
    handler: async (c, d) => ({ tx: await d.chain.prepareAccessRequest(c.caller, c.body as AccessRequestInput) }),
  },
  {
    method: "post",
    path: "/v1/access-requests/relay",
    summary: "Relay a signed access request; on AccessGranted the stored records come back, on AccessDenied 403 (the denial is on the ledger)",
    tag: "utility",
    auth: true,
    roles: "any signed caller (the ledger decides)",
    body: S.relayBody,
    response: { type: "object", properties: { granted: { const: true }, entry: { type: "object" }, txHash: S.BYTES32, readings: { type: "array", items: S.readingRecord } } },
    handler: async (c, d, res) => {
      const { entry, txHash } = await d.chain.relayAccessRequest(c.caller, (c.body as { signedTx: string }).signedTx);
      if (!entry.granted) {
        res.status(403);
        return { error: { code: "ACCESS_DENIED", message: `access denied by the ledger: ${entry.reason}`, entry, txHash } };
      }
      return { granted: true, entry, txHash, readings: await grantedReadings(d, entry) };
    },
  },
  {
    method: "get",
    path: "/v1/access/{address}/{index}/readings",
    summary: "The records of a grant with the keys it covers and the members' releases (boxed to the requester): only for the requester of an AccessGranted entry whose consent still holds",
    tag: "utility",
    auth: true,
    roles: "the requester of a granted entry",
    params: S.accessEntryParams,
    response: { type: "object", properties: { entry: { type: "object" }, readings: { type: "array", items: S.readingRecord }, keys: { type: "array", items: { type: "object" } }, releases: { type: "array", items: { type: "object" } }, thresholds: { type: "object", description: "m per custody set index" } } },
    handler: async (c, d, res) => {
      // Re-checked on every call, never cached: a revocation ends what this route serves.
      res.setHeader("Cache-Control", "no-store");
      const entry = await d.chain.verifiedEntry(getAddress(c.params.address), Number(c.params.index));
      if (!entry) throw new NotFoundError(`access entry ${c.params.index} of ${c.params.address}`);
      if (!entry.granted || entry.requester !== c.caller) throw new ForbiddenError(c.caller, `use access entry ${entry.index} (${entry.granted ? "granted to another requester" : `denied: ${entry.reason}`})`);
      if ((entry.category === "CONSUMPTION" || entry.category === "TRADES") && !(await d.chain.permitsNow(entry))) throw new ForbiddenError(c.caller, `use access entry ${entry.index}: the consumer's consent no longer holds`);
      const { keys, releases, thresholds } = await d.chain.grantKeys(entry);
      return { entry, readings: await grantedReadings(d, entry), keys, releases, thresholds };
    },
  },
  {
    method: "get",
    path: "/v1/courts/consumers/{address}/access-history",
    summary: "A court's verified view of a consumer's complete access history",
    tag: "court",
    auth: true,
    roles: "AUDITOR on BlockSEC",
    params: S.consumerParams,
    response: { type: "object" },
    authorize: auditor,
    handler: async (c, d) => d.chain.audit(getAddress(c.params.address)),
  },
  {
    method: "get",
    path: "/v1/operator/meters",
    summary: "Meter status: last poll, sequence, failures, flags",
    tag: "operator",
    auth: true,
    roles: "operator",
    response: { type: "object", properties: { meters: { type: "array" } } },
    authorize: operator,
    handler: async (_c, d) => ({ meters: await d.meters() }),
  },
  {
    method: "get",
    path: "/v1/operator/alerts",
    summary: "Tamper and health alerts, newest first",
    tag: "operator",
    auth: true,
    roles: "operator",
    query: S.alertsQuery,
    response: { type: "object", properties: { alerts: { type: "array" } } },
    authorize: operator,
    handler: async (c, d) => {
      const q = c.query as { limit?: number; meterId?: number; kind?: AlertKind; open?: boolean };
      const alerts: Alert[] = await d.store.alerts({ limit: q.limit ?? 100, ...(q.meterId !== undefined ? { meterId: q.meterId } : {}), ...(q.kind ? { kind: q.kind } : {}), ...(q.open ? { open: true } : {}) });
      return { alerts };
    },
  },
  {
    method: "post",
    path: "/v1/operator/alerts/{id}/ack",
    summary: "Acknowledge an alert (recorded with who and when; the first acknowledgement stands)",
    tag: "operator",
    auth: true,
    roles: "operator",
    params: S.alertParams,
    response: { type: "object", properties: { alert: { type: "object" } } },
    authorize: operator,
    handler: async (c, d) => {
      const alert = await d.store.acknowledgeAlert(c.params.id, c.caller);
      if (!alert) throw new NotFoundError(`alert ${c.params.id}`);
      return { alert };
    },
  },
  {
    method: "get",
    path: "/v1/operator/events",
    summary: "Server-sent events: a `fleet` event (meters, queue, open alerts) every two seconds while the connection stays open",
    tag: "operator",
    auth: true,
    roles: "operator",
    response: { type: "string", description: "text/event-stream" },
    authorize: operator,
    handler: async (_c, d, res) => streamFleet(d, res),
  },
  {
    method: "get",
    path: "/v1/operator/queue",
    summary: "Polling queue depth, outbox and anchoring figures",
    tag: "operator",
    auth: true,
    roles: "operator",
    response: { type: "object" },
    authorize: operator,
    handler: async (_c, d) => ({ queue: await d.queue(), outboxPending: d.store.pendingCount, anchor: jsonSafe(d.anchorStats()) }),
  },
  {
    method: "get",
    path: "/v1/operator/grid",
    summary: "Real-time grid aggregates over all meters (never stored, nothing per consumer)",
    tag: "operator",
    auth: true,
    roles: "operator or distributor",
    response: { type: "object" },
    authorize: async (c, d) => {
      if (!d.operators.some((o) => getAddress(o) === c.caller) && !(await d.chain.roles(c.caller)).distributor) throw new ForbiddenError(c.caller, "read grid aggregates");
    },
    handler: async (_c, d) => d.grid.snapshot(),
  },
];

/** One `fleet` event now and every two seconds until the client goes; the handler returns at once. */
async function streamFleet(d: ApiDependencies, res: Response): Promise<void> {
  res.status(200);
  res.setHeader("content-type", "text/event-stream");
  res.setHeader("cache-control", "no-store");
  res.flushHeaders();
  let n = 0;
  let busy = false;
  const tick = async () => {
    if (busy || res.writableEnded) return;
    busy = true;
    try {
      const [meters, queue, alerts] = await Promise.all([d.meters(), d.queue(), d.store.alerts({ limit: 50, open: true })]);
      const data = jsonSafe({ seq: n++, at: Date.now(), meters, queue, outboxPending: d.store.pendingCount, anchor: d.anchorStats(), alerts });
      res.write(`event: fleet\nid: ${n}\ndata: ${JSON.stringify(data)}\n\n`);
    } catch (e) {
      res.write(`event: problem\ndata: ${JSON.stringify({ message: (e as Error).message })}\n\n`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 2000);
  res.on("close", () => clearInterval(timer));
  await tick();
}

async function grantedReadings(d: ApiDependencies, entry: { consumer: string; category: string; resolution: string; from: number; to: number; timestamp: number }) {
  if (entry.category !== "CONSUMPTION" && entry.category !== "TRADES") return [];
  const recs = await d.store.consumerRecords(entry.consumer, entry.from * 1000, Math.min(entry.to, entry.timestamp) * 1000 + 1, 5000);
  const max = RES_ORDER.indexOf(entry.resolution);
  // Anchored only (what BlockSEC holds), of the granted category, and readings no finer than granted.
  const trades = entry.category === "TRADES";
  return recordViews(d, recs.filter((r) => r.status === "anchored" && (trades ? r.category === Category.TRADES : r.category === Category.CONSUMPTION && r.resolution <= max)));
}

/** JSON without bigints (as decimal strings). */
export function jsonSafe(o: unknown): unknown {
  return JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}
