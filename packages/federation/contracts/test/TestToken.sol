// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice Test stand-in for BlockTST's SGT: a plain ERC-20 anyone can mint.
contract TestToken is ERC20 {
    constructor() ERC20("Test Smart Grid Token", "tSGT") {}

    /// @notice Mints `amount` to `to` (tests only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
