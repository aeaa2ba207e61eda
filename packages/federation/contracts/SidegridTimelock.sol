// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title SidegridTimelock
/// @notice OpenZeppelin's TimelockController as the holder of DEFAULT_ADMIN_ROLE on every Sidegrid
/// contract of one chain. Its only proposer and canceller is the chain's FederationGovernor (m-of-n
/// of the federation); anyone may execute a ready operation; it administers itself (no admin).
/// @dev A named subclass so the build emits an artifact and typed bindings for it.
contract SidegridTimelock is TimelockController {
    /// @param minDelay Seconds between scheduling and execution (users see a change coming and can exit).
    /// @param proposers Accounts that schedule and cancel (the governor).
    /// @param executors Accounts that execute (address(0) = anyone).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
