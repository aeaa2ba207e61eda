// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title IMarketMirror
/// @notice BlockTST's copy of what the market needs from BlockPRI: each consumer's meter binding
/// (the meter key that confirms deliveries) and their preferences (the data-sharing discount).
/// Fed only through `onFederatedMessage` by FEDERATION_ROLE (a trusted relayer until the
/// federation's inbox takes the role), from the one source the admin configured.
interface IMarketMirror is IFederatedReceiver {
    /// @notice Messages are accepted from `srcSender` on chain `srcChainId` only.
    event SourceSet(uint256 indexed srcChainId, address indexed srcSender);
    /// @notice `consumer`'s meter binding at `version` was stored.
    event RegistrationMirrored(address indexed consumer, bytes32 indexed meterId, address meterSigner, uint64 version);
    /// @notice `consumer`'s preference set at `version` (`entries` entries) replaced the previous one.
    event PreferencesMirrored(address indexed consumer, uint64 indexed version, uint256 entries);
    /// @notice A message at `version` arrived while `held` (>= version) was already stored; ignored.
    /// @dev Ignored rather than reverted: redelivery and BlockPRI's republish are normal, and a
    /// revert would only make the inbox record a failure nobody can fix by retrying.
    event StaleMessageIgnored(address indexed consumer, uint8 indexed kind, uint64 held, uint64 version);

    /// @notice The message did not come from the configured (chain, contract).
    error MirrorUnexpectedSource(uint256 srcChainId, address srcSender);
    /// @notice The payload's kind is neither preferences nor registration.
    error MirrorUnknownMessageKind(uint8 kind);
    /// @notice A registration with a zero consumer, or a meter without a signer.
    error MirrorInvalidRegistration(address consumer, address meterSigner);
    /// @notice A preferences payload for the zero address.
    error MirrorInvalidConsumer(address consumer);
    /// @notice A preference set longer than the mirror accepts.
    error MirrorTooManyPreferences(address consumer, uint256 count, uint256 max);
    /// @notice The source must name a chain and a contract.
    error MirrorInvalidSource(uint256 srcChainId, address srcSender);

    /// @notice Sets the one (chain, contract) messages are accepted from: BlockPRI's PPC. Admin only.
    function setSource(uint256 srcChainId, address srcSender) external;

    /// @notice The configured source chain id and contract.
    function source() external view returns (uint256 srcChainId, address srcSender);

    /// @notice `consumer`'s mirrored meter binding and its version (all zero if never relayed).
    function registrationOf(address consumer)
        external
        view
        returns (SidegridMessages.Registration memory registration, uint64 version);

    /// @notice The key that signs `consumer`'s delivery confirmations (address(0) if unknown).
    function meterSignerOf(address consumer) external view returns (address);

    /// @notice The version of `consumer`'s mirrored preference set (0 if never relayed).
    function preferencesVersionOf(address consumer) external view returns (uint64);

    /// @notice `consumer`'s current entry for (`utility`, `category`); `set` is false if absent.
    function preferenceOf(address consumer, address utility, SidegridMessages.Category category)
        external
        view
        returns (bool set, SidegridMessages.Preference memory preference);

    /// @notice True if `consumer`'s entry for `utility` (else their default entry) permits
    /// `category` at `resolution` at time `at`: BlockPRI's rule, without the role check (the
    /// market checks DISTRIBUTOR on its own chain).
    function permits(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 at
    ) external view returns (bool);
}
