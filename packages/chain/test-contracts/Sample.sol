// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test fixture for the chain package: an OZ import, a custom error, a gas-heavy batch.
contract SampleToken is ERC20 {
    error SampleTooMuch(address who, uint256 asked, uint256 limit);

    uint256 public counter;
    mapping(uint256 => bytes32) public slots;

    constructor(uint256 supply) ERC20("Sample", "SMP") {
        _mint(msg.sender, supply);
    }

    function bump() external {
        counter += 1;
    }

    function mintLimited(uint256 amount) external {
        if (amount > 1000) revert SampleTooMuch(msg.sender, amount, 1000);
        _mint(msg.sender, amount);
    }

    /// Writes one fresh storage slot per value (~22k gas each) so a large batch exceeds a block.
    function storeMany(uint256[] calldata keys) external {
        for (uint256 i = 0; i < keys.length; i++) {
            slots[keys[i]] = keccak256(abi.encode(keys[i]));
        }
    }
}
