// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IFederatedReceiver
/// @notice Implemented by every app contract that accepts cross-chain messages. Until the
/// federation's inbox is deployed, a trusted relayer account holds the caller role instead; the
/// call shape stays the same, so swapping the relayer for the inbox changes no app code.
interface IFederatedReceiver {
    /// @notice Delivers one message sent from `srcSender` on chain `srcChainId`.
    /// @dev Must revert only for malformed payloads; the inbox records the failure and moves on.
    function onFederatedMessage(uint256 srcChainId, address srcSender, bytes calldata payload) external;
}
