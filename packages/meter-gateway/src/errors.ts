import { SidegridError, type SidegridErrorOptions } from "@sidegrid/chain";

/**
 * One base error for the gateway. Every error has a stable `code` a caller can switch on, a
 * one-line `shortMessage` fit for a log line or a CLI, optional `details`, and the `cause` chain.
 * Subclasses carry the offending values so alerts and HTTP answers need no text parsing.
 */
export type GatewayErrorCode =
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT"
  | "METER_TIMEOUT"
  | "METER_CONNECTION"
  | "METER_AUTHENTICATION"
  | "METER_REPLAY"
  | "METER_PROTOCOL"
  | "METER_REJECTED"
  | "UNKNOWN_METER"
  | "UNKNOWN_ADAPTER"
  | "PAYLOAD_INVALID"
  | "AUTH_FAILED"
  | "FORBIDDEN"
  | "VALIDATION_FAILED"
  | "NOT_FOUND"
  | "LEDGER_FAILED"
  | "CLOSED"
  | "CUSTODY_UNAVAILABLE"
  | "GRANT_NOT_RELEASED"
  | "TX_REJECTED"
  | "CHAIN_UNAVAILABLE"
  | "LINK_REFUSED"
  | "LINK_CONFLICT"
  | "APPLIANCE_CONTROL"
  | "REDIS_CLUSTER"
  | "START_ABANDONED";

export type GatewayErrorOptions = SidegridErrorOptions;

export class GatewayError extends SidegridError<GatewayErrorCode> {
  override name = "GatewayError";
}

