// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IFederationOutbox} from "./interfaces/IFederationOutbox.sol";

/// @title FederationOutbox
/// @notice Numbers and publishes the cross-chain messages of one chain's registered apps.
/// @dev Senders are registered (SENDER_ROLE) rather than open: every message costs the members
/// signatures and the relayer gas on the destination, so an open outbox would let anyone spend the
/// federation's capacity. The receiving app still checks (srcChainId, srcSender) itself.
contract FederationOutbox is AccessControl, IFederationOutbox {
    bytes32 public constant SENDER_ROLE = keccak256("SENDER_ROLE");

    mapping(uint256 dstChainId => uint64) private _laneNonce;
    mapping(uint256 chainId => bool) private _destinations;
    uint256 public maxPayloadBytes;

    /// @param admin Receives DEFAULT_ADMIN_ROLE (registers senders and destinations).
    /// @param maxPayloadBytes_ Largest payload accepted.
    constructor(address admin, uint256 maxPayloadBytes_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        maxPayloadBytes = maxPayloadBytes_;
        emit MaxPayloadSet(maxPayloadBytes_);
    }

    /// @inheritdoc IFederationOutbox
    function send(uint256 dstChainId, address dstContract, bytes calldata payload) external returns (uint64 nonce) {
        if (!hasRole(SENDER_ROLE, msg.sender)) revert OutboxUnauthorizedSender(msg.sender);
        if (!_destinations[dstChainId]) revert OutboxUnknownDestination(dstChainId);
        if (dstContract == address(0)) revert OutboxInvalidDestinationContract(dstContract);
        if (payload.length > maxPayloadBytes) revert OutboxPayloadTooLarge(payload.length, maxPayloadBytes);
        nonce = ++_laneNonce[dstChainId];
        emit MessageSent(dstChainId, nonce, msg.sender, dstContract, payload);
    }

    /// @inheritdoc IFederationOutbox
    function setSender(address sender, bool allowed) external {
        _onlyAdmin();
        if (allowed) _grantRole(SENDER_ROLE, sender);
        else _revokeRole(SENDER_ROLE, sender);
        emit SenderSet(sender, allowed);
    }

    /// @inheritdoc IFederationOutbox
    function setDestination(uint256 chainId, bool enabled) external {
        _onlyAdmin();
        if (chainId == block.chainid || chainId == 0) revert OutboxUnknownDestination(chainId);
        _destinations[chainId] = enabled;
        emit DestinationSet(chainId, enabled);
    }

    /// @inheritdoc IFederationOutbox
    function setMaxPayloadBytes(uint256 maxPayloadBytes_) external {
        _onlyAdmin();
        maxPayloadBytes = maxPayloadBytes_;
        emit MaxPayloadSet(maxPayloadBytes_);
    }

    /// @inheritdoc IFederationOutbox
    function laneNonce(uint256 dstChainId) external view returns (uint64) {
        return _laneNonce[dstChainId];
    }

    /// @inheritdoc IFederationOutbox
    function isDestination(uint256 chainId) external view returns (bool) {
        return _destinations[chainId];
    }

    /// @inheritdoc IFederationOutbox
    function isSender(address sender) external view returns (bool) {
        return hasRole(SENDER_ROLE, sender);
    }

    function _onlyAdmin() private view {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert OutboxUnauthorizedAdmin(msg.sender);
    }
}
