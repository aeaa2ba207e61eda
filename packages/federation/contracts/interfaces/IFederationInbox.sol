// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IFederationInbox
/// @notice The receiving side of the federation on one chain: checks the members' EIP-712
/// signatures on each message, executes every message exactly once and hands it to the
/// destination app through `IFederatedReceiver.onFederatedMessage`.
interface IFederationInbox {
    /// @notice One cross-chain message as the source outbox published it.
    struct Message {
        uint256 srcChainId;
        address srcSender;
        uint64 nonce;
        uint256 dstChainId;
        address dstContract;
        bytes payload;
    }

    /// @notice What members sign once for many messages of one source chain: the root of a Merkle
    /// tree (OpenZeppelin `MerkleProof`, sorted pairs) whose leaves are the messages' EIP-712
    /// digests for this inbox, with the lane nonces they may carry. The destination is bound by
    /// the EIP-712 domain (this chain, this inbox).
    struct Batch {
        uint256 srcChainId;
        uint64 firstNonce;
        uint64 lastNonce;
        bytes32 root;
    }

    /// @notice Some or all messages of one signed batch, with an OZ multiproof of them against its
    /// root (leaves in the order the multiproof consumes them). `signatures` are 65-byte member
    /// signatures over the batch's EIP-712 digest.
    struct BatchDelivery {
        Batch batch;
        bytes signatures;
        Message[] messages;
        bytes32[] proof;
        bool[] proofFlags;
    }

    /// @notice The app accepted message (`srcChainId`, `nonce`).
    event MessageExecuted(uint256 indexed srcChainId, uint64 indexed nonce, address indexed dstContract, bytes32 digest);
    /// @notice The app reverted (or ran out of its gas cap); the message is consumed and can be
    /// retried with {retry}. `reason` is the (truncated) revert data.
    event MessageFailed(
        uint256 indexed srcChainId,
        uint64 indexed nonce,
        address indexed dstContract,
        bytes32 digest,
        bytes reason
    );
    /// @notice `relayer` delivered a batch of `messages` messages (members watch this to tell a live
    /// relayer from a dead one).
    event BatchDelivered(address indexed relayer, uint256 messages);
    /// @notice A failed message was executed successfully by {retry}.
    event MessageRetried(bytes32 indexed digest, address indexed caller);
    /// @notice Member set `setIndex` became current; the previous set signs messages until
    /// `previousSetExpiresAt`.
    event MemberSetUpdated(
        uint32 indexed setIndex,
        address[] members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold,
        uint64 previousSetExpiresAt
    );
    /// @notice Delivery from `srcChainId` (0 = from every chain) was paused until `pausedUntil`
    /// (type(uint64).max = until unpaused) or unpaused (`pausedUntil` 0).
    event PauseChanged(uint256 indexed srcChainId, bool paused, uint64 governanceNonce, uint64 pausedUntil);

    /// @notice The message is addressed to another chain.
    error InboxWrongDestination(uint256 dstChainId, uint256 chainId);
    /// @notice The message was already executed (or consumed as failed).
    error InboxAlreadyExecuted(uint256 srcChainId, uint64 nonce);
    /// @notice Delivery from this source chain is paused.
    error InboxPaused(uint256 srcChainId);
    /// @notice `messages` and `signatures` differ in length, or the batch is empty.
    error InboxBatchMismatch(uint256 messages, uint256 signatures);
    /// @notice A signature blob is not a multiple of 65 bytes.
    error InboxMalformedSignatures(uint256 length);
    /// @notice Signature number `index` over `digest` cannot be recovered (bad length, high s, bad v).
    error InboxInvalidSignature(bytes32 digest, uint256 index);
    /// @notice The recovered signer is in neither the current set nor a previous set still in grace.
    error InboxNotMember(address signer, uint32 currentSetIndex);
    /// @notice The same member signed twice.
    error InboxDuplicateSigner(address signer);
    /// @notice Too few distinct valid member signatures over `digest`.
    error InboxInsufficientSignatures(bytes32 digest, uint256 valid, uint256 required);
    /// @notice A member-set update must carry the next set index.
    error InboxBadSetIndex(uint32 expected, uint32 actual);
    /// @notice The proposed member set or thresholds are not acceptable.
    error InboxInvalidMemberSet(uint256 members, uint8 threshold, uint8 pauseThreshold, uint8 unpauseThreshold);
    /// @notice A pause change must carry the current governance nonce.
    error InboxBadGovernanceNonce(uint64 expected, uint64 actual);
    /// @notice The pause state is already what was asked (or a pause would not extend the current one).
    error InboxPauseUnchanged(uint256 srcChainId, bool paused);
    /// @notice `member` signed a minority pause within the cooldown; it may sign another from `availableAt`.
    error InboxPauseCooldown(address member, uint64 availableAt);
    /// @notice A minority pause must last > 0 s and its cooldown at least as long.
    error InboxInvalidPauseTiming(uint64 duration, uint64 cooldown);
    /// @notice The transaction has too little gas left to give the app its full gas cap.
    error InboxInsufficientGas(uint256 gasLeft, uint256 required);
    /// @notice The message is not recorded as failed (never delivered, succeeded, or already retried).
    error InboxNotFailed(bytes32 digest);
    /// @notice The retried message reverted again.
    error InboxRetryFailed(bytes32 digest, bytes reason);
    /// @notice A batch delivery carries no message.
    error InboxEmptyDelivery(bytes32 root);
    /// @notice The message's source chain or nonce is not what the signed batch covers.
    error InboxMessageOutsideBatch(uint256 srcChainId, uint64 nonce, bytes32 root);
    /// @notice The messages and the multiproof do not rebuild the signed root (a message of another
    /// batch, a forged or altered message, leaves out of order, a malformed proof).
    error InboxInvalidProof(bytes32 root);
    /// @notice Reported as the failure reason when the destination has no code.
    error InboxNotAContract(address dstContract);

