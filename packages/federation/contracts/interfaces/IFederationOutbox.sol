// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IFederationOutbox
/// @notice The sending side of the federation on one chain. Registered app contracts call
/// {send}; the outbox numbers each message in its lane (this chain → `dstChainId`) and emits
/// {MessageSent}, which the federation members sign and deliver to the destination's inbox.
interface IFederationOutbox {
    /// @notice A message left this chain on lane (block.chainid → `dstChainId`) with lane nonce `nonce`.
    event MessageSent(
        uint256 indexed dstChainId,
        uint64 indexed nonce,
        address indexed srcSender,
        address dstContract,
        bytes payload
    );
    /// @notice `sender` may (or may no longer) send messages.
    event SenderSet(address indexed sender, bool allowed);
    /// @notice Messages to `chainId` are (or are no longer) accepted.
    event DestinationSet(uint256 indexed chainId, bool enabled);
    /// @notice The largest accepted payload changed.
    event MaxPayloadSet(uint256 maxPayloadBytes);

    /// @notice The caller is not a registered sender.
    error OutboxUnauthorizedSender(address sender);
    /// @notice No route to this chain (not configured, or this chain itself).
    error OutboxUnknownDestination(uint256 dstChainId);
    /// @notice The destination contract is the zero address.
    error OutboxInvalidDestinationContract(address dstContract);
    /// @notice The payload is larger than the configured maximum.
    error OutboxPayloadTooLarge(uint256 size, uint256 maxSize);
    /// @notice Only the admin may change the configuration.
    error OutboxUnauthorizedAdmin(address caller);

    /// @notice Sends `payload` to `dstContract` on chain `dstChainId`.
    /// @dev Only registered senders (`SENDER_ROLE`); the receiving app sees `msg.sender` as `srcSender`.
    /// @return nonce The message's nonce in its lane, starting at 1.
    function send(uint256 dstChainId, address dstContract, bytes calldata payload) external returns (uint64 nonce);

    /// @notice Allows or forbids `sender` to send (admin only).
    function setSender(address sender, bool allowed) external;

    /// @notice Enables or disables the lane to `chainId` (admin only).
    function setDestination(uint256 chainId, bool enabled) external;

    /// @notice Sets the largest payload accepted (admin only).
    function setMaxPayloadBytes(uint256 maxPayloadBytes) external;

    /// @notice The nonce of the last message sent to `dstChainId` (0 = none yet).
    function laneNonce(uint256 dstChainId) external view returns (uint64);

    /// @notice True if messages to `chainId` are accepted.
    function isDestination(uint256 chainId) external view returns (bool);

    /// @notice True if `sender` may send.
    function isSender(address sender) external view returns (bool);
}
