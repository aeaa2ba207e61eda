import { AbiCoder, getAddress, getBytes, hexlify, keccak256, type BytesLike } from "ethers";
import { InvalidArgumentError, MalformedRecordsError } from "./errors";
import { merkleRoot } from "./merkle";
import { Category, Resolution, type MeterRecord } from "./types";
import { checkAddress, checkBytes32, enumName } from "./validate";

// The packed batch MeterDataLedger.anchorBatch takes (IMeterDataLedger.sol), as data: encoder and
// decoder are both driven by these tables. Big-endian throughout.
//   batch  := header group*
//   group  := groupHeader record*count      (one consumer, meter, category, resolution)
//   record := recordHeader payload

type FieldKind = "uint" | "address" | "bytes32";
interface Field<N extends string> {
  name: N;
  offset: number;
  size: number;
  kind: FieldKind;
}

/** Packed-batch format byte understood by the ledger. */
export const BATCH_FORMAT = 1;

export const BATCH_HEADER_LAYOUT = [
  { name: "format", offset: 0, size: 1, kind: "uint" },
  { name: "recordCount", offset: 1, size: 4, kind: "uint" },
] as const satisfies readonly Field<string>[];

export const GROUP_HEADER_LAYOUT = [
  { name: "consumer", offset: 0, size: 20, kind: "address" },
  { name: "meterId", offset: 20, size: 32, kind: "bytes32" },
  { name: "category", offset: 52, size: 1, kind: "uint" },
  { name: "resolution", offset: 53, size: 1, kind: "uint" },
  { name: "count", offset: 54, size: 2, kind: "uint" },
] as const satisfies readonly Field<string>[];

export const RECORD_HEADER_LAYOUT = [
  { name: "sequence", offset: 0, size: 8, kind: "uint" },
  { name: "periodStart", offset: 8, size: 8, kind: "uint" },
  { name: "payloadLength", offset: 16, size: 2, kind: "uint" },
] as const satisfies readonly Field<string>[];

type Layout = readonly Field<string>[];
type Values<L extends Layout> = { [F in L[number] as F["name"]]: F["kind"] extends "uint" ? bigint : string };

const sizeOf = (l: Layout): number => l.reduce((m, f) => Math.max(m, f.offset + f.size), 0);
const BATCH_HEADER_SIZE = sizeOf(BATCH_HEADER_LAYOUT);
const GROUP_HEADER_SIZE = sizeOf(GROUP_HEADER_LAYOUT);
const RECORD_HEADER_SIZE = sizeOf(RECORD_HEADER_LAYOUT);
const MAX_GROUP = 0xffff;
const MAX_PAYLOAD = 0xffff;

function writeFields<L extends Layout>(layout: L, out: Uint8Array, at: number, values: Values<L>): void {
  for (const f of layout) {
    const v = (values as Record<string, bigint | string>)[f.name]!;
    if (f.kind === "uint") {
      let x = v as bigint;
      if (x < 0n || x >= 1n << BigInt(8 * f.size)) throw new InvalidArgumentError(f.name, x, `does not fit in ${f.size} bytes`);
      for (let i = f.size - 1; i >= 0; i--) {
        out[at + f.offset + i] = Number(x & 0xffn);
        x >>= 8n;
      }
    } else {
      out.set(getBytes(v as string), at + f.offset);
    }
  }
}

function readFields<L extends Layout>(layout: L, data: Uint8Array, at: number): Values<L> {
  const r: Record<string, bigint | string> = {};
  for (const f of layout) {
    const slice = data.subarray(at + f.offset, at + f.offset + f.size);
    if (f.kind === "uint") {
      let x = 0n;
      for (const b of slice) x = (x << 8n) | BigInt(b);
      r[f.name] = x;
    } else if (f.kind === "address") {
      r[f.name] = getAddress(hexlify(slice));
    } else {
      r[f.name] = hexlify(slice);
    }
  }
  return r as Values<L>;
}

/**
 * Checks and normalises a record (checksummed consumer, lower-case ids and payload).
 *
 * @example
 * const r = normalizeRecord({ consumer, meterId, sequence: 1n, periodStart, resolution: "DAILY", category: "CONSUMPTION", payload });
 */
