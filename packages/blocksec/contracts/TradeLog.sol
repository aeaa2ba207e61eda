// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {ITradeLog} from "./interfaces/ITradeLog.sol";

/// @title TradeLog
/// @notice The paper's `TransLog` on BlockSEC: settled trades relayed from BlockTST's market
/// through `onFederatedMessage` (KIND_TRADE), each accepted once and announced with
/// {TradeRelayed}. It keeps no log per household and has no getter by party: a trade names
/// trading accounts, which BlockTST already shows publicly, and a household's own trade log is
/// the sealed copy her gateway anchors in the MeterDataLedger (category TRADES) where she permits
/// trade monitoring, read through the AccessLedger and released like meter readings.
contract TradeLog is AccessControl, IFederatedReceiver, ITradeLog {
    bytes32 public constant FEDERATION_ROLE = keccak256("FEDERATION_ROLE");

    uint256 private _srcChainId;
    address private _srcSender;
    mapping(uint256 tradeId => bool) private _known;

    /// @param admin The regulator: sets the source, grants FEDERATION_ROLE.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IFederatedReceiver
    function onFederatedMessage(uint256 srcChainId, address srcSender, bytes calldata payload)
        external
        onlyRole(FEDERATION_ROLE)
    {
        if (srcChainId != _srcChainId || srcSender != _srcSender || srcSender == address(0)) {
            revert TradeLogUnexpectedSource(srcChainId, srcSender);
        }
        uint8 kind = SidegridMessages.kindOf(payload);
        if (kind != SidegridMessages.KIND_TRADE) revert TradeLogUnknownMessageKind(kind);
        SidegridMessages.Trade memory t = SidegridMessages.decodeTrade(payload);
        if (_known[t.tradeId]) revert TradeLogDuplicateTrade(t.tradeId);
        _known[t.tradeId] = true;
        emit TradeRelayed(t.tradeId, t.buyer, t.seller, t);
    }

    /// @inheritdoc ITradeLog
    function setTradeSource(uint256 srcChainId, address srcSender) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _srcChainId = srcChainId;
        _srcSender = srcSender;
        emit TradeSourceSet(srcChainId, srcSender);
    }

    /// @inheritdoc ITradeLog
    function tradeSource() external view returns (uint256 srcChainId, address srcSender) {
        return (_srcChainId, _srcSender);
    }

    /// @inheritdoc ITradeLog
    function isKnown(uint256 tradeId) external view returns (bool) {
        return _known[tradeId];
    }
}
