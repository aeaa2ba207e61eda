// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IFederatedReceiver} from "@sidegrid/chain/contracts/interfaces/IFederatedReceiver.sol";

/// @title MockPreferenceMirror
/// @notice Test stand-in for BlockSEC's PolicyMirror: keeps the newest preferences relayed from
/// the expected source and answers `permits`. Knobs make it fail or burn gas on demand.
contract MockPreferenceMirror is AccessControl, IFederatedReceiver {
    bytes32 public constant FEDERATION_ROLE = keccak256("FEDERATION_ROLE");

    uint256 public expectedSrcChainId;
    address public expectedSrcSender;
    mapping(address consumer => uint64) public version;
    mapping(address consumer => SidegridMessages.Preference) private _pref;
    uint256 public deliveries;
    uint8 public mode; // 0 normal, 1 revert, 2 burn all gas, 3 ignore stale versions silently

    error MirrorUnexpectedSource(uint256 srcChainId, address srcSender);
    error MirrorStaleVersion(address consumer, uint64 have, uint64 got);
    error MirrorFailing(uint256 deliveries);

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function setSource(uint256 srcChainId, address srcSender) external onlyRole(DEFAULT_ADMIN_ROLE) {
        expectedSrcChainId = srcChainId;
        expectedSrcSender = srcSender;
    }

    function setMode(uint8 mode_) external {
        mode = mode_;
    }

    /// @inheritdoc IFederatedReceiver
    function onFederatedMessage(uint256 srcChainId, address srcSender, bytes calldata payload)
        external
        onlyRole(FEDERATION_ROLE)
    {
        if (mode == 1) revert MirrorFailing(deliveries);
        if (mode == 2) {
            while (true) {}
        }
        if (srcChainId != expectedSrcChainId || srcSender != expectedSrcSender) {
            revert MirrorUnexpectedSource(srcChainId, srcSender);
        }
        (address consumer, uint64 v, SidegridMessages.Preference[] memory prefs) =
            SidegridMessages.decodePreferences(payload);
        if (v <= version[consumer]) {
            if (mode == 3) return;
            revert MirrorStaleVersion(consumer, version[consumer], v);
        }
        version[consumer] = v;
        _pref[consumer] = prefs[0];
        ++deliveries;
    }

    /// @notice True if `consumer`'s newest relayed preference lets `utility` read consumption at `wanted`.
    function permits(address consumer, address utility, SidegridMessages.Resolution wanted) external view returns (bool) {
        SidegridMessages.Preference memory p = _pref[consumer];
        if (p.utility != utility) return false;
        return SidegridMessages.permits(p, SidegridMessages.Category.CONSUMPTION, wanted, block.timestamp);
    }
}
