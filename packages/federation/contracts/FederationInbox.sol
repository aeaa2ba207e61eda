// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";
import {IFederationInbox} from "./interfaces/IFederationInbox.sol";

/// @title FederationInbox
/// @notice Executes threshold-signed cross-chain messages exactly once and keeps the member set.
/// @dev The EIP-712 domain is bound to this chain and this contract, so a signature made for one
/// inbox is worthless on another; the message also names its destination chain, checked first.
/// Replay protection is a bitmap per source chain (256 nonces per storage word). An app that
/// reverts does not block its lane: the failure is recorded with its revert data and the message
/// can be retried by anyone.
contract FederationInbox is EIP712, ReentrancyGuardTransient, IFederationInbox {
    bytes32 public constant MESSAGE_TYPEHASH = keccak256(
        "Message(uint256 srcChainId,address srcSender,uint64 nonce,uint256 dstChainId,address dstContract,bytes payload)"
    );
    bytes32 public constant BATCH_TYPEHASH =
        keccak256("Batch(uint256 srcChainId,uint64 firstNonce,uint64 lastNonce,bytes32 root)");
    bytes32 public constant MEMBER_SET_TYPEHASH = keccak256(
        "MemberSetUpdate(uint32 setIndex,address[] members,uint8 threshold,uint8 pauseThreshold,uint8 unpauseThreshold)"
    );
    bytes32 public constant PAUSE_TYPEHASH = keccak256("PauseChange(uint256 srcChainId,bool paused,uint64 nonce)");

    /// Largest member set: members are tracked in a bitmask and scanned linearly.
    uint256 public constant MAX_MEMBERS = 32;
    /// Revert data kept from a failed app call; the rest is dropped (a huge revert cannot eat the batch's gas).
    uint256 public constant MAX_REASON_BYTES = 512;
    /// Gas kept back after the app call for bookkeeping and the event.
    uint256 private constant GAS_RESERVE = 40_000;

    struct MemberSet {
        address[] members;
        uint8 threshold;
        uint8 pauseThreshold;
        uint8 unpauseThreshold;
    }

    /// Seconds the previous member set stays valid for messages after a rotation.
    uint64 public immutable gracePeriod;
    /// Gas each app call receives; a relayer must leave at least this much for every message.
    uint256 public immutable appGasLimit;
    /// Seconds a pause signed by fewer than `unpauseThreshold` members lasts.
    uint64 public immutable minorityPauseDuration;
    /// Seconds a member who signed a minority pause must wait before signing another one.
    uint64 public immutable minorityPauseCooldown;

    mapping(uint32 setIndex => MemberSet) private _sets;
    uint32 private _currentSetIndex;
    uint64 private _previousSetExpiresAt;
    uint64 private _governanceNonce;
    mapping(uint256 srcChainId => mapping(uint256 word => uint256 bits)) private _executed;
    mapping(bytes32 digest => bool) private _failed;
    /// Paused while block.timestamp < value; type(uint64).max = until unpaused.
    mapping(uint256 srcChainId => uint64) private _pausedUntil;
    mapping(address member => uint64) private _lastMinorityPause;

    /// @param members Initial member set (set index 0).
    /// @param threshold Signatures needed for a message and for a member-set update.
    /// @param pauseThreshold Signatures needed to pause (fewer than `unpauseThreshold`).
    /// @param unpauseThreshold Signatures needed to unpause.
    /// @param gracePeriod_ Seconds the previous set stays valid after a rotation.
    /// @param appGasLimit_ Gas cap of each app call.
    /// @param minorityPauseDuration_ Seconds a pause by fewer than `unpauseThreshold` signers lasts.
    /// @param minorityPauseCooldown_ Seconds before a signer of a minority pause may sign another
    /// (at least the duration, so nobody renews their own pause back to back).
    constructor(
        address[] memory members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold,
        uint64 gracePeriod_,
        uint256 appGasLimit_,
        uint64 minorityPauseDuration_,
        uint64 minorityPauseCooldown_
    ) EIP712("SidegridFederationInbox", "1") {
        _validateSet(members, threshold, pauseThreshold, unpauseThreshold);
        if (minorityPauseDuration_ == 0 || minorityPauseCooldown_ < minorityPauseDuration_) {
            revert InboxInvalidPauseTiming(minorityPauseDuration_, minorityPauseCooldown_);
        }
        gracePeriod = gracePeriod_;
        appGasLimit = appGasLimit_;
        minorityPauseDuration = minorityPauseDuration_;
        minorityPauseCooldown = minorityPauseCooldown_;
        _sets[0] = MemberSet(members, threshold, pauseThreshold, unpauseThreshold);
        emit MemberSetUpdated(0, members, threshold, pauseThreshold, unpauseThreshold, 0);
    }

    // ---------------------------------------------------------------- messages

    /// @inheritdoc IFederationInbox
    function deliver(Message[] calldata messages, bytes[] calldata signatures) external nonReentrant {
        uint256 n = messages.length;
        if (n == 0 || n != signatures.length) revert InboxBatchMismatch(n, signatures.length);
        // Both sets are read from storage once per batch, not once per signature.
        MemberSet memory cur = _sets[_currentSetIndex];
        MemberSet memory prev;
        if (_currentSetIndex > 0 && block.timestamp < _previousSetExpiresAt) prev = _sets[_currentSetIndex - 1];
        for (uint256 i = 0; i < n; ++i) {
            _deliverOne(messages[i], signatures[i], cur, prev);
        }
        emit BatchDelivered(msg.sender, n);
    }

    function _deliverOne(Message calldata m, bytes calldata sigs, MemberSet memory cur, MemberSet memory prev) private {
        if (m.dstChainId != block.chainid) revert InboxWrongDestination(m.dstChainId, block.chainid);
        if (_isPaused(m.srcChainId)) revert InboxPaused(m.srcChainId);
        uint256 word = uint256(m.nonce) >> 8;
        uint256 bit = 1 << (uint256(m.nonce) & 0xff);
        uint256 bits = _executed[m.srcChainId][word];
        if (bits & bit != 0) revert InboxAlreadyExecuted(m.srcChainId, m.nonce);

        bytes32 digest = _messageDigest(m);
        _requireQuorum(digest, sigs, cur, prev);
        // Consumed before the app runs: a re-entering app cannot execute it twice.
        _executed[m.srcChainId][word] = bits | bit;
        _callAndRecord(m, digest);
    }

    /// @inheritdoc IFederationInbox
    function deliverBatches(BatchDelivery[] calldata deliveries) external nonReentrant {
        uint256 k = deliveries.length;
        if (k == 0) revert InboxBatchMismatch(0, 0);
        MemberSet memory cur = _sets[_currentSetIndex];
        MemberSet memory prev;
        if (_currentSetIndex > 0 && block.timestamp < _previousSetExpiresAt) prev = _sets[_currentSetIndex - 1];
        uint256 total;
        for (uint256 i = 0; i < k; ++i) {
            total += _deliverBatch(deliveries[i], cur, prev);
        }
        emit BatchDelivered(msg.sender, total);
    }

    /// One signed root: quorum once, then each message's place in the batch, then the proof, then
    /// execution. Nothing executes before the proof holds for all of them.
    function _deliverBatch(BatchDelivery calldata d, MemberSet memory cur, MemberSet memory prev)
        private
        returns (uint256 n)
    {
        Batch calldata b = d.batch;
        n = d.messages.length;
        if (n == 0) revert InboxEmptyDelivery(b.root);
        if (_isPaused(b.srcChainId)) revert InboxPaused(b.srcChainId);
        _requireQuorum(_batchDigest(b), d.signatures, cur, prev);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            Message calldata m = d.messages[i];
            if (m.dstChainId != block.chainid) revert InboxWrongDestination(m.dstChainId, block.chainid);
            if (m.srcChainId != b.srcChainId || m.nonce < b.firstNonce || m.nonce > b.lastNonce) {
                revert InboxMessageOutsideBatch(m.srcChainId, m.nonce, b.root);
            }
            leaves[i] = _messageDigest(m);
        }
        _requireProof(d.proof, d.proofFlags, b.root, leaves);
        for (uint256 i = 0; i < n; ++i) {
            _execute(d.messages[i], leaves[i]);
        }
    }

    /// OZ's multiproof check, with the shape checked first so a malformed proof is refused with
    /// this contract's error (OZ would revert with its own or a panic): one proof element per false
    /// flag, and leaves + proof = flags + 1.
    function _requireProof(bytes32[] calldata proof, bool[] calldata flags, bytes32 root, bytes32[] memory leaves)
        private
        pure
    {
        uint256 nFlags = flags.length;
        if (leaves.length + proof.length != nFlags + 1) revert InboxInvalidProof(root);
        uint256 fromProof;
        for (uint256 i = 0; i < nFlags; ++i) {
            if (!flags[i]) ++fromProof;
        }
        if (fromProof != proof.length) revert InboxInvalidProof(root);
        if (!MerkleProof.multiProofVerifyCalldata(proof, flags, root, leaves)) revert InboxInvalidProof(root);
    }

    /// A quorum of the current set, or of the previous set while it is in its grace period.
    function _requireQuorum(bytes32 digest, bytes calldata sigs, MemberSet memory cur, MemberSet memory prev)
        private
        view
    {
        (uint256 curCount, uint256 prevCount) = _countSigners(digest, sigs, cur.members, prev.members);
        if (curCount < cur.threshold && (prev.members.length == 0 || prevCount < prev.threshold)) {
            revert InboxInsufficientSignatures(digest, curCount, cur.threshold);
        }
    }

    /// Marks the message executed and calls its app; a message already executed reverts.
    function _execute(Message calldata m, bytes32 digest) private {
        uint256 word = uint256(m.nonce) >> 8;
        uint256 bit = 1 << (uint256(m.nonce) & 0xff);
        uint256 bits = _executed[m.srcChainId][word];
        if (bits & bit != 0) revert InboxAlreadyExecuted(m.srcChainId, m.nonce);
        _executed[m.srcChainId][word] = bits | bit;
        _callAndRecord(m, digest);
    }

    /// Calls the app with its full gas cap (or refuses the whole call) and records the outcome.
    function _callAndRecord(Message calldata m, bytes32 digest) private {
        uint256 required = (appGasLimit * 64) / 63 + GAS_RESERVE;
        if (gasleft() < required) revert InboxInsufficientGas(gasleft(), required);
        (bool ok, bytes memory reason) = _callApp(m);
        if (ok) {
            emit MessageExecuted(m.srcChainId, m.nonce, m.dstContract, digest);
        } else {
            _failed[digest] = true;
            emit MessageFailed(m.srcChainId, m.nonce, m.dstContract, digest, reason);
        }
    }

    /// @inheritdoc IFederationInbox
    function retry(Message calldata message) external nonReentrant {
        if (_isPaused(message.srcChainId)) revert InboxPaused(message.srcChainId);
        bytes32 digest = _messageDigest(message);
        if (!_failed[digest]) revert InboxNotFailed(digest);
        delete _failed[digest];
        (bool ok, bytes memory reason) = _callApp(message);
        if (!ok) revert InboxRetryFailed(digest, reason);
        emit MessageRetried(digest, msg.sender);
        emit MessageExecuted(message.srcChainId, message.nonce, message.dstContract, digest);
    }

    /// Calls the app with a gas cap, copying at most MAX_REASON_BYTES of revert data.
    function _callApp(Message calldata m) private returns (bool ok, bytes memory reason) {
        address target = m.dstContract;
        if (target.code.length == 0) return (false, abi.encodeWithSelector(InboxNotAContract.selector, target));
        bytes memory data = abi.encodeCall(IFederatedReceiver.onFederatedMessage, (m.srcChainId, m.srcSender, m.payload));
        uint256 gasCap = appGasLimit;
        uint256 maxReason = MAX_REASON_BYTES;
        assembly ("memory-safe") {
            ok := call(gasCap, target, 0, add(data, 0x20), mload(data), 0, 0)
            if iszero(ok) {
                let size := returndatasize()
                if gt(size, maxReason) { size := maxReason }
                reason := mload(0x40)
                mstore(reason, size)
                returndatacopy(add(reason, 0x20), 0, size)
                mstore(0x40, add(add(reason, 0x20), and(add(size, 31), not(31))))
            }
        }
        if (ok) reason = "";
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IFederationInbox
    function updateMemberSet(
        uint32 setIndex,
        address[] calldata members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold,
        bytes calldata signatures
    ) external {
        uint32 expected = _currentSetIndex + 1;
        if (setIndex != expected) revert InboxBadSetIndex(expected, setIndex);
        _validateSet(members, threshold, pauseThreshold, unpauseThreshold);
        bytes32 digest = _memberSetDigest(setIndex, members, threshold, pauseThreshold, unpauseThreshold);
        MemberSet storage cur = _sets[_currentSetIndex];
        _requireCurrentSigners(digest, signatures, cur.members, cur.threshold);

        uint64 expiresAt = uint64(block.timestamp) + gracePeriod;
        _previousSetExpiresAt = expiresAt;
        _currentSetIndex = setIndex;
        _sets[setIndex] = MemberSet(members, threshold, pauseThreshold, unpauseThreshold);
        emit MemberSetUpdated(setIndex, members, threshold, pauseThreshold, unpauseThreshold, expiresAt);
    }

    /// @inheritdoc IFederationInbox
    function setPaused(uint256 srcChainId, bool paused, uint64 nonce, bytes calldata signatures) external {
        if (nonce != _governanceNonce) revert InboxBadGovernanceNonce(_governanceNonce, nonce);
        uint64 until = _pausedUntil[srcChainId];
        bool active = block.timestamp < until;
        MemberSet memory cur = _sets[_currentSetIndex];
        bytes32 digest = _pauseDigest(srcChainId, paused, nonce);
        uint64 newUntil;
        if (!paused) {
            if (!active) revert InboxPauseUnchanged(srcChainId, false);
            _requireCurrentSigners(digest, signatures, cur.members, cur.unpauseThreshold);
        } else {
            // Stopping is cheap, restarting is not: a minority can halt a lane it sees misbehave, but
            // only for a bounded time and not back to back, so one member cannot freeze consent
            // relay (revocations) for good. A pause as strong as an unpause lasts until unpaused.
            (uint256 count, uint256 mask) = _currentSigners(digest, signatures, cur.members);
            if (count < cur.pauseThreshold) revert InboxInsufficientSignatures(digest, count, cur.pauseThreshold);
            if (count >= cur.unpauseThreshold) {
                newUntil = type(uint64).max;
            } else {
                _chargeMinorityPause(cur.members, mask);
                newUntil = uint64(block.timestamp) + minorityPauseDuration;
            }
            if (newUntil <= until) revert InboxPauseUnchanged(srcChainId, true);
        }
        _governanceNonce = nonce + 1;
        _pausedUntil[srcChainId] = newUntil;
        emit PauseChanged(srcChainId, paused, nonce, newUntil);
    }

    /// Refuses a minority pause if any signer paused within the cooldown, then stamps them all.
    function _chargeMinorityPause(address[] memory members, uint256 mask) private {
        uint64 nowTs = uint64(block.timestamp);
        for (uint256 i = 0; i < members.length; ++i) {
            if (mask & (1 << i) == 0) continue;
            uint64 last = _lastMinorityPause[members[i]];
            if (last != 0 && nowTs < last + minorityPauseCooldown) {
                revert InboxPauseCooldown(members[i], last + minorityPauseCooldown);
            }
            _lastMinorityPause[members[i]] = nowTs;
        }
    }

    function _isPaused(uint256 srcChainId) private view returns (bool) {
        return block.timestamp < _pausedUntil[0] || block.timestamp < _pausedUntil[srcChainId];
    }

    function _requireCurrentSigners(bytes32 digest, bytes calldata sigs, address[] memory members, uint256 required)
        private
        view
    {
        (uint256 count, ) = _currentSigners(digest, sigs, members);
        if (count < required) revert InboxInsufficientSignatures(digest, count, required);
    }

    /// Distinct signers of `digest` in the current set, and which (bit i = members[i]).
    function _currentSigners(bytes32 digest, bytes calldata sigs, address[] memory members)
        private
        view
        returns (uint256 count, uint256 mask)
    {
        if (sigs.length % 65 != 0) revert InboxMalformedSignatures(sigs.length);
        uint256 k = sigs.length / 65;
        for (uint256 i = 0; i < k; ++i) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, sigs[i * 65:(i + 1) * 65]);
            if (err != ECDSA.RecoverError.NoError) revert InboxInvalidSignature(digest, i);
            uint256 p = _indexOf(members, signer);
            if (p >= members.length) revert InboxNotMember(signer, _currentSetIndex);
            if (mask & (1 << p) != 0) revert InboxDuplicateSigner(signer);
            mask |= 1 << p;
            ++count;
        }
    }

    function _validateSet(address[] memory members, uint8 threshold, uint8 pauseThreshold, uint8 unpauseThreshold)
        private
        pure
    {
        uint256 n = members.length;
        // A majority threshold keeps two disjoint quorums from existing; pause < unpause <= n.
        bool ok = n >= 2 && n <= MAX_MEMBERS && threshold <= n && uint256(threshold) * 2 > n && pauseThreshold >= 1
            && pauseThreshold < unpauseThreshold && unpauseThreshold <= n;
        for (uint256 i = 0; ok && i < n; ++i) {
            if (members[i] == address(0)) ok = false;
            for (uint256 j = 0; ok && j < i; ++j) {
                if (members[j] == members[i]) ok = false;
            }
        }
        if (!ok) revert InboxInvalidMemberSet(n, threshold, pauseThreshold, unpauseThreshold);
    }

    // ---------------------------------------------------------------- signatures

    /// Counts distinct signers of `digest` in the current and previous sets. Any signer in
    /// neither set, a duplicate or an unrecoverable signature reverts the whole call.
    function _countSigners(bytes32 digest, bytes calldata sigs, address[] memory cur, address[] memory prev)
        private
        view
        returns (uint256 curCount, uint256 prevCount)
    {
        if (sigs.length % 65 != 0) revert InboxMalformedSignatures(sigs.length);
        uint256 k = sigs.length / 65;
        uint256 seenCur;
        uint256 seenPrev;
        for (uint256 i = 0; i < k; ++i) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, sigs[i * 65:(i + 1) * 65]);
            if (err != ECDSA.RecoverError.NoError) revert InboxInvalidSignature(digest, i);
            bool known;
            uint256 p = _indexOf(cur, signer);
            if (p < cur.length) {
                if (seenCur & (1 << p) != 0) revert InboxDuplicateSigner(signer);
                seenCur |= 1 << p;
                ++curCount;
                known = true;
            }
            p = _indexOf(prev, signer);
            if (p < prev.length) {
                if (seenPrev & (1 << p) != 0) revert InboxDuplicateSigner(signer);
                seenPrev |= 1 << p;
                ++prevCount;
                known = true;
            }
            if (!known) revert InboxNotMember(signer, _currentSetIndex);
        }
    }

    function _indexOf(address[] memory arr, address a) private pure returns (uint256) {
        for (uint256 i = 0; i < arr.length; ++i) {
            if (arr[i] == a) return i;
        }
        return type(uint256).max;
    }

    function _messageDigest(Message calldata m) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    MESSAGE_TYPEHASH, m.srcChainId, m.srcSender, m.nonce, m.dstChainId, m.dstContract, keccak256(m.payload)
                )
            )
        );
    }

    function _batchDigest(Batch calldata b) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(BATCH_TYPEHASH, b.srcChainId, b.firstNonce, b.lastNonce, b.root)));
    }

    function _memberSetDigest(
        uint32 setIndex,
        address[] calldata members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    MEMBER_SET_TYPEHASH,
                    setIndex,
                    keccak256(abi.encodePacked(members)),
                    threshold,
                    pauseThreshold,
                    unpauseThreshold
                )
            )
        );
    }

    function _pauseDigest(uint256 srcChainId, bool paused, uint64 nonce) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PAUSE_TYPEHASH, srcChainId, paused, nonce)));
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IFederationInbox
    function messageDigest(Message calldata message) external view returns (bytes32) {
        return _messageDigest(message);
    }

    /// @inheritdoc IFederationInbox
    function batchDigest(Batch calldata batch) external view returns (bytes32) {
        return _batchDigest(batch);
    }

    /// @inheritdoc IFederationInbox
    function memberSetDigest(
        uint32 setIndex,
        address[] calldata members,
        uint8 threshold,
        uint8 pauseThreshold,
        uint8 unpauseThreshold
    ) external view returns (bytes32) {
        return _memberSetDigest(setIndex, members, threshold, pauseThreshold, unpauseThreshold);
    }

    /// @inheritdoc IFederationInbox
    function pauseDigest(uint256 srcChainId, bool paused, uint64 nonce) external view returns (bytes32) {
        return _pauseDigest(srcChainId, paused, nonce);
    }

    /// @inheritdoc IFederationInbox
    function isExecuted(uint256 srcChainId, uint64 nonce) public view returns (bool) {
        return _executed[srcChainId][uint256(nonce) >> 8] & (1 << (uint256(nonce) & 0xff)) != 0;
    }

    /// @inheritdoc IFederationInbox
    function areExecuted(uint256[] calldata srcChainIds, uint64[] calldata nonces) external view returns (bool[] memory out) {
        if (srcChainIds.length != nonces.length) revert InboxBatchMismatch(srcChainIds.length, nonces.length);
        out = new bool[](nonces.length);
        for (uint256 i = 0; i < nonces.length; ++i) out[i] = isExecuted(srcChainIds[i], nonces[i]);
    }

    /// @inheritdoc IFederationInbox
    function isFailed(bytes32 digest) external view returns (bool) {
        return _failed[digest];
    }

    /// @inheritdoc IFederationInbox
    function isPaused(uint256 srcChainId) external view returns (bool) {
        return _isPaused(srcChainId);
    }

    /// @inheritdoc IFederationInbox
    function pausedUntil(uint256 srcChainId) external view returns (uint64) {
        uint64 a = _pausedUntil[0];
        uint64 b = _pausedUntil[srcChainId];
        uint64 u = a > b ? a : b;
        return block.timestamp < u ? u : 0;
    }

    /// @inheritdoc IFederationInbox
    function lastMinorityPause(address member) external view returns (uint64) {
        return _lastMinorityPause[member];
    }

    /// @inheritdoc IFederationInbox
    function currentSetIndex() external view returns (uint32) {
        return _currentSetIndex;
    }

    /// @inheritdoc IFederationInbox
    function memberSet(uint32 setIndex)
        external
        view
        returns (address[] memory members, uint8 threshold, uint8 pauseThreshold, uint8 unpauseThreshold)
    {
        MemberSet storage s = _sets[setIndex];
        return (s.members, s.threshold, s.pauseThreshold, s.unpauseThreshold);
    }

    /// @inheritdoc IFederationInbox
    function previousSetExpiresAt() external view returns (uint64) {
        return _previousSetExpiresAt;
    }

    /// @inheritdoc IFederationInbox
    function governanceNonce() external view returns (uint64) {
        return _governanceNonce;
    }
}
