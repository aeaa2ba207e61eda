// The gateway's HTTP API: one table of routes from which the express handlers, the ajv
// validators and the OpenAPI 3.1 document are all derived.
import express, { type Request, type Response } from "express";
import Ajv2020 from "ajv/dist/2020";
import path from "node:path";
import { getAddress } from "ethers";
import type { GatewayMetrics } from "../metrics";
import type { QueueDepth } from "../poller";
import type { GridAggregator } from "../realtime";
import { Category, RESOLUTION_NAMES } from "../resolution";
import type { Alert, AlertKind, GatewayStore, OutboxRecord, TradingAccountLink } from "../store";
import { CustodyUnavailableError, ForbiddenError, GatewayError, NotFoundError, ValidationError, isGatewayError, type GatewayErrorCode } from "../errors";
import { type NonceStore, verifySignedRequest, AUTH_HEADERS } from "./auth";
import { rpcFailure, type AccessRequestInput, type ApiChainOps, type PreferenceInput } from "./chainOps";
import * as S from "./schemas";

export interface MeterStatusView {
  meterId: number;
  endpoint: string;
  lastSeq: number;
  lastPollAt: number;
  lastOkAt: number;
  consecutiveFailures: number;
  silent: boolean;
  drifting: boolean;
  lastError: string | null;
  counters: Record<string, number>;
}

export interface ApiDependencies {
  store: GatewayStore;
  chain: ApiChainOps;
  nonces: NonceStore;
  grid: GridAggregator;
  metrics: GatewayMetrics;
  meters(): Promise<MeterStatusView[]>;
  queue(): Promise<QueueDepth>;
  anchorStats(): Record<string, unknown>;
  health(): Promise<{ ok: boolean; checks: Record<string, boolean | string> }>;
  /** Addresses with the operator role (the gateway's own operations staff). */
  operators: readonly string[];
  maxSkewMs?: number;
  /** Serve the portal's static files from this directory. */
  portalDir?: string;
  /** Households' trading accounts (absent when the gateway seals no trades: no key custody). */
  tradingAccounts?: TradingAccounts;
}

/** What the API needs of the trade sealer. */
export interface TradingAccounts {
  link(consumer: string, account: string, signature: string): Promise<TradingAccountLink>;
  unlink(consumer: string, account: string): Promise<boolean>;
  accountsOf(consumer: string): Promise<TradingAccountLink[]>;
}

function tradingAccounts(d: ApiDependencies): TradingAccounts {
  if (!d.tradingAccounts) throw new CustodyUnavailableError("this gateway seals no trades (it has no KeyCustody configured)");
  return d.tradingAccounts;
}

