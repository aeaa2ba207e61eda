// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IAccessLedger} from "./interfaces/IAccessLedger.sol";
import {IKeyCustody, IMemberSets} from "./interfaces/IKeyCustody.sol";
import {IMeterDataLedger} from "./interfaces/IMeterDataLedger.sol";
import {IPolicyMirror} from "./interfaces/IPolicyMirror.sol";

/// @title KeyCustody
/// @notice Epoch keys of BlockSEC's sealed records in the federation's threshold custody, and the
/// releases of their shares on logged grants. A key at a consumption resolution seals readings of
/// that resolution; a key at resolution NONE seals the household's trades (category TRADES, whose
/// preferences carry no resolution). Nobody administers it: the member sets come from
/// BlockSEC's FederationInbox, gateways from the MeterDataLedger, grants from the AccessLedger and
/// consent from the PolicyMirror, all fixed at construction.
/// @dev A release is checked here, not only by the members: the entry must be the one hashed into
/// the consumer's access chain, granted, for CONSUMPTION or TRADES, still permitted now (a
/// revocation or an expiry stops further releases), and every key must lie inside the grant's
/// range and be of the grant's category: a trade key for a TRADES grant, a reading key no finer
/// than granted for a CONSUMPTION grant. A member releases once per entry.
contract KeyCustody is IKeyCustody {
    uint256 public constant EPK_SIZE = 32;
    uint256 public constant CONSUMER_BOX_SIZE = 48; // 32-byte key + 16-byte tag
    uint256 public constant SHARE_BOX_SIZE = 49; // 33-byte Shamir share + 16-byte tag

    IMemberSets public immutable federation;
    IAccessLedger public immutable accessLedger;
    IMeterDataLedger public immutable dataLedger;
    IPolicyMirror public immutable mirror;

    mapping(address member => bytes32) private _custodyKeys;
    mapping(address consumer => mapping(uint32 keyId => KeyInfo)) private _keys;
    mapping(address consumer => mapping(uint64 index => mapping(address member => bool))) private _released;

    /// @param federation_ BlockSEC's FederationInbox (member sets).
    /// @param accessLedger_ BlockSEC's AccessLedger (grants).
    /// @param dataLedger_ BlockSEC's MeterDataLedger (which accounts are gateways).
    /// @param mirror_ BlockSEC's PolicyMirror (current consent).
    constructor(IMemberSets federation_, IAccessLedger accessLedger_, IMeterDataLedger dataLedger_, IPolicyMirror mirror_) {
        federation = federation_;
        accessLedger = accessLedger_;
        dataLedger = dataLedger_;
        mirror = mirror_;
    }

    /// @inheritdoc IKeyCustody
    function registerCustodyKey(bytes32 key) external {
        uint32 cur = federation.currentSetIndex();
        (address[] memory members,,,) = federation.memberSet(cur);
        if (!_contains(members, msg.sender)) revert CustodyNotMember(msg.sender, cur);
        if (key == bytes32(0)) revert CustodyInvalidKey(key);
        _custodyKeys[msg.sender] = key;
        emit CustodyKeyRegistered(msg.sender, key);
    }

    /// @inheritdoc IKeyCustody
    function publishKeys(uint32 setIndex, KeyPublication[] calldata keys) external {
        if (dataLedger.gatewayUtility(msg.sender) == address(0)) revert CustodyNotGateway(msg.sender);
        uint32 cur = federation.currentSetIndex();
        // The previous set stays usable through the inbox's grace period: keys made just before a
        // rotation are still published.
        if (setIndex != cur && !(setIndex + 1 == cur && block.timestamp < federation.previousSetExpiresAt())) {
            revert CustodyStaleSet(setIndex, cur);
        }
        (address[] memory members,,,) = federation.memberSet(setIndex);
        for (uint256 i = 0; i < members.length; ++i) {
            if (_custodyKeys[members[i]] == bytes32(0)) revert CustodyMissingCustodyKey(members[i]);
        }
        uint256 expected = EPK_SIZE + CONSUMER_BOX_SIZE + SHARE_BOX_SIZE * members.length;
        for (uint256 i = 0; i < keys.length; ++i) {
            KeyPublication calldata k = keys[i];
            if (
                k.consumer == address(0) || k.resolution > uint8(type(SidegridMessages.Resolution).max)
                    || k.epochStart >= k.epochEnd
            ) revert CustodyInvalidKeyRecord(k.consumer, k.keyId);
            if (k.envelope.length != expected) revert CustodyEnvelopeLength(k.consumer, k.keyId, expected, k.envelope.length);
            KeyInfo storage slot = _keys[k.consumer][k.keyId];
            if (slot.epochEnd != 0) revert CustodyKeyExists(k.consumer, k.keyId);
            _keys[k.consumer][k.keyId] = KeyInfo(k.resolution, k.epochStart, k.epochEnd, setIndex, uint64(block.timestamp));
            emit KeyPublished(k.consumer, k.keyId, msg.sender, k.resolution, k.epochStart, k.epochEnd, setIndex, k.commitment, k.envelope);
        }
    }

    /// @inheritdoc IKeyCustody
    function releaseShares(IAccessLedger.Entry calldata entry, uint32[] calldata keyIds, bytes calldata shares) external {
        address consumer = entry.consumer;
        bytes32 stored = accessLedger.entryHashAt(consumer, entry.index);
        if (stored == bytes32(0) || stored != accessLedger.computeEntryHash(entry)) revert ReleaseUnknownEntry(consumer, entry.index);
        bool trades = entry.category == IAccessLedger.AccessCategory.TRADES;
        if (!entry.granted || !(trades || entry.category == IAccessLedger.AccessCategory.CONSUMPTION)) {
            revert ReleaseNotGranted(consumer, entry.index);
        }
        SidegridMessages.Category category = trades ? SidegridMessages.Category.TRADES : SidegridMessages.Category.CONSUMPTION;
        if (!mirror.isPermitted(consumer, entry.requester, category, entry.resolution, block.timestamp)) {
            revert ReleaseConsentWithdrawn(consumer, entry.index);
        }
        if (_released[consumer][entry.index][msg.sender]) revert ReleaseDuplicate(consumer, entry.index, msg.sender);
        _released[consumer][entry.index][msg.sender] = true;
        uint256 expected = EPK_SIZE + SHARE_BOX_SIZE * keyIds.length;
        if (shares.length != expected) revert ReleaseSharesLength(expected, shares.length);
        // A grant's range never reaches past the moment it was granted.
        uint64 to = entry.to < entry.timestamp ? entry.to : entry.timestamp;
        uint32 checkedSet = type(uint32).max;
        for (uint256 i = 0; i < keyIds.length; ++i) {
            KeyInfo memory k = _keys[consumer][keyIds[i]];
            if (k.epochEnd == 0) revert ReleaseUnknownKey(consumer, keyIds[i]);
            bool wrongKind = trades
                ? k.resolution != uint8(SidegridMessages.Resolution.NONE)
                : (k.resolution == uint8(SidegridMessages.Resolution.NONE) || k.resolution > uint8(entry.resolution));
            if (wrongKind || k.epochStart > to || k.epochEnd <= entry.from) {
                revert ReleaseOutsideGrant(consumer, entry.index, keyIds[i]);
            }
            if (k.setIndex != checkedSet) {
                (address[] memory members,,,) = federation.memberSet(k.setIndex);
                if (!_contains(members, msg.sender)) revert CustodyNotMember(msg.sender, k.setIndex);
                checkedSet = k.setIndex;
            }
        }
        emit SharesReleased(consumer, entry.index, msg.sender, entry.requester, keyIds, shares);
    }

    /// @inheritdoc IKeyCustody
    function keyOf(address consumer, uint32 keyId) external view returns (KeyInfo memory) {
        return _keys[consumer][keyId];
    }

    /// @inheritdoc IKeyCustody
    function custodyKeyOf(address member) external view returns (bytes32) {
        return _custodyKeys[member];
    }

    /// @inheritdoc IKeyCustody
    function isReleased(address consumer, uint64 index, address member) external view returns (bool) {
        return _released[consumer][index][member];
    }

    /// @inheritdoc IKeyCustody
    function custodySet(uint32 setIndex) external view returns (address[] memory members, bytes32[] memory keys, uint8 threshold) {
        (members, threshold,,) = federation.memberSet(setIndex);
        keys = new bytes32[](members.length);
        for (uint256 i = 0; i < members.length; ++i) keys[i] = _custodyKeys[members[i]];
    }

    function _contains(address[] memory arr, address a) private pure returns (bool) {
        for (uint256 i = 0; i < arr.length; ++i) if (arr[i] == a) return true;
        return false;
    }
}
