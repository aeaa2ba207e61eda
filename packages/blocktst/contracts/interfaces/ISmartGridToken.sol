// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ISmartGridToken
/// @notice SGT, the Smart Grid Token of BlockTST (paper §5.2): an ERC-20 with 18 decimals. New
/// supply comes only from holders of MINTER_ROLE (reserved for the federation's peg) and, on local
/// chains, from a capped faucet the admin switches on.
interface ISmartGridToken is IERC20 {
    /// @notice `account` drew `amount` from the faucet; `drawn` is its running total.
    event FaucetDrip(address indexed account, uint256 amount, uint256 drawn);
    /// @notice The faucet's lifetime cap per account changed (0 = faucet off).
    event FaucetCapSet(uint256 previousCap, uint256 newCap);
    /// @notice `minter` minted `amount` to `to`.
    event Minted(address indexed minter, address indexed to, uint256 amount);

    /// @notice The faucet is off (cap 0): production networks never switch it on.
    error SGTFaucetDisabled();
    /// @notice `account` asked for `requested` but may draw only `remaining` more.
    error SGTFaucetCapExceeded(address account, uint256 requested, uint256 remaining);
    /// @notice A zero amount was asked for.
    error SGTZeroAmount();

    /// @notice Mints `amount` to `to`. Only MINTER_ROLE (the peg).
    function mint(address to, uint256 amount) external;

    /// @notice Sends `amount` new tokens to the caller, up to the per-account lifetime cap.
    /// @dev For local runs and demos; off (cap 0) unless the admin sets a cap.
    function faucet(uint256 amount) external;

    /// @notice Sets the per-account lifetime faucet cap; 0 switches the faucet off. Admin only.
    function setFaucetCap(uint256 cap) external;

    /// @notice The per-account lifetime faucet cap (0 = off).
    function faucetCap() external view returns (uint256);

    /// @notice How much `account` has drawn from the faucet so far.
    function faucetDrawn(address account) external view returns (uint256);
}
