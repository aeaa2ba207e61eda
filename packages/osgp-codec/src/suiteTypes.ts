// The interface every security suite implements, below both the suites and the registry that
// picks one (suite.ts), so neither imports the other. A suite frames requests and responses; the
// per-exchange state a response depends on (request digest or tag, RC4 keystream position) travels
// in an opaque `exchange` object from the request to its response.
import type { ServiceRequest, ServiceResponse } from "./services";

export type SecuritySuiteName = "legacy-rc4-mep" | "aes-gcm";
export const SECURITY_SUITE_NAMES: readonly SecuritySuiteName[] = ["legacy-rc4-mep", "aes-gcm"];

/** Per-exchange state; produced by encodeRequest/decodeRequest, consumed by the response side. */
export interface SuiteExchange {
  readonly suite: SecuritySuiteName;
  /** The request's sequence number. */
  readonly seq: number;
}

export interface SuiteEncodeRequestParameters {
  request: ServiceRequest | Uint8Array;
  seq: number;
}

export interface SuiteEncodeRequestReturnType {
  frame: Uint8Array;
  exchange: SuiteExchange;
}

export interface SuiteDecodeRequestReturnType {
  suite: SecuritySuiteName;
  request: ServiceRequest;
  seq: number;
  /** Whether the payload was encrypted on the wire. */
  encrypted: boolean;
  /** True for every frame of a broken suite. */
  insecure: boolean;
  exchange: SuiteExchange;
}

export interface SuiteEncodeResponseParameters {
  response: ServiceResponse | Uint8Array;
  exchange: SuiteExchange;
  /** The meter's own response sequence number; required by aes-gcm (nonce), ignored by legacy. */
  seq?: number;
}

export interface SuiteDecodeResponseReturnType {
  suite: SecuritySuiteName;
  response: ServiceResponse;
  /** The response sequence number (aes-gcm); null for legacy frames, which carry none. */
  seq: number | null;
  encrypted: boolean;
  insecure: boolean;
}

export interface SecuritySuite {
  readonly name: SecuritySuiteName;
  readonly insecure: boolean;
  /** Client: frame (and protect) a request. */
  encodeRequest(parameters: SuiteEncodeRequestParameters): SuiteEncodeRequestReturnType;
  /** Meter: authenticate (and decrypt) a request. Sequence checks are the caller's (SequenceWindow). */
  decodeRequest(frame: Uint8Array): SuiteDecodeRequestReturnType;
  /** Meter: frame the response to a decoded request. */
  encodeResponse(parameters: SuiteEncodeResponseParameters): Uint8Array;
  /** Client: authenticate (and decrypt) the response to a request it encoded. */
  decodeResponse(frame: Uint8Array, exchange: SuiteExchange): SuiteDecodeResponseReturnType;
}
