import { SidegridError, formatErrorValue, type SidegridErrorOptions } from "@sidegrid/chain";

/**
 * One base error for the device side (simulated meters, the Pi agent). Every error has a stable
 * `code`, a one-line `shortMessage`, optional `details` and the `cause` chain.
 */
export type PiMeterErrorCode = "INVALID_ARGUMENT" | "METER_READ_FAILED" | "LOG_FAILED";

export type PiMeterErrorOptions = SidegridErrorOptions;

export class PiMeterError extends SidegridError<PiMeterErrorCode> {
  override name = "PiMeterError";
}

export class InvalidArgumentError extends PiMeterError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
    options: PiMeterErrorOptions = {},
  ) {
    super("INVALID_ARGUMENT", `${argument} = ${formatErrorValue(value)}; expected ${expected}`, options);
  }
}

/** The agent could not read its meter (the cause says why: timeout, refused, bad frame). */
export class MeterReadError extends PiMeterError {
  override name = "MeterReadError";
  constructor(
    readonly meterId: number,
    readonly what: string,
    options: PiMeterErrorOptions = {},
  ) {
    super("METER_READ_FAILED", `meter ${meterId}: reading ${what} failed`, options);
  }
}

/** The agent's LevelDB log refused a write or holds a record it cannot decode. */
export class LogError extends PiMeterError {
  override name = "LogError";
  constructor(reason: string, options: PiMeterErrorOptions = {}) {
    super("LOG_FAILED", `agent log: ${reason}`, options);
  }
}

/**
 * Whether `e` is a {@link PiMeterError}, optionally with the given code.
 * @example
 * if (isPiMeterError(e, "METER_READ_FAILED")) retryLater();
 */
export function isPiMeterError<C extends PiMeterErrorCode>(e: unknown, code?: C): e is PiMeterError & { code: C } {
  return e instanceof PiMeterError && (code === undefined || e.code === code);
}
