// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IAccessLedger} from "./interfaces/IAccessLedger.sol";
import {IPolicyMirror} from "./interfaces/IPolicyMirror.sol";

/// @title AccessLedger
/// @notice Records every request for a consumer's data, granted or denied, in a per-consumer hash
/// chain: the head and every entry's hash in storage, the entries in {AccessGranted} and
/// {AccessDenied}. Decisions come from the PolicyMirror (roles and mirrored preferences). Nobody
/// administers it: it has no owner and nothing to configure.
/// @dev A denial returns `granted = false` instead of reverting: a revert would erase the attempt,
/// which is what the court needs to see (the paper's Figure 10). Anyone may call; an address
/// without the DISTRIBUTOR role is recorded as denied (NOT_A_DISTRIBUTOR).
contract AccessLedger is IAccessLedger {
    /// The window `getCurrentEnergyUsage` records: the last quarter hour.
    uint64 public constant CURRENT_WINDOW = 900;

    IPolicyMirror public immutable mirror;

    struct Head {
        bytes32 hash;
        uint64 count;
    }

    mapping(address consumer => Head) private _heads;
    mapping(address consumer => mapping(uint256 index => bytes32)) private _entryHashes;

    /// @param mirror_ BlockSEC's PolicyMirror (roles and preferences).
    constructor(IPolicyMirror mirror_) {
        mirror = mirror_;
    }

    /// @inheritdoc IAccessLedger
    function requestAccess(
        address consumer,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint64 from,
        uint64 to,
        bytes32 requesterKey
    ) external returns (bool granted, uint64 index) {
        AccessCategory cat = category == SidegridMessages.Category.CONSUMPTION ? AccessCategory.CONSUMPTION : AccessCategory.TRADES;
        return _record(consumer, cat, resolution, from, to, requesterKey);
    }

    /// @inheritdoc IAccessLedger
    function readAccessLog(address consumer)
        external
        returns (bool granted, uint64 index, bytes32 head, uint64 count)
    {
        (granted, index) = _record(
            consumer, AccessCategory.ACCESS_LOG, SidegridMessages.Resolution.NONE, 0, uint64(block.timestamp), bytes32(0)
        );
        Head storage h = _heads[consumer];
        return (granted, index, h.hash, h.count);
    }

    /// @inheritdoc IAccessLedger
    function getEnergyUsage(address consumer) external returns (bool granted, uint64 index) {
        return _record(
            consumer, AccessCategory.CONSUMPTION, SidegridMessages.Resolution.DAILY, 0, uint64(block.timestamp), bytes32(0)
        );
    }

    /// @inheritdoc IAccessLedger
    function getCurrentEnergyUsage(address consumer) external returns (bool granted, uint64 index) {
        uint64 nowTs = uint64(block.timestamp);
        return _record(
            consumer,
            AccessCategory.CURRENT_CONSUMPTION,
            SidegridMessages.Resolution.QUARTER_HOURLY,
            nowTs > CURRENT_WINDOW ? nowTs - CURRENT_WINDOW : 0,
            nowTs,
            bytes32(0)
        );
    }

    /// @inheritdoc IAccessLedger
    function getTransLog(address consumer) external returns (bool granted, uint64 index) {
        return _record(
            consumer, AccessCategory.TRADES, SidegridMessages.Resolution.NONE, 0, uint64(block.timestamp), bytes32(0)
        );
    }

    /// @inheritdoc IAccessLedger
    function accessHead(address consumer) external view returns (bytes32 head, uint64 count) {
        Head storage h = _heads[consumer];
        return (h.hash, h.count);
    }

    /// @inheritdoc IAccessLedger
    function entryHashAt(address consumer, uint64 index) external view returns (bytes32) {
        return _entryHashes[consumer][index];
    }

    /// @inheritdoc IAccessLedger
    function computeEntryHash(Entry calldata entry) external pure returns (bytes32) {
        return _hash(entry);
    }

    function _record(
        address consumer,
        AccessCategory category,
        SidegridMessages.Resolution resolution,
        uint64 from,
        uint64 to,
        bytes32 requesterKey
    ) private returns (bool, uint64) {
        Head storage h = _heads[consumer];
        Entry memory e;
        e.prevHash = h.hash;
        e.consumer = consumer;
        e.index = h.count;
        e.requester = msg.sender;
        e.category = category;
        e.resolution = resolution;
        e.from = from;
        // A grant never covers the future: keys and records past this moment are not part of it.
        e.to = to > block.timestamp ? uint64(block.timestamp) : to;
        e.reason = _decide(consumer, category, resolution, e.from, e.to);
        e.granted = e.reason == DenyReason.NONE;
        e.blockNumber = uint64(block.number);
        e.timestamp = uint64(block.timestamp);
        e.requesterKey = requesterKey;
        bytes32 entryHash = _hash(e);
        h.hash = entryHash;
        h.count = e.index + 1;
        _entryHashes[consumer][e.index] = entryHash;
        _emit(e, entryHash);
        return (e.granted, e.index);
    }

    function _emit(Entry memory e, bytes32 entryHash) private {
        if (e.granted) {
            emit AccessGranted(
                e.consumer,
                e.requester,
                e.index,
                uint8(e.category),
                uint8(e.resolution),
                e.from,
                e.to,
                e.requesterKey,
                e.timestamp,
                e.prevHash,
                entryHash
            );
        } else {
            emit AccessDenied(
                e.consumer,
                e.requester,
                e.index,
                uint8(e.category),
                uint8(e.resolution),
                e.from,
                e.to,
                e.requesterKey,
                e.timestamp,
                uint8(e.reason),
                e.prevHash,
                entryHash
            );
        }
    }

    function _decide(
        address consumer,
        AccessCategory category,
        SidegridMessages.Resolution resolution,
        uint64 from,
        uint64 to
    ) private view returns (DenyReason) {
        if (category == AccessCategory.ACCESS_LOG) {
            return mirror.isAuditor(msg.sender) ? DenyReason.NONE : DenyReason.NOT_AN_AUDITOR;
        }
        if (!mirror.isDistributor(msg.sender)) return DenyReason.NOT_A_DISTRIBUTOR;
        if (from > to) return DenyReason.INVALID_RANGE;
        // The paper's real-time view: the DISTRIBUTOR role suffices; it is recorded all the same.
        if (category == AccessCategory.CURRENT_CONSUMPTION) return DenyReason.NONE;
        SidegridMessages.Category c =
            category == AccessCategory.CONSUMPTION ? SidegridMessages.Category.CONSUMPTION : SidegridMessages.Category.TRADES;
        if (!mirror.isPermitted(consumer, msg.sender, c, resolution, block.timestamp)) return DenyReason.NOT_PERMITTED;
        return DenyReason.NONE;
    }

    function _hash(Entry memory e) private pure returns (bytes32) {
        return keccak256(abi.encode(e));
    }
}
