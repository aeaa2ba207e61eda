// The gateway's HTTP API: one table of routes from which the express handlers, the ajv
// validators and the OpenAPI 3.1 document are all derived.
import express, { type Request, type Response } from "express";
import compression from "compression";
import Ajv2020 from "ajv/dist/2020";
import path from "node:path";
import { Wallet } from "ethers";
import { GatewayError, ValidationError, isGatewayError, type GatewayErrorCode } from "../errors";
import { verifySignedRequest, AUTH_HEADERS } from "./auth";
import { rpcFailure } from "./chainOps";
import * as S from "./schemas";
import { ROUTES, jsonSafe } from "./routes";
import type { ApiDependencies, Call } from "./types";

export { ROUTES } from "./routes";
export type { ApiDependencies, DevAccount, MeterStatusView, TradingAccounts } from "./types";


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
  if (d.devAccounts && d.devAccounts.length > 0) {
    // Local development only (the gateway refuses this list unless it listens on loopback): the
    // portal offers these well-known dev keys in a list so that nobody types a key into a page.
    const list = d.devAccounts.map((a) => ({ label: a.label, role: a.role, address: new Wallet(a.privateKey).address, privateKey: a.privateKey }));
    app.get("/v1/dev/accounts", (_req, res) => {
      res.setHeader("cache-control", "no-store");
      send(res, 200, { warning: "development keys of local chains: never use them on a real network", accounts: list });
    });
  }
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
        if (res.headersSent) {
          // A stream (server-sent events) answers by itself.
          d.metrics.apiRequests.inc({ route: routeLabel, status: "200" });
          return;
        }
        send(res, res.statusCode === 200 ? 200 : res.statusCode, jsonSafe(out));
        d.metrics.apiRequests.inc({ route: routeLabel, status: String(res.statusCode) });
      } catch (e) {
        fail(res, e);
        d.metrics.apiRequests.inc({ route: routeLabel, status: String(res.statusCode) });
      }
    });
  }
  if (d.portalDir) {
    // The portal's libraries come from the gateway's own dependencies (pnpm keeps them
    // under node_modules/.pnpm, hence dotfiles allowed for these fixed paths).
    const vendor = { dotfiles: "allow" as const };
    // gzip for the page and its libraries only (a phone on a slow link); never on the API, whose
    // server-sent events must not wait in a compression buffer.
    app.use(["/vendor", "/js", "/portal.css", "/index.html"], compression());
    app.get("/", compression());
    app.get("/vendor/ethers.umd.min.js", (_req, res) => res.sendFile(path.resolve(path.dirname(require.resolve("ethers")), "..", "dist", "ethers.umd.min.js"), vendor));
    app.get("/vendor/nacl-fast.min.js", (_req, res) => res.sendFile(require.resolve("tweetnacl/nacl-fast.min.js"), vendor));
    const uplotDir = path.dirname(require.resolve("uplot"));
    app.get("/vendor/uPlot.iife.min.js", (_req, res) => res.sendFile(path.join(uplotDir, "uPlot.iife.min.js"), vendor));
    app.get("/vendor/uPlot.min.css", (_req, res) => res.sendFile(path.join(uplotDir, "uPlot.min.css"), vendor));
    // Shamir's combine for the utility's key release, as an ES module (the page maps its one import).
    const shamirDir = path.join(path.dirname(require.resolve("shamir-secret-sharing")), "esm");
    app.get("/vendor/shamir/index.js", (_req, res) => res.sendFile(path.join(shamirDir, "index.js"), vendor));
    app.get("/vendor/shamir/csprng.js", (_req, res) => res.sendFile(path.join(shamirDir, "csprng.js"), vendor));
    app.use("/", express.static(d.portalDir, { index: "index.html" }));
  }
  app.use((_req, res) => send(res, 404, { error: { code: "NOT_FOUND", message: "no such route" } }));
  return app;
}

export const PORTAL_DIR = path.join(__dirname, "..", "..", "portal");
