import { Wallet, ZeroHash, hexlify, randomBytes } from "ethers";
import { startTestChain, type TestChain } from "@sidegrid/chain";
import type { BlockSecClient } from "./client";
import { MeterDataLedger__factory } from "./generated";
import { merkleProof, merkleRoot, verifyMerkleProof } from "./merkle";
import { encodeBatch, recordLeaf, sortRecords } from "./records";
import { A, meterId, readings, revertOf, setupSec, type SecWorld } from "./test-utils/world";
import { Category, Resolution, type MeterRecord } from "./types";

let chain: TestChain;
let w: SecWorld;
let gwA: BlockSecClient;
let gwB: BlockSecClient;
let admin: BlockSecClient;
let alice: string;
let bob: string;
let utilityA: string;
let utilityB: string;
let snap: string;
const iface = MeterDataLedger__factory.createInterface();
const id = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31112 });
  w = await setupSec(chain);
  [gwA, gwB, admin] = await Promise.all([w.as(A.gatewayA), w.as(A.gatewayB), w.as(A.admin)]);
  [alice, bob, utilityA, utilityB] = await Promise.all([w.addr(A.alice), w.addr(A.bob), w.addr(A.utilityA), w.addr(A.utilityB)]);
  // Alice lets utility A store quarter-hourly data and anyone else daily; Bob lets nobody.
  await w.register(alice, meterId(1));
  await w.setPrefs(alice, [{ utility: utilityA, resolution: "QUARTER_HOURLY" }, { resolution: "DAILY" }]);
  await w.register(bob, meterId(2));
  await w.setPrefs(bob, [{ allowed: false }]);
});
afterAll(() => chain.stop());
beforeEach(async () => {
  snap = await chain.snapshot();
});
afterEach(() => chain.revert(snap));