export function normalizeRecord(r: MeterRecord): MeterRecord {
  if (!(r.category in Category)) throw new InvalidArgumentError("category", r.category, "is not CONSUMPTION or TRADES");
  if (!(r.resolution in Resolution)) throw new InvalidArgumentError("resolution", r.resolution, "is not a Resolution name");
  if (typeof r.sequence !== "bigint" || r.sequence < 0n || r.sequence >= 1n << 64n) throw new InvalidArgumentError("sequence", r.sequence, "must be a uint64 bigint");
  if (!Number.isSafeInteger(r.periodStart) || r.periodStart < 0) throw new InvalidArgumentError("periodStart", r.periodStart, "must be unix seconds");
  const payload = hexlify(getBytes(r.payload as BytesLike));
  if ((payload.length - 2) / 2 > MAX_PAYLOAD) throw new InvalidArgumentError("payload", `${(payload.length - 2) / 2} bytes`, `is longer than ${MAX_PAYLOAD} bytes`);
  return {
    consumer: checkAddress("consumer", r.consumer),
    meterId: checkBytes32("meterId", r.meterId),
    sequence: r.sequence,
    periodStart: r.periodStart,
    resolution: r.resolution,
    category: r.category,
    payload,
  };
}

/**
 * Orders records the way the ledger stores them cheaply: by consumer, meter, category,
 * resolution, then sequence (one group, one mirror query and one bitmap write per run).
 *
 * @example
 * const ordered = sortRecords(readings);
 */
export function sortRecords(records: readonly MeterRecord[]): MeterRecord[] {
  const key = (r: MeterRecord) => `${r.consumer.toLowerCase()}|${r.meterId.toLowerCase()}|${Category[r.category]}|${Resolution[r.resolution]}`;
  return [...records].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0;
  });
}

const coder = AbiCoder.defaultAbiCoder();

/**
 * The Merkle leaf of a record: keccak256(keccak256(abi.encode(consumer, meterId, sequence,
 * periodStart, uint8 resolution, uint8 category, keccak256(payload)))), as MeterDataLedger.leafHash.
 *
 * @example
 * const leaf = recordLeaf(record);
 */
export function recordLeaf(r: MeterRecord): string {
  const inner = keccak256(
    coder.encode(
      ["address", "bytes32", "uint64", "uint64", "uint8", "uint8", "bytes32"],
      [r.consumer, r.meterId, r.sequence, r.periodStart, Resolution[r.resolution], Category[r.category], keccak256(r.payload)],
    ),
  );
  return keccak256(inner);
}

/** The result of {@link encodeBatch}. */
export interface EncodedBatch {
  /** The packed bytes for `anchorBatch`. */
  data: string;
  /** The records in encoded (leaf) order. */
  records: MeterRecord[];
  /** Leaves in order. */
  leaves: string[];
  /** Root over all records: what `anchorBatch` takes as `merkleRoot`. */
  root: string;
}

/**
 * Packs records for `MeterDataLedger.anchorBatch`, in the order given (sort with
 * {@link sortRecords} first to pay for one group per meter); consecutive records of the same
 * consumer, meter, category and resolution share a group header.
 *
 * @example
 * const { data, root } = encodeBatch(sortRecords(readings));
 */
export function encodeBatch(input: readonly MeterRecord[]): EncodedBatch {
  const records = input.map(normalizeRecord);
  const groups: MeterRecord[][] = [];
  for (const r of records) {
    const g = groups[groups.length - 1];
    const h = g?.[0];
    if (g && h && g.length < MAX_GROUP && h.consumer === r.consumer && h.meterId === r.meterId && h.category === r.category && h.resolution === r.resolution) g.push(r);
    else groups.push([r]);
  }
  const size =
    BATCH_HEADER_SIZE + groups.length * GROUP_HEADER_SIZE + records.reduce((s, r) => s + RECORD_HEADER_SIZE + (r.payload.length - 2) / 2, 0);
  const out = new Uint8Array(size);
  writeFields(BATCH_HEADER_LAYOUT, out, 0, { format: BigInt(BATCH_FORMAT), recordCount: BigInt(records.length) });
  let o = BATCH_HEADER_SIZE;
  for (const g of groups) {
    const h = g[0]!;
    writeFields(GROUP_HEADER_LAYOUT, out, o, {
      consumer: h.consumer,
      meterId: h.meterId,
      category: BigInt(Category[h.category]),
      resolution: BigInt(Resolution[h.resolution]),
      count: BigInt(g.length),
    });
    o += GROUP_HEADER_SIZE;
    for (const r of g) o = writeRecord(out, o, r);
  }
  const leaves = records.map(recordLeaf);
  return { data: hexlify(out), records, leaves, root: merkleRoot(leaves) };
}

