// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";
import {IFederationOutbox} from "./interfaces/IFederationOutbox.sol";
import {ITokenPeg} from "./interfaces/ITokenPeg.sol";
import {WrappedToken} from "./WrappedToken.sol";

/// @title TokenPeg
/// @notice One side of the two-way peg. Deployed on the home chain it escrows the token; anywhere
/// else it deploys and controls the wrapped token.
/// @dev Safety does not rest on the remote chains: the home peg never releases more for a chain
/// than was locked for it (the accountant), so a compromised or buggy chain can at most lose what
/// was sent to it. Each side pays inbound transfers under a sliding 24-hour limit per source
/// chain, enforced on the receiving (honest) side, and holds the excess instead of dropping it.
/// The token must be a plain ERC-20 (no fee on transfer, no rebasing).
contract TokenPeg is AccessControl, ReentrancyGuardTransient, ITokenPeg, IFederatedReceiver {
    using SafeERC20 for IERC20;

    bytes32 public constant FEDERATION_ROLE = keccak256("FEDERATION_ROLE");
    /// Payload kind of a peg transfer; SidegridMessages uses 1..3.
    uint8 public constant KIND_PEG_TRANSFER = 16;
    uint256 public constant WINDOW = 24 hours;
    /// Expired window entries dropped per transfer; more can be dropped with {pruneWindow}.
    uint256 private constant PRUNE_PER_CALL = 64;

    struct Lane {
        address peer;
        uint256 limit;
        uint256 windowSum; // sum of the window's entries not yet pruned (>= the live sum)
        uint256 locked; // home only: escrowed for this chain and not yet released
        uint256 held; // inbound from this chain waiting for room
        uint64 head; // window queue [head, tail)
        uint64 tail;
    }

    struct WindowEntry {
        uint64 at;
        uint192 amount;
    }

    struct Held {
        uint256 srcChainId;
        address recipient;
        uint256 amount;
        uint64 heldAt;
    }

    IFederationOutbox public immutable outbox;
    uint256 public immutable homeChainId;
    /// The home token at home, the wrapped token elsewhere.
    IERC20 public immutable token;
    bool public immutable isHome;

    mapping(uint256 chainId => Lane) private _lanes;
    mapping(uint256 chainId => mapping(uint256 index => WindowEntry)) private _window;
    mapping(uint256 heldId => Held) private _held;
    uint256 public lastHeldId;

    /// @param admin Receives DEFAULT_ADMIN_ROLE (configures peers and limits, grants FEDERATION_ROLE).
    /// @param outbox_ This chain's federation outbox (this peg must be a registered sender).
    /// @param homeChainId_ The chain the token lives on.
    /// @param homeToken The token, on the home chain; ignored elsewhere.
    /// @param wrappedName Name of the wrapped token (remote chains).
    /// @param wrappedSymbol Symbol of the wrapped token (remote chains).
    /// @param wrappedDecimals Decimals of the wrapped token (remote chains; same as the home token's).
    constructor(
        address admin,
        IFederationOutbox outbox_,
        uint256 homeChainId_,
        address homeToken,
        string memory wrappedName,
        string memory wrappedSymbol,
        uint8 wrappedDecimals
    ) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        outbox = outbox_;
        homeChainId = homeChainId_;
        isHome = block.chainid == homeChainId_;
        token = isHome
            ? IERC20(homeToken)
            : IERC20(address(new WrappedToken(wrappedName, wrappedSymbol, wrappedDecimals, address(this))));
    }

    // ---------------------------------------------------------------- outbound

    /// @inheritdoc ITokenPeg
    function lock(uint256 amount, uint256 dstChainId, address recipient) external nonReentrant returns (uint64 nonce) {
        if (!isHome) revert PegNotHome();
        Lane storage lane = _outboundLane(dstChainId, amount, recipient);
        token.safeTransferFrom(msg.sender, address(this), amount);
        lane.locked += amount;
        nonce = outbox.send(dstChainId, lane.peer, _encode(msg.sender, recipient, amount));
        emit Locked(dstChainId, msg.sender, recipient, amount, nonce);
    }

    /// @inheritdoc ITokenPeg
    function burn(uint256 amount, address recipient) external nonReentrant returns (uint64 nonce) {
        if (isHome) revert PegNotRemote();
        Lane storage lane = _outboundLane(homeChainId, amount, recipient);
        WrappedToken(address(token)).burn(msg.sender, amount);
        nonce = outbox.send(homeChainId, lane.peer, _encode(msg.sender, recipient, amount));
        emit Burned(homeChainId, msg.sender, recipient, amount, nonce);
    }

    function _outboundLane(uint256 dstChainId, uint256 amount, address recipient) private view returns (Lane storage lane) {
        lane = _lanes[dstChainId];
        if (lane.peer == address(0)) revert PegNoPeer(dstChainId);
        if (amount == 0) revert PegZeroAmount();
        if (recipient == address(0)) revert PegInvalidRecipient(recipient);
        // Both sides are configured with the same limit, so this is the destination's limit too.
        if (amount > lane.limit) revert PegAmountAboveLimit(amount, lane.limit);
    }

    function _encode(address from, address recipient, uint256 amount) private pure returns (bytes memory) {
        return abi.encode(KIND_PEG_TRANSFER, from, recipient, amount);
    }

    // ---------------------------------------------------------------- inbound

    /// @notice Pays (or holds) a transfer sent by the peer peg on `srcChainId`; federation inbox only.
    function onFederatedMessage(uint256 srcChainId, address srcSender, bytes calldata payload) external nonReentrant {
        if (!hasRole(FEDERATION_ROLE, msg.sender)) revert PegUnauthorizedFederation(msg.sender);
        Lane storage lane = _lanes[srcChainId];
        if (lane.peer == address(0) || lane.peer != srcSender) revert PegUnknownPeer(srcChainId, srcSender);
        if (payload.length != 128) revert PegMalformedPayload(payload.length);
        (uint8 kind, , address recipient, uint256 amount) = abi.decode(payload, (uint8, address, address, uint256));
        if (kind != KIND_PEG_TRANSFER) revert PegMalformedPayload(payload.length);
        if (isHome) {
            // The accountant: never release more for a chain than is locked for it (held included).
            uint256 free = lane.locked - lane.held;
            if (amount > free) revert PegAccountantExceeded(srcChainId, amount, free);
        }
        if (_consume(srcChainId, lane, amount)) {
            _pay(srcChainId, lane, recipient, amount, 0);
        } else {
            uint256 heldId = ++lastHeldId;
            _held[heldId] = Held(srcChainId, recipient, amount, uint64(block.timestamp));
            lane.held += amount;
            emit InboundHeld(heldId, srcChainId, recipient, amount);
        }
    }

    /// @inheritdoc ITokenPeg
    function releaseHeld(uint256 heldId) external nonReentrant {
        Held memory h = _held[heldId];
        if (h.amount == 0) revert PegUnknownHeldTransfer(heldId);
        Lane storage lane = _lanes[h.srcChainId];
        if (!_consume(h.srcChainId, lane, h.amount)) {
            revert PegWindowFull(h.srcChainId, h.amount, _room(lane));
        }
        delete _held[heldId];
        lane.held -= h.amount;
        _pay(h.srcChainId, lane, h.recipient, h.amount, heldId);
    }

    function _pay(uint256 srcChainId, Lane storage lane, address recipient, uint256 amount, uint256 heldId) private {
        if (isHome) {
            lane.locked -= amount;
            token.safeTransfer(recipient, amount);
        } else {
            WrappedToken(address(token)).mint(recipient, amount);
        }
        emit InboundPaid(srcChainId, recipient, amount, heldId);
    }

    // ---------------------------------------------------------------- sliding window

    /// Adds `amount` to the window if it fits after dropping expired entries.
    function _consume(uint256 chainId, Lane storage lane, uint256 amount) private returns (bool) {
        _prune(chainId, lane, PRUNE_PER_CALL);
        if (lane.windowSum + amount > lane.limit) return false;
        lane.windowSum += amount;
        uint64 tail = lane.tail;
        // Transfers in the same block share one entry.
        if (tail > lane.head && _window[chainId][tail - 1].at == block.timestamp) {
            _window[chainId][tail - 1].amount += uint192(amount);
        } else {
            _window[chainId][tail] = WindowEntry(uint64(block.timestamp), uint192(amount));
            lane.tail = tail + 1;
        }
        return true;
    }

    function _prune(uint256 chainId, Lane storage lane, uint256 maxEntries) private {
        uint64 head = lane.head;
        uint64 tail = lane.tail;
        uint256 sum = lane.windowSum;
        for (uint256 i = 0; i < maxEntries && head < tail; ++i) {
            WindowEntry memory e = _window[chainId][head];
            if (uint256(e.at) + WINDOW > block.timestamp) break;
            sum -= e.amount;
            delete _window[chainId][head];
            ++head;
        }
        lane.head = head;
        lane.windowSum = sum;
    }

    function _room(Lane storage lane) private view returns (uint256) {
        return lane.limit > lane.windowSum ? lane.limit - lane.windowSum : 0;
    }

    /// @inheritdoc ITokenPeg
    function pruneWindow(uint256 chainId, uint256 maxEntries) external {
        _prune(chainId, _lanes[chainId], maxEntries);
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc ITokenPeg
    function setPeer(uint256 chainId, address peer, uint256 limit) external {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert PegUnauthorizedAdmin(msg.sender);
        if (
            chainId == block.chainid || peer == address(0) || (!isHome && chainId != homeChainId)
                || limit > type(uint192).max
        ) {
            revert PegInvalidPeer(chainId, peer);
        }
        Lane storage lane = _lanes[chainId];
        lane.peer = peer;
        lane.limit = limit;
        emit PeerSet(chainId, peer, limit);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ITokenPeg
    function peerOf(uint256 chainId) external view returns (address) {
        return _lanes[chainId].peer;
    }

    /// @inheritdoc ITokenPeg
    function dailyLimit(uint256 chainId) external view returns (uint256) {
        return _lanes[chainId].limit;
    }

    /// @inheritdoc ITokenPeg
    function available(uint256 chainId) external view returns (uint256) {
        Lane storage lane = _lanes[chainId];
        uint256 sum = lane.windowSum;
        for (uint64 i = lane.head; i < lane.tail; ++i) {
            WindowEntry memory e = _window[chainId][i];
            if (uint256(e.at) + WINDOW > block.timestamp) break;
            sum -= e.amount;
        }
        return lane.limit > sum ? lane.limit - sum : 0;
    }

    /// @inheritdoc ITokenPeg
    function lockedFor(uint256 chainId) external view returns (uint256) {
        return _lanes[chainId].locked;
    }

    /// @inheritdoc ITokenPeg
    function heldFor(uint256 chainId) external view returns (uint256) {
        return _lanes[chainId].held;
    }

    /// @inheritdoc ITokenPeg
    function heldTransfer(uint256 heldId)
        external
        view
        returns (uint256 srcChainId, address recipient, uint256 amount, uint64 heldAt)
    {
        Held storage h = _held[heldId];
        return (h.srcChainId, h.recipient, h.amount, h.heldAt);
    }
}
