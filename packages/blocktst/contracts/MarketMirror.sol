// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IMarketMirror} from "./interfaces/IMarketMirror.sol";

/// @title MarketMirror
/// @notice Registration and preference mirror of BlockPRI on BlockTST (see {IMarketMirror}).
/// @dev A preferences payload is the consumer's complete entry list (BlockPRI's `getPreferences`),
/// so each one replaces the previous set. Entries are stored under a key that includes the set's
/// version: replacing a set is O(new entries) and a lookup is one SLOAD, with no loop over old
/// entries. Registrations and preferences keep separate version high-water marks because BlockPRI
/// bumps one counter for both and republishes both at the same version.
contract MarketMirror is AccessControl, IMarketMirror {
    bytes32 public constant FEDERATION_ROLE = keccak256("FEDERATION_ROLE");
    /// @notice Largest preference set accepted (BlockPRI bounds utilities per consumer far lower).
    uint256 public constant MAX_PREFERENCES = 128;

    /// One packed slot per mirrored entry.
    struct Entry {
        bool set;
        bool allowed;
        SidegridMessages.Resolution resolution;
        uint64 expiresAt;
    }

    uint256 private _srcChainId;
    address private _srcSender;
    mapping(address consumer => SidegridMessages.Registration) private _registration;
    mapping(address consumer => uint64) private _registrationVersion;
    mapping(address consumer => uint64) private _preferencesVersion;
    mapping(bytes32 key => Entry) private _entries;

    /// @param admin Receives DEFAULT_ADMIN_ROLE (sets the source, grants FEDERATION_ROLE).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IMarketMirror
    function setSource(uint256 srcChainId, address srcSender) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (srcChainId == 0 || srcSender == address(0)) revert MirrorInvalidSource(srcChainId, srcSender);
        _srcChainId = srcChainId;
        _srcSender = srcSender;
        emit SourceSet(srcChainId, srcSender);
    }

    /// @notice Applies a registration or preferences payload from BlockPRI.
    /// @dev Reverts only for a wrong source or a malformed payload; stale versions are ignored.
    function onFederatedMessage(uint256 srcChainId, address srcSender, bytes calldata payload)
        external
        onlyRole(FEDERATION_ROLE)
    {
        if (srcChainId != _srcChainId || srcSender != _srcSender) revert MirrorUnexpectedSource(srcChainId, srcSender);
        uint8 kind = SidegridMessages.kindOf(payload);
        if (kind == SidegridMessages.KIND_REGISTRATION) _applyRegistration(payload);
        else if (kind == SidegridMessages.KIND_PREFERENCES) _applyPreferences(payload);
        else revert MirrorUnknownMessageKind(kind);
    }

    function _applyRegistration(bytes calldata payload) private {
        (SidegridMessages.Registration memory reg, uint64 version) = SidegridMessages.decodeRegistration(payload);
        // A registration without a meter (released, moved to the next household) clears the signer:
        // the old household no longer confirms deliveries with that meter.
        if (reg.consumer == address(0) || (reg.meterSigner == address(0) && reg.meterId != bytes32(0))) {
            revert MirrorInvalidRegistration(reg.consumer, reg.meterSigner);
        }
        uint64 held = _registrationVersion[reg.consumer];
        if (version <= held) {
            emit StaleMessageIgnored(reg.consumer, SidegridMessages.KIND_REGISTRATION, held, version);
            return;
        }
        _registrationVersion[reg.consumer] = version;
        _registration[reg.consumer] = reg;
        emit RegistrationMirrored(reg.consumer, reg.meterId, reg.meterSigner, version);
    }

    function _applyPreferences(bytes calldata payload) private {
        (address consumer, uint64 version, SidegridMessages.Preference[] memory prefs) =
            SidegridMessages.decodePreferences(payload);
        if (consumer == address(0)) revert MirrorInvalidConsumer(consumer);
        if (prefs.length > MAX_PREFERENCES) revert MirrorTooManyPreferences(consumer, prefs.length, MAX_PREFERENCES);
        uint64 held = _preferencesVersion[consumer];
        if (version <= held) {
            emit StaleMessageIgnored(consumer, SidegridMessages.KIND_PREFERENCES, held, version);
            return;
        }
        _preferencesVersion[consumer] = version;
        for (uint256 i = 0; i < prefs.length; ++i) {
            SidegridMessages.Preference memory p = prefs[i];
            _entries[_key(consumer, version, p.utility, p.category)] =
                Entry({set: true, allowed: p.allowed, resolution: p.resolution, expiresAt: p.expiresAt});
        }
        emit PreferencesMirrored(consumer, version, prefs.length);
    }

    /// @inheritdoc IMarketMirror
    function source() external view returns (uint256 srcChainId, address srcSender) {
        return (_srcChainId, _srcSender);
    }

    /// @inheritdoc IMarketMirror
    function registrationOf(address consumer)
        external
        view
        returns (SidegridMessages.Registration memory registration, uint64 version)
    {
        return (_registration[consumer], _registrationVersion[consumer]);
    }

    /// @inheritdoc IMarketMirror
    function meterSignerOf(address consumer) external view returns (address) {
        return _registration[consumer].meterSigner;
    }

    /// @inheritdoc IMarketMirror
    function preferencesVersionOf(address consumer) external view returns (uint64) {
        return _preferencesVersion[consumer];
    }

    /// @inheritdoc IMarketMirror
    function preferenceOf(address consumer, address utility, SidegridMessages.Category category)
        public
        view
        returns (bool set, SidegridMessages.Preference memory preference)
    {
        Entry memory e = _entries[_key(consumer, _preferencesVersion[consumer], utility, category)];
        return (
            e.set,
            SidegridMessages.Preference({
                utility: utility,
                category: category,
                allowed: e.allowed,
                resolution: e.resolution,
                expiresAt: e.expiresAt
            })
        );
    }

    /// @inheritdoc IMarketMirror
    function permits(
        address consumer,
        address utility,
        SidegridMessages.Category category,
        SidegridMessages.Resolution resolution,
        uint256 at
    ) external view returns (bool) {
        (bool set, SidegridMessages.Preference memory p) = preferenceOf(consumer, utility, category);
        // An entry for this utility, even a denial, overrides the consumer's default.
        if (!set && utility != address(0)) (set, p) = preferenceOf(consumer, address(0), category);
        if (!set) return false;
        return SidegridMessages.permits(p, category, resolution, at);
    }

    function _key(address consumer, uint64 version, address utility, SidegridMessages.Category category)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(consumer, version, utility, category));
    }
}
