// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ITradeOutbox} from "../interfaces/ITradeOutbox.sol";

/// @title MockTradeOutbox
/// @notice Test stand-in for the federation's outbox: records what the market sends, or refuses.
contract MockTradeOutbox is ITradeOutbox {
    event Sent(uint64 indexed nonce, address indexed sender, uint256 dstChainId, address dstContract, bytes payload);

    error MockOutboxRefused(address sender);

    bool public refuse;
    uint64 public nonce;

    function setRefuse(bool refuse_) external {
        refuse = refuse_;
    }

    /// @inheritdoc ITradeOutbox
    function send(uint256 dstChainId, address dstContract, bytes calldata payload) external returns (uint64) {
        if (refuse) revert MockOutboxRefused(msg.sender);
        emit Sent(++nonce, msg.sender, dstChainId, dstContract, payload);
        return nonce;
    }
}
