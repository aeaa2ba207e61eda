// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IPPC} from "./interfaces/IPPC.sol";
import {IPreferenceOutbox} from "./interfaces/IPreferenceOutbox.sol";

/// @title PPC — the Privacy Preference Contract of BlockPRI
/// @notice Consumers bind a meter and an encryption key to their wallet and decide, per utility and
/// per category, what may be monitored and stored, at which resolution and until when. A regulator
/// (DEFAULT_ADMIN_ROLE) admits utilities (DISTRIBUTOR_ROLE) and courts (AUDITOR_ROLE); the regulator
/// (REGULATOR_ROLE) admits installers (INSTALLER_ROLE), who commission meters with their device keys.
/// A meter is bound to a household only with a {MeterBinding} signed by the meter's device key or by
/// an installer: holding a meter id proves nothing (anyone can read it off the meter's label).
/// @dev Every change bumps the consumer's version and emits {RelayPayload} with the bytes the
/// federation carries. A preferences payload is the consumer's complete preference list at that
/// version (not a delta): a receiver that missed a version is whole again with the next one.
contract PPC is AccessControl, EIP712, IPPC {
    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// The regulator admits distributors, auditors and installers; DEFAULT_ADMIN_ROLE (the
    /// federation's timelock after handover) appoints the regulator and alone touches routes and the outbox.
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    bytes32 public constant INSTALLER_ROLE = keccak256("INSTALLER_ROLE");
    bytes32 public constant METER_BINDING_TYPEHASH =
        keccak256("MeterBinding(bytes32 meterId,address consumer,uint256 nonce,uint64 expiry)");
    /// Bounds a preferences payload to 18 entries (≈ 3 KB, under the outbox's 16 KiB) and the gas
    /// of applying it on a mirror (≈ 0.5 M gas when every entry is new, under the inbox's 1 M
    /// per-message app gas).
    uint256 public constant MAX_UTILITIES = 8;

    struct ConsumerRecord {
        bool registered;
        uint64 version;
        address meterSigner;
        bytes32 meterId;
        bytes32 encryptionKey;
    }

    struct MeterRecord {
        address deviceKey;
        uint64 nonce;
    }

    struct Entry {
        bool set;
        bool allowed;
        SidegridMessages.Resolution resolution;
        uint64 expiresAt;
    }

    address[] private _consumerDB;
    mapping(address consumer => ConsumerRecord) private _consumers;
    mapping(bytes32 meterId => address consumer) private _meterOwner;
    /// Commissioned meters. `nonce` outlives decommissioning, so a binding signed for an earlier
    /// installation never becomes valid again.
    mapping(bytes32 meterId => MeterRecord) private _meters;
    mapping(address consumer => mapping(address utility => mapping(SidegridMessages.Category => Entry))) private _entries;
    /// Utilities (not address(0)) with at least one entry, per consumer, and their index + 1.
    mapping(address consumer => address[]) private _utilities;
    mapping(address consumer => mapping(address utility => uint256)) private _utilityIndex;

    IPreferenceOutbox public outbox;
    Route[] private _routes;

    /// @param admin Receives DEFAULT_ADMIN_ROLE (outbox, routes; handed to governance after wiring)
    /// and REGULATOR_ROLE (grants DISTRIBUTOR, AUDITOR and INSTALLER).
    constructor(address admin) EIP712("PPC", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGULATOR_ROLE, admin);
        _setRoleAdmin(DISTRIBUTOR_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(AUDITOR_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(INSTALLER_ROLE, REGULATOR_ROLE);
    }

    // ---------------------------------------------------------------- commissioning

    /// @inheritdoc IPPC
    function commissionMeter(bytes32 meterId, address deviceKey) external onlyRole(INSTALLER_ROLE) {
        _commission(meterId, deviceKey);
    }

    /// @inheritdoc IPPC
    function commissionMeters(bytes32[] calldata meterIds, address[] calldata deviceKeys) external onlyRole(INSTALLER_ROLE) {
        if (meterIds.length != deviceKeys.length) revert PPCLengthMismatch(meterIds.length, deviceKeys.length);
        for (uint256 i = 0; i < meterIds.length; ++i) _commission(meterIds[i], deviceKeys[i]);
    }

    /// @inheritdoc IPPC
    function decommissionMeter(bytes32 meterId) external onlyRole(INSTALLER_ROLE) {
        MeterRecord storage m = _meters[meterId];
        address deviceKey = m.deviceKey;
        if (deviceKey == address(0)) revert PPCMeterNotCommissioned(meterId);
        address owner = _meterOwner[meterId];
        if (owner != address(0)) _detach(owner, meterId);
        m.deviceKey = address(0);
        ++m.nonce; // bindings signed for this installation die with it
        emit MeterDecommissioned(meterId, deviceKey, msg.sender);
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IPPC
    function consumerRegister(MeterBinding calldata binding, bytes calldata signature, bytes32 encryptionKey)
        external
        returns (uint64 version)
    {
        if (binding.meterId == bytes32(0) || encryptionKey == bytes32(0)) {
            revert PPCInvalidRegistration(binding.meterId, encryptionKey);
        }
        (address deviceKey, bool byInstaller) = _checkBinding(binding, signature);
        bytes32 meterId = binding.meterId;
        address owner = _meterOwner[meterId];
        if (owner != address(0) && owner != msg.sender) {
            // A household that moved out without releasing: only an installer may move the meter.
            if (!byInstaller) revert PPCMeterTaken(meterId, owner);
            _detach(owner, meterId);
        }
        ++_meters[meterId].nonce;

        ConsumerRecord storage c = _consumers[msg.sender];
        if (!c.registered) {
            c.registered = true;
            _consumerDB.push(msg.sender);
        }
        version = ++c.version;
        bytes32 previous = c.meterId;
        if (previous != bytes32(0) && previous != meterId) {
            delete _meterOwner[previous];
            emit MeterReleased(msg.sender, previous, version);
        }
        _meterOwner[meterId] = msg.sender;
        c.meterId = meterId;
        c.meterSigner = deviceKey;
        c.encryptionKey = encryptionKey;
        emit ConsumerRegistered(msg.sender, meterId, deviceKey, encryptionKey, version);
        _relayRegistration(msg.sender, version);
    }

    /// @inheritdoc IPPC
    function rotateEncryptionKey(bytes32 encryptionKey) external returns (uint64 version) {
        ConsumerRecord storage c = _registered(msg.sender);
        if (c.meterId == bytes32(0) || encryptionKey == bytes32(0)) {
            revert PPCInvalidRegistration(c.meterId, encryptionKey);
        }
        c.encryptionKey = encryptionKey;
        version = ++c.version;
        emit ConsumerRegistered(msg.sender, c.meterId, c.meterSigner, encryptionKey, version);
        _relayRegistration(msg.sender, version);
    }

    /// @inheritdoc IPPC
    function releaseMeter() external returns (uint64 version) {
        bytes32 meterId = _registered(msg.sender).meterId;
        if (meterId == bytes32(0)) revert PPCNoMeter(msg.sender);
        return _detach(msg.sender, meterId);
    }

    // ---------------------------------------------------------------- preferences

    /// @inheritdoc IPPC
    function setPreference(
        address utility,
        SidegridMessages.Category category,
        bool allowed,
        SidegridMessages.Resolution resolution,
        uint64 expiresAt
    ) external returns (uint64 version) {
        SidegridMessages.Preference[] memory changed = new SidegridMessages.Preference[](1);
        changed[0] = SidegridMessages.Preference(utility, category, allowed, resolution, expiresAt);
        return _apply(msg.sender, changed);
    }

    /// @inheritdoc IPPC
    function setPreferences(SidegridMessages.Preference[] calldata prefs) external returns (uint64 version) {
        if (prefs.length == 0) revert PPCEmptyPreferences();
        for (uint256 i = 1; i < prefs.length; ++i) {
            for (uint256 j = 0; j < i; ++j) {
                if (prefs[i].utility == prefs[j].utility && prefs[i].category == prefs[j].category) {
                    revert PPCDuplicatePreference(prefs[i].utility, prefs[i].category);
                }
            }
        }
        return _apply(msg.sender, prefs);
    }

    /// @inheritdoc IPPC
    function clearPreference(address utility, SidegridMessages.Category category) external returns (uint64 version) {
        ConsumerRecord storage c = _registered(msg.sender);
        Entry storage e = _entries[msg.sender][utility][category];
        if (!e.set) revert PPCNoSuchPreference(msg.sender, utility, category);
        delete _entries[msg.sender][utility][category];
        if (utility != address(0)) {
            SidegridMessages.Category other = category == SidegridMessages.Category.CONSUMPTION
                ? SidegridMessages.Category.TRADES
                : SidegridMessages.Category.CONSUMPTION;
            if (!_entries[msg.sender][utility][other].set) _removeUtility(msg.sender, utility);
        }
        version = ++c.version;
        emit PreferenceCleared(msg.sender, version, utility, category);
        _relayPreferences(msg.sender, version);
    }

    /// @inheritdoc IPPC
    function setMonitorConsPref(bool pref) external returns (uint64 version) {
        SidegridMessages.Preference[] memory changed = new SidegridMessages.Preference[](1);
        changed[0] = SidegridMessages.Preference(
            address(0),
            SidegridMessages.Category.CONSUMPTION,
            pref,
            pref ? SidegridMessages.Resolution.QUARTER_HOURLY : SidegridMessages.Resolution.NONE,
            0
        );
        return _apply(msg.sender, changed);
    }

    /// @inheritdoc IPPC
    function setMonitorTransfPref(bool pref) external returns (uint64 version) {
        SidegridMessages.Preference[] memory changed = new SidegridMessages.Preference[](1);
        changed[0] = SidegridMessages.Preference(
            address(0), SidegridMessages.Category.TRADES, pref, SidegridMessages.Resolution.NONE, 0
        );
        return _apply(msg.sender, changed);
    }

    /// @inheritdoc IPPC
    function republish(address consumer) external {
        if (msg.sender != consumer && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert PPCUnauthorized(msg.sender, consumer);
        ConsumerRecord storage c = _registered(consumer);
        _relayRegistration(consumer, c.version);
        _relayPreferences(consumer, c.version);
    }

    // ---------------------------------------------------------------- outbox

    /// @inheritdoc IPPC
    function setOutbox(address outbox_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit OutboxSet(address(outbox), outbox_);
        outbox = IPreferenceOutbox(outbox_);
    }

    /// @inheritdoc IPPC
    function addRoute(uint256 chainId, address target) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (chainId == 0 || target == address(0)) revert PPCInvalidRoute(chainId, target);
        if (_routeIndex(chainId, target) != type(uint256).max) revert PPCRouteExists(chainId, target);
        _routes.push(Route(chainId, target));
        emit RouteAdded(chainId, target);
    }

    /// @inheritdoc IPPC
    function removeRoute(uint256 chainId, address target) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 i = _routeIndex(chainId, target);
        if (i == type(uint256).max) revert PPCRouteNotFound(chainId, target);
        _routes[i] = _routes[_routes.length - 1];
        _routes.pop();
        emit RouteRemoved(chainId, target);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPPC
    function getConsumer(uint256 id) external view returns (address) {
        if (id >= _consumerDB.length) revert PPCConsumerIndexOutOfRange(id, _consumerDB.length);
        return _consumerDB[id];
    }

    /// @inheritdoc IPPC
    function consumerCount() external view returns (uint256) {
        return _consumerDB.length;
    }

    /// @inheritdoc IPPC
    function getConsumerPrefs(address addr) external view returns (ConsumerPref memory) {
        Entry memory cons = _entries[addr][address(0)][SidegridMessages.Category.CONSUMPTION];
        Entry memory trades = _entries[addr][address(0)][SidegridMessages.Category.TRADES];
        return ConsumerPref({
            isDistributor: hasRole(DISTRIBUTOR_ROLE, addr),
            canMonitorTransf: trades.set
                && SidegridMessages.permits(
                    _pref(address(0), SidegridMessages.Category.TRADES, trades),
                    SidegridMessages.Category.TRADES,
                    SidegridMessages.Resolution.NONE,
                    block.timestamp
                ),
            canMonitorCons: cons.set
                && SidegridMessages.permits(
                    _pref(address(0), SidegridMessages.Category.CONSUMPTION, cons),
                    SidegridMessages.Category.CONSUMPTION,
                    SidegridMessages.Resolution.MONTHLY,
                    block.timestamp
                )
        });
    }

    /// @inheritdoc IPPC
    function isRegistered(address consumer) external view returns (bool) {
        return _consumers[consumer].registered;
    }

    /// @inheritdoc IPPC
    function registrationOf(address consumer) public view returns (SidegridMessages.Registration memory reg) {
        ConsumerRecord storage c = _consumers[consumer];
        if (!c.registered) return reg;
        return SidegridMessages.Registration(consumer, c.meterId, c.meterSigner, c.encryptionKey);
    }

    /// @inheritdoc IPPC
    function consumerOfMeter(bytes32 meterId) external view returns (address) {
        return _meterOwner[meterId];
    }

    /// @inheritdoc IPPC
    function meterOf(bytes32 meterId) external view returns (address deviceKey, uint64 nextNonce, address consumer) {
        MeterRecord storage m = _meters[meterId];
        return (m.deviceKey, m.nonce, _meterOwner[meterId]);
    }

    /// @inheritdoc IPPC
    function meterBindingDigest(MeterBinding calldata binding) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(METER_BINDING_TYPEHASH, binding.meterId, binding.consumer, binding.nonce, binding.expiry))
        );
    }

    /// @inheritdoc IPPC
    function versionOf(address consumer) external view returns (uint64) {
        return _consumers[consumer].version;
    }

    /// @inheritdoc IPPC
    function getPreference(address consumer, address utility, SidegridMessages.Category category)
        external
        view
        returns (bool set, SidegridMessages.Preference memory pref)
    {
        Entry memory e = _entries[consumer][utility][category];
        if (!e.set) return (false, pref);
        return (true, _pref(utility, category, e));
    }

    /// @inheritdoc IPPC
    function getPreferences(address consumer) public view returns (SidegridMessages.Preference[] memory prefs) {
        address[] storage utilities = _utilities[consumer];
        SidegridMessages.Preference[] memory buf = new SidegridMessages.Preference[]((utilities.length + 1) * 2);
        uint256 n = _collect(buf, 0, consumer, address(0));
        for (uint256 i = 0; i < utilities.length; ++i) n = _collect(buf, n, consumer, utilities[i]);
        assembly ("memory-safe") {
            mstore(buf, n) // shrink to the entries actually set
        }
        return buf;
    }

    /// @inheritdoc IPPC
    function isPermitted(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 time
    ) external view returns (bool) {
        if (!hasRole(DISTRIBUTOR_ROLE, utility)) return false;
        Entry memory e = _entries[consumer][utility][category];
        if (!e.set) e = _entries[consumer][address(0)][category];
        if (!e.set) return false;
        return SidegridMessages.permits(_pref(utility, category, e), category, resolution, time);
    }

    /// @inheritdoc IPPC
    function routes() external view returns (Route[] memory) {
        return _routes;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Nobody sets their own DISTRIBUTOR, AUDITOR or INSTALLER role: the paper's self-set
    /// `isDistributor` let any address declare itself a utility (and an installer can move meters).
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if ((role == DISTRIBUTOR_ROLE || role == AUDITOR_ROLE || role == INSTALLER_ROLE) && account == _msgSender()) {
            revert PPCSelfGrant(account, role);
        }
        return super._grantRole(role, account);
    }

    function _commission(bytes32 meterId, address deviceKey) private {
        if (meterId == bytes32(0) || deviceKey == address(0)) revert PPCInvalidCommission(meterId, deviceKey);
        MeterRecord storage m = _meters[meterId];
        if (m.deviceKey != address(0)) revert PPCMeterAlreadyCommissioned(meterId, m.deviceKey);
        m.deviceKey = deviceKey;
        emit MeterCommissioned(meterId, deviceKey, msg.sender);
    }

    /// @dev Checks `binding` for the caller (see {consumerRegister}) and emits {MeterBound}; returns
    /// the meter's device key and whether an installer (not the device) signed.
    function _checkBinding(MeterBinding calldata binding, bytes calldata signature)
        private
        returns (address deviceKey, bool byInstaller)
    {
        bytes32 meterId = binding.meterId;
        MeterRecord storage m = _meters[meterId];
        deviceKey = m.deviceKey;
        if (deviceKey == address(0)) revert PPCMeterNotCommissioned(meterId);
        if (binding.consumer != msg.sender) revert PPCBindingWrongConsumer(meterId, binding.consumer, msg.sender);
        if (binding.nonce != m.nonce) revert PPCBindingBadNonce(meterId, m.nonce, binding.nonce);
        if (binding.expiry <= block.timestamp) revert PPCBindingExpired(meterId, binding.expiry, block.timestamp);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(meterBindingDigest(binding), signature);
        if (err != ECDSA.RecoverError.NoError) signer = address(0);
        byInstaller = signer != deviceKey && signer != address(0) && hasRole(INSTALLER_ROLE, signer);
        if (signer != deviceKey && !byInstaller) revert PPCBindingUnauthorizedSigner(meterId, signer);
        emit MeterBound(meterId, msg.sender, signer, binding.nonce);
    }

    /// @dev Unbinds `meterId` from `consumer`: the relayed registration no longer names the meter, so
    /// the mirrors (and the gateways reading them) stop attributing its readings to `consumer`.
    function _detach(address consumer, bytes32 meterId) private returns (uint64 version) {
        ConsumerRecord storage c = _consumers[consumer];
        delete _meterOwner[meterId];
        c.meterId = bytes32(0);
        c.meterSigner = address(0);
        version = ++c.version;
        emit MeterReleased(consumer, meterId, version);
        _relayRegistration(consumer, version);
    }

    function _apply(address consumer, SidegridMessages.Preference[] memory changed) private returns (uint64 version) {
        ConsumerRecord storage c = _registered(consumer);
        for (uint256 i = 0; i < changed.length; ++i) {
            SidegridMessages.Preference memory p = changed[i];
            _validate(p);
            if (p.utility != address(0) && _utilityIndex[consumer][p.utility] == 0) _addUtility(consumer, p.utility);
            _entries[consumer][p.utility][p.category] = Entry(true, p.allowed, p.resolution, p.expiresAt);
        }
        version = ++c.version;
        emit PreferencesChanged(consumer, version, changed);
        _relayPreferences(consumer, version);
    }

    function _validate(SidegridMessages.Preference memory p) private view {
        bool isConsumption = p.category == SidegridMessages.Category.CONSUMPTION;
        if (
            (isConsumption && p.allowed && p.resolution == SidegridMessages.Resolution.NONE)
                || (!isConsumption && p.resolution != SidegridMessages.Resolution.NONE)
        ) revert PPCInvalidResolution(p.category, p.allowed, p.resolution);
        if (p.expiresAt != 0 && p.expiresAt <= block.timestamp) revert PPCExpiryInPast(p.expiresAt, block.timestamp);
    }

    function _registered(address consumer) private view returns (ConsumerRecord storage c) {
        c = _consumers[consumer];
        if (!c.registered) revert PPCNotRegistered(consumer);
    }

    function _addUtility(address consumer, address utility) private {
        address[] storage list = _utilities[consumer];
        if (list.length >= MAX_UTILITIES) revert PPCTooManyUtilities(consumer, MAX_UTILITIES);
        list.push(utility);
        _utilityIndex[consumer][utility] = list.length;
    }

    function _removeUtility(address consumer, address utility) private {
        address[] storage list = _utilities[consumer];
        uint256 i = _utilityIndex[consumer][utility] - 1;
        address last = list[list.length - 1];
        list[i] = last;
        _utilityIndex[consumer][last] = i + 1;
        list.pop();
        delete _utilityIndex[consumer][utility];
    }

    function _collect(SidegridMessages.Preference[] memory buf, uint256 n, address consumer, address utility)
        private
        view
        returns (uint256)
    {
        for (uint8 k = 0; k < 2; ++k) {
            SidegridMessages.Category category = SidegridMessages.Category(k);
            Entry memory e = _entries[consumer][utility][category];
            if (e.set) buf[n++] = _pref(utility, category, e);
        }
        return n;
    }

    function _pref(address utility, SidegridMessages.Category category, Entry memory e)
        private
        pure
        returns (SidegridMessages.Preference memory)
    {
        return SidegridMessages.Preference(utility, category, e.allowed, e.resolution, e.expiresAt);
    }

    function _routeIndex(uint256 chainId, address target) private view returns (uint256) {
        for (uint256 i = 0; i < _routes.length; ++i) {
            if (_routes[i].chainId == chainId && _routes[i].target == target) return i;
        }
        return type(uint256).max;
    }

    function _relayPreferences(address consumer, uint64 version) private {
        _relay(consumer, version, SidegridMessages.KIND_PREFERENCES, SidegridMessages.encodePreferences(consumer, version, getPreferences(consumer)));
    }

    function _relayRegistration(address consumer, uint64 version) private {
        _relay(consumer, version, SidegridMessages.KIND_REGISTRATION, SidegridMessages.encodeRegistration(registrationOf(consumer), version));
    }

    /// @dev A failing outbox reverts the change: a preference recorded here but never queued for
    /// the mirrors would leave them silently behind (a revocation not honoured).
    function _relay(address consumer, uint64 version, uint8 kind, bytes memory payload) private {
        emit RelayPayload(consumer, version, kind, payload);
        IPreferenceOutbox ob = outbox;
        if (address(ob) == address(0)) return;
        uint256 n = _routes.length;
        for (uint256 i = 0; i < n; ++i) {
            Route memory r = _routes[i];
            ob.send(r.chainId, r.target, payload);
        }
    }
}
