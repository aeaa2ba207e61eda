/**
 * One base error for the package. Every error has a stable `code` a caller can switch on, a
 * one-line `shortMessage` fit for a CLI, optional `details`, and the `cause` chain. Subclasses
 * carry the offending values so a caller (the CLI, a BlockTST job) can report them without
 * parsing text.
 */
export type DsmErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_LOAD"
  | "INVALID_BASE_LOAD"
  | "UNKNOWN_HOUSEHOLD"
  | "INVALID_PRICING"
  | "INVALID_RULE"
  | "UNKNOWN_CODE"
  | "INVALID_ENCODING";

export interface DsmErrorOptions {
  details?: string;
  cause?: unknown;
}

export class DsmError extends Error {
  override name = "DsmError";
  readonly code: DsmErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: DsmErrorCode, shortMessage: string, options: DsmErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** A parameter of a call (count, seed, slot length, iteration limit...) is out of range or of the wrong shape. */
export class InvalidArgumentError extends DsmError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
    options: DsmErrorOptions = {},
  ) {
    super("INVALID_ARGUMENT", `${argument} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

/** A flexible load cannot be scheduled as given: bad slot range, duration longer than its window, power not positive... */
export class InvalidLoadError extends DsmError {
  override name = "InvalidLoadError";
  constructor(
    /** Position of the load in the `flexible` array. */
    readonly index: number,
    readonly household: string,
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
    options: DsmErrorOptions = {},
  ) {
    super("INVALID_LOAD", `flexible load #${index} (${JSON.stringify(household)}): ${field} = ${formatValue(value)}; ${reason}`, options);
  }
}

/** A household's base load is not one finite, non-negative kW value per slot, or a household appears twice. */
export class InvalidBaseLoadError extends DsmError {
  override name = "InvalidBaseLoadError";
  constructor(
    readonly household: string,
    /** The offending slot, or undefined when the whole entry is wrong (length, duplicate). */
    readonly slot: number | undefined,
    readonly value: unknown,
    readonly reason: string,
    options: DsmErrorOptions = {},
  ) {
    super(
      "INVALID_BASE_LOAD",
      `base load of ${JSON.stringify(household)}${slot === undefined ? "" : ` slot ${slot}`} = ${formatValue(value)}; ${reason}`,
      options,
    );
  }
}

/** A flexible load names a household that has no base load entry (usually a typo in the id). */
export class UnknownHouseholdError extends DsmError {
  override name = "UnknownHouseholdError";
  constructor(
    readonly household: string,
    readonly index: number,
    options: DsmErrorOptions = {},
  ) {
    super("UNKNOWN_HOUSEHOLD", `flexible load #${index} names household ${JSON.stringify(household)}, which has no base load`, options);
  }
}

/** A pricing coefficient or price vector is out of range or has the wrong length. */
export class InvalidPricingError extends DsmError {
  override name = "InvalidPricingError";
  constructor(
    readonly field: string,
    readonly slot: number | undefined,
    readonly value: unknown,
    readonly expected: string,
    options: DsmErrorOptions = {},
  ) {
    super("INVALID_PRICING", `pricing ${field}${slot === undefined ? "" : `[${slot}]`} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

/** A rule cannot match anything, names an unknown action, or cannot be encoded in 32 bytes. */
export class InvalidRuleError extends DsmError {
  override name = "InvalidRuleError";
  constructor(
    readonly ruleId: number | undefined,
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
    options: DsmErrorOptions = {},
  ) {
    super("INVALID_RULE", `rule ${ruleId === undefined ? "?" : ruleId}: ${field} = ${formatValue(value)}; ${reason}`, options);
  }
}

/** An encoded rule carries a device or action code this version does not define. */
export class UnknownCodeError extends DsmError {
  override name = "UnknownCodeError";
  constructor(
    readonly field: "device" | "action",
    readonly codeValue: number,
    options: DsmErrorOptions = {},
  ) {
    super("UNKNOWN_CODE", `unknown ${field} code ${codeValue}`, options);
  }
}

/** Encoded rule bytes have the wrong length, version, or non-zero reserved bits. */
export class InvalidEncodingError extends DsmError {
  override name = "InvalidEncodingError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
    options: DsmErrorOptions = {},
  ) {
    super("INVALID_ENCODING", `encoded rule ${field} = ${formatValue(value)}; expected ${expected}`, options);
  }
}

/**
 * Whether `error` is a {@link DsmError}, optionally with the given code.
 * @example
 * if (isDsmError(e, "INVALID_LOAD")) console.error(`load ${e.index}: ${e.shortMessage}`);
 */
export function isDsmError<C extends DsmErrorCode>(error: unknown, code?: C): error is DsmError & { code: C } {
  return error instanceof DsmError && (code === undefined || error.code === code);
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return `<array of ${value.length}>`;
  return typeof value;
}
