import { BlockSecClient } from "@sidegrid/blocksec";
import type { TxSender } from "@sidegrid/chain";
import { randomBytes } from "node:crypto";
import { ANCHOR_GAS_MODEL, anchorGasBound, anchorShape, boundMissed } from "./anchorGas";
import { BlockSecLedger } from "./blocksec";
import { sortForBatch } from "./packing";
import type { OutboxRecord } from "./store";
import { startBlockSecBenchFixture, type BlockSecBenchFixture } from "./test-utils/fixture";

const CHAIN_ID = 31931;
let fx: BlockSecBenchFixture;
let consumers: Map<number, { address: string }>;
let sender: TxSender;
let client: BlockSecClient;
let estimates: jest.SpyInstance;
const nextSeq = new Map<number, number>();

/** `perMeter` new readings of each meter with payloads of `payloadBytes`, as the outbox holds them. */
function readings(meters: readonly number[], perMeter: number, payloadBytes: number): OutboxRecord[] {
  const out: OutboxRecord[] = [];
  for (const meterId of meters) {
    for (let k = 0; k < perMeter; k++) {
      const sequence = nextSeq.get(meterId) ?? 0;
      nextSeq.set(meterId, sequence + 1);
      const periodStart = 1_700_000_000_000 + sequence * 900_000;
      out.push({
        meterId,
        sequence,
        consumer: consumers.get(meterId)!.address,
        periodStart,
        periodEnd: periodStart + 900_000,
        resolution: 1,
        category: 0,
        payload: `0x${randomBytes(payloadBytes).toString("hex")}`,
        firstSeq: sequence,
        lastSeq: sequence,
        readAt: Date.now(),
        enqueuedAt: Date.now(),
        queueKey: `q${meterId}:${sequence}`,
        status: "pending",
      });
    }
  }
  return out;
}

const range = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);

beforeAll(async () => {
  fx = await startBlockSecBenchFixture({ secChainId: CHAIN_ID });
  consumers = await fx.grantConsent(range(1, 200), "QUARTER_HOURLY");
  sender = (await fx.sec.account(1)).sender;
  client = new BlockSecClient({ sender, addresses: fx.addresses });
  estimates = jest.spyOn(sender, "estimateGas");
}, 120_000);

afterAll(async () => {
  await fx?.stop();
});

describe("anchor gas limits computed by the gateway", () => {
  it("batches of every shape are anchored without the node's estimate, each within its limit and not far below it", async () => {
    const ledger = new BlockSecLedger(client);
    const shapes: [string, OutboxRecord[]][] = [
      ["200 meters' first readings (every bitmap word new)", readings(range(1, 200), 1, 134)],
      ["the same meters' next readings (words in use)", readings(range(1, 200), 1, 134)],
      ["20 meters × 32 readings (a head-end's profile read)", readings(range(1, 20), 32, 134)],
      ["100 meters × 5 readings of 242-byte (v1) payloads", readings(range(101, 100), 5, 242)],
      ["one meter × 600 readings of 242 bytes (the calldata floor is charged), crossing two words", readings([150], 600, 242)],
    ];
    for (const [name, batch] of shapes) {
      const before = estimates.mock.calls.length;
      const out = await ledger.anchor(batch);
      expect({ name, anchored: out.anchored.length, estimates: estimates.mock.calls.length - before }).toEqual({ name, anchored: batch.length, estimates: 0 });
      for (const t of out.txs) {
        const limit = (await fx.sec.provider.getTransaction(t.hash))!.gasLimit;
        // Within the limit (equal to it when the calldata floor is charged, which the limit is then set to);
        // and not so loose that it splits batches for nothing.
        expect({ name, fits: t.gasUsed <= limit, share: Number(t.gasUsed) / Number(limit) > 0.55 }).toEqual({ name, fits: true, share: true });
      }
    }
    expect(ledger.gasLimitStats).toEqual({ bounded: 5, estimated: 0, misses: 0 });
  }, 120_000);

  it("a bound that does not hold fails the round, and the next rounds are estimated by the node", async () => {
    const tooSmall = { perTx: 1000, perReading: 10, perGroup: 10, perFreshWord: 10, perPayloadByte: 0, margin: 1 };
    const ledger = new BlockSecLedger(client, { gasModel: tooSmall });
    const batch = readings(range(1, 50), 2, 134);
    await expect(ledger.anchor(batch)).rejects.toThrow();
    expect((await fx.secAdmin.ledger.isAnchored(`0x${(1).toString(16).padStart(64, "0")}`, BigInt(batch[0]!.sequence)))).toBe(false);
    const before = estimates.mock.calls.length;
    const out = await ledger.anchor(batch);
    expect(out.anchored).toHaveLength(batch.length);
    expect(estimates.mock.calls.length - before).toBe(1);
    expect(ledger.gasLimitStats).toEqual({ bounded: 0, estimated: 1, misses: 0 });
  }, 60_000);

  it('gasLimits "estimate" asks the node for every batch', async () => {
    const ledger = new BlockSecLedger(client, { gasLimits: "estimate" });
    const before = estimates.mock.calls.length;
    const out = await ledger.anchor(readings(range(1, 10), 3, 134));
    expect(out.anchored).toHaveLength(30);
    expect(estimates.mock.calls.length - before).toBe(1);
    expect(ledger.gasLimitStats).toEqual({ bounded: 0, estimated: 1, misses: 0 });
  }, 60_000);
});

describe("the bound's arithmetic", () => {
  const rec = (meterId: number, sequence: number, category = 0) => ({ consumer: "0x" + "ab".repeat(20), meterId, sequence, periodStart: 0, resolution: 1, category, payload: "0x" + "11".repeat(10) });

  it("counts readings, groups, payload bytes and the bitmap words that may be new", () => {
    const sorted = sortForBatch([rec(1, 255), rec(1, 256), rec(1, 257), rec(2, 3), rec(2, 4, 1)]);
    // Meter 1 touches words 0 and 1, meter 2 word 0; word 0 of meter 1 is known to be in use.
    expect(anchorShape(sorted, (m, w) => !(m === 1 && w === 0))).toEqual({ readings: 5, groups: 3, freshWords: 2, payloadBytes: 50 });
  });

  it("is intrinsic gas plus the execution model with its margin, or the calldata floor when higher", () => {
    const shape = { readings: 2, groups: 1, freshWords: 1, payloadBytes: 100 };
    const m = ANCHOR_GAS_MODEL;
    const exec = m.perTx + 2 * m.perReading + m.perGroup + m.perFreshWord + 100 * m.perPayloadByte;
    const small = anchorGasBound(Uint8Array.from([0, 0, 7]), shape);
    expect(small).toEqual({ limit: BigInt(21_000 + 8 + 16 + Math.ceil(m.margin * exec)), intrinsic: 21_024, floor: 21_060 });
    const huge = anchorGasBound(new Uint8Array(200_000).fill(1), shape);
    expect(huge.limit).toBe(BigInt(21_000 + 40 * 200_000));
  });

  it("a receipt over 92 % of the execution budget is a miss, unless the floor was charged", () => {
    const b = { limit: 1_021_000n, intrinsic: 21_000, floor: 30_000 };
    expect(boundMissed(900_000n, b)).toBe(false);
    expect(boundMissed(950_000n, b)).toBe(true);
    expect(boundMissed(1_000_000n, { ...b, floor: 1_000_000 })).toBe(false);
  });
});
