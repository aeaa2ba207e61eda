/**
 * One base error for the DLMS codec. Every error has a stable `code` a caller can switch on, a
 * one-line `shortMessage`, optional `details`, and the `cause` chain. Subclasses carry the offending
 * values so a gateway can log or alert on them without parsing text.
 */
export type DlmsErrorCode =
  | "TRUNCATED"
  | "TRAILING_BYTES"
  | "LENGTH_MISMATCH"
  | "BAD_FLAG"
  | "BAD_FORMAT"
  | "BAD_ADDRESS"
  | "BAD_HCS"
  | "BAD_FCS"
  | "SEGMENT_OVERFLOW"
  | "BAD_WRAPPER_VERSION"
  | "UNKNOWN_TAG"
  | "UNKNOWN_CHOICE"
  | "BAD_LENGTH_ENCODING"
  | "TOO_DEEP"
  | "BAD_TAG"
  | "UNSUPPORTED_SECURITY"
  | "MISSING_KEY"
  | "INVALID_KEY"
  | "BAD_OBIS"
  | "INVALID_ARGUMENT"
  | "INVALID_HEX"
  | "METER_TIMEOUT"
  | "METER_CONNECTION"
  | "METER_PROTOCOL"
  | "METER_REJECTED";

export interface DlmsErrorOptions {
  details?: string;
  cause?: unknown;
}

