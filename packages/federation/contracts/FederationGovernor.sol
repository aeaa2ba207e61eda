// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IFederationInbox} from "./interfaces/IFederationInbox.sol";
import {IFederationGovernor} from "./interfaces/IFederationGovernor.sol";
import {SidegridTimelock} from "./SidegridTimelock.sol";

/// @title FederationGovernor
/// @notice The only proposer and canceller of its chain's SidegridTimelock, which holds
/// DEFAULT_ADMIN_ROLE on every Sidegrid contract of the chain. A call batch is scheduled (or
/// cancelled) only with the signatures of the inbox's current threshold of current members, so the
/// deployer keeps no key that bypasses the federation, and every change waits out the delay.
/// @dev The member set is read from the inbox at call time: a rotation there rotates governance
/// too. The timelock is created here, so the governor needs no initializer and nobody else ever
/// held its proposer role.
contract FederationGovernor is EIP712, IFederationGovernor {
    bytes32 public constant SCHEDULE_TYPEHASH = keccak256(
        "Schedule(address[] targets,uint256[] values,bytes[] payloads,bytes32 predecessor,bytes32 salt,uint256 delay)"
    );
    bytes32 public constant CANCEL_TYPEHASH = keccak256("Cancel(bytes32 operationId)");

    IFederationInbox private immutable _inbox;
    SidegridTimelock private immutable _timelock;
    mapping(bytes32 digest => bool) private _used;

    /// @param inbox_ This chain's FederationInbox (member sets and threshold).
    /// @param minDelay The timelock's minimum delay in seconds.
    constructor(IFederationInbox inbox_, uint256 minDelay) EIP712("SidegridFederationGovernor", "1") {
        _inbox = inbox_;
        address[] memory proposers = new address[](1);
        proposers[0] = address(this);
        address[] memory executors = new address[](1);
        executors[0] = address(0);
        _timelock = new SidegridTimelock(minDelay, proposers, executors);
    }

    /// @inheritdoc IFederationGovernor
    function schedule(Proposal calldata p, bytes calldata signatures) external returns (bytes32 id) {
        bytes32 digest = _scheduleDigest(p);
        uint256 signers = _authorize(digest, signatures);
        _timelock.scheduleBatch(p.targets, p.values, p.payloads, p.predecessor, p.salt, p.delay);
        id = _timelock.hashOperationBatch(p.targets, p.values, p.payloads, p.predecessor, p.salt);
        emit ProposalScheduled(id, digest, signers, p.delay);
    }

    /// @inheritdoc IFederationGovernor
    function cancel(bytes32 id, bytes calldata signatures) external {
        bytes32 digest = _cancelDigest(id);
        uint256 signers = _authorize(digest, signatures);
        _timelock.cancel(id);
        emit ProposalCancelled(id, digest, signers);
    }

    /// Checks a threshold of current members signed `digest`, once.
    function _authorize(bytes32 digest, bytes calldata sigs) private returns (uint256 count) {
        if (_used[digest]) revert GovernorDigestUsed(digest);
        uint32 setIndex = _inbox.currentSetIndex();
        (address[] memory members, uint8 threshold,,) = _inbox.memberSet(setIndex);
        if (sigs.length % 65 != 0) revert GovernorMalformedSignatures(sigs.length);
        uint256 k = sigs.length / 65;
        uint256 seen;
        for (uint256 i = 0; i < k; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, sigs[i * 65:(i + 1) * 65]);
            if (err != ECDSA.RecoverError.NoError) revert GovernorInvalidSignature(digest, i);
            uint256 pos = members.length;
            for (uint256 j = 0; j < members.length; ++j) {
                if (members[j] == signer) {
                    pos = j;
                    break;
                }
            }
            if (pos == members.length) revert GovernorNotMember(signer, setIndex);
            if (seen & (1 << pos) != 0) revert GovernorDuplicateSigner(signer);
            seen |= 1 << pos;
            ++count;
        }
        if (count < threshold) revert GovernorInsufficientSignatures(digest, count, threshold);
        _used[digest] = true;
    }

    function _scheduleDigest(Proposal calldata p) private view returns (bytes32) {
        bytes32[] memory payloadHashes = new bytes32[](p.payloads.length);
        for (uint256 i = 0; i < p.payloads.length; ++i) payloadHashes[i] = keccak256(p.payloads[i]);
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SCHEDULE_TYPEHASH,
                    keccak256(abi.encodePacked(p.targets)),
                    keccak256(abi.encodePacked(p.values)),
                    keccak256(abi.encodePacked(payloadHashes)),
                    p.predecessor,
                    p.salt,
                    p.delay
                )
            )
        );
    }

    function _cancelDigest(bytes32 id) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CANCEL_TYPEHASH, id)));
    }

    /// @inheritdoc IFederationGovernor
    function scheduleDigest(Proposal calldata proposal) external view returns (bytes32) {
        return _scheduleDigest(proposal);
    }

    /// @inheritdoc IFederationGovernor
    function cancelDigest(bytes32 id) external view returns (bytes32) {
        return _cancelDigest(id);
    }

    /// @inheritdoc IFederationGovernor
    function isUsed(bytes32 digest) external view returns (bool) {
        return _used[digest];
    }

    /// @inheritdoc IFederationGovernor
    function timelock() external view returns (address) {
        return address(_timelock);
    }

    /// @inheritdoc IFederationGovernor
    function inbox() external view returns (address) {
        return address(_inbox);
    }
}
