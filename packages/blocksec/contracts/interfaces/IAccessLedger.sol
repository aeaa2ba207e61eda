// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title IAccessLedger
/// @notice Every request for a consumer's data, granted or denied, is an entry in that consumer's
/// hash chain. A denial does not revert: the paper's revert erased the very attempt a court needs.
/// @dev entryHash = keccak256(abi.encode(prevHash, consumer, index, requester, category, resolution,
/// from, to, granted, reason, blockNumber, timestamp, requesterKey)); the first prevHash is zero.
interface IAccessLedger {
    /// @notice What a request is for.
    enum AccessCategory {
        CONSUMPTION, // stored readings in [from, to] at a resolution
        TRADES, // the trade log
        ACCESS_LOG, // the consumer's access log itself (courts)
        CURRENT_CONSUMPTION // the paper's real-time view for grid control: releases no stored data
    }

    /// @notice Why a request was denied (NONE = granted).
    enum DenyReason {
        NONE,
        NOT_A_DISTRIBUTOR,
        NOT_PERMITTED,
        INVALID_RANGE,
        NOT_AN_AUDITOR
    }

    /// @notice One entry, as hashed into the chain.
    struct Entry {
        bytes32 prevHash;
        address consumer;
        uint64 index;
        address requester;
        AccessCategory category;
        SidegridMessages.Resolution resolution;
        uint64 from;
        uint64 to;
        bool granted;
        DenyReason reason;
        uint64 blockNumber;
        uint64 timestamp;
        bytes32 requesterKey;
    }

    /// @notice Entry `index` of `consumer`'s chain: `requester` was granted access.
    event AccessGranted(
        address indexed consumer,
        address indexed requester,
        uint64 indexed index,
        uint8 category,
        uint8 resolution,
        uint64 from,
        uint64 to,
        bytes32 requesterKey,
        uint64 timestamp,
        bytes32 prevHash,
        bytes32 entryHash
    );
    /// @notice Entry `index` of `consumer`'s chain: `requester` was denied, for `reason`.
    event AccessDenied(
        address indexed consumer,
        address indexed requester,
        uint64 indexed index,
        uint8 category,
        uint8 resolution,
        uint64 from,
        uint64 to,
        bytes32 requesterKey,
        uint64 timestamp,
        uint8 reason,
        bytes32 prevHash,
        bytes32 entryHash
    );

    /// @notice Asks for `consumer`'s `category` data in [`from`, `to`] at `resolution`; the key
    /// shares of a grant are released to `requesterKey` (X25519). Recorded whatever the outcome.
    /// Granted to a DISTRIBUTOR the mirrored preferences permit now; never reverts on a denial.
    /// @return granted The decision.
    /// @return index The entry's index in `consumer`'s chain.
    function requestAccess(
        address consumer,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint64 from,
        uint64 to,
        bytes32 requesterKey
    ) external returns (bool granted, uint64 index);

    /// @notice A court reads `consumer`'s access log: granted to AUDITORs, recorded either way.
    /// @return granted The decision.
    /// @return index The entry's index (the read itself is in the chain it returns).
    /// @return head The chain head after this entry.
    /// @return count The number of entries after this entry.
    function readAccessLog(address consumer)
        external
        returns (bool granted, uint64 index, bytes32 head, uint64 count);

    /// @notice The paper's call: a distributor asks for `consumer`'s stored energy usage (all of
    /// it, daily resolution). Recorded; granted as {requestAccess}.
    function getEnergyUsage(address consumer) external returns (bool granted, uint64 index);

    /// @notice The paper's call: a distributor asks for `consumer`'s current usage (the last 15
    /// minutes, for grid control). As in the paper it needs the DISTRIBUTOR role only, not the
    /// consumer's preference; it is recorded, and it releases no stored data.
    function getCurrentEnergyUsage(address consumer) external returns (bool granted, uint64 index);

    /// @notice The paper's call: a distributor asks for `consumer`'s whole trade log. Recorded;
    /// granted as {requestAccess} for TRADES. It returns no trades: they are sealed records in the
    /// MeterDataLedger whose keys the federation releases on this entry (as for readings), so an
    /// `eth_call` of it yields nothing but the decision. {requestAccess} with TRADES does the same
    /// for a range, with the requester's key for the release.
    function getTransLog(address consumer) external returns (bool granted, uint64 index);

    /// @notice `consumer`'s chain head and entry count.
    function accessHead(address consumer) external view returns (bytes32 head, uint64 count);

    /// @notice The hash of entry `index` of `consumer`'s chain (zero past the end).
    function entryHashAt(address consumer, uint64 index) external view returns (bytes32);

    /// @notice The hash of `entry` under the chain rule.
    function computeEntryHash(Entry calldata entry) external pure returns (bytes32);
}
