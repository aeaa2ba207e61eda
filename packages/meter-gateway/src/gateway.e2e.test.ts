// End to end with real anvil chains (BlockPRI + BlockSEC), Redis and simulated meters: consent
// on BlockPRI, relayed to BlockSEC's mirror, decides what the gateway anchors.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resolution as SecResolution, recordLeaf, verifyMerkleProof, type MeterRecord } from "@sidegrid/blocksec";
import { BlockSecLedger, meterIdToBytes32, toMeterRecord } from "./blocksec";
import { SimClock } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "./gateway";
import { CONTENT_AGGREGATE, CONTENT_RAW_RECORD, openReadingPayload } from "./payload";
import { Resolution } from "./resolution";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { sleep } from "@sidegrid/chain";
import { startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";

const T0 = Date.UTC(2025, 6, 1, 12, 0);
/** The ledger fields a payload is bound to, from an on-chain record. */
const ctxOf = (r: MeterRecord) => ({ meterId: Number(BigInt(r.meterId)), sequence: Number(r.sequence), resolution: SecResolution[r.resolution] });
const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;

const HOLD_UNDECIDED_MS = 1500;

describe("gateway end to end (anvil × 2, Redis, simulator)", () => {
  let fx: SidegridFixture;
  let sim: MeterSimulator;
  let gw: Gateway;
  let clock: SimClock;
  let dataDir: string;

  const anchoredOf = async (meterId: number) => (await fx.secAdmin.storedRecords({ consumer: fx.consumers.get(meterId)!.address, fromBlock: fx.startBlock })).map((s) => Number(s.record.sequence));

  beforeAll(async () => {
    fx = await startSidegridFixture({ priChainId: 31501, secChainId: 31502 });
    clock = new SimClock({ simStartMs: T0, manual: true });
    sim = await startMeterSimulator({ count: 5, seed: "e2e", clock, installedAtMs: T0 - 2 * 3600_000 });
    await fx.addConsumers([1, 2, 3, 4]); // meter 5 belongs to nobody
    const u = fx.utility.address;
    await fx.setPreferences(1, [{ utility: u, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
    await fx.setPreferences(3, [{ utility: u, category: "CONSUMPTION", allowed: true, resolution: "HOURLY" }]);
    await fx.setPreferences(4, [{ utility: u, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
    expect(await fx.relay()).toBe(4 + 3); // 4 registrations, 3 preference changes
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-e2e-"));
    gw = await startGateway({
      clock,
      config: {
        dataDir,
        redisUrl: REDIS,
        queuePrefix: `test-e2e-${process.pid}`,
        blocksec: { rpcUrl: fx.sec.node.url, chainId: 31502, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
        masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
        simulator: { host: sim.host, port: sim.port, count: 5 },
        // The queue polls hourly here: these tests drive polls themselves with pollNow.
        // Two meter connections at most: the other meters' adapters are closed and made again from their persisted state.
        poll: { intervalMs: 3_600_000, timeoutMs: 500, maxConnections: 2 },
        policy: { pollMs: 100 },
        anchor: { flushIntervalMs: 50 },
        // A registered household without preferences: her records wait this long for them.
        ingest: { holdUndecidedMs: HOLD_UNDECIDED_MS },
      },
      log: (l) => process.env.MG_DEBUG && console.log(l),
    });
  });
  afterAll(async () => {
    await gw?.poller.obliterate().catch(() => undefined);
    await gw?.stop();
    await sim?.close();
    await fx?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("anchors a consenting consumer's readings on BlockSEC, each provable against the anchored root", async () => {
    const { outcome } = await gw.pollNow(1);
    expect(outcome).toMatchObject({ stored: 8, notPermitted: 0, ackSeq: 8 });
    expect(await gw.anchorer.drain()).toBe(true);
    const c = fx.consumers.get(1)!;
    const recs = await gw.store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100);
    expect(recs.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const r of recs) {
      expect(r.status).toBe("anchored");
      const a = r.anchor!;
      const rec = toMeterRecord(r);
      const proof = (await gw.store.proofOf(r))!;
      expect(proof.length).toBeGreaterThan(0);
      expect(verifyMerkleProof(proof, a.root, recordLeaf(rec))).toBe(true);
      expect(await fx.secAdmin.verifyRecordOnChain(a.batchId, rec, proof)).toBe(true);
      expect((await fx.secAdmin.batchOf(a.batchId))!.root).toBe(a.root);
    }
    // The chain holds exactly these, and its copy opens with the consumer's key only.
    const onChain = await fx.secAdmin.storedRecords({ consumer: c.address, fromBlock: fx.startBlock });
    expect(onChain.map((s) => Number(s.record.sequence))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const opened = openReadingPayload(Buffer.from(onChain[2].record.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, ctxOf(onChain[2].record));
    expect(opened.contentType).toBe(CONTENT_RAW_RECORD);
    if (opened.contentType === CONTENT_RAW_RECORD) expect(opened.reading).toMatchObject({ meterId: 1, sequence: 3 });
    expect(await fx.secAdmin.isAnchored(meterIdToBytes32(1), 3n)).toBe(true);
  });

  it("never anchors readings of a consumer without consent, nor of an unregistered meter", async () => {
    // Meter 2's household registered and chose nothing: her records wait at the meter (her preferences may
    // be a relay behind her registration), then no choice means nothing permitted.
    const waiting = await gw.pollNow(2);
    expect(waiting.outcome).toMatchObject({ stored: 0, notPermitted: 0, undecided: 8, ackSeq: 0 });
    expect(sim.meter(2).status().ackedSeq).toBe(0);
    await sleep(HOLD_UNDECIDED_MS + 100);
    const r2 = await gw.pollNow(2);
    const r5 = await gw.pollNow(5);
    expect(r2.outcome).toMatchObject({ stored: 0, notPermitted: 8 });
    // Meter 5 belongs to nobody: its records stay in its log, unacknowledged, for whoever registers it to decide on.
    expect(r5.outcome).toMatchObject({ stored: 0, notPermitted: 0, ackSeq: 0 });
    expect(sim.meter(5).status().ackedSeq).toBe(0);
    expect(await gw.anchorer.drain()).toBe(true);
    expect(await anchoredOf(2)).toEqual([]);
    expect(await gw.store.consumerRecords(fx.consumers.get(2)!.address, 0, Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
    for (let s = 1; s <= 8; s++) expect(await fx.secAdmin.isAnchored(meterIdToBytes32(5), BigInt(s))).toBe(false);
    // They still count in the real-time grid totals.
    expect(gw.grid.snapshot().periods.length).toBeGreaterThan(0);
  });

  it("stores at the permitted resolution only: hourly aggregates for an hourly grant", async () => {
    await gw.pollNow(3);
    expect(await gw.anchorer.drain()).toBe(true);
    const c = fx.consumers.get(3)!;
    const onChain = await fx.secAdmin.storedRecords({ consumer: c.address, fromBlock: fx.startBlock });
    expect(onChain.map((s) => [Number(s.record.sequence), s.record.resolution])).toEqual([
      [1, "HOURLY"],
      [5, "HOURLY"],
    ]);
    const o = openReadingPayload(Buffer.from(onChain[1].record.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, ctxOf(onChain[1].record));
    expect(o.contentType).toBe(CONTENT_AGGREGATE);
    if (o.contentType === CONTENT_AGGREGATE) expect(o.aggregate).toMatchObject({ resolution: Resolution.HOURLY, count: 4, firstSeq: 5, lastSeq: 8, periodStartMs: T0 - 3600_000 });
  });

  it("stops storing within one relay round of a revocation, including records already in the outbox", async () => {
    await gw.pollNow(4);
    expect(await gw.anchorer.drain()).toBe(true);
    expect((await anchoredOf(4)).length).toBe(8);
    // Readings arrive while the revocation is on its way: they sit in the outbox.
    await gw.anchorer.stop();
    clock.advance(3600_000);
    expect((await gw.pollNow(4)).outcome.stored).toBe(4);
    expect(gw.store.pendingCount).toBe(4);
    await fx.setPreferences(4, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: false }]);
    const invalidations = gw.policy.invalidations;
    expect(await fx.relay()).toBe(1);
    // The gateway watches the mirror's events (every 100 ms here): the cache is invalidated.
    const deadline = Date.now() + 5000;
    while (gw.policy.invalidations === invalidations && Date.now() < deadline) await gw.policySource.poll();
    expect(gw.policy.invalidations).toBeGreaterThan(invalidations);
    // The pending four are dropped at the anchorer's consent re-check, new readings are not stored.
    await gw.anchorer.drain();
    expect(gw.store.pendingCount).toBe(0);
    expect(gw.anchorer.stats.dropped).toBe(4);
    clock.advance(3600_000);
    expect((await gw.pollNow(4)).outcome).toMatchObject({ stored: 0, notPermitted: 4 });
    await gw.anchorer.drain();
    expect((await anchoredOf(4)).length).toBe(8);
    await gw.anchorer.start();
  });

  it("raises alerts for forged digests, replays and registers running backwards, and stores none of them", async () => {
    // Meter 1's connection open again (the bound of two closed it): the forged digest must hit the log read, not the identification.
    await (await gw.connections.get(1)).connect();
    // Records are generated as time passes: these 12 carry registers 3 kWh below the true ones.
    sim.setBehaviour(1, { backwardsWh: 3000 });
    clock.advance(3600_000); // meter 1 now has 12 unread records (3 h since its last poll)
    sim.setBehaviour(1, { badDigest: true });
    await expect(gw.pollNow(1)).rejects.toMatchObject({ code: "METER_AUTHENTICATION" });
    sim.setBehaviour(1, { badDigest: false, backwardsWh: 0 });
    const back = await gw.pollNow(1);
    expect(back.outcome.rejected).toBe(12);
    sim.setBehaviour(1, { backwardsWh: 0, replayRecords: true });
    clock.advance(900_000);
    const rep = await gw.pollNow(1);
    expect(rep.outcome).toMatchObject({ rejected: 2, stored: 1 });
    sim.setBehaviour(1, { replayRecords: false, replay: true });
    clock.advance(900_000);
    await expect(gw.pollNow(1)).rejects.toMatchObject({ code: "METER_REPLAY" });
    sim.setBehaviour(1, { replay: false });
    await gw.anchorer.drain();
    const kinds = (await gw.store.alerts({ meterId: 1 })).map((a) => a.kind);
    expect(kinds.filter((k) => k === "register-backwards").length).toBe(12);
    expect(kinds.filter((k) => k === "replay").length).toBe(3);
    expect(kinds).toContain("bad-digest");
    const seqs = await anchoredOf(1);
    for (let s = 9; s <= 20; s++) expect(seqs).not.toContain(s); // the backwards ones
    expect(seqs).toContain(21);
  });

  it("never anchors a reading twice: a crash between transaction and bookkeeping is recovered from the chain", async () => {
    clock.advance(3600_000);
    await gw.anchorer.stop();
    await gw.pollNow(1);
    const pending = await gw.store.pendingRecords(100);
    // Four new quarter hours plus the one the replayed answer withheld.
    expect(pending.map((p) => p.sequence)).toEqual([22, 23, 24, 25, 26]);
    // Another run of the gateway anchored them and died before marking them (same gateway account).
    const other = new BlockSecLedger(gw.sec);
    const first = await other.anchor(pending);
    const firstTx = first.txs[0].hash;
    const totals = await fx.secAdmin.totals();
    // The restarted anchorer sends them again: the ledger skips them; their anchors are looked up.
    await gw.anchorer.drain();
    const after = await fx.secAdmin.totals();
    expect(after.records).toBe(totals.records);
    for (const p of pending) {
      const r = await gw.store.record(p.meterId, p.sequence);
      expect(r!.status).toBe("anchored");
      expect(r!.anchor!.txHash).toBe(firstTx);
    }
    // And a start-up recovery scan finds batches this gateway anchored since its safe block.
    clock.advance(3600_000);
    await gw.pollNow(1);
    const more = await gw.store.pendingRecords(100);
    await other.anchor(more);
    const recovered = await gw.anchorer.recover();
    expect(recovered).toBe(4);
    expect(gw.store.pendingCount).toBe(0);
    await gw.anchorer.start();
  });

  it("keeps at most poll.maxConnections meter connections open, and a meter whose connection was closed is read on from where it was", async () => {
    const evicted = gw.connections.evicted;
    clock.advance(3600_000);
    for (const id of [1, 2, 3, 4, 5]) await gw.pollNow(id);
    expect(gw.connections.size).toBeLessThanOrEqual(2);
    expect(gw.connections.evicted - evicted).toBeGreaterThanOrEqual(3);
    // Meter 1's adapter was closed (meters 2–5 came after it): a new one continues its log without a gap or a replay.
    clock.advance(3600_000);
    const { outcome } = await gw.pollNow(1);
    expect(outcome).toMatchObject({ stored: 4, rejected: 0, duplicates: 0 });
    for (let seq = 31; seq <= 38; seq++) expect((await gw.store.record(1, seq))?.sequence).toBe(seq);
    expect(await gw.store.record(1, 39)).toBeUndefined();
    expect(await gw.store.alerts({ meterId: 1, kind: "gap" })).toEqual([]);
  });

  it("pollNow with limits reads at most maxRecords × maxPages records, and the next poll goes on from there", async () => {
    clock.advance(3 * 3600_000); // 12 new records at meter 1 (seq 39–50)
    const first = await gw.pollNow(1, { maxRecords: 5, maxPages: 1 });
    expect(first.outcome).toMatchObject({ stored: 5, rejected: 0, duplicates: 0 });
    expect((await gw.store.record(1, 43))?.sequence).toBe(43);
    expect(await gw.store.record(1, 44)).toBeUndefined();
    const rest = await gw.pollNow(1);
    expect(rest.outcome).toMatchObject({ stored: 7, rejected: 0, duplicates: 0 });
    expect((await gw.store.record(1, 50))?.sequence).toBe(50);
    expect(await gw.store.alerts({ meterId: 1, kind: "gap" })).toEqual([]);
  });

  it("keeps a newly registered household's records at her meter until her preferences arrive, then stores what she permits", async () => {
    // The registration and the preferences are two relayed messages: a poll in between must not decide for her.
    await fx.addConsumers([5]);
    expect(await fx.relay()).toBe(1);
    // Until the gateway sees the mirror's registration event (a policy poll, 100 ms here) the meter is nobody's.
    let held = await gw.pollNow(5);
    for (let i = 0; i < 50 && !held.outcome.undecided; i++) {
      expect(held.outcome.unowned).toBeGreaterThan(0);
      await sleep(100);
      held = await gw.pollNow(5);
    }
    const n = held.outcome.undecided ?? 0;
    expect(n).toBeGreaterThan(40);
    expect(held.outcome).toMatchObject({ stored: 0, notPermitted: 0, ackSeq: 0 });
    expect(sim.meter(5).status().ackedSeq).toBe(0);
    await fx.setPreferences(5, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
    expect(await fx.relay()).toBe(1);
    // The gateway sees the mirror's event within a policy poll (100 ms here).
    let stored = 0;
    for (let i = 0; i < 50 && stored === 0; i++) {
      const r = await gw.pollNow(5);
      expect(r.outcome.notPermitted).toBe(0);
      stored += r.outcome.stored;
      if (stored === 0) await sleep(100);
    }
    expect(stored).toBe(n);
    expect(sim.meter(5).status().ackedSeq).toBe(n);
    expect(await gw.anchorer.drain()).toBe(true);
    expect((await anchoredOf(5)).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });
});
