import { SidegridError, formatErrorValue, type SidegridErrorOptions } from "@sidegrid/chain";

/**
 * One base error for the device side (simulated meters, the Pi agent). Every error has a stable
 * `code`, a one-line `shortMessage`, optional `details` and the `cause` chain.
 */
export type PiMeterErrorCode =
  | "INVALID_ARGUMENT"
  | "METER_READ_FAILED"
  | "LOG_FAILED"
  | "UNKNOWN_APPLIANCE"
  | "UNSUPPORTED_APPLIANCE_ACTION"
  | "APPLIANCE_COMMAND_IN_PAST"
  | "SIMULATOR_STATE_FAILED";

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

/** A command names a device the simulated household does not have (washer, ev, heat_pump, battery). */
export class UnknownApplianceError extends PiMeterError {
  override name = "UnknownApplianceError";
  constructor(
    readonly device: unknown,
    readonly known: readonly string[],
    options: PiMeterErrorOptions = {},
  ) {
    super("UNKNOWN_APPLIANCE", `unknown appliance ${formatErrorValue(device)}; expected one of ${known.join(", ")}`, options);
  }
}

/** A command's action is not one the device understands (e.g. `defer` for the battery). */
export class UnsupportedApplianceActionError extends PiMeterError {
  override name = "UnsupportedApplianceActionError";
  constructor(
    readonly device: string,
    readonly action: unknown,
    readonly supported: readonly string[],
    options: PiMeterErrorOptions = {},
  ) {
    super("UNSUPPORTED_APPLIANCE_ACTION", `${device} does not take action ${formatErrorValue(action)}; it takes ${supported.join(", ")}`, options);
  }
}

/**
 * A command would act before the meter's latest served reading: the registers up to then are
 * final, so the command is refused rather than rewriting them.
 */
export class ApplianceCommandInPastError extends PiMeterError {
  override name = "ApplianceCommandInPastError";
  constructor(
    readonly meterId: number,
    readonly device: string,
    readonly atMs: number,
    /** The earliest effective time still accepted (the end of what the meter has served). */
    readonly servedUpToMs: number,
    options: PiMeterErrorOptions = {},
  ) {
    super(
      "APPLIANCE_COMMAND_IN_PAST",
      `meter ${meterId}: ${device} command at ${new Date(atMs).toISOString()} is before the latest served reading (${new Date(servedUpToMs).toISOString()})`,
      options,
    );
  }
}

/** The simulator cannot write what its meters keep across restarts (the command journal, the acknowledged positions). */
export class SimulatorStateError extends PiMeterError {
  override name = "SimulatorStateError";
  constructor(
    readonly file: string,
    reason: string,
    options: PiMeterErrorOptions = {},
  ) {
    super("SIMULATOR_STATE_FAILED", `${file}: ${reason}`, options);
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
