// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITokenPeg
/// @notice Two-way peg of an ERC-20 between its home chain (BlockTST for SGT) and the other
/// chains. At home, {lock} escrows the token and sends a message that mints the wrapped token on
/// the destination; elsewhere {burn} destroys wrapped tokens and sends the message that releases
/// the escrow at home. Inbound transfers are paid out under a per-source-chain limit over a sliding
/// 24-hour window; above it they are held, and anyone releases them once the window has room.
interface ITokenPeg {
    /// @notice At home: `amount` was escrowed for `recipient` on `dstChainId` (lane nonce `nonce`).
    event Locked(uint256 indexed dstChainId, address indexed from, address indexed recipient, uint256 amount, uint64 nonce);
    /// @notice Elsewhere: `amount` wrapped tokens were burned for `recipient` at home.
    event Burned(uint256 indexed dstChainId, address indexed from, address indexed recipient, uint256 amount, uint64 nonce);
    /// @notice An inbound transfer from `srcChainId` was paid (minted or released); `heldId` is 0
    /// unless it had been held.
    event InboundPaid(uint256 indexed srcChainId, address indexed recipient, uint256 amount, uint256 heldId);
    /// @notice An inbound transfer exceeded the window's room and waits as `heldId`.
    event InboundHeld(uint256 indexed heldId, uint256 indexed srcChainId, address indexed recipient, uint256 amount);
    /// @notice The peer peg on `chainId` and the limit for transfers from it were configured.
    event PeerSet(uint256 indexed chainId, address peer, uint256 dailyLimit);

    /// @notice {lock} is only available on the home chain.
    error PegNotHome();
    /// @notice {burn} is only available away from the home chain.
    error PegNotRemote();
    /// @notice The caller is not the federation inbox.
    error PegUnauthorizedFederation(address caller);
    /// @notice Only the admin may configure the peg.
    error PegUnauthorizedAdmin(address caller);
    /// @notice The message does not come from the configured peer peg of `chainId`.
    error PegUnknownPeer(uint256 chainId, address sender);
    /// @notice No peer peg is configured for `chainId`.
    error PegNoPeer(uint256 chainId);
    /// @notice `peer` on `chainId` cannot be configured (this chain, zero address, or a remote peg
    /// peering with anything but the home chain).
    error PegInvalidPeer(uint256 chainId, address peer);
    /// @notice Amount zero.
    error PegZeroAmount();
    /// @notice The recipient cannot receive tokens.
    error PegInvalidRecipient(address recipient);
    /// @notice A single transfer larger than the destination's daily limit could never be paid.
    error PegAmountAboveLimit(uint256 amount, uint256 limit);
    /// @notice Releasing `amount` for `chainId` would exceed what is still locked for it.
    error PegAccountantExceeded(uint256 chainId, uint256 amount, uint256 available);
    /// @notice The window has only `available` room left for `amount` from `chainId`.
    error PegWindowFull(uint256 chainId, uint256 amount, uint256 available);
    /// @notice No held transfer with this id (never held, or already released).
    error PegUnknownHeldTransfer(uint256 heldId);
    /// @notice The payload is not a peg transfer.
    error PegMalformedPayload(uint256 length);

    /// @notice Escrows `amount` of the home token and sends it to `recipient` on `dstChainId`.
    /// @dev Needs an allowance for this contract; home chain only.
    function lock(uint256 amount, uint256 dstChainId, address recipient) external returns (uint64 nonce);

    /// @notice Burns `amount` wrapped tokens of the caller and releases them to `recipient` at home.
    function burn(uint256 amount, address recipient) external returns (uint64 nonce);

    /// @notice Pays out held transfer `heldId` once the window of its source chain has room; anyone may call.
    function releaseHeld(uint256 heldId) external;

    /// @notice Drops expired entries of `chainId`'s window (at most `maxEntries`); anyone may call.
    function pruneWindow(uint256 chainId, uint256 maxEntries) external;

    /// @notice Configures the peer peg on `chainId` and the 24-hour limit of transfers from it (admin only).
    function setPeer(uint256 chainId, address peer, uint256 dailyLimit) external;

    /// @notice The peer peg on `chainId`.
    function peerOf(uint256 chainId) external view returns (address);

    /// @notice The 24-hour limit for transfers from `chainId`.
    function dailyLimit(uint256 chainId) external view returns (uint256);

    /// @notice Room left in `chainId`'s window now (never negative).
    function available(uint256 chainId) external view returns (uint256);

    /// @notice At home: tokens escrowed for `chainId` and not yet released back.
    function lockedFor(uint256 chainId) external view returns (uint256);

    /// @notice Total of inbound transfers from `chainId` currently held.
    function heldFor(uint256 chainId) external view returns (uint256);

    /// @notice Held transfer `heldId` (amount 0 once released or if unknown).
    function heldTransfer(uint256 heldId)
        external
        view
        returns (uint256 srcChainId, address recipient, uint256 amount, uint64 heldAt);
}
