// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title ITradeLog
/// @notice The paper's `TransLog`: settled trades relayed from BlockTST, kept in the log of each
/// party (buyer, seller) that permits trade monitoring; dropped, with an event, for a party that
/// does not.
interface ITradeLog {
    /// @notice Why a trade was not logged for a party.
    enum DropReason {
        NONE,
        NOT_PERMITTED,
        NOT_REGISTERED
    }

    /// @notice Trades are accepted from `srcSender` on chain `srcChainId` only.
    event TradeSourceSet(uint256 indexed srcChainId, address indexed srcSender);
    /// @notice `tradeId` is in `consumer`'s trade log (as buyer or as seller).
    event TradeLogged(address indexed consumer, uint256 indexed tradeId, bool asBuyer, SidegridMessages.Trade trade);
    /// @notice `tradeId` was not logged for `consumer`, for `reason`.
    event TradeDropped(address indexed consumer, uint256 indexed tradeId, uint8 reason);

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

    /// @notice `consumer`'s logged trades, oldest first.
    function tradesOf(address consumer) external view returns (SidegridMessages.Trade[] memory);

    /// @notice Number of trades in `consumer`'s log.
    function tradeCount(address consumer) external view returns (uint256);

    /// @notice True if `tradeId` was delivered (logged for someone or dropped for all).
    function isKnown(uint256 tradeId) external view returns (bool);
}