interface Call {
  caller: string;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

type Schema = Record<string, unknown>;

interface Route {
  method: "get" | "post";
  path: string;
  summary: string;
  tag: "system" | "consumer" | "utility" | "court" | "operator";
  auth: boolean;
  roles: string;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  response: Schema;
  authorize?: (c: Call, d: ApiDependencies) => Promise<void>;
  handler: (c: Call, d: ApiDependencies, res: Response) => Promise<unknown>;
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
      return { readings: await recordViews(d, recs) };
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
    response: { type: "object", properties: { entry: { type: "object" }, readings: { type: "array", items: S.readingRecord }, keys: { type: "array", items: { type: "object" } }, releases: { type: "array", items: { type: "object" } } } },
    handler: async (c, d, res) => {
      // Re-checked on every call, never cached: a revocation ends what this route serves.
      res.setHeader("Cache-Control", "no-store");
      const entry = await d.chain.verifiedEntry(getAddress(c.params.address), Number(c.params.index));
      if (!entry) throw new NotFoundError(`access entry ${c.params.index} of ${c.params.address}`);
      if (!entry.granted || entry.requester !== c.caller) throw new ForbiddenError(c.caller, `use access entry ${entry.index} (${entry.granted ? "granted to another requester" : `denied: ${entry.reason}`})`);
      if ((entry.category === "CONSUMPTION" || entry.category === "TRADES") && !(await d.chain.permitsNow(entry))) throw new ForbiddenError(c.caller, `use access entry ${entry.index}: the consumer's consent no longer holds`);
      const { keys, releases } = await d.chain.grantKeys(entry);
      return { entry, readings: await grantedReadings(d, entry), keys, releases };
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
      const q = c.query as { limit?: number; meterId?: number; kind?: AlertKind };
      const alerts: Alert[] = await d.store.alerts({ limit: q.limit ?? 100, ...(q.meterId !== undefined ? { meterId: q.meterId } : {}), ...(q.kind ? { kind: q.kind } : {}) });
      return { alerts };
    },
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

async function grantedReadings(d: ApiDependencies, entry: { consumer: string; category: string; resolution: string; from: number; to: number; timestamp: number }) {
  if (entry.category !== "CONSUMPTION" && entry.category !== "TRADES") return [];
  const recs = await d.store.consumerRecords(entry.consumer, entry.from * 1000, Math.min(entry.to, entry.timestamp) * 1000 + 1, 5000);
  const max = RES_ORDER.indexOf(entry.resolution);
  // Anchored only (what BlockSEC holds), of the granted category, and readings no finer than granted.
  const trades = entry.category === "TRADES";
  return recordViews(d, recs.filter((r) => r.status === "anchored" && (trades ? r.category === Category.TRADES : r.category === Category.CONSUMPTION && r.resolution <= max)));
}

function jsonSafe(o: unknown): unknown {
  return JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/**
 * The OpenAPI 3.1 document of the API, derived from {@link ROUTES}.
 * @example
 * openApiDocument("http://127.0.0.1:8080").paths["/v1/me"]
 */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const system = {
    "/healthz": { get: { summary: "Liveness and dependencies", tags: ["system"], responses: { "200": { description: "healthy" }, "503": { description: "a dependency is down" } } } },
    "/metrics": { get: { summary: "Prometheus metrics", tags: ["system"], responses: { "200": { description: "text exposition format", content: { "text/plain": {} } } } } },
    "/openapi.json": { get: { summary: "This document", tags: ["system"], responses: { "200": { description: "OpenAPI 3.1" } } } },
  };
  Object.assign(paths, system);
  for (const r of ROUTES) {
    const parameters: unknown[] = [];
    const p = r.params as { properties?: Record<string, unknown> } | undefined;
    for (const [name, schema] of Object.entries(p?.properties ?? {})) parameters.push({ name, in: "path", required: true, schema });
    const q = r.query as { properties?: Record<string, unknown> } | undefined;
    for (const [name, schema] of Object.entries(q?.properties ?? {})) parameters.push({ name, in: "query", required: false, schema });
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      description: `Authorized: ${r.roles}.`,
      parameters,
      security: r.auth ? [{ walletSignature: [] }] : [],
      responses: {
        "200": { description: "OK", content: { "application/json": { schema: r.response } } },
        "400": { description: "Invalid input: the schema errors", content: { "application/json": { schema: S.errorResponse } } },
        "401": { description: "Missing, stale, replayed or wrong signature", content: { "application/json": { schema: S.errorResponse } } },
        "403": { description: "The caller's role does not allow it (for access requests: denied and recorded on the ledger)", content: { "application/json": { schema: S.errorResponse } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: r.body } } };
    (paths[r.path] ??= {})[r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Sidegrid meter gateway API",
      version: "1.0.0",
      description:
        "Every call except /healthz, /metrics and /openapi.json carries an EIP-191 wallet signature over `sidegrid-api/v1\\n<METHOD>\\n<path?query>\\n<keccak256(body)>\\n<timestamp ms>\\n<nonce>` in the headers x-sidegrid-address, x-sidegrid-timestamp, x-sidegrid-nonce, x-sidegrid-signature. Timestamps are accepted within ±2 minutes; a nonce is accepted once.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    components: {
      securitySchemes: {
        walletSignature: { type: "apiKey", in: "header", name: AUTH_HEADERS.signature, description: "EIP-191 signature; see info.description for the signed text and the other headers" },
      },
    },
    paths,
  };
}

/** HTTP status per error code; anything else is a 500. */
const HTTP_STATUS: Partial<Record<GatewayErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  AUTH_FAILED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  GRANT_NOT_RELEASED: 409,
  TX_REJECTED: 422,
  LEDGER_FAILED: 502,
  CHAIN_UNAVAILABLE: 503,
  CUSTODY_UNAVAILABLE: 503,
  LINK_REFUSED: 403,
  LINK_CONFLICT: 409,
};

/** Socket-level failures and ethers' own network/timeout codes. */
function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE", "NETWORK_ERROR", "SERVER_ERROR", "TIMEOUT"].includes(code);
}

/**
 * Builds the express app of the gateway API.
 * @example
 * const app = createApiApp(deps); app.listen(8080);
 */
