// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPreferenceOutbox} from "../interfaces/IPreferenceOutbox.sol";

/// @title MockOutbox
/// @notice Test stand-in for the federation's outbox: records each send as an event, numbers them
/// per destination like a lane, and can be told to refuse.
contract MockOutbox is IPreferenceOutbox {
    event Sent(uint256 indexed dstChainId, address indexed dstContract, address indexed srcSender, uint64 nonce, bytes payload);

    error MockOutboxRefused(address sender);

    mapping(uint256 dstChainId => uint64) public laneNonce;
    bool public refusing;

    /// @notice Makes every later send revert (or accept again).
    function setRefusing(bool refusing_) external {
        refusing = refusing_;
    }

    /// @inheritdoc IPreferenceOutbox
    function send(uint256 dstChainId, address dstContract, bytes calldata payload) external returns (uint64 nonce) {
        if (refusing) revert MockOutboxRefused(msg.sender);
        nonce = ++laneNonce[dstChainId];
        emit Sent(dstChainId, dstContract, msg.sender, nonce, payload);
    }
}