function writeRecord(out: Uint8Array, o: number, r: MeterRecord): number {
  const payload = getBytes(r.payload);
  writeFields(RECORD_HEADER_LAYOUT, out, o, { sequence: r.sequence, periodStart: BigInt(r.periodStart), payloadLength: BigInt(payload.length) });
  out.set(payload, o + RECORD_HEADER_SIZE);
  return o + RECORD_HEADER_SIZE + payload.length;
}

/**
 * Unpacks a batch made by {@link encodeBatch}.
 *
 * @example
 * const records = decodeBatch(tx.data);
 */
export function decodeBatch(data: BytesLike): MeterRecord[] {
  const b = getBytes(data);
  if (b.length < BATCH_HEADER_SIZE) throw new MalformedRecordsError(0, b.length, "shorter than the batch header");
  const h = readFields(BATCH_HEADER_LAYOUT, b, 0);
  if (h.format !== BigInt(BATCH_FORMAT)) throw new MalformedRecordsError(0, b.length, `format ${h.format} is not ${BATCH_FORMAT}`);
  const out: MeterRecord[] = [];
  let o = BATCH_HEADER_SIZE;
  while (o < b.length) {
    if (o + GROUP_HEADER_SIZE > b.length) throw new MalformedRecordsError(o, b.length, "group header cut short");
    const g = readFields(GROUP_HEADER_LAYOUT, b, o);
    const head = { consumer: g.consumer, meterId: g.meterId, category: enumName(Category, "Category", g.category), resolution: enumName(Resolution, "Resolution", g.resolution) };
    o += GROUP_HEADER_SIZE;
    o = readRecords(b, o, Number(g.count), head, out);
  }
  if (BigInt(out.length) !== h.recordCount) throw new MalformedRecordsError(0, b.length, `header declares ${h.recordCount} records, found ${out.length}`);
  return out;
}

/**
 * Unpacks the `records` bytes of a `RecordsStored` event (a run of packed records of one group).
 *
 * @example
 * const recs = decodeStoredRecords({ consumer, meterId, category: "CONSUMPTION", resolution: "DAILY" }, ev.args.records);
 */
export function decodeStoredRecords(
  group: Pick<MeterRecord, "consumer" | "meterId" | "category" | "resolution">,
  data: BytesLike,
): MeterRecord[] {
  const b = getBytes(data);
  const out: MeterRecord[] = [];
  let o = 0;
  while (o < b.length) o = readRecords(b, o, 1, group, out);
  return out;
}

function readRecords(
  b: Uint8Array,
  o: number,
  count: number,
  group: Pick<MeterRecord, "consumer" | "meterId" | "category" | "resolution">,
  out: MeterRecord[],
): number {
  for (let i = 0; i < count; i++) {
    if (o + RECORD_HEADER_SIZE > b.length) throw new MalformedRecordsError(o, b.length, "record header cut short");
    const r = readFields(RECORD_HEADER_LAYOUT, b, o);
    const end = o + RECORD_HEADER_SIZE + Number(r.payloadLength);
    if (end > b.length) throw new MalformedRecordsError(o, b.length, `payload of ${r.payloadLength} bytes runs past the end`);
    out.push({
      consumer: getAddress(group.consumer),
      meterId: group.meterId.toLowerCase(),
      sequence: r.sequence,
      periodStart: Number(r.periodStart),
      resolution: group.resolution,
      category: group.category,
      payload: hexlify(b.subarray(o + RECORD_HEADER_SIZE, end)),
    });
    o = end;
  }
  return o;
}
