import { formatErrorValue, SidegridError, type SidegridErrorOptions } from "@sidegrid/chain";

/**
 * One base error for the BlockPRI package: a stable `code` to switch on, a one-line
 * `shortMessage`, optional `details` and the `cause` chain. Subclasses carry the offending values.
 * Reverts of the contract itself arrive as `ContractRevertError` from `@sidegrid/chain`, with the
 * custom error's name (`PPCMeterTaken`, ...) and arguments.
 */
export type BlockPriErrorCode = "INVALID_ARGUMENT" | "MALFORMED_PAYLOAD" | "DEPLOY_FAILED" | "MISSING_EVENT";

export type BlockPriErrorOptions = SidegridErrorOptions;

export class BlockPriError extends SidegridError<BlockPriErrorCode> {
  override name = "BlockPriError";
}

/** An argument is outside what the contract accepts (caught before sending). */
export class InvalidArgumentError extends BlockPriError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    reason: string,
  ) {
    super("INVALID_ARGUMENT", `${argument} ${reason} (got ${formatErrorValue(value)})`);
  }
}

/** A relay payload does not decode as the SidegridMessages kind it claims. */
export class MalformedPayloadError extends BlockPriError {
  override name = "MalformedPayloadError";
  constructor(
    readonly payload: string,
    reason: string,
    options: BlockPriErrorOptions = {},
  ) {
    super("MALFORMED_PAYLOAD", `malformed relay payload: ${reason}`, options);
  }
}

/** A deployment or role-wiring step did not leave the chain in the expected state. */
export class BlockPriDeployError extends BlockPriError {
  override name = "BlockPriDeployError";
  constructor(message: string, options: BlockPriErrorOptions = {}) {
    super("DEPLOY_FAILED", message, options);
  }
}

/** A mined transaction lacks the event the call must emit (wrong address, wrong contract). */
export class MissingEventError extends BlockPriError {
  override name = "MissingEventError";
  constructor(
    readonly eventName: string,
    readonly txHash: string,
  ) {
    super("MISSING_EVENT", `transaction ${txHash} emitted no ${eventName} event`);
  }
}

/** Type guard in the style of ethers' isError: `isBlockPriError(e, "INVALID_ARGUMENT")`. */
export function isBlockPriError<C extends BlockPriErrorCode>(e: unknown, code?: C): e is BlockPriError & { code: C } {
  return e instanceof BlockPriError && (code === undefined || e.code === code);
}
