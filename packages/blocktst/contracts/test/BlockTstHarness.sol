// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {PriceRule} from "../libraries/PriceRule.sol";

/// @title BlockTstHarness
/// @notice Test-only: exposes the Solidity encoders and the price rule so the TypeScript
/// encoders and reference implementation can be checked against them with eth_call.
contract BlockTstHarness {
    function encodeTrade(SidegridMessages.Trade memory trade) external pure returns (bytes memory) {
        return SidegridMessages.encodeTrade(trade);
    }

    function encodeRegistration(SidegridMessages.Registration memory reg, uint64 version)
        external
        pure
        returns (bytes memory)
    {
        return SidegridMessages.encodeRegistration(reg, version);
    }

    function encodePreferences(address consumer, uint64 version, SidegridMessages.Preference[] memory prefs)
        external
        pure
        returns (bytes memory)
    {
        return SidegridMessages.encodePreferences(consumer, version, prefs);
    }

    function unitPrice(uint256 base, uint256 k, uint256 discount, uint256 demand, uint256 generation, bool discounted)
        external
        pure
        returns (uint256)
    {
        return PriceRule.unitPrice(base, k, discount, demand, generation, discounted);
    }

    function amountFor(uint256 price, uint256 quantityWh) external pure returns (uint256) {
        return PriceRule.amountFor(price, quantityWh);
    }
}
