import { SidegridError, type SidegridErrorOptions } from "@sidegrid/chain";

/**
 * One base error for the federation package: a stable `code` to switch on, a one-line
 * `shortMessage`, optional `details` and the `cause` chain. Subclasses carry the offending values.
 */
export type FederationErrorCode =
  | "CONFIG_INVALID"
  | "MEMBER_NOT_FOUND"
  | "DEPLOY_FAILED"
  | "PEER_AUTH_FAILED"
  | "EQUIVOCATION"
  | "MEMBER_START_FAILED"
  | "WIRING_UNAVAILABLE"
  | "RELAY_TIMEOUT"
  | "CUSTODY_MISCONFIGURED"
  | "CUSTODY_REGISTRATION_FAILED"
  | "CUSTODY_RELEASE_FAILED"
  | "CHECKPOINT_MISCONFIGURED"
  | "CHECKPOINT_VOTE_FAILED"
  | "GOVERNANCE_FAILED"
  | "HOST_NETWORK_FAILED"
  | "INBOX_REPLY_INVALID";

export type FederationErrorOptions = SidegridErrorOptions;

export class FederationError extends SidegridError<FederationErrorCode> {
  override name = "FederationError";
}

/** The member configuration file is missing, malformed or inconsistent. */
export class FederationConfigError extends FederationError {
  override name = "FederationConfigError";
  constructor(
    readonly file: string,
    message: string,
    options: FederationErrorOptions = {},
  ) {
    super("CONFIG_INVALID", `${file}: ${message}`, options);
  }
}

/** `--member k` names no member of the configuration. */
export class MemberNotFoundError extends FederationError {
  override name = "MemberNotFoundError";
  constructor(
    readonly member: number,
    readonly members: number,
  ) {
    super("MEMBER_NOT_FOUND", `member ${member} does not exist (the configuration has ${members} members, 0..${members - 1})`);
  }
}

/** A deployment step did not leave the chain in the expected state. */
export class FederationDeployError extends FederationError {
  override name = "FederationDeployError";
  constructor(
    readonly chain: string,
    message: string,
    options: FederationErrorOptions = {},
  ) {
    super("DEPLOY_FAILED", `${chain}: ${message}`, options);
  }
}

/** A signature POST was not signed by the member it claims to come from. */
export class PeerAuthError extends FederationError {
  override name = "PeerAuthError";
  constructor(
    readonly claimed: string,
    readonly recovered: string | undefined,
  ) {
    super("PEER_AUTH_FAILED", `signature batch claims member ${claimed} but was signed by ${recovered ?? "nobody recognisable"}`);
  }
}

/** The member was asked to sign a second, different message under a lane nonce it already signed. */
export class EquivocationError extends FederationError {
  override name = "EquivocationError";
  constructor(
    readonly key: string,
    readonly signedDigest: string,
    readonly newDigest: string,
  ) {
    super("EQUIVOCATION", `refusing to sign ${newDigest} for ${key}: already signed ${signedDigest} under the same lane nonce`);
  }
}

/** A member process did not come up (bad config, port in use, chain unreachable). */
export class MemberStartError extends FederationError {
  override name = "MemberStartError";
  constructor(
    readonly member: number,
    message: string,
    options: FederationErrorOptions = {},
  ) {
    super("MEMBER_START_FAILED", `member ${member}: ${message}`, options);
  }
}

/** The real app contracts needed for a relay route are not available. */
export class WiringUnavailableError extends FederationError {
  override name = "WiringUnavailableError";
  constructor(
    readonly missing: readonly string[],
    options: FederationErrorOptions = {},
  ) {
    super("WIRING_UNAVAILABLE", `cannot wire the federation to the apps: missing ${missing.join(", ")}`, options);
  }
}

/** Not every message of a relay measurement executed on the destination in time. */
export class RelayTimeoutError extends FederationError {
  override name = "RelayTimeoutError";
  constructor(
    readonly expected: number,
    readonly executed: number,
  ) {
    super("RELAY_TIMEOUT", `only ${executed} of ${expected} messages executed on the destination before the timeout`);
  }
}

