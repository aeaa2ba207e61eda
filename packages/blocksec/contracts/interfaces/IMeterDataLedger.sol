// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title IMeterDataLedger
/// @notice Gateways anchor batches of (encrypted) meter readings: a Merkle root and counters in
/// storage, the readings themselves in event data. A reading is stored only where the policy
/// mirror permits storage for the gateway's utility; a (meter, sequence) is stored at most once.
/// @dev Packed batch layout (big-endian), chosen because calldata dominates the cost:
///   batch  := format:uint8 (=1) | recordCount:uint32 | group*
///   group  := consumer:address | meterId:bytes32 | category:uint8 | resolution:uint8 | count:uint16 | record*count
///   record := sequence:uint64 | periodStart:uint64 | payloadLength:uint16 | payload
/// Leaf of a record: keccak256(bytes.concat(keccak256(abi.encode(consumer, meterId, sequence,
/// periodStart, uint8 resolution, uint8 category, keccak256(payload))))). The root is built over
/// the stored records in batch order with sorted-pair hashing (OZ MerkleProof); an odd node at the
/// end of a level moves up unchanged.
interface IMeterDataLedger {
    /// @notice One logical reading (used by {leafHash} and {verifyRecord}; batches are packed).
    struct Record {
        address consumer;
        bytes32 meterId;
        uint64 sequence;
        uint64 periodStart;
        SidegridMessages.Resolution resolution;
        SidegridMessages.Category category;
        bytes payload;
    }

    /// @notice What is kept per anchored batch.
    struct Batch {
        bytes32 root;
        address utility;
        uint32 stored;
        uint64 blockNumber;
    }

    /// @notice `gateway` anchors for `utility` (address(0): no longer a gateway).
    event GatewaySet(address indexed gateway, address indexed utility);
    /// @notice A batch was anchored: `root` over the `stored` records; `claimedRoot` is the
    /// gateway's root over all it submitted (equal to `root` when nothing was skipped or rejected).
    event BatchAnchored(
        bytes32 indexed batchId,
        address indexed gateway,
        address indexed utility,
        bytes32 root,
        bytes32 claimedRoot,
        uint32 stored,
        uint32 skipped,
        uint32 rejected
    );
    /// @notice The stored records of one group, packed as `record*` of the batch layout; the first
    /// is leaf `firstLeaf` of the batch's tree, the others follow in order.
    event RecordsStored(
        bytes32 indexed batchId,
        address indexed consumer,
        bytes32 indexed meterId,
        uint8 category,
        uint8 resolution,
        uint32 firstLeaf,
        bytes records
    );
    /// @notice Records already anchored (same meter and sequence), left out.
    event RecordsSkipped(bytes32 indexed batchId, address indexed consumer, bytes32 indexed meterId, uint64[] sequences);
    /// @notice Records the mirror does not let this utility store; their payloads are not emitted.
    event RecordsRejected(
        bytes32 indexed batchId,
        address indexed consumer,
        bytes32 indexed meterId,
        uint8 reason,
        uint8 category,
        uint8 resolution,
        uint64[] sequences
    );

    /// @notice `batchId` is already anchored.
    error LedgerBatchExists(bytes32 batchId);
    /// @notice The caller holds GATEWAY_ROLE without a utility (granted outside {grantGateway}).
    error LedgerGatewayWithoutUtility(address gateway);
    /// @notice {grantGateway} needs a gateway and a utility.
    error LedgerInvalidGateway(address gateway, address utility);
    /// @notice The packed batch ends inside a group or record starting at `offset`.
    error LedgerMalformedRecords(uint256 offset, uint256 length);
    /// @notice Unknown batch format byte.
    error LedgerUnsupportedFormat(uint8 format);
    /// @notice A category or resolution byte outside its enum.
    error LedgerInvalidEnum(uint256 offset, uint8 category, uint8 resolution);
    /// @notice The header's record count differs from the records found.
    error LedgerRecordCountMismatch(uint256 declared, uint256 parsed);
    /// @notice Everything was stored but the gateway's root differs from the one computed here:
    /// the gateway and the chain disagree on the encoding. Nothing is anchored.
    error LedgerRootMismatch(bytes32 claimed, bytes32 computed);

    /// @notice Anchors a batch (GATEWAY_ROLE). Records the mirror refuses are reported and left
    /// out; records already anchored are skipped; the rest are emitted and committed to by the root.
    /// @param batchId Unique per batch.
    /// @param merkleRoot The gateway's root over all submitted records.
    /// @param records The packed batch (see the layout above).
    /// @return root The anchored root (over the stored records; zero if none).
    /// @return stored Number of records stored.
    function anchorBatch(bytes32 batchId, bytes32 merkleRoot, bytes calldata records)
        external
        returns (bytes32 root, uint32 stored);

    /// @notice Grants GATEWAY_ROLE to `gateway`, anchoring on behalf of `utility` (regulator).
    function grantGateway(address gateway, address utility) external;

    /// @notice Revokes `gateway` (regulator).
    function revokeGateway(address gateway) external;

    /// @notice The utility `gateway` anchors for (address(0) if none).
    function gatewayUtility(address gateway) external view returns (address);

    /// @notice The anchored batch (`blockNumber` 0 if none).
    function batchOf(bytes32 batchId) external view returns (Batch memory);

    /// @notice True if a reading of `meterId` with `sequence` is stored.
    function isAnchored(bytes32 meterId, uint64 sequence) external view returns (bool);

    /// @notice Batches anchored and records stored, in total.
    function totals() external view returns (uint128 batches, uint128 records);

    /// @notice The leaf of `record` in a batch tree.
    function leafHash(Record calldata record) external pure returns (bytes32);

    /// @notice True if `record` is in batch `batchId` by `proof` (OZ MerkleProof).
    function verifyRecord(bytes32 batchId, Record calldata record, bytes32[] calldata proof) external view returns (bool);
}
