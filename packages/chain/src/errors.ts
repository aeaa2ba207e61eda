/**
 * One base error for the chain package. Every error has a stable `code` a caller can switch on,
 * a one-line `shortMessage` fit for a CLI, optional `details`, and the `cause` chain.
 */
export type ChainErrorCode =
  | "CONFIG_INVALID"
  | "NETWORK_UNREACHABLE"
  | "CHAIN_ID_MISMATCH"
  | "INSUFFICIENT_FUNDS"
  | "CONTRACT_REVERT"
  | "RECEIPT_TIMEOUT"
  | "TX_FAILED"
  | "GAS_LIMIT_EXCEEDED"
  | "COMPILE_FAILED"
  | "DEPLOY_FAILED"
  | "NODE_START_FAILED"
  | "RPC_ERROR"
  | "RPC_DISAGREEMENT"
  | "RPC_UNAVAILABLE";

export interface SidegridErrorOptions {
  details?: string;
  cause?: unknown;
}

/**
 * What every Sidegrid package's error base shares: a stable `code` to switch on, a one-line
 * `shortMessage`, optional `details` (appended to `message`) and the `cause` chain. Each package
 * declares its own base on top of it (`class BlockPriError extends SidegridError<BlockPriErrorCode>`),
 * so `instanceof` still tells the packages apart.
 */
export class SidegridError<C extends string> extends Error {
  override name = "SidegridError";
  readonly code: C;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: C, shortMessage: string, options: SidegridErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** An offending value for an error message: strings quoted, bigints as digits, objects as JSON. */
export function formatErrorValue(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

export type ChainErrorOptions = SidegridErrorOptions;

export class ChainError extends SidegridError<ChainErrorCode> {
  override name = "ChainError";
}

export class ConfigError extends ChainError {
  override name = "ConfigError";
  constructor(message: string, options: ChainErrorOptions = {}) {
    super("CONFIG_INVALID", message, options);
  }
}

export class NetworkUnreachableError extends ChainError {
  override name = "NetworkUnreachableError";
  constructor(
    readonly network: string,
    readonly url: string,
    options: ChainErrorOptions = {},
  ) {
    super("NETWORK_UNREACHABLE", `network "${network}" does not answer at ${url}`, options);
  }
}

export class ChainIdMismatchError extends ChainError {
  override name = "ChainIdMismatchError";
  constructor(
    readonly network: string,
    readonly expected: bigint,
    readonly actual: bigint,
    options: ChainErrorOptions = {},
  ) {
    super("CHAIN_ID_MISMATCH", `network "${network}" has chainId ${actual}, configured ${expected}`, options);
  }
}

export class InsufficientFundsError extends ChainError {
  override name = "InsufficientFundsError";
  constructor(
    readonly network: string,
    readonly account: string,
    readonly balance: bigint,
    options: ChainErrorOptions = {},
  ) {
    super("INSUFFICIENT_FUNDS", `account ${account} on "${network}" cannot pay for gas (balance ${balance} wei)`, options);
  }
}

/** A call or transaction reverted; `errorName`/`args` come from the contract's custom error when known. */
export class ContractRevertError extends ChainError {
  override name = "ContractRevertError";
  constructor(
    readonly errorName: string | undefined,
    readonly args: readonly unknown[],
    readonly data: string | undefined,
    options: ChainErrorOptions & { txHash?: string } = {},
  ) {
    super(
      "CONTRACT_REVERT",
      errorName
        ? `reverted with ${errorName}(${args.map(formatArg).join(", ")})`
        : `reverted${data && data !== "0x" ? ` with unknown data ${data.slice(0, 74)}` : " without a reason"}`,
      options,
    );
    this.txHash = options.txHash;
  }
  readonly txHash: string | undefined;
}

export class ReceiptTimeoutError extends ChainError {
  override name = "ReceiptTimeoutError";
  constructor(
    readonly txHash: string,
    readonly timeoutMs: number,
    /** What the node said about the transaction at the deadline (pending, nonce gap, dropped). */
    readonly diagnosis?: string,
  ) {
    super("RECEIPT_TIMEOUT", `no receipt for ${txHash} after ${timeoutMs} ms${diagnosis ? `: ${diagnosis}` : ""}`);
  }
}

export class GasLimitExceededError extends ChainError {
  override name = "GasLimitExceededError";
  constructor(
    readonly gas: bigint,
    readonly blockGasLimit: bigint,
    options: ChainErrorOptions = {},
  ) {
    super("GAS_LIMIT_EXCEEDED", `transaction needs ${gas} gas, above the block gas limit ${blockGasLimit}`, options);
  }
}

export class CompileError extends ChainError {
  override name = "CompileError";
  constructor(
    readonly errors: readonly string[],
    options: ChainErrorOptions = {},
  ) {
    super("COMPILE_FAILED", `solc reported ${errors.length} error(s): ${errors[0]?.split("\n")[0] ?? ""}`, {
      details: errors.join("\n"),
      ...options,
    });
  }
}

export class NodeStartError extends ChainError {
  override name = "NodeStartError";
  constructor(message: string, options: ChainErrorOptions = {}) {
    super("NODE_START_FAILED", message, options);
  }
}

export class RpcError extends ChainError {
  override name = "RpcError";
  constructor(message: string, options: ChainErrorOptions = {}) {
    super("RPC_ERROR", message, options);
  }
}

/** What one endpoint answered (a result or a JSON-RPC error), as text for an error message. */
export interface RpcEndpointAnswer {
  url: string;
  answer: string;
}

/** A quorum read where fewer than `quorum` endpoints gave the same answer; `answers` holds each one's. */
export class RpcDisagreementError extends ChainError {
  override name = "RpcDisagreementError";
  constructor(
    readonly method: string,
    readonly quorum: number,
    readonly answers: readonly RpcEndpointAnswer[],
    options: ChainErrorOptions = {},
  ) {
    super("RPC_DISAGREEMENT", `${method}: fewer than ${quorum} endpoints agree: ${answers.map((a) => `${a.url} answered ${a.answer}`).join("; ")}`, options);
  }
}

/** Too few endpoints answered at all (connection refused, timeout, HTTP error): `failures` names each. */
export class RpcUnavailableError extends ChainError {
  override name = "RpcUnavailableError";
  constructor(
    readonly method: string,
    readonly failures: readonly RpcEndpointAnswer[],
    readonly quorum = 1,
    readonly answered = 0,
    options: ChainErrorOptions = {},
  ) {
    super(
      "RPC_UNAVAILABLE",
      `${method}: ${answered === 0 ? "no endpoint answered" : `${answered} endpoint(s) answered, quorum ${quorum}`} (${failures.map((f) => `${f.url}: ${f.answer}`).join("; ")})`,
      options,
    );
  }
}

function formatArg(a: unknown): string {
  if (typeof a === "bigint") return a.toString();
  if (typeof a === "string") return a.startsWith("0x") ? a : JSON.stringify(a);
  if (Array.isArray(a)) return `[${a.map(formatArg).join(", ")}]`;
  return String(a);
}

/** Type guard in the style of ethers' isError: `isChainError(e, "CONTRACT_REVERT")`. */
export function isChainError<C extends ChainErrorCode>(e: unknown, code?: C): e is ChainError & { code: C } {
  return e instanceof ChainError && (code === undefined || e.code === code);
}
