// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IPolicyMirror} from "./interfaces/IPolicyMirror.sol";
import {ITradeLog} from "./interfaces/ITradeLog.sol";

/// @title TradeLog
/// @notice The paper's `TransLog` on BlockSEC: settled trades relayed from BlockTST's market
/// through `onFederatedMessage` (KIND_TRADE). A trade goes into the log of each party, buyer and
/// seller separately, whose mirrored preferences permit trade monitoring by at least one utility
/// at delivery time; for a party that does not, it is dropped with {TradeDropped}. Reading a log is
/// a logged request on the AccessLedger, checked against the reader's own permission.
/// @dev The record names the counterparty, as the settled trade on BlockTST does publicly.
contract TradeLog is AccessControl, IFederatedReceiver, ITradeLog {
    bytes32 public constant FEDERATION_ROLE = keccak256("FEDERATION_ROLE");

    IPolicyMirror public immutable mirror;
    uint256 private _srcChainId;
    address private _srcSender;
    mapping(uint256 tradeId => SidegridMessages.Trade) private _trades;
    mapping(uint256 tradeId => bool) private _known;
    mapping(address consumer => uint256[]) private _tradeIds;

    /// @param admin The regulator: sets the source, grants FEDERATION_ROLE.
    /// @param mirror_ BlockSEC's PolicyMirror.
    constructor(address admin, IPolicyMirror mirror_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        mirror = mirror_;
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
        bool logged = _logFor(t.buyer, t, true);
        if (t.seller != t.buyer) logged = _logFor(t.seller, t, false) || logged;
        if (logged) _trades[t.tradeId] = t;
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
    function tradesOf(address consumer) external view returns (SidegridMessages.Trade[] memory trades) {
        uint256[] storage ids = _tradeIds[consumer];
        trades = new SidegridMessages.Trade[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) trades[i] = _trades[ids[i]];
    }

    /// @inheritdoc ITradeLog
    function tradeCount(address consumer) external view returns (uint256) {
        return _tradeIds[consumer].length;
    }

    /// @inheritdoc ITradeLog
    function isKnown(uint256 tradeId) external view returns (bool) {
        return _known[tradeId];
    }

    function _logFor(address party, SidegridMessages.Trade memory t, bool asBuyer) private returns (bool) {
        if (mirror.registrationVersionOf(party) == 0) {
            emit TradeDropped(party, t.tradeId, uint8(DropReason.NOT_REGISTERED));
            return false;
        }
        if (!mirror.tradesAllowed(party, block.timestamp)) {
            emit TradeDropped(party, t.tradeId, uint8(DropReason.NOT_PERMITTED));
            return false;
        }
        _tradeIds[party].push(t.tradeId);
        emit TradeLogged(party, t.tradeId, asBuyer, t);
        return true;
    }
}
