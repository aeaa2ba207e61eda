// An upper bound of MeterDataLedger.anchorBatch's gas, so the gateway need not ask the node for an
// estimate. anvil estimates by running the transaction up to three times (at the cap, an
// optimistic try, a bisection step) before it runs it again to mine it: for a batch of 1,500
// readings that was 200-500 ms of the node's time per round, on the cores the gateway needs.
//
// Measured on anvil (24 batches: 1-2,000 readings, 1-400 meters, 134- and 242-byte payloads,
// fresh and used bitmap words): gas = 21,000 + calldata (4 a zero byte, 16 another) + execution,
// execution ~ 70,000 + 2,236 a reading + 20,121 a group + 17,009 a bitmap word written for the
// first time + 8.3 a payload byte, within 3 % (the first batch a ledger ever stores, 12 % more);
// or EIP-7623's calldata floor (10 a zero byte, 40 another) where that is higher: large payloads in
// few groups. The model below rounds every term up and adds a quarter.
import { groupEnds, type PackableRecord } from "./packing";

export interface AnchorGasModel {
  readonly perTx: number;
  readonly perReading: number;
  readonly perGroup: number;
  readonly perFreshWord: number;
  readonly perPayloadByte: number;
  /** Factor on the execution part. */
  readonly margin: number;
}

export const ANCHOR_GAS_MODEL: AnchorGasModel = { perTx: 100_000, perReading: 2_300, perGroup: 21_000, perFreshWord: 18_000, perPayloadByte: 9, margin: 1.25 };

/** What the ledger's execution cost depends on. */
export interface AnchorShape {
  readings: number;
  groups: number;
  /** (meter, bitmap word) pairs that may be written for the first time. */
  freshWords: number;
  payloadBytes: number;
}

export interface AnchorGasBound {
  /** The transaction's gas limit. */
  limit: bigint;
  /** 21,000 + calldata at 4/16 gas a byte: what the limit holds beyond execution. */
  intrinsic: number;
  /** The EIP-7623 floor: a transaction never costs less. */
  floor: number;
}

/**
 * The shape of a sorted batch. `mayBeFresh(meterId, word)` says whether the ledger's bitmap word
 * `word` (sequence >> 8) of the meter may hold no bit yet; when unsure, say yes.
 * @example
 * anchorShape(sortForBatch(records), () => true)
 */
export function anchorShape(sorted: readonly PackableRecord[], mayBeFresh: (meterId: number, word: number) => boolean): AnchorShape {
  let payloadBytes = 0;
  const words = new Set<string>();
  let freshWords = 0;
  for (const r of sorted) {
    payloadBytes += (r.payload.length - (r.payload.startsWith("0x") ? 2 : 0)) / 2;
    const word = Math.floor(r.sequence / 256);
    const id = `${r.meterId}:${word}`;
    if (words.has(id)) continue;
    words.add(id);
    if (mayBeFresh(r.meterId, word)) freshWords++;
  }
  return { readings: sorted.length, groups: groupEnds(sorted).length, freshWords, payloadBytes };
}

/**
 * The gas limit for an anchorBatch transaction with this calldata and shape.
 * @example
 * const { limit } = anchorGasBound(calldata, anchorShape(sorted, () => true));
 */
export function anchorGasBound(calldata: Uint8Array, shape: AnchorShape, model: AnchorGasModel = ANCHOR_GAS_MODEL): AnchorGasBound {
  let zeros = 0;
  for (let i = 0; i < calldata.length; i++) if (calldata[i] === 0) zeros++;
  const nonZeros = calldata.length - zeros;
  const intrinsic = 21_000 + 4 * zeros + 16 * nonZeros;
  const floor = 21_000 + 10 * zeros + 40 * nonZeros;
  const execution =
    model.perTx + model.perReading * shape.readings + model.perGroup * shape.groups + model.perFreshWord * shape.freshWords + model.perPayloadByte * shape.payloadBytes;
  return { limit: BigInt(Math.max(intrinsic + Math.ceil(model.margin * execution), floor)), intrinsic, floor };
}

/**
 * Whether a mined transaction used more of its execution budget than the model allows for
 * (over 92 % of it: the margin is 25 %), i.e. the model no longer fits the contract. Unknown when
 * the calldata floor was charged.
 * @example
 * if (boundMissed(receipt.gasUsed, bound)) useEstimatesFromNowOn();
 */
export function boundMissed(gasUsed: bigint, bound: AnchorGasBound): boolean {
  const used = Number(gasUsed);
  if (used <= bound.floor) return false;
  return used - bound.intrinsic > 0.92 * (Number(bound.limit) - bound.intrinsic);
}
