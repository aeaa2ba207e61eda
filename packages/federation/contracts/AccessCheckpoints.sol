// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IMemberSets} from "@sidegrid/blocksec/contracts/interfaces/IKeyCustody.sol";
import {IAccessCheckpoints} from "./interfaces/IAccessCheckpoints.sol";

/// @title AccessCheckpoints
/// @notice Deployed on BlockPRI: the federation's checkpoints of BlockSEC's AccessLedger heads.
/// Nobody administers it; what it attests (BlockSEC's chain id and AccessLedger) and whose votes
/// count (the member sets of BlockPRI's FederationInbox) are fixed at construction.
/// @dev On-chain votes instead of aggregated signatures: members need no channel to each other, and
/// every vote, agreeing or not, stays visible as an event. Votes are tallied per member set, so a
/// set update mid-vote never mixes two sets' votes.
contract AccessCheckpoints is IAccessCheckpoints {
    /// BlockPRI's FederationInbox: the current member set and its threshold.
    IMemberSets public immutable memberSets;
    /// The chain id of BlockSEC, the chain attested.
    uint256 public immutable secChainId;
    /// BlockSEC's AccessLedger, the contract attested.
    address public immutable accessLedger;

    Checkpoint[] private _checkpoints;
    mapping(uint64 secBlock => mapping(address member => bool)) private _voted;
    mapping(bytes32 tally => uint32) private _votes;

    /// @param memberSets_ BlockPRI's FederationInbox.
    /// @param secChainId_ BlockSEC's chain id.
    /// @param accessLedger_ BlockSEC's AccessLedger.
    constructor(IMemberSets memberSets_, uint256 secChainId_, address accessLedger_) {
        if (address(memberSets_) == address(0)) revert CheckpointsInvalidConfig("memberSets");
        if (secChainId_ == 0) revert CheckpointsInvalidConfig("secChainId");
        if (accessLedger_ == address(0)) revert CheckpointsInvalidConfig("accessLedger");
        memberSets = memberSets_;
        secChainId = secChainId_;
        accessLedger = accessLedger_;
    }

    /// @inheritdoc IAccessCheckpoints
    function vote(uint64 secBlock, bytes32 root, uint32 consumers, uint64 entries) external returns (bool finalized) {
        uint32 setIndex = memberSets.currentSetIndex();
        (address[] memory members, uint8 threshold,,) = memberSets.memberSet(setIndex);
        if (!_contains(members, msg.sender)) revert CheckpointsNotMember(msg.sender, setIndex);
        uint64 last = _checkpoints.length == 0 ? 0 : _checkpoints[_checkpoints.length - 1].secBlock;
        if (_checkpoints.length > 0 && secBlock <= last) revert CheckpointsStaleBlock(secBlock, last);
        if (_voted[secBlock][msg.sender]) revert CheckpointsAlreadyVoted(msg.sender, secBlock);
        _voted[secBlock][msg.sender] = true;
        bytes32 tally = _tally(setIndex, secBlock, root, consumers, entries);
        uint32 votes = ++_votes[tally];
        emit CheckpointVoted(msg.sender, secBlock, root, consumers, entries, setIndex, votes);
        if (votes < threshold) return false;
        _checkpoints.push(Checkpoint(secBlock, root, consumers, entries, setIndex, uint64(block.number)));
        emit Checkpointed(_checkpoints.length - 1, secBlock, root, consumers, entries, setIndex);
        return true;
    }

    /// @inheritdoc IAccessCheckpoints
    function latest() external view returns (Checkpoint memory checkpoint, uint256 index) {
        if (_checkpoints.length == 0) revert CheckpointsUnknown(0, 0);
        index = _checkpoints.length - 1;
        checkpoint = _checkpoints[index];
    }

    /// @inheritdoc IAccessCheckpoints
    function checkpointAt(uint256 index) external view returns (Checkpoint memory) {
        if (index >= _checkpoints.length) revert CheckpointsUnknown(index, _checkpoints.length);
        return _checkpoints[index];
    }

    /// @inheritdoc IAccessCheckpoints
    function checkpointCount() external view returns (uint256) {
        return _checkpoints.length;
    }

    /// @inheritdoc IAccessCheckpoints
    function hasVoted(uint64 secBlock, address member) external view returns (bool) {
        return _voted[secBlock][member];
    }

    /// @inheritdoc IAccessCheckpoints
    function votesFor(uint32 setIndex, uint64 secBlock, bytes32 root, uint32 consumers, uint64 entries)
        external
        view
        returns (uint32)
    {
        return _votes[_tally(setIndex, secBlock, root, consumers, entries)];
    }

    /// @inheritdoc IAccessCheckpoints
    function verifyHead(uint256 index, address consumer, uint64 count, bytes32 head, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        if (index >= _checkpoints.length) revert CheckpointsUnknown(index, _checkpoints.length);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(consumer, count, head))));
        return MerkleProof.verifyCalldata(proof, _checkpoints[index].root, leaf);
    }

    function _tally(uint32 setIndex, uint64 secBlock, bytes32 root, uint32 consumers, uint64 entries)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(setIndex, secBlock, root, consumers, entries));
    }

    function _contains(address[] memory members, address who) private pure returns (bool) {
        for (uint256 i = 0; i < members.length; i++) {
            if (members[i] == who) return true;
        }
        return false;
    }
}