describe("anchorBatch", () => {
  it("stores permitted records: root on chain, payloads in events, provable leaf by leaf", async () => {
    const recs = readings({ consumer: alice, meter: meterId(1), n: 7 });
    const r = await gwA.anchorBatch({ batchId: id(1), records: recs });
    expect(r).toMatchObject({ stored: 7, skipped: [], rejected: [] });
    expect(r.root).toBe(merkleRoot(recs.map(recordLeaf)));
    expect(r.root).toBe(r.claimedRoot);
    expect(await gwA.batchOf(id(1))).toEqual({ root: r.root, utility: utilityA, stored: 7, blockNumber: r.receipt.blockNumber });
    expect(await gwA.totals()).toEqual({ batches: 1n, records: 7n });
    expect(await gwA.isAnchored(meterId(1), 3n)).toBe(true);
    expect(await gwA.isAnchored(meterId(1), 8n)).toBe(false);

    // Readers rebuild the records, byte for byte, from the events.
    const { records } = await gwA.batchRecords(id(1));
    expect(records.map((s) => s.record)).toEqual(sortRecords(recs).map((x) => ({ ...x, meterId: x.meterId.toLowerCase() })));
    expect(records.map((s) => s.leafIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const mine = await gwA.storedRecords({ consumer: alice });
    expect(mine.map((s) => s.record.sequence)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(await gwA.storedRecords({ consumer: bob })).toEqual([]);

    // Every record is provable, in TS and by the contract (OZ MerkleProof).
    for (let i = 0; i < 7; i++) {
      const p = await gwA.proveRecord(id(1), i);
      expect(verifyMerkleProof(p.proof, r.root, recordLeaf(p.record))).toBe(true);
      expect(await gwA.verifyRecordOnChain(id(1), p.record, p.proof)).toBe(true);
    }
    const p = await gwA.proveRecord(id(1), 2);
    const forged: MeterRecord = { ...p.record, payload: hexlify(randomBytes(144)) };
    expect(await gwA.verifyRecordOnChain(id(1), forged, p.proof)).toBe(false);
    expect(verifyMerkleProof(p.proof, r.root, recordLeaf(forged))).toBe(false);
  });

  it("computes the same leaf as the contract", async () => {
    const [rec] = readings({ consumer: alice, meter: meterId(1), n: 1, resolution: "HOURLY", payloadSize: 37 });
    const onChain = await gwA.ledger.leafHash({ ...rec!, resolution: Resolution.HOURLY, category: Category.CONSUMPTION });
    expect(onChain).toBe(recordLeaf(rec!));
  });

  it("is idempotent by (meter, sequence): repeats are skipped and reported, late ones accepted", async () => {
    const recs = readings({ consumer: alice, meter: meterId(1), first: 10n, n: 5 });
    await gwA.anchorBatch({ batchId: id(1), records: recs });
    const replay = await gwA.anchorBatch({ batchId: id(2), records: [...recs.slice(1, 3), ...readings({ consumer: alice, meter: meterId(1), first: 5n, n: 2 })] });
    expect(replay.stored).toBe(2); // 5 and 6 arrive late and are stored
    expect(replay.skipped).toEqual([{ consumer: alice, meterId: meterId(1), sequences: [11n, 12n] }]);
    expect(replay.root).toBe(merkleRoot(replay.records.filter((x) => x.sequence < 10n).map(recordLeaf)));
    expect(replay.claimedRoot).not.toBe(replay.root);
    // A repeat inside one batch is skipped too; across bitmap words (sequence 255/256) it works the same.
    const dup = readings({ consumer: alice, meter: meterId(1), first: 255n, n: 2 });
    const r = await gwA.anchorBatch({ batchId: id(3), records: [...dup, dup[0]!], sort: false });
    expect(r.stored).toBe(2);
    expect(r.skipped[0]!.sequences).toEqual([255n]);
    expect(await gwA.isAnchored(meterId(1), 256n)).toBe(true);
    const same = await revertOf(gwA.anchorBatch({ batchId: id(3), records: readings({ consumer: alice, meter: meterId(1), first: 900n, n: 1 }) }));
    expect(same.errorName).toBe("LedgerBatchExists");
    expect(same.args).toEqual([id(3)]);
  });

  it("rejects, reports and does not store records the mirror does not permit", async () => {
    const m9 = meterId(9);
    const recs = [
      ...readings({ consumer: alice, meter: meterId(1), n: 3 }), // utility A: quarter-hourly allowed
      ...readings({ consumer: bob, meter: meterId(2), n: 2 }), // Bob: nobody
      ...readings({ consumer: alice, meter: m9, n: 1 }), // not Alice's meter
    ];
    const ra = await gwA.anchorBatch({ batchId: id(1), records: recs });
    expect(ra.stored).toBe(3);
    expect(ra.rejected).toEqual([
      { consumer: alice, meterId: m9, reason: "METER_NOT_BOUND", category: "CONSUMPTION", resolution: "QUARTER_HOURLY", sequences: [1n] },
      { consumer: bob, meterId: meterId(2), reason: "NOT_PERMITTED", category: "CONSUMPTION", resolution: "QUARTER_HOURLY", sequences: [1n, 2n] },
    ].sort((x, y) => (x.consumer.toLowerCase() < y.consumer.toLowerCase() ? -1 : 1)));
    expect(await gwA.isAnchored(meterId(2), 1n)).toBe(false);
    // The refused payloads appear in no event.
    const logData = ra.receipt.logs.map((l) => l.data.toLowerCase()).join("");
    for (const x of recs.slice(3)) expect(logData.includes(x.payload.slice(2).toLowerCase())).toBe(false);
    for (const x of recs.slice(0, 3)) expect(logData.includes(x.payload.slice(2).toLowerCase())).toBe(true);
  });

  it("honours resolution per utility: DAILY allowed, QUARTER_HOURLY refused", async () => {
    // Utility B falls under Alice's default: DAILY.
    const daily = readings({ consumer: alice, meter: meterId(1), n: 2, resolution: "DAILY" });
    const fine = readings({ consumer: alice, meter: meterId(1), first: 100n, n: 2, resolution: "QUARTER_HOURLY" });
    const r = await gwB.anchorBatch({ batchId: id(1), records: [...daily, ...fine] });
    expect(r.stored).toBe(2);
    expect(r.rejected).toEqual([{ consumer: alice, meterId: meterId(1), reason: "NOT_PERMITTED", category: "CONSUMPTION", resolution: "QUARTER_HOURLY", sequences: [100n, 101n] }]);
    expect((await gwB.storedRecords({ consumer: alice })).map((s) => s.record.resolution)).toEqual(["DAILY", "DAILY"]);
    // Trades category: Alice allows none.
    const t = await gwB.anchorBatch({ batchId: id(2), records: readings({ consumer: alice, meter: meterId(1), first: 200n, n: 1, category: "TRADES", resolution: "NONE" }) });
    expect(t.rejected[0]!.reason).toBe("NOT_PERMITTED");
    // A utility that loses the distributor role can no longer store.
    await admin.revokeDistributor(utilityB);
    const gone = await gwB.anchorBatch({ batchId: id(3), records: readings({ consumer: alice, meter: meterId(1), first: 300n, n: 1, resolution: "DAILY" }) });
    expect(gone.rejected[0]!.reason).toBe("NOT_A_DISTRIBUTOR");
  });

  it("admits only gateways bound to a utility", async () => {
    const stranger = await w.as(A.stranger);
    const recs = readings({ consumer: alice, meter: meterId(1), n: 1 });
    const e = await revertOf(stranger.anchorBatch({ batchId: id(1), records: recs }));
    expect(e.errorName).toBe("AccessControlUnauthorizedAccount");
    expect(e.args[0]).toBe(stranger.sender.address);
    expect(await admin.gatewayUtility(gwA.sender.address)).toBe(utilityA);
    const bad = await revertOf(admin.grantGateway(stranger.sender.address, "0x0000000000000000000000000000000000000000"));
    expect(bad.errorName).toBe("LedgerInvalidGateway");
    // GATEWAY_ROLE granted the generic way has no utility: refused.
    await admin.sender.sendAndWait({ to: w.addresses.meterDataLedger, data: iface.encodeFunctionData("grantRole", [await gwA.ledger.GATEWAY_ROLE(), stranger.sender.address]) });
    const noUtility = await revertOf(stranger.anchorBatch({ batchId: id(1), records: recs }));
    expect(noUtility.errorName).toBe("LedgerGatewayWithoutUtility");
    expect(noUtility.args).toEqual([stranger.sender.address]);
    await admin.revokeGateway(gwA.sender.address);
    expect(await admin.gatewayUtility(gwA.sender.address)).toBeUndefined();
    expect((await revertOf(gwA.anchorBatch({ batchId: id(1), records: recs }))).errorName).toBe("AccessControlUnauthorizedAccount");
  });

  it("refuses malformed batches and a root that disagrees, with the offending values", async () => {
    const recs = readings({ consumer: alice, meter: meterId(1), n: 2 });
    const enc = encodeBatch(recs);
    const send = (root: string, data: string) => gwA.sender.sendAndWait({ to: w.addresses.meterDataLedger, data: iface.encodeFunctionData("anchorBatch", [id(1), root, data]) });
    const wrongRoot = hexlify(randomBytes(32));
    const m = await revertOf(send(wrongRoot, enc.data));
    expect(m.errorName).toBe("LedgerRootMismatch");
    expect(m.args).toEqual([wrongRoot, enc.root]);
    const cut = enc.data.slice(0, enc.data.length - 10);
    const c = await revertOf(send(enc.root, cut));
    expect(c.errorName).toBe("LedgerMalformedRecords");
    expect(c.args).toEqual([BigInt(5 + 56 + 162), BigInt((cut.length - 2) / 2)]);
    const f = await revertOf(send(enc.root, `0x02${enc.data.slice(4)}`));
    expect(f.errorName).toBe("LedgerUnsupportedFormat");
    expect(f.args).toEqual([2n]);
    const count = await revertOf(send(enc.root, `0x0100000003${enc.data.slice(12)}`));
    expect(count.errorName).toBe("LedgerRecordCountMismatch");
    expect(count.args).toEqual([3n, 2n]);
    // category byte 7 at offset 5 + 52
    const bytes = Buffer.from(enc.data.slice(2), "hex");
    bytes[5 + 52] = 7;
    const en = await revertOf(send(enc.root, `0x${bytes.toString("hex")}`));
    expect(en.errorName).toBe("LedgerInvalidEnum");
    expect(en.args).toEqual([5n, 7n, BigInt(Resolution.QUARTER_HOURLY)]);
    // A record count no data could hold is refused before any allocation.
    const huge = await revertOf(send(enc.root, `0x01ffffffff${enc.data.slice(12)}`));
    expect(huge.errorName).toBe("LedgerRecordCountMismatch");
    expect(huge.args).toEqual([0xffffffffn, BigInt(Math.floor((56 + 2 * 162) / 18))]);
    const empty = await revertOf(send(ZeroHash, "0x01"));
    expect(empty.errorName).toBe("LedgerMalformedRecords");
  });

  it("anchors an empty or fully refused batch with a zero root", async () => {
    const r = await gwA.anchorBatch({ batchId: id(1), records: readings({ consumer: bob, meter: meterId(2), n: 2 }) });
    expect(r).toMatchObject({ stored: 0, root: ZeroHash });
    const none = await gwA.anchorBatch({ batchId: id(2), records: [] });
    expect(none).toMatchObject({ stored: 0, root: ZeroHash, claimedRoot: ZeroHash });
    expect(await gwA.verifyRecordOnChain(id(1), readings({ consumer: bob, meter: meterId(2), n: 1 })[0]!, [])).toBe(false);
  });

  it("1,000 records of 144-byte payloads cost at most 7,000 gas each", async () => {
    const consumers = Array.from({ length: 10 }, () => Wallet.createRandom().address);
    for (const [i, c] of consumers.entries()) {
      await w.register(c, meterId(100 + i));
      await w.setPrefs(c, [{ utility: utilityA, resolution: "QUARTER_HOURLY" }]);
    }
    const recs = consumers.flatMap((c, i) => readings({ consumer: c, meter: meterId(100 + i), n: 100 }));
    const r = await gwA.anchorBatch({ batchId: id(1), records: recs });
    expect(r.stored).toBe(1000);
    const perRecord = Number(r.receipt.gasUsed) / 1000;
    expect(perRecord).toBeLessThanOrEqual(7000);
    const proof = merkleProof(r.records.map(recordLeaf), 777);
    expect(await gwA.verifyRecordOnChain(id(1), r.records[777]!, proof)).toBe(true);
  });
});
