// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITradeOutbox
/// @notice The one call the market makes on the federation's outbox; matches
/// `IFederationOutbox.send`, declared here so BlockTST does not depend on the federation package.
interface ITradeOutbox {
    /// @notice Queues `payload` for `dstContract` on chain `dstChainId`.
    function send(uint256 dstChainId, address dstContract, bytes calldata payload) external returns (uint64 nonce);
}
