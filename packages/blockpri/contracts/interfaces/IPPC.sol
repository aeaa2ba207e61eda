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

    /// @notice A household's proof that it may bind `meterId`: EIP-712 typed data (domain "PPC", "1",
    /// this chain, this contract) signed by the meter's device key (the button on the meter) or by
    /// an installer. `nonce` is the meter's next binding nonce ({meterOf}); `expiry` is unix seconds.
    struct MeterBinding {
        bytes32 meterId;
        address consumer;
        uint256 nonce;
        uint64 expiry;
    }

    /// @notice `installer` commissioned `meterId` with its device signing key `deviceKey`.
    event MeterCommissioned(bytes32 indexed meterId, address indexed deviceKey, address indexed installer);
    /// @notice `installer` decommissioned `meterId` (replaced); its household, if any, was released.
    event MeterDecommissioned(bytes32 indexed meterId, address deviceKey, address indexed installer);
    /// @notice `consumer` bound `meterId` with a binding `signer` signed (the device key or an installer).
    event MeterBound(bytes32 indexed meterId, address indexed consumer, address indexed signer, uint256 nonce);
    /// @notice `consumer` bound `meterId` (first registration or a re-registration), or rotated the key.
    event ConsumerRegistered(
        address indexed consumer, bytes32 indexed meterId, address meterSigner, bytes32 encryptionKey, uint64 version
    );
    /// @notice `consumer` no longer holds `meterId`: released it, moved to another meter, or an
    /// installer moved it to the next household or decommissioned it.
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
    error PPCInvalidRegistration(bytes32 meterId, bytes32 encryptionKey);
    /// @notice A commissioning field is zero.
    error PPCInvalidCommission(bytes32 meterId, address deviceKey);
    /// @notice `meterId` already has device key `deviceKey`: decommission it first.
    error PPCMeterAlreadyCommissioned(bytes32 meterId, address deviceKey);
    /// @notice `meterId` has no device key: no installer commissioned it (or it was decommissioned).
    error PPCMeterNotCommissioned(bytes32 meterId);
    /// @notice The binding names `consumer`, but `caller` presented it.
    error PPCBindingWrongConsumer(bytes32 meterId, address consumer, address caller);
    /// @notice The binding's nonce is not the meter's next one (`expected`): replayed or stale.
    error PPCBindingBadNonce(bytes32 meterId, uint256 expected, uint256 nonce);
    /// @notice The binding expired at `expiry` (now `now`).
    error PPCBindingExpired(bytes32 meterId, uint64 expiry, uint256 now);
    /// @notice The binding was signed by `signer` (address(0): malformed signature), neither the
    /// meter's device key nor an installer.
    error PPCBindingUnauthorizedSigner(bytes32 meterId, address signer);
    /// @notice {commissionMeters} got `meters` meter ids and `keys` device keys.
    error PPCLengthMismatch(uint256 meters, uint256 keys);
    /// @notice `consumer` holds no meter to release.
    error PPCNoMeter(address consumer);
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

    /// @notice Records `meterId` as installed with the device signing key `deviceKey` (installer).
    /// @dev Refused for a meter that is already commissioned: {decommissionMeter} it first.
    function commissionMeter(bytes32 meterId, address deviceKey) external;

    /// @notice {commissionMeter} for several meters at once (a roll-out); all or none.
    function commissionMeters(bytes32[] calldata meterIds, address[] calldata deviceKeys) external;

    /// @notice Removes a replaced meter's device key (installer). Its household, if any, is
    /// released (and the release relayed); outstanding bindings for it become invalid.
    function decommissionMeter(bytes32 meterId) external;

    /// @notice Binds the meter named in `binding`, its device key and the caller's X25519 key to the
    /// caller. The paper's call, now with proof that the caller is the meter's household.
    /// @dev Requires: the meter is commissioned; `binding.consumer` is the caller; `binding.nonce` is
    /// the meter's next nonce (each binding is used once); `binding.expiry` is in the future;
    /// `signature` is by the device key or an INSTALLER. A meter bound to another consumer moves only
    /// with an installer's binding (the old consumer is released). The recorded meter signer is the
    /// commissioned device key. A registered consumer binding another meter releases the old one.
    /// Every call bumps the caller's version and relays the registration.
    /// @param binding The {MeterBinding} the meter (or installer) signed.
    /// @param signature The 65-byte ECDSA signature over the binding's EIP-712 digest.
    /// @param encryptionKey The consumer's X25519 public key.
    /// @return version The consumer's new version.
    function consumerRegister(MeterBinding calldata binding, bytes calldata signature, bytes32 encryptionKey)
        external
        returns (uint64 version);

    /// @notice Replaces the caller's X25519 key, keeping the meter.
    /// @return version The caller's new version.
    function rotateEncryptionKey(bytes32 encryptionKey) external returns (uint64 version);

    /// @notice Releases the caller's meter (moving out): the relayed registration names no meter,
    /// so the caller stops receiving its data. The next household binds it with a fresh binding.
    /// @return version The caller's new version.
    function releaseMeter() external returns (uint64 version);

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

    /// @notice `meterId`'s device key (address(0) if not commissioned), the nonce its next binding
    /// must carry, and its household (address(0) if none).
    function meterOf(bytes32 meterId) external view returns (address deviceKey, uint64 nextNonce, address consumer);

    /// @notice The EIP-712 digest a device key or installer signs for `binding`.
    function meterBindingDigest(MeterBinding calldata binding) external view returns (bytes32);

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