export function createApiApp(d: ApiDependencies): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const ajvQuery = new Ajv2020({ allErrors: true, strict: false, coerceTypes: true });
  const raw = express.raw({ type: () => true, limit: "512kb" });

  const send = (res: Response, status: number, body: unknown) => {
    res.status(status).json(body);
  };
  const fail = (res: Response, thrown: unknown) => {
    // A node that cannot be reached surfaces from any read as an ethers/socket error: one clear 503.
    const e = !isGatewayError(thrown) && isUnreachable(thrown) ? rpcFailure("a chain node", thrown) : thrown;
    const status = isGatewayError(e) ? (HTTP_STATUS[e.code] ?? 500) : 500;
    const err = e as GatewayError & { errors?: unknown };
    send(res, status, { error: { code: isGatewayError(e) ? e.code : "INTERNAL", message: isGatewayError(e) ? e.shortMessage : "internal error", ...(err.errors ? { errors: err.errors } : {}), ...(isGatewayError(e) && e.details ? { details: e.details } : {}) } });
  };

  app.get("/healthz", async (_req, res) => {
    try {
      const h = await d.health();
      send(res, h.ok ? 200 : 503, h);
    } catch (e) {
      send(res, 503, { ok: false, error: (e as Error).message });
    }
  });
  app.get("/metrics", async (_req, res) => {
    res.set("content-type", d.metrics.registry.contentType);
    res.end(await d.metrics.registry.metrics());
  });
  app.get("/openapi.json", (req, res) => send(res, 200, openApiDocument(`${req.protocol}://${req.get("host")}`)));

  for (const r of ROUTES) {
    const vParams = r.params ? ajv.compile(r.params) : undefined;
    const vQuery = ajvQuery.compile(r.query ?? { type: "object", additionalProperties: false });
    const vBody = r.body ? ajv.compile(r.body) : undefined;
    const expressPath = r.path.replace(/\{(\w+)\}/g, ":$1");
    app[r.method](expressPath, raw, async (req: Request, res: Response) => {
      const routeLabel = r.path;
      try {
        const bodyBytes: Uint8Array = Buffer.isBuffer(req.body) ? req.body : new Uint8Array(0);
        const caller = await verifySignedRequest({ method: req.method, path: req.originalUrl, body: bodyBytes, headers: req.headers, nonces: d.nonces, ...(d.maxSkewMs !== undefined ? { maxSkewMs: d.maxSkewMs } : {}) });
        const params = { ...(req.params as Record<string, string>) };
        const query: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
        if (vParams && !vParams(params)) throw new ValidationError(vParams.errors ?? []);
        if (!vQuery(query)) throw new ValidationError(vQuery.errors ?? []);
        let body: unknown = undefined;
        if (vBody) {
          try {
            body = JSON.parse(Buffer.from(bodyBytes).toString("utf8") || "null");
          } catch {
            throw new ValidationError([{ instancePath: "", keyword: "json", message: "body is not valid JSON", params: {} }]);
          }
          if (!vBody(body)) throw new ValidationError(vBody.errors ?? []);
        }
        const call: Call = { caller, params, query, body };
        if (r.authorize) await r.authorize(call, d);
        const out = await r.handler(call, d, res);
        send(res, res.statusCode === 200 ? 200 : res.statusCode, jsonSafe(out));
        d.metrics.apiRequests.inc({ route: routeLabel, status: String(res.statusCode) });
      } catch (e) {
        fail(res, e);
        d.metrics.apiRequests.inc({ route: routeLabel, status: String(res.statusCode) });
      }
    });
  }
  if (d.portalDir) {
    // The portal's two libraries come from the gateway's own dependencies (pnpm keeps them
    // under node_modules/.pnpm, hence dotfiles allowed for these two fixed paths).
    const vendor = { dotfiles: "allow" as const };
    app.get("/vendor/ethers.umd.min.js", (_req, res) => res.sendFile(path.resolve(path.dirname(require.resolve("ethers")), "..", "dist", "ethers.umd.min.js"), vendor));
    app.get("/vendor/nacl-fast.min.js", (_req, res) => res.sendFile(require.resolve("tweetnacl/nacl-fast.min.js"), vendor));
    app.use("/", express.static(d.portalDir, { index: "index.html" }));
  }
  app.use((_req, res) => send(res, 404, { error: { code: "NOT_FOUND", message: "no such route" } }));
  return app;
}

export const PORTAL_DIR = path.join(__dirname, "..", "..", "portal");
