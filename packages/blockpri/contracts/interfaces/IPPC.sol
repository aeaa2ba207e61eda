// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title IPPC
/// @notice The Privacy Preference Contract of BlockPRI (paper §4, Figure A1), with the gaps the
/// paper left open filled: roles granted by a regulator, a meter binding per consumer, preferences
/// per utility and category with a resolution and an expiry, and a version per consumer that the
/// federation carries to BlockSEC and BlockTST.
interface IPPC {
    /// @notice The paper's `ConsumerPref` view (Figure A1), derived from the new state.
    /// `isDistributor` is the DISTRIBUTOR role; the two flags are the any-distributor defaults, now.
    struct ConsumerPref {
        bool isDistributor;
        bool canMonitorTransf;
        bool canMonitorCons;
    }

    /// @notice One outbox destination: the contract on `chainId` that receives every payload.
    struct Route {
        uint256 chainId;
        address target;
    }

    /// @notice `consumer` bound `meterId` (first registration or a re-registration).
    event ConsumerRegistered(
        address indexed consumer, bytes32 indexed meterId, address meterSigner, bytes32 encryptionKey, uint64 version
    );
    /// @notice `consumer` released `meterId` by re-registering with another meter.
    event MeterReleased(address indexed consumer, bytes32 indexed meterId, uint64 version);
    /// @notice `consumer` set the entries in `changed` (their full new values) at `version`.
    event PreferencesChanged(address indexed consumer, uint64 indexed version, SidegridMessages.Preference[] changed);
    /// @notice `consumer` removed their entry for (`utility`, `category`); the default applies again.
    event PreferenceCleared(
        address indexed consumer, uint64 indexed version, address indexed utility, SidegridMessages.Category category
    );
    /// @notice The exact bytes the federation carries for this change (SidegridMessages payload).
    /// @dev `kind` is SidegridMessages.KIND_PREFERENCES or KIND_REGISTRATION.
    event RelayPayload(address indexed consumer, uint64 indexed version, uint8 indexed kind, bytes payload);
    /// @notice Payloads are (or, with address(0), are no longer) sent through `outbox`.
    event OutboxSet(address indexed previous, address indexed outbox);
    /// @notice Payloads are sent to `target` on `chainId` as well.
    event RouteAdded(uint256 indexed chainId, address indexed target);
    /// @notice Payloads are no longer sent to `target` on `chainId`.
    event RouteRemoved(uint256 indexed chainId, address indexed target);

    /// @notice `consumer` has not called {consumerRegister}.
    error PPCNotRegistered(address consumer);
    /// @notice `meterId` is bound to another consumer, `owner`.
    error PPCMeterTaken(bytes32 meterId, address owner);
    /// @notice A registration field is zero.
    error PPCInvalidRegistration(bytes32 meterId, address meterSigner, bytes32 encryptionKey);
    /// @notice Consumption allowed at resolution NONE, or a trades entry with a resolution.
    error PPCInvalidResolution(SidegridMessages.Category category, bool allowed, SidegridMessages.Resolution resolution);
    /// @notice The expiry is not in the future.
    error PPCExpiryInPast(uint64 expiresAt, uint256 now);
    /// @notice `consumer` already has entries for `max` utilities.
    error PPCTooManyUtilities(address consumer, uint256 max);
    /// @notice There is no entry to clear.
    error PPCNoSuchPreference(address consumer, address utility, SidegridMessages.Category category);
    /// @notice The same (utility, category) appears twice in one {setPreferences} call.
    error PPCDuplicatePreference(address utility, SidegridMessages.Category category);
    /// @notice {setPreferences} was called with no entries.
    error PPCEmptyPreferences();
    /// @notice {getConsumer} was asked for an index at or past the number of consumers.
    error PPCConsumerIndexOutOfRange(uint256 index, uint256 count);
    /// @notice Nobody grants DISTRIBUTOR or AUDITOR to themselves, the regulator included.
    error PPCSelfGrant(address account, bytes32 role);
    /// @notice `caller` may not do this for `consumer` (only the consumer or the regulator).
    error PPCUnauthorized(address caller, address consumer);
    /// @notice The route is already configured.
    error PPCRouteExists(uint256 chainId, address target);
    /// @notice The route is not configured.
    error PPCRouteNotFound(uint256 chainId, address target);
    /// @notice A route needs a chain id and a target contract.
    error PPCInvalidRoute(uint256 chainId, address target);

