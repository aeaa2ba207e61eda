/** One base error for the CLI: bad arguments and system-state problems, each with a stable code. */
export type CliErrorCode =
  | "BAD_ARGUMENT"
  | "CONFIG"
  | "NOT_RUNNING"
  | "ALREADY_RUNNING"
  | "START_FAILED"
  | "DEPENDENCY_MISSING"
  | "DEMO_FAILED"
  | "CHAOS_FAILED"
  | "BENCH_FAILED"
  | "ACCESS_DENIED";

export class CliError extends Error {
  override name = "CliError";
  readonly shortMessage: string;
  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly details?: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.shortMessage = message;
  }
}