/**
 * The federation file's `custody` section names contracts that KeyCustody does not trust (its
 * AccessLedger or PolicyMirror differ): a custodian would check grants against the wrong ledger.
 */
export class CustodyMisconfiguredError extends FederationError {
  override name = "CustodyMisconfiguredError";
  constructor(
    readonly field: "accessLedger" | "policyMirror",
    readonly configured: string,
    readonly onChain: string,
  ) {
    super("CUSTODY_MISCONFIGURED", `custody.${field} is ${configured} but KeyCustody uses ${onChain}`);
  }
}

/** The member could not register its custody key on KeyCustody (retried). */
export class CustodyRegistrationError extends FederationError {
  override name = "CustodyRegistrationError";
  constructor(
    readonly member: string,
    readonly setIndex: number,
    message: string,
    options: FederationErrorOptions = {},
  ) {
    super("CUSTODY_REGISTRATION_FAILED", `member ${member} (set ${setIndex}): ${message}`, options);
  }
}

/**
 * A release for a grant failed for a reason that may pass (node unreachable, transaction not mined,
 * an unexpected revert); the custodian retries the same grant. `revert` names KeyCustody's error
 * when the node reported one.
 */
export class CustodyReleaseError extends FederationError {
  override name = "CustodyReleaseError";
  constructor(
    readonly consumer: string,
    readonly entryIndex: number,
    message: string,
    readonly revert: string | undefined = undefined,
    options: FederationErrorOptions = {},
  ) {
    super("CUSTODY_RELEASE_FAILED", `release for ${consumer} entry ${entryIndex}: ${message}`, options);
  }
}

/**
 * The federation file's `checkpointer` section and AccessCheckpoints disagree on what is attested
 * (BlockSEC's chain id or AccessLedger): a member would vote roots of another ledger.
 */
export class CheckpointMisconfiguredError extends FederationError {
  override name = "CheckpointMisconfiguredError";
  constructor(
    readonly field: "secChainId" | "accessLedger",
    readonly configured: string | number,
    readonly onChain: string | number,
  ) {
    super("CHECKPOINT_MISCONFIGURED", `checkpointer ${field} is ${configured} but AccessCheckpoints attests ${onChain}`);
  }
}

/** A checkpoint vote failed for a reason that may pass (node down, not mined, unexpected revert); retried. */
export class CheckpointVoteError extends FederationError {
  override name = "CheckpointVoteError";
  constructor(
    readonly secBlock: number,
    message: string,
    readonly revert: string | undefined = undefined,
    options: FederationErrorOptions = {},
  ) {
    super("CHECKPOINT_VOTE_FAILED", `vote for BlockSEC block ${secBlock}: ${message}`, options);
  }
}

/**
 * Type guard in the style of ethers' isError.
 *
 * @example
 * if (isFederationError(e, "CONFIG_INVALID")) console.error(e.shortMessage);
 */
export function isFederationError<C extends FederationErrorCode>(e: unknown, code?: C): e is FederationError & { code: C } {
  return e instanceof FederationError && (code === undefined || e.code === code);
}

/** A governance step (handover, proposal, execution) could not be done as asked. */
export class GovernanceError extends FederationError {
  override name = "GovernanceError";
  constructor(
    readonly contract: string,
    message: string,
    options: FederationErrorOptions = {},
  ) {
    super("GOVERNANCE_FAILED", `${contract}: ${message}`, options);
  }
}

/** A step of setting up or tearing down the members' separate hosts (network namespaces, veths) failed. */
export class HostNetworkError extends FederationError {
  override name = "HostNetworkError";
  constructor(
    readonly command: readonly string[],
    message: string,
    options: FederationErrorOptions = {},
  ) {
    super("HOST_NETWORK_FAILED", `${command.join(" ")}: ${message}`, options);
  }
}

/** An inbox answered a view call with bytes of another shape than its ABI says (a wrong node or contract). */
export class InboxReplyError extends FederationError {
  override name = "InboxReplyError";
  constructor(
    readonly method: string,
    readonly expected: number,
    readonly got: string,
  ) {
    super("INBOX_REPLY_INVALID", `${method}: expected ${expected} answers, got a reply that is not that (${got})`);
  }
}
