// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessLedger} from "./IAccessLedger.sol";

/// @title IMemberSets
/// @notice What KeyCustody reads of BlockSEC's FederationInbox: the member sets by index.
interface IMemberSets {
    function currentSetIndex() external view returns (uint32);
    function memberSet(uint32 setIndex)
        external
        view
        returns (address[] memory members, uint8 threshold, uint8 pauseThreshold, uint8 unpauseThreshold);
    function previousSetExpiresAt() external view returns (uint64);
}

/// @title IKeyCustody
/// @notice Threshold custody of the data keys that seal BlockSEC's meter records. A gateway
/// publishes each epoch key once: boxed to the consumer and split m-of-n into shares boxed to the
/// federation members' custody keys. On a logged grant in the AccessLedger each member re-boxes
/// its shares of the keys the grant covers to the requester's key; with m of them the requester
/// opens the records. Nothing here holds a key in clear.
/// @dev Envelope layout of a published key (see the package README "Key custody"):
///   epk:bytes32 | box(dataKey) to the consumer (48) | box(share_i) to member i (49 each, set order)
/// Released shares: epk:bytes32 | box(share) to the requester (49 each, in `keyIds` order).
interface IKeyCustody {
    /// @notice One epoch key, as a gateway publishes it.
    struct KeyPublication {
        address consumer;
        uint32 keyId;
        /// The readings' resolution; NONE for a key that seals the household's trades.
        uint8 resolution;
        uint40 epochStart;
        uint40 epochEnd;
        bytes32 commitment;
        bytes envelope;
    }

    /// @notice What is kept per key: enough to check a release against a grant.
    struct KeyInfo {
        uint8 resolution;
        uint40 epochStart;
        uint40 epochEnd;
        uint32 setIndex;
        uint64 publishedAt;
    }

    event CustodyKeyRegistered(address indexed member, bytes32 key);
    event KeyPublished(
        address indexed consumer,
        uint32 indexed keyId,
        address indexed gateway,
        uint8 resolution,
        uint40 epochStart,
        uint40 epochEnd,
        uint32 setIndex,
        bytes32 commitment,
        bytes envelope
    );
    event SharesReleased(
        address indexed consumer,
        uint64 indexed entryIndex,
        address indexed member,
        address requester,
        uint32[] keyIds,
        bytes shares
    );

    error CustodyNotMember(address account, uint32 setIndex);
    error CustodyInvalidKey(bytes32 key);
    error CustodyNotGateway(address account);
    error CustodyStaleSet(uint32 setIndex, uint32 currentSetIndex);
    error CustodyMissingCustodyKey(address member);
    error CustodyKeyExists(address consumer, uint32 keyId);
    error CustodyInvalidKeyRecord(address consumer, uint32 keyId);
    error CustodyEnvelopeLength(address consumer, uint32 keyId, uint256 expected, uint256 actual);
    error ReleaseUnknownEntry(address consumer, uint64 index);
    error ReleaseNotGranted(address consumer, uint64 index);
    error ReleaseConsentWithdrawn(address consumer, uint64 index);
    error ReleaseDuplicate(address consumer, uint64 index, address member);
    error ReleaseUnknownKey(address consumer, uint32 keyId);
    error ReleaseOutsideGrant(address consumer, uint64 index, uint32 keyId);
    error ReleaseSharesLength(uint256 expected, uint256 actual);

    /// @notice A federation member of the current set registers its X25519 custody key.
    function registerCustodyKey(bytes32 key) external;

    /// @notice A gateway publishes epoch keys whose shares were made for member set `setIndex`
    /// (the current one, or the previous one while its grace period runs).
    function publishKeys(uint32 setIndex, KeyPublication[] calldata keys) external;

    /// @notice A member releases its shares of `keyIds` for the granted access `entry`; `shares`
    /// are boxed to the entry's requester key. Once per entry and member.
    function releaseShares(IAccessLedger.Entry calldata entry, uint32[] calldata keyIds, bytes calldata shares) external;

    function keyOf(address consumer, uint32 keyId) external view returns (KeyInfo memory);
    function custodyKeyOf(address member) external view returns (bytes32);
    function isReleased(address consumer, uint64 index, address member) external view returns (bool);
    /// @notice Members, custody keys and threshold of set `setIndex` (a zero key: not registered).
    function custodySet(uint32 setIndex) external view returns (address[] memory members, bytes32[] memory keys, uint8 threshold);
}
