// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title SidegridMessages
/// @notice The payloads the federation carries between BlockPRI, BlockSEC and BlockTST, and the
/// preference vocabulary they share. One definition here keeps sender and receivers in step:
/// BlockPRI encodes preference and registration messages, BlockSEC and BlockTST decode them;
/// BlockTST encodes trade messages, BlockSEC decodes them.
/// @dev Every payload is `abi.encode(uint8 kind, ...)`; receivers switch on the first word.
library SidegridMessages {
    uint8 internal constant KIND_PREFERENCES = 1;
    uint8 internal constant KIND_REGISTRATION = 2;
    uint8 internal constant KIND_TRADE = 3;

    /// What a utility may monitor.
    enum Category {
        CONSUMPTION,
        TRADES
    }

    /// Consumption resolution, coarse to fine: a grant at one level permits every coarser one.
    enum Resolution {
        NONE,
        MONTHLY,
        DAILY,
        HOURLY,
        QUARTER_HOURLY
    }

    /// One preference entry. `utility == address(0)` is the default for any distributor.
    /// `expiresAt == 0` never expires. For TRADES only `allowed` and `expiresAt` matter.
    struct Preference {
        address utility;
        Category category;
        bool allowed;
        Resolution resolution;
        uint64 expiresAt;
    }

    /// A consumer's meter binding: the meter's signing key (secp256k1 address, used to confirm
    /// energy deliveries) and the consumer's X25519 encryption public key.
    struct Registration {
        address consumer;
        bytes32 meterId;
        address meterSigner;
        bytes32 encryptionKey;
    }

    enum TradeKind {
        CP, // consumer to prosumer
        CC, // consumer to company (seller holds the DISTRIBUTOR role)
        AUCTION // cleared in the hourly double auction
    }

    struct Trade {
        uint256 tradeId;
        address buyer;
        address seller;
        TradeKind kind;
        uint256 quantityWh;
        uint256 amount; // SGT paid, 18 decimals
        uint256 unitPrice; // SGT per unit, 18 decimals
        uint64 settledAt;
    }

    error UnknownMessageKind(uint8 kind);

    function encodePreferences(address consumer, uint64 version, Preference[] memory prefs) internal pure returns (bytes memory) {
        return abi.encode(KIND_PREFERENCES, consumer, version, prefs);
    }

    function encodeRegistration(Registration memory reg, uint64 version) internal pure returns (bytes memory) {
        return abi.encode(KIND_REGISTRATION, reg, version);
    }

    function encodeTrade(Trade memory trade) internal pure returns (bytes memory) {
        return abi.encode(KIND_TRADE, trade);
    }

    function kindOf(bytes memory payload) internal pure returns (uint8) {
        return abi.decode(payload, (uint8));
    }

    function decodePreferences(bytes memory payload)
        internal
        pure
        returns (address consumer, uint64 version, Preference[] memory prefs)
    {
        (, consumer, version, prefs) = abi.decode(payload, (uint8, address, uint64, Preference[]));
    }

    function decodeRegistration(bytes memory payload) internal pure returns (Registration memory reg, uint64 version) {
        (, reg, version) = abi.decode(payload, (uint8, Registration, uint64));
    }

    function decodeTrade(bytes memory payload) internal pure returns (Trade memory trade) {
        (, trade) = abi.decode(payload, (uint8, Trade));
    }

    /// @notice True if `p` permits `category` at resolution `wanted` at time `at`.
    function permits(Preference memory p, Category category, Resolution wanted, uint256 at) internal pure returns (bool) {
        if (!p.allowed || p.category != category) return false;
        if (p.expiresAt != 0 && at >= p.expiresAt) return false;
        if (category == Category.CONSUMPTION) {
            return wanted != Resolution.NONE && uint8(wanted) <= uint8(p.resolution);
        }
        return true;
    }
}
