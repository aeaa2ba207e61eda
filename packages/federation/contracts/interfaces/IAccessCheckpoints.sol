// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAccessCheckpoints
/// @notice Checkpoints of BlockSEC's AccessLedger kept on BlockPRI, outside the chain they attest:
/// at a BlockSEC block `secBlock`, one Merkle root over every consumer's (consumer, entry count,
/// head hash). The federation's current members vote on chain; the tuple `threshold` of them voted
/// becomes the latest checkpoint. A court compares any BlockSEC node's events against it, so a node
/// that serves a consistently trimmed log no longer passes as verified.
/// @dev leaf = keccak256(bytes.concat(keccak256(abi.encode(address consumer, uint64 count, bytes32 head)))),
/// leaves sorted by consumer address, sorted-pair tree (OZ MerkleProof); no consumer: root zero.
interface IAccessCheckpoints {
    /// @notice One finalized checkpoint.
    struct Checkpoint {
        /// The BlockSEC block whose end state the root covers (every entry in blocks <= secBlock).
        uint64 secBlock;
        bytes32 root;
        /// Consumers with at least one entry.
        uint32 consumers;
        /// Entries over all consumers.
        uint64 entries;
        /// The member set (BlockPRI FederationInbox index) whose votes finalized it.
        uint32 setIndex;
        /// The BlockPRI block in which it was finalized.
        uint64 finalizedAt;
    }

    /// @notice `member` voted for the tuple; `votes` members of set `setIndex` have voted for it so far.
    event CheckpointVoted(
        address indexed member,
        uint64 indexed secBlock,
        bytes32 root,
        uint32 consumers,
        uint64 entries,
        uint32 setIndex,
        uint32 votes
    );
    /// @notice Checkpoint number `index` became the latest.
    event Checkpointed(
        uint256 indexed index, uint64 indexed secBlock, bytes32 root, uint32 consumers, uint64 entries, uint32 setIndex
    );

    /// @notice The caller is not in the current member set `setIndex`.
    error CheckpointsNotMember(address caller, uint32 setIndex);
    /// @notice `secBlock` is not past the latest checkpoint's block.
    error CheckpointsStaleBlock(uint64 secBlock, uint64 latestSecBlock);
    /// @notice `member` voted for `secBlock` already.
    error CheckpointsAlreadyVoted(address member, uint64 secBlock);
    /// @notice A constructor argument is unusable (zero address or chain id).
    error CheckpointsInvalidConfig(string field);
    /// @notice There is no checkpoint number `index` (`count` exist).
    error CheckpointsUnknown(uint256 index, uint256 count);

    /// @notice Votes for the AccessLedger's heads at BlockSEC block `secBlock`. The call that brings
    /// the identical tuple to the current set's threshold finalizes it.
    /// @param secBlock BlockSEC block; must exceed the latest checkpoint's.
    /// @param root Merkle root over the sorted (consumer, count, head) leaves at the end of `secBlock`.
    /// @param consumers Number of leaves.
    /// @param entries Sum of the counts.
    /// @return finalized True if this vote made the tuple the latest checkpoint.
    function vote(uint64 secBlock, bytes32 root, uint32 consumers, uint64 entries) external returns (bool finalized);

    /// @notice The latest checkpoint and its number; reverts with {CheckpointsUnknown} before the first.
    function latest() external view returns (Checkpoint memory checkpoint, uint256 index);

    /// @notice Checkpoint number `index` (0 = the first).
    function checkpointAt(uint256 index) external view returns (Checkpoint memory);

    /// @notice How many checkpoints were finalized.
    function checkpointCount() external view returns (uint256);

    /// @notice Whether `member` voted for `secBlock`.
    function hasVoted(uint64 secBlock, address member) external view returns (bool);

    /// @notice Votes of set `setIndex` for one tuple at `secBlock`.
    function votesFor(uint32 setIndex, uint64 secBlock, bytes32 root, uint32 consumers, uint64 entries)
        external
        view
        returns (uint32);

    /// @notice True if (`consumer`, `count`, `head`) is a leaf of checkpoint `index`'s root by `proof`.
    function verifyHead(uint256 index, address consumer, uint64 count, bytes32 head, bytes32[] calldata proof)
        external
        view
        returns (bool);
}