export class DlmsError extends Error {
  override name = "DlmsError";
  readonly code: DlmsErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: DlmsErrorCode, shortMessage: string, options: DlmsErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** The input ended before a field could be read. */
export class TruncatedError extends DlmsError {
  override name = "TruncatedError";
  constructor(
    readonly field: string,
    readonly needed: number,
    readonly available: number,
    options: DlmsErrorOptions = {},
  ) {
    super("TRUNCATED", `truncated at ${field}: needs ${needed} byte(s), ${available} left`, options);
  }
}

/** Bytes were left after a complete structure where none are allowed. */
export class TrailingBytesError extends DlmsError {
  override name = "TrailingBytesError";
  constructor(
    readonly field: string,
    readonly extra: number,
    options: DlmsErrorOptions = {},
  ) {
    super("TRAILING_BYTES", `${extra} byte(s) after ${field}`, options);
  }
}

/** A length field disagrees with the bytes present. */
export class LengthMismatchError extends DlmsError {
  override name = "LengthMismatchError";
  constructor(
    readonly field: string,
    readonly declared: number,
    readonly actual: number,
    options: DlmsErrorOptions = {},
  ) {
    super("LENGTH_MISMATCH", `${field} says ${declared} byte(s), ${actual} present`, options);
  }
}

/** An HDLC frame check (HCS over the header, FCS over the frame) does not match (CRC-16/X.25 values). */
export class BadChecksumError extends DlmsError {
  override name = "BadChecksumError";
  constructor(
    readonly check: "HCS" | "FCS",
    readonly expected: number,
    readonly actual: number,
    options: DlmsErrorOptions = {},
  ) {
    super(check === "HCS" ? "BAD_HCS" : "BAD_FCS", `${check} mismatch: frame carries 0x${hex4(actual)}, bytes give 0x${hex4(expected)}`, options);
  }
}

/** A field holds a value the format does not allow (flag, frame format, address, wrapper version...). */
export class FieldValueError extends DlmsError {
  override name = "FieldValueError";
  constructor(
    code: "BAD_FLAG" | "BAD_FORMAT" | "BAD_ADDRESS" | "BAD_WRAPPER_VERSION" | "BAD_LENGTH_ENCODING",
    readonly field: string,
    readonly value: number,
    readonly expected: string,
    options: DlmsErrorOptions = {},
  ) {
    super(code, `${field} = 0x${value.toString(16).padStart(2, "0")}; expected ${expected}`, options);
  }
}

/** An APDU, data type or choice tag the codec does not know. */
export class UnknownTagError extends DlmsError {
  override name = "UnknownTagError";
  constructor(
    readonly context: string,
    readonly tag: number,
    options: DlmsErrorOptions = {},
  ) {
    super("UNKNOWN_TAG", `unknown ${context} tag 0x${tag.toString(16).padStart(2, "0")}`, options);
  }
}

/** A reassembled HDLC message or a nested A-XDR value exceeds the configured limit. */
export class LimitExceededError extends DlmsError {
  override name = "LimitExceededError";
  constructor(
    code: "SEGMENT_OVERFLOW" | "TOO_DEEP",
    readonly limit: number,
    readonly actual: number,
    options: DlmsErrorOptions = {},
  ) {
    super(code, code === "TOO_DEEP" ? `data nested deeper than ${limit}` : `reassembled message of ${actual} byte(s) exceeds ${limit}`, options);
  }
}

/** The GCM tag (GMAC) did not verify: wrong key, wrong system title or invocation counter, or tampered bytes. */
export class BadTagError extends DlmsError {
  override name = "BadTagError";
  constructor(
    readonly systemTitle: string,
    readonly invocationCounter: number,
    options: DlmsErrorOptions = {},
  ) {
    super("BAD_TAG", `GCM tag does not verify (system title ${systemTitle}, invocation counter ${invocationCounter})`, options);
  }
}

/** A security control byte asks for something this codec does not do (suite other than 0, compression). */
export class UnsupportedSecurityError extends DlmsError {
  override name = "UnsupportedSecurityError";
  constructor(
    readonly securityControl: number,
    readonly reason: string,
    options: DlmsErrorOptions = {},
  ) {
    super("UNSUPPORTED_SECURITY", `security control 0x${securityControl.toString(16).padStart(2, "0")}: ${reason}`, options);
  }
}

/** Decrypting needs a key or system title that was not given. */
export class MissingKeyError extends DlmsError {
  override name = "MissingKeyError";
  constructor(
    readonly missing: "ek" | "ak" | "systemTitle",
    options: DlmsErrorOptions = {},
  ) {
    super("MISSING_KEY", `ciphered APDU needs ${missing === "systemTitle" ? "the sender's system title" : `the ${missing.toUpperCase()}`}`, options);
  }
}

export class InvalidKeyError extends DlmsError {
  override name = "InvalidKeyError";
  constructor(
    readonly key: string,
    readonly length: number,
    readonly expectedLength: number,
    options: DlmsErrorOptions = {},
  ) {
    super("INVALID_KEY", `${key} of ${length} byte(s); expected ${expectedLength}`, options);
  }
}

export class BadObisError extends DlmsError {
  override name = "BadObisError";
  constructor(
    readonly input: string,
    options: DlmsErrorOptions = {},
  ) {
    super("BAD_OBIS", `not an OBIS code: "${input.length > 40 ? `${input.slice(0, 40)}...` : input}" (want A.B.C.D.E.F or A-B:C.D.E*F, each 0..255)`, options);
  }
}

/** A value handed to an encoder is out of range or of the wrong shape. */
export class InvalidArgumentError extends DlmsError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
    options: DlmsErrorOptions = {},
  ) {
    super("INVALID_ARGUMENT", `${argument} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

export class InvalidHexError extends DlmsError {
  override name = "InvalidHexError";
  constructor(
    readonly input: string,
    readonly reason: string,
    options: DlmsErrorOptions = {},
  ) {
    super("INVALID_HEX", `invalid hex (${reason}): "${input.length > 40 ? `${input.slice(0, 40)}...` : input}"`, options);
  }
}

// The client's errors (src/client): a meter that did not answer, could not be reached, answered
// outside the protocol or refused. Codes match the gateway's Meter*Error so a caller maps them 1:1.

/** The meter did not answer within the link's timeout. */
export class MeterTimeoutError extends DlmsError {
  override name = "MeterTimeoutError";
  constructor(
    readonly meterId: number,
    readonly timeoutMs: number,
    options: DlmsErrorOptions = {},
  ) {
    super("METER_TIMEOUT", `meter ${meterId} did not answer within ${timeoutMs} ms`, options);
  }
}

/** The link to the meter could not be opened or broke. */
export class MeterConnectionError extends DlmsError {
  override name = "MeterConnectionError";
  constructor(
    readonly meterId: number,
    readonly endpoint: string,
    options: DlmsErrorOptions = {},
  ) {
    super("METER_CONNECTION", `meter ${meterId} at ${endpoint}: connection failed`, options);
  }
}

/** The meter answered outside the protocol (wrong frame, APDU or sequence). */
export class MeterProtocolError extends DlmsError {
  override name = "MeterProtocolError";
  constructor(
    readonly meterId: number,
    readonly reason: string,
    options: DlmsErrorOptions = {},
  ) {
    super("METER_PROTOCOL", `meter ${meterId}: ${reason}`, options);
  }
}

/** The meter refused: AARE rejected, a data-access-result other than success, an exception-response. */
export class MeterRejectedError extends DlmsError {
  override name = "MeterRejectedError";
  constructor(
    readonly meterId: number,
    readonly response: string,
    options: DlmsErrorOptions = {},
  ) {
    super("METER_REJECTED", `meter ${meterId} answered ${response}`, options);
  }
}

/**
 * Whether `error` is a {@link DlmsError}, optionally with the given code.
 * @example
 * if (isDlmsError(e, "BAD_TAG")) alertTamper(meter, e.systemTitle, e.invocationCounter);
 */
export function isDlmsError<C extends DlmsErrorCode>(error: unknown, code?: C): error is DlmsError & { code: C } {
  return error instanceof DlmsError && (code === undefined || error.code === code);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

function formatValue(value: unknown): string {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return typeof value;
}
