// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title IPolicyMirror
/// @notice BlockSEC's copy of BlockPRI's preferences and meter bindings, as the federation delivers
/// them, and BlockSEC's own role registry: the regulator grants DISTRIBUTOR and AUDITOR here too,
/// because BlockSEC cannot read BlockPRI's state synchronously.
interface IPolicyMirror {
    /// @notice Why the mirror refuses storage of a reading (0 = permitted).
    enum StorageDecision {
        PERMITTED,
        METER_NOT_BOUND,
        NOT_A_DISTRIBUTOR,
        NOT_PERMITTED
    }

    /// @notice Messages are accepted from `srcSender` on chain `srcChainId` only.
    event PreferenceSourceSet(uint256 indexed srcChainId, address indexed srcSender);
    /// @notice `consumer`'s complete preference list at `version` replaced the one held.
    event PreferencesMirrored(address indexed consumer, uint64 indexed version, SidegridMessages.Preference[] prefs);
    /// @notice `consumer`'s meter binding at `version` replaced the one held.
    event RegistrationMirrored(
        address indexed consumer, uint64 indexed version, bytes32 indexed meterId, address meterSigner, bytes32 encryptionKey
    );

    /// @notice The message does not come from the configured BlockPRI contract.
    error MirrorUnexpectedSource(uint256 srcChainId, address srcSender);
    /// @notice A preferences message not newer than the one held (a stale or repeated delivery).
    error StalePreferenceVersion(address consumer, uint64 held, uint64 got);
    /// @notice A registration message not newer than the one held.
    error StaleRegistrationVersion(address consumer, uint64 held, uint64 got);
    /// @notice The payload's kind is neither PREFERENCES nor REGISTRATION.
    error MirrorUnknownMessageKind(uint8 kind);
    /// @notice The payload names no consumer.
    error MirrorInvalidConsumer(address consumer);
    /// @notice Nobody grants DISTRIBUTOR or AUDITOR to themselves, the regulator included.
    error MirrorSelfGrant(address account, bytes32 role);

    /// @notice Sets the one accepted source: BlockPRI's chain id and PPC address (regulator).
    function setPreferenceSource(uint256 srcChainId, address srcSender) external;

    /// @notice The accepted source.
    function preferenceSource() external view returns (uint256 srcChainId, address srcSender);

    /// @notice True if `utility` may monitor `consumer`'s `category` at `resolution` at time `time`,
    /// by the mirrored preferences: same rule as BlockPRI's `isPermitted`.
    function isPermitted(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 time
    ) external view returns (bool);

    /// @notice Whether a reading of `meterId` may be stored for `consumer` on behalf of `utility`, now.
    function storageDecision(
        address consumer,
        bytes32 meterId,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution
    ) external view returns (StorageDecision);

    /// @notice True if `consumer` permits trade monitoring by at least one utility at time `time`.
    function tradesAllowed(address consumer, uint256 time) external view returns (bool);

    /// @notice `consumer`'s mirrored entry for (`utility`, `category`); `set` false if none.
    function getPreference(address consumer, address utility, SidegridMessages.Category category)
        external
        view
        returns (bool set, SidegridMessages.Preference memory pref);

    /// @notice `consumer`'s mirrored meter binding (all zero if none).
    function registrationOf(address consumer) external view returns (SidegridMessages.Registration memory);

    /// @notice The consumer `meterId` is bound to (address(0) if none).
    function consumerOfMeter(bytes32 meterId) external view returns (address);

    /// @notice Version of the preferences held for `consumer` (0 = none).
    function preferencesVersionOf(address consumer) external view returns (uint64);

    /// @notice In one read of one state: the finest `resolution` at which `utility` may monitor
    /// `consumer`'s `category` at `time` (NONE if none) and the preferences version held (0 = none).
    /// Asking resolution by resolution in separate calls can straddle a preference change and
    /// answer a resolution that was never granted.
    function consentOf(address consumer, address utility, SidegridMessages.Category category, uint256 time)
        external
        view
        returns (SidegridMessages.Resolution finest, uint64 preferencesVersion);

    /// @notice Version of the registration held for `consumer` (0 = none).
    function registrationVersionOf(address consumer) external view returns (uint64);

    /// @notice True if `account` holds DISTRIBUTOR on BlockSEC.
    function isDistributor(address account) external view returns (bool);

    /// @notice True if `account` holds AUDITOR on BlockSEC.
    function isAuditor(address account) external view returns (bool);
}
