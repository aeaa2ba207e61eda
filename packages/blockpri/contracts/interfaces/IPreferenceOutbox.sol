// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPreferenceOutbox
/// @notice The one call BlockPRI makes on the federation's outbox. It matches
/// `IFederationOutbox.send` of the federation package, declared here so that BlockPRI does not
/// depend on the federation (dependencies point down).
interface IPreferenceOutbox {
    /// @notice Sends `payload` to `dstContract` on chain `dstChainId`.
    function send(uint256 dstChainId, address dstContract, bytes calldata payload) external returns (uint64 nonce);
}
