// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IPolicyMirror} from "./interfaces/IPolicyMirror.sol";

/// @title PolicyMirror
/// @notice BlockPRI's preferences and meter bindings on BlockSEC, as delivered by the federation
/// (FEDERATION_ROLE: a trusted relayer now, the federation's inbox later), plus BlockSEC's role
/// registry (DISTRIBUTOR, AUDITOR) granted by the regulator.
/// @dev A preferences payload is the consumer's complete list at that version: entries written
/// carry the version, and only entries of the version held count, so a newer list replaces the
/// older one without deleting anything. Preferences and registrations share BlockPRI's
/// per-consumer counter but are versioned separately here, each a full snapshot of its kind: a
/// registration overtaking a preference change must not make that change look stale. A delivery
/// not newer than the one held reverts (`StalePreferenceVersion`): the inbox records it as failed
/// and moves on; nothing is overwritten.
contract PolicyMirror is AccessControl, IFederatedReceiver, IPolicyMirror {
    bytes32 public constant FEDERATION_ROLE = keccak256("FEDERATION_ROLE");
    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// Admits distributors and auditors. Admission writes no consent: reads still need the relayed
    /// preferences. FEDERATION_ROLE and the source stay with DEFAULT_ADMIN_ROLE (governance).
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    struct ConsumerState {
        uint64 preferencesVersion;
        uint64 registrationVersion;
        /// Latest time some TRADES entry permits (max uint64 = never expires; 0 = none).
        uint64 tradesAllowedUntil;
    }

    struct Entry {
        bool allowed;
        SidegridMessages.Resolution resolution;
        uint64 expiresAt;
        /// The preferences version that wrote it; valid only while it is the version held.
        uint64 version;
    }

    struct Binding {
        bytes32 meterId;
        address meterSigner;
        bytes32 encryptionKey;
    }

    uint256 private _srcChainId;
    address private _srcSender;
    mapping(address consumer => ConsumerState) private _state;
    mapping(address consumer => mapping(address utility => mapping(SidegridMessages.Category => Entry))) private _entries;
    mapping(address consumer => Binding) private _bindings;
    mapping(bytes32 meterId => address consumer) private _meterOwner;

    /// @param admin Receives DEFAULT_ADMIN_ROLE (FEDERATION_ROLE, source; handed to governance after
    /// wiring) and REGULATOR_ROLE (grants DISTRIBUTOR and AUDITOR).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGULATOR_ROLE, admin);
        _setRoleAdmin(DISTRIBUTOR_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(AUDITOR_ROLE, REGULATOR_ROLE);
    }

    /// @inheritdoc IFederatedReceiver
    function onFederatedMessage(uint256 srcChainId, address srcSender, bytes calldata payload)
        external
        onlyRole(FEDERATION_ROLE)
    {
        if (srcChainId != _srcChainId || srcSender != _srcSender || srcSender == address(0)) {
            revert MirrorUnexpectedSource(srcChainId, srcSender);
        }
        uint8 kind = SidegridMessages.kindOf(payload);
        if (kind == SidegridMessages.KIND_PREFERENCES) _applyPreferences(payload);
        else if (kind == SidegridMessages.KIND_REGISTRATION) _applyRegistration(payload);
        else revert MirrorUnknownMessageKind(kind);
    }

    /// @inheritdoc IPolicyMirror
    function setPreferenceSource(uint256 srcChainId, address srcSender) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _srcChainId = srcChainId;
        _srcSender = srcSender;
        emit PreferenceSourceSet(srcChainId, srcSender);
    }

    /// @inheritdoc IPolicyMirror
    function preferenceSource() external view returns (uint256 srcChainId, address srcSender) {
        return (_srcChainId, _srcSender);
    }

    /// @inheritdoc IPolicyMirror
    function isPermitted(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 time
    ) public view returns (bool) {
        if (!hasRole(DISTRIBUTOR_ROLE, utility)) return false;
        return _permits(consumer, utility, category, resolution, time);
    }

    /// @inheritdoc IPolicyMirror
    function storageDecision(
        address consumer,
        bytes32 meterId,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution
    ) external view returns (StorageDecision) {
        if (consumer == address(0) || _meterOwner[meterId] != consumer) return StorageDecision.METER_NOT_BOUND;
        if (!hasRole(DISTRIBUTOR_ROLE, utility)) return StorageDecision.NOT_A_DISTRIBUTOR;
        if (!_permits(consumer, utility, category, resolution, block.timestamp)) return StorageDecision.NOT_PERMITTED;
        return StorageDecision.PERMITTED;
    }

    /// @inheritdoc IPolicyMirror
    function tradesAllowed(address consumer, uint256 time) external view returns (bool) {
        return time < _state[consumer].tradesAllowedUntil;
    }

    /// @inheritdoc IPolicyMirror
    function getPreference(address consumer, address utility, SidegridMessages.Category category)
        external
        view
        returns (bool set, SidegridMessages.Preference memory pref)
    {
        Entry memory e = _entries[consumer][utility][category];
        if (!_current(consumer, e)) return (false, pref);
        return (true, SidegridMessages.Preference(utility, category, e.allowed, e.resolution, e.expiresAt));
    }

    /// @inheritdoc IPolicyMirror
    function registrationOf(address consumer) external view returns (SidegridMessages.Registration memory reg) {
        Binding memory b = _bindings[consumer];
        if (b.meterId == bytes32(0)) return reg;
        return SidegridMessages.Registration(consumer, b.meterId, b.meterSigner, b.encryptionKey);
    }

    /// @inheritdoc IPolicyMirror
    function consumerOfMeter(bytes32 meterId) external view returns (address) {
        return _meterOwner[meterId];
    }

    /// @inheritdoc IPolicyMirror
    function preferencesVersionOf(address consumer) external view returns (uint64) {
        return _state[consumer].preferencesVersion;
    }

    /// @inheritdoc IPolicyMirror
    function registrationVersionOf(address consumer) external view returns (uint64) {
        return _state[consumer].registrationVersion;
    }

    /// @inheritdoc IPolicyMirror
    function isDistributor(address account) external view returns (bool) {
        return hasRole(DISTRIBUTOR_ROLE, account);
    }

    /// @inheritdoc IPolicyMirror
    function isAuditor(address account) external view returns (bool) {
        return hasRole(AUDITOR_ROLE, account);
    }

    /// @dev Nobody grants DISTRIBUTOR or AUDITOR to themselves (same rule as BlockPRI).
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if ((role == DISTRIBUTOR_ROLE || role == AUDITOR_ROLE) && account == _msgSender()) {
            revert MirrorSelfGrant(account, role);
        }
        return super._grantRole(role, account);
    }

    function _applyPreferences(bytes calldata payload) private {
        (address consumer, uint64 version, SidegridMessages.Preference[] memory prefs) =
            SidegridMessages.decodePreferences(payload);
        if (consumer == address(0)) revert MirrorInvalidConsumer(consumer);
        ConsumerState storage s = _state[consumer];
        if (version <= s.preferencesVersion) revert StalePreferenceVersion(consumer, s.preferencesVersion, version);
        s.preferencesVersion = version;
        uint64 tradesUntil;
        for (uint256 i = 0; i < prefs.length; ++i) {
            SidegridMessages.Preference memory p = prefs[i];
            _entries[consumer][p.utility][p.category] = Entry(p.allowed, p.resolution, p.expiresAt, version);
            if (p.category == SidegridMessages.Category.TRADES && p.allowed) {
                uint64 until = p.expiresAt == 0 ? type(uint64).max : p.expiresAt;
                if (until > tradesUntil) tradesUntil = until;
            }
        }
        s.tradesAllowedUntil = tradesUntil;
        emit PreferencesMirrored(consumer, version, prefs);
    }

    function _applyRegistration(bytes calldata payload) private {
        (SidegridMessages.Registration memory reg, uint64 version) = SidegridMessages.decodeRegistration(payload);
        address consumer = reg.consumer;
        if (consumer == address(0)) revert MirrorInvalidConsumer(consumer);
        ConsumerState storage s = _state[consumer];
        if (version <= s.registrationVersion) revert StaleRegistrationVersion(consumer, s.registrationVersion, version);
        s.registrationVersion = version;
        bytes32 previous = _bindings[consumer].meterId;
        // Release the old meter only if it is still ours: a newer owner may already hold it.
        if (previous != bytes32(0) && previous != reg.meterId && _meterOwner[previous] == consumer) {
            delete _meterOwner[previous];
        }
        if (reg.meterId != bytes32(0)) _meterOwner[reg.meterId] = consumer; // zero: meter released
        _bindings[consumer] = Binding(reg.meterId, reg.meterSigner, reg.encryptionKey);
        emit RegistrationMirrored(consumer, version, reg.meterId, reg.meterSigner, reg.encryptionKey);
    }

    /// @inheritdoc IPolicyMirror
    function consentOf(address consumer, address utility, SidegridMessages.Category category, uint256 time)
        external
        view
        returns (SidegridMessages.Resolution finest, uint64 preferencesVersion)
    {
        preferencesVersion = _state[consumer].preferencesVersion;
        if (!hasRole(DISTRIBUTOR_ROLE, utility)) return (SidegridMessages.Resolution.NONE, preferencesVersion);
        for (uint8 r = uint8(type(SidegridMessages.Resolution).max); r > 0; r--) {
            if (_permits(consumer, utility, category, SidegridMessages.Resolution(r), time)) {
                return (SidegridMessages.Resolution(r), preferencesVersion);
            }
        }
        return (SidegridMessages.Resolution.NONE, preferencesVersion);
    }

    function _permits(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 time
    ) private view returns (bool) {
        Entry memory e = _entries[consumer][utility][category];
        if (!_current(consumer, e)) {
            e = _entries[consumer][address(0)][category];
            if (!_current(consumer, e)) return false;
        }
        return SidegridMessages.permits(
            SidegridMessages.Preference(utility, category, e.allowed, e.resolution, e.expiresAt), category, resolution, time
        );
    }

    function _current(address consumer, Entry memory e) private view returns (bool) {
        return e.version != 0 && e.version == _state[consumer].preferencesVersion;
    }
}
