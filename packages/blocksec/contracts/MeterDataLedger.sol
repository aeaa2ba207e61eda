// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IMeterDataLedger} from "./interfaces/IMeterDataLedger.sol";
import {IPolicyMirror} from "./interfaces/IPolicyMirror.sol";

/// @title MeterDataLedger
/// @notice Anchors batches of meter readings for gateways, each bound to one utility. Storage of
/// every group of readings (one consumer, meter, category, resolution) is checked against the
/// policy mirror for the gateway's utility; refused groups are reported without their payloads.
/// @dev Gas: the packed layout keeps calldata near the payload size (the EIP-7623 floor of ~40
/// gas per nonzero byte dominates). Per record there is no SSTORE: idempotency is a bitmap per
/// (meter, sequence / 256) written once per group and word; the mirror is asked once per group;
/// one event per group carries its stored records. The root is recomputed here over the stored
/// records, so it does not rest on the gateway's word; anyone can recompute it from the events.
contract MeterDataLedger is AccessControl, IMeterDataLedger {
    bytes32 public constant GATEWAY_ROLE = keccak256("GATEWAY_ROLE");
    /// Admits gateways (grantGateway/revokeGateway); a gateway stores only what the mirror permits.
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    uint8 public constant FORMAT = 1;

    uint256 private constant BATCH_HEADER = 5; // format:uint8, recordCount:uint32
    uint256 private constant GROUP_HEADER = 56; // consumer 20, meterId 32, category 1, resolution 1, count 2
    uint256 private constant RECORD_HEADER = 18; // sequence 8, periodStart 8, payloadLength 2

    IPolicyMirror public immutable mirror;

    mapping(address gateway => address utility) private _gatewayUtility;
    mapping(bytes32 batchId => Batch) private _batches;
    /// Bit (sequence % 256) of word (sequence / 256) is set once (meterId, sequence) is stored.
    mapping(bytes32 meterId => mapping(uint256 word => uint256 bits)) private _seen;
    uint128 private _batchCount;
    uint128 private _recordCount;

    /// Working state of one anchorBatch call, in memory to keep the stack shallow.
    struct Cursor {
        bytes32 batchId;
        address utility;
        uint256 leafCount;
        uint256 parsed;
        uint256 skipped;
        uint256 rejected;
        // the bitmap word in hand
        bytes32 bitsMeter;
        uint256 bitsWord;
        uint256 bits;
        bool bitsLoaded;
        bool bitsDirty;
        bytes32 root;
        bytes32[] leaves; // the stored records' leaves, then the tree built in place
        uint64[] seqs; // reused per group for the skipped or rejected sequences
        bytes enc; // scratch for one leaf's abi.encode
    }

    /// One group header.
    struct Group {
        address consumer;
        bytes32 meterId;
        uint8 category;
        uint8 resolution;
        uint256 count;
    }

    /// @param admin Receives DEFAULT_ADMIN_ROLE (handed to governance after wiring) and REGULATOR_ROLE (grants gateways).
    /// @param mirror_ BlockSEC's PolicyMirror.
    constructor(address admin, IPolicyMirror mirror_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGULATOR_ROLE, admin);
        _setRoleAdmin(GATEWAY_ROLE, REGULATOR_ROLE);
        mirror = mirror_;
    }

    /// @inheritdoc IMeterDataLedger
    function anchorBatch(bytes32 batchId, bytes32 merkleRoot, bytes calldata records)
        external
        onlyRole(GATEWAY_ROLE)
        returns (bytes32 root, uint32 stored)
    {
        address utility = _gatewayUtility[msg.sender];
        if (utility == address(0)) revert LedgerGatewayWithoutUtility(msg.sender);
        if (_batches[batchId].blockNumber != 0) revert LedgerBatchExists(batchId);
        Cursor memory c = _run(batchId, utility, records);
        root = c.root;
        if (c.skipped == 0 && c.rejected == 0 && root != merkleRoot) revert LedgerRootMismatch(merkleRoot, root);
        stored = uint32(c.leafCount);
        _batches[batchId] = Batch(root, utility, stored, uint64(block.number));
        _batchCount += 1;
        _recordCount += uint128(stored);
        emit BatchAnchored(batchId, msg.sender, utility, root, merkleRoot, stored, uint32(c.skipped), uint32(c.rejected));
    }

    /// @inheritdoc IMeterDataLedger
    function grantGateway(address gateway, address utility) external onlyRole(REGULATOR_ROLE) {
        if (gateway == address(0) || utility == address(0)) revert LedgerInvalidGateway(gateway, utility);
        _grantRole(GATEWAY_ROLE, gateway);
        _gatewayUtility[gateway] = utility;
        emit GatewaySet(gateway, utility);
    }

    /// @inheritdoc IMeterDataLedger
    function revokeGateway(address gateway) external onlyRole(REGULATOR_ROLE) {
        _revokeRole(GATEWAY_ROLE, gateway);
        delete _gatewayUtility[gateway];
        emit GatewaySet(gateway, address(0));
    }

    /// @inheritdoc IMeterDataLedger
    function gatewayUtility(address gateway) external view returns (address) {
        return _gatewayUtility[gateway];
    }

    /// @inheritdoc IMeterDataLedger
    function batchOf(bytes32 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @inheritdoc IMeterDataLedger
    function isAnchored(bytes32 meterId, uint64 sequence) external view returns (bool) {
        return (_seen[meterId][sequence >> 8] >> (sequence & 0xff)) & 1 == 1;
    }

    /// @inheritdoc IMeterDataLedger
    function totals() external view returns (uint128 batches, uint128 records) {
        return (_batchCount, _recordCount);
    }

    /// @inheritdoc IMeterDataLedger
    function leafHash(Record calldata r) public pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        r.consumer,
                        r.meterId,
                        r.sequence,
                        r.periodStart,
                        uint8(r.resolution),
                        uint8(r.category),
                        keccak256(r.payload)
                    )
                )
            )
        );
    }

    /// @inheritdoc IMeterDataLedger
    function verifyRecord(bytes32 batchId, Record calldata record, bytes32[] calldata proof) external view returns (bool) {
        Batch storage b = _batches[batchId];
        if (b.blockNumber == 0 || b.stored == 0) return false;
        return MerkleProof.verifyCalldata(proof, b.root, leafHash(record));
    }

    // ---------------------------------------------------------------- internals

    /// @dev Parses and processes every group, then builds the root over the stored leaves.
    function _run(bytes32 batchId, address utility, bytes calldata records) private returns (Cursor memory c) {
        if (records.length < BATCH_HEADER) revert LedgerMalformedRecords(0, records.length);
        if (uint8(records[0]) != FORMAT) revert LedgerUnsupportedFormat(uint8(records[0]));
        uint256 declared = uint32(bytes4(records[1:5]));
        // Each record takes at least its header: a larger count is a lie that would only buy a
        // huge memory allocation.
        uint256 fits = (records.length - BATCH_HEADER) / RECORD_HEADER;
        if (declared > fits) revert LedgerRecordCountMismatch(declared, fits);
        c.batchId = batchId;
        c.utility = utility;
        c.leaves = new bytes32[](declared);
        c.seqs = new uint64[](declared);
        c.enc = new bytes(0xe0);
        uint256 o = BATCH_HEADER;
        while (o < records.length) o = _group(c, records, o);
        if (c.parsed != declared) revert LedgerRecordCountMismatch(declared, c.parsed);
        _flushBits(c);
        c.root = _root(c.leaves, c.leafCount);
    }

    /// @dev Handles the group at offset `o`; returns the offset after it.
    function _group(Cursor memory c, bytes calldata records, uint256 o) private returns (uint256) {
        if (o + GROUP_HEADER > records.length) revert LedgerMalformedRecords(o, records.length);
        Group memory g = _readGroup(records, o);
        if (g.category > uint8(type(SidegridMessages.Category).max) || g.resolution > uint8(type(SidegridMessages.Resolution).max)) {
            revert LedgerInvalidEnum(o, g.category, g.resolution);
        }
        c.parsed += g.count;
        if (c.parsed > c.leaves.length) revert LedgerRecordCountMismatch(c.leaves.length, c.parsed);
        IPolicyMirror.StorageDecision d = mirror.storageDecision(
            g.consumer, g.meterId, c.utility, SidegridMessages.Category(g.category), SidegridMessages.Resolution(g.resolution)
        );
        o += GROUP_HEADER;
        if (d != IPolicyMirror.StorageDecision.PERMITTED) {
            for (uint256 i = 0; i < g.count; ++i) {
                (uint64 seq, uint256 next) = _readRecord(records, o);
                c.seqs[i] = seq;
                o = next;
            }
            c.rejected += g.count;
            _emitSequences(c, g, g.count, uint8(d));
            return o;
        }
        return _storeGroup(c, g, records, o);
    }

    function _storeGroup(Cursor memory c, Group memory g, bytes calldata records, uint256 o) private returns (uint256) {
        uint256 firstLeaf = c.leafCount;
        uint256 nSkipped;
        // The group's event is assembled right past the free memory pointer; the pointer is moved
        // past the largest size it can reach (touching memory is what costs, not reserving it) and
        // given back once the event is emitted.
        uint256 buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mstore(0x40, add(buf, add(0xc0, sub(records.length, o))))
        }
        uint256 end = buf + 0xa0;
        for (uint256 i = 0; i < g.count; ++i) {
            (uint64 seq, uint256 next) = _readRecord(records, o);
            if (_markSeen(c, g.meterId, seq)) end = _appendLeaf(c, g, records, o, next, end);
            else c.seqs[nSkipped++] = seq;
            o = next;
        }
        if (c.leafCount > firstLeaf) _emitStored(c, g, buf, end, firstLeaf);
        assembly ("memory-safe") {
            mstore(0x40, buf)
        }
        if (nSkipped > 0) {
            c.skipped += nSkipped;
            _emitSequences(c, g, nSkipped, 0);
        }
        return o;
    }

    /// @dev Copies the record at [o, next) to `end` (the group's event data), computes its leaf
    /// from the copy and appends it; returns the new end.
    function _appendLeaf(Cursor memory c, Group memory g, bytes calldata records, uint256 o, uint256 next, uint256 end)
        private
        pure
        returns (uint256)
    {
        bytes memory enc = c.enc;
        bytes32 leaf;
        assembly ("memory-safe") {
            let size := sub(next, o)
            calldatacopy(end, add(records.offset, o), size)
            let w := mload(end)
            let p := add(enc, 0x20)
            mstore(p, mload(g)) // consumer
            mstore(add(p, 0x20), mload(add(g, 0x20))) // meterId
            mstore(add(p, 0x40), shr(192, w)) // sequence
            mstore(add(p, 0x60), and(shr(128, w), 0xffffffffffffffff)) // periodStart
            mstore(add(p, 0x80), mload(add(g, 0x60))) // resolution
            mstore(add(p, 0xa0), mload(add(g, 0x40))) // category
            mstore(add(p, 0xc0), keccak256(add(end, 18), sub(size, 18))) // keccak256(payload)
            mstore(0x00, keccak256(p, 0xe0))
            leaf := keccak256(0x00, 0x20)
            end := add(end, size)
        }
        c.leaves[c.leafCount++] = leaf;
        return end;
    }

    /// @dev Emits RecordsStored from the data assembled at [buf + 0xa0, end).
    function _emitStored(Cursor memory c, Group memory g, uint256 buf, uint256 end, uint256 firstLeaf) private {
        bytes32 topic0 = RecordsStored.selector;
        bytes32 batchId = c.batchId;
        address consumer = g.consumer;
        bytes32 meterId = g.meterId;
        uint256 category = g.category;
        uint256 resolution = g.resolution;
        assembly ("memory-safe") {
            let len := sub(end, add(buf, 0xa0))
            mstore(buf, category)
            mstore(add(buf, 0x20), resolution)
            mstore(add(buf, 0x40), firstLeaf)
            mstore(add(buf, 0x60), 0x80)
            mstore(add(buf, 0x80), len)
            mstore(end, 0) // zero padding of the last word
            log4(buf, add(0xa0, and(add(len, 31), not(31))), topic0, batchId, consumer, meterId)
        }
    }

    /// @dev Emits RecordsSkipped (reason 0) or RecordsRejected with the first `n` of `seqs`.
    function _emitSequences(Cursor memory c, Group memory g, uint256 n, uint8 reason) private {
        uint64[] memory seqs = c.seqs;
        bytes32 batchId = c.batchId;
        uint256 full = seqs.length;
        assembly ("memory-safe") {
            mstore(seqs, n)
        }
        if (reason == 0) emit RecordsSkipped(batchId, g.consumer, g.meterId, seqs);
        else emit RecordsRejected(batchId, g.consumer, g.meterId, reason, g.category, g.resolution, seqs);
        assembly ("memory-safe") {
            mstore(seqs, full)
        }
    }

    function _readGroup(bytes calldata records, uint256 o) private pure returns (Group memory g) {
        uint256 w0;
        bytes32 meterId;
        uint256 w2;
        assembly ("memory-safe") {
            let p := add(records.offset, o)
            w0 := calldataload(p)
            meterId := calldataload(add(p, 20))
            w2 := calldataload(add(p, 52))
        }
        g.consumer = address(uint160(w0 >> 96));
        g.meterId = meterId;
        g.category = uint8(w2 >> 248);
        g.resolution = uint8(w2 >> 240);
        g.count = uint16(w2 >> 224);
    }

    /// @dev Reads a record header at `o`; returns its sequence and the next offset.
    function _readRecord(bytes calldata records, uint256 o) private pure returns (uint64 seq, uint256 next) {
        if (o + RECORD_HEADER > records.length) revert LedgerMalformedRecords(o, records.length);
        uint256 w;
        assembly ("memory-safe") {
            w := calldataload(add(records.offset, o))
        }
        seq = uint64(w >> 192);
        next = o + RECORD_HEADER + uint16(w >> 112);
        if (next > records.length) revert LedgerMalformedRecords(o, records.length);
    }

    /// @dev Marks (meterId, seq) as stored; false if it already was. The bitmap word stays in
    /// memory until another word is needed.
    function _markSeen(Cursor memory c, bytes32 meterId, uint64 seq) private returns (bool) {
        uint256 word = seq >> 8;
        if (!c.bitsLoaded || c.bitsMeter != meterId || c.bitsWord != word) {
            _flushBits(c);
            c.bitsMeter = meterId;
            c.bitsWord = word;
            c.bits = _seen[meterId][word];
            c.bitsLoaded = true;
        }
        uint256 bit = 1 << (seq & 0xff);
        if (c.bits & bit != 0) return false;
        c.bits |= bit;
        c.bitsDirty = true;
        return true;
    }

    function _flushBits(Cursor memory c) private {
        if (c.bitsDirty) {
            _seen[c.bitsMeter][c.bitsWord] = c.bits;
            c.bitsDirty = false;
        }
    }

    /// @dev Sorted-pair Merkle root of the first `n` leaves, built in place; an odd last node
    /// moves up unchanged. Zero for no leaves.
    function _root(bytes32[] memory leaves, uint256 n) private pure returns (bytes32) {
        if (n == 0) return bytes32(0);
        while (n > 1) {
            uint256 half = n >> 1;
            for (uint256 i = 0; i < half; ++i) {
                leaves[i] = Hashes.commutativeKeccak256(leaves[2 * i], leaves[2 * i + 1]);
            }
            if (n & 1 == 1) {
                leaves[half] = leaves[n - 1];
                n = half + 1;
            } else {
                n = half;
            }
        }
        return leaves[0];
    }
}
