// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IFederationGovernor
/// @notice Schedules and cancels call batches on one chain's timelock when a threshold of the
/// federation's current member set (as kept by the chain's FederationInbox) signed them.
interface IFederationGovernor {
    /// @notice A call batch for the timelock (same fields as `TimelockController.scheduleBatch`).
    struct Proposal {
        address[] targets;
        uint256[] values;
        bytes[] payloads;
        bytes32 predecessor;
        bytes32 salt;
        uint256 delay;
    }

    /// @notice `signers` members scheduled timelock operation `id` (executable after `delay` seconds).
    event ProposalScheduled(bytes32 indexed id, bytes32 digest, uint256 signers, uint256 delay);
    /// @notice `signers` members cancelled timelock operation `id`.
    event ProposalCancelled(bytes32 indexed id, bytes32 digest, uint256 signers);

    /// @notice Too few distinct current members signed `digest`.
    error GovernorInsufficientSignatures(bytes32 digest, uint256 valid, uint256 required);
    /// @notice `signer` is not in the inbox's current member set `setIndex`.
    error GovernorNotMember(address signer, uint32 setIndex);
    /// @notice The same member signed twice.
    error GovernorDuplicateSigner(address signer);
    /// @notice Signature number `index` over `digest` cannot be recovered.
    error GovernorInvalidSignature(bytes32 digest, uint256 index);
    /// @notice A signature blob is not a multiple of 65 bytes.
    error GovernorMalformedSignatures(uint256 length);
    /// @notice These signatures were already used (a schedule or a cancel is accepted once).
    error GovernorDigestUsed(bytes32 digest);

    /// @notice Schedules `proposal` on the timelock. `signatures` packs 65-byte signatures (r ‖ s ‖ v)
    /// of at least the inbox's current threshold of current members over {scheduleDigest}.
    /// @dev Anyone may submit; the signatures are the authority. Each digest is accepted once.
    function schedule(Proposal calldata proposal, bytes calldata signatures) external returns (bytes32 id);

    /// @notice Cancels pending timelock operation `id`, signed like {schedule} over {cancelDigest}.
    function cancel(bytes32 id, bytes calldata signatures) external;

    /// @notice The EIP-712 digest members sign to schedule `proposal`.
    function scheduleDigest(Proposal calldata proposal) external view returns (bytes32);

    /// @notice The EIP-712 digest members sign to cancel operation `id`.
    function cancelDigest(bytes32 id) external view returns (bytes32);

    /// @notice True if the schedule or cancel signed as `digest` was already accepted.
    function isUsed(bytes32 digest) external view returns (bool);

    /// @notice The timelock this governor proposes to (created by the constructor).
    function timelock() external view returns (address);

    /// @notice The inbox whose current member set and threshold authorize proposals.
    function inbox() external view returns (address);
}
