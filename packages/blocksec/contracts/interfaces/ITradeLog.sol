// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title ITradeLog
/// @notice The paper's `TransLog`: settled trades relayed from BlockTST, each accepted once. No
/// per-household log and no getter by party (see {TradeLog}).
interface ITradeLog {
    /// @notice Trades are accepted from `srcSender` on chain `srcChainId` only.
    event TradeSourceSet(uint256 indexed srcChainId, address indexed srcSender);
    /// @notice The settled trade `tradeId` arrived from BlockTST (as public there as here).
    event TradeRelayed(uint256 indexed tradeId, address indexed buyer, address indexed seller, SidegridMessages.Trade trade);

    /// @notice The message does not come from the configured BlockTST contract.
    error TradeLogUnexpectedSource(uint256 srcChainId, address srcSender);
    /// @notice The payload is not a TRADE message.
    error TradeLogUnknownMessageKind(uint8 kind);
    /// @notice `tradeId` was delivered before.
    error TradeLogDuplicateTrade(uint256 tradeId);

    /// @notice Sets the one accepted source: BlockTST's chain id and market address (regulator).
    function setTradeSource(uint256 srcChainId, address srcSender) external;

    /// @notice The accepted source.
    function tradeSource() external view returns (uint256 srcChainId, address srcSender);

    /// @notice True if `tradeId` was delivered.
    function isKnown(uint256 tradeId) external view returns (bool);
}
