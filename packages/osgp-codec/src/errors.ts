/**
 * One base error for the codec. Every error has a stable `code` a caller can switch on, a one-line
 * `shortMessage` fit for a CLI, optional `details`, and the `cause` chain. Subclasses carry the
 * offending values so a gateway can log or alert on them without parsing text.
 */
export type OsgpErrorCode =
  | "TRUNCATED_FRAME"
  | "LENGTH_MISMATCH"
  | "BAD_DIGEST"
  | "BAD_TAG"
  | "SEQUENCE_REJECTED"
  | "UNKNOWN_SERVICE"
  | "UNKNOWN_RESPONSE_CODE"
  | "INSECURE_SUITE"
  | "INVALID_KEY"
  | "INVALID_ARGUMENT"
  | "FIELD_RANGE"
  | "INVALID_HEX";

export interface OsgpErrorOptions {
  details?: string;
  cause?: unknown;
}

export class OsgpError extends Error {
  override name = "OsgpError";
  readonly code: OsgpErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: OsgpErrorCode, shortMessage: string, options: OsgpErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** The input ended before a field could be read. */
export class TruncatedFrameError extends OsgpError {
  override name = "TruncatedFrameError";
  constructor(
    readonly field: string,
    readonly needed: number,
    readonly available: number,
    options: OsgpErrorOptions = {},
  ) {
    super("TRUNCATED_FRAME", `truncated at ${field}: needs ${needed} byte(s), ${available} left`, options);
  }
}

/** A length or count field disagrees with the number of bytes actually present. */
export class LengthMismatchError extends OsgpError {
  override name = "LengthMismatchError";
  constructor(
    readonly field: string,
    readonly declared: number,
    readonly actual: number,
    options: OsgpErrorOptions = {},
  ) {
    super("LENGTH_MISMATCH", `${field} says ${declared} byte(s), ${actual} present`, options);
  }
}

/** The OMA digest in a frame is not the one computed with the key (hex strings). */
export class BadDigestError extends OsgpError {
  override name = "BadDigestError";
  constructor(
    readonly expected: string,
    readonly actual: string,
    options: OsgpErrorOptions = {},
  ) {
    super("BAD_DIGEST", `digest mismatch: frame carries ${actual}, key gives ${expected}`, options);
  }
}

/** An AEAD tag did not verify: wrong key, wrong nonce inputs, or tampered bytes. */
export class BadTagError extends OsgpError {
  override name = "BadTagError";
  constructor(
    readonly suite: string,
    options: OsgpErrorOptions = {},
  ) {
    super("BAD_TAG", `${suite} authentication tag does not verify`, options);
  }
}

/** A server-side sequence window refused a request; `current` is what the 0x0C response carries. */
export class SequenceRejectedError extends OsgpError {
  override name = "SequenceRejectedError";
  constructor(
    readonly got: number,
    readonly current: number,
    readonly reason: "repeat" | "stale" | "ahead",
    options: OsgpErrorOptions = {},
  ) {
    super("SEQUENCE_REJECTED", `sequence number ${got} rejected (${reason}); current is ${current}`, options);
  }
}

export class UnknownServiceError extends OsgpError {
  override name = "UnknownServiceError";
  constructor(
    readonly serviceCode: number,
    options: OsgpErrorOptions = {},
  ) {
    super("UNKNOWN_SERVICE", `unknown request service code 0x${hex2(serviceCode)}`, options);
  }
}

export class UnknownResponseCodeError extends OsgpError {
  override name = "UnknownResponseCodeError";
  constructor(
    readonly responseCode: number,
    options: OsgpErrorOptions = {},
  ) {
    super("UNKNOWN_RESPONSE_CODE", `unknown response code 0x${hex2(responseCode)}`, options);
  }
}

/** A broken security suite was requested without explicitly accepting that it is broken. */
export class InsecureSuiteError extends OsgpError {
  override name = "InsecureSuiteError";
  constructor(
    readonly suite: string,
    options: OsgpErrorOptions = {},
  ) {
    super("INSECURE_SUITE", `security suite ${suite} is insecure; pass allowInsecure: true to use it`, options);
  }
}

export class InvalidKeyError extends OsgpError {
  override name = "InvalidKeyError";
  constructor(
    readonly length: number,
    readonly allowed: readonly number[],
    options: OsgpErrorOptions = {},
  ) {
    super("INVALID_KEY", `key of ${length} byte(s); expected ${allowed.join(", ")}`, options);
  }
}

/** A value handed to an encoder is out of range or of the wrong shape. */
export class InvalidArgumentError extends OsgpError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
    options: OsgpErrorOptions = {},
  ) {
    super("INVALID_ARGUMENT", `${argument} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

/** A decoded field holds a value the format does not allow. */
export class FieldRangeError extends OsgpError {
  override name = "FieldRangeError";
  constructor(
    readonly field: string,
    readonly value: number | string,
    readonly expected: string,
    options: OsgpErrorOptions = {},
  ) {
    super("FIELD_RANGE", `${field} = ${value}; expected ${expected}`, options);
  }
}

export class InvalidHexError extends OsgpError {
  override name = "InvalidHexError";
  constructor(
    readonly input: string,
    readonly reason: string,
    options: OsgpErrorOptions = {},
  ) {
    super("INVALID_HEX", `invalid hex (${reason}): "${input.length > 40 ? `${input.slice(0, 40)}...` : input}"`, options);
  }
}

/**
 * Whether `error` is an {@link OsgpError}, optionally with the given code.
 * @example
 * if (isOsgpError(e, "BAD_DIGEST")) alert(meter, e.expected, e.actual);
 */
export function isOsgpError<C extends OsgpErrorCode>(error: unknown, code?: C): error is OsgpError & { code: C } {
  return error instanceof OsgpError && (code === undefined || error.code === code);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function formatValue(value: unknown): string {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return typeof value;
}
