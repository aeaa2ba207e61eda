// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title WrappedToken
/// @notice The wrapped form of a pegged token (wSGT) on a chain other than its home. Only its
/// peg mints and burns; the peg itself mints only on a federation message from the home peg.
contract WrappedToken is ERC20 {
    /// @notice The peg contract, the only minter and burner.
    address public immutable minter;
    uint8 private immutable _decimals;

    /// @notice The caller is not the peg.
    error WrappedUnauthorized(address caller);

    /// @param name_ Token name ("Wrapped Smart Grid Token").
    /// @param symbol_ Token symbol ("wSGT").
    /// @param decimals_ Same decimals as the home token.
    /// @param minter_ The peg.
    constructor(string memory name_, string memory symbol_, uint8 decimals_, address minter_) ERC20(name_, symbol_) {
        minter = minter_;
        _decimals = decimals_;
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` to `to` (peg only).
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert WrappedUnauthorized(msg.sender);
        _mint(to, amount);
    }

    /// @notice Burns `amount` from `from` (peg only, on `from`'s own request through the peg).
    function burn(address from, uint256 amount) external {
        if (msg.sender != minter) revert WrappedUnauthorized(msg.sender);
        _burn(from, amount);
    }
}
