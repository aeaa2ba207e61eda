import { SidegridError, type SidegridErrorOptions } from "@sidegrid/chain";

/**
 * One base error for the blocktst package: a stable `code` to switch on, a one-line
 * `shortMessage`, optional `details` and the `cause` chain. Subclasses carry the offending values.
 * Contract reverts are not wrapped: they surface as `ContractRevertError` from @sidegrid/chain with
 * the custom error's name and arguments.
 */
export type BlockTstErrorCode = "INVALID_ARGUMENT" | "EVENT_MISSING" | "DEPLOY_FAILED";

export type BlockTstErrorOptions = SidegridErrorOptions;

export class BlockTstError extends SidegridError<BlockTstErrorCode> {
  override name = "BlockTstError";
}

/** A price-rule, auction or demand-response input is out of range (checked before anything is sent). */
export class InvalidArgumentError extends BlockTstError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    reason: string,
    options: BlockTstErrorOptions = {},
  ) {
    super("INVALID_ARGUMENT", `${argument} = ${String(value)}: ${reason}`, options);
  }
}

/** A transaction succeeded but did not emit the event the client needs to report its result. */
export class EventMissingError extends BlockTstError {
  override name = "EventMissingError";
  constructor(
    readonly event: string,
    readonly txHash: string,
  ) {
    super("EVENT_MISSING", `transaction ${txHash} emitted no ${event} event`);
  }
}

/** A deployment step did not leave the chain in the expected state. */
export class BlockTstDeployError extends BlockTstError {
  override name = "BlockTstDeployError";
  constructor(
    readonly step: string,
    message: string,
    options: BlockTstErrorOptions = {},
  ) {
    super("DEPLOY_FAILED", `${step}: ${message}`, options);
  }
}

/**
 * Type guard in the style of ethers' isError.
 *
 * @example
 * if (isBlockTstError(e, "INVALID_ARGUMENT")) console.error(e.shortMessage);
 */
export function isBlockTstError<C extends BlockTstErrorCode>(e: unknown, code?: C): e is BlockTstError & { code: C } {
  return e instanceof BlockTstError && (code === undefined || e.code === code);
}
