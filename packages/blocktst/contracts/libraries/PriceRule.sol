// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title PriceRule
/// @notice The unit price rule that reproduces the paper's Table 3:
/// `price = base × (1 + k·(D−G)/(D+G)) × (1 − discount if discounted)`.
/// @dev Fixed point with 18 decimals (1e18 = 1.0). Two roundings, both down (toward zero), in this
/// order: `scarcity = floor(base × ((D+G)·1e18 + k·(D−G)) / ((D+G)·1e18))`, then
/// `price = floor(scarcity × (1e18 − discount) / 1e18)`. With D+G = 0 the factor is 1. `k ≤ 1e18`
/// keeps the factor in [1−k, 1+k] ⊂ [0, 2]. The TypeScript reference (`unitPrice` in price.ts)
/// follows the same steps, so both agree to the last wei.
library PriceRule {
    uint256 internal constant ONE = 1e18;
    /// Quantities are in Wh, prices per kWh: amount = unitPrice × Wh / 1000.
    uint256 internal constant WH_PER_UNIT = 1000;

    /// @notice Unit price (SGT per kWh, 18 decimals) for demand `demand` and generation `generation`.
    function unitPrice(uint256 base, uint256 k, uint256 discount, uint256 demand, uint256 generation, bool discounted)
        internal
        pure
        returns (uint256 price)
    {
        price = base;
        uint256 total = demand + generation;
        if (total != 0 && demand != generation) {
            uint256 den = total * ONE;
            uint256 num = demand > generation ? den + k * (demand - generation) : den - k * (generation - demand);
            price = Math.mulDiv(base, num, den);
        }
        if (discounted) price = Math.mulDiv(price, ONE - discount, ONE);
    }

    /// @notice SGT owed for `quantityWh` at `price` per kWh, rounded down.
    function amountFor(uint256 price, uint256 quantityWh) internal pure returns (uint256) {
        return Math.mulDiv(price, quantityWh, WH_PER_UNIT);
    }
}
