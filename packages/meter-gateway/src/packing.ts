// Fast paths for the MeterDataLedger's packed batch and Merkle leaves, on Buffers instead of hex
// strings: at thousands of readings per second the hex round trips of a generic encoder cost more
// CPU than everything else in the gateway. The layouts are BlockSEC's (IMeterDataLedger.sol);
// packing.test.ts checks every byte against @sidegrid/blocksec's encodeBatch and recordLeaf.
//   batch  := format:uint8 (=1) | recordCount:uint32 | group*
//   group  := consumer:address | meterId:bytes32 | category:uint8 | resolution:uint8 | count:uint16 | record*count
//   record := sequence:uint64 | periodStart:uint64 | payloadLength:uint16 | payload
//   leaf   := keccak256(keccak256(abi.encode(consumer, meterId, sequence, periodStart, uint8 resolution, uint8 category, keccak256(payload))))
import { keccak256Buf, keccak256Into } from "@sidegrid/chain";
import { MeterDataLedger__factory } from "@sidegrid/blocksec";

const ANCHOR_SELECTOR = Buffer.from(MeterDataLedger__factory.createInterface().getFunction("anchorBatch").selector.slice(2), "hex");
const MAX_GROUP = 0xffff;

/** What the packer needs of a record. */
export interface PackableRecord {
  consumer: string;
  meterId: number;
  sequence: number;
  /** Unix ms; packed as seconds. */
  periodStart: number;
  resolution: number;
  category: number;
  /** 0x hex. */
  payload: string;
}

function hexBuf(h: string): Buffer {
  return Buffer.from(h.startsWith("0x") ? h.slice(2) : h, "hex");
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Writes a non-negative safe integer as the uint256 word at `at` (the word must be zeroed). */
function putWord(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at + 24);
  buf.writeUInt32BE(n >>> 0, at + 28);
}

// Reused: keccak256Into copies what it hashes, and nothing else holds it.
const leafEnc = Buffer.alloc(224);
const leafInner = Buffer.alloc(32);

/**
 * The record's Merkle leaf (0x hex), as MeterDataLedger.leafHash computes it.
 * @example
 * recordLeafFast(outboxRecord) === recordLeaf(toMeterRecord(outboxRecord))
 */
export function recordLeafFast(r: PackableRecord): string {
  const enc = leafEnc.fill(0);
  enc.write(r.consumer.startsWith("0x") ? r.consumer.slice(2) : r.consumer, 12, 20, "hex");
  putWord(enc, 32, r.meterId);
  putWord(enc, 64, r.sequence);
  putWord(enc, 96, Math.floor(r.periodStart / 1000));
  enc[159] = r.resolution;
  enc[191] = r.category;
  keccak256Into(hexBuf(r.payload), enc, 192);
  keccak256Into(enc, leafInner, 0);
  return `0x${keccak256Buf(leafInner).toString("hex")}`;
}

/** Orders records as @sidegrid/blocksec's sortRecords does: one group per consumer, meter, category, resolution. */
export function sortForBatch<T extends PackableRecord>(records: readonly T[]): T[] {
  // Keys made once per record, not once per comparison. The meter id as a fixed-width hex word
  // orders as the uint256 does.
  const keyed = records.map((r) => ({ r, k: `${r.consumer.toLowerCase()}|${r.meterId.toString(16).padStart(64, "0")}|${r.category}|${r.resolution}` }));
  keyed.sort((a, b) => (a.k !== b.k ? (a.k < b.k ? -1 : 1) : a.r.sequence - b.r.sequence));
  return keyed.map((x) => x.r);
}

/**
 * Packs records (in the given order) into the ledger's batch bytes.
 * @example
 * packBatch(sortForBatch(records)) // equals encodeBatch(...).data of @sidegrid/blocksec
 */
export function packBatch(records: readonly PackableRecord[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(5);
  header[0] = 1;
  header.writeUInt32BE(records.length, 1);
  parts.push(header);
  let i = 0;
  for (const j of groupEnds(records)) {
    const h = records[i];
    const g = Buffer.alloc(56);
    hexBuf(h.consumer).copy(g, 0);
    putWord(g, 20, h.meterId);
    g[52] = h.category;
    g[53] = h.resolution;
    g.writeUInt16BE(j - i, 54);
    parts.push(g);
    for (let k = i; k < j; k++) {
      const r = records[k];
      const payload = hexBuf(r.payload);
      const rh = Buffer.alloc(18);
      rh.writeBigUInt64BE(BigInt(r.sequence), 0);
      u64(Math.floor(r.periodStart / 1000)).copy(rh, 8);
      rh.writeUInt16BE(payload.length, 16);
      parts.push(rh, payload);
    }
    i = j;
  }
  return Buffer.concat(parts);
}

/**
 * Where each group of a sorted batch ends (exclusive indices): a group is a run of one consumer,
 * meter, category and resolution, at most 65,535 records.
 * @example
 * groupEnds(sortForBatch(records)).length // the batch's groups
 */
export function groupEnds(records: readonly PackableRecord[]): number[] {
  const ends: number[] = [];
  let i = 0;
  while (i < records.length) {
    const h = records[i]!;
    const consumer = h.consumer.toLowerCase();
    let j = i + 1;
    while (j < records.length && j - i < MAX_GROUP) {
      const r = records[j]!;
      if (r.meterId !== h.meterId || r.category !== h.category || r.resolution !== h.resolution || r.consumer.toLowerCase() !== consumer) break;
      j++;
    }
    ends.push(j);
    i = j;
  }
  return ends;
}

/** Calldata of anchorBatch(batchId, merkleRoot, records), ABI-encoded by hand. */
export function anchorBatchCalldataBuf(batchId: string, root: string, packed: Buffer): Buffer {
  const padded = Math.ceil(packed.length / 32) * 32;
  const out = Buffer.alloc(4 + 32 * 4 + padded);
  ANCHOR_SELECTOR.copy(out, 0);
  hexBuf(batchId).copy(out, 4);
  hexBuf(root).copy(out, 36);
  out.writeUInt32BE(0x60, 4 + 64 + 28);
  out.writeUInt32BE(packed.length, 4 + 96 + 28);
  packed.copy(out, 4 + 128);
  return out;
}

/** Calldata of anchorBatch(batchId, merkleRoot, records), ABI-encoded by hand (0x hex). */
export function anchorBatchCalldata(batchId: string, root: string, packed: Buffer): string {
  return `0x${anchorBatchCalldataBuf(batchId, root, packed).toString("hex")}`;
}
