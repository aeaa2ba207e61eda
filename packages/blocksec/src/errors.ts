import { formatErrorValue, SidegridError, type SidegridErrorOptions } from "@sidegrid/chain";

import type { AccessEntry } from "./types";
import type { AccessCategoryName, DenyReasonName, ResolutionName } from "./types";

/**
 * One base error for the BlockSEC package: a stable `code` to switch on, a one-line
 * `shortMessage`, optional `details` and the `cause` chain. Subclasses carry the offending values.
 * Reverts of the contracts arrive as `ContractRevertError` from `@sidegrid/chain` with the custom
 * error's name and arguments; a denied access request does not revert and becomes
 * {@link AccessDeniedError} here.
 */
export type BlockSecErrorCode =
  | "INVALID_ARGUMENT"
  | "MALFORMED_RECORDS"
  | "ACCESS_DENIED"
  | "DEPLOY_FAILED"
  | "MISSING_EVENT"
  | "BATCH_NOT_FOUND"
  | "CUSTODY_CRYPTO"
  | "ACCESS_LOG_INCONSISTENT";

export type BlockSecErrorOptions = SidegridErrorOptions;

export class BlockSecError extends SidegridError<BlockSecErrorCode> {
  override name = "BlockSecError";
}

/** An argument is outside what the contracts accept (caught before sending). */
export class InvalidArgumentError extends BlockSecError {
  override name = "InvalidArgumentError";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    reason: string,
  ) {
    super("INVALID_ARGUMENT", `${argument} ${reason} (got ${formatErrorValue(value)})`);
  }
}

/** Packed batch bytes that do not follow the layout. */
export class MalformedRecordsError extends BlockSecError {
  override name = "MalformedRecordsError";
  constructor(
    readonly offset: number,
    readonly length: number,
    reason: string,
  ) {
    super("MALFORMED_RECORDS", `malformed packed records at byte ${offset} of ${length}: ${reason}`);
  }
}

/**
 * The access ledger recorded the request and denied it (the paper's Figure 10, without erasing
 * the attempt): the entry is in the consumer's access chain at `index`.
 */
export class AccessDeniedError extends BlockSecError {
  override name = "AccessDeniedError";
  readonly consumer: string;
  readonly requester: string;
  readonly category: AccessCategoryName;
  readonly resolution: ResolutionName;
  readonly reason: DenyReasonName;
  readonly index: number;
  readonly entryHash: string;
  readonly txHash: string | undefined;
  readonly blockNumber: number;

  constructor(readonly entry: AccessEntry) {
    super("ACCESS_DENIED", `${entry.requester} was denied ${entry.category} of ${entry.consumer}: ${entry.reason.toLowerCase().replace(/_/g, " ")}`, {
      details: `recorded as entry ${entry.index} of the consumer's access chain (hash ${entry.entryHash}) in block ${entry.blockNumber}${entry.transactionHash ? `, tx ${entry.transactionHash}` : ""}`,
    });
    this.consumer = entry.consumer;
    this.requester = entry.requester;
    this.category = entry.category;
    this.resolution = entry.resolution;
    this.reason = entry.reason;
    this.index = entry.index;
    this.entryHash = entry.entryHash;
    this.txHash = entry.transactionHash;
    this.blockNumber = entry.blockNumber;
  }
}

/** A deployment or role-wiring step did not leave the chain in the expected state. */
export class BlockSecDeployError extends BlockSecError {
  override name = "BlockSecDeployError";
  constructor(message: string, options: BlockSecErrorOptions = {}) {
    super("DEPLOY_FAILED", message, options);
  }
}

/** A mined transaction lacks the event the call must emit (wrong address, wrong contract). */
export class MissingEventError extends BlockSecError {
  override name = "MissingEventError";
  constructor(
    readonly eventName: string,
    readonly txHash: string,
  ) {
    super("MISSING_EVENT", `transaction ${txHash} emitted no ${eventName} event`);
  }
}

/** No batch with this id is anchored. */
export class BatchNotFoundError extends BlockSecError {
  override name = "BatchNotFoundError";
  constructor(readonly batchId: string) {
    super("BATCH_NOT_FOUND", `no batch ${batchId} is anchored`);
  }
}

/** A key envelope or released share that does not open, or shares that do not make the committed key. */
export class CustodyCryptoError extends BlockSecError {
  override name = "CustodyCryptoError";
  constructor(reason: string) {
    super("CUSTODY_CRYPTO", reason);
  }
}

/** Type guard in the style of ethers' isError: `isBlockSecError(e, "ACCESS_DENIED")`. */
export function isBlockSecError<C extends BlockSecErrorCode>(e: unknown, code?: C): e is BlockSecError & { code: C } {
  return e instanceof BlockSecError && (code === undefined || e.code === code);
}

/**
 * A node's AccessLedger events do not form valid hash chains (an entry out of order, a broken
 * link, fields that do not hash to the entry's hash): the node serves a log no ledger produced.
 */
export class AccessLogInconsistentError extends BlockSecError {
  override name = "AccessLogInconsistentError";
  constructor(
    readonly consumer: string,
    readonly index: number,
    readonly blockNumber: number,
    reason: string,
  ) {
    super("ACCESS_LOG_INCONSISTENT", `access entry ${index} of ${consumer} (block ${blockNumber}): ${reason}`);
  }
}
