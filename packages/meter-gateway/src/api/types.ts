// The API's shared types: what the routes need (dependencies) and how a route is described.
import type { Response } from "express";
import type { GatewayMetrics } from "../metrics";
import type { QueueDepth } from "../poller";
import type { GridAggregator } from "../realtime";
import type { GatewayStore, TradingAccountLink } from "../store";
import type { NonceStore } from "./auth";
import type { ApiChainOps } from "./chainOps";

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
  /** Local development keys the portal offers in a list (never on a non-loopback listener). */
  devAccounts?: readonly DevAccount[];
  /** Serve the portal's static files from this directory. */
  portalDir?: string;
  /** Households' trading accounts (absent when the gateway seals no trades: no key custody). */
  tradingAccounts?: TradingAccounts;
}

export interface DevAccount {
  label: string;
  role: "household" | "utility" | "company" | "court" | "operator";
  privateKey: string;
}

/** What the API needs of the trade sealer. */
export interface TradingAccounts {
  link(consumer: string, account: string, signature: string): Promise<TradingAccountLink>;
  unlink(consumer: string, account: string): Promise<boolean>;
  accountsOf(consumer: string): Promise<TradingAccountLink[]>;
}

export interface Call {
  caller: string;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

export type Schema = Record<string, unknown>;

export interface Route {
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