export class InvalidConfigError extends GatewayError {
  override name = "InvalidConfigError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
    options: GatewayErrorOptions = {},
  ) {
    super("INVALID_CONFIG", `config ${field} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

export class InvalidArgumentError extends GatewayError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
    options: GatewayErrorOptions = {},
  ) {
    super("INVALID_ARGUMENT", `${argument} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

/** A meter did not answer within the timeout (silence). */
export class MeterTimeoutError extends GatewayError {
  override name = "MeterTimeoutError";
  constructor(
    readonly meterId: number,
    readonly timeoutMs: number,
    options: GatewayErrorOptions = {},
  ) {
    super("METER_TIMEOUT", `meter ${meterId} did not answer within ${timeoutMs} ms`, options);
  }
}

export class MeterConnectionError extends GatewayError {
  override name = "MeterConnectionError";
  constructor(
    readonly meterId: number,
    readonly endpoint: string,
    options: GatewayErrorOptions = {},
  ) {
    super("METER_CONNECTION", `meter ${meterId} at ${endpoint}: connection failed`, options);
  }
}

/** A response failed its digest or AEAD tag: forged or corrupted on the way. */
export class MeterAuthenticationError extends GatewayError {
  override name = "MeterAuthenticationError";
  constructor(
    readonly meterId: number,
    readonly suite: string,
    options: GatewayErrorOptions = {},
  ) {
    super("METER_AUTHENTICATION", `meter ${meterId}: ${suite} response does not authenticate`, options);
  }
}

/** A response carried a sequence number the meter already used. */
export class MeterReplayError extends GatewayError {
  override name = "MeterReplayError";
  constructor(
    readonly meterId: number,
    readonly seq: number,
    readonly lastSeq: number,
    options: GatewayErrorOptions = {},
  ) {
    super("METER_REPLAY", `meter ${meterId}: response sequence ${seq} not above ${lastSeq} (replay)`, options);
  }
}

/** The meter answered something the protocol does not allow here. */
export class MeterProtocolError extends GatewayError {
  override name = "MeterProtocolError";
  constructor(
    readonly meterId: number,
    readonly reason: string,
    options: GatewayErrorOptions = {},
  ) {
    super("METER_PROTOCOL", `meter ${meterId}: ${reason}`, options);
  }
}

/** The meter refused a request with an error response (0x01-0x0B). */
export class MeterRejectedError extends GatewayError {
  override name = "MeterRejectedError";
  constructor(
    readonly meterId: number,
    readonly response: string,
    options: GatewayErrorOptions = {},
  ) {
    super("METER_REJECTED", `meter ${meterId} answered ${response}`, options);
  }
}

export class UnknownMeterError extends GatewayError {
  override name = "UnknownMeterError";
  constructor(
    readonly meterId: number | string,
    options: GatewayErrorOptions = {},
  ) {
    super("UNKNOWN_METER", `unknown meter ${meterId}`, options);
  }
}

export class UnknownAdapterError extends GatewayError {
  override name = "UnknownAdapterError";
  constructor(
    readonly protocol: string,
    readonly known: readonly string[],
    options: GatewayErrorOptions = {},
  ) {
    super("UNKNOWN_ADAPTER", `no adapter for protocol "${protocol}" (registered: ${known.join(", ") || "none"})`, options);
  }
}

/** An encrypted reading payload could not be parsed or opened. */
export class PayloadError extends GatewayError {
  override name = "PayloadError";
  constructor(
    readonly reason: string,
    options: GatewayErrorOptions = {},
  ) {
    super("PAYLOAD_INVALID", `reading payload: ${reason}`, options);
  }
}

/** The wallet signature of an API request is missing, malformed, stale or replayed. */
export class AuthFailedError extends GatewayError {
  override name = "AuthFailedError";
  constructor(
    readonly reason: string,
    options: GatewayErrorOptions = {},
  ) {
    super("AUTH_FAILED", `request authentication failed: ${reason}`, options);
  }
}

export class ForbiddenError extends GatewayError {
  override name = "ForbiddenError";
  constructor(
    readonly caller: string,
    readonly action: string,
    options: GatewayErrorOptions = {},
  ) {
    super("FORBIDDEN", `${caller} may not ${action}`, options);
  }
}

export class ValidationError extends GatewayError {
  override name = "ValidationError";
  constructor(
    readonly errors: readonly { instancePath: string; message?: string | undefined; keyword: string; params: unknown }[],
    options: GatewayErrorOptions = {},
  ) {
    super("VALIDATION_FAILED", `invalid request: ${errors.map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`).join("; ")}`, options);
  }
}

export class NotFoundError extends GatewayError {
  override name = "NotFoundError";
  constructor(
    readonly what: string,
    options: GatewayErrorOptions = {},
  ) {
    super("NOT_FOUND", `${what} not found`, options);
  }
}

export class LedgerError extends GatewayError {
  override name = "LedgerError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super("LEDGER_FAILED", message, options);
  }
}

/**
 * A transaction the API relays or prepares was refused: the node would not accept it (nonce,
 * funds, gas, fee) or it reverts. The caller's to fix; `reason` is the node's or the contract's.
 */
export class TransactionRejectedError extends GatewayError {
  override name = "TransactionRejectedError";
  constructor(
    readonly chain: string,
    readonly reason: string,
    readonly txHash?: string,
    options: GatewayErrorOptions = {},
  ) {
    super("TX_REJECTED", `${chain} refused the transaction: ${reason}`, txHash ? { ...options, details: `transaction ${txHash}` } : options);
  }
}

/** A chain's node cannot be reached or did not answer in time; the same call may work later. */
export class ChainUnavailableError extends GatewayError {
  override name = "ChainUnavailableError";
  constructor(
    readonly chain: string,
    reason: string,
    options: GatewayErrorOptions = {},
  ) {
    super("CHAIN_UNAVAILABLE", `${chain} is unavailable: ${reason}`, options);
  }
}

/** Epoch keys cannot be made: KeyCustody is unreachable, or a member has no custody key yet. */
export class CustodyUnavailableError extends GatewayError {
  override name = "CustodyUnavailableError";
  constructor(reason: string, options: GatewayErrorOptions = {}) {
    super("CUSTODY_UNAVAILABLE", `epoch keys cannot be made: ${reason}`, options);
  }
}

/** A granted read found fewer released shares than the threshold before its deadline. */
export class GrantNotReleasedError extends GatewayError {
  override name = "GrantNotReleasedError";
  constructor(
    readonly consumer: string,
    readonly entryIndex: number,
    readonly missing: number[],
    reason: string,
  ) {
    super("GRANT_NOT_RELEASED", `access entry ${entryIndex} of ${consumer}: ${reason}`);
  }
}

export class ClosedError extends GatewayError {
  override name = "ClosedError";
  constructor(
    readonly what: string,
    options: GatewayErrorOptions = {},
  ) {
    super("CLOSED", `${what} is closed`, options);
  }
}

/**
 * Whether `error` is a {@link GatewayError}, optionally with the given code.
 * @example
 * if (isGatewayError(e, "METER_TIMEOUT")) alert("silent", e.meterId);
 */
export function isGatewayError<C extends GatewayErrorCode>(error: unknown, code?: C): error is GatewayError & { code: C } {
  return error instanceof GatewayError && (code === undefined || error.code === code);
}

function formatValue(value: unknown): string {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return typeof value;
}

/**
 * A trading-account link the gateway refuses: not signed by the account (LINK_REFUSED), or the
 * account belongs to another household here (LINK_CONFLICT).
 */
export class TradingAccountLinkError extends GatewayError {
  override name = "TradingAccountLinkError";
  constructor(
    code: "LINK_REFUSED" | "LINK_CONFLICT",
    readonly account: string,
    reason: string,
  ) {
    super(code, `trading account ${account}: ${reason}`);
  }
}

/** A command to a household's appliance was not taken (control API unreachable or refusing). */
export class ApplianceControlError extends GatewayError {
  override name = "ApplianceControlError";
  constructor(
    readonly meterId: number,
    readonly device: string,
    readonly action: string,
    reason: string,
    options: GatewayErrorOptions = {},
  ) {
    super("APPLIANCE_CONTROL", `meter ${meterId}: "${action}" for ${device} not taken: ${reason}`, options);
  }
}

/** A local Redis Cluster could not be started or did not reach cluster_state:ok. */
export class RedisClusterError extends GatewayError {
  override name = "RedisClusterError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super("REDIS_CLUSTER", message, options);
  }
}