    /// @notice Executes a batch of messages. `signatures[i]` is the concatenation of 65-byte
    /// member signatures (r ‖ s ‖ v, any order) over the EIP-712 digest of `messages[i]`.
    /// @dev Anyone may call; the signatures are the authority. Reverts as a whole on any invalid
    /// message (wrong chain, replay, paused lane, bad signature set), so relayers filter first.
    function deliver(Message[] calldata messages, bytes[] calldata signatures) external;

    /// @notice Executes messages of signed batches: for each delivery, a quorum of one valid member
    /// set over the batch's EIP-712 digest (checked once), every message from the batch's source
    /// chain, within its nonce range and addressed here, and a multiproof of the messages against
    /// the root. Then each message as in {deliver}: once (bitmap), lane not paused, app called with
    /// its gas cap, an app revert recorded.
    /// @dev Anyone may call. A subset of a batch may be delivered (the rest later, with its own
    /// proof). Reverts as a whole on any invalid delivery.
    function deliverBatches(BatchDelivery[] calldata deliveries) external;

    /// @notice Re-executes a message recorded as failed; anyone may call.
    function retry(Message calldata message) external;

    /// @notice Replaces the member set with set `setIndex` (= current + 1), signed by a threshold of
    /// the current set. Add, remove, rotate a key and change thresholds are all expressed this way.
    function updateMemberSet(
        uint32 setIndex,
        address[] calldata members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold,
        bytes calldata signatures
    ) external;

    /// @notice Pauses (needs `pauseThreshold` signatures) or unpauses (needs `unpauseThreshold`)
    /// delivery from `srcChainId` (0 = all), signed by the current set over `nonce` = {governanceNonce}.
    /// A pause by fewer than `unpauseThreshold` signers expires by itself after
    /// `minorityPauseDuration`, and none of its signers may sign another minority pause within
    /// `minorityPauseCooldown`; a pause by `unpauseThreshold` signers lasts until unpaused. A pause
    /// is accepted only if it extends the current one.
    function setPaused(uint256 srcChainId, bool paused, uint64 nonce, bytes calldata signatures) external;

    /// @notice The EIP-712 digest members sign for `message` on this inbox.
    function messageDigest(Message calldata message) external view returns (bytes32);

    /// @notice The EIP-712 digest members sign for `batch` on this inbox.
    function batchDigest(Batch calldata batch) external view returns (bytes32);

    /// @notice The digest signed for a member-set update.
    function memberSetDigest(
        uint32 setIndex,
        address[] calldata members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold
    ) external view returns (bytes32);

    /// @notice The digest signed for a pause change.
    function pauseDigest(uint256 srcChainId, bool paused, uint64 nonce) external view returns (bytes32);

    /// @notice True if message `nonce` from `srcChainId` was executed or consumed as failed.
    function isExecuted(uint256 srcChainId, uint64 nonce) external view returns (bool);

    /// @notice {isExecuted} for many messages at once (relayers filter a batch with one call).
    function areExecuted(uint256[] calldata srcChainIds, uint64[] calldata nonces) external view returns (bool[] memory);

    /// @notice True if the failed message with this digest awaits a retry.
    function isFailed(bytes32 digest) external view returns (bool);

    /// @notice True if delivery from `srcChainId` is paused (directly or by the global pause), expiry honoured.
    function isPaused(uint256 srcChainId) external view returns (bool);

    /// @notice When the pause on `srcChainId` (or the global one, whichever is later) ends; 0 if not
    /// paused, type(uint64).max if it lasts until unpaused.
    function pausedUntil(uint256 srcChainId) external view returns (uint64);

    /// @notice When `member` last signed a minority pause (0 = never).
    function lastMinorityPause(address member) external view returns (uint64);

    /// @notice The index of the current member set.
    function currentSetIndex() external view returns (uint32);

    /// @notice Member set `setIndex` and its thresholds.
    function memberSet(uint32 setIndex)
        external
        view
        returns (address[] memory members, uint8 threshold, uint8 pauseThreshold, uint8 unpauseThreshold);

    /// @notice Until when the previous set may still sign messages (0 = never, for set 0).
    function previousSetExpiresAt() external view returns (uint64);

    /// @notice The nonce the next pause change must carry.
    function governanceNonce() external view returns (uint64);
}