    /// @notice Binds `meterId`, the meter's signing key and the caller's X25519 key to the caller.
    /// @dev One meter, one consumer. A registered consumer may call again: to rotate the meter
    /// signer or the encryption key (same meter), or to move to another free meter (the old one is
    /// released). Every call bumps the consumer's version and relays the registration.
    /// @param meterId The meter's identifier.
    /// @param meterSigner The meter's secp256k1 signing key as an address (delivery confirmations).
    /// @param encryptionKey The consumer's X25519 public key.
    /// @return version The consumer's new version.
    function consumerRegister(bytes32 meterId, address meterSigner, bytes32 encryptionKey) external returns (uint64 version);

    /// @notice Sets one entry of the caller's preferences.
    /// @param utility The distributor the entry is for; address(0) = the default for any distributor.
    /// @param category CONSUMPTION or TRADES.
    /// @param allowed Whether monitoring (and storage on BlockSEC) is allowed.
    /// @param resolution The finest consumption resolution allowed (NONE for TRADES).
    /// @param expiresAt Unix time the entry stops permitting; 0 = never.
    /// @return version The caller's new version.
    function setPreference(
        address utility,
        SidegridMessages.Category category,
        bool allowed,
        SidegridMessages.Resolution resolution,
        uint64 expiresAt
    ) external returns (uint64 version);

    /// @notice Sets several entries of the caller's preferences as one change (one version).
    /// @return version The caller's new version.
    function setPreferences(SidegridMessages.Preference[] calldata prefs) external returns (uint64 version);

    /// @notice Removes the caller's entry for (`utility`, `category`); the default applies again.
    /// @return version The caller's new version.
    function clearPreference(address utility, SidegridMessages.Category category) external returns (uint64 version);

    /// @notice The paper's call: allows (or forbids) any distributor to monitor the caller's
    /// consumption, at the finest resolution when allowed. Sets the default CONSUMPTION entry.
    /// @return version The caller's new version.
    function setMonitorConsPref(bool pref) external returns (uint64 version);

    /// @notice The paper's call: allows (or forbids) any distributor to monitor the caller's
    /// energy trades. Sets the default TRADES entry.
    /// @return version The caller's new version.
    function setMonitorTransfPref(bool pref) external returns (uint64 version);

    /// @notice Emits (and sends through the outbox, when set) the current registration and
    /// preferences of `consumer` again, at the current version: for a federation set up after
    /// consumers registered. Only the consumer or the regulator.
    function republish(address consumer) external;

    /// @notice Sets the outbox payloads are sent through; address(0) turns sending off (regulator).
    function setOutbox(address outbox) external;

    /// @notice Adds a destination for every payload (regulator).
    function addRoute(uint256 chainId, address target) external;

    /// @notice Removes a destination (regulator).
    function removeRoute(uint256 chainId, address target) external;

    /// @notice The paper's call: the consumer registered `id`-th (0-based).
    function getConsumer(uint256 id) external view returns (address);

    /// @notice Number of registered consumers.
    function consumerCount() external view returns (uint256);

    /// @notice The paper's call: `addr`'s role and any-distributor defaults, as the paper's struct.
    function getConsumerPrefs(address addr) external view returns (ConsumerPref memory);

    /// @notice True if `consumer` has registered.
    function isRegistered(address consumer) external view returns (bool);

    /// @notice `consumer`'s meter binding (all zero if not registered).
    function registrationOf(address consumer) external view returns (SidegridMessages.Registration memory);

    /// @notice The consumer bound to `meterId` (address(0) if none).
    function consumerOfMeter(bytes32 meterId) external view returns (address);

    /// @notice `consumer`'s version: bumped by every registration and preference change.
    function versionOf(address consumer) external view returns (uint64);

    /// @notice `consumer`'s entry for (`utility`, `category`); `set` is false if there is none.
    function getPreference(address consumer, address utility, SidegridMessages.Category category)
        external
        view
        returns (bool set, SidegridMessages.Preference memory pref);

    /// @notice Every entry `consumer` has set: the list a preferences payload carries.
    function getPreferences(address consumer) external view returns (SidegridMessages.Preference[] memory);

    /// @notice True if `utility` may monitor `consumer`'s `category` at `resolution` at time `time`:
    /// `utility` holds DISTRIBUTOR and the consumer's entry for it (else their default) permits.
    function isPermitted(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 time
    ) external view returns (bool);

    /// @notice The outbox destinations.
    function routes() external view returns (Route[] memory);
}
