// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ISmartGridToken} from "./interfaces/ISmartGridToken.sol";

/// @title SmartGridToken
/// @notice SGT: the token energy is paid with on BlockTST (18 decimals, symbol SGT).
/// @dev Supply: an optional initial supply to the admin (a treasury for local runs), MINTER_ROLE
/// (granted to the federation's peg only: minting elsewhere would break the peg's "wrapped supply
/// never exceeds what is locked"), and a capped faucet the admin enables on local chains only.
contract SmartGridToken is ERC20, AccessControl, ISmartGridToken {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    uint256 public faucetCap;
    mapping(address account => uint256) public faucetDrawn;

    /// @param admin Receives DEFAULT_ADMIN_ROLE (grants MINTER_ROLE, sets the faucet cap).
    /// @param initialSupply Minted to `admin` at deployment (0 on production networks).
    /// @param faucetCap_ Per-account lifetime faucet cap; 0 = faucet off.
    constructor(address admin, uint256 initialSupply, uint256 faucetCap_) ERC20("Smart Grid Token", "SGT") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (initialSupply > 0) {
            _mint(admin, initialSupply);
            emit Minted(msg.sender, admin, initialSupply);
        }
        faucetCap = faucetCap_;
        emit FaucetCapSet(0, faucetCap_);
    }

    /// @inheritdoc ISmartGridToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        if (amount == 0) revert SGTZeroAmount();
        _mint(to, amount);
        emit Minted(msg.sender, to, amount);
    }

    /// @inheritdoc ISmartGridToken
    function faucet(uint256 amount) external {
        uint256 cap = faucetCap;
        if (cap == 0) revert SGTFaucetDisabled();
        if (amount == 0) revert SGTZeroAmount();
        uint256 drawn = faucetDrawn[msg.sender];
        uint256 remaining = drawn >= cap ? 0 : cap - drawn;
        if (amount > remaining) revert SGTFaucetCapExceeded(msg.sender, amount, remaining);
        drawn += amount;
        faucetDrawn[msg.sender] = drawn;
        _mint(msg.sender, amount);
        emit FaucetDrip(msg.sender, amount, drawn);
    }

    /// @inheritdoc ISmartGridToken
    function setFaucetCap(uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit FaucetCapSet(faucetCap, cap);
        faucetCap = cap;
    }
}
