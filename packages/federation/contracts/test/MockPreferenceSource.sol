// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IFederationOutbox} from "../interfaces/IFederationOutbox.sol";

/// @title MockPreferenceSource
/// @notice Test stand-in for BlockPRI: a consumer's preference change is versioned, emitted and
/// sent through the outbox hook to every configured mirror.
contract MockPreferenceSource {
    struct Route {
        uint256 chainId;
        address target;
    }

    IFederationOutbox public outbox;
    Route[] public routes;
    mapping(address consumer => uint64) public version;

    event PreferencesChanged(address indexed consumer, uint64 version);
    /// An app without the outbox hook: the federation relays this event through its adapter.
    event RelayPayload(uint256 indexed dstChainId, address indexed dstContract, bytes payload);

    /// @notice Sets the outbox hook.
    function setOutbox(IFederationOutbox outbox_) external {
        outbox = outbox_;
    }

    /// @notice Adds a mirror to send preference changes to.
    function addRoute(uint256 chainId, address target) external {
        routes.push(Route(chainId, target));
    }

    /// @notice Sets the caller's consumption preference for `utility` and relays it.
    function setPreference(address utility, bool allowed, SidegridMessages.Resolution resolution) public {
        uint64 v = ++version[msg.sender];
        SidegridMessages.Preference[] memory prefs = new SidegridMessages.Preference[](1);
        prefs[0] = SidegridMessages.Preference(utility, SidegridMessages.Category.CONSUMPTION, allowed, resolution, 0);
        bytes memory payload = SidegridMessages.encodePreferences(msg.sender, v, prefs);
        emit PreferencesChanged(msg.sender, v);
        for (uint256 i = 0; i < routes.length; ++i) outbox.send(routes[i].chainId, routes[i].target, payload);
    }

    /// @notice Like {setPreference}, but only emits RelayPayload for each route (no outbox call).
    function setPreferenceViaEvent(address utility, bool allowed, SidegridMessages.Resolution resolution) external {
        uint64 v = ++version[msg.sender];
        SidegridMessages.Preference[] memory prefs = new SidegridMessages.Preference[](1);
        prefs[0] = SidegridMessages.Preference(utility, SidegridMessages.Category.CONSUMPTION, allowed, resolution, 0);
        bytes memory payload = SidegridMessages.encodePreferences(msg.sender, v, prefs);
        emit PreferencesChanged(msg.sender, v);
        for (uint256 i = 0; i < routes.length; ++i) emit RelayPayload(routes[i].chainId, routes[i].target, payload);
    }

    /// @notice Load generator: `count` preference changes of the caller to route `routeIndex` only.
    function setPreferenceMany(address utility, uint256 count, uint256 routeIndex) external {
        Route memory r = routes[routeIndex];
        SidegridMessages.Preference[] memory prefs = new SidegridMessages.Preference[](1);
        for (uint256 i = 0; i < count; ++i) {
            uint64 v = ++version[msg.sender];
            prefs[0] = SidegridMessages.Preference(
                utility, SidegridMessages.Category.CONSUMPTION, i % 2 == 0, SidegridMessages.Resolution.HOURLY, 0
            );
            outbox.send(r.chainId, r.target, SidegridMessages.encodePreferences(msg.sender, v, prefs));
        }
    }
}
